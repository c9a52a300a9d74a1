"""Pretrained weights for offline sites: list, download, or install a file with checksum check."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import torch

from .backbones import BACKBONES
from .errors import WeightsUnavailable
from .models import load_pretrained_state, weights_cache_path, weights_enum, weights_filename

__all__ = ["download", "install_from_file", "status"]


def _expected_sha256_prefix(arch: str) -> str:
    """torchvision names its files <name>-<first hex digits of sha256>.pth."""
    return weights_filename(arch).rsplit("-", 1)[-1].split(".")[0]


def sha256(path: str | os.PathLike) -> str:
    """The file's sha256 as hex, read in 1 MB pieces (VGG16's file is over 500 MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def status() -> list[dict]:
    """For every backbone in the table: whether its ImageNet file is here, where it goes, where to get it."""
    return [{"arch": a, "present": weights_cache_path(a).is_file(), "path": str(weights_cache_path(a)),
             "url": weights_enum(a).url} for a in BACKBONES]


def _guess_arch(path: Path) -> str:
    for a in BACKBONES:
        if path.name == weights_filename(a):
            return a
    raise WeightsUnavailable(f"Cannot tell which backbone {path.name} is for; name it with --arch "
                             f"({', '.join(BACKBONES)}).")


def install_from_file(src: str | os.PathLike, arch: str | None = None) -> Path:
    """Verify `src` against torchvision's checksum for `arch` and copy it where torchvision looks."""
    src = Path(src)
    if not src.is_file():
        raise WeightsUnavailable(f"{src} does not exist")
    arch = arch or _guess_arch(src)
    want = _expected_sha256_prefix(arch)
    got = sha256(src)
    if not got.startswith(want):
        raise WeightsUnavailable(f"{src.name} is not torchvision's {arch} ImageNet file: its sha256 starts "
                                 f"{got[:len(want)]}, expected {want}. Download {weights_enum(arch).url} again.")
    dest = weights_cache_path(arch)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


def download(arch: str) -> Path:
    """Download (when online) into the torch hub cache; WeightsUnavailable with advice when offline."""
    load_pretrained_state(arch)
    path = weights_cache_path(arch)
    if not path.is_file():  # loaded from elsewhere: make sure the cache has it
        torch.hub.download_url_to_file(weights_enum(arch).url, str(path), hash_prefix=_expected_sha256_prefix(arch))
    return path
