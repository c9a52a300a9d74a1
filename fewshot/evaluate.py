"""Metrics and plain-words diagnostics (the seed article's troubleshooting, automated)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd
import torch

__all__ = ["Diagnostic", "EvalReport", "MARGIN", "clearly_better", "data_diagnostics", "diagnose", "end_diagnostics",
           "kept_epoch", "kept_note", "more_photos_for_margin", "noise_photos", "photos_for_margin",
           "per_class_table", "report_from_probs", "wilson_interval"]


@dataclass
class EvalReport:
    accuracy: float
    loss: float
    per_class: pd.DataFrame  # class, precision, recall, f1, support
    confusion: pd.DataFrame  # rows: true class, columns: predicted class
    misclassified: list[dict] = field(default_factory=list)  # path, true, predicted, confidence, loss

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "per_class": self.per_class.to_dict(orient="records"),
            "confusion": {"labels": list(self.confusion.index), "matrix": self.confusion.values.tolist()},
            "misclassified": self.misclassified,
        }


def report_from_probs(probs: torch.Tensor, labels: torch.Tensor, classes: Sequence[str],
                      paths: Sequence[str] | None = None) -> EvalReport:
    """Accuracy, per-class P/R/F1, confusion matrix and misclassified images ranked by loss."""
    k = len(classes)
    labels = labels.long()
    pred = probs.argmax(1)
    nll = -torch.log(probs.gather(1, labels.view(-1, 1)).clamp_min(1e-12)).view(-1)
    cm = torch.zeros(k, k, dtype=torch.long)
    cm.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    rows = []
    for i, name in enumerate(classes):
        tp = cm[i, i].item()
        prec = tp / max(cm[:, i].sum().item(), 1)
        rec = tp / max(cm[i].sum().item(), 1)
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows.append({"class": name, "precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                     "support": int(cm[i].sum())})
    wrong = (pred != labels).nonzero().view(-1).tolist()
    mis = [{"path": paths[i] if paths else str(i), "true": classes[labels[i]], "predicted": classes[pred[i]],
            "confidence": round(probs[i, pred[i]].item(), 4), "loss": round(nll[i].item(), 4)} for i in wrong]
    mis.sort(key=lambda m: -m["loss"])
    n = max(len(labels), 1)
    return EvalReport(
        accuracy=(pred == labels).sum().item() / n,
        loss=nll.mean().item() if len(labels) else float("nan"),
        per_class=pd.DataFrame(rows, columns=["class", "precision", "recall", "f1", "support"]),
        confusion=pd.DataFrame(cm.numpy(), index=list(classes), columns=list(classes)),
        misclassified=mis,
    )


@dataclass(frozen=True)
class Diagnostic:
    """A finding about the run. `code` is stable; `message` says what, `advice` what to do."""

    code: str
    severity: str  # "info" | "warning" | "error"
    message: str
    advice: str


def _chance(num_classes: int) -> float:
    return 1.0 / max(num_classes, 1)


def diagnose(history: Sequence[dict], num_classes: int, batch_losses: Sequence[float] = ()) -> list[Diagnostic]:
    """Look at the epochs so far; return every problem that shows (callers de-duplicate by code)."""
    out: list[Diagnostic] = []
    if not history:
        return out
    last = history[-1]
    chance = _chance(num_classes)
    vals = [h["val_acc"] for h in history if h.get("val_acc") is not None]
    if len(vals) >= 3 and max(vals[-3:]) <= chance + 0.05:
        out.append(Diagnostic(
            "stuck_at_chance", "warning",
            f"Validation accuracy is stuck near {chance:.0%}, which is what random guessing gets with "
            f"{num_classes} classes.",
            "Check that the classes really look different in the photos and that each class has varied, "
            "correctly sorted pictures. Try a lower learning rate."))
    losses = [h["train_loss"] for h in history]
    if len(losses) >= 2 and (losses[-1] > 1.5 * min(losses) or (len(losses) >= 3 and losses[-1] > losses[0] * 1.2)):
        out.append(Diagnostic(
            "diverging", "warning", "The training loss is going up instead of down.",
            "Lower the learning rate (try 10 times smaller, e.g. 0.0001)."))
    if len(losses) >= 4:
        ups = sum(b > a * 1.05 for a, b in zip(losses[-5:], losses[-4:]))
        if ups >= 2:
            out.append(Diagnostic(
                "oscillating", "warning", "The training loss jumps up and down between epochs.",
                "Lower the learning rate (try 0.0001) or use a bigger batch size (e.g. 32)."))
    if len(batch_losses) >= 8:
        mean = sum(batch_losses) / len(batch_losses)
        sd = math.sqrt(sum((b - mean) ** 2 for b in batch_losses) / len(batch_losses))
        if mean > 0 and sd / mean > 0.6 and len(history) >= 3:
            out.append(Diagnostic(
                "oscillating", "warning", "The loss swings widely from batch to batch.",
                "Lower the learning rate (try 0.0001) or use a bigger batch size (e.g. 32)."))
    if last.get("val_acc") is not None and len(history) >= 3:
        gap = last["train_acc"] - last["val_acc"]
        val_losses = [h["val_loss"] for h in history]
        rising = val_losses[-1] > min(val_losses) * 1.1
        if gap > 0.15 and rising:
            out.append(Diagnostic(
                "overfitting", "warning",
                f"The model is memorising: {last['train_acc']:.0%} right on training photos but "
                f"{last['val_acc']:.0%} on validation photos.",
                "Add more varied photos, use strong augmentation or label smoothing, unfreeze less of "
                "the network, or train for fewer epochs (the best epoch is kept anyway)."))
    return out


def wilson_interval(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Where the true accuracy likely lies when `right` of `n` photos came out right: the Wilson score
    interval (95% for z=1.96), e.g. 18 of 20 right gives (0.70, 0.97). (0.0, 1.0) without photos."""
    if n <= 0:
        return 0.0, 1.0
    p, z2 = min(max(right / n, 0.0), 1.0), z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _share_with_interval(right: int, n: int) -> str:
    """"90% (56–98%)": a share of `n` photos with its 95% interval; "–" when no photo counts towards it."""
    if n <= 0:
        return "–"
    low, high = wilson_interval(right, n)
    return f"{right / n:.0%} ({low:.0%}–{high:.0%})"


