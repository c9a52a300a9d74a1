"""Training as a generator of small events; the UI and the CLI both consume it.

The frozen part of the network runs once per image (features.trunk_pass); each epoch
then trains only the unfrozen tail on augmented cached activations. A stop request is
honoured within one batch and the best model so far is kept, or, when the request names the epochs the
user saw (StopRequest), the best of those, with the history ending there.

The pieces follow torchvision's references/classification/train.py: `set_up` (model, inputs, optimizer),
`train_one_epoch`, `evaluate`, the epoch loop `run_epochs`, and `finish`; `train` strings them together and
`distributed.train` runs the same pieces across processes (its `DataParallel` answers `OneProcess`'s questions).
"""
from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

import numpy as np
import torch
import torch.nn.functional as F

from .archive import Limits
from .augment import WindowSums, augment_maps, augment_pixels, pools_globally
from .bundle import TrainedModel
from .config import AUTO, SCRATCH_INPUT, Preprocessing, TrainConfig, auto_stage
from .data import Dataset
from .errors import TrainingError
from .evaluate import (Diagnostic, EvalReport, clearly_better, data_diagnostics, diagnose, end_diagnostics,
                       kept_epoch, kept_note, report_from_probs)
from .features import DiskCache, PassProgress, cache_key, decode_many, trunk_pass
from .images import UnreadableImage, short_sides
from .models import (build_model, cut_for_stage, freeze_for_stage, param_groups, set_train_mode,
                     trainable_parameters, weights_filename)
from .runtime import Runtime, pick_runtime, seed_everything

EVAL_BATCH = 128
HEAD_WARMUP = 0.2  # fraction of steps the new head trains alone before unfrozen layers join
# The head stage trains on cached features, where a step costs next to nothing; with few photos an epoch
# of one pass is a handful of steps and ten epochs leave the new layer half-trained (flowers, 20 photos per
# class: 40 steps, train accuracy 0.93). There an epoch shows every photo as often as it takes to make
# this many steps, each time in a new random crop (bench/README.md).
HEAD_MIN_STEPS = 20
# Head-stage training steps read window sums (augment.WindowSums) instead of whole maps when these fit in
# this much memory (hymenoptera: 150 MB); past it (cifar10's 5000 photos) steps read the maps as before.
WINDOW_SUMS_MAX_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Progress:
    phase: str  # "weights" | "features" | "train" | "evaluate"
    done: int
    total: int
    message: str = ""
    eta_s: float | None = None


@dataclass(frozen=True)
class EpochEnd:
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float
    is_best: bool  # the epoch that would be kept if training ended now (evaluate.kept_epoch)


@dataclass(frozen=True)
class Done:
    model: TrainedModel | None  # the best model so far; None when stopped before any epoch
    best_epoch: int | None
    stopped: bool
    reason: str  # "finished" | "stopped" | "early_stop" | "non_finite" | "out_of_memory"
    history: list[dict] = field(default_factory=list)
    evaluation: EvalReport | None = None
    seconds: float = 0.0
    # which epoch was kept and why, in plain words: "kept the last epoch (10): no earlier epoch was clearly
    # better" or "kept epoch 4: clearly better than the last (90% vs 75%)" (evaluate.kept_note); "" without one
    kept_note: str = ""
    # a Stop that named the epochs the user saw (StopRequest.request): the model and history went back to them
    shown_epochs: int | None = None


Event = Union[Progress, EpochEnd, Diagnostic, Done]
StopFlag = Union[threading.Event, Callable[[], bool], None]


class StopRequest(threading.Event):
    """A stop flag that can also say how many epochs the user had seen when they asked (the page's curve, a
    few snapshots a second, trails a fast training): `request(shown_epochs=17)` stops the training and keeps
    no epoch after the 17th (the weights of recent epochs are held for this, BestEpoch.trim). `set()`, as
    Ctrl+C, the API and a closed tab do, keeps the best of every epoch that ended."""

    def __init__(self) -> None:
        super().__init__()
        self.shown_epochs: int | None = None

    def request(self, shown_epochs: int | None = None) -> None:
        """Stop; `shown_epochs` (1 or more): the epochs the user saw, which the model and history go back to."""
        if not self.is_set():  # a second click does not move the first one's epoch
            self.shown_epochs = int(shown_epochs) if shown_epochs and int(shown_epochs) >= 1 else None
        self.set()

    def clear(self) -> None:
        self.shown_epochs = None
        super().clear()


