"""One project, opened for its owner: its photos, classes, labels and splits, and (handed to runs.py's ProjectRuns
and undo.py's LabelHistory) its runs and the Label step's undo. Every method re-checks ownership in its own
transaction.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from ..archive import Limits
from ..errors import DataError, ProjectError, ProjectNotFound, ProjectTooBig
from ..images import UnreadableImage, read_checked
from .database import SQL, log as _log, now, write_file_atomic
from .labels import (HINT_SOURCES, LABEL_SOURCES, PERSON, VAL_FRACTION, Origin, Photo,  # noqa: F401
                     balance_splits as _balance_splits, count_sources, default_split, move_labels, origins,
                     rename_class as _rename_class, split_score, write_hints, write_labels)
from .photos import (SPLITS, AddResult, cap_sizes, clean_class, clean_name, collect,  # noqa: F401
                     max_project_bytes, stored_bytes)
from .runs import RUN_STATUSES, ProjectRuns, Run  # noqa: F401 (RUN_STATUSES: part of the API)
from .undo import LabelHistory

if TYPE_CHECKING:  # store.py makes projects, so it imports this module
    from .store import ProjectStore

__all__ = ["Project"]


class Project:
    """One project, opened for its owner. Methods re-check ownership in every transaction. Its runs and its undo
    history are collaborators (`ProjectRuns`, `LabelHistory`) its methods of the same names hand the work to."""

    def __init__(self, store: ProjectStore, owner: str, project_id: str) -> None:
        self.store, self.owner, self.id = store, owner, project_id
        self.dir = store.projects_dir / project_id
        self.photos_dir = self.dir / "photos"
        self.runs_dir = self.dir / "runs"
        self._runs, self._undo = ProjectRuns(self), LabelHistory(self)

    # ---- plumbing ----------------------------------------------------------------------------------
    def _tx(self):
        return _OwnedTx(self)

    def _read(self):
        return _OwnedRead(self)

    def photo_file(self, sha1: str, ext: str) -> Path:
        return self.photos_dir / sha1[:2] / f"{sha1}{ext}"

    def _labels_in(self, db: sqlite3.Connection, clean: Mapping[str, str | None],
                   given: Mapping[str, Origin] | None = None) -> None:
        # (for LabelHistory: labels and their origins inside its own transaction; a person's by default)
        write_labels(db, self.id, clean, given if given is not None else {})

    def _move_in(self, db: sqlite3.Connection, labels: Mapping[str, str]) -> None:
        move_labels(db, self.id, labels)

    def _rename_in(self, db: sqlite3.Connection, old: str, new_name: str) -> bool:
        return _rename_class(db, self.id, old, new_name)

    # ---- runs (runs.py: ProjectRuns) and the Label step's undo (undo.py: LabelHistory) do the work -------
    def runs(self) -> list[Run]:
        return self._runs.runs()

    def run(self, run_id: int) -> Run:
        return self._runs.run(run_id)

    def run_numbered(self, number: int) -> Run:
        return self._runs.run_numbered(number)

    def active_run(self) -> Run | None:
        return self._runs.active_run()

    def active_bundle(self) -> Path | None:
        return self._runs.active_bundle()

    def start_run(self, settings: dict) -> int:
        return self._runs.start_run(settings)

    def finish_run(self, run_id: int, status: str, *, model=None, history: list | None = None,
                   metrics: dict | None = None, val_accuracy: float | None = None, message: str = "") -> None:
        return self._runs.finish_run(run_id, status, model=model, history=history, metrics=metrics,
                                     val_accuracy=val_accuracy, message=message)

    def delete_run(self, run_id: int) -> None:
        return self._runs.delete_run(run_id)

    def pick_active(self, run_id: int | None) -> None:
        return self._runs.pick_active(run_id)

    def insert_run(self, r: dict, bundle: Path | None) -> int:
        return self._runs.insert_run(r, bundle)

    def count_runs_made(self, at_least: int) -> None:
        return self._runs.count_runs_made(at_least)

    def restore_active(self, run_id: int | None, pinned: bool) -> None:
        return self._runs.restore_active(run_id, pinned)

    def recover(self) -> list[int]:
        return self._runs.recover()

    def dataset(self, seed: int = 0):
        return self._runs.dataset(seed)

    def train(self, config=None, *, stop=None, device: str | None = None, feature_cache: bool = True,
              limits: Limits | None = None, trainer=None) -> Iterator:
        return self._runs.train(config, stop=stop, device=device, feature_cache=feature_cache, limits=limits,
                                trainer=trainer)

    def label_photos(self, labels: Mapping[str, str | None], hints: Mapping[str, str | None] | None = None,
                     tab: str = "", keep: Iterable[tuple[str, str]] = (), *, source: str = "person",
                     confidence: Mapping[str, float] | None = None, run: int | None = None,
                     model: str | None = None) -> int:
        return self._undo.label_photos(labels, hints, tab, keep, source=source, confidence=confidence, run=run,
                                       model=model)

    def rename_class_undoably(self, old: str, new: str, tab: str = "") -> bool:
        return self._undo.rename_class_undoably(old, new, tab)

    def hide_cards(self, kind: str, cards: Iterable[tuple[str, str]], tab: str = "") -> None:
        return self._undo.hide_cards(kind, cards, tab)

    def hidden_cards(self, kind: str) -> set[tuple[str, str]]:
        return self._undo.hidden_cards(kind)

    def undo_count(self) -> int:
        return self._undo.undo_count()

    def undo_last(self, tab: str = "") -> dict:
        return self._undo.undo_last(tab)

    # ---- about -------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        with self._read() as db:
            return db.execute(SQL["project_name"], (self.id,)).fetchone()[0]

    def rename(self, name: str) -> None:
        name = clean_name(name, "project name")
        try:
            with self._tx() as db:
                old = db.execute(SQL["project_name"], (self.id,)).fetchone()[0]
                db.execute(SQL["rename_project"], (name, self.id))
                _log(db, self.id, f"renamed '{old}' to '{name}'")
        except sqlite3.IntegrityError:
            raise ProjectError(f"You already have a project called '{name}'; pick another name.") from None

    def delete(self) -> None:
        self.store.delete(self.owner, self.id)

    def summary(self) -> dict:
        """{"id", "name", "photos", "labelled", "unlabelled", "classes": {class: count}, "splits", "runs", "active_run",
        "sources": {"person": n, "suggestion": m} (who gave the labels)}."""
        with self._read() as db:
            name, active = db.execute(SQL["project_name_active"], (self.id,)).fetchone()
            classes = {r[0]: 0 for r in db.execute(SQL["class_names"],
                                                     (self.id,))}
            for label, n in db.execute(SQL["count_by_label"], (self.id,)):
                classes[label] = n
            total = db.execute(SQL["count_photos"], (self.id,)).fetchone()[0]
            splits = {s: n for s, n in db.execute(SQL["count_by_split"], (self.id,))}
            sources = count_sources(db, self.id)
        labelled = sum(classes.values())
        return {"id": self.id, "name": name, "photos": total, "labelled": labelled, "unlabelled": total - labelled,
                "classes": classes, "splits": {s: splits.get(s, 0) for s in SPLITS},
                "runs": [r.to_dict() for r in self.runs()], "active_run": active, "sources": sources}

    def size_bytes(self) -> int:
        with self._read() as db:
            return _size(db, self.id)

    def meta(self) -> dict:
        with self._read() as db:
            r = db.execute(SQL["project_meta"],
                           (self.id,)).fetchone()
        return {"id": self.id, "name": r[0], "created": r[1], "used": r[2], "active_run": r[3],
                "active_pinned": bool(r[4]), "runs_made": r[5]}

    def log(self, what: str) -> None:
        """One line in the project's activity log."""
        with self._tx() as db:
            _log(db, self.id, what)

    def activity(self, limit: int = 50) -> list[dict]:
        with self._read() as db:
            rows = db.execute(SQL["activity"],
                              (self.id, int(limit))).fetchall()
        return [{"at": r[0], "what": r[1]} for r in rows]

    # ---- classes and photos ------------------------------------------------------------------------
    def classes(self) -> list[str]:
        with self._read() as db:
            return [r[0] for r in db.execute(SQL["class_names"], (self.id,))]

    def add_class(self, name: str) -> str:
        name = clean_class(name)
        if name is None:
            raise ProjectError("A class name cannot be empty.")
        with self._tx() as db:
            db.execute(SQL["add_class"], (self.id, name))
        return name

    def rename_class(self, old: str, new: str) -> None:
        new_name = clean_class(new)
        if new_name is None:
            raise ProjectError("A class name cannot be empty.")
        with self._tx() as db:
            _rename_class(db, self.id, old, new_name)

    def remove_class(self, name: str) -> None:
        """The class goes; its photos stay, unlabelled."""
        with self._tx() as db:
            db.execute(SQL["unlabel_class"], (self.id, name))
            db.execute(SQL["delete_class"], (self.id, name))
            _log(db, self.id, f"removed class '{name}'")

    def photos(self, label: str | None | type(...) = ..., split: str | None = None) -> list[Photo]:
        """Every photo (label=... the default), or those of one class (None: the unlabelled ones)."""
        q, args = [SQL["photos_where"]], [self.id]
        if label is None:
            q.append(SQL["and_unlabelled"])
        elif label is not ...:
            q, args = q + [SQL["and_label"]], args + [label]
        if split is not None:
            q, args = q + [SQL["and_split"]], args + [split]
        with self._read() as db:
            rows = db.execute(" ".join(q + [SQL["order_by_path"]]), args).fetchall()
        return [Photo(r[0], r[2], r[3], r[4], r[5], self.photo_file(r[0], r[1]), r[6], r[7], r[8], r[9], r[10],
                      bool(r[11])) for r in rows]

    def add_photos(self, source: str | os.PathLike | Sequence, label: str | None = None,
                   limits: Limits | None = None) -> AddResult:
        """Photos from a folder, a .zip, or a list of files (paths, or (path, class) pairs).

        In a folder or zip, class folders label their photos (train/ and val/ folders also set the split);
        loose photos stay unlabelled unless `label` is given. The same photo is stored once. A class from a
        folder or from `label` is a person's label (a person sorted the photos or named the class)."""
        limits = limits or Limits.from_env()
        skipped: list[tuple[str, str]] = []
        with tempfile.TemporaryDirectory(prefix=".unpack-", dir=self.store.root) as tmp:
            items = collect(source, label, limits, skipped, Path(tmp))
            return self.add_items(items, limits, skipped, f"added photos from {_source_name(source)}")

    def add_items(self, items: Sequence[tuple[Path, str, str | None, str | None]], limits: Limits,
                  skipped: list | None = None, note: str = "added photos") -> AddResult:
        """(file, relative path, class or None, split or None) each: read, checked, stored once, one transaction.

        Under FEWSHOT_PROJECT_MAX_GB the whole batch is read and measured before its first file is written, and
        measured again inside the transaction (another add may have landed meanwhile); a refused batch leaves
        no file behind (files written for it and not recorded are removed), so a retry never grows the folder."""
        skipped = [] if skipped is None else skipped
        if len(items) > limits.max_images:
            raise DataError(f"{len(items):,} images is over the limit of {limits.max_images:,} (limit: max images)")
        ready, new = self._read_items(items, limits, skipped)
        cap = max_project_bytes()
        if cap and new:
            size = self.size_bytes() + sum(n[2] for n in new.values())
            if size > cap:
                raise _too_big(size, cap)
        try:
            self._write_new(new)
            return self._record(ready, new, skipped, note, cap)
        except BaseException:
            self._remove_unrecorded(new)
            raise

    def _read_items(self, items, limits: Limits, skipped: list
                    ) -> tuple[list[tuple[str, str, str, str | None, str | None, int]], dict[str, tuple]]:
        """Every photo of a batch read and checked, nothing written: the rows to record (sha1, ext, path, class,
        split, bytes) and the photos the project does not hold yet, {sha1: (file, ext, bytes)}. Their bytes are
        not kept (a batch may be gigabytes); _write_new reads them again."""
        with self._read() as db:
            known = {r[0] for r in db.execute(SQL["photo_ids"], (self.id,))}
        ready, new = [], {}
        for file, rel, cls, split in items:
            try:
                data, sha1 = read_checked(file, limits.max_pixels)
            except UnreadableImage as exc:
                skipped.append((rel, str(exc)))
                continue
            ext = Path(rel).suffix.lower()
            if sha1 not in known and sha1 not in new:  # counted by the database, not by the files on disk
                new[sha1] = (Path(file), ext, len(data))
            ready.append((sha1, ext, rel, clean_class(cls), split, len(data)))
        return ready, new

    def _write_new(self, new: Mapping[str, tuple[Path, str, int]]) -> None:
        """The new photos' files, each atomically, before the rows that name them."""
        for sha1, (file, ext, _) in new.items():
            target = self.photo_file(sha1, ext)
            if target.exists():  # the same bytes (content-addressed), e.g. a file a crashed add left
                continue
            data, again = read_checked(file, decode=False)
            if again != sha1:
                raise DataError(f"{file.name} changed while it was being added; nothing was added.")
            write_file_atomic(target, data)

    def _record(self, ready: list, new: Mapping[str, tuple[Path, str, int]], skipped: list, note: str,
                cap: int | None) -> AddResult:
        """The rows of a batch whose files are on disk, in one transaction; refused whole (ProjectTooBig) when
        the new photos take the project past `cap` as it is at commit time."""
        result, added_bytes = AddResult(skipped=skipped), 0
        with self._tx() as db:
            # a file this add found on disk may have been removed since by another add of the same photo that
            # was refused (_remove_unrecorded, under the write lock this transaction now holds): written again
            self._write_new(new)
            for sha1, ext, rel, cls, split, size in ready:
                if cls is not None:
                    db.execute(SQL["add_class"], (self.id, cls))
                row = db.execute(SQL["photo_label"], (self.id, sha1)).fetchone()
                origin = PERSON if cls is not None else Origin(None)
                if row is None:
                    db.execute(SQL["insert_photo"], (self.id, sha1, ext, rel, cls, *origin,
                                                     split or default_split(sha1), size, now()))
                    result.added += 1
                    result.labelled += cls is not None
                    added_bytes += size
                else:
                    result.already += 1
                    if row[0] is None and cls is not None:  # a label for a photo that had none; never a relabel
                        db.execute(SQL["set_photo_label"], (cls, *origin, self.id, sha1))
                        result.labelled += 1
                    if split is not None:
                        db.execute(SQL["set_photo_split"], (split, self.id, sha1))
            if cap and added_bytes and _size(db, self.id) > cap:  # rolled back whole
                raise _too_big(_size(db, self.id), cap)
            _balance_splits(db, self.id)
            _log(db, self.id, f"{note}: {result.added} new, {result.already} already there, "
                              f"{len(skipped)} skipped")
        return result

    def _remove_unrecorded(self, new: Mapping[str, tuple[Path, str, int]]) -> None:
        """After a refused or failed add: the files of its new photos that no row names (the database's word,
        read now: a photo that another add recorded meanwhile keeps its file)."""
        # under the write lock (not _read(): a project deleted meanwhile must not hide the first error), so an
        # add of the same photos either recorded them before (they stay) or writes them again in its own
        with self.store.db.transaction() as db:
            known = {r[0] for r in db.execute(SQL["photo_ids"], (self.id,))}
            for sha1, (_, ext, _) in new.items():
                if sha1 not in known:
                    target = self.photo_file(sha1, ext)
                    target.unlink(missing_ok=True)
                    try:
                        target.parent.rmdir()  # its two-letter folder, when it was the only one there
                    except OSError:
                        pass

    def set_labels(self, labels: Mapping[str, str | None], splits: Mapping[str, str] | None = None, *,
                   source: str | Mapping[str, str] = "person", confidence: float | Mapping[str, float] | None = None,
                   run: int | Mapping[str, int] | None = None, model: str | Mapping[str, str] | None = None) -> int:
        """{sha1: class or None (unlabelled)}, each with who gave it, all in one transaction; unknown photos refuse
        the whole change. `source`: "person" (the default) or "suggestion" (an accepted one); a suggestion may
        keep its `confidence` ({sha1: 0-1}), the number of the project's `run` that suggested it, or the
        `model` that did (each one value for all, or {sha1: value}). A label written again takes the origin
        given now: a person relabelling, or giving again, an accepted suggestion makes it a person's."""
        clean = {str(k): clean_class(v) for k, v in labels.items()}
        given = origins(clean, source, confidence, run, model)
        for s in (splits or {}).values():
            if s not in SPLITS:
                raise ProjectError(f"A split is 'train' or 'val', not '{s}'.")
        with self._tx() as db:
            write_labels(db, self.id, clean, given, splits)
        return len(clean)

    def set_label(self, sha1: str, label: str | None) -> None:
        self.set_labels({sha1: label})

    def set_splits(self, splits: Mapping[str, str]) -> int:
        """{sha1: 'train' | 'val'}: the user's choice, kept as given."""
        return self.set_labels({}, splits)

    def set_hints(self, hints: Mapping[str, str | None], source: str | Mapping[str, str] = "folder") -> None:
        """{sha1: hint or None}: a class proposed for a photo, never a label. `source`: the hint's kind, "folder"
        (the folder it sat in, the default) or "visitor" (a demo link's visitor said so)."""
        with self._tx() as db:
            write_hints(db, self.id, hints, source)

    def mark_check_set(self, sha1s: Iterable[str], on: bool = True) -> int:
        """Mark photos as drawn for the project's check set (`on`=False: no longer); unknown photos refuse the
        whole change. What the check set is for is decided elsewhere; this only records it."""
        sha1s = list(dict.fromkeys(str(s) for s in sha1s))
        with self._tx() as db:
            known = {r[0] for r in db.execute(SQL["photo_ids"], (self.id,))}
            unknown = [s for s in sha1s if s not in known]
            if unknown:
                raise ProjectError(f"{len(unknown)} of these photos are not in this project (e.g. {unknown[0]}); "
                                   f"nothing was changed.")
            db.executemany(SQL["mark_check_set"], [(int(bool(on)), self.id, s) for s in sha1s])
        return len(sha1s)

    def remove_photos(self, sha1s: Iterable[str]) -> int:
        sha1s = list(sha1s)
        with self._tx() as db:
            rows = db.execute(SQL["photo_files_in"].format(",".join("?" * len(sha1s))),
                              (self.id, *sha1s)).fetchall() if sha1s else []
            db.executemany(SQL["delete_photo"], [(self.id, r[0]) for r in rows])
            _log(db, self.id, f"removed {len(rows)} photos")
        for sha1, ext in rows:  # after the commit: a crash leaves an unused file, never a row without its file
            self.photo_file(sha1, ext).unlink(missing_ok=True)
        return len(rows)

