"""What a project's photos are called and where they come from: names and class names as stored, the photos a
folder, a .zip or a list of files holds (class folders label them; train/ and val/ set the split), and how big
a project may grow (FEWSHOT_PROJECT_MAX_GB: its photos and its runs' model files together).

Shared by fewshot/project/project.py (adding photos), fewshot/project/runs.py (training) and fewshot/project/io.py
(imports), below all of them."""
from __future__ import annotations

import os
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..archive import Limits, extract_zip, human_size, is_junk
from ..errors import DataError, ProjectError
from ..images import is_image_name
from .database import SQL

__all__ = ["AddResult", "MAX_NAME", "SPLITS", "cap_sizes", "clean_class", "clean_name", "collect",
           "max_project_bytes", "stored_bytes"]

SPLITS = ("train", "val")
MAX_NAME = 200
TRAIN_DIRS = {"train", "training"}
VAL_DIRS = {"val", "valid", "validation", "test", "testing"}


@dataclass
class AddResult:
    added: int = 0  # new photos stored
    already: int = 0  # photos the project already had (stored once)
    labelled: int = 0  # photos that got a class from their folder
    skipped: list = None  # (file, reason)

    def to_dict(self) -> dict:
        return {"added": self.added, "already": self.already, "labelled": self.labelled,
                "skipped": [{"file": f, "reason": r} for f, r in self.skipped or []]}


def clean_name(text: str, what: str = "name") -> str:
    """NFC, control characters out, outer spaces off; refused when empty or too long."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text).strip()
    if not text:
        raise ProjectError(f"A {what} cannot be empty.")
    if len(text) > MAX_NAME:
        raise ProjectError(f"A {what} can be at most {MAX_NAME} characters long.")
    return text


def clean_class(text: str | None) -> str | None:
    """A class name as stored; None or "" means unlabelled."""
    if text is None or not str(text).strip():
        return None
    name = clean_name(text, "class name")
    if name in (".", ".."):
        raise ProjectError(f"'{name}' cannot be a class name (it means a folder, not a thing).")
    return name


# ---- how big a project may grow ------------------------------------------------------------------------
def max_project_bytes() -> int | None:
    """FEWSHOT_PROJECT_MAX_GB in bytes; None when unset or 0 (no cap)."""
    raw = os.environ.get("FEWSHOT_PROJECT_MAX_GB", "").strip()
    if not raw:
        return None
    try:
        gb = float(raw)
    except ValueError:
        raise ProjectError(f"FEWSHOT_PROJECT_MAX_GB={raw!r} is not a number of gigabytes.") from None
    return int(gb * 1024**3) if gb > 0 else None


def stored_bytes(db: sqlite3.Connection, pid: str) -> int:
    """What counts against the cap: the project's photos and its runs' model files, as recorded."""
    photos = db.execute(SQL["photos_bytes"], (pid,)).fetchone()[0]
    runs = db.execute(SQL["bundles_bytes"], (pid,)).fetchone()[0]
    return int(photos) + int(runs)


def cap_sizes(size: int, cap: int) -> tuple[str, str]:
    """A project's size and the cap, as a refusal names them: "7.2 MB", "6.1 MB"; in bytes where the two
    would read alike ("would hold 6.1 MB; the cap is 6.1 MB" reads as no reason at all)."""
    a, b = human_size(size), human_size(cap)
    return (a, b) if a != b else (f"{size:,} bytes", f"{cap:,} bytes")


# ---- what a folder, zip or list of files holds ---------------------------------------------------------
def _descend(root: Path) -> Path:
    """Into a single wrapping folder (a zip's top folder) that itself holds folders."""
    while True:
        entries = [e for e in root.iterdir() if not is_junk(e.name)]
        dirs = [e for e in entries if e.is_dir() and not e.is_symlink()]
        if len(dirs) == 1 and len(entries) == 1 and any(c.is_dir() for c in dirs[0].iterdir()):
            root = dirs[0]
        else:
            return root


def _walk(folder: Path, limits: Limits, skipped: list, base: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not is_junk(d))
        if len(Path(dirpath).relative_to(base).parts) > limits.max_depth:
            dirnames[:] = []
            continue
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if is_junk(fn):
                continue
            if p.is_symlink():
                skipped.append((p.relative_to(base).as_posix(), "it is a symbolic link; links are not followed"))
            elif is_image_name(fn):
                out.append(p)
            else:
                skipped.append((p.relative_to(base).as_posix(),
                                f"{Path(fn).suffix or 'no extension'} is not an image type we read"))
        for d in [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            dirnames.remove(d)
    return out


def collect(source, label: str | None, limits: Limits, skipped: list, tmp: Path
            ) -> list[tuple[Path, str, str | None, str | None]]:
    """(file, relative path as added, class or None, split or None) for everything `source` holds."""
    if not isinstance(source, (str, os.PathLike)):
        out = []
        for item in source:
            path, cls = (item if isinstance(item, (tuple, list)) else (item, label))
            out.append((Path(path), Path(path).name, cls, None))
        return out
    src = Path(source)
    if not src.exists():
        raise DataError(f"{src} does not exist")
    if src.is_file():
        if is_image_name(src.name):
            return [(src, src.name, label, None)]
        skipped += extract_zip(src, tmp, limits)
        return _collect_tree(tmp, label, limits, skipped)
    return _collect_tree(src, label, limits, skipped)


def _collect_tree(base: Path, label: str | None, limits: Limits, skipped: list
                  ) -> list[tuple[Path, str, str | None, str | None]]:
    root = _descend(base)
    out = []
    for e in sorted(root.iterdir()):
        if is_junk(e.name):
            continue
        rel = e.relative_to(base).as_posix()
        if e.is_symlink():
            skipped.append((rel, "it is a symbolic link; links are not followed"))
        elif e.is_dir() and e.name.lower() in TRAIN_DIRS | VAL_DIRS:
            split = "train" if e.name.lower() in TRAIN_DIRS else "val"
            for c in sorted(e.iterdir()):
                if c.is_dir() and not c.is_symlink() and not is_junk(c.name):
                    out += [(p, p.relative_to(base).as_posix(), c.name, split) for p in _walk(c, limits, skipped, base)]
                elif c.is_file() and is_image_name(c.name):
                    out.append((c, c.relative_to(base).as_posix(), label, split))
        elif e.is_dir():
            try:
                cls = clean_class(e.name)
            except ProjectError as exc:
                skipped.append((rel + "/", str(exc)))
                continue
            out += [(p, p.relative_to(base).as_posix(), cls, None) for p in _walk(e, limits, skipped, base)]
        elif e.is_file() and is_image_name(e.name):
            out.append((e, rel, label, None))
        elif e.is_file():
            skipped.append((rel, f"{e.suffix or 'no extension'} is not an image type we read"))
    return out