def shown_epochs(stop: StopFlag) -> int | None:
    """The epochs the user saw when they asked to stop (StopRequest, or any stop flag with a `shown_epochs`
    attribute, e.g. gpu_jobs' stop file); None when they named none."""
    n = getattr(stop, "shown_epochs", None)
    return n if isinstance(n, int) and n >= 1 else None


def stop_checker(stop: StopFlag) -> Callable[[], bool]:
    """A stop request as a function answering "stop now?": from a threading.Event, a callable or None (never)."""
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def _is_oom(exc: BaseException) -> bool:
    """CUDA, MPS and the CPU allocator each say 'out of memory' their own way."""
    text = str(exc).lower()
    return (isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError))
            or "out of memory" in text or "can't allocate memory" in text)


def _free_memory(rt: Runtime) -> None:
    if rt.device.type == "cuda":
        torch.cuda.empty_cache()


def _oom_notice(rt: Runtime, old: int, new: int, where: str) -> Diagnostic:
    return Diagnostic("out_of_memory", "warning",
                      f"The {rt.device.type.upper()} ran out of memory {where} with {old} photos at a time; "
                      f"retrying with {new} at a time.",
                      "This only makes training slower. To avoid it, lower the batch size, unfreeze fewer "
                      "layers or pick a lighter backbone.")


def steps_per_epoch(n: int, bs: int) -> int:
    """Optimizer steps per epoch. A batch of one photo breaks batch norm in training, so a lone
    last photo joins the batch before it."""
    return max(1, math.ceil(n / bs) - (1 if n > bs and n % bs == 1 else 0))


def passes_per_epoch(n: int, bs: int, pooled: bool) -> int:
    """How many times an epoch shows each training photo: once, or enough for HEAD_MIN_STEPS steps when
    only the head trains (on cached features)."""
    return max(1, math.ceil(HEAD_MIN_STEPS * bs / max(n, 1))) if pooled else 1


def epoch_order(n: int, passes: int, g: torch.Generator) -> torch.Tensor:
    """The photos in the order one epoch shows them: `passes` shuffles, one after the other."""
    return torch.cat([torch.randperm(n, generator=g) for _ in range(passes)])


def _vanished(what: str) -> str:
    return f"{what}. The photo changed or disappeared after it was checked; load the photos again."


def load_inputs(model, cut, samples, cfg, rt, stop, cache, limits, phase_base, phase_total, sizes=None):
    """Cached trunk activations (cut > 0) or decoded uint8 canvases (cut == 0), with progress.

    `sizes` ({"features": n}) carries a batch size that ran out of memory on to the next call.
    """
    pre = cfg.preprocessing
    sizes = {} if sizes is None else sizes
    batch = sizes.setdefault("features", max(cfg.batch_size, 32))
    while cut > 0:
        result = None
        try:
            for item in trunk_pass(model, cut, samples, pre, rt, batch, cache, stop, limits.max_pixels):
                if isinstance(item, PassProgress):
                    yield Progress("features", phase_base + item.done, phase_total,
                                   f"Reading photos and running the frozen network ({item.cached} reused from cache)")
                else:
                    result = item
            return result
        except UnreadableImage as exc:
            raise TrainingError(_vanished(str(exc))) from None
        except (RuntimeError, MemoryError) as exc:
            if not _is_oom(exc):
                raise
            if batch == 1:
                raise TrainingError("Out of memory while reading the photos, even one at a time. "
                                    "Pick a lighter backbone or train on the CPU.") from exc
            _free_memory(rt)
            batch = sizes["features"] = batch // 2
            yield _oom_notice(rt, batch * 2, batch, "while reading the photos")
    canv, done = [], 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        for batch in decode_many([s.path for s in samples], pre, 64, pool, limits.max_pixels):
            if stop():
                return None
            bad = [(s, b) for s, b in zip(samples[done:done + len(batch)], batch) if isinstance(b, Exception)]
            if bad:
                raise TrainingError(_vanished(f"{os.path.basename(bad[0][0].path)}: {bad[0][1]}"))
            canv.append(torch.from_numpy(np.stack(batch)))
            done += len(batch)
            yield Progress("features", phase_base + done, phase_total, "Reading photos")
    return torch.cat(canv) if canv else torch.empty(0, pre.resize, pre.resize, 3, dtype=torch.uint8)


