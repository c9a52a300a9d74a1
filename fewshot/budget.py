"""How many GPU seconds a job needs, and whether it fits the GPU time a ZeroGPU Space grants.

On a ZeroGPU Space every training or prediction asks for a GPU for a stated number of seconds
before it starts; a job that runs longer is cut off, and one that asks for more than the visitor's
limit is refused. So the app estimates the job from its size, asks for that much, and says in plain
words what to change when it would not fit, before any GPU time is spent.

Every figure here is an estimate, not a measurement on ZeroGPU: per-image costs are rounded-up
public throughput figures for these torchvision networks on A100/H100-class GPUs (a ZeroGPU slice
is part of an H200), and the total is multiplied by SAFETY. No gradio and no `spaces` import here.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Sequence

from .backbones import BACKBONES, DEFAULT_ARCH
from .config import STAGES

__all__ = ["DEFAULT_GPU_MAX_S", "Estimate", "Fit", "TRAIN_STARTUP_S", "estimate_predict", "estimate_training",
           "gpu_limit_s", "mean_photo_mb", "request_s", "training_fit"]

# Seconds per image for one inference forward pass of the whole backbone at its input size (224 px),
# batch >= 32, under AMP: each row's `forward_s` in fewshot/backbones.py, where the sources are noted.
# Reading one photo (JPEG draft-mode decode + resize, on CPU threads that run inside the GPU window)
# grows with its file size. Measured here on one busy core with PIL: cifar10 (1 KB) 1.3 ms,
# flowers (57 KB) 4.7 ms, hymenoptera (114 KB) 6.7 ms, i.e. about 1.5 ms + 50 ms per MB; draft mode
# keeps big phone photos (3-5 MB, decoded at 1/4-1/8 scale) near 30 ms, hence the cap.
DECODE_BASE_S = 0.0015
DECODE_S_PER_MB = 0.05
DECODE_MAX_S = 0.030
# Share of a forward pass spent in what each stage trains (ResNet18's layer4 is about a quarter of
# its multiply-adds, layers 3+4 about half; the others are similar or smaller). A training step
# costs about 3x the forward of what it trains (forward + backward for activations and weights).
TRAIN_SHARE = {"head": 0.0, "top": 0.30, "top2": 0.55, "all": 1.0}
BACKWARD_FACTOR = 3.0
HEAD_S = 0.00002  # the new last layer (and the crop/flip of its cached maps) per image
STEP_S = 0.005  # one optimizer step: kernel launches, Python, the learning-rate schedule
# Fixed cost of a training: ZeroGPU attaching a GPU and forking its worker, CUDA/cuDNN start-up,
# building the network and loading its ImageNet weights, a first small batch that sizes the rest.
TRAIN_STARTUP_S = 20.0
PREDICT_STARTUP_S = 5.0  # attach + moving one model (10-45 MB) to the GPU
TTA_VIEWS = 6  # "look twice" averages six views (fewshot/predict.py)
SAFETY = 1.5  # every estimate above is rough: ask for half as much again

# ZeroGPU limits (Hugging Face, 2025-2026; they change, so FEWSHOT_GPU_MAX_S overrides): a visitor
# without an account gets about 2 min of GPU a day, a free account about 3.5 min, a PRO account
# 25-40 min, and one call may ask for at most a few minutes (300 s for a long time). The default
# below is what a visitor without an account can count on for one training.
DEFAULT_GPU_MAX_S = 120.0


def gpu_limit_s() -> float:
    """The most GPU seconds one job may use here: FEWSHOT_GPU_MAX_S, else the free-tier default."""
    try:
        value = float(os.environ.get("FEWSHOT_GPU_MAX_S", ""))
    except ValueError:
        return DEFAULT_GPU_MAX_S
    return value if value > 0 else DEFAULT_GPU_MAX_S


@dataclass(frozen=True)
class Estimate:
    """GPU seconds for a training, split so that advice can be computed from it."""

    fixed_s: float  # start-up and the one pass over every photo (already including SAFETY)
    per_epoch_s: float  # one epoch: training steps plus the validation check (including SAFETY)
    epochs: int

    @property
    def seconds(self) -> float:
        return self.fixed_s + self.per_epoch_s * self.epochs

    def epochs_within(self, limit_s: float) -> int:
        """The most epochs that fit in `limit_s` (0 when not even one does)."""
        room = limit_s - self.fixed_s
        return max(0, int(math.floor(room / self.per_epoch_s + 1e-9))) if room > 0 else 0


def decode_s(photo_mb: float) -> float:
    """Seconds to read one photo of `photo_mb` megabytes (see DECODE_BASE_S)."""
    return min(DECODE_MAX_S, DECODE_BASE_S + DECODE_S_PER_MB * max(0.0, photo_mb))


def mean_photo_mb(paths: Sequence[str | os.PathLike], sample: int = 200) -> float:
    """Mean file size in MB of up to `sample` evenly spread files (missing files count as 0)."""
    paths = list(paths)
    if not paths:
        return 0.0
    picked = paths[:: max(1, len(paths) // sample)][:sample]
    sizes = []
    for p in picked:
        try:
            sizes.append(os.path.getsize(p))
        except OSError:
            sizes.append(0)
    return sum(sizes) / len(sizes) / 1e6


def estimate_training(n_train: int, n_val: int, arch: str = DEFAULT_ARCH, stage: str = "head", epochs: int = 10,
                      batch_size: int = 32, photo_mb: float = 0.15, input_px: int = 224) -> Estimate:
    """GPU seconds for `fewshot.train`: the frozen part runs once per photo, then each epoch trains the rest.

    `input_px`: the side of the square the network sees (each backbone's forward_s is for its own input_px,
    224; the cost grows with the area).
    """
    if arch not in BACKBONES or stage not in STAGES:
        raise ValueError(f"unknown backbone {arch!r} or stage {stage!r}")
    n_train, n_val, epochs, batch_size = max(0, n_train), max(0, n_val), max(1, epochs), max(1, batch_size)
    bb = BACKBONES[arch]
    fwd, share = bb.forward_s * (input_px / bb.input_px) ** 2, TRAIN_SHARE[stage]
    photos = n_train + n_val
    # One pass: decode every photo; the frozen part (all of it but the trained share) runs once on it.
    once = photos * (decode_s(photo_mb) + fwd * (1.0 - share))
    steps = math.ceil(n_train / batch_size)
    per_epoch = (n_train * (HEAD_S + fwd * share * BACKWARD_FACTOR) + n_val * (HEAD_S + fwd * share)
                 + steps * STEP_S)
    final_check = n_val * (HEAD_S + fwd * share)  # the best epoch is evaluated once more at the end
    return Estimate(fixed_s=SAFETY * (TRAIN_STARTUP_S + once + final_check), per_epoch_s=SAFETY * per_epoch,
                    epochs=epochs)


def estimate_predict(n_images: int = 1, arch: str = DEFAULT_ARCH, tta: bool = False, photo_mb: float = 0.15) -> float:
    """GPU seconds for predicting `n_images` pictures (one or a batch); a few seconds for one."""
    views = TTA_VIEWS if tta else 1
    # an unknown name (a model from a newer fewshot) is charged like the costliest backbone: asking for
    # too little GPU time gets the job cut off, too much only waits a little longer in the queue
    forward = BACKBONES[arch].forward_s if arch in BACKBONES else max(b.forward_s for b in BACKBONES.values())
    per = decode_s(photo_mb) + forward * views
    return SAFETY * (PREDICT_STARTUP_S + max(1, n_images) * per)


def request_s(seconds: float) -> int:
    """What to ask ZeroGPU for: whole seconds, rounded up."""
    return max(1, math.ceil(seconds))


@dataclass(frozen=True)
class Fit:
    """Whether a training fits the GPU time available, and if not, what to change."""

    fits: bool
    estimate_s: float
    limit_s: float
    epochs_that_fit: int  # with everything else unchanged (0: not even one epoch)
    head_fits: bool  # the same job with only the last layer learning would fit
    photos_that_fit: int  # about how many photos (train + val) would fit at these settings
    message: str  # plain English; empty when it fits


def training_fit(n_train: int, n_val: int, arch: str, stage: str, epochs: int, batch_size: int = 32,
                 photo_mb: float = 0.15, limit_s: float | None = None, input_px: int = 224) -> Fit:
    """Does this training fit in `limit_s` (default gpu_limit_s())? If not, advice in plain words."""
    limit = gpu_limit_s() if limit_s is None else float(limit_s)
    est = estimate_training(n_train, n_val, arch, stage, epochs, batch_size, photo_mb, input_px)
    n_photos, total = n_train + n_val, est.seconds
    if total <= limit:
        return Fit(True, total, limit, est.epochs, True, n_photos, "")
    fit_epochs = min(est.epochs, est.epochs_within(limit))
    head = estimate_training(n_train, n_val, arch, "head", epochs, batch_size, photo_mb, input_px)
    head_fits = head.seconds <= limit
    photos = _photos_within(n_train, n_val, arch, stage, epochs, batch_size, photo_mb, limit, input_px)
    # one sentence each, so that every piece is a whole message for the translation catalog (fewshot/i18n.py)
    parts = [f"This training needs about {request_s(total)} s of GPU time, but this Space can give one training "
             f"at most {request_s(limit)} s."]
    tips = []
    if fit_epochs >= 1:
        tips.append(f"Set Epochs to {fit_epochs} instead of {est.epochs}.")
    if stage != "head" and head_fits:
        tips.append("Let only the last layer learn (“Only the last layer” under “How much of the network learns”).")
    if photos >= 2:
        tips.append(f"Use about {photos} photos instead of {n_photos}.")
    if tips:
        parts += ["Any one of these changes would make it fit." if len(tips) > 1 else "This change would make it fit.",
                  *tips]
    else:
        parts.append("Run the app on your own computer instead, where there is no time limit.")
    message = " ".join(parts)
    return Fit(False, total, limit, fit_epochs, head_fits, photos, message)


def _photos_within(n_train: int, n_val: int, arch: str, stage: str, epochs: int, batch_size: int,
                   photo_mb: float, limit: float, input_px: int = 224) -> int:
    """The most photos (train and val shrunk alike) for which the same settings fit; 0 if none do."""
    n = n_train + n_val
    lo, hi = 0, n  # the cost grows with photos: bisect on the total
    while lo < hi:
        mid = (lo + hi + 1) // 2
        tr = round(n_train * mid / n)
        if estimate_training(tr, mid - tr, arch, stage, epochs, batch_size, photo_mb, input_px).seconds <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo
