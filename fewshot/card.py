"""A short markdown model card: data, settings, metrics, limits, intended use."""
from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

from .check_set import CHECK, Measured, of_metrics
from .config import TrainConfig
from .evaluate import per_class_table

__all__ = ["CardSource", "model_card"]


class CardSource(Protocol):
    """What a card is written from (a bundle.TrainedModel); named here so that card.py needs no bundle."""

    classes: list[str]
    config: TrainConfig
    metrics: dict[str, Any]
    data_summary: list[dict[str, Any]]
    created: str


def model_card(tm: CardSource) -> str:
    """The card's markdown: data, settings, measured accuracy, limits and intended use."""
    c, m = tm.config, tm.metrics
    lines = [f"# Image classifier: {', '.join(tm.classes)}", "",
             f"Made with fewshot on {tm.created or 'an unknown date'}: transfer learning from an ImageNet-pretrained "
             f"{c.arch}.", "", "## Data", "", "| class | train | val |", "|---|---|---|"]
    for row in tm.data_summary:
        lines.append(f"| {row['class']} | {row['train']} | {row['val']} |")
    lines += ["", "## Settings", "",
              f"- backbone: {c.arch} ({'ImageNet weights' if c.pretrained else 'from scratch'}), trained part: {c.stage}",
              f"- epochs: {c.epochs}, learning rate: {c.lr:g}, batch size: {c.batch_size}, augmentation: "
              f"{c.augmentation}, label smoothing: {c.label_smoothing:g}, seed: {c.seed}",
              f"- input: shorter side {c.preprocessing.resize}px, centre crop {c.preprocessing.crop}px", "",
              "## Metrics", ""]
    if m.get("val_accuracy") is not None:
        lines.append(f"- validation accuracy: {m['val_accuracy']:.1%} (best epoch {m.get('best_epoch')})")
        lines.append(_interval_line(of_metrics(m, tm.data_summary)))
        if m.get("per_class"):
            table = per_class_table(pd.DataFrame(m["per_class"]), m.get("confusion"))
            for row in table.to_dict("records"):  # each with its interval: a class has only its own few photos
                lines.append(f"  - {row['class']}: precision {row['precision']}, recall {row['recall']}; "
                             f"{row['support']} images")
    else:
        lines.append("- no validation images: accuracy was not measured")
    lines += ["", "## Limits and intended use", "",
              "- It only knows the classes above: any other picture still gets one of these labels.",
              "- Accuracy was measured on few photos; expect lower accuracy on photos unlike the training ones "
              "(other cameras, light, backgrounds).",
              "- Intended for prototypes, sorting and teaching; not for decisions about people, health or safety "
              "without further testing.", ""]
    return "\n".join(lines)


def _interval_line(v: Measured) -> str:
    """How sure the validation accuracy is: its 95% interval, on how many photos, and which photos they were."""
    if v.validation == CHECK:
        return (f"- likely between {v.low:.0%} and {v.high:.0%} (95% interval), measured on {v.photos} photos "
                f"picked at random and labelled by a person: no suggestion the model helped make graded it")
    return f"- likely between {v.low:.0%} and {v.high:.0%} (95% interval), measured on {v.photos} validation photos"