def view_batch(x: torch.Tensor, cut: int, cfg: TrainConfig, g: torch.Generator | None,
               pooled: bool = False) -> torch.Tensor:
    """Batch as the model sees it: augmented when `g` is given, the plain centre view otherwise."""
    if cut > 0:
        x = x.float()
        return augment_maps(x, cfg.augmentation, g, pooled) if g is not None else x
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    if g is not None:
        return augment_pixels(x, cfg.augmentation, g, cfg.preprocessing.crop)
    off = (cfg.preprocessing.resize - cfg.preprocessing.crop) // 2
    return x[..., off:off + cfg.preprocessing.crop, off:off + cfg.preprocessing.crop]


def _means(maps, chunk: int = 256) -> torch.Tensor:
    """Whole-map means [N, C, 1, 1] of cached maps (what the head's global pool computes), chunk by chunk."""
    return torch.cat([maps[i:i + chunk].float().mean((2, 3), keepdim=True) for i in range(0, len(maps), chunk)])


def step_inputs(Xtr, Xva, cut: int, cfg: TrainConfig, pooled: bool) -> tuple[Callable, object]:
    """(batch(idx, g) for training steps, what validation runs on), shared by train() and torchrun.

    The head stage reads window sums of its cached maps when they fit (WINDOW_SUMS_MAX_BYTES), and
    validates on maps pooled once; every other stage crops the cached inputs themselves.
    """
    if pooled:
        Xva = _means(Xva) if len(Xva) else Xva
        if len(Xtr) and WindowSums.nbytes(tuple(Xtr.shape)) <= WINDOW_SUMS_MAX_BYTES:
            sums = WindowSums(Xtr)  # the maps themselves are then no longer held for training
            return (lambda idx, g: sums.batch(idx, cfg.augmentation, g)), Xva
    return (lambda idx, g: view_batch(Xtr[idx], cut, cfg, g, pooled)), Xva


def tail_forward(model, x, cut):
    """Logits from what training holds: pixels through the whole network when cut == 0, cached trunk
    activations through the trainable tail otherwise."""
    return model.tail(model.trunk(x, 0) if cut == 0 else x, cut)


def predict_probs(model, X, cut, cfg, rt: Runtime, stop) -> torch.Tensor | None:
    """Class probabilities for held inputs `X` (centre view, eval mode); None when `stop` says so first.
    Out of memory retries in smaller batches: the same numbers, so nothing for the user to know."""
    model.eval()
    outs, i, batch = [], 0, EVAL_BATCH
    with torch.inference_mode():
        while i < len(X):
            if stop():
                return None
            try:
                xb = view_batch(X[i:i + batch], cut, cfg, None).to(rt.device)
                with rt.autocast():
                    outs.append(tail_forward(model, xb, cut).float().softmax(1).cpu())
            except (RuntimeError, MemoryError) as exc:
                if not _is_oom(exc) or batch == 1:
                    raise
                _free_memory(rt)
                batch //= 2  # same numbers in smaller bites: nothing for the user to know
                continue
            i += len(xb)
    return torch.cat(outs) if outs else torch.empty(0)


def resolve_config(cfg: TrainConfig, dataset: Dataset) -> TrainConfig:
    """The config with every "choose for me" setting (stage, input size) made concrete for these photos."""
    if cfg.preprocessing is not None and cfg.stage != AUTO:
        return cfg
    sides = short_sides([s.path for s in dataset.train])
    changes: dict = {}
    if cfg.preprocessing is None:
        changes["preprocessing"] = Preprocessing.for_photos(sides) if cfg.pretrained else SCRATCH_INPUT
    if cfg.stage == AUTO:
        per_class = len(dataset.train) / max(len(dataset.classes), 1)
        # from scratch there are no pretrained features to choose around: the fastest stage, as the user can go further
        changes["stage"] = auto_stage(per_class, sides) if cfg.pretrained else "head"
    return cfg.with_(**changes)


def _snapshot(model, prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.startswith(prefixes)}


def epoch_record(epoch: int, loss_sum: float, right: int, seen: int, probs: torch.Tensor | None,
                 yva: torch.Tensor, lr: float, started: float) -> dict:
    """One row of the history; the validation figures come from the validation probabilities (None without)."""
    val_loss = val_acc = None
    if probs is not None:
        val_loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), yva).item()
        val_acc = (probs.argmax(1) == yva).float().mean().item()
    return {"epoch": epoch, "train_loss": loss_sum / max(seen, 1), "train_acc": right / max(seen, 1),
            "val_loss": val_loss, "val_acc": val_acc, "lr": lr, "seconds": time.perf_counter() - started}


