"""Augmentation that survives caching.

For cached trunk activations, a random crop of the activation map (then pooled or fed to
the trainable stages) plays the part of RandomResizedCrop, and a mirrored map plays the
part of a horizontal flip. For the whole-network stage, the same presets act on pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# (smallest crop side as a fraction of the map side, flip probability)
PRESETS = {"none": (1.0, 0.0), "light": (0.7, 0.5), "strong": (0.5, 0.5)}


def _crops(x: torch.Tensor, min_frac: float, g: torch.Generator, out_size: int | None) -> torch.Tensor:
    n, _, h, w = x.shape
    if min_frac >= 1.0:
        return x
    # one window size per batch (so the batch stays one tensor), a random place per sample
    frac = min_frac + (1 - min_frac) * torch.rand(2, generator=g)
    kh, kw = max(1, round(h * frac[0].item())), max(1, round(w * frac[1].item()))
    ys = torch.randint(0, h - kh + 1, (n,), generator=g)
    xs = torch.randint(0, w - kw + 1, (n,), generator=g)
    crops = torch.stack([x[i, :, ys[i]:ys[i] + kh, xs[i]:xs[i] + kw] for i in range(n)])
    if out_size is not None and (kh, kw) != (out_size, out_size):
        crops = F.interpolate(crops, size=(out_size, out_size), mode="bilinear", align_corners=False, antialias=True)
    return crops


def _flips(x: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    if p <= 0:
        return x
    flip = (torch.rand(x.shape[0], generator=g) < p).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def augment_maps(x: torch.Tensor, preset: str, g: torch.Generator) -> torch.Tensor:
    """Crop/flip cached activation maps [N, C, h, w]; crops keep their (smaller) size."""
    min_frac, p = PRESETS[preset]
    return _flips(_crops(x, min_frac, g, None), p, g)


def augment_pixels(x: torch.Tensor, preset: str, g: torch.Generator, out_size: int) -> torch.Tensor:
    """Random resized crop + flip of pixel canvases [N, 3, S, S] down to `out_size`."""
    min_frac, p = PRESETS[preset]
    if min_frac >= 1.0:
        off = (x.shape[-1] - out_size) // 2
        return x[..., off:off + out_size, off:off + out_size]
    return _flips(_crops(x, min_frac * 0.8, g, out_size), p, g)
