"""Labels files in and out, each label with who gave it: CSV (path,label,split,source) and Label Studio's exports
(JSON, JSON-MIN, CSV: fewshot/labelstudio_read.py reads them, fewshot/labelstudio_match.py finds their photos), and
who gave an archive's labels (fewshot/project/io.py writes and reads the archive itself).

Reading: what a file is comes from its content (a JSON list, or a CSV with an `image` column, is Label Studio's).
A CSV's `source` column is optional (a person's by default); a Label Studio annotation is a person's label, a
prediction an accepted suggestion, never a person's. Every row is checked before anything is used.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from .archive import Limits, human_size
from .errors import DataError, LimitExceeded, ProjectError
from .labelstudio_match import LabelReport, PhotoIndex, match_tasks, parse_ref
from .labelstudio_read import LS_META_KEYS, LabelStudioFile, Task, is_labelstudio_csv, read_labelstudio
from .project.labels import HINT_SOURCES, LABEL_SOURCES, NO_ORIGIN, Origin, legacy_hint_source, legacy_origin
from .project.photos import MAX_NAME, SPLITS, clean_class

__all__ = ["LS_META_KEYS", "LabelReport", "LabelRow", "MAX_LABEL_FILE_BYTES", "archive_origin", "label_from_file",
           "load_labels", "read_label_rows", "read_labels", "safe_relative"]

MAX_LABEL_FILE_BYTES = 64 * 1024**2  # a labels file or project.json: far more than 20,000 rows need


class LabelRow(NamedTuple):
    """One row of a labels file: where it is (for messages), the photo's relative path, its class, split, origin."""

    where: str
    rel: str
    label: str | None
    split: str | None
    origin: Origin


# ---- in -------------------------------------------------------------------------------------------------------
def archive_origin(ph: dict, version: int) -> tuple[Origin, str | None, str | None, bool] | None:
    """(origin, hint, hint's kind, in the check set) of an archive's photo (its label already checked), or None
    when they do not fit together. An archive of version 1 says nothing of who gave a label: a person's, unless
    the Label step's hint marked an accepted suggestion; its hints are a visitor's under feedback/."""
    label, hint = ph.get("label"), ph.get("hint")
    if version < 2:
        origin, hint = legacy_origin(label, hint)
        return origin, hint, legacy_hint_source(ph["path"], hint), False
    source, conf, run, model = (ph.get(k) for k in ("label_source", "label_confidence", "label_run", "label_model"))
    kind, check = ph.get("hint_source"), ph.get("checkset", False)
    fits = (source is None) == (label is None) and source in (None, *LABEL_SOURCES) \
        and (kind is None) == (hint is None) and kind in (None, *HINT_SOURCES) and isinstance(check, bool) \
        and (conf is None or (type(conf) in (int, float) and 0 <= conf <= 1)) \
        and (run is None or (type(run) is int and 0 < run < 2**62)) \
        and (model is None or (isinstance(model, str) and 0 < len(model) <= MAX_NAME)) \
        and (source == "suggestion" or (conf is None and run is None and model is None))
    if not fits:
        return None
    return Origin(source, None if conf is None else float(conf), run, model), hint, kind, check


def safe_relative(text: str, where: str) -> str:
    """A photo's path as written in a labels file, refused when absolute or climbing out of its folder."""
    raw = str(text).strip().replace("\\", "/")
    if not raw:
        raise DataError(f"{where}: the photo path is empty.")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "\x00" in raw:
        raise DataError(f"{where}: '{text}' is an absolute path; write paths relative to the photos folder.")
    parts = [p for p in PurePosixPath(raw).parts if p != "."]
    if any(p == ".." for p in parts) or not parts:
        raise DataError(f"{where}: '{text}' points outside the photos folder.")
    return "/".join(parts)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file.")
    size = path.stat().st_size
    if size > MAX_LABEL_FILE_BYTES:
        raise LimitExceeded(f"{path.name} is {human_size(size)}, over the limit of "
                            f"{human_size(MAX_LABEL_FILE_BYTES)} for a labels file.")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8 "
                        f"and try again.") from None


def read_labels(path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None
                ) -> list[tuple[str, str, str | None, str | None]]:
    """(where, relative path, class or None, split or None) per row of a CSV or Label Studio file (who gave
    each label: read_label_rows)."""
    return [tuple(r[:4]) for r in read_label_rows(path, fmt, limits)]


