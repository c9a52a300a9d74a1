"""From a user's photos to a checked dataset: discovery, reading, splitting and the report.

Accepted inputs: a folder of class folders, a folder with train/ and val/, a .zip of
either, or a mapping {class name: [image files]} (what the app's class cards produce).
"""
from __future__ import annotations

import os
import random
import tempfile
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence, Union

import pandas as pd

from .archive import Limits, extract_zip, human_size, is_junk
from .errors import DataError, LimitExceeded
from .images import UnreadableImage, is_image_name, read_checked

__all__ = ["Dataset", "Notice", "Sample", "fingerprint", "fingerprints", "images_in", "load_dataset", "load_eval_set",
           "skipped_frame"]

TRAIN_NAMES = {"train", "training"}
VAL_NAMES = {"val", "valid", "validation", "test", "testing"}
MIN_PER_CLASS = 20  # the seed article's floor: fewer and the model cannot learn the difference
IMBALANCE_RATIO = 3.0

DataSource = Union[str, os.PathLike, Mapping[str, Sequence[Union[str, os.PathLike]]]]


@dataclass(frozen=True)
class Sample:
    path: str
    label: int
    digest: str  # sha1 of the file's bytes: duplicates and the feature cache key


FINGERPRINT_HEX = 16  # a fingerprint: the first 16 hex digits (64 bits) of a photo's sha1 (Sample.digest)


def fingerprint(digest: str) -> str:
    """The short content hash a saved model keeps of a photo it trained on (from Sample.digest)."""
    return digest[:FINGERPRINT_HEX]


def fingerprints(samples: Iterable[Sample]) -> list[str]:
    """Sorted, distinct fingerprints of these photos' contents (renamed or moved copies match too)."""
    return sorted({fingerprint(s.digest) for s in samples})


@dataclass(frozen=True)
class Notice:
    """A plain-words warning about the data. `code` is stable for programs and translations."""

    code: str
    message: str