class _OwnedTx:
    """A write transaction that first checks the project still exists for this owner."""

    def __init__(self, project: Project, write: bool = True) -> None:
        self.p, self.write = project, write

    def __enter__(self) -> sqlite3.Connection:
        self.cm = self.p.store.db.transaction() if self.write else self.p.store.db.reading()
        db = self.cm.__enter__()
        try:
            if db.execute(SQL["owned_project"], (self.p.id, self.p.owner)).fetchone() is None:
                raise ProjectNotFound("There is no such project (it may have been deleted or expired).")
            if self.write:
                db.execute(SQL["touch_project"], (now(), self.p.id))
        except BaseException as exc:
            self.cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return db

    def __exit__(self, *exc) -> bool | None:
        return self.cm.__exit__(*exc)


class _OwnedRead(_OwnedTx):
    def __init__(self, project: Project) -> None:
        super().__init__(project, write=False)


def _size(db: sqlite3.Connection, pid: str) -> int:
    return stored_bytes(db, pid)


def _too_big(size: int, cap: int) -> ProjectTooBig:
    size_text, cap_text = cap_sizes(size, cap)
    return ProjectTooBig(f"This project would hold {size_text}; the cap on this server is {cap_text} "
                         f"(FEWSHOT_PROJECT_MAX_GB). Nothing was added.")


def _source_name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return f"{len(source)} files"
