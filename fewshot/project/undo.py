"""The Label step's undo history, kept in the project: every undoable labelling action writes, in the same
transaction as the change itself, the entry that takes it back, so a reload or a server restart loses
neither (and a crash never leaves one without the other). The last UNDO_KEEP actions are kept per project.
Also the suggestion cards a user hid (a rejected suggestion, a suspect label kept as it is).
Held by fewshot.project.Project, which hands its undo methods to it.

One history per project, not per tab: Undo takes back the project's newest action, whichever tab (or
which server process before a restart) made it. A reloaded tab is a new tab, and the action a user just
regrets is the project's newest one; two tabs pressing Undo at once take back two actions, never one twice
(the entry is read and removed inside one write transaction). An undo restores only the photos still as
that action left them: a label changed since by something outside this history (an import, step 1) stays.
An undo restores who gave each label too (fewshot/project/labels.py): undoing a person's relabelling of an
accepted suggestion gives back the suggestion, with its confidence. Entries written before sources were
recorded (schema version 5) restore a person's label, or an accepted suggestion where the Label step's hint
marked one.
"""
from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Iterable, Mapping

from ..errors import ProjectError
from .database import SQL, log as _log, now
from .labels import NO_ORIGIN, Origin, legacy_origin, origins
from .photos import clean_class

if TYPE_CHECKING:  # project.py holds one of these, so it imports this module
    from .project import Project

__all__ = ["LabelHistory", "UNDO_KEEP"]

UNDO_KEEP = 50  # actions kept per project
HIDE_KINDS = ("reject", "keep")