@dataclass
class Dataset:
    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    notices: list[Notice] = field(default_factory=list)
    val_given: bool = False
    root: str | None = None
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def counts(self) -> pd.DataFrame:
        """Images per class per split, one row per class."""
        rows = []
        for i, name in enumerate(self.classes):
            tr = sum(s.label == i for s in self.train)
            va = sum(s.label == i for s in self.val)
            rows.append({"class": name, "train": tr, "val": va, "total": tr + va})
        return pd.DataFrame(rows, columns=["class", "train", "val", "total"])

    def skipped_frame(self) -> pd.DataFrame:
        return skipped_frame(self.skipped)

    def report(self) -> dict:
        """The dataset report as plain data (what `inspect --json` prints)."""
        return {
            "classes": self.classes,
            "counts": self.counts().to_dict(orient="records"),
            "train_images": len(self.train),
            "val_images": len(self.val),
            "val_given": self.val_given,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "warnings": [{"code": n.code, "message": n.message} for n in self.notices],
        }

    def cleanup(self) -> None:
        """Delete files this dataset unpacked (zip uploads)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def skipped_frame(rows: list[tuple[str, str]] = ()) -> pd.DataFrame:
    """Skipped files as a table (file, reason); empty, it still has its headers."""
    return pd.DataFrame(list(rows), columns=["file", "reason"])


def _clean_class_name(name: str) -> str:
    """NFC (so 'é' typed two ways is one class), control characters out, outer spaces off."""
    name = unicodedata.normalize("NFC", name)
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in name).strip()


def _bad_class_name(name: str) -> str | None:
    """Why `name` cannot be a class name, or None. Other names (spaces, emoji, 'con', 'a/b') are labels only."""
    if not name:
        return "a class needs a name"
    if name in (".", ".."):
        return f"'{name}' cannot be a class name (it means a folder, not a thing); rename the class"
    return None


def _skipped_summary(skipped: list[tuple[str, str]], limit: int = 3) -> str:
    """The first few skipped files with their reasons, for an error that would otherwise hide them."""
    if not skipped:
        return ""
    skipped = sorted(skipped, key=lambda fr: not fr[0].endswith("/"))  # left-out classes first
    shown = "; ".join(f"{f}: {r}" for f, r in skipped[:limit])
    more = f" (and {len(skipped) - limit} more)" if len(skipped) > limit else ""
    return f" Left out: {shown}{more}."


def _descend(root: Path) -> Path:
    """Step into a single wrapping folder (e.g. the folder inside a zip)."""
    while True:
        entries = [e for e in root.iterdir() if not is_junk(e.name)]
        dirs = [e for e in entries if e.is_dir() and not e.is_symlink()]
        files = [e for e in entries if e.is_file() and is_image_name(e.name)]
        # descend only into a wrapper: a lone folder that itself holds folders (a lone
        # folder of images is a class, and one class is an error worth naming)
        if len(dirs) == 1 and not files and any(e.is_dir() and not is_junk(e.name) for e in dirs[0].iterdir()):
            root = dirs[0]
        else:
            return root


def _find_child(root: Path, names: set[str]) -> Path | None:
    for e in sorted(root.iterdir()):
        if e.is_dir() and e.name.lower() in names:
            return e
    return None


def _walk_images(folder: Path, limits: Limits, skipped: list) -> list[Path]:
    out: list[Path] = []
    base_depth = len(folder.parts)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not is_junk(d))
        if len(Path(dirpath).parts) - base_depth > limits.max_depth:
            skipped.append((str(Path(dirpath).relative_to(folder.parent)), f"nested deeper than {limits.max_depth} folders (limit: max depth)"))
            dirnames[:] = []
            continue
        for d in [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            skipped.append((str((Path(dirpath) / d).relative_to(folder.parent)),
                            "it is a symbolic link to a folder; links are not followed"))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if is_junk(fn):
                continue
            if p.is_symlink():
                skipped.append((str(p.relative_to(folder.parent)), "it is a symbolic link; links are not followed"))
            elif is_image_name(fn):
                out.append(p)
            else:
                skipped.append((str(p.relative_to(folder.parent)), f"{Path(fn).suffix or 'no extension'} is not an image type we read"))
    return out


def _class_folders(root: Path, limits: Limits, skipped: list) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for e in sorted(root.iterdir()):
        if is_junk(e.name):
            continue
        if e.is_dir() and not e.is_symlink():
            name = _clean_class_name(e.name)
            if _bad_class_name(name):
                skipped.append((e.name, _bad_class_name(name)))
                continue
            groups.setdefault(name, []).extend(_walk_images(e, limits, skipped))
        elif e.is_symlink():
            skipped.append((e.name, "it is a symbolic link; links are not followed"))
        elif e.is_file() and is_image_name(e.name):
            skipped.append((e.name, "it is not inside a class folder"))
    return groups


def _check_upload_bytes(groups: list[Mapping[str, Iterable[Path]] | None], limits: Limits) -> None:
    """A folder or a set of files is one upload too: refuse before reading if it is too big in all."""
    total = 0
    for g in groups:
        for paths in (g or {}).values():
            for p in paths:
                try:
                    total += os.lstat(p).st_size
                except OSError:
                    pass  # reported by name when it is read
    if total > limits.max_upload_bytes:
        raise LimitExceeded(f"the photos add up to {human_size(total)}, over the upload limit of "
                            f"{human_size(limits.max_upload_bytes)} (limit: max upload size)")


def _read_groups(groups: Mapping[str, Iterable[Path]], limits: Limits, root: Path | None,
                 skipped: list) -> dict[str, list[tuple[str, str]]]:
    """Hash and test-decode every file; returns {class: [(path, digest)]}, unreadable ones skipped."""
    total = sum(len(list(v)) for v in groups.values())
    if total > limits.max_images:
        raise LimitExceeded(f"{total:,} images is over the limit of {limits.max_images:,} (limit: max images)")
    good: dict[str, list[tuple[str, str]]] = {}
    for name, paths in groups.items():
        good[name] = []
        for p in paths:
            p = Path(p)
            shown = str(p.relative_to(root)) if root and p.is_relative_to(root) else p.name
            try:
                if p.is_symlink():
                    skipped.append((shown, "it is a symbolic link; links are not followed"))
                    continue
                _, digest = read_checked(p, limits.max_pixels)
            except UnreadableImage as exc:
                skipped.append((shown, str(exc)))
                continue
            good[name].append((str(p), digest))
    return good


def _split(items: dict[int, list[tuple[str, str]]], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Stratified, seeded: at least one image per class on each side where a class has two."""
    rng = random.Random(seed)
    train, val = [], []
    for label in sorted(items):
        rows = sorted(items[label])
        rng.shuffle(rows)
        n = len(rows)
        n_val = 0 if n < 2 else min(n - 1, max(1, round(n * fraction)))
        val += [Sample(p, label, d) for p, d in rows[:n_val]]
        train += [Sample(p, label, d) for p, d in rows[n_val:]]
    return train, val


