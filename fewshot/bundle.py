"""Model bundles: one safetensors file with weights and everything needed to rebuild.

Loading never unpickles: safetensors holds only raw tensors plus a JSON header, so a
hostile upload can at worst be refused. Saving is atomic (temp file, then replace).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .card import model_card as write_card
from .config import Preprocessing, TrainConfig
from .data import Dataset, fingerprints
from .errors import BundleError, FewshotError
from .models import Classifier, build_model

__all__ = ["TrainedModel", "atomic_write", "load_bundle", "save_bundle"]

FORMAT = "fewshot-bundle"
FORMAT_VERSION = 1
MAX_BUNDLE_BYTES = 2 * 1024**3
MAX_CLASSES = 10_000
# Which photos a model trained and validated on: content fingerprints (data.fingerprint), concatenated.
FINGERPRINT_KIND = "sha1-16"
_FINGERPRINTS = re.compile(r"(?:[0-9a-f]{16})*")


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
    # {"train": [...], "val": [...]}: sorted fingerprints (data.fingerprint) of the photos it learned from
    # and was validated on; None when unknown (made by hand, or saved by a fewshot before they were kept)
    fingerprints: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        if self.config.preprocessing is None:  # made by hand, not by train(): ImageNet's standard 256/224
            self.config = self.config.with_(preprocessing=Preprocessing())

    @classmethod
    def from_training(cls, model, classes, cfg, history, best_epoch, evaluation, data_summary, trainable,
                      photos: Dataset | None = None):
        """`photos`: the dataset it trained on; the model keeps its photos' fingerprints, so that evaluating it
        later can tell which photos it has already seen."""
        metrics: dict[str, Any] = {"best_epoch": best_epoch, "trainable_parameters": trainable}
        if best_epoch:
            metrics.update({k: history[best_epoch - 1][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")})
        if evaluation is not None:
            metrics["val_accuracy"] = evaluation.accuracy
            metrics["per_class"] = evaluation.per_class.to_dict(orient="records")
            metrics["confusion"] = evaluation.confusion.values.tolist()
        prints = None
        if photos is not None:
            prints = {"train": fingerprints(photos.train), "val": fingerprints(photos.val)}
        return cls(model.eval(), list(classes), cfg, metrics, history, data_summary,
                   time.strftime("%Y-%m-%d %H:%M:%S"), prints)

    def meta(self) -> dict[str, str]:
        prints = {}
        if self.fingerprints is not None:
            prints = {"fingerprint_kind": FINGERPRINT_KIND, "train_fingerprints": "".join(self.fingerprints["train"]),
                      "val_fingerprints": "".join(self.fingerprints["val"])}
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
            "model_card": self.model_card(),  # readable with any safetensors tool
            **prints,
        }

    def model_card(self) -> str:
        """The model card (markdown), written from this model's data, settings and metrics."""
        return write_card(self)


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


def _header(data: bytes, name: str) -> dict[str, str]:
    """The safetensors JSON header's metadata, read without running anything in the file."""
    if len(data) < 8:
        raise BundleError(f"{name} is too short to be a fewshot model (it may be empty or cut off)")
    n = int.from_bytes(data[:8], "little")
    if data[8:9] == b"{" and 0 < n <= 100 * 1024**2 and n > len(data) - 8:
        raise BundleError(f"{name} is cut off: it ends inside its header (truncated download or copy?)")
    if n <= 0 or n > min(len(data) - 8, 100 * 1024**2) or data[8:9] != b"{":
        kind = "a pickle or PyTorch .pt/.pth file" if data[:1] == b"\x80" or data[:2] == b"PK" else "another format"
        raise BundleError(f"{name} is not a fewshot model file: it looks like {kind}, which is never "
                          f"opened, for safety (fewshot models are .safetensors files saved by fewshot)")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BundleError(f"{name} is not a fewshot model file (its header is not readable)") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def _check_meta(name: str, classes: Any, metrics: Any, history: Any, summary: Any) -> None:
    """Types and sizes a model file must have before anything is built from it."""
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise BundleError(f"{name} has broken metadata (its class names are not a list of names)")
    if len(classes) < 2 or len(classes) > MAX_CLASSES:
        raise BundleError(f"{name} lists {len(classes)} classes; a model needs between 2 and {MAX_CLASSES:,}")
    if len(set(classes)) != len(classes):
        raise BundleError(f"{name} has broken metadata (a class name appears twice)")
    if not isinstance(metrics, dict) or not isinstance(history, list) or not isinstance(summary, list):
        raise BundleError(f"{name} has broken metadata (metrics, history or data summary of the wrong kind)")