def load_labels(path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None
                ) -> LabelStudioFile | list[LabelRow]:
    """A labels file, every row checked: Label Studio's export (a JSON list, or a CSV with an `image` column) as
    a LabelStudioFile, else fewshot's CSV as rows. What it is comes from its content; `fmt` ("csv" or
    "labelstudio", as the user named it) is checked but decides nothing."""
    path, limits = Path(path), limits or Limits.from_env()
    if fmt not in (None, "csv", "labelstudio"):
        raise ProjectError(f"Unknown labels format '{fmt}'; use csv or labelstudio.")
    text = _read_text(path)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{") or is_labelstudio_csv(text):
        file = read_labelstudio(path.name, text, limits)
        return file._replace(tasks=[_checked(t) for t in file.tasks])
    rows = [_checked(Task(*r)) for r in _csv_rows(path.name, text, limits)]
    out, seen = [], {}
    for where, rel, label, split, origin in rows:
        rel = safe_relative(rel, where)
        if rel in seen and seen[rel][0] != (label, split, origin.source):
            raise DataError(f"{where}: '{rel}' is already labelled differently in {seen[rel][1]}.")
        seen[rel] = ((label, split, origin.source), where)
        out.append(LabelRow(where, rel, label, split, origin))
    return out


def _checked(task: Task) -> Task:
    """A row's split and class checked and cleaned; an unlabelled row has no origin."""
    split = (task.split or "").strip().lower() or None
    if split not in (None, *SPLITS):
        raise DataError(f"{task.where}: the split is 'train' or 'val', not '{split}'.")
    try:
        label = clean_class(task.label)
    except ProjectError as exc:
        raise DataError(f"{task.where}: {exc}") from None
    return task._replace(label=label, split=split, origin=task.origin if label is not None else NO_ORIGIN)


def read_label_rows(path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None
                    ) -> list[LabelRow]:
    """Every row of a CSV (path,label[,split[,source]]) or a Label Studio export, with who gave its label; a
    Label Studio task's path is the one its image reference names (fewshot/labelstudio_match.py)."""
    loaded = load_labels(path, fmt, limits)
    if isinstance(loaded, LabelStudioFile):
        return [LabelRow(t.where, parse_ref(t.ref, t.where).path, t.label, t.split, t.origin) for t in loaded.tasks]
    return loaded


def _csv_rows(name: str, text: str, limits: Limits) -> list[tuple]:
    rows = []
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
            if n == 1 and row and row[0].strip().lower() == "path":
                continue
            if not row or not any(c.strip() for c in row):
                continue
            if len(rows) >= limits.max_images:
                raise LimitExceeded(f"{name} has more than {limits.max_images:,} rows (limit: max images).")
            where = f"{name} row {n}"
            if len(row) > 4:
                raise DataError(f"{where}: expected path,label[,split[,source]] but found {len(row)} columns.")
            row = row + [""] * (4 - len(row))
            source = row[3].strip().lower() or "person"
            if source not in LABEL_SOURCES:
                raise DataError(f"{where}: the source is 'person' or 'suggestion', not '{row[3].strip()}'.")
            rows.append((where, row[0], row[1], row[2], Origin(source)))
    except csv.Error as exc:
        raise DataError(f"{name} is not a readable CSV file ({exc}).") from None
    return rows


def label_from_file(project, path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None,
                    images: str | os.PathLike | None = None, report: LabelReport | None = None) -> int:
    """Labels (and splits) from a CSV or Label Studio export for photos already in the project, each with who
    gave it; returns how many labels were set. A CSV names photos by the path they were added under and one
    unknown photo refuses the whole file. A Label Studio task names its photo as fewshot/labelstudio_match.py
    says (`images`: the folder of Label Studio's images, to match by content); tasks that name no photo are left
    out and listed in `report`, a task without a label changes nothing."""
    loaded = load_labels(path, fmt, limits)
    if isinstance(loaded, LabelStudioFile):
        photos = project.photos()
        index = PhotoIndex([(p.path, p.sha1) for p in photos], sha1_of=lambda sha1: sha1)
        chosen = match_tasks(loaded, index, Path(path).name, images, report)
        given = {k: (t.label, t.origin) for k, t in chosen.items() if t.label is not None}
        splits = {k: t.split for k, t in chosen.items() if t.split}
    else:
        by_path: dict[str, list[str]] = {}
        for p in project.photos():
            by_path.setdefault(p.path, []).append(p.sha1)
        given, splits = {}, {}
        for where, rel, label, split, origin in loaded:
            found = by_path.get(rel)
            if not found:
                raise DataError(f"{where}: there is no photo '{rel}' in this project; nothing was changed.")
            for sha1 in found:
                given[sha1] = (label, origin)
                if split:
                    splits[sha1] = split
    project.set_labels({s: g[0] for s, g in given.items()}, splits or None,
                       source={s: o.source or "person" for s, (_, o) in given.items()},
                       confidence={s: o.confidence for s, (_, o) in given.items() if o.confidence is not None},
                       model={s: o.model for s, (_, o) in given.items() if o.model is not None})
    return len(given)
