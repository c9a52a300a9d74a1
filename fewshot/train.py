"""Training as a generator of small events; the UI and the CLI both consume it.

The frozen part of the network runs once per image (features.trunk_pass, through trunk_inputs.load_inputs);
each epoch then trains only the unfrozen tail on augmented cached activations. A stop request is honoured
within one batch and the best model so far is kept, or, when the request names the epochs the user saw
(train_events.StopRequest), the best of those, with the history ending there (best_epoch.BestEpoch).

The pieces follow torchvision's references/classification/train.py: `set_up` (model, inputs, optimizer),
`train_one_epoch`, `evaluate`, the epoch loop `run_epochs`, and `finish`; `train` strings them together and
`distributed.train` runs the same pieces across processes (its `DataParallel` answers `OneProcess`'s questions).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from .archive import Limits
from .best_epoch import BestEpoch, trained_prefixes
from .bundle import TrainedModel
from .config import TrainConfig
from .data import Dataset, Sample
from .errors import TrainingError
from .evaluate import Diagnostic, data_diagnostics, diagnose, end_diagnostics, report_from_probs
from .models import param_groups, set_train_mode, trainable_parameters
from .runtime import Runtime, free_memory, is_out_of_memory, pick_runtime, seed_everything
from .train_events import Done, Event, Progress, StopFlag, epoch_end, shown_epochs, stop_checker
from .trunk_inputs import (build_for_stage, feature_cache_for, load_inputs, out_of_memory_notice, predict_probs,
                           resolve_config, step_inputs, tail_forward)

__all__ = ["HEAD_MIN_STEPS", "EpochSums", "OneProcess", "Run", "Schedule", "evaluate", "finish", "run_epochs",
           "run_to_end", "set_up", "train", "train_one_epoch"]

HEAD_WARMUP = 0.2  # fraction of steps the new head trains alone before unfrozen layers join
# The head stage trains on cached features, where a step costs next to nothing; with few photos an epoch
# of one pass is a handful of steps and ten epochs leave the new layer half-trained (flowers, 20 photos per
# class: 40 steps, train accuracy 0.93). There an epoch shows every photo as often as it takes to make
# this many steps, each time in a new random crop (bench/README.md).
HEAD_MIN_STEPS = 20


def _steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimizer steps per epoch. A batch of one photo breaks batch norm in training, so a lone
    last photo joins the batch before it."""
    return max(1, math.ceil(n / batch_size) - (1 if n > batch_size and n % batch_size == 1 else 0))


def _passes_per_epoch(n: int, batch_size: int, pooled: bool) -> int:
    """How many times an epoch shows each training photo: once, or enough for HEAD_MIN_STEPS steps when
    only the head trains (on cached features)."""
    return max(1, math.ceil(HEAD_MIN_STEPS * batch_size / max(n, 1))) if pooled else 1


def _epoch_order(n: int, passes: int, generator: torch.Generator) -> torch.Tensor:
    """The photos in the order one epoch shows them: `passes` shuffles, one after the other."""
    return torch.cat([torch.randperm(n, generator=generator) for _ in range(passes)])


def _epoch_record(epoch: int, loss_sum: float, right: int, seen: int, probs: torch.Tensor | None,
                 val_labels: torch.Tensor, lr: float, started: float) -> dict:
    """One row of the history; the validation figures come from the validation probabilities (None without)."""
    val_loss = val_acc = None
    if probs is not None:
        val_loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), val_labels).item()
        val_acc = (probs.argmax(1) == val_labels).float().mean().item()
    return {"epoch": epoch, "train_loss": loss_sum / max(seen, 1), "train_acc": right / max(seen, 1),
            "val_loss": val_loss, "val_acc": val_acc, "lr": lr, "seconds": time.perf_counter() - started}


def _fresh_diagnostics(history: list[dict], num_classes: int, batch_losses: list[float],
                      seen: set[str]) -> list[Diagnostic]:
    """What diagnose() finds after this epoch that the run has not reported yet (each code once a run)."""
    out = []
    for d in diagnose(history, num_classes, batch_losses):
        if d.code not in seen:
            seen.add(d.code)
            out.append(d)
    return out