class LabelHistory:
    """Undoable labelling for a project (`Project` holds one and hands these methods to it; the project provides
    _tx, _read, _labels_in, _move_in and _rename_in)."""

    def __init__(self, project: Project) -> None:
        self.project, self.id = project, project.id

    # ---- actions that can be taken back --------------------------------------------------------------
    def label_photos(self, labels: Mapping[str, str | None], hints: Mapping[str, str | None] | None = None,
                     tab: str = "", keep: Iterable[tuple[str, str]] = (), *, source: str = "person",
                     confidence: Mapping[str, float] | None = None, run: int | None = None,
                     model: str | None = None) -> int:
        """{sha1: class or None} and {sha1: hint or None} written with the undo entry that restores the labels,
        who gave them, and the hints they had, in one transaction; `keep`: (sha1, class) suspect cards hidden
        as well (not undone with it: the user reviewed them). `source`, `confidence`, `run`, `model`: who gave
        the labels, as Project.set_labels takes them (a person, by default). A hint given here is a folder's
        unless the photo's hint was a visitor's. Unknown photos refuse the whole change."""
        clean = {str(k): clean_class(v) for k, v in labels.items()}
        given = origins(clean, source, confidence, run, model)
        hints = dict(hints or {})
        with self.project._tx() as db:
            before, old = {}, {}
            for s in dict.fromkeys(list(clean) + list(hints)):
                row = db.execute(SQL["photo_label_hint"], (self.id, s)).fetchone()
                if row is not None:
                    before[s], old[s] = row[0], row
            self.project._labels_in(db, clean, given)  # refuses unknown photos (and so rolls back everything)
            db.executemany(SQL["set_photo_hint"], [
                (None if v is None else str(v), None if v is None else old[k][6] or "folder", self.id, k)
                for k, v in hints.items() if k in before])
            db.executemany(SQL["hide_card"], [(self.id, s, c, "keep") for s, c in keep])
            after = {s: clean.get(s, before[s]) for s in before}
            _record(db, self.id, tab, "labels", {
                "before": before, "hints": {s: r[1] for s, r in old.items()},
                "sources": {s: list(r[2:6]) for s, r in old.items()},
                "hint_sources": {s: r[6] for s, r in old.items()},
                "after_sources": {s: (given[s].source if s in clean else old[s][2]) for s in before},
                "after": after})
        return len(clean)

    def rename_class_undoably(self, old: str, new: str, tab: str = "") -> bool:
        """Rename (or merge into a class that exists: True) with its undo entry, in one transaction."""
        new_name = clean_class(new)
        if new_name is None:
            raise ProjectError("A class name cannot be empty.")
        with self.project._tx() as db:
            members = [r[0] for r in db.execute(SQL["photos_where"] + " " + SQL["and_label"], (self.id, old))]
            merged = self.project._rename_in(db, old, new_name)
            _record(db, self.id, tab, "merge" if merged else "rename",
                    {"old": old, "new": new_name, "members": members})
        return merged

    def hide_cards(self, kind: str, cards: Iterable[tuple[str, str]], tab: str = "") -> None:
        """(sha1, class) cards hidden: a suggestion rejected ("reject") or a suspect label kept ("keep"). A kept
        label that was an accepted suggestion becomes a person's: the person looked and said it is right."""
        if kind not in HIDE_KINDS:
            raise ProjectError(f"Cards are hidden as 'reject' or 'keep', not '{kind}'.")
        cards = sorted({(str(s), str(c)) for s, c in cards})
        with self.project._tx() as db:
            known = {r[0] for r in db.execute(SQL["photo_ids"], (self.id,))}
            cards = [(s, c) for s, c in cards if s in known]
            if not cards:  # (photos gone meanwhile: nothing to hide, nothing to undo)
                return
            db.executemany(SQL["hide_card"], [(self.id, s, c, kind) for s, c in cards])
            confirmed = {}
            for s, c in cards if kind == "keep" else ():
                row = db.execute(SQL["photo_label_hint"], (self.id, s)).fetchone()
                if row[0] == c and row[2] == "suggestion":
                    confirmed[s] = list(row[2:6])
                    db.execute(SQL["set_label_origin"], ("person", None, None, None, self.id, s, c))
            _record(db, self.id, tab, kind, {"cards": cards, "confirmed": confirmed})

    def hidden_cards(self, kind: str) -> set[tuple[str, str]]:
        """The (sha1, class) cards hidden as `kind` ("reject" or "keep")."""
        with self.project._read() as db:
            return {(r[0], r[1]) for r in db.execute(SQL["hidden_cards"], (self.id, kind))}

    def undo_count(self) -> int:
        """How many actions Undo can take back."""
        with self.project._read() as db:
            return db.execute(SQL["count_label_undo"], (self.id,)).fetchone()[0]

    # ---- taking back -------------------------------------------------------------------------------
    def undo_last(self, tab: str = "") -> dict:
        """Take back the project's newest action (see the module's docstring for why not the tab's).
        Returns {"what", "count" (photos or cards restored), "left" (photos changed since, left alone),
        "old", "new" (class names), "gone" (the class to name back is no longer there),
        "other_tab" (it was made by another tab than `tab`)}."""
        with self.project._tx() as db:
            row = db.execute(SQL["last_label_undo"], (self.id,)).fetchone()
            if row is None:
                raise ProjectError("There is nothing to undo.")
            entry_id, by, what, body = row[0], row[1], row[2], json.loads(row[3])
            done = {"what": what, "count": 0, "left": 0, "gone": False, "old": body.get("old"),
                    "new": body.get("new"), "other_tab": bool(tab and by and by != tab)}
            if what == "labels":
                done.update(self._undo_labels(db, body))
            elif what in ("rename", "merge"):
                done.update(self._undo_rename(db, what, body))
            else:
                db.executemany(SQL["unhide_card"], [(self.id, s, c, what) for s, c in body["cards"]])
                self._unconfirm(db, body)
                done["count"] = len(body["cards"])
            db.execute(SQL["delete_label_undo"], (entry_id, self.id))
            _log(db, self.id, f"undid the labelling of {done['count']} photos" if what == "labels" else
                 f"undid renaming class '{done['old']}' to '{done['new']}'" if what in ("rename", "merge") else
                 "undid hiding a card")
        return done

    def _undo_labels(self, db: sqlite3.Connection, body: dict) -> dict:
        """The labels, who gave them, and the hints back on the photos that are still as the action left them."""
        before, after, hints = body["before"], body["after"], body["hints"]
        wrote = body.get("after_sources", {})
        back, given, hint_back = {}, {}, {}
        for s, label in before.items():
            row = db.execute(SQL["photo_label_hint"], (self.id, s)).fetchone()
            if row is None or row[0] != after.get(s) or (s in wrote and row[2] != wrote[s]):
                continue
            back[s] = label
            if "sources" in body:
                given[s] = Origin(*body["sources"][s]) if label is not None else NO_ORIGIN
                hint_back[s] = (hints.get(s), body["hint_sources"].get(s))
            else:  # an entry from before sources were recorded (schema version 5)
                given[s], hint = legacy_origin(label, hints.get(s))
                hint_back[s] = (hint, None if hint is None else row[6] or "folder")
        if back:
            self.project._labels_in(db, back, given)
            db.executemany(SQL["set_photo_hint"], [(h, k, self.id, s) for s, (h, k) in hint_back.items()])
        return {"count": len(back), "left": len(before) - len(back)}

    def _unconfirm(self, db: sqlite3.Connection, body: dict) -> None:
        """Kept labels that were accepted suggestions are suggestions again, where no one changed them since."""
        cards = dict(body["cards"])
        for s, origin in body.get("confirmed", {}).items():
            row = db.execute(SQL["photo_label_hint"], (self.id, s)).fetchone()
            if row is not None and row[0] == cards.get(s) and row[2] == "person":
                db.execute(SQL["set_label_origin"], (*origin, self.id, s, row[0]))

    def _undo_rename(self, db: sqlite3.Connection, what: str, body: dict) -> dict:
        """A renamed class gets its old name; a merged one is a class of its own again, with its photos."""
        old, new = body["old"], body["new"]
        if db.execute(SQL["class_exists"], (self.id, new)).fetchone() is None:
            return {"gone": True}  # renamed or removed since: nothing to name back
        if what == "rename":
            self.project._rename_in(db, new, old)
            return {"count": len(body["members"])}
        db.execute(SQL["add_class"], (self.id, old))
        back = [s for s in body["members"]
                if (db.execute(SQL["photo_label"], (self.id, s)).fetchone() or [None])[0] == new]
        if back:  # each label keeps who gave it (a merge kept it too)
            self.project._move_in(db, {s: old for s in back})
        return {"count": len(back), "left": len(body["members"]) - len(back)}


def _record(db: sqlite3.Connection, pid: str, tab: str, what: str, body: dict) -> None:
    """The undo entry, inside the action's own transaction; the oldest beyond UNDO_KEEP go."""
    db.execute(SQL["insert_label_undo"], (pid, tab, now(), what, json.dumps(body)))
    db.execute(SQL["trim_label_undo"], (pid, pid, UNDO_KEEP))
