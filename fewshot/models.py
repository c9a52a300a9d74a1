"""Backbones, pretrained weights and the freeze/unfreeze policy.

Every torchvision backbone is rewrapped as `Classifier`: normalisation, three stages
(early, penultimate, last), pooling, a frozen pretrained "neck" where the architecture
has one, and a new linear head. The uniform shape lets training cache the frozen part
and lets export produce one self-contained module. Where each network is cut, and
which weights it loads, is read from the table in fewshot/backbones.py.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm

from .backbones import backbone
from .config import STAGES, Preprocessing
from .errors import WeightsUnavailable

__all__ = ["Classifier", "MissingWeights", "build_model", "can_download", "cut_for_stage", "freeze_for_stage",
           "load_pretrained_state", "param_groups", "set_train_mode", "split_backbone", "trainable_parameters",
           "weights_cache_path", "weights_details_md", "weights_enum", "weights_filename", "weights_present"]

HEAD_DROPOUT = 0.2


class Classifier(nn.Module):
    """Input: RGB floats in [0, 1], NCHW at the crop size. Output: logits."""

    def __init__(self, stages: list[nn.Module], pool: nn.Module, neck: nn.Module, feat_dim: int,
                 num_classes: int, pre: Preprocessing) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(pre.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(pre.std).view(1, 3, 1, 1))
        self.stages = nn.ModuleList(stages)
        self.pool = pool
        self.neck = neck
        self.head = nn.Sequential(nn.Dropout(HEAD_DROPOUT), nn.Linear(feat_dim, num_classes))

    def trunk(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Normalise and run stages[:cut]: what training caches for a frozen trunk."""
        x = (x - self.mean) / self.std
        for stage in self.stages[:cut]:
            x = stage(x)
        return x

    def tail(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Run stages[cut:], pool, neck and head on a trunk output."""
        for stage in self.stages[cut:]:
            x = stage(x)
        return self.head(self.neck(torch.flatten(self.pool(x), 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.trunk(x, len(self.stages)), len(self.stages))


def _stage(modules: list[nn.Module]) -> nn.Module:
    """One stage from consecutive trunk modules. A single module is kept as it is (ResNet's layer3), so
    its parameter names, which saved bundles are keyed by, do not gain a wrapper's index."""
    return modules[0] if len(modules) == 1 else nn.Sequential(*modules)


def split_backbone(arch: str, net: nn.Module) -> tuple[list[nn.Module], nn.Module, nn.Module, int]:
    """(three stages, pool, neck, feature size) of a torchvision network, cut where BACKBONES says."""
    bb = backbone(arch)
    a, b = bb.cuts
    if len(bb.trunk) == 1:  # one nn.Sequential: its slices keep its indices as names (features.7 -> 7)
        body = getattr(net, bb.trunk[0])
        stages = [body[:a], body[a:b], body[b:]]
    else:
        mods = [getattr(net, name) for name in bb.trunk]
        stages = [_stage(mods[:a]), _stage(mods[a:b]), _stage(mods[b:])]
    head = getattr(net, bb.classifier)
    last = [m for m in head.modules() if isinstance(m, nn.Linear)][-1]
    neck = head[:-1] if bb.neck else nn.Identity()
    return stages, nn.AdaptiveAvgPool2d(bb.pool_px), neck, last.in_features


def weights_enum(arch: str) -> tvm.WeightsEnum:
    """torchvision's ImageNet weights entry for `arch` (the member BACKBONES names): url and checksum."""
    return tvm.get_model_weights(arch)[backbone(arch).weights]


def weights_filename(arch: str) -> str:
    return os.path.basename(weights_enum(arch).url)


def weights_cache_path(arch: str) -> Path:
    """Where torchvision looks for (and downloads) this backbone's ImageNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights_filename(arch)


def weights_present(arch: str) -> bool:
    return weights_cache_path(arch).is_file()


PROBE_HOST, PROBE_TTL_S = ("download.pytorch.org", 443), 300.0
_probe: dict = {}


def can_download(timeout: float = 1.5) -> bool:
    """Whether this machine can fetch weights: never with FEWSHOT_OFFLINE=1, else a quick connection to
    torchvision's download server (remembered for a few minutes; a probe that hangs counts as offline)."""
    if os.environ.get("FEWSHOT_OFFLINE") == "1":
        return False
    now = time.monotonic()
    if _probe and now - _probe["at"] < PROBE_TTL_S:
        return _probe["ok"]
    result = [False]

    def probe():
        try:
            socket.create_connection(PROBE_HOST, timeout=timeout).close()
            result[0] = True
        except OSError:
            pass
    t = threading.Thread(target=probe, daemon=True)  # name lookups ignore socket timeouts: wait on a thread
    t.start()
    t.join(timeout + 0.5)
    _probe.update(at=now, ok=result[0])
    return result[0]


def weights_details_md(arch: str) -> str:
    """The by-hand way to put a backbone's weights in place, folded away (a <details> block for the page)."""
    path = weights_cache_path(arch)
    return (f"<details><summary>Details: add the weights file by hand</summary>\n\n"
            f"The file {path.name} goes into {path.parent}. On a machine with internet, download it from "
            f"{weights_enum(arch).url}, then install it here with `python -m fewshot weights --from FILE --arch {arch}` "
            f"(it checks the file).\n\n</details>")


class MissingWeights(WeightsUnavailable):
    """A backbone's ImageNet weights are not here and cannot be downloaded. str(): the whole story with the
    command line's ways out; `summary` and `markdown`: the page's one sentence, its details folded away."""

    def __init__(self, arch: str, reason: str) -> None:
        self.arch, self.reason = arch, reason
        path = weights_cache_path(arch)
        super().__init__(
            f"The ImageNet weights for {arch} ({path.name}) are not on this machine and could not be downloaded "
            f"({reason}). Ways out: train from scratch with --scratch (works, but much weaker with few photos); "
            f"use a weights file you have with --weights FILE; or install the file once with "
            f"python -m fewshot weights --from FILE --arch {arch} (download it on a connected machine from "
            f"{weights_enum(arch).url}; it goes into {path.parent}).")

    def __reduce__(self):  # rebuilt from its arch and reason where it crosses processes (ZeroGPU's worker)
        return MissingWeights, (self.arch, self.reason)

    @property
    def summary(self) -> str:
        return (f"{backbone(self.arch).label}'s ImageNet weights are not on this machine, and it cannot download "
                f"them. Use a backbone whose weights are here, or train from scratch, with the buttons below.")

    @property
    def markdown(self) -> str:
        return f"{self.summary}\n\n{weights_details_md(self.arch)}"


def load_pretrained_state(arch: str, weights_file: str | os.PathLike | None = None) -> dict:
    """The torchvision ImageNet state dict: a named file, the hub cache, or a download."""
    if weights_file:
        try:
            return torch.load(weights_file, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise WeightsUnavailable(f"The weights file {weights_file} does not exist.") from None
        except Exception as exc:
            raise WeightsUnavailable(f"{weights_file} is not a torchvision weights file ({exc}).") from None
    path = weights_cache_path(arch)
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    if os.environ.get("FEWSHOT_OFFLINE") == "1":
        raise MissingWeights(arch, "offline mode is on")
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # fail in seconds, not minutes, on a machine without internet
    try:
        return weights_enum(arch).get_state_dict(progress=False, check_hash=True)
    except Exception as exc:
        raise MissingWeights(arch, type(exc).__name__) from None
    finally:
        socket.setdefaulttimeout(old)


def build_model(arch: str, num_classes: int, *, pretrained: bool = True, weights_file: str | None = None,
                pre: Preprocessing | None = None) -> Classifier:
    """A Classifier for `num_classes`; ImageNet weights when `pretrained`."""
    backbone(arch)  # UnknownBackbone (also a ValueError) before anything is built
    net = tvm.get_model(arch, weights=None)
    if pretrained:
        net.load_state_dict(load_pretrained_state(arch, weights_file))
    stages, pool, neck, dim = split_backbone(arch, net)
    return Classifier(stages, pool, neck, dim, num_classes, pre or Preprocessing())


def cut_for_stage(model: Classifier, stage: str) -> int:
    """How many stages are frozen (and so cacheable) for an unfreeze stage."""
    n = len(model.stages)
    return {"head": n, "top": n - 1, "top2": n - 2, "all": 0}[stage]


def freeze_for_stage(model: Classifier, stage: str) -> None:
    """requires_grad on exactly what `stage` trains: head, then neck and the last stages."""
    if stage not in STAGES:
        raise ValueError(stage)
    cut = cut_for_stage(model, stage)
    for p in model.parameters():
        p.requires_grad = False
    for m in [model.head] + ([model.neck] if stage != "head" else []) + list(model.stages[cut:]):
        for p in m.parameters():
            p.requires_grad = True


def set_train_mode(model: Classifier, stage: str) -> None:
    """Train mode for what trains; frozen parts (their BatchNorm above all) stay in eval mode."""
    cut = cut_for_stage(model, stage)
    model.eval()
    model.head.train()
    if stage != "head":
        model.neck.train()
    for s in model.stages[cut:]:
        s.train()


def param_groups(model: Classifier, stage: str, lr: float, backbone_mult: float, wd: float) -> list[dict]:
    """The new head learns at lr; unfrozen pretrained layers at lr * backbone_mult."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    groups = [{"params": head, "lr": lr, "weight_decay": wd}]
    if body:
        groups.append({"params": body, "lr": lr * backbone_mult, "weight_decay": wd})
    return groups


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
