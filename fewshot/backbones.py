"""One table of what each backbone needs: how it is cut, what the page calls it, what it costs.

Everything per-architecture lives here (like fastai's `model_meta` or timm's `_cfg`): models.py cuts
the torchvision network where a row says, budget.py reads its GPU cost, config.py its names, and the
page its label, hint, download size and fallback rank. Adding a backbone is adding a row.

Pure data and the standard library only (no torch, no config): config.py imports this module.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import TrainingError

__all__ = ["BACKBONES", "Backbone", "DEFAULT_ARCH", "LABELLING_ARCH", "backbone", "fallback_order"]


class UnknownBackbone(TrainingError, ValueError):
    """A name that is not in BACKBONES. A TrainingError for the page and the CLI; also a ValueError,
    which is what models.build_model raised for it before this table existed."""


@dataclass(frozen=True)
class Backbone:
    """One torchvision ImageNet network, and where fewshot cuts it into trunk and trainable top.

    The convolutional part is the modules named by `trunk`, in order (one name: that nn.Sequential's
    children). It is cut at `cuts` into three stages: stage "head" trains none of them, "top" the
    last, "top2" the last two, "all" every one. The torchvision classifier (`classifier`) loses its
    last Linear to fewshot's new head; with `neck` its other layers stay as a pretrained neck.
    """

    name: str  # torchvision's model name (tvm.get_model), also fewshot's --arch
    label: str  # what the page shows
    hint: str  # one line on the page; translated by fewshot/locales keyed by this exact English
    download_mb: int  # size of the ImageNet weights file, for "needs a N MB download"
    fallback_rank: int  # 0 first: which backbone to offer when the chosen one's weights are missing
    forward_s: float  # GPU seconds per image, one forward pass at input_px (see budget.py)
    trunk: tuple[str, ...]  # torchvision attribute(s) holding the convolutional layers, in order
    cuts: tuple[int, int]  # trunk indices where the penultimate and the last stage begin
    classifier: str = "classifier"  # torchvision attribute whose last Linear fewshot's head replaces
    neck: bool = False  # keep the classifier's layers before that Linear (pretrained hidden layers)
    pool_px: int = 1  # side of the map after pooling (VGG's classifier expects 7x7)
    input_px: int = 224  # side of the square the ImageNet weights were trained and measured at
    weights: str = "IMAGENET1K_V1"  # the torchvision weights enum member fewshot loads


# The order the page lists them in (the default first, then by size; ARCHS, the CLI's --arch choices
# and the README list follow it). Cuts: the three stages end
# with maps at 1/8, 1/16 and 1/32 of the input's side, so "top" (the 1/32 part) and "top2" mean the
# same part of the network for every architecture (tests/test_backbones.py). forward_s: rough published
# GPU throughputs under AMP at batch >= 32 (images/s: resnet18 ~3000-5000, resnet50 ~1200-2000,
# mobilenets ~2500-4000 as depthwise convolutions use the GPU poorly, efficientnet_b0 ~1500-2500,
# vgg16 ~500-800), each taken at its low end and rounded up.
_RESNET_TRUNK = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
BACKBONES: dict[str, Backbone] = {b.name: b for b in (
    Backbone("resnet18", "ResNet18", "recommended all-rounder", 45, 1, 0.0004,
             _RESNET_TRUNK, (6, 7), classifier="fc"),
    Backbone("mobilenet_v2", "MobileNetV2", "small and fast", 14, 0, 0.0005, ("features",), (7, 14)),
    Backbone("mobilenet_v3_large", "MobileNetV3", "small and fast", 21, 3, 0.0005, ("features",), (7, 13),
             neck=True),
    Backbone("efficientnet_b0", "EfficientNet-B0", "accurate for its size", 21, 2, 0.0008, ("features",), (4, 6)),
    Backbone("resnet50", "ResNet50", "more accurate, about 3x slower", 98, 4, 0.0010,
             _RESNET_TRUNK, (6, 7), classifier="fc"),
    Backbone("vgg16", "VGG16", "large and slow, a classic", 528, 5, 0.0020, ("features",), (17, 24),
             neck=True, pool_px=7),
)}


# What training starts from unless told otherwise (TrainConfig, the CLI, budget estimates, `suggest`): first in
# the table above, so the page lists it first.
DEFAULT_ARCH = "resnet18"
# What labelling's features start from where a person waits on them (`project suggest`): small and fast on a
# laptop CPU.
LABELLING_ARCH = "mobilenet_v2"


def backbone(arch: str) -> Backbone:
    """The table's row for `arch`; UnknownBackbone (a TrainingError) naming the choices otherwise."""
    try:
        return BACKBONES[arch]
    except (KeyError, TypeError):  # TypeError: an unhashable value read from a hostile file
        raise UnknownBackbone(f"unknown backbone {arch!r}; choose one of {', '.join(BACKBONES)}") from None


def fallback_order() -> tuple[str, ...]:
    """Every backbone's name, the one to fall back to first (small, quick to download) first."""
    return tuple(sorted(BACKBONES, key=lambda a: BACKBONES[a].fallback_rank))
