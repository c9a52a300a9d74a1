"""Example photo sets: one generated offline (no network, no weights), one real set downloaded on demand.

The generated set has three classes of shapes (circles, squares, triangles) drawn with
random colours, textures, sizes, positions, rotations and backgrounds plus camera-like
noise, so that colour alone never gives the answer. It is deterministic for a seed.
"""
from __future__ import annotations

import colorsys
import math
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .archive import Limits, extract_zip
from .errors import DataError

__all__ = ["EXAMPLE_CLASSES", "PHOTO_SETS", "PhotoSet", "download_photo_set", "generate_example"]

EXAMPLE_CLASSES = ("circles", "squares", "triangles")
# Each shape is usually (not always) drawn in its own colour family, as real objects tend to be:
# a network trained from scratch can pick colour up quickly, a pretrained one also sees the shape.
TYPICAL_HUE = {"circles": 0.03, "squares": 0.33, "triangles": 0.62}
TYPICAL_SHARE = 0.75


@dataclass(frozen=True)
class PhotoSet:
    """A public photo set the app can download when it is online."""

    key: str
    title: str
    url: str
    size_mb: int
    folder: str  # the folder inside the archive that holds the class folders


PHOTO_SETS = {
    "ants-bees": PhotoSet("ants-bees", "Ants and bees (PyTorch tutorial, 2 classes, ~400 photos)",
                          "https://download.pytorch.org/tutorial/hymenoptera_data.zip", 45, "hymenoptera_data"),
    "flowers": PhotoSet("flowers", "Flowers (TensorFlow, 5 classes, ~3,700 photos)",
                        "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
                        218, "flower_photos"),
}


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _far_colour(rng: np.random.Generator, other: tuple[int, int, int]) -> tuple[int, int, int]:
    """A colour clearly different from `other`, so the shape always stands out from the background."""
    for _ in range(50):
        c = _random_colour(rng)
        if sum(abs(a - b) for a, b in zip(c, other)) > 180:
            return c
    return tuple(255 - v for v in other)


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _muted(rng: np.random.Generator) -> tuple[int, int, int]:
    """A background colour: any hue, mostly soft, so the object stands out as in a photo."""
    return _hsv(rng.random(), rng.uniform(0.0, 0.55), rng.uniform(0.25, 0.95))


def _shape_colour(rng: np.random.Generator, kind: str, background: tuple[int, int, int]) -> tuple[int, int, int]:
    for _ in range(50):
        typical = rng.random() < TYPICAL_SHARE
        h = TYPICAL_HUE[kind] + rng.normal(0, 0.05) if typical else rng.random()
        c = _hsv(h, rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0))
        if sum(abs(a - b) for a, b in zip(c, background)) > 150:
            return c
    return _far_colour(rng, background)


def _background(rng: np.random.Generator, size: int) -> tuple[Image.Image, tuple[int, int, int]]:
    """Plain, gradient or cluttered background; returns it with its average colour."""
    a, b = np.array(_muted(rng), np.float32), np.array(_muted(rng), np.float32)
    kind = rng.integers(0, 3)
    if kind == 0:
        arr = np.broadcast_to(a, (size, size, 3)).copy()
    else:
        t = np.linspace(0, 1, size, dtype=np.float32)
        ramp = t[None, :, None] if rng.random() < 0.5 else t[:, None, None]
        arr = a * (1 - ramp) + b * ramp
        arr = np.broadcast_to(arr, (size, size, 3)).copy()
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    if kind == 2:  # clutter: thin random lines, like a busy scene behind the object
        d = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(2, 6))):
            pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
            d.line(pts, fill=_random_colour(rng), width=int(rng.integers(1, 4)))
    return img, tuple(int(v) for v in arr.reshape(-1, 3).mean(0))


def _shape_points(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    corners = {"squares": 4, "triangles": 3}[kind]
    start = angle + (math.pi / 4 if corners == 4 else -math.pi / 2)
    return [(cx + r * math.cos(start + 2 * math.pi * i / corners), cy + r * math.sin(start + 2 * math.pi * i / corners))
            for i in range(corners)]


def _texture(rng: np.random.Generator, size: int, colour: tuple[int, int, int]) -> Image.Image:
    """Solid, striped or dotted fill for the shape."""
    img = Image.new("RGB", (size, size), colour)
    kind = rng.choice([0, 0, 1, 2])
    if kind:
        other = _far_colour(rng, colour)
        d = ImageDraw.Draw(img)
        step = int(rng.integers(6, 14))
        for i in range(-size, 2 * size, step):
            if kind == 1:
                d.line([(i, 0), (i + size * rng.uniform(-0.5, 0.5), size)], fill=other, width=max(1, step // 3))
            else:
                for j in range(0, size, step):
                    d.ellipse([i, j, i + step // 2, j + step // 2], fill=other)
    return img


def _draw_example(kind: str, rng: np.random.Generator, size: int = 128) -> Image.Image:
    """One picture of a `kind` shape on a random background, with blur and sensor noise."""
    img, avg = _background(rng, size)
    r = size * rng.uniform(0.2, 0.38)
    cx, cy = rng.uniform(r, size - r, 2)
    mask = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(mask)
    if kind == "circles":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    else:  # upright give or take 12 degrees, like icons or signs photographed by hand
        d.polygon(_shape_points(kind, cx, cy, r, rng.uniform(-0.21, 0.21)), fill=255)
    img.paste(_texture(rng, size, _shape_colour(rng, kind, avg)), (0, 0), mask)
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    arr = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(3, 12), (size, size, 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def generate_example(dest: str | Path, per_class: int = 40, seed: int = 0, size: int = 128) -> Path:
    """Write dest/<class>/<nn>.jpg for the three shape classes; returns dest. Same seed, same pictures."""
    dest = Path(dest)
    for k, kind in enumerate(EXAMPLE_CLASSES):
        folder = dest / kind
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([seed, k])
        for i in range(per_class):
            _draw_example(kind, rng, size).save(folder / f"{kind[:-1]}_{i:02d}.jpg", quality=90)
    return dest


def _fetch(url: str, target: Path, timeout: float, progress: Callable[[int, int], None] | None) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(target, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"Could not download the photo set from {url} ({reason}). This machine seems to be "
                        f"offline: use the generated example instead, or upload your own photos.") from None


def download_photo_set(key: str, dest: str | Path, timeout: float = 15.0,
                       progress: Callable[[int, int], None] | None = None) -> Path:
    """Download and unpack a public photo set into `dest`; returns the folder holding its classes.

    Raises DataError in plain words when offline or when the archive is damaged.
    """
    if key not in PHOTO_SETS:
        raise DataError(f"Unknown photo set {key!r}; choose one of {', '.join(PHOTO_SETS)}")
    ps = PHOTO_SETS[key]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive = Path(tmp) / Path(ps.url).name
        _fetch(ps.url, archive, timeout, progress)
        try:
            if archive.suffix == ".zip":
                extract_zip(archive, dest, Limits())  # the same safe unpacking as user uploads
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(dest, filter="data")  # the "data" filter refuses links and paths outside dest
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
            shutil.rmtree(dest / ps.folder, ignore_errors=True)
            raise DataError(f"The downloaded {ps.title} archive is damaged ({exc}); try again.") from None
    folder = dest / ps.folder
    return folder if folder.is_dir() else dest
