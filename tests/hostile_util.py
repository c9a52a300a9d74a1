"""Makers for the hostile-input tests: tiny pictures, class folders, zips and a fast config.

Everything is generated in the test's tmp_path; nothing is downloaded or read from ../shared.
(Imported as a plain module: pytest puts tests/ on sys.path because tests/ has no __init__.py.)
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot import Preprocessing, TrainConfig

COLORS = {"red": (210, 40, 40), "blue": (40, 40, 210), "green": (40, 190, 60)}
SMALL = Preprocessing(resize=40, crop=32)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and far faster than two when the cores are shared.

    Import this into a test module to apply it there; the previous setting is restored after.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(**changes) -> TrainConfig:
    """pretrained=False, 32 px crops, small batches: a whole run takes about a second on a CPU."""
    base = dict(pretrained=False, epochs=1, batch_size=4, augmentation="none", preprocessing=SMALL)
    base.update(changes)
    return TrainConfig(**base)


def picture(w: int = 24, h: int = 24, color=(210, 40, 40), seed: int = 0) -> Image.Image:
    """A noisy patch of one colour (noise makes every file different, so none are duplicates)."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(color)[None, None, :] + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def class_folders(root: Path, classes=("red", "blue"), n: int = 6, size: int = 24) -> dict[str, list[Path]]:
    """root/<class>/<i>.png for each class; returns the files written."""
    out: dict[str, list[Path]] = {}
    for c in classes:
        out[c] = [write(root / c / f"{c}{i}.png", encode(picture(size, size, COLORS.get(c, (128, 128, 128)),
                                                                 seed=zlib.crc32(f"{c}{i}".encode())), "PNG"))
                  for i in range(n)]
    return out


def good_pngs(n: int, color, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}{i}.png": encode(picture(24, 24, color, seed=i + 1000 * len(prefix)), "PNG") for i in range(n)}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(w: int, h: int) -> bytes:
    """A valid PNG signature and header declaring w x h RGB pixels, with almost no pixel data."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))


def make_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    """Write members under their names exactly as given (ZipInfo does not clean '../' or '/')."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return path


def _central_entry(data: bytes, path: Path, member: str) -> tuple[int, int]:
    """(local header offset, central entry offset) of a member, walking the central directory."""
    with zipfile.ZipFile(path) as zf:
        local, pos = zf.getinfo(member).header_offset, zf.start_dir
    while data[pos:pos + 4] == b"PK\x01\x02":
        if struct.unpack_from("<I", data, pos + 42)[0] == local:
            return local, pos
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + n + m + k
    raise AssertionError(f"{member} not found in the central directory")


def patch_flags(path: Path, member: str, set_bits: int = 0, clear_bits: int = 0) -> None:
    """Change the general-purpose flag bits of one member in both its local and central headers."""
    data = bytearray(path.read_bytes())
    local, central = _central_entry(data, path, member)
    for off in (local + 6, central + 8):
        flags = struct.unpack_from("<H", data, off)[0]
        struct.pack_into("<H", data, off, (flags | set_bits) & ~clear_bits)
    path.write_bytes(bytes(data))


def patch_central_sizes(path: Path, member: str, compressed: int, uncompressed: int) -> None:
    """Make the central directory lie about one member's sizes (as a crafted zip bomb does)."""
    data = bytearray(path.read_bytes())
    _, central = _central_entry(data, path, member)
    struct.pack_into("<II", data, central + 20, compressed, uncompressed)
    path.write_bytes(bytes(data))


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}
