"""Training for a Session: the backbone list, a TrainConfig from the form, and a run as page snapshots. No gradio."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from ...backbones import BACKBONES, backbone, fallback_order
from ...config import ARCHS, AUTO, SCRATCH_INPUT, STAGE_CHOICES, TrainConfig
from ...errors import DataError, TrainingError, WeightsUnavailable
from ...evaluate import Diagnostic
from ...models import can_download, weights_cache_path, weights_details_md, weights_present
from ...train_events import Done, EpochEnd, Progress
from .jobs import Jobs, TrainingJob
from .state import Session, give_memory_back

DEFAULTS = TrainConfig()  # the one place training defaults are written; the form and the API read them here


def backbone_choices() -> list[tuple[str, str]]:
    """(label, arch) for the backbone list; the label says whether the weights are on this machine."""
    out = []
    for arch, b in BACKBONES.items():
        where = "✓ on this machine" if weights_present(arch) else f"needs a {b.download_mb} MB download"
        out.append((f"{b.label} · {b.hint} · {where}", arch))
    return out


def fallback_arch(exclude: str | None = None) -> str | None:
    """A backbone whose weights are already here, the smallest first."""
    return next((a for a in fallback_order() if a != exclude and weights_present(a)), None)


def preselected_backbone(default: str = DEFAULTS.arch) -> tuple[str, str]:
    """(the backbone the page starts with, why it is not `default`, or ""): the default where it can start (its
    weights are here, or this machine can download them), else one whose weights are here, said in plain words."""
    if weights_present(default) or can_download():
        return default, ""
    other = fallback_arch(default)
    if other is None:  # nothing can start pretrained: the default stays, and its note says the ways out
        return default, ""
    return other, (f"{backbone(default).label}, the usual choice, cannot start here: its ImageNet weights are not on "
                   f"this machine, and the machine is offline. {backbone(other).label} is chosen instead: its weights "
                   f"are here.")


def weights_note(arch: str, pretrained: bool) -> str:
    """The plain-words note under the backbone list ("" when there is nothing to say)."""
    if not pretrained:
        return ("Training from scratch: nothing is re-used from ImageNet and photos are used at 112 px. With "
                "*only the last layer* the rest of the network stays random (fast, but weak); choose *the whole "
                "network* to let everything learn (slow, needs many photos and epochs).")
    if weights_present(arch):
        if arch != DEFAULTS.arch:  # the page chose this one because the usual one cannot start: it says why
            chosen, why = preselected_backbone(DEFAULTS.arch)
            return why if chosen == arch else ""
        return ""
    b = backbone(arch)
    name, mb = b.label, b.download_mb
    if not can_download():  # offline: no promise of a download, the ways out instead
        return (f"{name}'s ImageNet weights are not on this machine, and it cannot download them (it is offline). "
                f"Choose a backbone marked ✓, or train from scratch.\n\n{weights_details_md(arch)}")
    return (f"{name}'s ImageNet weights are not on this machine yet: training will first download them "
            f"(about {mb} MB, needs internet). Offline, put {weights_cache_path(arch).name} into "
            f"{weights_cache_path(arch).parent}.")


def make_config(arch: str = DEFAULTS.arch, pretrained: bool = DEFAULTS.pretrained, epochs: int = DEFAULTS.epochs,
                lr: float = DEFAULTS.lr, stage: str = DEFAULTS.stage, *, batch_size: int = DEFAULTS.batch_size,
                augmentation: str = DEFAULTS.augmentation, label_smoothing: float = DEFAULTS.label_smoothing,
                balanced: bool = DEFAULTS.balanced_loss, seed: int = DEFAULTS.seed,
                early_stop: int = DEFAULTS.early_stop) -> TrainConfig:
    """A TrainConfig from the form's values, with plain-words errors for bad ones."""
    if arch not in ARCHS:
        raise TrainingError(f"Unknown backbone {arch!r}; choose one from the list.")
    if stage not in STAGE_CHOICES:
        raise TrainingError(f"Unknown choice {stage!r} for 'how much of the network learns'.")
    try:
        epochs, batch_size, seed, early_stop = int(epochs), int(batch_size), int(seed or 0), int(early_stop or 0)
        lr = float(lr)
    except (TypeError, ValueError):
        raise TrainingError("Epochs, batch size and seed must be whole numbers, and the learning rate a number "
                            "such as 0.001.") from None
    pre = None if pretrained else SCRATCH_INPUT  # None: chosen from the photos when training starts
    return TrainConfig(arch=arch, pretrained=bool(pretrained), stage=stage, epochs=epochs, lr=lr,
                       batch_size=batch_size, augmentation=augmentation, label_smoothing=float(label_smoothing),
                       balanced_loss=bool(balanced), seed=seed, early_stop=early_stop, preprocessing=pre)


