"""A trained model as a ready Hugging Face Space: a folder that runs as it is, with no torch and no fewshot.

The folder: `README.md` (the Space's settings as front matter, then the model card), `app.py` (a copy of
assets/space/app.py: gradio, onnxruntime, numpy and pillow only), `requirements.txt` (those four, pinned or
capped), `model.onnx` (the ONNX export, softmax included, the Predictor's probabilities) and `model.json`
(classes and how a picture becomes the model's input). No gradio here: the template is copied as text.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from .backbones import BACKBONES
from .bundle import TrainedModel, atomic_write
from .errors import FewshotError
from .export import export
from .images import DEFAULT_MAX_PIXELS

__all__ = ["TEMPLATE", "build_space", "space_files", "space_slug", "zip_space"]

TEMPLATE = Path(__file__).resolve().parents[1] / "assets" / "space" / "app.py"
MODEL_FILE, INFO_FILE = "model.onnx", "model.json"
GRADIO_PINNED = "6.31.0"  # used only where gradio's own metadata is missing; the front matter test checks it
# The Space's other packages: capped at the next major version, floors at versions that run the exported
# opset and resize as the Predictor's Pillow does. gradio is pinned to the sdk_version (the Space installs it).
SPACE_REQUIREMENTS = ("onnxruntime>=1.20,<2", "numpy>=1.26,<3", "pillow>=10.1,<13")
TITLE_MAX, SHORT_MAX = 30, 60  # what the Hub accepts for a Space's title and short_description
EMOJI, TAGS = "📸", ("fewshot", "image-classification", "onnx")


def _gradio_version() -> str:
    """The Gradio this fewshot runs with (read from the package's metadata: gradio itself is not imported)."""
    try:
        return metadata.version("gradio")
    except metadata.PackageNotFoundError:
        return GRADIO_PINNED


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip(" ,") + "…"


def _space_title(tm: TrainedModel) -> str:
    """`Classifier: ants, bees`, shortened to what the Hub accepts."""
    return _shorten("Classifier: " + ", ".join(tm.classes), TITLE_MAX)


def _front_matter(tm: TrainedModel) -> str:
    """The Space's settings (YAML): every value on one line; free text as a JSON string, which YAML reads too."""
    acc = tm.metrics.get("val_accuracy")
    about = f"{len(tm.classes)} classes, {acc:.0%} validation accuracy" if acc is not None else \
        f"{len(tm.classes)} classes"
    short = _shorten(f"fewshot classifier: {about}", SHORT_MAX)
    fields = {"title": json.dumps(_space_title(tm), ensure_ascii=False), "emoji": EMOJI, "colorFrom": "indigo",
              "colorTo": "green", "sdk": "gradio", "sdk_version": _gradio_version(), "app_file": "app.py",
              "pinned": "false", "suggested_hardware": "cpu-basic",
              "short_description": json.dumps(short, ensure_ascii=False), "tags": "[" + ", ".join(TAGS) + "]"}
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n"


def _space_readme(tm: TrainedModel, space_id: str | None = None) -> str:
    """README.md: the front matter, then the model card and how to call the Space (`space_id`, when known)."""
    usage = ("\n## Use it\n\nOpen the Space and give it a picture, or call it from Python:\n\n```python\n"
             "from gradio_client import Client, handle_file\n"
             f"print(Client({json.dumps(space_id or 'USER/NAME')}).predict(handle_file(\"photo.jpg\"), "
             "api_name=\"/predict\"))\n```\n\n"
             "Locally: `pip install -r requirements.txt && python app.py` (http://127.0.0.1:7860).\n")
    return _front_matter(tm) + "\n" + tm.model_card().rstrip() + "\n" + usage


def _space_info(tm: TrainedModel) -> dict:
    """model.json: the classes and exactly how a picture becomes the model's input."""
    pre, bb = tm.config.preprocessing, BACKBONES.get(tm.config.arch)
    return {"title": _space_title(tm), "classes": tm.classes, "model_file": MODEL_FILE,
            "input": "float32 RGB in [0,1], NCHW; output: class probabilities (softmax included)",
            "preprocessing": {**pre.to_dict(), "interpolation": "bilinear", "exif_transpose": True,
                              "jpeg_draft": "decode at a reduced scale when the shorter side is at least twice "
                                            "`resize`", "normalized_inside_model": True,
                              "steps": "upright by EXIF, RGB (transparency over white), shorter side to `resize`, "
                                       "centre square of `resize`, centre crop of `crop`, /255"},
            "arch": tm.config.arch, "backbone": bb.label if bb else tm.config.arch,
            "backbone_input_px": bb.input_px if bb else None, "max_pixels": DEFAULT_MAX_PIXELS,
            "metrics": {k: v for k, v in tm.metrics.items() if not isinstance(v, list)}}


def _space_requirements() -> str:
    """requirements.txt: gradio at the Space's sdk_version, and what app.py imports, capped."""
    return "\n".join((f"gradio=={_gradio_version()}", *SPACE_REQUIREMENTS)) + "\n"


def _write_space(tm: TrainedModel, folder: Path, space_id: str | None) -> None:
    """Every file of the Space into `folder` (an empty folder)."""
    model = export(tm, "onnx", folder / MODEL_FILE)  # also writes model.onnx.json and model.md: not needed
    for extra in (model.with_suffix(".onnx.json"), model.with_suffix(".md")):
        extra.unlink(missing_ok=True)
    # a model over 2 GB keeps its weights in model.onnx.data beside it (export.weights_file): it stays in the
    # folder, where onnxruntime finds it
    atomic_write(folder / INFO_FILE, json.dumps(_space_info(tm), indent=2, ensure_ascii=False).encode())
    atomic_write(folder / "README.md", _space_readme(tm, space_id).encode())
    atomic_write(folder / "requirements.txt", _space_requirements().encode())
    shutil.copyfile(TEMPLATE, folder / "app.py")
    for f in folder.iterdir():  # temp files and folders are private (0600/0700); a Space's files are for all
        f.chmod(0o644)
    folder.chmod(0o755)


def build_space(tm: TrainedModel, out: str | os.PathLike, space_id: str | None = None) -> Path:
    """Write the Space folder `out` (which must not exist, or be empty); `space_id` ("USER/NAME"), when known,
    goes into the README's example. All or nothing: it is built in a hidden folder beside `out` and renamed
    into place, so a failure leaves nothing behind."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FewshotError(f"{out} already exists and is not an empty folder: choose a new folder for the Space")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_space(tm, staging, space_id)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def space_files(folder: str | os.PathLike) -> list[Path]:
    """The files of a Space folder, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def zip_space(tm: TrainedModel, out_zip: str | os.PathLike) -> Path:
    """The Space folder as one .zip (its files at the top level), written atomically."""
    out_zip = Path(out_zip)
    with tempfile.TemporaryDirectory(prefix=".space-", dir=out_zip.parent) as tmp:
        folder = build_space(tm, Path(tmp) / "space")
        staged = Path(tmp) / out_zip.name
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as z:
            for f in space_files(folder):
                z.write(f, f.relative_to(folder).as_posix())
        os.replace(staged, out_zip)
    return out_zip


def space_slug(tm: TrainedModel) -> str:
    """A default Space name from the class names: `ants-bees-classifier`."""
    s = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(tm.classes)).strip("-").lower()[:60].rstrip("-")
    return f"{s}-classifier" if s else "fewshot-classifier"
