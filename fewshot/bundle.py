"""Model bundles: one safetensors file with weights and everything needed to rebuild.

Loading never unpickles: safetensors holds only raw tensors plus a JSON header, so a
hostile upload can at worst be refused. Saving is atomic (temp file, then replace).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .config import TrainConfig
from .errors import BundleError
from .models import Classifier, build_model

FORMAT = "fewshot-bundle"
FORMAT_VERSION = 1
MAX_BUNDLE_BYTES = 2 * 1024**3


@dataclass
class TrainedModel:
    """A trained classifier with its class names, settings and metrics."""

    model: Classifier
    classes: list[str]
    config: TrainConfig
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    data_summary: list[dict] = field(default_factory=list)
    created: str = ""

    @classmethod
    def from_training(cls, model, classes, cfg, history, best_epoch, evaluation, data_summary, trainable):
        metrics: dict[str, Any] = {"best_epoch": best_epoch, "trainable_parameters": trainable}
        if best_epoch:
            metrics.update({k: history[best_epoch - 1][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")})
        if evaluation is not None:
            metrics["val_accuracy"] = evaluation.accuracy
            metrics["per_class"] = evaluation.per_class.to_dict(orient="records")
            metrics["confusion"] = evaluation.confusion.values.tolist()
        return cls(model.eval(), list(classes), cfg, metrics, history, data_summary,
                   time.strftime("%Y-%m-%d %H:%M:%S"))

    def meta(self) -> dict[str, str]:
        return {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "arch": self.config.arch,
            "classes": json.dumps(self.classes, ensure_ascii=False),
            "config": json.dumps(self.config.to_dict()),
            "metrics": json.dumps(self.metrics),
            "history": json.dumps(self.history),
            "data_summary": json.dumps(self.data_summary, ensure_ascii=False),
            "created": self.created,
        }

    def model_card(self) -> str:
        from .card import model_card
        return model_card(self)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file in the same folder, then replace: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_bundle(tm: TrainedModel, path: str | os.PathLike) -> Path:
    """Save weights and metadata as one .safetensors file, atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in tm.model.state_dict().items()}
    atomic_write(path, st_save(state, metadata=tm.meta()))
    return Path(path)


def _header(data: bytes) -> dict[str, str]:
    if len(data) < 8:
        raise BundleError("the file is too short to be a fewshot model (it may be truncated)")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or n > min(len(data) - 8, 100 * 1024**2):
        raise BundleError("this is not a fewshot model file (no safetensors header; a pickle or other "
                          "format is never opened, for safety)")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BundleError("this is not a fewshot model file (its header is not readable)") from None
    return header.get("__metadata__") or {}


def load_bundle(path: str | os.PathLike) -> TrainedModel:
    """Rebuild a TrainedModel from a bundle; BundleError with a plain reason if anything is off."""
    path = Path(path)
    if path.stat().st_size > MAX_BUNDLE_BYTES:
        raise BundleError(f"{path.name} is larger than any fewshot model could be")
    data = path.read_bytes()
    meta = _header(data)
    if meta.get("format") != FORMAT:
        raise BundleError(f"{path.name} is a safetensors file but not a fewshot model (no fewshot metadata)")
    try:
        version = int(meta.get("format_version", "0"))
    except ValueError:
        version = -1
    if version > FORMAT_VERSION:
        raise BundleError(f"{path.name} was made by a newer fewshot (format {version}; this one reads up to "
                          f"{FORMAT_VERSION}). Update fewshot to open it.")
    if version < 1:
        raise BundleError(f"{path.name} has an unknown format version")
    try:
        state = st_load(data)
    except SafetensorError as exc:
        raise BundleError(f"{path.name} is damaged or truncated ({exc})") from None
    try:
        classes = json.loads(meta["classes"])
        cfg = TrainConfig.from_dict(json.loads(meta["config"]))
        metrics = json.loads(meta.get("metrics", "{}"))
        history = json.loads(meta.get("history", "[]"))
        summary = json.loads(meta.get("data_summary", "[]"))
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path.name} has broken metadata ({exc})") from None
    if not isinstance(classes, list) or len(classes) < 2:
        raise BundleError(f"{path.name} lists {len(classes) if isinstance(classes, list) else 'no'} classes; a model needs at least two")
    model = build_model(cfg.arch, len(classes), pretrained=False, pre=cfg.preprocessing)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        head = state.get("head.1.weight")
        if head is not None and head.shape[0] != len(classes):
            raise BundleError(f"{path.name} names {len(classes)} classes but its weights have "
                              f"{head.shape[0]} outputs") from None
        raise BundleError(f"{path.name} does not match the {cfg.arch} architecture ({str(exc)[:200]})") from None
    return TrainedModel(model.eval(), classes, cfg, metrics, history, summary, meta.get("created", ""))