def epoch_end(rec: dict, epochs: int, is_best: bool) -> EpochEnd:
    return EpochEnd(rec["epoch"], epochs, rec["train_loss"], rec["train_acc"], rec["val_loss"], rec["val_acc"],
                    rec["lr"], rec["seconds"], is_best)


def fresh_diagnostics(history: list[dict], num_classes: int, batch_losses: list[float],
                      seen: set[str]) -> list[Diagnostic]:
    """What diagnose() finds after this epoch that the run has not reported yet (each code once a run)."""
    out = []
    for d in diagnose(history, num_classes, batch_losses):
        if d.code not in seen:
            seen.add(d.code)
            out.append(d)
    return out


# Weights of recent epochs are held so that a Stop can go back to the epoch the page showed when it was pressed
# (the page draws a few times a second; at 20 epochs a second the engine is several epochs ahead of it): as
# many recent epochs as fit in RING_BYTES, at most RING_EPOCHS, at least the last. A head is kilobytes (all
# RING_EPOCHS fit); a whole MobileNetV2 is 14 MB (4 fit), and such epochs take seconds, so the page is at most
# one behind.
RING_BYTES = 64 * 2**20
RING_EPOCHS = 64


@dataclass
class BestEpoch:
    """The epoch to keep and its trainable weights (evaluate.kept_epoch: the last, unless an earlier one was
    clearly more accurate on the validation photos), and how many epochs the run has gone without progress.

    Weights are held for the epochs a Stop may go back to (`trim`): for each of the last `window` epochs N, the
    epoch that would be kept had training ended at N, and the most accurate one up to N (at most `window` + 1
    epochs' weights; `window` comes from RING_BYTES and the size of one epoch's weights).
    """

    prefixes: tuple[str, ...]  # the state-dict keys that training changes; the rest is never copied
    n_val: int = 0  # validation photos the accuracies are measured on
    records: list[dict] = field(default_factory=list)  # the epochs so far (history rows)
    states: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    since: int = 0  # epochs since the last progress, for early stopping
    ring_bytes: int = RING_BYTES
    window: int | None = None  # how many recent epochs a Stop can go back to (set by the first epoch's size)
    # (kept, most accurate) had training ended after epoch i + 1: a finished epoch never changes it
    prefix_kept: list[tuple[int, int]] = field(default_factory=list)

    @property
    def epoch(self) -> int | None:
        return self.prefix_kept[-1][0] if self.records else None

    @property
    def state(self) -> dict[str, torch.Tensor] | None:
        return self.states.get(self.epoch) if self.records else None

    @property
    def note(self) -> str:
        """Which epoch is kept and why, in plain words (Done.kept_note)."""
        return kept_note(self.records, self.n_val)

    def progress(self, rec: dict) -> bool:
        """Whether epoch `rec` moved the run on: clearly more accurate than every epoch before, or not
        clearly less accurate than the best and with a lower validation loss (without validation photos:
        a lower training loss). Photos flipping by chance neither reset nor run down early stopping."""
        if not self.records:
            return True
        if self.n_val <= 0 or rec["val_acc"] is None:
            return rec["train_loss"] < min(r["train_loss"] for r in self.records)
        best = max(r["val_acc"] for r in self.records)
        if clearly_better(rec["val_acc"], best, self.n_val):
            return True
        return not clearly_better(best, rec["val_acc"], self.n_val) and \
            rec["val_loss"] < min(r["val_loss"] for r in self.records)

    def update(self, model, rec: dict) -> bool:
        """Take in a finished epoch (its history row; the model holds its weights); says whether it is now
        the epoch to keep."""
        self.since = 0 if self.progress(rec) else self.since + 1
        self.records.append(rec)
        self.prefix_kept.append(kept_epoch(self.records, self.n_val))
        state = _snapshot(model, self.prefixes)
        if self.window is None:
            size = sum(t.numel() * t.element_size() for t in state.values())
            self.window = max(1, min(RING_EPOCHS, self.ring_bytes // max(size, 1)))
        self.states[rec["epoch"]] = state
        self._forget()
        return self.prefix_kept[-1][0] == rec["epoch"]

    def _forget(self) -> None:
        """Let go of the weights no Stop can go back to."""
        n = len(self.records)
        keep = {e for m in range(max(1, n - (self.window or 1) + 1), n + 1) for e in self.prefix_kept[m - 1]}
        self.states = {e: st for e, st in self.states.items() if e in keep}

    def trim(self, n: int) -> bool:
        """Go back to the first `n` epochs (what the page showed when Stop was pressed), when the weights of the
        epoch kept among them are still held; True when it did."""
        if not 1 <= n < len(self.records) or self.prefix_kept[n - 1][0] not in self.states:
            return False
        del self.records[n:], self.prefix_kept[n:]
        self._forget()
        return True


def trained_prefixes(model, stage: str, cut: int) -> tuple[str, ...]:
    """The state-dict keys that training changes at this stage (the rest is never copied)."""
    return ("head.",) + (("neck.",) if stage != "head" else ()) + tuple(
        f"stages.{i}." for i in range(cut, len(model.stages)))


def class_weights(labels: torch.Tensor, num_classes: int, device: torch.device) -> torch.Tensor:
    """Loss weights inversely proportional to each class's share of the training photos (balanced loss)."""
    freq = torch.bincount(labels, minlength=num_classes).float().clamp_min(1)
    return (freq.sum() / (num_classes * freq)).to(device)


class Schedule:
    """Learning-rate multipliers: a cosine decay to 5% of the starting rate over `total` steps; unfrozen
    pretrained layers wait until the new head has learned something (the first HEAD_WARMUP of the steps),
    so its first random gradients do not scramble them (linear probe, then fine-tune). `total` grows
    when running out of memory halves the batch size."""

    def __init__(self, total: int) -> None:
        self.total = total

    def cosine(self, s: int) -> float:
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, self.total) / max(self.total, 1)))

    def after_head_warmup(self, s: int) -> float:
        return 0.0 if s < round(self.total * HEAD_WARMUP) else self.cosine(s)


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

    cfg: TrainConfig
    rt: Runtime
    par: OneProcess
    classes: list[str]
    model: torch.nn.Module
    cut: int
    g: torch.Generator  # data order and augmentation
    forward: Callable[[torch.Tensor], torch.Tensor]  # training forward (a DDP module under torchrun)
    batch_of: Callable  # batch_of(idx, g): an augmented training batch
    ytr: torch.Tensor  # labels of the training photos batch_of reads
    Xva: object  # this process's validation inputs
    yva: torch.Tensor  # labels of every validation photo
    weight: torch.Tensor | None  # class weights of the loss
    opt: torch.optim.Optimizer
    schedule: Schedule
    sched: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    bs: int  # photos per step in this process
    passes: int  # times an epoch shows each training photo
    best: BestEpoch
    history: list[dict] = field(default_factory=list)
    step: int = 0
    started: float = 0.0  # when the first epoch began

    @property
    def n_tr(self) -> int:
        return len(self.ytr)

    @property
    def n_va(self) -> int:
        return len(self.yva)


