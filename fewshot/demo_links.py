"""Demo links: a predict-only page for one run of a project at an unguessable address, and the photos its
visitors send back. No gradio (the page is fewshot/ui/demo.py).

    links = DemoLinks(store)
    link = links.create(project, run_id)          # /m/<link.id>: 192 random bits, kept in the projects database
    links.of(project)                              # the owner's links, newest last
    links.revoke(project, link.id)                 # from then on the address answers 404
    target = links.resolve(link_id)                # what a visitor's link opens (None: unknown or revoked)
    links.add_feedback(target, "photo.jpg", "cat") # an unlabelled photo of the owner's project, a visitor's hint
    links.stop_feedback(project, link.id)          # feedback off, and its visitors' unlabelled photos deleted

The link id is the visitor's only credential: whoever has it may predict (and, when the owner allows it, send
photos back); nothing else of the project is reachable through it. Links live in the `demo_links` table of
fewshot/project/schema.sql, so they survive a restart, and go with their run or project when those are deleted.

How much feedback a project takes: the page's per-address budget (fewshot/ui/demo.py) is no limit against a
sender who changes address, so the photos are also capped per day (UTC), in the database (a restart does not
reset them; the check and the count are one transaction, so concurrent visitors cannot pass them):

    FEWSHOT_FEEDBACK_PER_LINK_PER_DAY     photos one link takes a day (default 100)
    FEWSHOT_FEEDBACK_PER_PROJECT_PER_DAY  photos all the links of one project take a day together (default 300),
                                          so that an owner with 10 links does not get 10 times as many
    FEWSHOT_FEEDBACK_MAX_MB               the largest photo a visitor may send (default 15)

A visitor over a cap is told "This link has had as many photos as it takes today; try again tomorrow."
Each photo a visitor added is recorded with its link (demo_feedback_photos), so that the owner's one action,
stop_feedback, deletes what that link's visitors sent and nothing else: the photos the owner has not labelled
yet; those the owner labelled are the owner's work now and are kept. (Photos sent before these records, schema
version 5, say nothing of their link: they stay, under feedback/ in the project, for the owner to review.)

What a visitor says is never a label: the photo stays unlabelled with the visitor's class as its hint, of the
kind "visitor" (fewshot/project/labels.py), which the Label step shows as "visitors say ..." until the owner
confirms it (then it is the owner's label, a person's) or rejects it (the hint goes).
"""
from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .archive import Limits
from .errors import DataError, ProjectError, ProjectNotFound
from .images import UnreadableImage, read_checked
from .project import Project, ProjectStore
from .project.database import SQL, log, now

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")  # what secrets.token_urlsafe(24) gives
MB = 1024 * 1024
FEEDBACK_PER_LINK_PER_DAY = 100
FEEDBACK_PER_PROJECT_PER_DAY = 300
NO_FEEDBACK = "This demo does not take feedback."
FULL_TODAY = "This link has had as many photos as it takes today; try again tomorrow."


