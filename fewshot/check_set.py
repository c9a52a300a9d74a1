"""The check set: photos drawn at random from a project's pool and labelled by the person, the only photos that
grade a model once the model has helped label.

Why: a model graded on suggestions it made itself agrees with them. In a trial (48 photos labelled by hand,
212 suggestions accepted) 40 of the 53 validation photos were accepted suggestions and the page said "100%
right, likely between 93% and 100%"; on photos nobody labelled the same model got 82%. And the photos a person
labels from "Ask me" were chosen for being typical or uncertain, so they are no fair sample either.

The rule (`uses_check_set`): a project validates on its check set as soon as it has one (a photo flagged
`checkset`) or any accepted suggestion. Validation is then the check-set photos a person labelled, and
training every other labelled photo (accepted suggestions included); a check-set photo whose label is an
accepted suggestion grades nothing (it trains, like any labelled photo) and another is drawn in its place.
Every other project (class folders, imported labels: all a person's, split by hash) keeps its split
(project.default_split).

The check set is drawn (`draw_check_set`) from the photos nobody has labelled yet, the first time the project
is asked what to label next while it has unlabelled photos, so any project labelled in the Label step gets
one from the start, drawn from the whole pool. `with_check_photos` puts the check photos still to label among
the photos to ask about, marked, so that a person who labels what is asked gives a fair check.

Pure logic: no gradio; the words are in fewshot/views.py.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from .evaluate import MARGIN, clearly_better, more_photos_for_margin, wilson_interval

if TYPE_CHECKING:  # (fewshot/project/runs.py imports this module)
    from .project import Project
    from .project.labels import Photo

__all__ = ["CHECK", "CHECK_FIRST", "CHECK_SHARE", "CheckStatus", "Measured", "RunScore", "SPLIT", "check_goal",
           "check_status", "draw_check_set", "measured", "of_metrics", "person_labelled", "pick_run",
           "places_for_picks", "top_up", "validation_split", "with_check_photos"]

CHECK_FIRST = 20  # the first draw: enough for a first honest figure (±15 points), few enough to label at once
CHECK_SHARE = 0.25  # never more than this share of a project's photos: a small pool keeps most to learn from
SUGGESTION = "suggestion"  # a label that is an accepted suggestion (photos.label_source)
CHECK = "checkset"  # a run's metrics["validation"] when it was graded on the check set
SPLIT = "split"  # ... on the hash split of a person's labels


def person_labelled(photo: "Photo") -> bool:
    """The photo has a label a person gave (by hand, from a class folder or an import), not a suggestion."""
    return photo.label is not None and photo.label_source != SUGGESTION


def uses_check_set(photos: Iterable["Photo"]) -> bool:
    """Whether a project with these photos validates on its check set: it has a check set or an accepted
    suggestion (see the module's docstring)."""
    return any(p.checkset or (p.label is not None and p.label_source == SUGGESTION) for p in photos)


def validation_split(photos: Sequence["Photo"]) -> tuple[dict[str, str], str]:
    """({sha1: 'train' | 'val'} for every labelled photo, CHECK or SPLIT): on the check set, validation is
    its photos labelled by a person and training every other labelled photo; else the photos' own split."""
    labelled = [p for p in photos if p.label is not None]
    if not uses_check_set(photos):
        return {p.sha1: p.split for p in labelled}, SPLIT
    return {p.sha1: "val" if p.checkset and person_labelled(p) else "train" for p in labelled}, CHECK


@dataclass(frozen=True)
class CheckStatus:
    """Where a project's check set stands."""

    drawn: int  # photos flagged for it
    labelled: int  # of those, labelled by a person: the photos that grade a model
    waiting: list[str]  # sha1s of check photos nobody has labelled yet (in the project's order)
    wanted: int = CHECK_FIRST

    @property
    def missing(self) -> int:
        """Person-labelled check photos still missing to reach `wanted`."""
        return max(0, self.wanted - self.labelled)

    def to_dict(self) -> dict:
        return {"drawn": self.drawn, "labelled": self.labelled, "waiting": len(self.waiting),
                "wanted": self.wanted, "missing": self.missing}


def check_status(photos: Sequence["Photo"], wanted: int = CHECK_FIRST) -> CheckStatus:
    """The check set of a project with these photos (`wanted`: how many labelled check photos it aims at)."""
    check = [p for p in photos if p.checkset]
    # a check photo whose label is an accepted suggestion is neither: it grades nothing, and top_up draws
    # another in its place
    return CheckStatus(len(check), sum(person_labelled(p) for p in check),
                       [p.sha1 for p in check if p.label is None], max(wanted, 0))


def draw_check_set(project: "Project", n: int = CHECK_FIRST, seed: int | None = None) -> list[str]:
    """Flag `n` more photos, drawn at random from those nobody has labelled yet and not in the check set, for
    the project's check set (fewer when fewer are left); returns their sha1s. `seed`: the same draw again
    (None: a fresh one)."""
    free = sorted(p.sha1 for p in project.photos(label=None) if not p.checkset)
    picked = random.Random(seed).sample(free, min(max(n, 0), len(free)))
    if picked:
        project.mark_check_set(picked)
    return picked


def check_goal(project: "Project") -> int:
    """How many person-labelled check photos the project aims at: CHECK_FIRST, or more once its active model,
    graded on the check set, has a 95% interval wider than ±10 points: the photos that would narrow it so
    (what the Check step tells the person to label)."""
    run = project.active_run()
    if run is None:
        return CHECK_FIRST
    m = of_metrics({**run.metrics, "val_accuracy": run.val_accuracy})
    if m.validation != CHECK or m.accuracy is None:
        return CHECK_FIRST
    return max(CHECK_FIRST, m.photos + m.more)


def top_up(project: "Project", wanted: int | None = None, seed: int | None = None) -> list[str]:
    """Draw what the check set lacks to reach `wanted` (None: check_goal) person-labelled photos, counting
    those still waiting to be labelled, when the project has photos nobody labelled: called when it is asked
    what to label next (the Label step, `project suggest`). Returns the new sha1s: none for a project whose
    every photo has a label, such as one made from class folders. The first draw waits for a pool of at least
    CHECK_FIRST unlabelled photos: a stray loose photo beside class folders does not turn their project's
    hash split into a check set of one. It never grows past CHECK_SHARE of the project's photos."""
    photos = project.photos()
    free = sum(p.label is None and not p.checkset for p in photos)
    goal = min(check_goal(project) if wanted is None else wanted, int(CHECK_SHARE * len(photos)))
    status = check_status(photos, goal)
    if not free or (not status.drawn and free < CHECK_FIRST):
        return []
    return draw_check_set(project, status.missing - len(status.waiting), seed)


def places_for_picks(ask: int, waiting: int) -> int:
    """How many of `ask` places with_check_photos leaves to ask_next's picks while `waiting` check photos
    wait: the picks that must cover the pool by themselves (12 covering picks of which the first 6 were shown
    could all be of two classes)."""
    return max(0, ask - min(waiting, (ask + 1) // 2))


def with_check_photos(picks: Sequence[str], check: Sequence[str], ask: int) -> list[tuple[str, bool]]:
    """The photos to ask about next, as (sha1, for the check set): the check photos still to label take up
    to half of the `ask` places (all of them while the model cannot guess yet would leave it nothing to learn
    from), one after each other photo; the rest are `picks` (ask_next's), without the check photos, and more
    check photos where the picks run short."""
    check_ids = set(check)
    others = [s for s in picks if s not in check_ids]
    due = list(check)[:max(0, (ask + 1) // 2)]
    rest = others[:max(0, ask - len(due))]
    due = list(check)[:max(len(due), ask - len(rest))]
    out: list[tuple[str, bool]] = []
    for i in range(max(len(due), len(rest))):
        if i < len(rest):
            out.append((rest[i], False))
        if i < len(due):
            out.append((due[i], True))
    return out


@dataclass(frozen=True)
class Measured:
    """An accuracy and how sure it is: `right` of `photos`, the 95% Wilson interval, and how many more photos
    would bring the interval within ±MARGIN."""

    accuracy: float | None
    photos: int
    right: int
    low: float
    high: float
    more: int  # photos to add for ±MARGIN (0: already there)
    validation: str = SPLIT  # CHECK or SPLIT: what the photos were

    def to_dict(self) -> dict:
        return {"val_accuracy": self.accuracy, "val_photos": self.photos, "val_right": self.right,
                "val_interval": [round(self.low, 4), round(self.high, 4)], "val_more": self.more,
                "validation": self.validation}


def measured(accuracy: float | None, photos: int, validation: str = SPLIT, margin: float = MARGIN) -> Measured:
    """A Measured from an accuracy on `photos` photos (None or no photos: unmeasured, the interval 0-100%)."""
    n = max(int(photos or 0), 0)
    if accuracy is None or n == 0:
        return Measured(None, n, 0, 0.0, 1.0, more_photos_for_margin(0, 0, margin), validation)
    right = int(round(accuracy * n))
    low, high = wilson_interval(right, n)
    return Measured(accuracy, n, right, low, high, more_photos_for_margin(right, n, margin), validation)


def of_metrics(metrics: dict, data_summary: Sequence[dict] = ()) -> Measured:
    """The Measured a run's or a model's metrics hold: its val_photos when recorded (runs since the check
    set), else the validation photos its per-class table or its data summary counts."""
    n = metrics.get("val_photos")
    if n is None:
        n = sum(int(r.get("support", 0)) for r in metrics.get("per_class") or [])
    if not n:
        n = sum(int(r.get("val", 0)) for r in data_summary or [])
    return measured(metrics.get("val_accuracy", metrics.get("accuracy")), int(n or 0),
                    metrics.get("validation") or SPLIT)


@dataclass(frozen=True)
class RunScore:
    """What the best-run choice knows of a run with a model."""

    id: int
    finished: bool  # finished (not stopped)
    measured: Measured


def pick_run(runs: Sequence[RunScore], current: int | None = None) -> int | None:
    """The run whose model should be the project's: the most accurate, but never one whose lead over the
    `current` active run is within noise (evaluate.clearly_better on the fewer photos of the two), so a
    run that is right on one or two more check photos does not take over. Runs graded on the check set come
    before runs graded otherwise (their figure may rest on the model's own suggestions, or on photos chosen
    for being typical) once one of them has a figure. Ties: finished before stopped, then the older."""
    honest = [r for r in runs if r.measured.validation == CHECK and r.measured.accuracy is not None]
    pool = honest or list(runs)
    if not pool:
        return None
    top = min(pool, key=lambda r: (r.measured.accuracy is None, -(r.measured.accuracy or 0.0), not r.finished, r.id))
    held = next((r for r in pool if r.id == current), None)
    if held is None or held.id == top.id or top.measured.accuracy is None:
        return top.id
    if held.measured.accuracy is None:
        return top.id
    n = min(top.measured.photos, held.measured.photos)
    return top.id if clearly_better(top.measured.accuracy, held.measured.accuracy, n) else held.id
