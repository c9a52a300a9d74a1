"""Which photo a Label Studio task's image reference names.

Label Studio writes an image as `/data/upload/<project>/<8 hex>-<original name>` (uploaded: the class folder is
gone), `/data/local-files/?d=<url-quoted path under its document root>` (local files), either one behind
`http(s)://host` when it was started with `--host`, a cloud storage's `s3://bucket/key`, or whatever a person
wrote in a task. A reference names a photo by, in order:

1. content, when the folder of Label Studio's images is given (`images`: its media folder, its document root,
   or any folder holding the files under the reference's trailing path): the file is hashed and matched to a
   photo's sha1;
2. path: a photo whose path is the reference's path;
3. the longest run of trailing folders and name it shares with a photo's path (`photos/ants/x.jpg` is
   `ants/x.jpg`; an uploaded `x.jpg` is the one photo named x.jpg). Two photos sharing as much: DataError
   naming both (give `images` to tell them apart by content).

A reference that names no photo is counted and listed, not fatal, unless no task at all names a photo.
"""
from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, NamedTuple

from .errors import DataError, LimitExceeded
from .images import IMAGE_EXTS
from .labelstudio_read import LabelStudioFile, Task

__all__ = ["LabelReport", "PhotoIndex", "Ref", "folder_index", "match_tasks", "parse_ref"]

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")  # Label Studio's prefix on an uploaded file's name
SHOWN = 5  # unmatched references listed in a message


class Ref(NamedTuple):
    """An image reference: the path it names a photo by, and its trailing parts to look for under `images`."""

    path: str
    parts: tuple[str, ...]


def parse_ref(raw: str, where: str) -> Ref:
    """The photo path an image reference names (DataError when it climbs out with '..' or names nothing)."""
    text = raw.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", text):  # http(s)://host/data/..., s3://bucket/key, gs://...
        url = urllib.parse.urlsplit(text)
        if not url.path.startswith("/data/"):  # not Label Studio's own (behind --host): the path names it
            parts = _parts(urllib.parse.unquote(url.path), raw, where)
            return Ref("/".join(parts), parts)
        text = url.path + (f"?{url.query}" if url.query else "")
    url = urllib.parse.urlsplit(text) if text.startswith("/data/") else None
    if url is not None and url.path.rstrip("/") == "/data/local-files":
        found = urllib.parse.parse_qs(url.query).get("d")
        parts = _parts(found[0] if found else "", raw, where)
        return Ref("/".join(parts), parts)
    if url is not None and url.path.startswith("/data/upload/"):
        parts = _parts(urllib.parse.unquote(url.path[len("/data/"):]), raw, where)
        match = UPLOAD_PREFIX.match(parts[-1])
        return Ref(match.group(1) if match else parts[-1], parts)
    parts = _parts(re.sub(r"^[a-zA-Z]:", "", text.replace("\\", "/")), raw, where)
    return Ref("/".join(parts), parts)