def _class_weights(labels: torch.Tensor, num_classes: int, device: torch.device) -> torch.Tensor:
    """Loss weights inversely proportional to each class's share of the training photos (balanced loss)."""
    freq = torch.bincount(labels, minlength=num_classes).float().clamp_min(1)
    return (freq.sum() / (num_classes * freq)).to(device)


class Schedule:
    """The learning rates, stepped once per training step: a cosine decay to 5% of the starting rate over `total`
    steps; unfrozen pretrained layers (every parameter group after the first, the new head's) wait until the new
    head has learned something (the first HEAD_WARMUP of the steps), so its first random gradients do not
    scramble them (linear probe, then fine-tune). `total` grows when running out of memory halves the batch
    size."""

    def __init__(self, optimizer: torch.optim.Optimizer, total: int) -> None:
        self.total = total
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, [self.cosine] + [self.after_head_warmup] * (len(optimizer.param_groups) - 1))

    def cosine(self, s: int) -> float:
        """The multiplier of the starting rate at step `s`."""
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, self.total) / max(self.total, 1)))

    def after_head_warmup(self, s: int) -> float:
        """The same for unfrozen pretrained layers: 0 while the head warms up, then the cosine."""
        return 0.0 if s < round(self.total * HEAD_WARMUP) else self.cosine(s)

    def step(self) -> None:
        """One training step done: the optimizer's rates become the next step's."""
        self.scheduler.step()


class OneProcess:
    """What the training loop asks of the processes taking part; here there is only this one.

    distributed.DataParallel answers the same questions for a torchrun launch (sharding, all-reduce,
    gathering), the way torchvision's reference reduces across processes inside the same loop.
    """

    world = 1  # processes sharing the global batch
    retries_out_of_memory = True  # out of memory halves the batch and training goes on

    def shard(self, samples: list) -> list:
        """This process's share of `samples`."""
        return samples

    def loading(self, arch: str) -> str:
        """The progress message while the network loads."""
        return f"Loading {arch}"

    def epoch_message(self, epoch: int, epochs: int) -> str:
        """The progress message of a training step."""
        return f"Epoch {epoch}/{epochs}"

    def stops_before_step(self, should_stop: Callable[[], bool]) -> bool:
        """Checked before each training step."""
        return should_stop()

    def halts_after_loss(self, loss: torch.Tensor, should_stop: Callable[[], bool]) -> str | None:
        """Checked once the step's loss is known: a reason to end the epoch ("non_finite", "stopped"), or None."""
        return None if torch.isfinite(loss) else "non_finite"

    def end_epoch(self, model, sums: "EpochSums") -> "EpochSums":
        """The epoch's sums over every process (and the model's statistics made the same everywhere)."""
        return sums

    def evaluation_stop(self, should_stop: Callable[[], bool]) -> Callable[[], bool]:
        """The stop check validation may act on alone."""
        return should_stop

    def gather(self, probs: torch.Tensor, n: int) -> torch.Tensor:
        """Validation probabilities of all `n` validation photos, in dataset order, from this process's share."""
        return probs

    def check_same_model(self, model) -> None:
        """Raise TrainingError if the processes ended with different weights."""


@dataclass
class EpochSums:
    """What one epoch of training steps adds up to."""

    loss: float = 0.0  # sum over photos of the loss
    right: float = 0
    seen: float = 0
    batch_losses: list[float] = field(default_factory=list)
    reason: str = "finished"  # or why the epoch ended early: "stopped" | "non_finite" | "out_of_memory"


@dataclass
class Run:
    """Everything one training run holds between set_up, the epochs and finish."""

    config: TrainConfig
    runtime: Runtime
    process: OneProcess  # this process's part (distributed.DataParallel under torchrun)
    classes: list[str]
    model: torch.nn.Module
    cut: int  # where the trainable part starts: the trunk stages before it are frozen (models.cut_for_stage)
    generator: torch.Generator  # data order and augmentation
    forward: Callable[[torch.Tensor], torch.Tensor]  # training forward (a DDP module under torchrun)
    train_batch: Callable  # train_batch(idx, generator): an augmented training batch
    train_labels: torch.Tensor  # labels of the training photos train_batch reads (this process's share)
    val_inputs: object  # this process's validation inputs
    val_labels: torch.Tensor  # labels of every validation photo
    loss_weights: torch.Tensor | None  # class weights of the loss (balanced loss)
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    scaler: torch.amp.GradScaler
    batch_size: int  # photos per step in this process; halved when out of memory
    passes: int  # times an epoch shows each training photo
    best: BestEpoch
    history: list[dict] = field(default_factory=list)
    steps_done: int = 0
    started: float = 0.0  # when the first epoch began

    @property
    def n_train(self) -> int:
        """Training photos in this process's share."""
        return len(self.train_labels)

    @property
    def n_val(self) -> int:
        """Validation photos, in every process."""
        return len(self.val_labels)