def _whole_number(name: str, default: int) -> int:
    """A whole number >= 1 from the environment; anything else (unset, 0, junk) is the default."""
    try:
        n = int(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return n if n >= 1 else default


def feedback_per_link_per_day() -> int:
    """Photos one link takes a day (FEWSHOT_FEEDBACK_PER_LINK_PER_DAY, default 100)."""
    return _whole_number("FEWSHOT_FEEDBACK_PER_LINK_PER_DAY", FEEDBACK_PER_LINK_PER_DAY)


def feedback_per_project_per_day() -> int:
    """Photos all of a project's links take a day together (FEWSHOT_FEEDBACK_PER_PROJECT_PER_DAY, default 300)."""
    return _whole_number("FEWSHOT_FEEDBACK_PER_PROJECT_PER_DAY", FEEDBACK_PER_PROJECT_PER_DAY)


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

    def __init__(self, store: ProjectStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock  # the daily caps' clock (tests move it on a day)

    def day(self) -> str:
        """Today as the daily caps count it: YYYY-MM-DD in UTC (the same day for every process and time zone)."""
        return time.strftime("%Y-%m-%d", time.gmtime(self.clock()))

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
        """A visitor's photo into the owner's project, unlabelled, with `label` as its hint of the kind "visitor"
        (what the owner confirms or rejects in the Label step, never a label by itself); returns its sha1.
        Refused: feedback off, a class the model does not know, a file too big or not a picture, the link's or
        the project's photos for today all taken (DataError / UnreadableImage with the reason)."""
        live = self.resolve(target.id)
        if live is None or not live.feedback:
            raise DataError(NO_FEEDBACK)
        if label not in classes:
            raise DataError(f"Pick one of the model's classes ({', '.join(classes)}).")
        path = Path(image)
        size = path.stat().st_size if path.is_file() else 0
        if size > feedback_max_bytes():
            raise DataError(f"This photo is {size / MB:.0f} MB; at most {feedback_max_bytes() // MB} MB can be sent.")
        limits = limits or Limits.from_env()
        # the photo's place under today's caps is taken before the photo is read: a flood over the cap costs one
        # short transaction per post, no decode and no disk write; given back if the photo is not added after all
        day = self._take_place(live)
        try:
            _, sha1 = read_checked(path, limits.max_pixels)  # type-checked: a full decode at small scale
            try:
                project = self.store.open(live.owner, live.project_id)
            except ProjectNotFound:
                raise DataError(NO_FEEDBACK) from None
            ext = path.suffix.lower() or ".jpg"
            result = project.add_items([(path, f"feedback/{sha1[:16]}{ext}", None, None)], limits,
                                       note=f"a visitor of a demo link sent a photo (they say: {label})")
            if result.skipped:
                raise UnreadableImage(result.skipped[0][1])
        except BaseException:
            self._give_back_place(live, day)
            raise
        self._keep(project, live, day, sha1, ext, label, added=result.added == 1)
        return sha1

    def _take_place(self, live: LinkTarget) -> str:
        """Counts one photo for the link today, or refuses (DataError) when the link or its project has had its
        photos for today. Check and count are one write transaction (BEGIN IMMEDIATE): two visitors cannot
        both take the last place."""
        day = self.day()
        with self.store.db.transaction() as db:
            if db.execute(SQL["demo_link_takes_feedback"], (live.id, live.project_id)).fetchone() is None:
                raise DataError(NO_FEEDBACK)  # turned off (or revoked) since the page was opened
            db.execute(SQL["forget_other_feedback_days"], (live.project_id, day))
            link_n = db.execute(SQL["feedback_today_of_link"], (live.id, day)).fetchone()[0]
            project_n = db.execute(SQL["feedback_today_of_project"], (live.project_id, day)).fetchone()[0]
            if link_n >= feedback_per_link_per_day() or project_n >= feedback_per_project_per_day():
                raise DataError(FULL_TODAY)  # one message for both: the visitor can do nothing different
            db.execute(SQL["count_feedback_day"], (live.project_id, live.id, day))
        return day

    def _give_back_place(self, live: LinkTarget, day: str) -> None:
        with self.store.db.transaction() as db:
            db.execute(SQL["uncount_feedback_day"], (live.id, day))

    def _keep(self, project: Project, live: LinkTarget, day: str, sha1: str, ext: str, label: str,
              added: bool) -> None:
        """The photo's hint, its link and the link's count, in one transaction; when the owner turned feedback off
        while the photo was being added (stop_feedback may have run just before), the photo goes instead."""
        removed = False
        with self.store.db.transaction() as db:
            if db.execute(SQL["demo_link_takes_feedback"], (live.id, live.project_id)).fetchone() is not None:
                # a photo the owner labelled keeps its label and hint: a visitor's word changes neither
                db.execute(SQL["set_unlabelled_hint"], (label, "visitor", live.project_id, sha1))
                if added:  # a photo the project had already is not the visitor's to delete later
                    db.execute(SQL["insert_demo_feedback_photo"], (live.project_id, sha1, live.id, now()))
                db.execute(SQL["count_demo_feedback"], (live.id, live.project_id))
                return
            if added:
                removed = db.execute(SQL["delete_unlabelled_photo"], (live.project_id, sha1)).rowcount == 1
            db.execute(SQL["uncount_feedback_day"], (live.id, day))
        if removed:  # after the commit, as Project.remove_photos: a crash leaves an unused file, never a lost one
            project.photo_file(sha1, ext).unlink(missing_ok=True)
        raise DataError(NO_FEEDBACK)

    def stop_feedback(self, project: Project, link_id: str, delete_sent: bool = True) -> tuple[int, int]:
        """The owner's one action against a flood: the link takes no more feedback and (`delete_sent`) the photos
        its visitors sent that the owner has not labelled yet are deleted, files too. Returns (deleted, kept):
        kept are the photos sent through it that stay (those the owner labelled, or all when not `delete_sent`).
        Works on a revoked link too (its visitors' photos stay after a revoke)."""
        with project._tx() as db:  # checks the project is still the owner's
            if db.execute(SQL["stop_demo_feedback"], (str(link_id), project.id)).rowcount != 1:
                raise ProjectError("This project has no such link.")
            sent = db.execute(SQL["demo_feedback_photos_of_link"], (str(link_id), project.id)).fetchall()
            doomed = [(sha1, ext) for sha1, ext, label in sent if label is None] if delete_sent else []
            db.executemany(SQL["delete_photo"], [(project.id, sha1) for sha1, _ in doomed])
            kept = len(sent) - len(doomed)
            log(db, project.id, f"feedback stopped on a demo link: {len(doomed)} photos its visitors sent deleted, "
                                f"{kept} kept")
        for sha1, ext in doomed:  # after the commit: a crash leaves an unused file, never a row without its file
            project.photo_file(sha1, ext).unlink(missing_ok=True)
        return len(doomed), kept


__all__ = ["FULL_TODAY", "DemoLink", "DemoLinks", "LinkTarget", "feedback_max_bytes", "feedback_per_link_per_day",
           "feedback_per_project_per_day", "valid_link_id"]
