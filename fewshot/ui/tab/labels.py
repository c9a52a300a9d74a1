"""The Label step's logic, without gradio: a project's photos as a pool, labels written to the project at once,
undo, classes made, renamed and merged, and the engine's help (fewshot/labelling.py): the photos to ask
about, a suggested class for every unlabelled photo, and labels that are probably wrong.

A `Desk` belongs to one tab's open project. Its undo history and the cards it hid are the project's
(fewshot/project/undo.py): Undo after a reload or a server restart takes back the project's newest action,
whichever tab made it. Features of the pool are computed once, in a background thread
(`start_features`), from the same disk cache training uses; after every labelling batch `refresh` retrains
the engine's head on them (well under a second for a thousand photos) so suggestions follow the labels.

Every label records who gave it (fewshot/project/labels.py): a click, a folder hint accepted, a visitor's class
confirmed are a person's; suggestions accepted in bulk are suggestions, with their confidence and the model that
suggested them (the head here, on ARCH features: it is no run of the project). A demo link's visitors' photos
are not labels until the owner confirms them ("visitors say ...", Confirm or Reject).
"""
from __future__ import annotations

import atexit
import io
import os
import secrets
import threading
import time
import weakref
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

from ... import check_set as CS
from ... import labelling as LB
from ...archive import Limits, is_junk
from ...errors import DataError, ProjectError
from ...images import UnreadableImage, is_image_name, thumbnail
from ...project import AddResult, Project
from ...project.labels import LEGACY_MODEL_HINT
from ...project.photos import clean_class, collect

ARCH = os.environ.get("FEWSHOT_LABEL_ARCH", "mobilenet_v2")  # small and fast on a laptop CPU
PAGE_SIZE = 60
ASK = 12
THUMB_PX = 96
THUMB_QUALITY = 72  # JPEG quality: about 3 kB a thumbnail
MODEL = LEGACY_MODEL_HINT  # before schema 6, an accepted suggestion's mark in its hint; now its label_source
SUGGESTER = "label-step"  # what suggests labels here, in a label's origin: f"label-step/{arch}"


def sha_of(name: str) -> str:
    """A photo's sha1 from its name in the pool: the stored file's name, <sha1><ext>."""
    return name.split(".", 1)[0]


# where the page fetches thumbnails, relative to the page (fewshot/ui/server/thumbs.py serves the route)
THUMB_ROUTE = "thumb"
_COMPUTING: "weakref.WeakSet[Desk]" = weakref.WeakSet()  # desks that started a features thread


@atexit.register
def _stop_computing(timeout_s: float = 10.0) -> None:
    """Ask running features threads to stop, and wait a little, before the interpreter goes: a daemon thread
    still inside torch while the interpreter tears down aborts the process ("terminate called without an
    active exception", exit status 134), which a test run or a server's exit would report as a crash."""
    desks = list(_COMPUTING)
    for desk in desks:
        desk._stopping = True
    deadline = time.monotonic() + timeout_s
    for desk in desks:
        thread = desk._thread
        if thread is not None and thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))


