"""Augmentation that survives caching.

For cached trunk activations, a random crop of the activation map (then pooled or fed to
the trainable stages) plays the part of RandomResizedCrop, and a mirrored map plays the
part of a horizontal flip. For the whole-network stage, the same presets act on pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["WindowSums", "augment_maps", "augment_pixels", "pools_globally"]

# (smallest crop side as a fraction of the map side, flip probability)
PRESETS = {"none": (1.0, 0.0), "light": (0.7, 0.5), "strong": (0.5, 0.5)}


def _crops(x: torch.Tensor, min_frac: float, g: torch.Generator, out_size: int | None) -> torch.Tensor:
    n, c, h, w = x.shape
    if min_frac >= 1.0:
        return x
    # one window size per batch (so the batch stays one tensor), a random place per sample
    frac = min_frac + (1 - min_frac) * torch.rand(2, generator=g)
    kh, kw = max(1, round(h * frac[0].item())), max(1, round(w * frac[1].item()))
    ys = torch.randint(0, h - kh + 1, (n,), generator=g)
    xs = torch.randint(0, w - kw + 1, (n,), generator=g)
    if h * w <= 4096:  # activation maps: one gather for the batch beats a loop of slices
        idx = ((ys[:, None] + torch.arange(kh))[:, :, None] * w + (xs[:, None] + torch.arange(kw))[:, None, :])
        idx = idx.to(x.device)  # drawn on the CPU generator, used where the maps are (a GPU)
        if x.is_contiguous(memory_format=torch.channels_last):  # gather whole pixels, stay channels-last
            flat = x.permute(0, 2, 3, 1).reshape(n, h * w, c)
            crops = flat.gather(1, idx.view(n, -1, 1).expand(n, kh * kw, c)).view(n, kh, kw, c).permute(0, 3, 1, 2)
        else:
            crops = x.reshape(n, c, h * w).gather(2, idx.view(n, 1, -1).expand(n, c, kh * kw)).view(n, c, kh, kw)
    else:  # pixel canvases: few channels, big planes, slices copy fastest
        crops = torch.stack([x[i, :, ys[i]:ys[i] + kh, xs[i]:xs[i] + kw] for i in range(n)])
    if out_size is not None and (kh, kw) != (out_size, out_size):
        crops = F.interpolate(crops.float(), size=(out_size, out_size), mode="bilinear", align_corners=False,
                              antialias=True).to(crops.dtype)  # float: half maps on a GPU
    return crops


def _flips(x: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    if p <= 0:
        return x
    flip = (torch.rand(x.shape[0], generator=g) < p).view(-1, 1, 1, 1).to(x.device)
    return torch.where(flip, x.flip(-1), x)


def _window_means(x: torch.Tensor, min_frac: float, g: torch.Generator) -> torch.Tensor:
    """The mean of a random window of each map, as [N, C, 1, 1]: crop-then-global-pool in one product.

    Each sample gets its own window size and place. A mirrored map has the same window means
    (mirrored windows), so the flip needs no work here.
    """
    n, c, h, w = x.shape
    ys, xs, kh, kw = _windows(n, h, w, min_frac, g)
    rows = (torch.arange(h) >= ys[:, None]) & (torch.arange(h) < (ys + kh)[:, None])  # [N, h]
    cols = (torch.arange(w) >= xs[:, None]) & (torch.arange(w) < (xs + kw)[:, None])  # [N, w]
    weights = ((rows[:, :, None] & cols[:, None, :]).float() / (kh * kw).float()[:, None, None]).to(x.device, x.dtype)
    if x.is_contiguous(memory_format=torch.channels_last):  # [N, 1, hw] @ [N, hw, C]: one pass over the maps
        return torch.bmm(weights.view(n, 1, h * w), x.permute(0, 2, 3, 1).reshape(n, h * w, c)).view(n, c, 1, 1)
    return (x * weights[:, None]).sum((2, 3), keepdim=True)


def _windows(n: int, h: int, w: int, min_frac: float, g: torch.Generator):
    """Random windows (top, left, height, width), one per sample, as _window_means draws them."""
    frac = min_frac + (1 - min_frac) * torch.rand(n, 2, generator=g)
    kh = (h * frac[:, 0]).round().clamp(1, h).long()
    kw = (w * frac[:, 1]).round().clamp(1, w).long()
    ys = (torch.rand(n, generator=g) * (h - kh + 1)).long()
    xs = (torch.rand(n, generator=g) * (w - kw + 1)).long()
    return ys, xs, kh, kw


class WindowSums:
    """Integral images of cached head-stage maps: the mean of any window of a photo's map in four lookups.

    A head-stage step then reads [batch, 4, C] numbers instead of whole [batch, C, h, w] maps (hymenoptera:
    training after the frozen pass 3.2 s -> 1.0 s), which is what lets small sets take many steps an epoch
    (train.HEAD_MIN_STEPS).
    Windows are drawn exactly as augment_maps(..., pooled=True) draws them, and give the same means.
    """

    def __init__(self, maps, chunk: int = 128) -> None:
        n, c, h, w = maps.shape
        self.h, self.w = h, w
        self.sums: torch.Tensor | None = None
        for i in range(0, n, chunk):
            x = maps[i:i + chunk].float()
            s = torch.zeros(len(x), c, h + 1, w + 1, device=x.device)
            s[:, :, 1:, 1:] = x.cumsum(2).cumsum(3)
            if self.sums is None:
                self.sums = torch.empty(n, (h + 1) * (w + 1), c, device=x.device)
            self.sums[i:i + len(x)] = s.flatten(2).transpose(1, 2)  # [n, positions, C]: corners gather whole rows

    @staticmethod
    def nbytes(shape: tuple[int, ...]) -> int:
        n, c, h, w = shape
        return n * c * (h + 1) * (w + 1) * 4

    def batch(self, idx: torch.Tensor, preset: str, g: torch.Generator | None) -> torch.Tensor:
        """Window means [N, C, 1, 1] of photos `idx`: random windows for `preset`, the whole map without `g`."""
        n, h, w = len(idx), self.h, self.w
        min_frac = PRESETS[preset][0] if g is not None else 1.0
        if min_frac < 1.0:
            ys, xs, kh, kw = _windows(n, h, w, min_frac, g)
        else:
            ys, xs = torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
            kh, kw = torch.full((n,), h), torch.full((n,), w)
        rows = idx.to(self.sums.device)
        at = lambda y, x: self.sums[rows, (y * (w + 1) + x).to(self.sums.device)]  # noqa: E731
        total = at(ys + kh, xs + kw) - at(ys, xs + kw) - at(ys + kh, xs) + at(ys, xs)
        return (total / (kh * kw).to(total)[:, None]).view(n, -1, 1, 1)


def pools_globally(model: nn.Module, cut: int) -> bool:
    """True when everything after the cut is a global average pool and linear layers (the head stage)."""
    pool = getattr(model, "pool", None)
    return (cut == len(getattr(model, "stages", ())) and isinstance(pool, nn.AdaptiveAvgPool2d)
            and pool.output_size in (1, (1, 1)))


def augment_maps(x: torch.Tensor, preset: str, g: torch.Generator, pooled: bool = False) -> torch.Tensor:
    """Crop/flip cached activation maps [N, C, h, w]; crops keep their (smaller) size on a CPU.

    `pooled`: the model global-average-pools next, so each sample becomes its window's mean
    [N, C, 1, 1] directly (the same thing the pool would compute, without the copies).
    """
    min_frac, p = PRESETS[preset]
    if pooled and min_frac < 1.0:
        return _window_means(x, min_frac, g)
    # On a GPU every new tensor shape costs a first-call kernel selection of up to seconds
    # (bench/README.md, GPU path), so there crops are resized back to the map's size, as
    # RandomResizedCrop does to pixels; a CPU pays nothing per shape and trains on the smaller crop.
    out_size = x.shape[-1] if x.is_cuda and x.shape[-1] == x.shape[-2] else None
    # channels-last: PyTorch's CPU convolutions train about 30% faster on it (bench/README.md)
    return _flips(_crops(x, min_frac, g, out_size), p, g).contiguous(memory_format=torch.channels_last)


def augment_pixels(x: torch.Tensor, preset: str, g: torch.Generator, out_size: int) -> torch.Tensor:
    """Random resized crop + flip of pixel canvases [N, 3, S, S] down to `out_size`."""
    min_frac, p = PRESETS[preset]
    if min_frac >= 1.0:
        off = (x.shape[-1] - out_size) // 2
        return x[..., off:off + out_size, off:off + out_size]
    return _flips(_crops(x, min_frac * 0.8, g, out_size), p, g)
