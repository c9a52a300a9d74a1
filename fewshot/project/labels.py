"""Who gave each label, and the label writes that keep it (schema migration 6 of fewshot/project/schema.sql).

A label is a person's ("person": a click in the Label step, class folders, an import unless it says otherwise)
or an accepted suggestion ("suggestion"), which keeps its confidence and the run of the project (its number) or
the model that suggested it. Numbers a person can trust are measured on a person's labels only: once accepted
suggestions count as evidence, the model is graded on its own guesses. A hint is never a label: a demo link's
visitor's word ("visitor", a label only once the owner confirms it) or the folder a photo sat in ("folder").

Every write of a label writes its origin in the same statement (the schema refuses a label without one). A
label given again by a person becomes a person's, even with the same class (the person looked and decided);
renaming or merging a class keeps every label's origin. Also here: where photos fall between training and
validation (by their content), kept apart from fewshot/project/project.py so that it stays readable.
"""
from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, NamedTuple

from ..errors import ProjectError
from .database import SQL, log as _log
from .photos import MAX_NAME

__all__ = ["HINT_SOURCES", "LABEL_SOURCES", "LEGACY_MODEL_HINT", "NO_ORIGIN", "Origin", "PERSON", "Photo",
           "VAL_FRACTION", "balance_splits", "count_sources", "default_split", "legacy_hint_source", "legacy_origin",
           "move_labels", "origins", "rename_class", "split_score", "write_hints", "write_labels"]

LABEL_SOURCES = ("person", "suggestion")
HINT_SOURCES = ("visitor", "folder")
LEGACY_MODEL_HINT = "model:"  # how the Label step marked an accepted suggestion before migration 6 ("model:daisy")
FEEDBACK_FOLDER = "feedback/"  # where a demo link's visitor's photo is added (fewshot/demo_links.py)
VAL_FRACTION = 0.2


class Origin(NamedTuple):
    """Who gave a label: its source, and for a suggestion its confidence, run number and model (any may be None)."""

    source: str | None
    confidence: float | None = None
    run: int | None = None
    model: str | None = None


PERSON = Origin("person")
NO_ORIGIN = Origin(None)  # an unlabelled photo's


@dataclass(frozen=True)
class Photo:
    """One photo of a project as stored: its class, who gave it, and any hint (a hint is never a label)."""

    sha1: str
    path: str  # relative path it was added under
    label: str | None
    split: str
    hint: str | None
    file: Path  # where its bytes are
    label_source: str | None = None  # 'person' | 'suggestion' (an accepted one); None while unlabelled
    label_confidence: float | None = None  # a suggestion's confidence when it was accepted (0-1)
    label_run: int | None = None  # the number of the project's run that suggested it
    label_model: str | None = None  # what suggested it, when not a run (the Label step's head, a Label Studio model)
    hint_source: str | None = None  # 'visitor' (a demo link's visitor said so) | 'folder'; None without a hint
    checkset: bool = False  # drawn at random for the project's check set

    @property
    def origin(self) -> Origin:
        """Who gave the label (source, confidence, run, model)."""
        return Origin(self.label_source, self.label_confidence, self.label_run, self.label_model)


def split_score(sha1: str) -> float:
    """Where a photo falls in [0, 1) by its content: below VAL_FRACTION it validates."""
    return int(sha1[:8], 16) / 2**32


def default_split(sha1: str) -> str:
    """'val' or 'train', decided by the photo's content alone (adding photos never moves old ones)."""
    return "val" if split_score(sha1) < VAL_FRACTION else "train"


def legacy_origin(label: str | None, hint: str | None) -> tuple[Origin, str | None]:
    """(origin, hint) of a label written before sources were recorded (an older archive or undo entry): a
    person's, unless the Label step's hint marked it as an accepted suggestion; that mark is no hint."""
    if hint is not None and hint.startswith(LEGACY_MODEL_HINT):
        return (Origin("suggestion") if label is not None and hint == LEGACY_MODEL_HINT + label else
                PERSON if label is not None else NO_ORIGIN), None
    return (PERSON if label is not None else NO_ORIGIN), hint


def legacy_hint_source(path: str, hint: str | None) -> str | None:
    """The kind of a hint written before kinds were recorded: a visitor's under feedback/, else a folder's."""
    if hint is None:
        return None
    return "visitor" if path.startswith(FEEDBACK_FOLDER) else "folder"


def _one(value, sha1: str):
    """A value given for all photos, or {sha1: value} per photo."""
    return value.get(sha1) if isinstance(value, Mapping) else value


def origins(labels: Mapping[str, str | None], source: str | Mapping[str, str] = "person",
            confidence: float | Mapping[str, float] | None = None, run: int | Mapping[str, int] | None = None,
            model: str | Mapping[str, str] | None = None) -> dict[str, Origin]:
    """{sha1: Origin} for labels about to be written, checked (ProjectError): a source is 'person' or
    'suggestion'; only a suggestion has a confidence (0 to 1), a run (its number) or a model. Each of
    source, confidence, run and model is one value for all, or {sha1: value}; unlabelled photos get none."""
    out = {}
    for sha1, label in labels.items():
        src, conf, number, name = (_one(v, sha1) for v in (source, confidence, run, model))
        if label is None:
            out[sha1] = NO_ORIGIN
            continue
        if src not in LABEL_SOURCES:
            raise ProjectError(f"A label's source is 'person' or 'suggestion', not '{src}'.")
        if src == "person" and (conf is not None or number is not None or name is not None):
            raise ProjectError("Only a suggestion has a confidence, a run or a model; a person's label has none.")
        out[sha1] = Origin(src, _confidence(conf), _run(number), _model(name))
    return out