def _notices(classes: list[str], train: list[Sample], val: list[Sample]) -> list[Notice]:
    out: list[Notice] = []
    counts = Counter(s.label for s in train + val)
    for i, name in enumerate(classes):
        if counts[i] < MIN_PER_CLASS:
            out.append(Notice("few_images", f"Class '{name}' has only {counts[i]} images; aim for at least "
                                            f"{MIN_PER_CLASS} per class, taken in different scenes, angles and light."))
    # what training sees: a separate validation folder can hide an 8:1 training set behind even totals
    trains = Counter(s.label for s in train)
    if trains and min(trains.values()) > 0 and max(trains.values()) / min(trains.values()) > IMBALANCE_RATIO:
        big = max(trains, key=trains.get)
        small = min(trains, key=trains.get)
        out.append(Notice("imbalance", f"Classes are unbalanced: '{classes[big]}' has {trains[big]} photos to train "
                                       f"on but '{classes[small]}' only {trains[small]}. Add photos to the small class; "
                                       f"until then keep the class-balanced loss on (the default), so the model "
                                       f"does not favour the big one."))
    by_digest: dict[str, list[Sample]] = defaultdict(list)
    for s in train + val:
        by_digest[s.digest].append(s)
    dup_same, dup_cross = [], []
    for group in by_digest.values():
        if len(group) > 1:
            labels = {s.label for s in group}
            (dup_cross if len(labels) > 1 else dup_same).append(group)
    if dup_same:
        names = ", ".join(Path(g[1].path).name + " = " + Path(g[0].path).name for g in dup_same[:5])
        out.append(Notice("duplicates", f"{sum(len(g) - 1 for g in dup_same)} images are exact copies of others "
                                        f"({names}{', ...' if len(dup_same) > 5 else ''}); copies add nothing and "
                                        f"make validation look better than it is."))
    for g in dup_cross[:10]:
        where = " and ".join(sorted({f"'{classes[s.label]}'" for s in g}))
        out.append(Notice("cross_class_duplicate", f"The same picture ({Path(g[0].path).name}) is in {where}; "
                                                   f"the model cannot learn which is right. Keep it in one class."))
    leak = {s.digest for s in train} & {s.digest for s in val}
    if leak:
        out.append(Notice("val_leak", f"{len(leak)} validation images also appear in training, so the validation "
                                      f"accuracy will be too optimistic."))
    return out


