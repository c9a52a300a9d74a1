"""Configuration dataclasses: one frozen TrainConfig and the preprocessing recipe.

Both are stored inside every saved model so that a bundle can rebuild itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .backbones import BACKBONES, DEFAULT_ARCH
from .errors import TrainingError

__all__ = ["ARCHS", "AUGMENTATIONS", "AUTO", "AUTO_INPUT", "Preprocessing", "SCRATCH_INPUT", "STAGES",
           "STAGE_CHOICES", "STAGE_HINTS", "TrainConfig", "auto_stage"]

STAGES = ("head", "top", "top2", "all")
AUTO = "auto"  # a stage and an input size chosen from the photos when training starts (resolve_config)
STAGE_CHOICES = (AUTO, *STAGES)
AUGMENTATIONS = ("none", "light", "strong")
ARCHS = tuple(BACKBONES)  # every backbone fewshot can train, in the table's order (fewshot/backbones.py)

STAGE_HINTS = {
    "auto": ("chosen from your photos: only the last layer for ordinary photos, the last block too for many "
             "or tiny photos"),
    "head": "only the last layer (fastest, best for few photos)",
    "top": "the last block too (a bit slower, often better for unusual photos)",
    "top2": "the last two blocks (slower, needs more photos)",
    "all": "the whole network (slowest, needs many photos and a GPU)",
}

# Input size when TrainConfig.preprocessing is None ("choose from the photos"): (shorter side, crop).
# Photos: the whole 320 px square, no centre crop. ImageNet networks trained at 224 on random-resized
# crops saw objects larger than a 224 centre crop shows them; a ~1.4x larger test input matches what
# they learned (Touvron et al., "Fixing the train-test resolution discrepancy", 2019). Measured with
# MobileNetV2: flowers (20 per class) head 0.80 -> 0.84 and top 0.84 -> 0.85, at about 2x the compute
# of 256/224 (bench/README.md). Tiny photos (CIFAR's 32 px): blowing them up 5x already shows every
# detail they have; 160 costs half of 224 and measured as well (cifar10 head 0.735 at 256/224, 0.76 at 160).
AUTO_INPUT = {"photos": (320, 320), "tiny": (160, 160)}
TINY_SIDE = 64  # median shorter side, in pixels, below which photos count as tiny
# Stage "auto", after the classic rule of transfer learning (CS231n, "Transfer Learning"): few photos
# like ImageNet's -> train a linear classifier on the frozen features; many photos, or photos unlike
# ImageNet's (tiny ones blown up) -> fine-tune the top of the network as well. Measured with MobileNetV2:
# hymenoptera (120 per class) head 0.961 vs top 0.954; cifar10 (500 per class, 32 px) head 0.76 vs top
# 0.81 (bench/README.md).
MANY_PER_CLASS = 200  # training photos per class (on average) from which the top block learns too


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a tensor: the single source of truth for train, eval, predict, export."""

    resize: int = 256  # shorter side, before the centre crop
    crop: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def to_dict(self) -> dict[str, Any]:
        return {"resize": self.resize, "crop": self.crop, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def for_photos(cls, short_sides: list[int]) -> "Preprocessing":
        """The input size for pretrained training, from the photos' shorter sides (see AUTO_INPUT)."""
        return cls(*AUTO_INPUT["tiny" if is_tiny(short_sides) else "photos"])

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Preprocessing":
        return cls(int(d["resize"]), int(d["crop"]), tuple(map(float, d["mean"])), tuple(map(float, d["std"])))


def is_tiny(short_sides: list[int]) -> bool:
    """True when the median photo's shorter side is under TINY_SIDE pixels (CIFAR-like)."""
    return bool(short_sides) and sorted(short_sides)[len(short_sides) // 2] < TINY_SIDE


def auto_stage(per_class: float, short_sides: list[int]) -> str:
    """The stage "auto" stands for (see MANY_PER_CLASS)."""
    return "top" if per_class >= MANY_PER_CLASS or is_tiny(short_sides) else "head"


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run, with defaults that work for a few hundred photos."""

    arch: str = DEFAULT_ARCH
    pretrained: bool = True
    stage: str = AUTO
    epochs: int = 10
    lr: float = 1e-3
    backbone_lr_mult: float = 0.1  # unfrozen backbone layers learn 10x slower than the new head
    batch_size: int = 32
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    augmentation: str = "light"
    # Each class counts the same however many photos it has: photo counts usually say what was easy to
    # collect (or, in the Label step, which classes the model was sure of first), not how often each thing
    # will be met. Weights are ~1 for even classes. MobileNetV2, 4 seeds, on a balanced check set: flowers
    # 60/40/25/15/10 per class 0.783 -> 0.823, hymenoptera with 30% of the bees 0.928 -> 0.964; it costs
    # 0.3-3 points when the check set is as uneven as the training photos (bench/README.md).
    balanced_loss: bool = True
    seed: int = 0
    early_stop: int = 0  # epochs without val improvement before stopping; 0 = never
    val_fraction: float = 0.2
    weights_file: str | None = None
    # None: chosen from the photos when training starts (Preprocessing.for_photos); the trained model
    # stores the concrete choice, so prediction and export use exactly what training used
    preprocessing: Preprocessing | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.arch in ARCHS, f"unknown backbone {self.arch!r}; choose one of {', '.join(ARCHS)}"),
            (self.stage in STAGE_CHOICES, f"unknown stage {self.stage!r}; choose one of {', '.join(STAGE_CHOICES)}"),
            (self.augmentation in AUGMENTATIONS, f"unknown augmentation {self.augmentation!r}"),
            (1 <= self.epochs <= 1000, "epochs must be between 1 and 1000"),
            (0 < self.lr <= 100, "learning rate must be positive"),
            (1 <= self.batch_size <= 4096, "batch size must be between 1 and 4096"),
            (0 <= self.label_smoothing < 1, "label smoothing must be in [0, 1)"),
            (0 < self.val_fraction < 1, "validation fraction must be in (0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainingError(message)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preprocessing"] = self.preprocessing.to_dict() if self.preprocessing else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if kwargs.get("preprocessing") is not None:
            kwargs["preprocessing"] = Preprocessing.from_dict(kwargs["preprocessing"])
        return cls(**kwargs)

    def with_(self, **changes: Any) -> "TrainConfig":
        return replace(self, **changes)


# From scratch nothing expects ImageNet's sizes, and 112 px trains about 4x faster on a CPU than 224.
SCRATCH_INPUT = Preprocessing(resize=128, crop=112)
