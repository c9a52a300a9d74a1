"""Configuration dataclasses: one frozen TrainConfig and the preprocessing recipe.

Both are stored inside every saved model so that a bundle can rebuild itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

STAGES = ("head", "top", "top2", "all")
AUGMENTATIONS = ("none", "light", "strong")
ARCHS = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "vgg16")

STAGE_HINTS = {
    "head": "only the last layer (fastest, best for few photos)",
    "top": "the last block too (a bit slower, often better for unusual photos)",
    "top2": "the last two blocks (slower, needs more photos)",
    "all": "the whole network (slowest, needs many photos and a GPU)",
}


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
    def from_dict(cls, d: dict[str, Any]) -> "Preprocessing":
        return cls(int(d["resize"]), int(d["crop"]), tuple(map(float, d["mean"])), tuple(map(float, d["std"])))


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run, with defaults that work for a few hundred photos."""

    arch: str = "resnet18"
    pretrained: bool = True
    stage: str = "head"
    epochs: int = 10
    lr: float = 1e-3
    backbone_lr_mult: float = 0.1  # unfrozen backbone layers learn 10x slower than the new head
    batch_size: int = 32
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    augmentation: str = "light"
    balanced_loss: bool = False
    seed: int = 0
    early_stop: int = 0  # epochs without val improvement before stopping; 0 = never
    val_fraction: float = 0.2
    weights_file: str | None = None
    preprocessing: Preprocessing = field(default_factory=Preprocessing)

    def __post_init__(self) -> None:
        from .errors import TrainingError

        checks = [
            (self.arch in ARCHS, f"unknown backbone {self.arch!r}; choose one of {', '.join(ARCHS)}"),
            (self.stage in STAGES, f"unknown stage {self.stage!r}; choose one of {', '.join(STAGES)}"),
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
        d["preprocessing"] = self.preprocessing.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if "preprocessing" in kwargs:
            kwargs["preprocessing"] = Preprocessing.from_dict(kwargs["preprocessing"])
        return cls(**kwargs)

    def with_(self, **changes: Any) -> "TrainConfig":
        return replace(self, **changes)