@dataclass
class TrainUpdate:
    """A snapshot of a training run for the page."""

    history: list[dict] = field(default_factory=list)
    fraction: float | None = 0.0
    text: str = "Preparing…"
    eta_s: float | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    done: Done | None = None
    weights_missing: str | None = None  # the plain message when ImageNet weights could not be had
    fallback: str | None = None  # a backbone whose weights are here
    first_point_s: float | None = None
    elapsed_s: float = 0.0  # since the run started
    waited_s: float = 0.0  # from the Train click to the run's start (a queue for a free training slot)
    run_id: int | None = None  # the project's run this training is recorded as

    @property
    def finished(self) -> bool:
        return self.done is not None or self.weights_missing is not None


def _phase_text(ev: Progress, started: float) -> tuple[float, str, float | None]:
    frac = ev.done / max(ev.total, 1)
    if ev.phase == "features":
        rate = (time.perf_counter() - started) / max(ev.done, 1)
        eta = rate * (ev.total - ev.done) if ev.done else None
        return frac, f"Step 1 of 2 · looking at your photos: {ev.done} of {ev.total}", eta
    if ev.phase == "train":
        return frac, f"Step 2 of 2 · training · {ev.message.lower()}", ev.eta_s
    if ev.phase == "evaluate":
        return 1.0, "Checking the best model on the validation photos", None
    return 0.0, ev.message or "Preparing the network", None


def _apply(up: TrainUpdate, ev, cfg: TrainConfig, phase: list, min_interval: float) -> bool:
    """Fold one engine event into the snapshot; True when the page should see it at once: a new phase, an epoch
    that took at least `min_interval` (fast epochs wait for the throttle) and the end."""
    if isinstance(ev, Progress):
        urgent = ev.phase != phase[0]
        if urgent:
            phase[:] = [ev.phase, time.perf_counter()]
        up.fraction, up.text, up.eta_s = _phase_text(ev, phase[1])
        return urgent
    if isinstance(ev, EpochEnd):
        up.history = up.history + [{"epoch": ev.epoch, "train_loss": ev.train_loss, "train_acc": ev.train_acc,
                                    "val_loss": ev.val_loss, "val_acc": ev.val_acc, "seconds": ev.seconds}]
        if up.first_point_s is None:
            up.first_point_s = up.elapsed_s
            return True
        return ev.seconds >= min_interval
    if isinstance(ev, Diagnostic):
        up.diagnostics = up.diagnostics + [ev]
    elif isinstance(ev, Done):
        up.done = ev
        # a Stop that named the epochs the page showed took the run back to them: so do the curves
        up.history = up.history[:len(ev.history)]
        up.fraction, up.eta_s = 1.0, None
        up.text = _done_text(ev, up.elapsed_s + up.waited_s, up.waited_s) + _chosen_text(cfg, ev)
    return True


def _pct(x: float | None) -> str:
    return f"{x:.0%}" if x is not None else "no accuracy"


