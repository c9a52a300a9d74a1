"""Image decoding and preprocessing: the one place where a file becomes pixels.

Training, evaluation, prediction and export all go through `decode_canvas` and
`center_view`, so the app, the CLI and exported models see identical inputs.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .config import Preprocessing

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
DEFAULT_MAX_PIXELS = 64_000_000  # about 8000x8000: bigger declared sizes are treated as decompression bombs

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, never silently grey pixels

Source = Union[str, os.PathLike, bytes, Image.Image]


class UnreadableImage(Exception):
    """An image file could not be decoded; str() is the plain reason."""


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTS and not Path(name).name.startswith(".")


def _open(src: Source, max_pixels: int) -> Image.Image:
    if isinstance(src, Image.Image):
        return src
    data = src if isinstance(src, bytes) else Path(src).read_bytes()
    if not data:
        raise UnreadableImage("the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                img = Image.open(io.BytesIO(data))
            finally:
                Image.MAX_IMAGE_PIXELS = old
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadableImage(f"the image declares more than {max_pixels:,} pixels (limit: max pixels per image)") from None
    except UnidentifiedImageError:
        head = data[:64].lstrip().lower()
        kind = "text or HTML" if head[:1] == b"<" or all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "not an image"
        raise UnreadableImage(f"the file is {kind}, not a picture") from None
    w, h = img.size
    if w * h > max_pixels:
        raise UnreadableImage(f"the image is {w}x{h}, more than {max_pixels:,} pixels (limit: max pixels per image)")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to RGB: 16-bit scaled down, transparency over white, CMYK converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = float(arr.max()) or 1.0
        img = Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB") if img.mode != "RGB" else img


def load_rgb(src: Source, min_side: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode to an upright RGB image. `min_side` lets JPEG decode at a reduced scale (draft mode)."""
    img = _open(src, max_pixels)
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated GIF/WebP: the first frame stands for the file
        if min_side and img.format == "JPEG":
            w, h = img.size
            scale = min(w, h) / float(min_side)
            if scale >= 2:
                img.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
        img.load()
        img = ImageOps.exif_transpose(img)
        return _to_rgb(img)
    except UnreadableImage:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason or "broken data stream" in reason or "premature end" in reason.lower():
            reason = "the file is truncated (cut off before the end)"
        raise UnreadableImage(reason) from None


def decode_canvas(src: Source, pre: Preprocessing, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode once and resize: shorter side to `pre.resize`, centre square of that size, uint8 HWC.

    The centre `pre.crop` square of this canvas is what evaluation and prediction see;
    training augmentations crop elsewhere inside it.
    """
    img = load_rgb(src, pre.resize, max_pixels)
    w, h = img.size
    s = pre.resize / min(w, h)
    nw, nh = max(pre.resize, round(w * s)), max(pre.resize, round(h * s))
    img = img.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
    left, top = (nw - pre.resize) // 2, (nh - pre.resize) // 2
    img = img.crop((left, top, left + pre.resize, top + pre.resize))
    return np.asarray(img, dtype=np.uint8)


def center_view(canvas: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """The evaluation crop of a canvas (or a batch of canvases, NHWC)."""
    off = (pre.resize - pre.crop) // 2
    return canvas[..., off:off + pre.crop, off:off + pre.crop, :]


def thumbnail(src: Source, size: int = 96, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """A small upright RGB preview; decodes the whole file, so it also proves the file is readable."""
    img = load_rgb(src, size, max_pixels)
    img.thumbnail((size, size))
    return img
