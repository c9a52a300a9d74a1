"""Labelling with the model's help: a head that learns while you label, on features computed once.

The frozen network's pooled features of every photo of a pool come from the same disk cache training uses
(features.trunk_pass, keyed by backbone, cut and input size), so a second call reads them back instead of
running the network. On those features (L2-normalised), with the maths in `label_maths.py`:

- `cold_start` / ask_next before the model can guess: the most typical photo of each cluster nobody has
  labelled yet (TypiClust, Hacohen et al. 2022: with few labels, covering the data beats asking about
  what the model is unsure of);
- suggestions: a logistic regression trained on the labelled photos gives every other photo a class and a
  confidence; the accept threshold is the lowest confidence whose out-of-fold precision on the labelled
  photos stays at TARGET_PRECISION or more (StratifiedKFold out-of-fold probabilities);
- ask_next after that: half still the typical photos of clusters nobody has labelled, half the photos the
  model is least sure of (margin), spread over the suggested classes and, within each, one per cluster so
  that they are not near-copies of each other;
- suspects: cleanlab's confident learning on the same out-of-fold probabilities ranks labels that are
  probably wrong.

Everything after the features takes well under a second for a thousand photos and a few seconds for
20,000 (bench/README.md): the frozen pass streams in chunks, and past BIG_POOL photos the clustering runs
on a few principal axes (in mini-batches past MINIBATCH_FROM).
"""
from __future__ import annotations

import csv
import io
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from .archive import Limits
from .config import TrainConfig
from .data import Dataset, Sample, images_in
from .errors import DataError
from .images import UnreadableImage, read_checked, thumbnail
# the maths, used here by `suggest` and by its callers through this module (the page, the CLI, the benches)
from .label_maths import (BIG_POOL, COLD_LABELS, FALLBACK_THRESHOLD, MIN_ABOVE, TARGET_PRECISION,  # noqa: F401
                          accept_threshold, ask_next_picks, cluster_space, cold_start, find_suspects, fit_head,
                          head_probs, out_of_fold_probs, suspect_probs, typicality, uncertain_picks)

DEFAULT_ASK = 10
POOL_CHUNK = 512  # photos per streamed frozen pass: their maps (about 128 MB at 320 px) are pooled, then dropped
POOLED_SUFFIX = "-pooled"  # beside the maps cache: one [D] float32 row per photo, what a pool's next call reads


# ---------------------------------------------------------------------------------------------- the pool

@dataclass
class Pool:
    """The readable photos of a pool and their features, one row per photo, in `names` order."""

    root: str | None
    paths: list[str]  # as read
    names: list[str]  # relative to root (posix), what labels.csv and the results name them by
    digests: list[str]  # sha1 of each file's bytes
    features: np.ndarray  # [N, D] float32, each row of unit length
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    arch: str = ""

    def index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}


