"""Data-parallel training across processes: `torchrun --nproc_per_node N -m fewshot train ...`.

Each process (rank) reads and runs the frozen trunk over its own shard of the photos, so
the feature pass splits N ways too; the trainable tail is wrapped in DistributedDataParallel
(gloo on CPUs, nccl on GPUs), each rank training on its shard with batch_size / N photos
per step so the global batch is the one asked for. Validation probabilities are gathered
from every rank, so all ranks choose the same best epoch; rank 0 reports and saves.
The events are the same as `fewshot.train`'s; ranks other than 0 yield only `Done`.
"""
from __future__ import annotations

import math
import os
import time
from datetime import timedelta
from typing import Iterator

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .archive import Limits
from .augment import pools_globally
from .bundle import TrainedModel
from .config import TrainConfig
from .data import Dataset, Sample
from .errors import TrainingError
from .evaluate import Diagnostic, data_diagnostics, end_diagnostics, report_from_probs
from .features import DiskCache, cache_key
from .models import (build_model, cut_for_stage, freeze_for_stage, param_groups, set_train_mode,
                     trainable_parameters, weights_filename)
from .runtime import Runtime, cpu_count, pick_runtime, seed_everything
from .train import (EVAL_BATCH, BestEpoch, Done, Event, Progress, StopFlag, _forward, _load_inputs, _stop_fn, _view,
                    epoch_end, epoch_order, epoch_record, fresh_diagnostics, passes_per_epoch, resolve_config,
                    step_inputs)

try:  # the same schedule as single-process training
    from .train import HEAD_WARMUP
except ImportError:  # a train.py without the head-first warm-up
    HEAD_WARMUP = 0.0


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_distributed() -> bool:
    """True when started by torchrun (or any launcher setting WORLD_SIZE) with more than one process."""
    return world_size() > 1


class _Tail(nn.Module):
    """The trainable part as one module, so DDP's forward hooks see every trainable parameter."""

    def __init__(self, model: nn.Module, cut: int) -> None:
        super().__init__()
        self.model, self.cut = model, cut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _forward(self.model, x, self.cut)


def _setup(device: str | None) -> tuple[Runtime, bool]:
    """Join the process group (once) and pick this rank's device."""
    local = int(os.environ.get("LOCAL_RANK", rank()))
    rt = pick_runtime(device)
    if rt.device.type == "cuda":
        torch.cuda.set_device(local)
        rt = Runtime(torch.device("cuda", local), rt.amp, rt.amp_dtype)
    elif rt.device.type == "cpu":
        torch.set_num_threads(cpu_count())  # the ranks share the cores: each takes its part
    created = not dist.is_initialized()
    if created:
        dist.init_process_group("nccl" if rt.device.type == "cuda" else "gloo", timeout=timedelta(minutes=30))
    return rt, created


def _shard(samples: list[Sample], r: int, n: int) -> list[int]:
    """Indexes of rank r's share, padded by repeating so every rank takes the same number of steps."""
    if not samples:
        return []
    per = math.ceil(len(samples) / n)
    return [(r + k * n) % len(samples) for k in range(per)]


def _all_sum(values: list[float], device: torch.device) -> list[float]:
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def _gather_probs(local: torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    """Every rank's validation probabilities, back in dataset order (padding dropped)."""
    parts = [torch.empty_like(local, device=device) for _ in range(world_size())]
    dist.all_gather(parts, local.to(device))
    out = torch.empty(n, local.shape[1])
    for r, part in enumerate(parts):
        out[torch.tensor(_shard(list(range(n)), r, world_size()))] = part.cpu()  # type: ignore[arg-type]
    return out


def _sync_buffers(model: nn.Module) -> None:
    """Average BatchNorm running statistics over the ranks (each saw only its shard), so every
    rank holds the same model before it is evaluated or kept."""
    for b in model.buffers():
        if b.is_floating_point():
            dist.all_reduce(b)
            b.div_(world_size())
        else:
            dist.broadcast(b, src=0)


def _probs(model, X, cut, cfg, rt) -> torch.Tensor:
    model.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(X), EVAL_BATCH):
            xb = _view(X[i:i + EVAL_BATCH], cut, cfg, None).to(rt.device)
            with rt.autocast():
                outs.append(_forward(model, xb, cut).float().softmax(1).cpu())
    return torch.cat(outs)