def _project_done(sess: Session, ev: Done, new_id: int | None) -> str:
    """The session's model after a run: without a project, the new one; in a project, the active run's (the best;
    a stopped or worse run never silently replaces a better one), and a line saying so when it is not the new one
    (run `new_id`)."""
    p = sess.project
    if p is None:
        sess.set_model(ev.model, ev.evaluation)
        return ""
    active = p.active_run()
    if active is None or active.id == new_id:
        sess.set_model(ev.model, ev.evaluation)
        sess.active_run = active.id if active is not None else None
        sess.run_note = ""
        return ""
    if sess.active_run != active.id or sess.model is None:
        from .projects import show_active
        sess.active_run = None
        show_active(sess)
    new_acc = ev.evaluation.accuracy if ev.evaluation is not None else None
    sess.run_note = (f"This run ({_pct(new_acc)}) is kept in the list; the active model is still run {active.number} "
                     f"({_pct(active.val_accuracy)}).")
    return "\n" + sess.run_note


SNAPSHOT_INTERVAL_S = 0.15  # at most ~7 page updates a second: the page keeps up, and lags at most that much
WAITING = "Waiting for another training on this server to finish; this one then starts by itself."


def snapshots(events_of: Callable[[], Iterator], cfg: TrainConfig, clicked: float | None, jobs: Jobs,
              min_interval: float = SNAPSHOT_INTERVAL_S) -> Iterator[TrainUpdate]:
    """Page snapshots of one training, in one of the server's training slots: at most every `min_interval` s (at
    ~10 epochs a second the page could not draw every epoch, fell behind, and Stop seemed to come late), at once
    for a new phase, the first epoch and slow epochs, and always the last one. `events_of()` starts the engine;
    times count from the Train click `clicked` (time.perf_counter()), a wait for a free slot included."""
    up = TrainUpdate()
    if not jobs.take_slot(wait=False):
        up.text = WAITING
        yield replace(up)
        jobs.take_slot()
    try:
        t0 = time.perf_counter()
        up.text, up.waited_s = "Preparing…", max(0.0, t0 - clicked) if clicked else 0.0
        phase, last, pending = [None, t0], t0, False
        try:
            for ev in events_of():
                up.elapsed_s = time.perf_counter() - t0
                urgent = _apply(up, ev, cfg, phase, min_interval)
                if urgent or time.perf_counter() - last >= min_interval:
                    last, pending = time.perf_counter(), False
                    yield replace(up)  # a snapshot: lists inside are replaced, never mutated
                else:
                    pending = True
            if pending:  # the engine ended without a Done: the page still sees where it got to
                yield replace(up)
        except WeightsUnavailable as exc:
            # the page's version: one plain sentence, the file, folder and command folded under Details
            up.weights_missing, up.fallback = getattr(exc, "markdown", None) or str(exc), fallback_arch(cfg.arch)
            up.fraction, up.text = None, "Could not start: the ImageNet weights are missing."
            yield replace(up)
    finally:
        jobs.free_slot()


def run_training(sess: Session, cfg: TrainConfig, min_interval: float = SNAPSHOT_INTERVAL_S) -> Iterator[TrainUpdate]:
    """Train on the session's dataset, yielding page snapshots (see `snapshots`).

    In a project, the training is the project's (fewshot/ui/tab/jobs.py): it runs in a thread of the server, is
    recorded as a run, and goes on when this generator is closed (the tab reloaded or closed); a reopened page
    follows it again (`follow`). Without a project it runs here and ends with this generator, as before.
    Stop via `sess.stop` (StopRequest; for a project's training, the job's, see Session.follow_job): the engine
    ends within a batch and keeps the best epoch so far, or the best of the epochs the page showed when Stop
    named them. Times count from the Train click (`sess.train_clicked_at`, set by the page when the click
    happens; an API call has none).
    """
    if sess.dataset is None and sess.project is not None and sess.project.classes():
        # photos labelled in the Label step, and Train pressed without "Use the labelled photos" first (the Next
        # button leads here): it trains on them, as that button would have made it
        sess.use_project_photos()
    if sess.dataset is None:
        raise DataError("Load some photos first (the Photos step).")
    sess.begin_training()
    clicked, sess.train_clicked_at = sess.train_clicked_at, None  # one click, one run
    if sess.project is not None:
        try:
            job = _start_project_training(sess, cfg, clicked, min_interval)
        finally:
            sess.training = False  # from here the project's job says whether this tab trains
        yield from follow(sess, job)
        return
    try:
        events_of = lambda: sess.backends.trainer(sess.dataset, cfg, stop=sess.stop, limits=sess.limits)  # noqa: E731
        for up in snapshots(events_of, cfg, clicked, sess.jobs, min_interval):
            if up.done is not None:
                up.text += _project_done(sess, up.done, None)
            yield up
    finally:
        sess.training = False


