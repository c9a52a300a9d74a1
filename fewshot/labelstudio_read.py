"""Label Studio's exports read as Label Studio writes them: the full JSON export (also the snapshot form, whose
predictions are whole objects), JSON-MIN and CSV (or TSV), told apart by their content.

Each task becomes one row: where it is (for messages), its image reference as written (matched to a photo by
fewshot/labelstudio_match.py), its class or None, a split if the task's data has one, and who gave the class.

* Full JSON: the latest annotation that was not cancelled (by `created_at`, then id) is a person's label; a task
  with only cancelled annotations has none. Without such an annotation, the latest prediction (a whole object with
  a `result`) is a suggestion with its `score` and `model_version`, never a person's label. The plain JSON export
  lists predictions by id only: those are counted, not read (`ids_only`).
* JSON-MIN and CSV: one row per annotation that was not cancelled, newest first, so the FIRST row of a task id is
  its label; the class sits under the Choices control's name (`choice` in fewshot's exports); no predictions.

tests/fixtures/labelstudio/README.md describes every format from the real Label Studio 1.23.2.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, NamedTuple

from .archive import Limits
from .errors import DataError, LimitExceeded
from .project.labels import NO_ORIGIN, PERSON, Origin
from .project.photos import MAX_NAME

__all__ = ["LS_META_KEYS", "LabelStudioFile", "is_labelstudio_csv", "read_labelstudio"]

# Keys of a JSON-MIN row or CSV column that are never the class: Label Studio's own, and the task's data fields
# fewshot writes or reads (image, split).
LS_META_KEYS = {"id", "image", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "split",
                "data", "annotations", "predictions", "meta", "drafts", "file_upload", "inner_id", "project",
                "updated_by", "total_annotations", "cancelled_annotations", "total_predictions", "comment_count",
                "unresolved_comment_count", "last_comment_updated_at", "comment_authors", "allow_skip"}
LABEL_KEYS = ("choice", "label", "class", "category", "choices")  # preferred when a row has several candidates


class Task(NamedTuple):
    """One task of an export: where (for messages), image reference as written, class, split, who gave it."""

    where: str
    ref: str
    label: str | None
    split: str | None
    origin: Origin


class LabelStudioFile(NamedTuple):
    """A Label Studio file read: its tasks, its form, and how many predictions it listed by id only."""

    tasks: list[Task]
    form: str  # "json", "json-min" or "csv"
    ids_only: int


def is_labelstudio_csv(text: str) -> bool:
    """A CSV (or TSV) whose header names an `image` column: Label Studio's CSV export, not fewshot's
    path,label[,split[,source]]."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return "image" in [c.strip().strip('"').lower() for c in first.replace("\t", ",").split(",")]


def read_labelstudio(name: str, text: str, limits: Limits) -> LabelStudioFile:
    """A Label Studio JSON, JSON-MIN or CSV export (told apart by content), each task checked, `name` naming it in
    messages; DataError or LimitExceeded on anything that cannot be read."""
    if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        return _read_json(name, text, limits)
    return _read_csv(name, text, limits)


def _read_json(name: str, text: str, limits: Limits) -> LabelStudioFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name} is not JSON (line {exc.lineno}: {exc.msg}).") from None
    if not isinstance(doc, list):
        raise DataError(f"{name} is not a Label Studio export (a list of tasks).")
    if len(doc) > limits.max_images:
        raise LimitExceeded(f"{name} has {len(doc):,} tasks, over the limit of {limits.max_images:,} "
                            f"(limit: max images).")
    tasks, ids_only, seen, full = [], 0, set(), False
    for n, task in enumerate(doc, 1):
        if not isinstance(task, dict):
            raise DataError(f"{name} task {n}: a task is an object with an \"image\" field.")
        where = f"{name} task {task['id'] if _is_id(task.get('id')) else n}"
        if isinstance(task.get("data"), dict):
            full = True
            row, listed = _full_task(task, where)
            ids_only += listed
        else:
            if _is_id(task.get("id")) and task["id"] in seen:
                continue  # JSON-MIN: a task's rows come newest first, its first row is its label
            seen.add(task.get("id"))
            row = _flat_row(task, where)
        tasks.append(row)
    return LabelStudioFile(tasks, "json" if full else "json-min", ids_only)