def _agree(model: nn.Module, device: torch.device) -> None:
    """Fail loudly if the ranks ended with different weights (they never should under DDP)."""
    total = torch.stack([t.detach().double().sum() for t in model.state_dict().values()]).sum().reshape(1).to(device)
    lo, hi = total.clone(), total.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    if not torch.allclose(lo, hi, rtol=1e-9, atol=1e-9):
        raise TrainingError("the training processes ended with different weights; the run is not usable")


def train(dataset: Dataset, config: TrainConfig | None = None, *, stop: StopFlag = None, device: str | None = None,
          feature_cache: bool = True, limits: Limits | None = None) -> Iterator[Event]:
    """`fewshot.train`, data-parallel over the processes of a torchrun launch."""
    rt, created = _setup(device)
    try:
        cfg = resolve_config(config or TrainConfig(), dataset)
        yield from _train(dataset, cfg, _stop_fn(stop), rt, feature_cache, limits or Limits())
    finally:
        if created and dist.is_initialized():
            dist.destroy_process_group()


def _train(dataset: Dataset, cfg: TrainConfig, should_stop, rt: Runtime, feature_cache: bool,
           limits: Limits) -> Iterator[Event]:
    t0 = time.perf_counter()
    r, n_ranks, lead = rank(), world_size(), rank() == 0
    seed_everything(cfg.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    g = torch.Generator().manual_seed(cfg.seed * 1009 + r)  # each rank its own order and augmentations
    classes = dataset.classes
    if lead:
        yield from data_diagnostics({c: sum(s.label == i for s in dataset.train + dataset.val)
                                     for i, c in enumerate(classes)})
        yield Progress("weights", 0, 1, f"Loading {cfg.arch} ({n_ranks} processes)")
    model = build_model(cfg.arch, len(classes), pretrained=cfg.pretrained, weights_file=cfg.weights_file,
                        pre=cfg.preprocessing).to(rt.device)
    cut = cut_for_stage(model, cfg.stage)
    pooled = pools_globally(model, cut)
    freeze_for_stage(model, cfg.stage)
    cache = None
    if feature_cache and cfg.pretrained and cut > 0:
        cache = DiskCache(cache_key(cfg.arch, str(cfg.weights_file or weights_filename(cfg.arch)), cut,
                                    cfg.preprocessing))

    tr_idx, va_idx = _shard(dataset.train, r, n_ranks), _shard(dataset.val, r, n_ranks)
    tr, va = [dataset.train[i] for i in tr_idx], [dataset.val[i] for i in va_idx]
    total = len(tr) + len(va)
    events = _load_inputs(model, cut, tr, cfg, rt, should_stop, cache, limits, 0, total)
    Xtr = yield from (events if lead else _quiet(events))
    events = _load_inputs(model, cut, va, cfg, rt, should_stop, cache, limits, len(tr), total)
    Xva = yield from (events if lead else _quiet(events))
    if Xtr is None or Xva is None:
        raise TrainingError("training was stopped while the photos were being read")
    ytr = torch.tensor([s.label for s in tr])
    batch_of, Xva = step_inputs(Xtr, Xva, cut, cfg, pooled)
    Xtr = None  # batch_of holds what training needs
    yva_all = torch.tensor([s.label for s in dataset.val])

    tail = _Tail(model, cut)
    # buffers (BatchNorm statistics) are averaged once per epoch by _sync_buffers, not sent every step
    ddp = nn.parallel.DistributedDataParallel(tail, device_ids=[rt.device.index] if rt.device.type == "cuda" else None,
                                              broadcast_buffers=False)
    weight = None
    if cfg.balanced_loss:
        freq = torch.bincount(torch.tensor([s.label for s in dataset.train]), minlength=len(classes)).float()
        weight = (freq.sum() / (len(classes) * freq.clamp_min(1))).to(rt.device)
    opt = torch.optim.AdamW(param_groups(model, cfg.stage, cfg.lr, cfg.backbone_lr_mult, cfg.weight_decay))
    bs = max(1, min(cfg.batch_size // n_ranks, len(tr)))  # per rank: the global batch stays batch_size
    # the number of passes comes from the whole set and the global batch, so every rank agrees on it
    passes = passes_per_epoch(len(dataset.train), min(cfg.batch_size, len(dataset.train)), pooled)
    n_ep = len(tr) * passes
    steps_epoch = max(1, math.ceil(n_ep / bs) - (1 if n_ep > bs and n_ep % bs == 1 else 0))
    steps_total = cfg.epochs * steps_epoch
    cosine = lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, steps_total) / max(steps_total, 1)))
    warm = lambda s: 0.0 if s < round(steps_total * HEAD_WARMUP) else cosine(s)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, [cosine] + [warm] * (len(opt.param_groups) - 1))
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.amp and rt.amp_dtype == torch.float16)
    prefixes = ("head.",) + (("neck.",) if cfg.stage != "head" else ()) + tuple(
        f"stages.{i}." for i in range(cut, len(model.stages)))

    history: list[dict] = []
    best, reason, step = BestEpoch(prefixes), "finished", 0
    seen_codes: set[str] = set()
    for epoch in range(1, cfg.epochs + 1):
        te = time.perf_counter()
        set_train_mode(model, cfg.stage)
        perm = epoch_order(len(tr), passes, g)
        sums, batch_losses = [0.0, 0.0, 0.0], []  # loss * n, correct, n
        for bi in range(0, steps_epoch * bs, bs):  # the same number of steps on every rank
            idx = perm[bi:n_ep if n_ep - bi <= bs + 1 else bi + bs]  # a lone last photo joins this batch
            xb = batch_of(idx, g).to(rt.device, non_blocking=True)
            yb = ytr[idx].to(rt.device)
            with rt.autocast():
                logits = ddp(xb)
                loss = F.cross_entropy(logits.float(), yb, weight=weight, label_smoothing=cfg.label_smoothing)
            # every rank must take the same branch: stop and non-finite loss are decided together
            flags = torch.tensor([float(should_stop()), float(not torch.isfinite(loss))], device=rt.device)
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
            if flags[0] > 0 or flags[1] > 0:
                reason = "stopped" if flags[0] > 0 else "non_finite"
                break
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            batch_losses.append(loss.item())
            sums = [sums[0] + loss.item() * len(idx), sums[1] + (logits.argmax(1) == yb).sum().item(),
                    sums[2] + len(idx)]
            if lead:
                yield Progress("train", step, steps_total, f"Epoch {epoch}/{cfg.epochs} ({n_ranks} processes)")
        if reason != "finished":
            break
        sums = _all_sum(sums, rt.device)
        _sync_buffers(model)
        probs = _gather_probs(_probs(model, Xva, cut, cfg, rt), len(dataset.val), rt.device) if len(dataset.val) \
            else None
        rec = epoch_record(epoch, sums[0], sums[1], sums[2], probs, yva_all, opt.param_groups[0]["lr"], te)
        history.append(rec)
        is_best = best.update(model, rec)
        if lead:
            yield epoch_end(rec, cfg.epochs, is_best)
            yield from fresh_diagnostics(history, len(classes), batch_losses, seen_codes)
        if cfg.early_stop and best.since >= cfg.early_stop:
            reason = "early_stop"
            break

    if reason == "finished" and lead:
        yield from end_diagnostics(history, cfg.epochs, cfg.lr)
    if reason == "non_finite" and lead:
        yield Diagnostic("non_finite", "error", f"Training stopped at epoch {len(history) + 1}: the loss became "
                         "infinite (NaN).", f"Lower the learning rate (now {cfg.lr:g}; try {cfg.lr / 10:g}).")
    if best.state is None:
        yield Done(None, None, reason != "finished", reason, history, None, time.perf_counter() - t0)
        return
    model.load_state_dict(best.state, strict=False)
    _agree(model, rt.device)
    evaluation = None
    if len(dataset.val):
        if lead:
            yield Progress("evaluate", 0, 1, "Checking the best model on the validation photos")
        probs = _gather_probs(_probs(model, Xva, cut, cfg, rt), len(dataset.val), rt.device)
        evaluation = report_from_probs(probs, yva_all, classes, [s.path for s in dataset.val])
    trained = TrainedModel.from_training(model.cpu(), classes, cfg, history, best.epoch, evaluation,
                                         dataset.counts().to_dict(orient="records"), trainable_parameters(model))
    yield Done(trained, best.epoch, reason in ("stopped", "non_finite"), reason, history, evaluation,
               time.perf_counter() - t0)


def _quiet(events: Iterator[Event]):
    """Run a sub-generator for its return value, dropping its events (ranks other than 0)."""
    yield from ()
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value