def per_class_table(per_class: pd.DataFrame,
                    confusion: Sequence[Sequence[int]] | pd.DataFrame | None = None) -> pd.DataFrame:
    """The per-class table as the page and the model card show it: precision and recall, each with its 95%
    interval, and the photos checked. Each class has only its own few photos, so its figures are far less sure than
    the overall one; F1, which has no interval of its own, stays in the metrics files. The counts come from the
    confusion matrix (rows: true, columns: predicted) when there is one, else from the stored shares and supports."""
    cm = confusion
    if cm is not None and not isinstance(cm, pd.DataFrame):  # as stored in a model's metrics: a list of rows
        names = list(per_class["class"])
        cm = pd.DataFrame(cm, index=names, columns=names) if len(cm) == len(names) else None
    rows = []
    for rec in per_class.to_dict("records"):
        cls, support = rec["class"], int(rec["support"])
        right = int(round(float(rec["recall"]) * support))
        if cm is not None and cls in cm.columns:
            called = int(cm[cls].sum())
        else:  # precision = right / called
            called = int(round(right / float(rec["precision"]))) if float(rec["precision"]) > 0 else 0
        rows.append({"class": cls, "precision": _share_with_interval(right, called),
                     "recall": _share_with_interval(right, support), "support": support})
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "support"])


MARGIN = 0.10  # "within ±10 points": how narrow an interval the page asks people to label for


def _interval_half_width(accuracy: float, n: int, z: float = 1.96) -> float:
    """Half the width of the Wilson interval of `accuracy` measured on `n` photos (0.5 without photos)."""
    if n <= 0:
        return 0.5
    low, high = wilson_interval(min(max(accuracy, 0.0), 1.0) * n, n, z)
    return (high - low) / 2


def photos_for_margin(accuracy: float, margin: float = MARGIN, most: int = 100_000) -> int:
    """The fewest photos whose 95% interval at `accuracy` is within ±`margin`: 54 at 83% and ±10 points,
    16 at 100%, 93 at 50% (the widest). Found by doubling, then halving: the width only shrinks with n."""
    if margin <= 0:
        return most
    high = 1
    while _interval_half_width(accuracy, high) > margin and high < most:
        high *= 2
    low = high // 2
    while low + 1 < high:
        mid = (low + high) // 2
        low, high = (low, mid) if _interval_half_width(accuracy, mid) <= margin else (mid, high)
    return min(high, most)


def more_photos_for_margin(right: int, n: int, margin: float = MARGIN) -> int:
    """How many more photos, beyond the `n` (`right` of them right) measured, would make the interval
    within ±`margin` if the accuracy stayed as measured: 10 right of 12 need 41 more for ±10 points.
    Without photos, the worst case (50%)."""
    accuracy = right / n if n > 0 else 0.5
    return max(0, photos_for_margin(accuracy, margin) - max(n, 0))