class Desk:
    """One tab's labelling of one project (see the module's docstring)."""

    def __init__(self, project: Project, arch: str = ARCH, features: Callable = LB.pool_features) -> None:
        self.project, self.arch, self._features = project, arch, features
        self.pool: LB.Pool | None = None
        self.result: LB.Suggestions | None = None
        self.progress: tuple[int, int] = (0, 0)
        self.error: str | None = None
        self.skipped: list[tuple[str, str]] = []
        self.tab = secrets.token_hex(8)  # this tab, in the project's undo history
        self.view, self.page, self.filter = "ask", 0, "unlabelled"
        self.last_refresh_s: float | None = None
        self.last_note: str | None = None  # what the last action did, shown in the status line
        self.used = False  # its labelled photos were handed to training here (the Label step says so beside it)
        self.asked: list[str] = []  # the photos "Ask me" shows, kept until each is labelled
        self.asked_cold = True  # they were picked to cover the pool (no model yet), not to teach it most
        self.asked_check: set[str] = set()  # those of them drawn at random for the check set (check_set.py)
        self._thread: threading.Thread | None = None
        self._stopping = False  # set when the process exits (_stop_computing)
        self._again = False
        self._lock = threading.Lock()
        # the key in this desk's thumbnail links (128 random bits); fewshot/ui/server/thumbs.py says who may use it
        self.thumb_token = secrets.token_urlsafe(16)
        self._files: tuple[list | None, dict[str, Path]] = (None, {})
        self._cache: list | None = None
        self._hidden: dict[str, set] = {}
        self._evidence: list[str] = []  # sha1s of the person's labels the last refresh judged on, in its order

    # ------------------------------------------------------------------------------------------ photos in
    def add_uploaded(self, items: Sequence[tuple[Path, str]], limits: Limits,
                     skipped: Sequence[tuple[str, str]] = ()) -> AddResult:
        """Photos the browser sent as (file on the server, relative path in the user's folder or zip), any
        layout, added as unlabelled photos; a folder they sat in becomes a hint to review, not a label."""
        hints, todo = {}, []
        for file, rel in items:
            parts = PurePosixPath(rel).parts
            if any(is_junk(p) for p in parts):
                continue
            todo.append((Path(file), rel, None, None))
            if len(parts) >= 3:  # top/folder/photo: the folder it sat in (the top is the dropped folder)
                hints[rel] = parts[-2]
        return self._add(todo, hints, limits, "added unsorted photos", list(skipped))

    def add_archive(self, zip_path: str | os.PathLike, limits: Limits, tmp: Path) -> AddResult:
        """The photos of a .zip (any layout) as unlabelled photos; folder names become hints."""
        skipped: list = []
        found = collect(str(zip_path), None, limits, skipped, tmp)
        hints = {rel: cls for _, rel, cls, _ in found if cls}
        result = self._add([(f, rel, None, None) for f, rel, _, _ in found], hints, limits,
                           f"added unsorted photos from {Path(zip_path).name}", skipped)
        return result

    def _add(self, items, hints: dict, limits: Limits, note: str, skipped: list | None = None) -> AddResult:
        if not items and not skipped:
            raise DataError("No pictures arrived. Drop a folder or a .zip of photos (.jpg, .png, .bmp, .gif, "
                            ".webp, .tif).")
        result = self.project.add_items(items, limits, list(skipped or []), note)
        self.invalidate()
        if hints:
            found = {p.path: p for p in self.project.photos(label=None)}
            self.project.set_hints({found[rel].sha1: h for rel, h in hints.items() if rel in found}, "folder")
            self.invalidate()
        self.skipped += list(result.skipped or [])
        self.start_features()
        return result

    # ------------------------------------------------------------------------------------------ features
    @property
    def computing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start_features(self) -> bool:
        """Compute the pool's features in the background (again after this one, if one is running)."""
        self.invalidate()
        with self._lock:
            if self.computing:
                self._again = True
                return False
            self._thread = threading.Thread(target=self._compute, daemon=True, name="fewshot-pool")
            self._thread.start()
            _COMPUTING.add(self)
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Until the features are ready (tests and the page's first render after a drop)."""
        while self.computing:
            self._thread.join(timeout)
            if timeout is not None:
                break

    def _compute(self) -> None:
        while True:
            self.invalidate()
            photos = self.project.photos()
            self.progress, self.error = (0, len(photos)), None
            try:
                if photos:
                    pool = self._features([str(p.file) for p in photos], arch=self.arch,
                                          progress=lambda d, t: setattr(self, "progress", (d, t)),
                                          stop=lambda: self._stopping)
                    self.pool = pool
                    self.skipped += [(n, r) for n, r in pool.skipped if n not in {s for s, _ in self.skipped}]
                    self.refresh()
            except Exception as exc:  # shown on the page; the labels are safe in the project anyway
                self.error = str(exc) or type(exc).__name__
            with self._lock:
                if not self._again:
                    return
                self._again = False

    # ------------------------------------------------------------------------------------------ labels
    def _listed(self) -> list:
        """The project's photos, read once until something changes them (a page render asks ~10 times, and
        reading 5,000 rows costs ~0.2 s); the page calls `invalidate` at the start of each event."""
        listed = self._cache
        if listed is None:
            listed = self._cache = self.project.photos()
        return listed

    def invalidate(self) -> None:
        self._cache = None
        self._hidden = {}

    def _cards(self, kind: str) -> set[tuple[str, str]]:
        hidden = self._hidden.get(kind)
        if hidden is None:
            hidden = self._hidden[kind] = self.project.hidden_cards(kind)
        return hidden

    @property
    def rejected(self) -> set[tuple[str, str]]:
        """(sha1, suggested class) the user said no to (kept in the project)."""
        return self._cards("reject")

    @property
    def kept(self) -> set[tuple[str, str]]:
        """(sha1, given class) the user said is right (kept in the project)."""
        return self._cards("keep")

    def photos(self) -> dict:
        """{sha1: Photo} of the project, in the order it lists them."""
        return {p.sha1: p for p in self._listed()}

    def labels(self) -> dict[str, str]:
        return {p.sha1: p.label for p in self._listed() if p.label is not None}

    def classes(self) -> list[str]:
        return self.project.classes()

    @property
    def suggester(self) -> str:
        """What suggests labels here, as an accepted suggestion's origin names it: the head on ARCH features."""
        return f"{SUGGESTER}/{self.arch}"

    def assign(self, sha1s: Sequence[str], label: str | None, by_model: bool = False, keep: bool = False,
               confidence: dict[str, float] | None = None) -> int:
        """Give photos a class (None: take it away), written to the project at once, with who gave it and its
        undo entry (one transaction): a person's, or with `by_model` an accepted suggestion (with its
        `confidence` per photo, when known). A person giving the class again makes it a person's. `keep`: the
        user decided while reviewing: not listed as suspect again."""
        sha1s = list(dict.fromkeys(sha1s))
        if not sha1s:
            raise ProjectError("Select one or more photos first (click, shift-click, or Select all).")
        known = self.photos()
        chosen = [s for s in sha1s if s in known]
        kept = [(s, label) for s in chosen] if keep and label else []
        model = by_model and label is not None
        n = self.project.label_photos({s: label for s in chosen}, tab=self.tab, keep=kept,
                                      source="suggestion" if model else "person",
                                      confidence=confidence if model else None,
                                      model=self.suggester if model else None)
        self.invalidate()
        return n

    def taught(self) -> dict[str, str]:
        """{sha1: class} the live head learns from: labels a person gave (by hand, kept, fixed, or from class
        folders), not accepted suggestions: a head retrained on its own guesses grows surer of its mistakes
        (in a browser run, accepting group after group turned 23 sunflowers, roses and others into daisies)."""
        return {p.sha1: p.label for p in self._listed() if p.label is not None and p.label_source == "person"}

    def accepted(self) -> int:
        """How many labels are accepted suggestions."""
        return sum(1 for p in self._listed() if p.label is not None and p.label_source == "suggestion")

    def create_class(self, name: str) -> str:
        self.invalidate()
        return self.project.add_class(name)

    def rename_class(self, old: str, new: str) -> str:
        """Rename `old` to `new`; when `new` is a class already, the two merge (undo splits them again)."""
        new_name = clean_class(new)
        if new_name is None:
            raise ProjectError("A class name cannot be empty.")
        if old == new_name:
            return new_name
        self.project.rename_class_undoably(old, new_name, tab=self.tab)
        self.invalidate()
        return new_name

    def undo(self) -> str:
        """Take back the project's newest action, whichever tab made it, also after a reload or a restart
        (fewshot/project/undo.py says why not this tab's own); says what was undone."""
        done = self.project.undo_last(self.tab)
        self.invalidate()
        what, n, old, new = done["what"], done["count"], done["old"], done["new"]
        if what == "rename":
            said = (f"Undone: the class '{new}' is called '{old}' again." if not done["gone"] else
                    f"Undone, but the class '{new}' is no longer there, so no class was renamed.")
        elif what == "merge":
            said = (f"Undone: '{old}' is a class of its own again." if not done["gone"] else
                    f"Undone, but the class '{new}' is no longer there, so no class was split.")
        elif what in ("reject", "keep"):
            said = "Undone: the card is back."
        else:
            said = ("Undone: 1 photo has the label it had before." if n == 1 else
                    f"Undone: {n} photos have the labels they had before.")
        if done["left"]:  # (one line each: the page translates line by line)
            left = done["left"]
            said += ("\n1 photo changed since was left as it is." if left == 1 else
                     f"\n{left} photos changed since were left as they are.")
        if done["other_tab"]:
            said += "\n(That was done in another tab, or before this page was reloaded.)"
        return said

    # ------------------------------------------------------------------------------------------ the engine
    def refresh(self) -> LB.Suggestions | None:
        """Retrain the head on the labels now and suggest again (None until the features are ready). Only the
        labels a person gave are evidence; the check set's are evidence only (no head that suggests learns them:
        they grade the model trained on the suggestions); accepted suggestions are neither asked again nor
        suggested, and the ones the person's labels now doubt come back as suspects (`doubted_accepted`)."""
        pool = self.pool
        if pool is None:
            return None
        t0 = time.perf_counter()
        named = {sha_of(n): n for n in pool.names}  # the pool knows each photo by its stored file name
        people = self.taught()
        labels = {named[s]: lab for s, lab in people.items() if s in named}
        accepted = {named[s]: lab for s, lab in self.labels().items() if s in named and s not in people}
        drawn = [p for p in self._listed() if p.checkset and p.sha1 in named]
        check = {named[p.sha1] for p in drawn}
        waiting = {named[p.sha1] for p in drawn if p.label is None}  # asked anyway: ask_next leaves them out
        result = LB.suggest(pool, labels, ask=CS.places_for_picks(ASK, len(waiting)), accepted=accepted,
                            held_out=check, not_asked=waiting)
        self._evidence = [sha_of(n) for n in labels]  # the order of result.oof_confidence and oof_right
        self.result = result
        self.last_refresh_s = time.perf_counter() - t0
        return self.result

    def ask(self) -> list[str]:
        """The photos to label next: before any label those that cover the pool (cold start), then those whose
        labels would teach the model most; only photos still unlabelled. While the check set (photos drawn at
        random: the only ones that grade a model once suggestions are accepted) waits, up to half are its."""
        if self.result is None:
            return []
        labelled = self.labels()
        left = [s for s in self.asked if s not in labelled]
        if not left:  # all answered: the next ones, from the labels so far (the list stays put until then)
            if CS.top_up(self.project):  # the picks so far may be among the photos just drawn: pick again
                self.invalidate()
                self.refresh()
            picks = [s for s in (sha_of(n) for n in self.result.ask_next) if s not in labelled]
            mixed = CS.with_check_photos(picks, CS.check_status(self._listed()).waiting, ASK)
            self.asked = left = [s for s, _ in mixed]
            self.asked_check = {s for s, check in mixed if check}
            self.asked_cold = self.why_no_suggestions() is not None or len(labelled) < LB.COLD_LABELS
        return left

    def why_no_suggestions(self) -> str | None:
        """A plain sentence when there can be no suggestions yet, else None."""
        if self.pool is None:
            return "Suggestions come once the photos' features are ready."
        named = {sha_of(n) for n in self.pool.names}
        present = sorted({lab for s, lab in self.taught().items() if s in named})
        if not present:
            return "Suggestions start once two classes have labels: no photo has a class yet."
        if len(present) == 1:
            return f"Suggestions start once two classes have labels: so far only '{present[0]}' has."
        return None

    def groups(self) -> dict[str, list[tuple[str, float]]]:
        """{class: [(sha1, confidence)]}: the suggestions for photos still unlabelled, most confident first,
        without the ones the user rejected."""
        out: dict[str, list[tuple[str, float]]] = {}
        if self.result is None or self.why_no_suggestions():
            return out
        labelled = self.labels()
        check = {p.sha1 for p in self._listed() if p.checkset}  # a person labels those: no suggestion to accept
        for s in self.result.suggestions:
            sha1 = sha_of(s["path"])
            if sha1 not in labelled and sha1 not in check and (sha1, s["label"]) not in self.rejected:
                out.setdefault(s["label"], []).append((sha1, float(s["confidence"])))
        return out

    def accept(self, label: str, threshold: float) -> int:
        """Every suggestion of `label` at or above `threshold` (0-1) becomes a label; one undo takes it back."""
        chosen = {s: c for s, c in self.groups().get(label, []) if c >= threshold}
        if not chosen:
            raise ProjectError(f"No suggestion for '{label}' is at {threshold:.0%} or above.")
        return self.assign(list(chosen), label, by_model=True, confidence=chosen)

    def reject(self, sha1s: Sequence[str], label: str) -> None:
        """These photos are not `label`: their suggestion goes (they stay unlabelled)."""
        self.project.hide_cards("reject", [(s, label) for s in sha1s], tab=self.tab)
        self.invalidate()

    def risk(self) -> tuple[float | None, float | None]:
        """(the default accept threshold, a lower bound of the share right at or above it), or (None, None)
        where the person's labels cannot support one: then nothing is accepted by default, and
        `threshold_note` says why in words."""
        if self.result is None or self.result.threshold_or_none() is None:
            return None, None
        return self.result.accept_threshold, self.result.accept_precision

    def threshold_note(self) -> str | None:
        """Why there is no default threshold, in plain words (None: there is one, or no suggestions yet)."""
        return self.result.threshold_note if self.result is not None else None

    def evidence(self) -> int:
        """How many check photos (drawn at random, labelled by the person) the estimates rest on."""
        return self.result.evidence if self.result is not None else 0

    def check_record(self, threshold: float) -> tuple[int, int] | None:
        """(right, of) for the check set's photos (drawn at random, labelled by the person) whose suggestion,
        made without their own label, was at least `threshold` sure: how such suggestions fare on a fair sample,
        with no model grading itself. None before there are such suggestions."""
        return self.result.record_at(threshold) if self.result is not None else None

    def right_at(self, threshold: float) -> float | None:
        """A lower bound (90% sure) of the share right among suggestions at or above `threshold`, judged on the
        check photos a person labelled (None: too few of them reach it to say)."""
        return self.result.precision_at(threshold) if self.result is not None else None

    def suspects(self) -> list[dict]:
        """{"sha1", "given", "suggested", "score", "strength"} of labels the engine doubts, still as given and not
        kept by the user: the person's labels it finds wrong, then the accepted suggestions its person-taught
        head now puts in another class; "likely" ones before "possible" ones, most doubtful first."""
        if self.result is None:
            return []
        labelled = self.labels()
        out = []
        found = self.result.suspects + self.result.doubted_accepted
        for s in sorted(found, key=lambda s: (s.get("strength") != "likely", s["score"])):
            sha1 = sha_of(s["path"])
            if labelled.get(sha1) == s["given"] and (sha1, s["given"]) not in self.kept:
                out.append({**s, "sha1": sha1})
        return out

    def keep(self, sha1: str, given: str) -> None:
        """The user says this label is right: it leaves the suspects' list."""
        self.project.hide_cards("keep", [(sha1, given)], tab=self.tab)
        self.invalidate()

    def hints(self) -> dict[str, list[str]]:
        """{hint: [sha1]} of unlabelled photos whose folder name (or an import) hints at a class."""
        out: dict[str, list[str]] = {}
        for p in self._listed():
            if p.label is None and p.hint and p.hint_source != "visitor":
                out.setdefault(p.hint, []).append(p.sha1)
        return out

    def visitors(self) -> dict[str, list[str]]:
        """{class: [sha1]} of unlabelled photos that visitors of a demo link sent, by the class they said:
        not labels until the owner confirms them."""
        out: dict[str, list[str]] = {}
        for p in self._listed():
            if p.label is None and p.hint and p.hint_source == "visitor":
                out.setdefault(p.hint, []).append(p.sha1)
        return out

    def confirm_visitors(self, sha1s: Sequence[str]) -> int:
        """The class each photo's visitor said becomes the owner's label (a person's: the owner looked and
        agreed); one undo takes it back. Photos without a visitor's word, or labelled since, are left alone."""
        said = {s: c for c, group in self.visitors().items() for s in group}
        chosen = {s: said[s] for s in dict.fromkeys(sha1s) if s in said}
        if not chosen:
            raise ProjectError("Select one or more of the visitors' photos first.")
        n = self.project.label_photos(chosen, tab=self.tab)
        self.invalidate()
        return n

    def reject_visitors(self, sha1s: Sequence[str]) -> int:
        """What the visitors said of these photos goes (the photos stay, without a class); one undo brings it
        back."""
        said = {s for group in self.visitors().values() for s in group}
        chosen = [s for s in dict.fromkeys(sha1s) if s in said]
        if not chosen:
            raise ProjectError("Select one or more of the visitors' photos first.")
        self.project.label_photos({}, {s: None for s in chosen}, tab=self.tab)
        self.invalidate()
        return len(chosen)

    # ------------------------------------------------------------------------------------------ thumbnails
    def thumb_url(self, sha1: str) -> str:
        """The photo's thumbnail link, relative to the page (so it holds behind a proxy's prefix); the browser
        caches it: a grid re-render sends only links."""
        return f"{THUMB_ROUTE}/{self.thumb_token}/{sha1}.jpg"

    def thumb_jpeg(self, sha1: str) -> bytes | None:
        """The photo's thumbnail (JPEG, THUMB_PX), made once and kept in the project's folder (thumbs/, deleted
        with the project); b"" when its file cannot be read; None when `sha1` is no photo of this project."""
        listed = self._listed()
        if self._files[0] is not listed:  # sha1 -> file, built once per reading of the project
            self._files = (listed, {p.sha1: p.file for p in listed})
        file = self._files[1].get(sha1)
        if file is None:
            return None
        kept = self.project.dir / "thumbs" / f"{THUMB_PX}q{THUMB_QUALITY}" / sha1[:2] / f"{sha1}.jpg"
        try:
            return kept.read_bytes()
        except OSError:
            pass
        try:
            buf = io.BytesIO()
            thumbnail(file, THUMB_PX).save(buf, "JPEG", quality=THUMB_QUALITY)
        except (UnreadableImage, OSError):
            return b""
        data = buf.getvalue()
        try:  # atomically: a reader never sees half a file
            kept.parent.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_name(f".{sha1}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, kept)
        except OSError:  # a read-only folder: served all the same, made again next time
            pass
        return data


__all__ = ["ARCH", "ASK", "Desk", "MODEL", "PAGE_SIZE", "SUGGESTER", "THUMB_PX", "THUMB_QUALITY", "THUMB_ROUTE", "sha_of"]
