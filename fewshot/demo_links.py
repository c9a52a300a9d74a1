"""Demo links: a predict-only page for one run of a project at an unguessable address, and the photos its
visitors send back. No gradio (the page is fewshot/ui/demo.py).

    links = DemoLinks(store)
    link = links.create(project, run_id)          # /m/<link.id>: 192 random bits, kept in the projects database
    links.of(project)                              # the owner's links, newest last
    links.revoke(project, link.id)                 # from then on the address answers 404
    target = links.resolve(link_id)                # what a visitor's link opens (None: unknown or revoked)
    links.add_feedback(target, "photo.jpg", "cat") # an unlabelled photo in the owner's project, hint "cat"

The link id is the visitor's only credential: whoever has it may predict (and, when the owner allows it, send
photos back); nothing else of the project is reachable through it. Links live in the `demo_links` table of
fewshot/project.sql, so they survive a restart, and go with their run or project when those are deleted.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from .archive import Limits
from .errors import DataError, ProjectError, ProjectNotFound
from .images import UnreadableImage, read_checked
from .project import Project, ProjectStore
from .project_store import SQL, now

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")  # what secrets.token_urlsafe(24) gives
MB = 1024 * 1024


def feedback_max_bytes() -> int:
    """The largest photo a visitor may send back (FEWSHOT_FEEDBACK_MAX_MB, default 15)."""
    try:
        mb = float(os.environ.get("FEWSHOT_FEEDBACK_MAX_MB", "") or 15)
    except ValueError:
        mb = 15
    return int((mb if mb > 0 else 15) * MB)


@dataclass(frozen=True)
class DemoLink:
    """One link as its owner sees it."""

    id: str
    run_id: int
    run_number: int  # the run as its owner knows it, "run 2" of the project
    created: float
    revoked: float | None
    feedback: bool
    feedback_count: int

    @property
    def path(self) -> str:
        return f"/m/{self.id}"


@dataclass(frozen=True)
class LinkTarget:
    """What a live link opens: the run's model file and where feedback goes."""

    id: str
    project_id: str
    owner: str
    project_name: str
    run_id: int
    run_number: int
    bundle: Path
    feedback: bool


def valid_link_id(text: str) -> bool:
    return isinstance(text, str) and bool(LINK_ID.match(text))


class DemoLinks:
    """The demo links of every project in one ProjectStore."""

    def __init__(self, store: ProjectStore) -> None:
        self.store = store

    def create(self, project: Project, run_id: int, feedback: bool = True) -> DemoLink:
        """A new link to run `run_id` of `project` (it must have a model)."""
        run = project.run(run_id)
        if run.bundle is None or not run.bundle.is_file():
            raise ProjectError(f"Run {run.number} has no model to share ({run.status}).")
        link_id, t = secrets.token_urlsafe(24), now()
        with project._tx() as db:
            db.execute(SQL["insert_demo_link"], (link_id, project.id, run.id, t, int(bool(feedback))))
            db.execute(SQL["insert_activity"], (project.id, t, f"demo link made for run {run.number}"))
        return DemoLink(link_id, run.id, run.number, t, None, bool(feedback), 0)

    def of(self, project: Project, live_only: bool = False) -> list[DemoLink]:
        """The project's links, oldest first (`live_only`: without the revoked ones)."""
        with project._read() as db:
            rows = db.execute(SQL["demo_links_of_project"], (project.id,)).fetchall()
        links = [DemoLink(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]
        return [k for k in links if k.revoked is None] if live_only else links

    def revoke(self, project: Project, link_id: str) -> None:
        """The link answers 404 from now on; it stays in the owner's list, marked revoked."""
        with project._tx() as db:
            if db.execute(SQL["revoke_demo_link"], (now(), str(link_id), project.id)).rowcount != 1:
                raise ProjectError("This project has no such live link (it may already be revoked).")
            db.execute(SQL["insert_activity"], (project.id, now(), "demo link revoked"))

    def set_feedback(self, project: Project, link_id: str, on: bool) -> None:
        """Whether the link's visitors may send a photo back with the right class."""
        with project._tx() as db:
            if db.execute(SQL["set_demo_feedback"], (int(bool(on)), str(link_id), project.id)).rowcount != 1:
                raise ProjectError("This project has no such live link (it may already be revoked).")

    def resolve(self, link_id: str) -> LinkTarget | None:
        """The live link `link_id` and its model file; None when it is unknown, revoked, or its model is gone."""
        if not valid_link_id(link_id):
            return None
        with self.store.db.reading() as db:
            r = db.execute(SQL["live_demo_link"], (link_id,)).fetchone()
        if r is None or not r[6]:
            return None
        bundle = self.store.projects_dir / r[1] / "runs" / r[6]
        if not bundle.is_file():
            return None
        return LinkTarget(r[0], r[1], r[2], r[3], r[4], r[5], bundle, bool(r[7]))

    def add_feedback(self, target: LinkTarget, image: str | os.PathLike, label: str, classes: list[str],
                     limits: Limits | None = None) -> str:
        """A visitor's photo into the owner's project, unlabelled, with `label` as its hint (a suggestion the
        owner reviews); returns its sha1. Refused: feedback off, a class the model does not know, a file too
        big or not a picture (DataError / UnreadableImage with the reason)."""
        live = self.resolve(target.id)
        if live is None or not live.feedback:
            raise DataError("This demo does not take feedback.")
        if label not in classes:
            raise DataError(f"Pick one of the model's classes ({', '.join(classes)}).")
        path = Path(image)
        size = path.stat().st_size if path.is_file() else 0
        if size > feedback_max_bytes():
            raise DataError(f"This photo is {size / MB:.0f} MB; at most {feedback_max_bytes() // MB} MB can be sent.")
        limits = limits or Limits.from_env()
        _, sha1 = read_checked(path, limits.max_pixels)  # type-checked: a full decode at small scale
        try:
            project = self.store.open(live.owner, live.project_id)
        except ProjectNotFound:
            raise DataError("This demo does not take feedback.") from None
        ext = path.suffix.lower() or ".jpg"
        result = project.add_items([(path, f"feedback/{sha1[:16]}{ext}", None, None)], limits,
                                   note=f"a visitor of a demo link sent a photo (they say: {label})")
        if result.skipped:
            raise UnreadableImage(result.skipped[0][1])
        project.set_hints({sha1: label})
        with self.store.db.transaction() as db:
            db.execute(SQL["count_demo_feedback"], (live.id, live.project_id))
        return sha1


__all__ = ["DemoLink", "DemoLinks", "LinkTarget", "feedback_max_bytes", "valid_link_id"]
