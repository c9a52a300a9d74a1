"""Labels files in and out, each label with who gave it: CSV (path,label,split,source) and Label Studio (a
person's labels as `annotations`, accepted suggestions as `predictions` with their score), and who gave an
archive's labels (fewshot/project_io.py writes and reads the archive itself).

Reading: a CSV's `source` column is optional (a person's by default); a Label Studio task's annotation is a
person's label, its prediction an accepted suggestion (never a person's), and the JSON-MIN form Label Studio
exports (a choice under the control's name) is a person's. Every row is checked before anything is used.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from .archive import Limits, human_size
from .errors import DataError, LimitExceeded, ProjectError
from .project_labels import (HINT_SOURCES, LABEL_SOURCES, NO_ORIGIN, PERSON, Origin, legacy_hint_source,
                             legacy_origin)
from .project_photos import MAX_NAME, SPLITS, clean_class

__all__ = ["LS_META_KEYS", "LabelRow", "MAX_LABEL_FILE_BYTES", "archive_origin", "label_from_file", "read_label_rows",
           "read_labels", "safe_relative"]

MAX_LABEL_FILE_BYTES = 64 * 1024**2  # a labels file or project.json: far more than 20,000 rows need
LS_META_KEYS = {"id", "image", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "split",
                "data", "annotations", "predictions", "meta"}


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


def _label_studio_image(value: Any) -> str:
    """Label Studio's image field: our relative path, or its local-files / upload URL forms."""
    text = str(value)
    if "?d=" in text:  # /data/local-files/?d=folder/photo.jpg
        return urllib.parse.unquote(text.split("?d=", 1)[1])
    if text.startswith(("http://", "https://")):
        return urllib.parse.unquote(urllib.parse.urlparse(text).path).rsplit("/", 1)[-1]
    return text


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


def read_label_rows(path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None
                    ) -> list[LabelRow]:
    """Every row of a CSV (path,label[,split[,source]]) or a Label Studio file, with who gave its label;
    every row checked before anything is used."""
    path, limits = Path(path), limits or Limits.from_env()
    fmt = fmt or ("labelstudio" if path.suffix.lower() == ".json" else "csv")
    text = _read_text(path)
    if fmt == "csv":
        rows = _csv_rows(path.name, text, limits)
    elif fmt == "labelstudio":
        rows = _label_studio_rows(path.name, text, limits)
    else:
        raise ProjectError(f"Unknown labels format '{fmt}'; use csv or labelstudio.")
    out, seen = [], {}
    for where, rel, label, split, origin in rows:
        rel = safe_relative(rel, where)
        split = (split or "").strip().lower() or None
        if split not in (None, *SPLITS):
            raise DataError(f"{where}: the split is 'train' or 'val', not '{split}'.")
        try:
            label = clean_class(label)
        except ProjectError as exc:
            raise DataError(f"{where}: {exc}") from None
        origin = origin if label is not None else NO_ORIGIN
        if rel in seen and seen[rel][0] != (label, split, origin.source):
            raise DataError(f"{where}: '{rel}' is already labelled differently in {seen[rel][1]}.")
        seen[rel] = ((label, split, origin.source), where)
        out.append(LabelRow(where, rel, label, split, origin))
    return out


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


def _label_studio_rows(name: str, text: str, limits: Limits) -> list[tuple]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name} is not JSON (line {exc.lineno}: {exc.msg}).") from None
    if not isinstance(doc, list):
        raise DataError(f"{name} is not a Label Studio export (a list of tasks).")
    if len(doc) > limits.max_images:
        raise LimitExceeded(f"{name} has {len(doc):,} tasks, over the limit of {limits.max_images:,} "
                            f"(limit: max images).")
    rows = []
    for n, task in enumerate(doc, 1):
        where = f"{name} task {n}"
        data = task.get("data") if isinstance(task, dict) and isinstance(task.get("data"), dict) else {}
        image = task.get("image", data.get("image")) if isinstance(task, dict) else None
        if not isinstance(image, str):
            raise DataError(f"{where}: a task needs an \"image\" field.")
        split = task.get("split", data.get("split", ""))
        label, origin = _task_label(task, where)
        rows.append((where, _label_studio_image(image), label, split if isinstance(split, str) else "", origin))
    return rows


def _task_label(task: dict, where: str) -> tuple[str, Origin]:
    """A task's class and who gave it. In Label Studio's task form ({"data": ...}) an annotation is a person's
    label and a prediction (a model's) an accepted suggestion, never a person's; in JSON-MIN (the choice under
    the control's name) the choice is a person's and a prediction, which JSON-MIN never holds, is left out."""
    if not isinstance(task.get("data"), dict):
        choices = [v for k, v in task.items() if k not in LS_META_KEYS]
        label: Any = choices[0] if choices else ""
        if isinstance(label, dict):
            label = (label.get("choices") or [""])[0]
        if not isinstance(label, str):
            raise DataError(f"{where}: the choice is not a class name.")
        return label, PERSON
    for annotation in _entries(task.get("annotations"), where):
        label = "" if annotation.get("was_cancelled") else _choice(annotation.get("result"), where)
        if label:
            return label, PERSON
    for guess in _entries(task.get("predictions"), where):
        label = _choice(guess.get("result"), where)
        if label:
            score, version = guess.get("score"), guess.get("model_version")
            conf = float(score) if type(score) in (int, float) and math.isfinite(score) and 0 <= score <= 1 else None
            model = (str(version).strip()[:MAX_NAME] or None) if version is not None else None
            return label, Origin("suggestion", conf, None, model)
    return "", NO_ORIGIN


def _entries(value: Any, where: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataError(f"{where}: annotations and predictions are lists of objects.")
    return value


def _choice(result: Any, where: str) -> str:
    """The first class a Label Studio result chose ("" when it chose none)."""
    for r in result if isinstance(result, list) else []:
        value = r.get("value") if isinstance(r, dict) else None
        choices = value.get("choices") if isinstance(value, dict) else None
        if choices:
            if not isinstance(choices, list) or not isinstance(choices[0], str):
                raise DataError(f"{where}: the choice is not a class name.")
            return choices[0]
    return ""


def label_from_file(project, path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None) -> int:
    """Labels (and splits) from a CSV or Label Studio file for photos already in the project, found by the path
    they were added under, each with who gave it (a person's unless the file says a suggestion); one unknown
    photo refuses the whole file."""
    rows = read_label_rows(path, fmt, limits)
    by_path: dict[str, list[str]] = {}
    for p in project.photos():
        by_path.setdefault(p.path, []).append(p.sha1)
    labels, splits, given = {}, {}, {}
    for where, rel, label, split, origin in rows:
        found = by_path.get(rel)
        if not found:
            raise DataError(f"{where}: there is no photo '{rel}' in this project; nothing was changed.")
        for sha1 in found:
            labels[sha1], given[sha1] = label, origin
            if split:
                splits[sha1] = split
    project.set_labels(labels, splits or None, source={s: o.source or "person" for s, o in given.items()},
                       confidence={s: o.confidence for s, o in given.items() if o.confidence is not None},
                       model={s: o.model for s, o in given.items() if o.model is not None})
    return len(labels)