def _read_inputs(model: torch.nn.Module, cut: int, train_share: list[Sample], val_share: list[Sample],
                 cfg: TrainConfig, runtime: Runtime, should_stop: Callable[[], bool], feature_cache: bool,
                 limits: Limits) -> Iterator[Event]:
    """The training and validation photos' inputs, as one progress phase: a generator of events returning
    (training inputs, validation inputs), or None when stopped."""
    cache = feature_cache_for(cfg, cut) if feature_cache else None
    total, sizes = len(train_share) + len(val_share), {}
    train_inputs = yield from load_inputs(model, cut, train_share, cfg, runtime, should_stop, cache, limits,
                                          0, total, sizes)
    if train_inputs is None:
        return None
    val_inputs = yield from load_inputs(model, cut, val_share, cfg, runtime, should_stop, cache, limits,
                                        len(train_share), total, sizes)
    return None if val_inputs is None else (train_inputs, val_inputs)


def set_up(dataset: Dataset, cfg: TrainConfig, runtime: Runtime, generator: torch.Generator, process: OneProcess,
           should_stop: Callable[[], bool], feature_cache: bool, limits: Limits) -> Iterator[Event]:
    """Everything before the first epoch: model, inputs (through the frozen trunk), optimizer and schedule.
    A generator of events returning the Run, or None when stopped while reading the photos."""
    classes = dataset.classes
    yield from data_diagnostics({c: sum(s.label == i for s in dataset.train + dataset.val)
                                 for i, c in enumerate(classes)})
    yield Progress("weights", 0, 1, process.loading(cfg.arch))
    model, cut, pooled = build_for_stage(cfg, len(classes), runtime)
    train_share, val_share = process.shard(dataset.train), process.shard(dataset.val)
    inputs = yield from _read_inputs(model, cut, train_share, val_share, cfg, runtime, should_stop, feature_cache,
                                     limits)
    if inputs is None:
        return None
    train_batch, val_inputs = step_inputs(inputs[0], inputs[1], cut, cfg, pooled)
    del inputs  # train_batch holds what training needs
    n_all = len(dataset.train)
    batch_size = max(1, min(cfg.batch_size // process.world, len(train_share)))  # the global batch stays batch_size
    # the number of passes comes from the whole set and the global batch, so every process agrees on it
    passes = _passes_per_epoch(n_all, min(cfg.batch_size, max(n_all, 1)), pooled)
    optimizer = torch.optim.AdamW(param_groups(model, cfg.stage, cfg.lr, cfg.backbone_lr_mult, cfg.weight_decay))
    all_labels = torch.tensor([s.label for s in dataset.train])
    return Run(
        config=cfg, runtime=runtime, process=process, classes=classes, model=model, cut=cut, generator=generator,
        forward=lambda x: tail_forward(model, x, cut), train_batch=train_batch,
        train_labels=torch.tensor([s.label for s in train_share]), val_inputs=val_inputs,
        val_labels=torch.tensor([s.label for s in dataset.val]),
        loss_weights=_class_weights(all_labels, len(classes), runtime.device) if cfg.balanced_loss else None,
        optimizer=optimizer,
        schedule=Schedule(optimizer, cfg.epochs * _steps_per_epoch(len(train_share) * passes, batch_size)),
        scaler=torch.amp.GradScaler(runtime.device.type, enabled=runtime.amp and runtime.amp_dtype == torch.float16),
        batch_size=batch_size, passes=passes, best=BestEpoch(trained_prefixes(model, cfg.stage, cut), len(dataset.val)))


def train_one_epoch(run: Run, epoch: int, should_stop: Callable[[], bool]) -> Iterator[Event]:
    """The training steps of one epoch, each photo shown run.passes times in a new random view.
    A generator of Progress (and out-of-memory notices) returning the epoch's EpochSums."""
    cfg, runtime, sums = run.config, run.runtime, EpochSums()
    set_train_mode(run.model, cfg.stage)
    order = _epoch_order(run.n_train, run.passes, run.generator)
    n_epoch, done = run.n_train * run.passes, 0  # photos this epoch, photos done
    while done < n_epoch:
        if run.process.stops_before_step(should_stop):
            sums.reason = "stopped"
            break
        # a lone last photo joins this batch (_steps_per_epoch)
        idx = order[done:n_epoch if n_epoch - done <= run.batch_size + 1 else done + run.batch_size]
        try:
            xb = run.train_batch(idx, run.generator).to(runtime.device, non_blocking=True)
            yb = run.train_labels[idx].to(runtime.device)
            with runtime.autocast():
                logits = run.forward(xb)
                loss = F.cross_entropy(logits.float(), yb, weight=run.loss_weights, label_smoothing=cfg.label_smoothing)
            halt = run.process.halts_after_loss(loss, should_stop)
            if halt:
                sums.reason = halt
                break
            run.optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
        except (RuntimeError, MemoryError) as exc:
            if not (run.process.retries_out_of_memory and is_out_of_memory(exc)):
                raise
            run.optimizer.zero_grad(set_to_none=True)
            xb = yb = logits = loss = None
            free_memory(runtime)
            if run.batch_size == 1:
                sums.reason = "out_of_memory"
                break
            run.batch_size //= 2  # the same photos again in smaller batches; the schedule stretches to match
            run.schedule.total = run.steps_done + (cfg.epochs - epoch + 1) * _steps_per_epoch(n_epoch, run.batch_size)
            yield out_of_memory_notice(runtime, run.batch_size * 2, run.batch_size, f"in epoch {epoch}")
            continue
        done += len(idx)
        run.schedule.step()
        run.steps_done += 1
        sums.batch_losses.append(loss.item())
        sums.loss += loss.item() * len(idx)
        sums.right += (logits.argmax(1) == yb).sum().item()
        sums.seen += len(idx)
        total, rate = run.schedule.total, (time.perf_counter() - run.started) / run.steps_done
        yield Progress("train", run.steps_done, total, run.process.epoch_message(epoch, cfg.epochs),
                       rate * (total - run.steps_done))
    return sums


def evaluate(run: Run, should_stop: Callable[[], bool]) -> torch.Tensor | None:
    """Probabilities of the model as it is now for every validation photo, in dataset order (None when
    stopped)."""
    probs = predict_probs(run.model, run.val_inputs, run.cut, run.config, run.runtime,
                          run.process.evaluation_stop(should_stop))
    return None if probs is None else run.process.gather(probs, run.n_val)


def _weights_finite(model: torch.nn.Module) -> bool:
    """Whether every trainable weight is a finite number (a last step can overflow them)."""
    return all(torch.isfinite(p).all() for p in model.parameters() if p.requires_grad)


def run_epochs(run: Run, should_stop: Callable[[], bool]) -> Iterator[Event]:
    """The epochs: train, validate, keep the best, report; a generator of events returning why it ended
    ("finished" | "stopped" | "early_stop" | "non_finite" | "out_of_memory")."""
    cfg, reason, seen_codes = run.config, "finished", set()
    run.started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        epoch_started = time.perf_counter()
        sums = yield from train_one_epoch(run, epoch, should_stop)
        reason = sums.reason
        if reason == "finished" and not _weights_finite(run.model):
            reason = "non_finite"  # the last step overflowed the weights: this epoch must not become "best"
        if reason != "finished":
            break
        sums = run.process.end_epoch(run.model, sums)
        probs = evaluate(run, should_stop) if run.n_val else None
        if run.n_val and probs is None:
            reason = "stopped"
            break
        rec = _epoch_record(epoch, sums.loss, sums.right, sums.seen, probs, run.val_labels,
                           run.optimizer.param_groups[0]["lr"], epoch_started)
        run.history.append(rec)
        yield epoch_end(rec, cfg.epochs, run.best.update(run.model, rec))
        yield from _fresh_diagnostics(run.history, len(run.classes), sums.batch_losses, seen_codes)
        if cfg.early_stop and run.best.since >= cfg.early_stop:
            reason = "early_stop"
            break
    return reason


def _closing_advice(reason: str, run: Run) -> Iterator[Diagnostic]:
    """What finish says before Done: the end-of-run advice, or why the run ended early."""
    cfg, kept_before = run.config, " The best model from before is kept." if run.best.state else ""
    if reason == "finished":
        yield from end_diagnostics(run.history, cfg.epochs, cfg.lr, run.n_val)
    if reason == "non_finite":
        yield Diagnostic("non_finite", "error",
                         f"Training stopped at epoch {len(run.history) + 1}: the loss became infinite (NaN).",
                         f"Lower the learning rate (now {cfg.lr:g}; try {cfg.lr / 10:g})." + kept_before)
    if reason == "out_of_memory":
        yield Diagnostic("out_of_memory", "error", "Training stopped: out of memory even with one photo per batch.",
                         "Unfreeze fewer layers, pick a lighter backbone, or train on the CPU." + kept_before)


def finish(run: Run, reason: str, dataset: Dataset, t0: float, shown: int | None = None) -> Iterator[Event]:
    """After the epochs: closing advice, the kept epoch's weights back in the model, its evaluation on the
    validation photos, and Done. A stop that names the `shown` epochs the user saw goes back to them: the model
    is the one kept among those epochs, and the history ends there (Done.shown_epochs says so)."""
    cfg, best = run.config, run.best
    if reason == "stopped" and shown is not None and best.trim(shown):
        del run.history[shown:]
    history = run.history
    as_shown = len(history) if reason == "stopped" and shown is not None and len(history) == shown else None
    yield from _closing_advice(reason, run)
    if best.state is None:
        yield Done(None, None, reason != "finished", reason, history, None, time.perf_counter() - t0)
        return
    model = run.model
    model.load_state_dict(best.state, strict=False)
    run.process.check_same_model(model)
    model.eval()
    evaluation = None
    if run.n_val:
        yield Progress("evaluate", 0, 1, "Checking the best model on the validation photos")
        evaluation = report_from_probs(evaluate(run, lambda: False), run.val_labels, run.classes,
                                       [s.path for s in dataset.val])
    trained = TrainedModel.from_training(model.cpu(), run.classes, cfg, history, best.epoch, evaluation,
                                         dataset.counts().to_dict(orient="records"),
                                         trainable_parameters(model), photos=dataset)  # its photos' fingerprints
    yield Done(trained, best.epoch, reason in ("stopped", "non_finite", "out_of_memory"), reason, history, evaluation,
               time.perf_counter() - t0, best.note, as_shown)


def train(dataset: Dataset, config: TrainConfig | None = None, *, stop: StopFlag = None, device: str | None = None,
          feature_cache: bool = True, limits: Limits | None = None) -> Iterator[Event]:
    """Train a classifier on `dataset`; yields Progress, EpochEnd, Diagnostic, and finally Done.

    Laid out like torchvision's references/classification/train.py: set_up, then per epoch
    train_one_epoch and evaluate (run_epochs), then finish. distributed.train runs the same pieces.
    """
    cfg = resolve_config(config or TrainConfig(), dataset)
    should_stop = stop_checker(stop)
    t0 = time.perf_counter()
    generator = seed_everything(cfg.seed)
    runtime = pick_runtime(device)
    run = yield from set_up(dataset, cfg, runtime, generator, OneProcess(), should_stop, feature_cache,
                            limits or Limits())
    if run is None:
        yield Done(None, None, True, "stopped", [], None, time.perf_counter() - t0)
        return
    reason = yield from run_epochs(run, should_stop)
    yield from finish(run, reason, dataset, t0, shown_epochs(stop))


def run_to_end(events: Iterator[Event]) -> Done:
    """Consume a training generator, returning its Done event (for scripts and tests)."""
    done = None
    for ev in events:
        if isinstance(ev, Done):
            done = ev
    if done is None:
        raise TrainingError("training ended without a result")
    return done