def build_for_stage(cfg: TrainConfig, num_classes: int, rt: Runtime) -> tuple[torch.nn.Module, int, bool]:
    """(model frozen for cfg.stage on rt's device, where the trainable part starts, whether it pools globally)."""
    model = build_model(cfg.arch, num_classes, pretrained=cfg.pretrained, weights_file=cfg.weights_file,
                        pre=cfg.preprocessing).to(rt.device)
    cut = cut_for_stage(model, cfg.stage)
    freeze_for_stage(model, cfg.stage)
    return model, cut, pools_globally(model, cut)  # head stage: augment straight to pooled window means


def feature_cache_for(cfg: TrainConfig, cut: int) -> DiskCache | None:
    """The disk cache of trunk activations for this backbone, cut and input (None when nothing is cached)."""
    if not (cfg.pretrained and cut > 0):
        return None
    return DiskCache(cache_key(cfg.arch, str(cfg.weights_file or weights_filename(cfg.arch)), cut, cfg.preprocessing))


def set_up(dataset: Dataset, cfg: TrainConfig, rt: Runtime, g: torch.Generator, par: OneProcess,
           should_stop: Callable[[], bool], feature_cache: bool, limits: Limits) -> Iterator[Event]:
    """Everything before the first epoch: model, inputs (through the frozen trunk), optimizer and schedule.
    A generator of events returning the Run, or None when stopped while reading the photos."""
    classes = dataset.classes
    yield from data_diagnostics({c: sum(s.label == i for s in dataset.train + dataset.val)
                                 for i, c in enumerate(classes)})
    yield Progress("weights", 0, 1, par.loading(cfg.arch))
    model, cut, pooled = build_for_stage(cfg, len(classes), rt)
    cache = feature_cache_for(cfg, cut) if feature_cache else None
    tr, va = par.shard(dataset.train), par.shard(dataset.val)
    total, sizes = len(tr) + len(va), {}
    Xtr = yield from load_inputs(model, cut, tr, cfg, rt, should_stop, cache, limits, 0, total, sizes)
    Xva = None if Xtr is None else (
        yield from load_inputs(model, cut, va, cfg, rt, should_stop, cache, limits, len(tr), total, sizes))
    if Xtr is None or Xva is None:
        return None
    batch_of, Xva = step_inputs(Xtr, Xva, cut, cfg, pooled)
    del Xtr  # batch_of holds what training needs
    n_all = len(dataset.train)
    bs = max(1, min(cfg.batch_size // par.world, len(tr)))  # per process: the global batch stays batch_size
    # the number of passes comes from the whole set and the global batch, so every process agrees on it
    passes = passes_per_epoch(n_all, min(cfg.batch_size, max(n_all, 1)), pooled)
    opt = torch.optim.AdamW(param_groups(model, cfg.stage, cfg.lr, cfg.backbone_lr_mult, cfg.weight_decay))
    schedule = Schedule(cfg.epochs * steps_per_epoch(len(tr) * passes, bs))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, [schedule.cosine] + [schedule.after_head_warmup] * (len(opt.param_groups) - 1))
    weight = class_weights(torch.tensor([s.label for s in dataset.train]), len(classes), rt.device) \
        if cfg.balanced_loss else None
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.amp and rt.amp_dtype == torch.float16)
    return Run(cfg, rt, par, classes, model, cut, g, lambda x: tail_forward(model, x, cut), batch_of,
               torch.tensor([s.label for s in tr]), Xva, torch.tensor([s.label for s in dataset.val]), weight,
               opt, schedule, sched, scaler, bs, passes,
               BestEpoch(trained_prefixes(model, cfg.stage, cut), len(dataset.val)))