def _start_project_training(sess: Session, cfg: TrainConfig, clicked: float | None, min_interval: float) -> TrainingJob:
    """The session's project's training, started as a job of the server that the session follows."""
    p, trainer, limits = sess.project, sess.backends.trainer, sess.limits

    def stream(stop):
        events_of = lambda: p.train(cfg, stop=stop, limits=limits, trainer=trainer)  # noqa: E731
        try:
            for up in snapshots(events_of, cfg, clicked, sess_jobs, min_interval):
                up.run_id = getattr(p, "last_run_id", None)  # which run of the project this is
                yield up
        finally:
            give_memory_back()  # what the training freed goes back to the system (state.give_memory_back)

    sess_jobs = sess.jobs  # the job holds no reference to the session: a closed tab's session is let go
    job = sess_jobs.start(p.id, stream, sess.stop, cfg=cfg, classes=len(sess.dataset.classes))
    sess.follow_job(job)
    return job


def follow(sess: Session, job: TrainingJob) -> Iterator[TrainUpdate]:
    """A project's training as the session's page sees it: its latest snapshot, then each new one; at the end
    the session's model follows the project's active run (the note says when it is not this run). Closing this
    generator leaves the training running."""
    for up in job.follow():
        if up.done is not None:
            up = replace(up, text=up.text + _project_done(sess, up.done, up.run_id))
        yield up


def _took(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _done_text(done: Done, total_s: float | None = None, waited_s: float = 0.0) -> str:
    """The finished line; `total_s` counts from the click (the engine's own time without it), and a wait of a
    second or more for a free training slot is said."""
    took = _took(done.seconds if total_s is None else total_s)
    if waited_s >= 1:
        took = f"{took}, {_took(waited_s)} of it waiting for another training to finish"
    if done.model is None:
        return f"Stopped before the first epoch ended, so there is no model yet ({took})."
    best = done.kept_note or f"kept the best epoch ({done.best_epoch})"
    if done.reason == "stopped":
        if done.shown_epochs is not None:  # the Stop named the epochs the curve showed: the run went back to them
            if done.shown_epochs == 1:
                return f"Stopped after 1 epoch, as the curve showed; {best}. It is ready to try in the Try step ({took})."
            return (f"Stopped after {done.shown_epochs} epochs, as the curve showed; {best}. It is ready to try in "
                    f"the Try step ({took}).")
        if len(done.history) == 1:
            return f"Stopped after 1 epoch; {best}. It is ready to try in the Try step ({took})."
        return f"Stopped after {len(done.history)} epochs; {best}. It is ready to try in the Try step ({took})."
    if done.reason == "early_stop":
        return f"Stopped early: validation stopped improving; {best} ({took})."
    if done.reason == "non_finite":
        return f"Training went wrong (the loss became infinite); {best}."
    return f"Done in {took}; {best}. Try it in the Try step."


_STAGE_DONE = {"head": "only the last layer learned", "top": "the last block learned too",
               "top2": "the last two blocks learned too", "all": "the whole network learned"}


def _chosen_text(asked: TrainConfig, done: Done) -> str:
    """What "choose for me" settings became, so the user knows what the model is (empty when nothing was chosen)."""
    if done.model is None or (asked.stage != AUTO and asked.preprocessing is not None):
        return ""
    cfg = done.model.config
    return f"\nChosen from your photos: {_STAGE_DONE[cfg.stage]}, photos at {cfg.preprocessing.crop} px."


__all__ = ["DEFAULTS", "SNAPSHOT_INTERVAL_S", "TrainUpdate", "WAITING", "backbone_choices", "fallback_arch", "follow",
           "make_config", "preselected_backbone", "run_training", "snapshots", "weights_note"]
