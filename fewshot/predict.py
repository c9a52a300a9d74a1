"""Prediction with the exact preprocessing used in training (images.decode_canvas)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .bundle import TrainedModel
from .images import Source, UnreadableImage, decode_canvas
from .runtime import model_forward, pick_runtime

BATCH = 32


@dataclass(frozen=True)
class Prediction:
    name: str
    top: list[tuple[str, float]]  # (class, probability), most likely first
    error: str | None = None


def tta_views(canvas: np.ndarray, crop: int) -> list[np.ndarray]:
    """Centre, mirrored centre and the four corner crops of a canvas."""
    s = canvas.shape[0]
    o, e = (s - crop) // 2, s - crop
    center = canvas[o:o + crop, o:o + crop]
    corners = [canvas[y:y + crop, x:x + crop] for y, x in ((0, 0), (0, e), (e, 0), (e, e))]
    return [center, center[:, ::-1]] + corners


class Predictor:
    """Top-k class probabilities for images, optionally with test-time augmentation."""

    def __init__(self, tm: TrainedModel, device: str | None = None) -> None:
        self.tm = tm
        self.rt = pick_runtime(device)
        self.model = tm.model.to(self.rt.device).eval()
        self.pre = tm.config.preprocessing
        self.classes = tm.classes
        # the same weights on the fastest engine here (runtime.model_forward): uint8 crops in, logits out
        self._forward = model_forward(self.model, self.rt, self.pre.crop)

    def _views(self, canvas: np.ndarray, tta: bool) -> list[np.ndarray]:
        return tta_views(canvas, self.pre.crop) if tta else tta_views(canvas, self.pre.crop)[:1]

    @torch.inference_mode()
    def probabilities_from_canvases(self, canvases: Sequence[np.ndarray], tta: bool = False) -> torch.Tensor:
        """[N, classes] probabilities; TTA averages the probabilities of the six views."""
        outs = []
        for i in range(0, len(canvases), BATCH):
            chunk = canvases[i:i + BATCH]
            views = [v for c in chunk for v in self._views(c, tta)]
            p = self._forward(np.stack(views)).float().softmax(1).cpu()
            outs.append(p.view(len(chunk), -1, p.shape[1]).mean(1))
        return torch.cat(outs) if outs else torch.empty(0, len(self.classes))

    def probabilities(self, images: Sequence[Source], tta: bool = False) -> torch.Tensor:
        return self.probabilities_from_canvases([decode_canvas(im, self.pre) for im in images], tta)

    def _top(self, probs: torch.Tensor, top_k: int) -> list[tuple[str, float]]:
        k = max(1, min(top_k, len(self.classes)))
        vals, idx = probs.topk(k)
        return [(self.classes[i], float(v)) for v, i in zip(vals.tolist(), idx.tolist())]

    def predict_one(self, image: Source, top_k: int = 3, tta: bool = False) -> list[tuple[str, float]]:
        """Top-k (class, probability) for one image; raises UnreadableImage with the reason."""
        return self._top(self.probabilities([image], tta)[0], top_k)

    def predict_files(self, paths: Sequence[str], top_k: int = 3, tta: bool = False) -> list[Prediction]:
        """Predictions for many files; an unreadable file gets its reason instead of a crash."""
        results: list[Prediction | None] = [None] * len(paths)
        canv, idx = [], []
        for i, p in enumerate(paths):
            try:
                canv.append(decode_canvas(p, self.pre))
                idx.append(i)
            except (UnreadableImage, OSError) as exc:
                results[i] = Prediction(Path(p).name, [], str(exc))
        for i, pr in zip(idx, self.probabilities_from_canvases(canv, tta)):
            results[i] = Prediction(Path(paths[i]).name, self._top(pr, top_k))
        return results  # type: ignore[return-value]