def train_one_epoch(run: Run, epoch: int, should_stop: Callable[[], bool]) -> Iterator[Event]:
    """The training steps of one epoch, each photo shown run.passes times in a new random view.
    A generator of Progress (and out-of-memory notices) returning the epoch's EpochSums."""
    cfg, rt, sums = run.cfg, run.rt, EpochSums()
    set_train_mode(run.model, cfg.stage)
    perm = epoch_order(run.n_tr, run.passes, run.g)
    n_ep, bi = run.n_tr * run.passes, 0  # samples this epoch, samples done
    while bi < n_ep:
        if run.par.stops_before_step(should_stop):
            sums.reason = "stopped"
            break
        idx = perm[bi:n_ep if n_ep - bi <= run.bs + 1 else bi + run.bs]  # a lone last photo joins this batch
        try:
            xb = run.batch_of(idx, run.g).to(rt.device, non_blocking=True)
            yb = run.ytr[idx].to(rt.device)
            with rt.autocast():
                logits = run.forward(xb)
                loss = F.cross_entropy(logits.float(), yb, weight=run.weight, label_smoothing=cfg.label_smoothing)
            halt = run.par.halts_after_loss(loss, should_stop)
            if halt:
                sums.reason = halt
                break
            run.opt.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(run.opt)
            run.scaler.update()
        except (RuntimeError, MemoryError) as exc:
            if not (run.par.retries_out_of_memory and _is_oom(exc)):
                raise
            run.opt.zero_grad(set_to_none=True)
            xb = yb = logits = loss = None
            _free_memory(rt)
            if run.bs == 1:
                sums.reason = "out_of_memory"
                break
            run.bs //= 2  # the same photos again in smaller batches; the schedule stretches to match
            run.schedule.total = run.step + (cfg.epochs - epoch + 1) * steps_per_epoch(n_ep, run.bs)
            yield _oom_notice(rt, run.bs * 2, run.bs, f"in epoch {epoch}")
            continue
        bi += len(idx)
        run.sched.step()
        run.step += 1
        sums.batch_losses.append(loss.item())
        sums.loss += loss.item() * len(idx)
        sums.right += (logits.argmax(1) == yb).sum().item()
        sums.seen += len(idx)
        total, rate = run.schedule.total, (time.perf_counter() - run.started) / run.step
        yield Progress("train", run.step, total, run.par.epoch_message(epoch, cfg.epochs), rate * (total - run.step))
    return sums