def _name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def pooled(store, chunk: int = 256) -> np.ndarray:
    """[N, D] float32 means over each cached map's positions (what the head stage's global pool computes)."""
    rows = [store[i:i + chunk].float() for i in range(0, len(store), chunk)]
    rows = [r.mean((2, 3)) if r.ndim == 4 else r.reshape(len(r), -1) for r in rows]
    return np.concatenate([r.numpy() for r in rows]) if rows else np.zeros((0, 0), np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _pool_files(source, limits: Limits) -> tuple[Path | None, list[Path]]:
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if not root.is_dir():
            raise DataError(f"{root} is not a folder of photos")
        files = sorted(Path(p) for p in images_in(root, limits))
    else:
        root, files = None, [Path(p) for p in source]
    if len(files) > limits.max_images:
        raise DataError(f"{len(files):,} images is over the limit of {limits.max_images:,} (limit: max images)")
    return root, files


def pool_features(source: str | os.PathLike | Sequence[str | os.PathLike], *, arch: str = "resnet18",
                  weights_file: str | None = None, device: str | None = None, feature_cache: bool = True,
                  limits: Limits | None = None, stop: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Pool:
    """Every photo under a folder (any layout) or in a list, read once, with its pooled frozen features.

    The input size is the one training would choose for these photos (train.resolve_config) and the features
    are the head stage's, from the same disk cache: photos seen before (by content) cost one small file read.
    The frozen pass streams: POOL_CHUNK photos at a time, their maps pooled and written to the disk caches
    before the next chunk, so memory stays at one chunk's maps plus the [N, D] pooled rows however large the
    pool. `progress(done, total)` is called after each chunk. Unreadable photos are listed in `skipped`.
    """
    from .features import DiskCache, trunk_shape
    from .runtime import pick_runtime
    from .train import build_for_stage, feature_cache_for, resolve_config

    limits = limits or Limits()
    root, files = _pool_files(source, limits)
    probe = Dataset(["pool"], [Sample(str(p), 0, "") for p in files], [])
    cfg = resolve_config(TrainConfig(arch=arch, stage="head", weights_file=weights_file), probe)
    rt = pick_runtime(device)
    model, cut, _ = build_for_stage(cfg, 2, rt)
    maps = feature_cache_for(cfg, cut) if feature_cache else None
    small = DiskCache(maps.dir.name + POOLED_SUFFIX, maps.dir.parent) if maps else None
    shape = trunk_shape(model, cut, cfg.preprocessing.crop)
    dim = shape[0] if len(shape) == 3 else int(np.prod(shape))
    samples, names, skipped, rows = [], [], [], []
    for p in files:
        name = _name(p, root)
        try:
            data, digest = read_checked(p, limits.max_pixels, decode=False)
            row = small.get_raw(digest, dim * 4) if small else None
            if row is None and not (maps and (maps.dir / f"{digest}.npy").is_file()):
                thumbnail(data, 32, limits.max_pixels)  # not seen before: prove it decodes
        except UnreadableImage as exc:
            skipped.append((name, str(exc)))
            continue
        samples.append(Sample(str(p), 0, digest))
        names.append(name)
        rows.append(row)
    feats = np.zeros((len(samples), dim), np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            feats[i] = np.frombuffer(row, np.float32)
    todo = [i for i, row in enumerate(rows) if row is None]
    del rows
    _stream_pass(model, cut, cfg, rt, [samples[i] for i in todo], maps, small, feats, todo, limits,
                 stop or (lambda: False), progress, len(samples))
    return Pool(str(root) if root else None, [s.path for s in samples], names, [s.digest for s in samples],
                unit_rows(feats) if len(samples) else np.zeros((0, 0), np.float32), skipped, arch)


def _stream_pass(model, cut, cfg, rt, samples, maps, small, out: np.ndarray, where: list[int], limits: Limits,
                 stop: Callable[[], bool], progress, total: int) -> None:
    """The frozen pass over `samples`, POOL_CHUNK at a time: each chunk's pooled rows land in out[where]."""
    from .features import trunk_pass
    done = total - len(samples)
    if progress:
        progress(done, total)
    for start in range(0, len(samples), POOL_CHUNK):
        chunk = samples[start:start + POOL_CHUNK]
        store = None
        try:
            for item in trunk_pass(model, cut, chunk, cfg.preprocessing, rt, cfg.batch_size, maps, stop,
                                   limits.max_pixels):
                if progress and hasattr(item, "done") and 0 < item.done < len(chunk):  # within a chunk too
                    progress(done + item.done, total)
                store = item
        except UnreadableImage as exc:
            raise DataError(f"{exc}. The photo changed or disappeared after it was checked; try again.") from None
        if stop() or not hasattr(store, "n"):
            raise DataError("stopped before the photos' features were ready")
        rows = pooled(store)
        del store
        for j, s in enumerate(chunk):
            out[where[start + j]] = rows[j]
            if small:
                small.put(s.digest, rows[j].astype(np.float32))
        done += len(chunk)
        if progress:
            progress(done, total)


# ---------------------------------------------------------------------------------------------- labels

def _clean(path: str) -> str:
    p = path.strip().replace("\\", "/")
    return str(PurePosixPath(os.path.normpath(p)).as_posix()) if p else ""


def read_label_rows(csv_path: str | os.PathLike | None) -> list[tuple[int, str, str]]:
    """(row number, path, label) of a `path,label` CSV; a missing or empty file has none.

    Row numbers count the header as row 1. Rows with an empty label are unlabelled and left out.
    """
    if csv_path is None or not Path(csv_path).is_file():
        return []
    text = Path(csv_path).read_text(encoding="utf-8-sig")
    if not text.strip():
        return []
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader)]
    if "path" not in header or "label" not in header:
        raise DataError(f"{csv_path}: the first row must be the header path,label (it is {','.join(header)})")
    ip, il = header.index("path"), header.index("label")
    rows = []
    for number, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        path = row[ip] if ip < len(row) else ""
        label = (row[il] if il < len(row) else "").strip()
        if label:
            rows.append((number, _clean(path), label))
    return rows


def _check_known(rows, known: set[str], ignored: set[str], csv_path, where: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for number, path, label in rows:
        if path in ignored:
            continue
        if path not in known:
            raise DataError(f"{csv_path}, row {number}: {path or '(empty path)'} is not a photo in {where}; "
                            f"paths are relative to that folder")
        labels[path] = label  # a later row wins
    return labels


def read_labels(csv_path: str | os.PathLike | None, pool: Pool) -> dict[str, str]:
    """{photo name: label} from a `path,label` CSV whose paths are relative to the pool's folder.

    A row naming a photo the pool does not have is an error naming the row; rows naming photos that were
    skipped as unreadable are left out (they are in `pool.skipped`).
    """
    rows = read_label_rows(csv_path)
    return _check_known(rows, set(pool.names), {n for n, _ in pool.skipped}, csv_path, pool.root or "the pool")


def labelled_groups(pool_dir: str | os.PathLike, csv_path: str | os.PathLike) -> dict[str, list[str]]:
    """{label: [photo paths]} for training from a labels file (data.load_dataset takes this mapping)."""
    root = Path(pool_dir)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of photos")
    if csv_path is None or not Path(csv_path).is_file():
        raise DataError(f"{csv_path} does not exist")
    known = {_name(Path(p), root) for p in images_in(root)}
    labels = _check_known(read_label_rows(csv_path), known, set(), csv_path, str(root))
    groups: dict[str, list[str]] = {}
    for name, label in sorted(labels.items()):
        groups.setdefault(label, []).append(str(root / name))
    return groups


# ---------------------------------------------------------------------------------------------- together

@dataclass
class Suggestions:
    """What `suggest` found; `to_dict()` is the CLI's JSON."""

    ask_next: list[str]
    suggestions: list[dict]  # {"path", "label", "confidence"} for every unlabelled photo, most confident first
    suspects: list[dict]  # {"path", "given", "suggested", "score"}: score is cleanlab's label quality, lowest first
    accept_threshold: float
    accept_precision: float | None
    skipped: list[dict]
    classes: list[str] = field(default_factory=list)
    # the labelled photos' out-of-fold (confidence, right) pairs, which every estimate rests on
    oof_confidence: np.ndarray | None = None
    oof_right: np.ndarray | None = None
    left_out: int = 0  # labels cleanlab doubts, left out of the estimates (only when all of them held it back)

    def precision_at(self, threshold: float) -> float | None:
        """The share of suggestions at or above `threshold` expected right (out-of-fold on the labelled
        photos), or None when fewer than MIN_ABOVE of them reach it: too few to say."""
        if self.oof_confidence is None:
            return None
        above = self.oof_confidence >= threshold
        return float(self.oof_right[above].mean()) if above.sum() >= MIN_ABOVE else None

    def to_dict(self) -> dict:
        return {"ask_next": self.ask_next, "suggestions": self.suggestions, "suspects": self.suspects,
                "accept_threshold": self.accept_threshold, "accept_precision": self.accept_precision,
                "skipped": self.skipped}

    def accepted(self) -> list[dict]:
        """The suggestions at or above the accept threshold."""
        return [s for s in self.suggestions if s["confidence"] >= self.accept_threshold]


def suggest(pool: Pool, labels: Mapping[str, str], ask: int = DEFAULT_ASK, seed: int = 0) -> Suggestions:
    """Ask-next photos, a suggested class for every unlabelled photo, suspicious labels and the accept
    threshold, from the pool's features and the labels so far ({photo name: class}).

    The maths runs on one BLAS thread: these matrices are small, and OpenBLAS's threads spinning beside other
    work made it 10-15x slower on a busy 2-core machine (bench/README.md)."""
    with _one_blas_thread():
        return _suggest(pool, labels, ask, seed)


_BLAS = {"lock": threading.Lock(), "users": 0, "limiter": None}


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """threadpool_limits(1) while any suggest runs, set by the first in and undone by the last out. The limits
    are process-wide (torch's OpenMP too): two overlapping threadpool_limits blocks undo in the wrong order, the
    second having saved the first's 1 as the original, and four tabs refreshing at once left the whole server
    on one thread for good (torch.get_num_threads() 2 -> 1: CPU training after it on one core)."""
    from threadpoolctl import threadpool_limits
    with _BLAS["lock"]:
        if _BLAS["users"] == 0:
            _BLAS["limiter"] = threadpool_limits(1)
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS["lock"]:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0:
                _BLAS["limiter"].restore_original_limits()
                _BLAS["limiter"] = None


def _suggest(pool: Pool, labels: Mapping[str, str], ask: int, seed: int) -> Suggestions:
    if ask < 0:
        raise DataError(f"the number of photos to ask for must be 0 or more, not {ask}")
    index = pool.index()
    unknown = [n for n in labels if n not in index]
    if unknown:
        raise DataError(f"{unknown[0]} is not a photo in {pool.root or 'the pool'}")
    X = pool.features
    classes = sorted(set(labels.values()))
    rows = np.array([index[n] for n in labels], int)
    y = np.array([classes.index(labels[n]) for n in labels], int)
    is_labelled = np.zeros(len(X), bool)
    is_labelled[rows] = True
    free = np.flatnonzero(~is_labelled)
    skipped = [{"path": n, "reason": r} for n, r in pool.skipped]
    suggestions, suspects, probs, oof, left_out = [], [], None, None, 0
    threshold, precision = FALLBACK_THRESHOLD, None
    if len(classes) >= 2:
        clf = fit_head(X[rows], y)
        probs = head_probs(clf, X[free], len(classes))
        for j in np.argsort(-probs.max(1), kind="stable"):
            suggestions.append({"path": pool.names[free[j]], "label": classes[int(probs[j].argmax())],
                                "confidence": round(float(probs[j].max()), 4)})
        oof = out_of_fold_probs(X[rows], y, len(classes), seed=seed)
        found = find_suspects(suspect_probs(X[rows], y, len(classes), seed=seed), y) if oof is not None else []
        suspects = [{"path": pool.names[rows[i]], "given": classes[y[i]], "suggested": classes[s],
                     "score": round(q, 4)} for i, s, q in found]
        threshold, precision = accept_threshold(oof, y)
        if threshold == FALLBACK_THRESHOLD and found:
            # no threshold reached the target on all labels: judged again on the labels cleanlab does not doubt.
            # Where the head disagrees with a label that is itself probably wrong, counting that a mistake of the
            # head holds every suggestion back until the labels are clean (3 slips among 50 labels: nothing
            # accepted on some seeds). Only then: on clean labels it would flatter (bench/README.md)
            trusted = np.setdiff1d(np.arange(len(y)), [i for i, _, _ in found])
            oof, y, left_out = oof[trusted], y[trusted], len(found)
            threshold, precision = accept_threshold(oof, y)
    picks = ask_next_picks(X, rows, free, probs, ask, seed)
    return Suggestions([pool.names[i] for i in picks], suggestions, suspects, threshold,
                       None if precision is None else round(precision, 4), skipped, classes,
                       None if oof is None else oof.max(1), None if oof is None else oof.argmax(1) == y, left_out)