def _parts(path: str, raw: str, where: str) -> tuple[str, ...]:
    parts = tuple(p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", ".", ""))
    if ".." in parts:
        raise DataError(f"{where}: '{raw}' points outside the photos folder.")
    if not parts:
        raise DataError(f"{where}: the photo path is empty.")
    return parts


def _valid_name(name: str) -> str:
    """A file name as Label Studio (Django) stores an upload: spaces to '_', anything but [-\\w.] dropped."""
    return re.sub(r"(?u)[^-\w.]", "", name.strip().replace(" ", "_"))


class PhotoIndex:
    """Photos to match references to: (path, key) pairs, where key is a project photo's sha1 or a file's path
    under a photos folder; `sha1_of(key)` hashes a photo, only when content is matched."""

    def __init__(self, entries: Iterable[tuple[str, str]], sha1_of: Callable[[str], str]) -> None:
        self.paths: dict[str, list[str]] = {}
        self.names: dict[str, set[str]] = {}
        for path, key in entries:
            self.paths.setdefault(path, []).append(key)
            name = PurePosixPath(path).name
            self.names.setdefault(name, set()).add(path)
            self.names.setdefault(_valid_name(name), set()).add(path)
        self._sha1_of, self._by_sha1 = sha1_of, None

    def by_sha1(self, sha1: str) -> list[str]:
        if self._by_sha1 is None:
            self._by_sha1 = {}
            for keys in self.paths.values():
                for key in keys:
                    self._by_sha1.setdefault(self._sha1_of(key), []).append(key)
        return self._by_sha1.get(sha1, [])

    def by_path(self, ref: Ref, where: str, raw: str) -> list[str]:
        """The keys of the photo the reference's path names: the same path, else the one sharing the longest
        run of trailing folders and name (two sharing as much: DataError naming both)."""
        if ref.path in self.paths:
            return self.paths[ref.path]
        parts = ref.path.split("/")
        found = self.names.get(parts[-1]) or self.names.get(_valid_name(parts[-1])) or set()
        if not found:
            return []
        shared = {p: _shared_tail(parts, p.split("/")) for p in found}
        best = max(shared.values())
        tied = sorted(p for p, n in shared.items() if n == best)
        if len(tied) > 1:
            raise DataError(f"{where}: '{raw}' matches two photos, '{tied[0]}' and '{tied[1]}'; give the folder of "
                            f"Label Studio's images (--images) to match them by content.")
        return self.paths[tied[0]]


def _shared_tail(a: list[str], b: list[str]) -> int:
    n = 0
    while n < min(len(a), len(b)) and (a[-1 - n] == b[-1 - n] or (n == 0 and _valid_name(b[-1]) == a[-1])):
        n += 1
    return n


class ContentFinder:
    """The sha1 of the file a reference names under a folder of Label Studio's images (None: no such file)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise DataError(f"{folder} is not a folder (the folder of Label Studio's images).")
        self._seen: dict[Path, str] = {}

    def sha1(self, ref: Ref) -> str | None:
        for i in range(len(ref.parts)):
            file = self.folder.joinpath(*ref.parts[i:])
            if file.is_file() and file.resolve().is_relative_to(self.folder):
                if file not in self._seen:
                    self._seen[file] = file_sha1(file)
                return self._seen[file]
        return None


def folder_index(base: Path, max_files: int) -> PhotoIndex:
    """The image files under a photos folder by their paths in it (hidden folders and links that lead out of it
    left out); LimitExceeded past `max_files`, a sign that the folder is not the photos' own."""
    base, entries = Path(base).resolve(), []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            file = Path(dirpath) / f
            if file.suffix.lower() not in IMAGE_EXTS or not file.resolve().is_relative_to(base):
                continue
            if len(entries) >= max_files:
                raise LimitExceeded(f"{base} holds more than {max_files:,} images; point --photos at the folder "
                                    f"of the photos the tasks name.")
            rel = file.relative_to(base).as_posix()
            entries.append((rel, rel))
    return PhotoIndex(entries, lambda rel: file_sha1(base / rel))


def file_sha1(file: Path) -> str:
    """A file's sha1, read in pieces."""
    h = hashlib.sha1()
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class LabelReport:
    """What a Label Studio file brought: its form, tasks, photos labelled (by a person, as suggestions), the
    references that named no photo and the predictions listed by id only."""

    form: str = ""
    tasks: int = 0
    matched: int = 0
    people: int = 0
    suggestions: int = 0
    unmatched: list[str] = field(default_factory=list)
    ids_only: int = 0

    def lines(self) -> list[str]:
        """What a person should know beyond the counts, in words."""
        out = []
        if self.unmatched:
            shown = ", ".join(self.unmatched[:SHOWN]) + (", ..." if len(self.unmatched) > SHOWN else "")
            out.append(f"{len(self.unmatched)} tasks named no photo here and were left out: {shown}")
        if self.ids_only:
            out.append(f"{self.ids_only} predictions were listed by id only; export a snapshot with full "
                       f"predictions to bring them")
        return out

    def to_dict(self) -> dict:
        return {"form": self.form, "tasks": self.tasks, "matched": self.matched, "people": self.people,
                "suggestions": self.suggestions, "unmatched": self.unmatched, "ids_only_predictions": self.ids_only}


def match_tasks(file: LabelStudioFile, index: PhotoIndex, name: str, images: str | Path | None = None,
                report: LabelReport | None = None) -> dict[str, Task]:
    """{key: the task that decides its photo}: a labelled task beats an unlabelled one, a person's label a
    suggestion; two people's different labels for one photo refuse the file (DataError naming both tasks)."""
    report = report if report is not None else LabelReport()
    report.form, report.tasks, report.ids_only = file.form, len(file.tasks), file.ids_only
    finder = ContentFinder(images) if images is not None else None
    chosen: dict[str, Task] = {}
    for task in file.tasks:
        ref = parse_ref(task.ref, task.where)
        sha1 = finder.sha1(ref) if finder is not None else None
        keys = index.by_sha1(sha1)[:1] if sha1 is not None else index.by_path(ref, task.where, task.ref)
        if not keys:
            report.unmatched.append(task.ref)
        for key in keys:
            chosen[key] = _decide(chosen.get(key), task)
    if file.tasks and not chosen:
        raise DataError(f"{name}: none of its {len(file.tasks)} tasks names a photo here (the first: "
                        f"'{file.tasks[0].ref}'); nothing was changed.")
    report.matched = len(chosen)
    report.people = sum(t.origin.source == "person" for t in chosen.values())
    report.suggestions = sum(t.origin.source == "suggestion" for t in chosen.values())
    return chosen


RANK = {None: 0, "suggestion": 1, "person": 2}


def _decide(old: Task | None, new: Task) -> Task:
    if old is None or RANK[new.origin.source] > RANK[old.origin.source]:
        return new._replace(split=new.split or (old.split if old else None))
    if new.origin.source == "person" and old.origin.source == "person" and new.label != old.label:
        raise DataError(f"{new.where}: '{new.ref}' is already labelled differently in {old.where}.")
    return old