def _confidence(value) -> float | None:
    if value is None:
        return None
    try:
        c = float(value)
    except (TypeError, ValueError):
        raise ProjectError(f"A suggestion's confidence is a number from 0 to 1, not {value!r}.") from None
    if isinstance(value, bool) or not math.isfinite(c) or not 0 <= c <= 1:
        raise ProjectError(f"A suggestion's confidence is a number from 0 to 1, not {value!r}.")
    return c


def _run(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        raise ProjectError(f"A suggestion's run is the run's number in the project, not {value!r}.")
    return value


def _model(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > MAX_NAME:
        raise ProjectError(f"What suggested a label is named in 1 to {MAX_NAME} characters.")
    return text


def _check_runs(db: sqlite3.Connection, pid: str, given: Mapping[str, Origin]) -> None:
    """A suggestion names a run this project has made (run numbers are never given again, so a deleted run's
    number still says which run it was)."""
    numbers = {o.run for o in given.values() if o.run is not None}
    if numbers:
        made = db.execute(SQL["runs_made"], (pid,)).fetchone()[0]
        if max(numbers) > made:
            raise ProjectError(f"This project has no run {max(numbers)}; a suggestion names a run it made.")


def write_labels(db: sqlite3.Connection, pid: str, clean: Mapping[str, str | None], given: Mapping[str, Origin],
                 splits: Mapping[str, str] | None = None) -> None:
    """Labels (already clean), each with its origin in the same statement, and splits, inside a transaction;
    unknown photos refuse the whole change."""
    known = {r[0] for r in db.execute(SQL["photo_ids"], (pid,))}
    unknown = [k for k in list(clean) + list(splits or {}) if k not in known]
    if unknown:
        raise ProjectError(f"{len(unknown)} of these photos are not in this project (e.g. {unknown[0]}); "
                           f"nothing was changed.")
    _check_runs(db, pid, given)
    for cls in set(clean.values()) - {None}:
        db.execute(SQL["add_class"], (pid, cls))
    db.executemany(SQL["set_photo_label"], [(v, *(given.get(k, PERSON) if v is not None else NO_ORIGIN), pid, k)
                                            for k, v in clean.items()])
    db.executemany(SQL["set_photo_split"], [(v, pid, k) for k, v in (splits or {}).items()])
    if not splits:
        balance_splits(db, pid)
    _log(db, pid, f"labelled {len(clean)} photos" + (f", split {len(splits)}" if splits else ""))


def move_labels(db: sqlite3.Connection, pid: str, labels: Mapping[str, str]) -> None:
    """Labelled photos to another class, each keeping its origin (an undone merge: the labels are who gave
    them, whatever the class is called)."""
    for cls in set(labels.values()):
        db.execute(SQL["add_class"], (pid, cls))
    db.executemany(SQL["move_photo_label"], [(v, pid, k) for k, v in labels.items()])


def write_hints(db: sqlite3.Connection, pid: str, hints: Mapping[str, str | None],
                source: str | Mapping[str, str | None]) -> None:
    """Hints (None: no hint), each with its kind ('visitor' or 'folder'), inside a transaction."""
    rows = []
    for sha1, hint in hints.items():
        kind = _one(source, sha1) if hint is not None else None
        if hint is not None and kind not in HINT_SOURCES:
            raise ProjectError(f"A hint comes from a 'visitor' or a 'folder', not '{kind}'.")
        rows.append((None if hint is None else str(hint), kind, pid, sha1))
    db.executemany(SQL["set_photo_hint"], rows)


def count_sources(db: sqlite3.Connection, pid: str) -> dict[str, int]:
    """{"person": n, "suggestion": m}: who gave the project's labels."""
    counts = {s: 0 for s in LABEL_SOURCES}
    for source, n in db.execute(SQL["count_by_source"], (pid,)):
        counts[source] = n
    return counts


def rename_class(db: sqlite3.Connection, pid: str, old: str, new_name: str) -> bool:
    """Rename a class inside a transaction; True when `new_name` was a class already (the two merged). Every
    label keeps its origin."""
    if db.execute(SQL["class_exists"], (pid, old)).fetchone() is None:
        raise ProjectError(f"There is no class '{old}' in this project.")
    merged = db.execute(SQL["class_exists"], (pid, new_name)).fetchone() is not None
    if merged:
        db.execute(SQL["relabel_class"], (new_name, pid, old))
        db.execute(SQL["delete_class"], (pid, old))
    else:  # ON UPDATE CASCADE relabels its photos
        db.execute(SQL["rename_class"], (new_name, pid, old))
    _log(db, pid, f"renamed class '{old}' to '{new_name}'")
    return merged


def balance_splits(db: sqlite3.Connection, pid: str) -> None:
    """Each class with two or more photos keeps at least one on each side: only when a side is empty does the
    photo nearest the line move (so adding photos leaves old ones where they were)."""
    rows = db.execute(SQL["labelled_photo_splits"], (pid,))
    by_class: dict[str, list[tuple[str, str]]] = {}
    for label, sha1, split in rows:
        by_class.setdefault(label, []).append((sha1, split))
    for items in by_class.values():
        if len(items) < 2:
            continue
        val = [s for s, sp in items if sp == "val"]
        train = [s for s, sp in items if sp == "train"]
        if not val:
            move, to = min(train, key=split_score), "val"
        elif not train:
            move, to = max(val, key=split_score), "train"
        else:
            continue
        db.execute(SQL["set_photo_split"], (to, pid, move))