def _build(groups: dict[str, list[tuple[str, str]]], val_groups: dict[str, list[tuple[str, str]]] | None,
           skipped: list, fraction: float, seed: int) -> Dataset:
    names = sorted(set(groups) | set(val_groups or {}))
    empty = [n for n in names if not groups.get(n) and not (val_groups or {}).get(n)]
    for n in empty:
        skipped.append((n + "/", "no readable images in this class; the class was left out"))
    classes = [n for n in names if n not in empty and groups.get(n)]
    if len(classes) == 0:
        raise DataError("No readable images were found. Put your photos in one folder per class "
                        "(e.g. cats/ and dogs/) and try again." + _skipped_summary(skipped))
    if len(classes) == 1:
        raise DataError(f"Only one class ('{classes[0]}') has images. A classifier needs at least two "
                        f"classes: add a second folder of photos." + _skipped_summary(skipped))
    index = {n: i for i, n in enumerate(classes)}
    if val_groups is None:
        train, val = _split({index[n]: groups[n] for n in classes}, fraction, seed)
    else:
        train = [Sample(p, index[n], d) for n in classes for p, d in sorted(groups[n])]
        val = [Sample(p, index[n], d) for n in classes if n in val_groups for p, d in sorted(val_groups[n])]
    ds = Dataset(classes, train, val, skipped, [], val_given=val_groups is not None)
    ds.notices = _notices(classes, train, val)
    if not val:
        ds.notices.append(Notice("no_val", "No images are left for validation, so accuracy cannot be measured. "
                                           "Add more photos per class."))
    return ds


def load_dataset(source: DataSource, val_source: str | os.PathLike | None = None, *, val_fraction: float = 0.2,
                 seed: int = 0, limits: Limits | None = None, unpack_dir: str | os.PathLike | None = None) -> Dataset:
    """Read a folder, zip or {class: files} mapping into a checked, split Dataset.

    `val_source` (a folder of class folders) replaces the split: every image in it validates. A zip is unpacked
    into a new folder inside `unpack_dir` (the app passes the session's folder, so closing the session deletes
    it; default: the system temp folder), which `Dataset.cleanup()` deletes.
    """
    limits = limits or Limits()
    skipped: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []  # a zip's members kept under another name (extract_zip)
    merged: dict[str, set[str]] = {}  # a zip's folders that differ only in case, merged into one (extract_zip)
    tmp, root, val_raw = None, None, None
    if isinstance(source, Mapping):
        raw = _mapping_files(source, skipped)
    else:
        src = Path(source)
        if not src.exists():
            raise DataError(f"{src} does not exist")
        if src.is_file():
            tmp = _unpack_zip(src, unpack_dir, limits, skipped, notes, merged)
            src = Path(tmp.name)
        root = _descend(src)
        raw, val_raw = _folder_files(root, limits, skipped)
    if val_source is not None:
        val_raw = _class_folders(_descend(Path(val_source)), limits, skipped)
    try:
        ds = _read_and_build(raw, val_raw, root, tmp is None, limits, skipped, val_fraction, seed)
    except Exception:
        if tmp is not None:
            tmp.cleanup()
        raise
    ds.root, ds._tmp = (str(root) if root else None), tmp
    ds.notices += _zip_notices(ds.classes, merged, notes)
    return ds


def _mapping_files(source: Mapping[str, Sequence[str | os.PathLike]], skipped: list) -> dict[str, list[Path]]:
    """A {class name: files} mapping's files under cleaned class names (' cat' and 'cat' are one class);
    unusable names go to `skipped`."""
    raw: dict[str, list[Path]] = {}
    for k, v in source.items():
        name = _clean_class_name(str(k))
        if _bad_class_name(name):
            skipped.append((repr(str(k)), _bad_class_name(name)))
            continue
        raw.setdefault(name, []).extend(Path(p) for p in v)
    return raw


def _unpack_zip(src: Path, unpack_dir: str | os.PathLike | None, limits: Limits, skipped: list,
                notes: list[tuple[str, str]], merged: dict[str, set[str]]) -> tempfile.TemporaryDirectory:
    """A zip unpacked into a new folder inside `unpack_dir` (default: the system temp folder), held to the
    extraction limits; the members it left out go to `skipped` (extract_zip)."""
    if unpack_dir is not None:
        Path(unpack_dir).mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="fewshot-zip-", dir=unpack_dir)
    try:
        skipped.extend(extract_zip(src, tmp.name, limits, notes, merged))
    except Exception:
        tmp.cleanup()
        raise
    return tmp