def _read_csv(name: str, text: str, limits: Limits) -> LabelStudioFile:
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = "\t" if "\t" in header and "," not in header else ","
    tasks, seen = [], set()
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
        for n, row in enumerate(reader, 2):
            if n - 1 > limits.max_images:
                raise LimitExceeded(f"{name} has more than {limits.max_images:,} rows (limit: max images).")
            if None in row:
                raise DataError(f"{name} row {n}: it has more values than the header has columns.")
            key = (row.get("id") or "").strip()
            if key and key in seen:
                continue  # newest first, as in JSON-MIN
            seen.add(key)
            tasks.append(_flat_row({k.strip(): v for k, v in row.items() if k}, f"{name} row {n}"))
    except csv.Error as exc:
        raise DataError(f"{name} is not a readable CSV file ({exc}).") from None
    return LabelStudioFile(tasks, "csv", 0)


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).strip() != ""


def _image(fields: dict, where: str) -> str:
    """The task's image reference: its `image` field, else its only text field (a storage Label Studio synced
    before the labelling setup named the field)."""
    image = fields.get("image")
    if image is None:
        texts = [v for v in fields.values() if isinstance(v, str)]
        image = texts[0] if len(texts) == 1 else None
    if not isinstance(image, str) or not image.strip():
        raise DataError(f"{where}: a task needs an \"image\" field.")
    return image


def _split(fields: dict) -> str | None:
    split = fields.get("split")
    return split.strip() or None if isinstance(split, str) else None


def _full_task(task: dict, where: str) -> tuple[Task, int]:
    """A task of the full JSON export (or one in Label Studio's import format), and how many of its predictions
    were listed by id only."""
    data = task["data"]
    image, split = _image(data, where), _split(data)
    listed = task.get("predictions") or []
    ids = sum(_is_id(p) for p in listed) if isinstance(listed, list) else 0  # the plain export's: ids only
    objects = [p for p in listed if not _is_id(p)] if isinstance(listed, list) else listed
    guesses = [p for p in _entries(objects, where, "predictions") if _choice(p.get("result"), where)]
    done = [a for a in _entries(task.get("annotations"), where, "annotations") if not a.get("was_cancelled")]
    if done:
        latest = max(enumerate(done), key=lambda ia: _when(ia[1], ia[0]))[1]
        label = _choice(latest.get("result"), where)
        return Task(where, image, label, split, PERSON if label else NO_ORIGIN), ids
    if not guesses:
        return Task(where, image, None, split, NO_ORIGIN), ids
    latest = max(enumerate(guesses), key=lambda ig: _when(ig[1], ig[0]))[1]
    score, version = latest.get("score"), latest.get("model_version")
    conf = float(score) if type(score) in (int, float) and math.isfinite(score) and 0 <= score <= 1 else None
    # Label Studio writes "undefined" for a prediction made without a model_version
    model = (str(version).strip()[:MAX_NAME] or None) if version not in (None, "", "undefined") else None
    label = _choice(latest.get("result"), where)
    return Task(where, image, label, split, Origin("suggestion", conf, None, model)), ids


def _when(entry: dict, index: int) -> tuple:
    """Sort key of an annotation or prediction: created_at (ISO text sorts by time), then id, then its place."""
    created, ident = entry.get("created_at"), entry.get("id")
    return (created if isinstance(created, str) else "", ident if type(ident) is int else 0, index)


def _entries(value: Any, where: str, what: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataError(f"{where}: {what} is not a list of objects.")
    return value


def _choice(result: Any, where: str) -> str | None:
    """The first class a Label Studio result chose (None when it chose none)."""
    for r in result if isinstance(result, list) else []:
        value = r.get("value") if isinstance(r, dict) else None
        choices = value.get("choices") if isinstance(value, dict) else None
        if choices:
            if not isinstance(choices, list) or not isinstance(choices[0], str):
                raise DataError(f"{where}: the choice is not a class name.")
            return choices[0]
    return None


def _flat_row(row: dict, where: str) -> Task:
    """A JSON-MIN row or CSV row: the task's data spread out, the class under the Choices control's name."""
    image, split = _image({"image": row.get("image")}, where), _split(row)
    found = {k: v for k, v in row.items() if k not in LS_META_KEYS and v not in (None, "", [], {})}
    if len(found) > 1:
        named = [k for k in LABEL_KEYS if k in found]
        if not named:
            raise DataError(f"{where}: more than one column could hold the class ({', '.join(sorted(found))}); "
                            f"keep only the one of the Choices.")
        found = {named[0]: found[named[0]]}
    label = next(iter(found.values()), None)
    if isinstance(label, str) and label.lstrip().startswith("{"):  # a CSV cell holding {"choices": [...]}
        try:
            label = json.loads(label)
        except json.JSONDecodeError:
            pass
    if isinstance(label, dict):
        label = (label.get("choices") or [None])[0]
    elif isinstance(label, list):
        label = label[0]
    if label is not None and not isinstance(label, str):
        raise DataError(f"{where}: the choice is not a class name.")
    label = label.strip() if label else None
    return Task(where, image, label or None, split, PERSON if label else NO_ORIGIN)
