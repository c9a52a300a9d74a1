"""An image classifier made with fewshot, as a Hugging Face Space (or anywhere: `python app.py`).

It needs only gradio, onnxruntime, numpy and pillow: no torch, no fewshot. The model is `model.onnx`
(softmax included); `model.json` names its classes and how a picture becomes its input. The picture is
prepared exactly as fewshot prepares it (upright by its EXIF, RGB, JPEG decoded at a reduced scale when it is
at least twice the size needed, shorter side resized with bilinear filtering, centre square, centre crop), so
the probabilities are fewshot's own. It listens where GRADIO_SERVER_NAME and GRADIO_SERVER_PORT say (on a
Space, 0.0.0.0:7860); its API endpoint `/predict` takes an image and returns a label with confidences.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import gradio as gr
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps, UnidentifiedImageError

HERE = Path(__file__).resolve().parent
INFO = json.loads((HERE / "model.json").read_text(encoding="utf-8"))
CLASSES: list[str] = INFO["classes"]
RESIZE, CROP = int(INFO["preprocessing"]["resize"]), int(INFO["preprocessing"]["crop"])
MAX_PIXELS = int(INFO.get("max_pixels", 64_000_000))  # bigger declared sizes are refused (decompression bombs)
MAX_ASPECT = 1000  # a 1x60000 strip is no photo
TOP = min(5, len(CLASSES))
SESSION = ort.InferenceSession(str(HERE / INFO["model_file"]), providers=["CPUExecutionProvider"])
INPUT = SESSION.get_inputs()[0].name


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to RGB: 16-bit scaled down, transparency over white, CMYK converted."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = float(arr.max()) if arr.size else 0.0
        if img.mode.startswith("I;16") or 255 < top <= 65535:
            scale = 255.0 / 65535.0
        elif 0 < top <= 1.0 and img.mode == "F":
            scale = 255.0
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


def _open(path: str) -> Image.Image:
    """Open a picture (headers only) and refuse what is not one, or is far too big."""
    try:
        img = Image.open(path)
    except Image.DecompressionBombError:
        raise gr.Error("This picture is too large.") from None
    except (UnidentifiedImageError, OSError):
        raise gr.Error("This file is not a picture in a format we can read.") from None
    w, h = img.size
    if w * h > MAX_PIXELS or w < 1 or h < 1 or max(w, h) > MAX_ASPECT * min(w, h):
        raise gr.Error(f"This picture is {w}x{h} pixels, which cannot be used.")
    return img


def load_rgb(path: str, min_side: int) -> Image.Image:
    """Decode to an upright RGB image; a JPEG at least twice `min_side` decodes at a reduced scale."""
    img = _open(path)
    try:
        if getattr(img, "is_animated", False):
            img.seek(0)  # an animated GIF/WebP: its first frame
        if min_side and img.format == "JPEG":
            w, h = img.size
            scale = min(w, h) / float(min_side)
            if scale >= 2:
                img.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
        img.load()
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - broken EXIF: keep the picture as stored
            pass
        return _to_rgb(img)
    except gr.Error:
        raise
    except Exception:  # noqa: BLE001 - a damaged file gets words, not a traceback
        raise gr.Error("This picture is damaged or cut off.") from None


def model_input(path: str) -> np.ndarray:
    """The network's input for one picture: [1, 3, CROP, CROP] float32 RGB in [0, 1] (mean and std are
    applied inside the model)."""
    img = load_rgb(path, RESIZE)
    w, h = img.size
    s = RESIZE / min(w, h)
    nw, nh = max(RESIZE, round(w * s)), max(RESIZE, round(h * s))
    img = img.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
    left, top = (nw - RESIZE) // 2, (nh - RESIZE) // 2
    canvas = np.asarray(img.crop((left, top, left + RESIZE, top + RESIZE)), dtype=np.uint8)
    off = (RESIZE - CROP) // 2
    crop = canvas[off:off + CROP, off:off + CROP]
    return np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def predict(image: str | None) -> dict[str, float] | None:
    """{class: probability} for the top classes of one picture, most likely first."""
    if not image:
        return None
    probs = SESSION.run(None, {INPUT: model_input(image)})[0][0]
    order = np.argsort(-probs)[:TOP]
    return {CLASSES[i]: float(probs[i]) for i in order}


def about() -> str:
    """The model card: README.md without its Space settings."""
    text = (HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").is_file() else ""
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S).strip()


I18N = gr.I18n(en={"picture": "A picture", "answer": "What the model sees", "about": "About this model",
                   "intro": "Give it a picture: upload, paste (Ctrl+V) or use the camera."},
               **{"zh-CN": {"picture": "一张图片", "answer": "模型看到的是", "about": "关于这个模型",
                            "intro": "给它一张图片：上传、粘贴（Ctrl+V）或使用摄像头。"}})

with gr.Blocks(title=INFO.get("title", "Image classifier")) as demo:
    gr.Markdown(f"# {INFO.get('title', 'Image classifier')}\n\n**{' · '.join(CLASSES)}**")
    gr.Markdown(I18N("intro"))
    with gr.Row():
        image = gr.Image(sources=["upload", "clipboard", "webcam"], type="filepath", image_mode=None,
                         label=I18N("picture"), height=320, elem_id="space-image")
        label = gr.Label(num_top_classes=TOP, label=I18N("answer"), elem_id="space-label")
    with gr.Accordion(I18N("about"), open=False):
        gr.Markdown(about())
    # image_mode=None: the file arrives as it was sent, so the preprocessing above does every conversion
    image.change(predict, image, label, api_name="predict")

if __name__ == "__main__":
    # host and port: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Gradio reads them; a photo is never 25 MB
    demo.launch(i18n=I18N, max_file_size="25mb")
