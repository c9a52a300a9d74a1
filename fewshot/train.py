"""Training as a generator of small events; the UI and the CLI both consume it.

The frozen part of the network runs once per image (features.trunk_pass); each epoch
then trains only the unfrozen tail on augmented cached activations. A stop request is
honoured within one batch and the best model so far is kept.
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
from .evaluate import Diagnostic, EvalReport, data_diagnostics, diagnose, end_diagnostics, report_from_probs
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
    is_best: bool


@dataclass(frozen=True)
class Done:
    model: TrainedModel | None  # the best model so far; None when stopped before any epoch
    best_epoch: int | None
    stopped: bool
    reason: str  # "finished" | "stopped" | "early_stop" | "non_finite" | "out_of_memory"
    history: list[dict] = field(default_factory=list)
    evaluation: EvalReport | None = None
    seconds: float = 0.0


Event = Union[Progress, EpochEnd, Diagnostic, Done]
StopFlag = Union[threading.Event, Callable[[], bool], None]


def _stop_fn(stop: StopFlag) -> Callable[[], bool]:
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


def _steps(n: int, bs: int) -> int:
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


def _load_inputs(model, cut, samples, cfg, rt, stop, cache, limits, phase_base, phase_total, sizes=None):
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


def _view(x: torch.Tensor, cut: int, cfg: TrainConfig, g: torch.Generator | None, pooled: bool = False) -> torch.Tensor:
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
    return (lambda idx, g: _view(Xtr[idx], cut, cfg, g, pooled)), Xva


def _forward(model, x, cut):
    return model.tail(model.trunk(x, 0) if cut == 0 else x, cut)


def _predict_probs(model, X, cut, cfg, rt: Runtime, stop) -> torch.Tensor | None:
    model.eval()
    outs, i, batch = [], 0, EVAL_BATCH
    with torch.inference_mode():
        while i < len(X):
            if stop():
                return None
            try:
                xb = _view(X[i:i + batch], cut, cfg, None).to(rt.device)
                with rt.autocast():
                    outs.append(_forward(model, xb, cut).float().softmax(1).cpu())
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


@dataclass
class BestEpoch:
    """The best epoch so far: by validation accuracy, ties by validation loss (training loss without validation)."""

    prefixes: tuple[str, ...]  # the state-dict keys that training changes; the rest is never copied
    state: dict[str, torch.Tensor] | None = None
    key: tuple[float, float] | None = None
    epoch: int | None = None
    since: int = 0  # epochs since it, for early stopping

    def update(self, model, rec: dict) -> bool:
        """Keep the model's trainable weights if `rec` is the best epoch so far; says whether it was."""
        key = (rec["val_acc"], -rec["val_loss"]) if rec["val_acc"] is not None else (0.0, -rec["train_loss"])
        if self.key is not None and key <= self.key:
            self.since += 1
            return False
        self.state, self.key, self.epoch, self.since = _snapshot(model, self.prefixes), key, rec["epoch"], 0
        return True


