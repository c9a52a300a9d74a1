"""What the trainable part of a network is fed: the frozen trunk's cached activations, or pixels.

Training (fewshot.train) and labelling (fewshot.labelling) share this: the settings "auto" stands for made
concrete for the photos (`resolve_config`), the model frozen for its stage (`build_for_stage`), the disk cache
of trunk activations (`feature_cache_for`), the inputs read once (`load_inputs`), then the batches training
steps take (`step_inputs`) and probabilities (`predict_probs`).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import numpy as np
import torch

from .archive import Limits
from .augment import WindowSums, augment_maps, augment_pixels, pools_globally
from .config import AUTO, SCRATCH_INPUT, Preprocessing, TrainConfig, auto_stage
from .data import Dataset, Sample
from .errors import TrainingError
from .evaluate import Diagnostic
from .features import DiskCache, PassProgress, cache_key, decode_many, trunk_pass
from .images import UnreadableImage, short_sides
from .models import build_model, cut_for_stage, freeze_for_stage, weights_filename
from .runtime import Runtime, free_memory, is_out_of_memory
from .train_events import Progress

__all__ = ["build_for_stage", "feature_cache_for", "load_inputs", "out_of_memory_notice", "predict_probs",
           "resolve_config", "step_inputs", "tail_forward"]

EVAL_BATCH = 128
# Head-stage training steps read window sums (augment.WindowSums) instead of whole maps when these fit in
# this much memory (hymenoptera: 150 MB); past it (cifar10's 5000 photos) steps read the maps as before.
WINDOW_SUMS_MAX_BYTES = 512 * 2**20


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


def build_for_stage(cfg: TrainConfig, num_classes: int, runtime: Runtime) -> tuple[torch.nn.Module, int, bool]:
    """(model frozen for cfg.stage on the runtime's device, where the trainable part starts, whether it pools
    globally)."""
    model = build_model(cfg.arch, num_classes, pretrained=cfg.pretrained, weights_file=cfg.weights_file,
                        pre=cfg.preprocessing).to(runtime.device)
    cut = cut_for_stage(model, cfg.stage)
    freeze_for_stage(model, cfg.stage)
    return model, cut, pools_globally(model, cut)  # head stage: augment straight to pooled window means


def feature_cache_for(cfg: TrainConfig, cut: int) -> DiskCache | None:
    """The disk cache of trunk activations for this backbone, cut and input (None when nothing is cached)."""
    if not (cfg.pretrained and cut > 0):
        return None
    return DiskCache(cache_key(cfg.arch, str(cfg.weights_file or weights_filename(cfg.arch)), cut, cfg.preprocessing))


def out_of_memory_notice(runtime: Runtime, old: int, new: int, where: str) -> Diagnostic:
    """The warning that a batch of `old` photos did not fit `where` and `new` at a time are tried instead."""
    return Diagnostic("out_of_memory", "warning",
                      f"The {runtime.device.type.upper()} ran out of memory {where} with {old} photos at a time; "
                      f"retrying with {new} at a time.",
                      "This only makes training slower. To avoid it, lower the batch size, unfreeze fewer "
                      "layers or pick a lighter backbone.")


def _vanished(what: str) -> str:
    return f"{what}. The photo changed or disappeared after it was checked; load the photos again."


def load_inputs(model: torch.nn.Module, cut: int, samples: list[Sample], cfg: TrainConfig, runtime: Runtime,
                should_stop: Callable[[], bool], cache: DiskCache | None, limits: Limits, phase_base: int,
                phase_total: int, sizes: dict[str, int] | None = None) -> Iterator[Progress | Diagnostic]:
    """Cached trunk activations (cut > 0) or decoded uint8 canvases (cut == 0), with progress: a generator of
    events returning the inputs, or None when stopped.

    `sizes` ({"features": n}) carries a batch size that ran out of memory on to the next call.
    """
    if cut > 0:
        return (yield from _trunk_activations(model, cut, samples, cfg, runtime, should_stop, cache, limits,
                                              phase_base, phase_total, {} if sizes is None else sizes))
    return (yield from _canvases(samples, cfg.preprocessing, should_stop, limits, phase_base, phase_total))


def _trunk_activations(model, cut, samples, cfg, runtime, should_stop, cache, limits, phase_base, phase_total,
                       sizes):
    """load_inputs through the frozen trunk, halving the batch for as long as it runs out of memory."""
    batch = sizes.setdefault("features", max(cfg.batch_size, 32))
    while True:
        result = None
        try:
            for item in trunk_pass(model, cut, samples, cfg.preprocessing, runtime, batch, cache, should_stop,
                                   limits.max_pixels):
                if isinstance(item, PassProgress):
                    yield Progress("features", phase_base + item.done, phase_total,
                                   f"Reading photos and running the frozen network ({item.cached} reused from cache)")
                else:
                    result = item
            return result
        except UnreadableImage as exc:
            raise TrainingError(_vanished(str(exc))) from None
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            if batch == 1:
                raise TrainingError("Out of memory while reading the photos, even one at a time. "
                                    "Pick a lighter backbone or train on the CPU.") from exc
            free_memory(runtime)
            batch = sizes["features"] = batch // 2
            yield out_of_memory_notice(runtime, batch * 2, batch, "while reading the photos")


def _canvases(samples, pre: Preprocessing, should_stop, limits: Limits, phase_base: int, phase_total: int):
    """load_inputs without a frozen trunk: every photo decoded to a uint8 [N, resize, resize, 3] canvas."""
    canvases, done = [], 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        for batch in decode_many([s.path for s in samples], pre, 64, pool, limits.max_pixels):
            if should_stop():
                return None
            bad = [(s, b) for s, b in zip(samples[done:done + len(batch)], batch) if isinstance(b, Exception)]
            if bad:
                raise TrainingError(_vanished(f"{os.path.basename(bad[0][0].path)}: {bad[0][1]}"))
            canvases.append(torch.from_numpy(np.stack(batch)))
            done += len(batch)
            yield Progress("features", phase_base + done, phase_total, "Reading photos")
    return torch.cat(canvases) if canvases else torch.empty(0, pre.resize, pre.resize, 3, dtype=torch.uint8)


def _view_batch(x: torch.Tensor, cut: int, cfg: TrainConfig, generator: torch.Generator | None,
               pooled: bool = False) -> torch.Tensor:
    """Batch as the model sees it: augmented when `generator` is given, the plain centre view otherwise."""
    if cut > 0:
        x = x.float()
        return augment_maps(x, cfg.augmentation, generator, pooled) if generator is not None else x
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    if generator is not None:
        return augment_pixels(x, cfg.augmentation, generator, cfg.preprocessing.crop)
    off = (cfg.preprocessing.resize - cfg.preprocessing.crop) // 2
    return x[..., off:off + cfg.preprocessing.crop, off:off + cfg.preprocessing.crop]


def _means(maps, chunk: int = 256) -> torch.Tensor:
    """Whole-map means [N, C, 1, 1] of cached maps (what the head's global pool computes), chunk by chunk."""
    return torch.cat([maps[i:i + chunk].float().mean((2, 3), keepdim=True) for i in range(0, len(maps), chunk)])


def step_inputs(train_inputs, val_inputs, cut: int, cfg: TrainConfig, pooled: bool) -> tuple[Callable, object]:
    """(batch(idx, generator) for training steps, what validation runs on), shared by train() and torchrun.

    The head stage reads window sums of its cached maps when they fit (WINDOW_SUMS_MAX_BYTES), and
    validates on maps pooled once; every other stage crops the cached inputs themselves.
    """
    if pooled:
        val_inputs = _means(val_inputs) if len(val_inputs) else val_inputs
        if len(train_inputs) and WindowSums.nbytes(tuple(train_inputs.shape)) <= WINDOW_SUMS_MAX_BYTES:
            sums = WindowSums(train_inputs)  # the maps themselves are then no longer held for training
            return (lambda idx, generator: sums.batch(idx, cfg.augmentation, generator)), val_inputs
    return (lambda idx, generator: _view_batch(train_inputs[idx], cut, cfg, generator, pooled)), val_inputs


def tail_forward(model, x: torch.Tensor, cut: int) -> torch.Tensor:
    """Logits from what training holds: pixels through the whole network when cut == 0, cached trunk
    activations through the trainable tail otherwise."""
    return model.tail(model.trunk(x, 0) if cut == 0 else x, cut)


def predict_probs(model, inputs, cut: int, cfg: TrainConfig, runtime: Runtime,
                  should_stop: Callable[[], bool]) -> torch.Tensor | None:
    """Class probabilities for held `inputs` (centre view, eval mode); None when `should_stop` says so first.
    Out of memory retries in smaller batches: the same numbers, so nothing for the user to know."""
    model.eval()
    outs, i, batch = [], 0, EVAL_BATCH
    with torch.inference_mode():
        while i < len(inputs):
            if should_stop():
                return None
            try:
                xb = _view_batch(inputs[i:i + batch], cut, cfg, None).to(runtime.device)
                with runtime.autocast():
                    outs.append(tail_forward(model, xb, cut).float().softmax(1).cpu())
            except (RuntimeError, MemoryError) as exc:
                if not is_out_of_memory(exc) or batch == 1:
                    raise
                free_memory(runtime)
                batch //= 2  # same numbers in smaller bites: nothing for the user to know
                continue
            i += len(xb)
    return torch.cat(outs) if outs else torch.empty(0)