def _folder_files(root: Path, limits: Limits,
                  skipped: list) -> tuple[dict[str, list[Path]], dict[str, list[Path]] | None]:
    """(training files, validation files or None) by class: from train/ and val/ when `root` has a train/,
    else every class folder of `root` trains."""
    train_dir = _find_child(root, TRAIN_NAMES)
    val_dir = _find_child(root, VAL_NAMES)
    if train_dir is None:
        return _class_folders(root, limits, skipped), None
    raw = _class_folders(train_dir, limits, skipped)
    return raw, _class_folders(val_dir, limits, skipped) if val_dir is not None else None


def _read_and_build(raw: Mapping[str, list[Path]], val_raw: Mapping[str, list[Path]] | None, root: Path | None,
                    check_upload: bool, limits: Limits, skipped: list, val_fraction: float, seed: int) -> Dataset:
    """Every listed photo read and checked, then the Dataset; `check_upload`: hold the files to the upload
    limit (a zip's were already held to the upload and extraction limits)."""
    n_images = sum(len(v) for g in (raw, val_raw) if g for v in g.values())
    if n_images > limits.max_images:  # train/ and val/ together, before anything is read
        raise LimitExceeded(f"{n_images:,} images is over the limit of {limits.max_images:,} (limit: max images)")
    if check_upload:
        _check_upload_bytes([raw, val_raw], limits)
    groups = _read_groups(raw, limits, root, skipped)
    val_groups = _read_groups(val_raw, limits, root, skipped) if val_raw is not None else None
    return _build(groups, val_groups, skipped, val_fraction, seed)


def _zip_notices(classes: list[str], merged: dict[str, set[str]], notes: list[tuple[str, str]]) -> list[Notice]:
    """The notices about a zip's names: folders merged as they differ only in case, members kept under another
    name."""
    out = []
    for folder, others in sorted(merged.items()):
        kept = folder.rsplit("/", 1)[-1]
        if _clean_class_name(kept) in classes:
            spellings = ", ".join(f"'{o}'" for o in sorted(others))
            out.append(Notice("classes_merged", f"The folders '{kept}' and {spellings} differ only in "
                                                f"upper/lower case, so they became one class, '{kept}'. "
                                                f"If they are different things, rename one and load again."))
    for name, note in notes:
        out.append(Notice("zip_name_clash", f"{name}: {note}."))
    return out


def images_in(source: str | os.PathLike, limits: Limits | None = None) -> list[str]:
    """Every image file under a folder (for batch prediction)."""
    skipped: list = []
    return [str(p) for p in _walk_images(Path(source), limits or Limits(), skipped)]


def load_eval_set(source: str | os.PathLike, limits: Limits | None = None) -> Dataset:
    """Images to evaluate a model on: DATA's val/ where it has train/ and val/, else every image.

    Returned as a Dataset whose `val` holds all of them (and `train` is empty).
    """
    limits = limits or Limits()
    skipped: list[tuple[str, str]] = []
    tmp = None
    src = Path(source)
    if not src.exists():
        raise DataError(f"{src} does not exist")
    if src.is_file():
        tmp = tempfile.TemporaryDirectory(prefix="fewshot-zip-")
        skipped += extract_zip(src, tmp.name, limits)
        src = Path(tmp.name)
    root = _descend(src)
    if _find_child(root, TRAIN_NAMES) is not None and _find_child(root, VAL_NAMES) is not None:
        root = _find_child(root, VAL_NAMES)
    try:
        groups = _read_groups(_class_folders(root, limits, skipped), limits, root, skipped)
    except Exception:
        if tmp is not None:
            tmp.cleanup()
        raise
    classes = sorted(n for n, items in groups.items() if items)
    val = [Sample(p, i, d) for i, n in enumerate(classes) for p, d in sorted(groups[n])]
    if not val:
        raise DataError(f"No readable images were found in {source}.")
    return Dataset(classes, [], val, skipped, [], True, str(root), tmp)
