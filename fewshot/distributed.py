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
from torch import nn

from .archive import Limits
from .config import TrainConfig
from .data import Dataset, Sample
from .errors import TrainingError
from .runtime import Runtime, cpu_count, pick_runtime, seed_everything
from .train import EpochSums, OneProcess, finish, run_epochs, set_up
from .train_events import Done, Event, StopFlag, stop_checker
from .trunk_inputs import resolve_config, tail_forward

__all__ = ["is_distributed", "rank", "train"]


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_distributed() -> bool:
    """True when started by torchrun (or any launcher setting WORLD_SIZE) with more than one process."""
    return _world_size() > 1


class _Tail(nn.Module):
    """The trainable part as one module, so DDP's forward hooks see every trainable parameter."""

    def __init__(self, model: nn.Module, cut: int) -> None:
        super().__init__()
        self.model, self.cut = model, cut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tail_forward(self.model, x, self.cut)


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
    parts = [torch.empty_like(local, device=device) for _ in range(_world_size())]
    dist.all_gather(parts, local.to(device))
    out = torch.empty(n, local.shape[1])
    for r, part in enumerate(parts):
        out[torch.tensor(_shard(list(range(n)), r, _world_size()))] = part.cpu()  # type: ignore[arg-type]
    return out


def _sync_buffers(model: nn.Module) -> None:
    """Average BatchNorm running statistics over the ranks (each saw only its shard), so every
    rank holds the same model before it is evaluated or kept."""
    for b in model.buffers():
        if b.is_floating_point():
            dist.all_reduce(b)
            b.div_(_world_size())
        else:
            dist.broadcast(b, src=0)


def _agree(model: nn.Module, device: torch.device) -> None:
    """Fail loudly if the ranks ended with different weights (they never should under DDP)."""
    total = torch.stack([t.detach().double().sum() for t in model.state_dict().values()]).sum().reshape(1).to(device)
    lo, hi = total.clone(), total.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    if not torch.allclose(lo, hi, rtol=1e-9, atol=1e-9):
        raise TrainingError("the training processes ended with different weights; the run is not usable")


class DataParallel(OneProcess):
    """The training loop's questions answered across the processes of a torchrun launch: each takes its
    shard, stops and non-finite losses are decided together, sums and BatchNorm statistics are
    all-reduced, validation probabilities are gathered from every rank."""

    retries_out_of_memory = False  # one rank alone halving its batch would leave the others waiting

    def __init__(self, device: torch.device) -> None:
        self.device, self.world = device, _world_size()

    def shard(self, samples: list) -> list:
        return [samples[i] for i in _shard(samples, rank(), self.world)]

    def loading(self, arch: str) -> str:
        return f"Loading {arch} ({self.world} processes)"

    def epoch_message(self, epoch: int, epochs: int) -> str:
        return f"Epoch {epoch}/{epochs} ({self.world} processes)"

    def stops_before_step(self, should_stop) -> bool:
        return False  # decided with the loss, on every rank at once

    def halts_after_loss(self, loss: torch.Tensor, should_stop) -> str | None:
        # every rank must take the same branch: stop and non-finite loss are decided together
        flags = torch.tensor([float(should_stop()), float(not torch.isfinite(loss))], device=self.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return "stopped" if flags[0] > 0 else "non_finite" if flags[1] > 0 else None

    def end_epoch(self, model: nn.Module, sums: EpochSums) -> EpochSums:
        total = _all_sum([sums.loss, sums.right, sums.seen], self.device)
        _sync_buffers(model)
        return EpochSums(total[0], total[1], total[2], sums.batch_losses, sums.reason)

    def evaluation_stop(self, should_stop):
        return lambda: False  # every rank must take part in the gather

    def gather(self, probs: torch.Tensor, n: int) -> torch.Tensor:
        return _gather_probs(probs, n, self.device)

    def check_same_model(self, model: nn.Module) -> None:
        _agree(model, self.device)


def train(dataset: Dataset, config: TrainConfig | None = None, *, stop: StopFlag = None, device: str | None = None,
          feature_cache: bool = True, limits: Limits | None = None) -> Iterator[Event]:
    """`fewshot.train`, data-parallel over the processes of a torchrun launch."""
    rt, created = _setup(device)
    try:
        cfg = resolve_config(config or TrainConfig(), dataset)
        lead = rank() == 0
        for ev in _train(dataset, cfg, stop_checker(stop), rt, feature_cache, limits or Limits()):
            if lead or isinstance(ev, Done):  # rank 0 reports
                yield ev
    finally:
        if created and dist.is_initialized():
            dist.destroy_process_group()


def _train(dataset: Dataset, cfg: TrainConfig, should_stop, rt: Runtime, feature_cache: bool,
           limits: Limits) -> Iterator[Event]:
    """fewshot.train's set_up, run_epochs and finish, with the steps through DistributedDataParallel."""
    t0 = time.perf_counter()
    seed_everything(cfg.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    generator = torch.Generator().manual_seed(cfg.seed * 1009 + rank())  # each rank its own order and augmentations
    run = yield from set_up(dataset, cfg, rt, generator, DataParallel(rt.device), should_stop, feature_cache, limits)
    if run is None:
        raise TrainingError("training was stopped while the photos were being read")
    # buffers (BatchNorm statistics) are averaged once per epoch by _sync_buffers, not sent every step
    run.forward = nn.parallel.DistributedDataParallel(
        _Tail(run.model, run.cut), device_ids=[rt.device.index] if rt.device.type == "cuda" else None,
        broadcast_buffers=False)
    reason = yield from run_epochs(run, should_stop)
    yield from finish(run, reason, dataset, t0)