def evaluate(run: Run, should_stop: Callable[[], bool]) -> torch.Tensor | None:
    """Probabilities of the model as it is now for every validation photo, in dataset order (None when
    stopped)."""
    probs = predict_probs(run.model, run.Xva, run.cut, run.cfg, run.rt, run.par.evaluation_stop(should_stop))
    return None if probs is None else run.par.gather(probs, run.n_va)


def weights_finite(model) -> bool:
    """Whether every trainable weight is a finite number (a last step can overflow them)."""
    return all(torch.isfinite(p).all() for p in model.parameters() if p.requires_grad)


def run_epochs(run: Run, should_stop: Callable[[], bool]) -> Iterator[Event]:
    """The epochs: train, validate, keep the best, report; a generator of events returning why it ended
    ("finished" | "stopped" | "early_stop" | "non_finite" | "out_of_memory")."""
    cfg, reason, seen_codes = run.cfg, "finished", set()
    run.started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        te = time.perf_counter()
        sums = yield from train_one_epoch(run, epoch, should_stop)
        reason = sums.reason
        if reason == "finished" and not weights_finite(run.model):
            reason = "non_finite"  # the last step overflowed the weights: this epoch must not become "best"
        if reason != "finished":
            break
        sums = run.par.end_epoch(run.model, sums)
        probs = evaluate(run, should_stop) if run.n_va else None
        if run.n_va and probs is None:
            reason = "stopped"
            break
        rec = epoch_record(epoch, sums.loss, sums.right, sums.seen, probs, run.yva, run.opt.param_groups[0]["lr"], te)
        run.history.append(rec)
        yield epoch_end(rec, cfg.epochs, run.best.update(run.model, rec))
        yield from fresh_diagnostics(run.history, len(run.classes), sums.batch_losses, seen_codes)
        if cfg.early_stop and run.best.since >= cfg.early_stop:
            reason = "early_stop"
            break
    return reason


def finish(run: Run, reason: str, dataset: Dataset, t0: float, shown: int | None = None) -> Iterator[Event]:
    """After the epochs: closing advice, the kept epoch's weights back in the model, its evaluation on the
    validation photos, and Done. A stop that names the `shown` epochs the user saw goes back to them: the model
    is the one kept among those epochs, and the history ends there (Done.shown_epochs says so)."""
    cfg, best = run.cfg, run.best
    if reason == "stopped" and shown is not None and best.trim(shown):
        del run.history[shown:]
    history = run.history
    as_shown = len(history) if reason == "stopped" and shown is not None and len(history) == shown else None
    if reason == "finished":
        yield from end_diagnostics(history, cfg.epochs, cfg.lr, run.n_va)
    if reason == "non_finite":
        yield Diagnostic("non_finite", "error",
                         f"Training stopped at epoch {len(history) + 1}: the loss became infinite (NaN).",
                         f"Lower the learning rate (now {cfg.lr:g}; try {cfg.lr / 10:g})."
                         + (" The best model from before is kept." if best.state else ""))
    if reason == "out_of_memory":
        yield Diagnostic("out_of_memory", "error", "Training stopped: out of memory even with one photo per batch.",
                         "Unfreeze fewer layers, pick a lighter backbone, or train on the CPU."
                         + (" The best model from before is kept." if best.state else ""))
    if best.state is None:
        yield Done(None, None, reason != "finished", reason, history, None, time.perf_counter() - t0)
        return
    model = run.model
    model.load_state_dict(best.state, strict=False)
    run.par.check_same_model(model)
    model.eval()
    evaluation = None
    if run.n_va:
        yield Progress("evaluate", 0, 1, "Checking the best model on the validation photos")
        evaluation = report_from_probs(evaluate(run, lambda: False), run.yva, run.classes,
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
    g = seed_everything(cfg.seed)
    rt = pick_runtime(device)
    run = yield from set_up(dataset, cfg, rt, g, OneProcess(), should_stop, feature_cache, limits or Limits())
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