def _check_preprocessing(name: str, pre: Preprocessing | None) -> None:
    if pre is None:  # a trained model always records the input size it was trained at
        raise BundleError(f"{name} has broken metadata (no preprocessing settings)")
    if (not (8 <= pre.crop <= pre.resize <= 2048) or len(pre.mean) != 3 or len(pre.std) != 3
            or not all(0 < s < 1e6 for s in pre.std) or not all(-1e6 < m < 1e6 for m in pre.mean)):
        raise BundleError(f"{name} has impossible preprocessing settings (resize {pre.resize}, crop {pre.crop})")


def _read_fingerprints(name: str, meta: dict[str, str]) -> dict[str, list[str]] | None:
    """The training and validation photos' fingerprints, or None when the file does not record them."""
    if "train_fingerprints" not in meta and "val_fingerprints" not in meta:
        return None  # saved before fingerprints were kept: evaluation says it cannot tell
    if meta.get("fingerprint_kind") != FINGERPRINT_KIND:
        return None  # another kind of fingerprint (a later fewshot): not comparable, so unknown
    out = {}
    for split in ("train", "val"):
        text = meta.get(f"{split}_fingerprints", "")
        if not isinstance(text, str) or not _FINGERPRINTS.fullmatch(text):
            raise BundleError(f"{name} has broken metadata (its photo fingerprints are not readable)")
        out[split] = [text[i:i + 16] for i in range(0, len(text), 16)]
    return out


def load_bundle(path: str | os.PathLike) -> TrainedModel:
    """Rebuild a TrainedModel from a bundle; BundleError with a plain reason if anything is off."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path.name} is larger than any fewshot model could be")
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{path.name} could not be read ({exc.strerror or exc})") from None
    meta = _header(data, path.name)
    if meta.get("format") != FORMAT:
        raise BundleError(f"{path.name} is a safetensors file but not a fewshot model (no fewshot metadata)")
    try:
        version = int(meta.get("format_version", "0"))
    except (ValueError, TypeError):
        version = -1
    if version > FORMAT_VERSION:
        raise BundleError(f"{path.name} was made by a newer fewshot (format {version}; this one reads up to "
                          f"{FORMAT_VERSION}). Update fewshot to open it.")
    if version < 1:
        raise BundleError(f"{path.name} has an unknown format version")
    try:
        state = st_load(data)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as exc:
        raise BundleError(f"{path.name} is damaged or truncated ({str(exc)[:200]})") from None
    try:
        classes = json.loads(meta["classes"])
        cfg = TrainConfig.from_dict(json.loads(meta["config"]))
        metrics = json.loads(meta.get("metrics", "{}"))
        history = json.loads(meta.get("history", "[]"))
        summary = json.loads(meta.get("data_summary", "[]"))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, FewshotError) as exc:
        raise BundleError(f"{path.name} has broken metadata ({str(exc)[:200]})") from None
    _check_meta(path.name, classes, metrics, history, summary)
    _check_preprocessing(path.name, cfg.preprocessing)
    prints = _read_fingerprints(path.name, meta)
    head = state.get("head.1.weight")
    if head is not None and (head.dim() != 2 or head.shape[0] != len(classes)):
        # checked before building, so a file claiming a million classes allocates nothing
        raise BundleError(f"{path.name} names {len(classes)} classes but its weights have "
                          f"{head.shape[0] if head.dim() else 0} outputs; the file is inconsistent")
    model = build_model(cfg.arch, len(classes), pretrained=False, pre=cfg.preprocessing)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BundleError(f"{path.name} does not match the {cfg.arch} architecture ({str(exc)[:200]})") from None
    return TrainedModel(model.eval(), classes, cfg, metrics, history, summary, meta.get("created", ""), prints)
