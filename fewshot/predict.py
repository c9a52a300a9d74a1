"""Prediction with the exact preprocessing used in training (images.decode_canvas)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .archive import Limits
from .bundle import TrainedModel
from .data import fingerprint, load_eval_set
from .errors import FewshotError
from .evaluate import EvalReport, report_from_probs
from .images import Source, UnreadableImage, decode_canvas
from .runtime import model_forward, pick_runtime

__all__ = ["Prediction", "Predictor", "evaluate_photos"]

BATCH = 32


@dataclass(frozen=True)
class Prediction:
    name: str
    top: list[tuple[str, float]]  # (class, probability), most likely first
    error: str | None = None


def _tta_views(canvas: np.ndarray, crop: int) -> list[np.ndarray]:
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
        return _tta_views(canvas, self.pre.crop) if tta else _tta_views(canvas, self.pre.crop)[:1]

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


@dataclass
class Evaluation:
    """A model measured on labelled photos, with the photos it has already seen counted apart: accuracy on
    photos it trained on says little about new ones (the saved model keeps fingerprints of its photos)."""

    report: EvalReport  # every evaluated photo
    images: int
    seen_in_training: int | None  # photos it trained on; None: the model file does not record them
    seen_in_validation: int | None  # photos it was validated on while training (picked its best epoch)
    unseen_report: EvalReport | None  # the photos it never saw; None when there are none, or it cannot tell
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def can_tell(self) -> bool:
        return self.seen_in_training is not None

    @property
    def unseen(self) -> int | None:
        """Photos neither trained nor validated on; None when it cannot tell."""
        if self.seen_in_training is None:
            return None
        return self.images - self.seen_in_training - (self.seen_in_validation or 0)

    @property
    def accuracy_unseen(self) -> float | None:
        return self.unseen_report.accuracy if self.unseen_report is not None else None

    def summary(self) -> str:
        """One plain sentence on what the accuracy means here (for the page, translated, and the CLI)."""
        n, acc = self.images, f"{self.report.accuracy:.0%}"
        if not self.can_tell:
            return ("This model file does not record which photos it was trained on (it was saved by an older "
                    "fewshot), so it cannot tell whether these photos are new to it.")
        t, v, u = self.seen_in_training, self.seen_in_validation or 0, self.unseen
        if t + v == 0:
            return f"None of these {n} photos were used to train this model: {acc} is a fair measure on new photos."
        if not u:
            return (f"All {n} photos were used to train this model ({t} for training, {v} for validation), so "
                    f"{acc} says little about new photos: evaluate on photos it never saw.")
        unseen_acc = f"{self.accuracy_unseen:.0%}"
        if v:
            return (f"{t} of {n} photos were in this model's training set and {v} were its validation photos: "
                    f"{acc} on all, {unseen_acc} on the {u} it never saw.")
        return (f"{t} of {n} photos were in this model's training set: {acc} on all, {unseen_acc} on the {u} "
                f"it never saw.")

    def to_dict(self) -> dict:
        """What `evaluate --json` prints: the report on all photos, plus how many it had seen."""
        return {**self.report.to_dict(), "images": self.images, "seen_in_training": self.seen_in_training,
                "seen_in_validation": self.seen_in_validation, "unseen": self.unseen,
                "accuracy_unseen": self.accuracy_unseen, "summary": self.summary(), "skipped": self.skipped}


def _probabilities(predictor, classes: list[str], paths: list[str], tta: bool) -> torch.Tensor:
    """[N, classes] probabilities from a predictor's predict_files (every class in its top-k)."""
    probs = torch.zeros(len(paths), len(classes))
    for i, pred in enumerate(predictor.predict_files(paths, top_k=len(classes), tta=tta)):
        if pred.error:
            raise FewshotError(f"{Path(paths[i]).name} could not be read: {pred.error}")
        for c, p in pred.top:
            probs[i, classes.index(c)] = p
    return probs


def evaluate_photos(tm: TrainedModel, source: str | os.PathLike, device: str | None = None, tta: bool = False,
                    limits: Limits | None = None, predictor=None) -> Evaluation:
    """Measure `tm` on a folder or .zip of class folders (its val/ where it has train/ and val/).

    `predictor` (anything with Predictor.predict_files, e.g. the page's session predictor, which on ZeroGPU runs
    each call in the GPU worker) predicts instead of a Predictor made here on `device`.

    Photos the model trained or was validated on (matched by content, data.fingerprint) are counted, and
    the accuracy on the photos it never saw is reported apart. A model saved before fingerprints were kept
    still evaluates: `seen_in_training` is then None (it cannot tell).
    """

    ds = load_eval_set(source, limits)
    try:
        unknown = [c for c in ds.classes if c not in tm.classes]
        if unknown:
            raise FewshotError(f"{Path(source).name} has classes the model does not know: {', '.join(unknown)} "
                               f"(the model knows {', '.join(tm.classes)})")
        pre = tm.config.preprocessing
        if predictor is None:
            probs = Predictor(tm, device).probabilities_from_canvases([decode_canvas(s.path, pre) for s in ds.val], tta)
        else:
            probs = _probabilities(predictor, tm.classes, [s.path for s in ds.val], tta)
        labels = torch.tensor([tm.classes.index(ds.classes[s.label]) for s in ds.val], dtype=torch.long)
        paths = [s.path for s in ds.val]
        report = report_from_probs(probs, labels, tm.classes, paths)
        if tm.fingerprints is None:
            return Evaluation(report, len(paths), None, None, None, list(ds.skipped))
        train, val = set(tm.fingerprints["train"]), set(tm.fingerprints["val"])
        prints = [fingerprint(s.digest) for s in ds.val]
        where = ["train" if f in train else "val" if f in val else "new" for f in prints]
        new = [i for i, w in enumerate(where) if w == "new"]
        unseen = report_from_probs(probs[new], labels[new], tm.classes, [paths[i] for i in new]) if new else None
        return Evaluation(report, len(paths), where.count("train"), where.count("val"), unseen, list(ds.skipped))
    finally:
        ds.cleanup()