def noise_photos(n: int, accuracy: float, z: float = 1.645) -> float:
    """How many of `n` validation photos can come out differently between two epochs by chance alone: `z`
    binomial standard errors in photos, z * sqrt(n * p * (1 - p)) at accuracy p, and never less than one.

    With the default z (one-sided 95%) a lead beyond this happens by noise alone about one time in twenty:
    20 photos at 85% give 2.6, so 85% vs 90% or 95% (one or two photos) is noise and 75% vs 90% (three)
    is not; 300 photos at 83% give 10.7.
    """
    p = min(max(accuracy, 0.0), 1.0)
    return max(1.0, z * math.sqrt(n * p * (1 - p)))


def clearly_better(better: float, worse: float, n: int) -> bool:
    """Whether accuracy `better` beats `worse`, both measured on the same `n` validation photos, by more
    photos than noise_photos() explains (at their midpoint)."""
    if n <= 0:
        return False
    return round((better - worse) * n) > noise_photos(n, (better + worse) / 2)


def kept_epoch(history: Sequence[dict], n_val: int) -> tuple[int, int] | None:
    """(the epoch to keep, the most accurate epoch), both 1-based, or None without epochs.

    The last epoch, unless an earlier one was clearly more accurate on the `n_val` validation photos
    (clearly_better): then the most accurate one (ties: lower validation loss). Noise in which photos a
    model gets right never picks the epoch, so the accuracy reported for it does not flatter. Without
    validation photos: the lowest training loss.
    """
    if not history:
        return None
    if n_val <= 0 or history[-1].get("val_acc") is None:
        low = min(range(len(history)), key=lambda i: (history[i]["train_loss"], i))
        return low + 1, low + 1
    top = max(range(len(history)), key=lambda i: (history[i]["val_acc"], -history[i]["val_loss"], -i))
    last = len(history) - 1
    return (top if clearly_better(history[top]["val_acc"], history[last]["val_acc"], n_val) else last) + 1, top + 1


def kept_note(history: Sequence[dict], n_val: int) -> str:
    """Which epoch is kept and why, in a few plain words (for the page under the training result)."""
    kept = kept_epoch(history, n_val)
    if kept is None:
        return ""
    epoch, last = kept[0], len(history)
    if n_val <= 0 or history[-1].get("val_acc") is None:
        return f"kept epoch {epoch}: without validation photos, the one with the lowest training loss"
    if last == 1:
        return "kept epoch 1, the only one"
    if epoch == last:
        return f"kept the last epoch ({last}): no earlier epoch was clearly better"
    return (f"kept epoch {epoch}: clearly better than the last "
            f"({history[epoch - 1]['val_acc']:.0%} vs {history[-1]['val_acc']:.0%})")


def _loss_still_falling(losses: Sequence[float], mid: int) -> bool:
    """The training loss fell clearly after epoch `mid` (0-based): by 2% of its value and by a tenth of its
    whole fall. A run that has converged (e.g. on label smoothing's floor) gets about 3% of its fall there."""
    fall = losses[mid] - losses[-1]
    return fall > 0.02 * losses[mid] and fall >= 0.1 * (losses[0] - losses[-1])


def end_diagnostics(history: Sequence[dict], epochs: int, lr: float, n_val: int) -> list[Diagnostic]:
    """After the last planned epoch: was the model still getting better when training ended?

    Only when the last epoch is the kept one, its validation accuracy (on `n_val` photos) is clearly above
    every epoch of the first half (more than validation photos flipping explains, noise_photos) and the
    training loss was still falling clearly in the second half. A flat run whose photos flip by one
    gets no advice.
    """
    vals = [h["val_acc"] for h in history if h.get("val_acc") is not None]
    if len(history) < max(epochs, 2) or len(vals) < len(history) or n_val <= 0:
        return []
    mid = (len(vals) - 1) // 2  # the first half ends here (the first epoch of a two-epoch run)
    if kept_epoch(history, n_val)[0] != len(history) or not clearly_better(vals[-1], max(vals[:mid + 1]), n_val) \
            or not _loss_still_falling([h["train_loss"] for h in history], mid):
        return []
    return [Diagnostic(
        "still_learning", "info",
        f"Accuracy was still improving at the last epoch ({vals[-1]:.0%}): the model has not finished learning.",
        f"Train longer (try {2 * epochs} epochs) or raise the learning rate (try {lr * 3:g}).")]


def data_diagnostics(counts: dict[str, int], minimum: int = 20) -> list[Diagnostic]:
    """Too few photos: the seed's floor of about 20 per class."""
    few = [f"{name} ({n})" for name, n in counts.items() if n < minimum]
    if not few:
        return []
    return [Diagnostic("too_few_images", "warning", f"Some classes have fewer than {minimum} photos: {', '.join(few)}.",
                       "Add photos until every class has at least 20, taken in different places, angles and light.")]


def _short_name(path: str) -> str:
    return Path(path).name
