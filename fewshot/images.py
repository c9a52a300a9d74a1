"""Image decoding and preprocessing: the one place where a file becomes pixels.

Training, evaluation, prediction and export all go through `decode_canvas` and
`center_view`, so the app, the CLI and exported models see identical inputs.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .config import Preprocessing

__all__ = ["DEFAULT_MAX_PIXELS", "IMAGE_EXTS", "Source", "UnreadableImage", "center_view", "decode_canvas",
           "is_image_name", "load_rgb", "read_checked", "short_sides", "thumbnail"]

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
DEFAULT_MAX_PIXELS = 64_000_000  # about 8000x8000: bigger declared sizes are treated as decompression bombs
MAX_ASPECT = 1000  # a 1x60000 strip is no photo, and resizing its short side to 256 would need gigabytes

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, never silently grey pixels

Source = Union[str, os.PathLike, bytes, Image.Image]
_PIL_LIMIT_LOCK = threading.Lock()


class UnreadableImage(Exception):
    """An image file could not be decoded; str() is the plain reason."""


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTS and not Path(name).name.startswith(".")


def _kind_of(data: bytes) -> str:
    """Plain words for what a file that is not a picture probably is."""
    head = data[:64]
    if head.startswith(b"%PDF"):
        return "a PDF document, not a picture"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypmsf1"):
        return "a HEIC photo (iPhone format), which is not supported; convert it to JPEG first"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive, not a picture"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text[:1] == b"<" or all(32 <= b < 127 or b in (9, 10, 13) for b in text):
        return "text or HTML (perhaps a web page saved under a picture's name), not a picture"
    return "not a picture in a format we can read"


def _too_many_pixels(size: str, max_pixels: int) -> str:
    return f"the image declares {size}, over the limit of {max_pixels:,} pixels (limit: max pixels per image)"


def _reason(exc: BaseException) -> str:
    """A decoder's exception as a plain reason; cut-off files get one wording whatever the format."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if any(s in low for s in ("truncated", "broken data stream", "premature end", "image file is incomplete",
                              "buffer is not large enough", "not enough data", "unexpected end")):
        return "the file is truncated (cut off before the end)"
    return f"the picture data is damaged ({text[:200]})"


def _pil_open(data: bytes, max_pixels: int) -> Image.Image:
    """Image.open without touching PIL's global bomb limit unless a configured limit exceeds it.

    PIL refuses at twice MAX_IMAGE_PIXELS; our own check (in _open) applies `max_pixels`. Only a
    limit set above PIL's needs the global raised, and then under a lock so threads restore it right.
    """
    pil_limit = Image.MAX_IMAGE_PIXELS
    if pil_limit is None or max_pixels <= 2 * pil_limit:
        return Image.open(io.BytesIO(data))
    with _PIL_LIMIT_LOCK:
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            return Image.open(io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = pil_limit


def _open(src: Source, max_pixels: int) -> Image.Image:
    """Open (headers only, nothing decoded yet) and refuse empty, foreign or oversized files."""
    if isinstance(src, Image.Image):
        return src
    try:
        data = src if isinstance(src, bytes) else Path(src).read_bytes()
    except OSError as exc:
        raise UnreadableImage(f"it could not be read ({exc.strerror or exc})") from None
    if not data:
        raise UnreadableImage("the file is empty (0 bytes)")
    try:
        img = _pil_open(data, max_pixels)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "very large"
        raise UnreadableImage(_too_many_pixels(size, max_pixels)) from None
    except UnidentifiedImageError:
        raise UnreadableImage(f"the file is {_kind_of(data)}") from None
    except Exception as exc:  # noqa: BLE001 - PIL's plugins raise many types on hostile headers
        raise UnreadableImage(_reason(exc)) from None
    w, h = img.size
    if w * h > max_pixels:  # decided from the header alone: no pixel memory is allocated
        raise UnreadableImage(_too_many_pixels(f"{w}x{h} = {w * h:,} pixels", max_pixels))
    if w < 1 or h < 1:
        raise UnreadableImage(f"the image is {w}x{h}, which has no pixels")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise UnreadableImage(f"the image is {w}x{h}: more than {MAX_ASPECT} times longer than it is wide, "
                              f"so it cannot be a photo")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to RGB: 16-bit scaled down, transparency over white, CMYK converted."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = float(arr.max()) if arr.size else 0.0
        if img.mode.startswith("I;16") or 255 < top <= 65535:
            scale = 255.0 / 65535.0  # 16-bit: keep the brightness the file means
        elif 0 < top <= 1.0 and img.mode == "F":
            scale = 255.0  # float images in [0, 1]
        else:
            scale = 255.0 / top if top > 255 else 1.0
        img = Image.fromarray((arr * scale).round().clip(0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB") if img.mode != "RGB" else img


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; broken EXIF leaves the picture as stored rather than losing it."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - malformed EXIF raises anything from struct.error to KeyError
        return img


def load_rgb(src: Source, min_side: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode to an upright RGB image. `min_side` lets JPEG decode at a reduced scale (draft mode).

    Every failure is an UnreadableImage whose str() is the plain reason.
    """
    img = _open(src, max_pixels)
    try:
        if getattr(img, "is_animated", False):
            img.seek(0)  # animated GIF/WebP: the first frame stands for the file
        if min_side and img.format == "JPEG":
            w, h = img.size
            scale = min(w, h) / float(min_side)
            if scale >= 2:
                img.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
        img.load()
        return _to_rgb(_upright(img))
    except UnreadableImage:
        raise
    except MemoryError:
        raise UnreadableImage("the picture is too large to decode in the memory available") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must never crash the caller
        raise UnreadableImage(_reason(exc)) from None


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


def short_sides(paths: list[str], limit: int = 64) -> list[int]:
    """Shorter sides of up to `limit` evenly spread photos, from their headers only (no decoding)."""
    step = max(1, len(paths) // limit)
    out = []
    for path in paths[::step][:limit]:
        try:
            with Image.open(path) as img:
                out.append(min(img.size))
        except Exception:  # noqa: BLE001 - a photo that vanished since loading simply does not vote
            continue
    return out


def thumbnail(src: Source, size: int = 96, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """A small upright RGB preview; decodes the whole file, so it also proves the file is readable."""
    img = load_rgb(src, size, max_pixels)
    img.thumbnail((size, size))
    return img


def read_checked(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, decode: bool = True
                 ) -> tuple[bytes, str]:
    """A photo's bytes and their sha1, after a full decode at small scale (which catches truncated files);
    `decode=False` skips that check (the photo was checked before, e.g. its features are cached).
    UnreadableImage with the plain reason when it cannot be read or decoded."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableImage(f"it could not be read ({exc.strerror or exc})") from None
    if decode:
        thumbnail(data, 32, max_pixels)
    return data, hashlib.sha1(data).hexdigest()
