"""Augmentation that survives caching.

For cached trunk activations, a random crop of the activation map (then pooled or fed to
the trainable stages) plays the part of RandomResizedCrop, and a mirrored map plays the
part of a horizontal flip. For the whole-network stage, the same presets act on pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

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
        crops = F.interpolate(crops, size=(out_size, out_size), mode="bilinear", align_corners=False, antialias=True)
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
    frac = min_frac + (1 - min_frac) * torch.rand(n, 2, generator=g)
    kh = (h * frac[:, 0]).round().clamp(1, h).long()
    kw = (w * frac[:, 1]).round().clamp(1, w).long()
    ys = (torch.rand(n, generator=g) * (h - kh + 1)).long()
    xs = (torch.rand(n, generator=g) * (w - kw + 1)).long()
    rows = (torch.arange(h) >= ys[:, None]) & (torch.arange(h) < (ys + kh)[:, None])  # [N, h]
    cols = (torch.arange(w) >= xs[:, None]) & (torch.arange(w) < (xs + kw)[:, None])  # [N, w]
    weights = ((rows[:, :, None] & cols[:, None, :]).float() / (kh * kw).float()[:, None, None]).to(x.device, x.dtype)
    if x.is_contiguous(memory_format=torch.channels_last):  # [N, 1, hw] @ [N, hw, C]: one pass over the maps
        return torch.bmm(weights.view(n, 1, h * w), x.permute(0, 2, 3, 1).reshape(n, h * w, c)).view(n, c, 1, 1)
    return (x * weights[:, None]).sum((2, 3), keepdim=True)


def pools_globally(model: nn.Module, cut: int) -> bool:
    """True when everything after the cut is a global average pool and linear layers (the head stage)."""
    pool = getattr(model, "pool", None)
    return (cut == len(getattr(model, "stages", ())) and isinstance(pool, nn.AdaptiveAvgPool2d)
            and pool.output_size in (1, (1, 1)))


def augment_maps(x: torch.Tensor, preset: str, g: torch.Generator, pooled: bool = False) -> torch.Tensor:
    """Crop/flip cached activation maps [N, C, h, w]; crops keep their (smaller) size.

    `pooled`: the model global-average-pools next, so each sample becomes its window's mean
    [N, C, 1, 1] directly (the same thing the pool would compute, without the copies).
    """
    min_frac, p = PRESETS[preset]
    if pooled and min_frac < 1.0:
        return _window_means(x, min_frac, g)
    # channels-last: PyTorch's CPU convolutions train about 30% faster on it (bench/README.md)
    return _flips(_crops(x, min_frac, g, None), p, g).contiguous(memory_format=torch.channels_last)


def augment_pixels(x: torch.Tensor, preset: str, g: torch.Generator, out_size: int) -> torch.Tensor:
    """Random resized crop + flip of pixel canvases [N, 3, S, S] down to `out_size`."""
    min_frac, p = PRESETS[preset]
    if min_frac >= 1.0:
        off = (x.shape[-1] - out_size) // 2
        return x[..., off:off + out_size, off:off + out_size]
    return _flips(_crops(x, min_frac * 0.8, g, out_size), p, g)
