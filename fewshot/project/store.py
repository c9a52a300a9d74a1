"""Every project under one data folder: made, opened (only by its owner), listed, deleted and expired."""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from pathlib import Path

from ..errors import ProjectError, ProjectNotFound
from .database import SQL, Database, default_data_dir, log as _log, now, settle_imports
from .photos import clean_name
from .project import Project

__all__ = ["LOCAL_OWNER", "ProjectStore"]

# The owner of the command line's projects, and of the page's when app.py serves one person at their own
# machine (fewshot/ui/tab/state.py ProjectOwners): then both see the same projects.
LOCAL_OWNER = "local"


class ProjectStore:
    """Every project under one data folder. Thread-safe; other processes may use the same folder at once."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else default_data_dir()
        self.db = Database(self.root)
        self.projects_dir = self.root / "projects"
        self.projects_dir.mkdir(exist_ok=True)
        settle_imports(self.db, self.projects_dir)  # what an import killed part-way left (database.py)
        self._remove_orphans()

    def _remove_orphans(self) -> None:
        """Folders of projects whose rows are gone (a delete cut short by a crash): rows go first, then files."""
        with self.db.reading() as db:
            known = {r[0] for r in db.execute(SQL["all_project_ids"])}
        for d in self.projects_dir.iterdir():
            if d.is_dir() and d.name not in known and not d.name.startswith("."):
                shutil.rmtree(d, ignore_errors=True)

    # ---- projects ----------------------------------------------------------------------------------
    def create(self, owner: str, name: str) -> "Project":
        owner, name = _owner(owner), clean_name(name, "project name")
        pid, t = secrets.token_urlsafe(24), now()
        try:
            with self.db.transaction() as db:
                db.execute(SQL["insert_project"],
                           (pid, owner, name, t, t))
                _log(db, pid, f"created '{name}'")
        except sqlite3.IntegrityError:
            raise ProjectError(f"You already have a project called '{name}'; pick another name.") from None
        return Project(self, owner, pid)

    def open(self, owner: str, project_id: str) -> "Project":
        """A project by id, only for its owner; runs left 'running' by a dead process become 'interrupted'."""
        owner = _owner(owner)
        with self.db.reading() as db:
            row = db.execute(SQL["project_of_owner"], (str(project_id), owner)).fetchone()
        if row is None:
            raise ProjectNotFound("There is no such project (it may have been deleted or expired).")
        p = Project(self, owner, row[0])
        p.recover()
        return p

    def open_by_name(self, owner: str, name: str) -> "Project":
        owner = _owner(owner)
        with self.db.reading() as db:
            row = db.execute(SQL["project_by_name"],
                             (owner, clean_name(name, "project name"))).fetchone()
        if row is None:
            raise ProjectNotFound(f"You have no project called '{name}'.")
        return self.open(owner, row[0])

    def list(self, owner: str) -> list[dict]:
        """This owner's projects, most recently used first."""
        with self.db.reading() as db:
            rows = db.execute(SQL["list_projects"], (_owner(owner),)).fetchall()
        return [{"id": r[0], "name": r[1], "created": r[2], "used": r[3], "photos": r[4], "labelled": r[5],
                 "runs": r[6]} for r in rows]

    def hand_over(self, old_owner: str, new_owner: str) -> list[str]:
        """Every project of `old_owner` becomes `new_owner`'s (a name `new_owner` already has gets " 2", " 3"…
        after it); returns the projects' ids. One transaction: another process sees all of them moved or none."""
        old_owner, new_owner = _owner(old_owner), _owner(new_owner)
        moved = []
        with self.db.transaction() as db:
            taken = {r[1] for r in db.execute(SQL["list_projects"], (new_owner,))}
            for pid, name, *_ in db.execute(SQL["list_projects"], (old_owner,)).fetchall():
                free, n = name, 2
                while free in taken:
                    free, n = f"{name} {n}", n + 1
                db.execute(SQL["hand_over_project"], (new_owner, free, pid, old_owner))
                _log(db, pid, f"handed over to '{new_owner}'" + (f" as '{free}'" if free != name else ""))
                taken.add(free)
                moved.append(pid)
        return moved

    def others_count(self, owner: str) -> int:
        """How many projects in this data folder belong to someone else than `owner` (browsers, logins)."""
        with self.db.reading() as db:
            return db.execute(SQL["count_other_owners_projects"], (_owner(owner),)).fetchone()[0]

    def delete(self, owner: str, project_id: str) -> None:
        """Every row, then every file. A crash in between leaves a folder that the next start removes."""
        owner = _owner(owner)
        with self.db.transaction() as db:
            if db.execute(SQL["delete_project"], (str(project_id), owner)).rowcount != 1:
                raise ProjectNotFound("There is no such project (it may have been deleted or expired).")
        shutil.rmtree(self.projects_dir / str(project_id), ignore_errors=True)

    def expire_projects(self, now_: float | None = None) -> list[str]:
        """Delete projects idle for more than FEWSHOT_PROJECT_TTL_DAYS (off when unset); returns their ids."""
        raw = os.environ.get("FEWSHOT_PROJECT_TTL_DAYS", "").strip()
        if not raw:
            return []
        try:
            days = float(raw)
        except ValueError:
            raise ProjectError(f"FEWSHOT_PROJECT_TTL_DAYS={raw!r} is not a number of days.") from None
        if days <= 0:
            return []
        cutoff = (now() if now_ is None else now_) - days * 86400
        with self.db.reading() as db:
            rows = db.execute(SQL["idle_projects"], (cutoff,)).fetchall()
        gone = []
        for pid, owner in rows:
            try:
                self.delete(owner, pid)
                gone.append(pid)
            except ProjectNotFound:
                pass
        return gone


def _owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner.strip():
        raise ProjectError("Every project call needs an owner.")
    return owner
