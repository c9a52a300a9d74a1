"""A project's training runs: recorded before training starts, finished after its model is on disk, the active
one picked by validation accuracy (never silently replaced by a stopped or worse run), crashes found at open.
Mixed into fewshot.project.Project.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..archive import Limits, human_size
from ..bundle import save_bundle
from ..check_set import RunScore, measured, of_metrics, pick_run, validation_split
from ..config import TrainConfig
from ..data import load_dataset
from ..errors import DataError, ProjectError, ProjectTooBig
from ..train import train as train_model
from ..train_events import Done, EpochEnd
from .database import SQL, log as _log, now, process_alive, process_start, write_file_atomic
from .photos import cap_sizes, max_project_bytes, stored_bytes

if TYPE_CHECKING:  # project.py holds one of these, so it imports this module
    from .project import Project

__all__ = ["GONE", "RUN_STATUSES", "ProjectRuns", "Run"]

RUN_STATUSES = ("running", "finished", "stopped", "failed", "interrupted")


GONE = "That run is no longer in this project (it may have been deleted in another tab)."


@dataclass(frozen=True)
class Run:
    """One training of a project. `id` is the database's (unique across projects, for code and file names);
    `number` is what a person sees, "run 3": its place among the project's runs in the order they were started,
    never reused, and kept when an earlier run is deleted."""

    id: int
    number: int
    status: str
    settings: dict
    history: list
    metrics: dict
    val_accuracy: float | None
    bundle: Path | None
    message: str
    started: float
    ended: float | None
    active: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "number": self.number, "status": self.status, "val_accuracy": self.val_accuracy,
                "epochs": len(self.history), "settings": self.settings, "metrics": self.metrics,
                "bundle": str(self.bundle) if self.bundle else None, "message": self.message,
                "started": self.started, "ended": self.ended, "active": self.active}


class ProjectRuns:
    """A project's training runs: listed, started, finished, deleted, the active one picked, and training itself
    (`Project` holds one and hands its run methods to it)."""

    def __init__(self, project: Project) -> None:
        self.project, self.id = project, project.id

    # ---- runs --------------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        with self.project._read() as db:
            active = db.execute(SQL["active_run"], (self.id,)).fetchone()[0]
            rows = db.execute(SQL["runs"], (self.id,)).fetchall()
        return [Run(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), json.loads(r[5]), r[6],
                    self.project.runs_dir / r[7] if r[7] else None, r[8], r[9], r[10], r[0] == active) for r in rows]

    def run(self, run_id: int) -> Run:
        """The run with database id `run_id` (what the page's handlers hold)."""
        for r in self.runs():
            if r.id == int(run_id):
                return r
        raise ProjectError(GONE)

    def run_numbered(self, number: int) -> Run:
        """The run a person calls "run `number`" (the CLI's `project use NAME 3`)."""
        for r in self.runs():
            if r.number == int(number):
                return r
        raise ProjectError(f"This project has no run {number}.")

    def active_run(self) -> Run | None:
        return next((r for r in self.runs() if r.active), None)

    def active_bundle(self) -> Path | None:
        r = self.active_run()
        return r.bundle if r else None

    def start_run(self, settings: dict) -> int:
        """A 'running' row before training starts, with this process's id (so a crash shows as interrupted)."""
        pid = os.getpid()
        with self.project._tx() as db:
            number = _next_number(db, self.id)
            cur = db.execute(SQL["start_run"], (self.id, number, "running", json.dumps(settings), now(), pid,
                                                process_start(pid), socket.gethostname()))
            _log(db, self.id, f"run {number} started")
            return cur.lastrowid

    def discard_run(self, run_id: int) -> None:
        """Take back a run that never trained (it failed before its first epoch ended, e.g. the backbone's
        weights missing offline): its row goes and, unless a later run took a number meanwhile, its number is
        given again, so the first model that trains is "run 1", not "run 2" after a "run 1 failed"."""
        with self.project._tx() as db:
            number = _number(db, self.id, run_id)
            db.execute(SQL["unset_active_run"], (self.id, int(run_id)))
            db.execute(SQL["delete_run"], (int(run_id),))
            if isinstance(number, int):
                db.execute(SQL["give_back_run_number"], (self.id, number))
            _log(db, self.id, "a training did not start")

    def finish_run(self, run_id: int, status: str, *, model=None, history: list | None = None,
                   metrics: dict | None = None, val_accuracy: float | None = None, message: str = "") -> None:
        """Write the model bundle (atomically, to its final name) first, then mark the row; then re-pick the
        active run (a stopped or worse run never replaces a better one).

        A model file that would take the project past FEWSHOT_PROJECT_MAX_GB (measured in the transaction,
        so two runs finishing together cannot both squeeze in) is not kept: the file is removed, the run
        marked failed with the reason, the active run left as it was, and ProjectTooBig raised after."""
        if status not in RUN_STATUSES[1:]:
            raise ValueError(status)
        bundle, size, refused = None, 0, None
        if model is not None:
            bundle = f"run-{int(run_id)}.safetensors"
            save_bundle(model, self.project.runs_dir / bundle)
            size = (self.project.runs_dir / bundle).stat().st_size
        cap = max_project_bytes()
        with self.project._tx() as db:
            if cap and size and stored_bytes(db, self.id) + size > cap:
                total, cap_text = cap_sizes(stored_bytes(db, self.id) + size, cap)
                refused = ProjectTooBig(f"Run {_number(db, self.id, run_id)}'s model ({human_size(size)}) was not "
                                        f"kept: with it this project would hold {total}; the cap on this server is "
                                        f"{cap_text} (FEWSHOT_PROJECT_MAX_GB). The active model is unchanged.")
                # removed before the commit: a crash in between leaves a run still 'running' without a file
                # (interrupted at the next open), never a failed run beside a model nobody counts
                (self.project.runs_dir / bundle).unlink(missing_ok=True)
                status, message, bundle, size = "failed", str(refused), None, 0
            db.execute(SQL["finish_run"],
                       (status, json.dumps(history or [], default=_jsonable), json.dumps(metrics or {}, default=_jsonable),
                        val_accuracy, bundle, size, message, now(), int(run_id), self.id))
            _pick_active(db, self.id)
            number = _number(db, self.id, run_id)
            _log(db, self.id, f"run {number} {status}" + (f" (validation accuracy {val_accuracy:.1%})"
                                                          if val_accuracy is not None and not refused else ""))
        if refused is not None:
            raise refused

    def delete_run(self, run_id: int) -> None:
        with self.project._tx() as db:
            row = db.execute(SQL["run_bundle"], (int(run_id), self.id)).fetchone()
            if row is None:
                raise ProjectError(GONE)
            db.execute(SQL["unset_active_run"],
                       (self.id, int(run_id)))
            db.execute(SQL["delete_run"], (int(run_id),))
            _pick_active(db, self.id)
            _log(db, self.id, f"run {row[1]} deleted")
        if row[0]:
            (self.project.runs_dir / row[0]).unlink(missing_ok=True)

    def pick_active(self, run_id: int | None) -> None:
        """The user's choice of active run (None: back to the best by validation accuracy)."""
        with self.project._tx() as db:
            if run_id is None:
                db.execute(SQL["unpin_active_run"], (self.id,))
                _pick_active(db, self.id, sticky=False)
                _log(db, self.id, "active run: the best one")
                return
            row = db.execute(SQL["run_status_bundle"],
                             (int(run_id), self.id)).fetchone()
            if row is None:
                raise ProjectError(GONE)
            if row[1] is None:
                raise ProjectError(f"Run {row[2]} has no model to use.")
            db.execute(SQL["pin_active_run"], (int(run_id), self.id))
            _log(db, self.id, f"active run: {row[2]} (picked)")

    def insert_run(self, r: dict, bundle: Path | None) -> int:
        """A run as an export described it (io.py's import), its bundle copied in atomically first; it keeps
        its number when the export gave one (an older export's runs are numbered in the order given)."""
        with self.project._tx() as db:
            number = r.get("number")
            if number is None:
                number = _next_number(db, self.id)
            else:
                db.execute(SQL["raise_runs_made"], (int(number), self.id))
            cur = db.execute(SQL["insert_run"],
                             (self.id, int(number), "interrupted" if r["status"] == "running" else r["status"],
                              json.dumps(r["settings"]), json.dumps(r["history"]), json.dumps(r["metrics"]),
                              r.get("val_accuracy"), str(r.get("message") or ""), r["started"], r.get("ended")))
            run_id = cur.lastrowid
        if bundle is not None:
            name = f"run-{run_id}.safetensors"
            write_file_atomic(self.project.runs_dir / name, Path(bundle))
            with self.project._tx() as db:
                db.execute(SQL["set_run_bundle"],
                           (name, (self.project.runs_dir / name).stat().st_size, run_id))
        return run_id

    def count_runs_made(self, at_least: int) -> None:
        """The project has had at least `at_least` runs (an import: its next run's number follows them all)."""
        with self.project._tx() as db:
            db.execute(SQL["raise_runs_made"], (int(at_least), self.id))

    def restore_active(self, run_id: int | None, pinned: bool) -> None:
        with self.project._tx() as db:
            if run_id is None:
                _pick_active(db, self.id)
            else:
                db.execute(SQL["restore_active_run"], (run_id, int(pinned), self.id))

    def recover(self) -> list[int]:
        """Runs left 'running' by a process that is gone become 'interrupted' (with any bundle it left);
        returns their ids. Called by ProjectStore.open."""
        host = socket.gethostname()
        with self.project._tx() as db:
            db.execute(SQL["touch_project"], (now(), self.id))
            rows = db.execute(SQL["running_runs"],
                              (self.id,)).fetchall()
            dead = [r for r in rows if r[3] == host and not process_alive(r[1], r[2])]
            for r in dead:
                db.execute(SQL["interrupt_run"],
                           (now(), "the process training it ended without finishing", r[0]))
                _log(db, self.id, f"run {r[4]} interrupted")
            dead = [r[0] for r in dead]
        for run_id in dead:  # a bundle written just before the crash, never acknowledged
            (self.project.runs_dir / f"run-{run_id}.safetensors").unlink(missing_ok=True)
        for d in (self.project.runs_dir, *self.project.photos_dir.glob("*")):
            for part in (d.glob(".*.part") if d.is_dir() else ()):
                if now() - part.stat().st_mtime > 3600:  # an old temp file of a write cut short
                    part.unlink(missing_ok=True)
        return dead

    def dataset(self, seed: int = 0):
        """The labelled photos as a checked fewshot Dataset, split as the project says: on the check set when it
        validates on one (fewshot/check_set.py: validation only from photos drawn at random and labelled by
        a person), else on each photo's split."""
        return self._dataset(seed)[0]

    def _dataset(self, seed: int = 0) -> tuple[Any, str]:
        """(the Dataset, check_set.CHECK or check_set.SPLIT: what its validation photos are)."""
        every_photo = self.project.photos()
        photos = [p for p in every_photo if p.label is not None]
        groups: dict[str, list[str]] = {}
        for p in photos:
            groups.setdefault(p.label, []).append(str(p.file))
        if not photos:
            raise DataError("This project has no labelled photos yet: give some photos a class first.")
        ds = load_dataset(groups, seed=seed, limits=Limits(max_upload_bytes=2**62, max_images=10**7))
        split, kind = validation_split(every_photo)
        every = ds.train + ds.val
        ds.train = [s for s in every if split.get(s.digest) != "val"]
        ds.val = [s for s in every if split.get(s.digest) == "val"]
        ds.validation = kind  # what the page says its validation photos are (views.split_text)
        return ds, kind

    def train(self, config=None, *, stop=None, device: str | None = None, feature_cache: bool = True,
              limits: Limits | None = None, trainer=None) -> Iterator:
        """Train on the labelled photos with fewshot.train.train, recording the run; yields the same events.

        `trainer` (fewshot.train.train's signature, called as trainer(ds, cfg, stop=, limits=, ...)) replaces
        it, e.g. the page's backends.trainer that runs in a ZeroGPU worker; only `stop` and `limits` are passed
        to a trainer given here.

        The bundle is on disk before the row says finished; an error marks the run failed, a generator closed
        early marks it stopped (or interrupted when nothing was kept). An error before the first epoch ended
        (nothing trained: weights missing, memory, a bad setting) is raised as it is, but leaves no run."""
        cfg = config or TrainConfig()
        self._room_to_train(cfg.arch)
        ds, kind = self._dataset(seed=cfg.seed)
        run_id = self.start_run(cfg.to_dict())
        ended = trained = False
        self.project.last_run_id = run_id  # the page says which run this was
        try:
            events = (train_model(ds, cfg, stop=stop, device=device, feature_cache=feature_cache, limits=limits)
                      if trainer is None else trainer(ds, cfg, stop=stop, limits=limits))
            for ev in events:
                if isinstance(ev, EpochEnd):
                    trained = True
                if isinstance(ev, Done):
                    status = "stopped" if ev.reason == "stopped" else "finished"
                    metrics = {"reason": ev.reason, "best_epoch": ev.best_epoch, "seconds": round(ev.seconds, 3),
                               "kept_note": ev.kept_note, "classes": ds.classes,
                               "counts": ds.counts().to_dict(orient="records")}
                    if ev.evaluation is not None:
                        metrics.update({"accuracy": ev.evaluation.accuracy, "loss": ev.evaluation.loss,
                                        "per_class": ev.evaluation.per_class.to_dict(orient="records")})
                    metrics.update(_measured(ev, len(ds.val), kind, ev.model))
                    try:
                        self.finish_run(run_id, status if ev.model is not None else "stopped", model=ev.model,
                                        history=ev.history, metrics=metrics,
                                        val_accuracy=ev.evaluation.accuracy if ev.evaluation is not None else None,
                                        message="" if ev.model is not None else "stopped before the first epoch ended")
                    except ProjectTooBig:
                        ended = True  # its model over the cap: finish_run marked the run failed, with the reason
                        raise
                    ended = True
                yield ev
        except GeneratorExit:
            if not ended:
                self.finish_run(run_id, "interrupted", message="training was abandoned before it ended")
                ended = True
            raise
        except BaseException as exc:
            if not ended and not trained and isinstance(exc, Exception):  # a failed start is not a run
                self.discard_run(run_id)
                self.project.last_run_id = None
                ended = True
            elif not ended:
                self.finish_run(run_id, "failed", message=f"{type(exc).__name__}: {exc}"[:2000])
                ended = True
            raise
        finally:
            ds.cleanup()
            if not ended:
                self.finish_run(run_id, "interrupted", message="training ended without a result")

    def _room_to_train(self, arch: str) -> None:
        """ProjectTooBig before a training starts whose model could not be kept under FEWSHOT_PROJECT_MAX_GB:
        the project is at its cap already, or an earlier model of the same backbone (whose size depends on
        little else: the class count changes only its last layer) would not fit beside what it holds."""
        cap = max_project_bytes()
        if not cap:
            return
        size = self.project.size_bytes()
        if size >= cap:
            size_text, cap_text = cap_sizes(size, cap)
            raise ProjectTooBig(f"Training was not started: this project already holds {size_text}; the cap on "
                                f"this server is {cap_text} (FEWSHOT_PROJECT_MAX_GB). Delete a run or some photos "
                                f"to make room.")
        sizes = [(_file_size(r.bundle), r.number) for r in self.runs()
                 if r.bundle is not None and r.settings.get("arch") == arch]
        sizes = [(n, number) for n, number in sizes if n]
        if sizes:
            model, number = min(sizes)
            if size + int(model * 0.95) > cap:  # 5% of slack: refused only when it surely would not fit
                total, cap_text = cap_sizes(size + model, cap)
                raise ProjectTooBig(f"Training was not started: a {arch} model takes {human_size(model)} here "
                                    f"(run {number}'s), and with one more this project would hold {total}; the cap "
                                    f"on this server is {cap_text} (FEWSHOT_PROJECT_MAX_GB). Delete a run or some "
                                    f"photos to make room.")


def _next_number(db: sqlite3.Connection, pid: str) -> int:
    """The number a new run of project `pid` gets: one more than any run it ever had (deleted ones count)."""
    db.execute(SQL["count_run_made"], (pid,))
    return db.execute(SQL["runs_made"], (pid,)).fetchone()[0]


def _number(db: sqlite3.Connection, pid: str, run_id: int) -> int | str:
    row = db.execute(SQL["run_number"], (int(run_id), pid)).fetchone()
    return row[0] if row else "?"


def _pick_active(db: sqlite3.Connection, pid: str, sticky: bool = True) -> None:
    """Unless the user picked one: the finished-or-stopped run with a model that check_set.pick_run chooses,
    the most accurate, but never one whose lead over the active run is within noise (`sticky`; False when
    the user asks for the best again). Runs graded on the check set come first."""
    active, pinned = db.execute(SQL["active_run_and_pin"], (pid,)).fetchone()
    if pinned and active is not None:
        return
    rows = db.execute(SQL["runs"], (pid,)).fetchall()
    runs = [RunScore(r[0], r[2] == "finished", of_metrics({**json.loads(r[5] or "{}"), "val_accuracy": r[6]}))
            for r in rows if r[2] in ("finished", "stopped") and r[7]]
    db.execute(SQL["set_active_run"], (pick_run(runs, active if sticky else None), pid))


def _measured(ev, n_val: int, kind: str, model) -> dict:
    """What a run's metrics (and its model's, which the card and the demo page read) say about its validation:
    what the photos were (check_set.CHECK or SPLIT), how many, the 95% interval, and how many more would
    narrow it to ±10 points."""
    accuracy = ev.evaluation.accuracy if ev.evaluation is not None else None
    if ev.evaluation is not None and len(ev.evaluation.per_class):
        n_val = int(ev.evaluation.per_class["support"].sum())
    found = measured(accuracy, n_val, kind).to_dict()
    if model is not None:
        model.metrics.update({k: found[k] for k in ("validation", "val_photos", "val_interval")})
    return found


def _file_size(path: Path) -> int:
    """0 for a file gone (a run deleted in another tab meanwhile)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    return str(x)