def train(dataset: Dataset, config: TrainConfig | None = None, *, stop: StopFlag = None, device: str | None = None,
          feature_cache: bool = True, limits: Limits | None = None) -> Iterator[Event]:
    """Train a classifier on `dataset`; yields Progress, EpochEnd, Diagnostic, and finally Done."""
    cfg = resolve_config(config or TrainConfig(), dataset)
    limits = limits or Limits()
    should_stop = _stop_fn(stop)
    t0 = time.perf_counter()
    g = seed_everything(cfg.seed)
    rt = pick_runtime(device)
    classes = dataset.classes
    counts = {c: sum(s.label == i for s in dataset.train + dataset.val) for i, c in enumerate(classes)}
    for d in data_diagnostics(counts):
        yield d

    yield Progress("weights", 0, 1, f"Loading {cfg.arch}")
    model = build_model(cfg.arch, len(classes), pretrained=cfg.pretrained, weights_file=cfg.weights_file,
                        pre=cfg.preprocessing).to(rt.device)
    cut = cut_for_stage(model, cfg.stage)
    pooled = pools_globally(model, cut)  # head stage: augment straight to pooled window means
    freeze_for_stage(model, cfg.stage)
    cache = None
    if feature_cache and cfg.pretrained and cut > 0:
        wid = cfg.weights_file or weights_filename(cfg.arch)
        cache = DiskCache(cache_key(cfg.arch, str(wid), cut, cfg.preprocessing))

    n_tr, n_va = len(dataset.train), len(dataset.val)
    sizes: dict[str, int] = {}
    Xtr = yield from _load_inputs(model, cut, dataset.train, cfg, rt, should_stop, cache, limits, 0, n_tr + n_va, sizes)
    Xva = None if Xtr is None else (
        yield from _load_inputs(model, cut, dataset.val, cfg, rt, should_stop, cache, limits, n_tr, n_tr + n_va, sizes))
    if Xtr is None or Xva is None:
        yield Done(None, None, True, "stopped", [], None, time.perf_counter() - t0)
        return
    ytr = torch.tensor([s.label for s in dataset.train])
    yva = torch.tensor([s.label for s in dataset.val])
    batch_of, Xva = step_inputs(Xtr, Xva, cut, cfg, pooled)
    Xtr = None  # batch_of holds what training needs

    weight = None
    if cfg.balanced_loss:
        freq = torch.bincount(ytr, minlength=len(classes)).float().clamp_min(1)
        weight = (freq.sum() / (len(classes) * freq)).to(rt.device)
    opt = torch.optim.AdamW(param_groups(model, cfg.stage, cfg.lr, cfg.backbone_lr_mult, cfg.weight_decay))
    bs = min(cfg.batch_size, max(n_tr, 1))
    passes = passes_per_epoch(n_tr, bs, pooled)
    n_ep = n_tr * passes  # samples per epoch
    steps_total = cfg.epochs * _steps(n_ep, bs)

    def cosine(s: int) -> float:  # decay to 5% of the starting rate over the whole run
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, steps_total) / max(steps_total, 1)))

    def after_head_warmup(s: int) -> float:
        # unfrozen pretrained layers wait until the new head has learned something, so its first
        # random gradients do not scramble them (linear probe, then fine-tune)
        return 0.0 if s < round(steps_total * HEAD_WARMUP) else cosine(s)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, [cosine] + [after_head_warmup] * (len(opt.param_groups) - 1))
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.amp and rt.amp_dtype == torch.float16)
    prefixes = ("head.",) + (("neck.",) if cfg.stage != "head" else ()) + tuple(
        f"stages.{i}." for i in range(cut, len(model.stages)))

    history: list[dict] = []
    best = BestEpoch(prefixes)
    seen_codes: set[str] = set()
    reason = "finished"
    t_train = time.perf_counter()
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        te = time.perf_counter()
        set_train_mode(model, cfg.stage)
        perm = epoch_order(n_tr, passes, g)
        tot_loss, tot_ok, seen, batch_losses = 0.0, 0, 0, []
        bi = 0
        while bi < n_ep:
            if should_stop():
                reason = "stopped"
                break
            idx = perm[bi:n_ep if n_ep - bi <= bs + 1 else bi + bs]  # a lone last photo joins this batch
            try:
                xb = batch_of(idx, g).to(rt.device, non_blocking=True)
                yb = ytr[idx].to(rt.device)
                with rt.autocast():
                    logits = _forward(model, xb, cut)
                    loss = F.cross_entropy(logits.float(), yb, weight=weight, label_smoothing=cfg.label_smoothing)
                if not torch.isfinite(loss):
                    reason = "non_finite"
                    break
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            except (RuntimeError, MemoryError) as exc:
                if not _is_oom(exc):
                    raise
                opt.zero_grad(set_to_none=True)
                xb = yb = logits = loss = None
                _free_memory(rt)
                if bs == 1:
                    reason = "out_of_memory"
                    break
                bs //= 2  # the same photos again in smaller batches; the schedule stretches to match
                steps_total = step + (cfg.epochs - epoch + 1) * _steps(n_ep, bs)
                yield _oom_notice(rt, bs * 2, bs, f"in epoch {epoch}")
                continue
            bi += len(idx)
            sched.step()
            step += 1
            batch_losses.append(loss.item())
            tot_loss += loss.item() * len(idx)
            tot_ok += (logits.argmax(1) == yb).sum().item()
            seen += len(idx)
            rate = (time.perf_counter() - t_train) / step
            yield Progress("train", step, steps_total, f"Epoch {epoch}/{cfg.epochs}", rate * (steps_total - step))
        if reason == "finished" and not all(torch.isfinite(p).all() for p in model.parameters() if p.requires_grad):
            reason = "non_finite"  # the last step overflowed the weights: this epoch must not become "best"
        if reason != "finished":
            break
        probs = _predict_probs(model, Xva, cut, cfg, rt, should_stop) if n_va else None
        if n_va and probs is None:
            reason = "stopped"
            break
        rec = epoch_record(epoch, tot_loss, tot_ok, seen, probs, yva, opt.param_groups[0]["lr"], te)
        history.append(rec)
        yield epoch_end(rec, cfg.epochs, best.update(model, rec))
        yield from fresh_diagnostics(history, len(classes), batch_losses, seen_codes)
        if cfg.early_stop and best.since >= cfg.early_stop:
            reason = "early_stop"
            break

    if reason == "finished":
        yield from end_diagnostics(history, cfg.epochs, cfg.lr)
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
    model.load_state_dict(best.state, strict=False)
    model.eval()
    evaluation = None
    if n_va:
        yield Progress("evaluate", 0, 1, "Checking the best model on the validation photos")
        probs = _predict_probs(model, Xva, cut, cfg, rt, lambda: False)
        evaluation = report_from_probs(probs, yva, classes, [s.path for s in dataset.val])
    trained = TrainedModel.from_training(model.cpu(), classes, cfg, history, best.epoch, evaluation,
                                         dataset.counts().to_dict(orient="records"),
                                         trainable_parameters(model))
    yield Done(trained, best.epoch, reason in ("stopped", "non_finite", "out_of_memory"), reason, history, evaluation,
               time.perf_counter() - t0)


def run_to_end(events: Iterator[Event]) -> Done:
    """Consume a training generator, returning its Done event (for scripts and tests)."""
    done = None
    for ev in events:
        if isinstance(ev, Done):
            done = ev
    if done is None:
        raise TrainingError("training ended without a result")
    return done
