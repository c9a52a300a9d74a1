"""What the model of a Session shows and does: its check, predictions, exports and saved files. No gradio."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Sequence

import pandas as pd

from ...bundle import TrainedModel, atomic_write, load_bundle, save_bundle
from ...errors import DataError, FewshotError
from ...evaluate import EvalReport
from ...export import export_files
from .state import Session


def per_class_frame(ev: EvalReport | None, tm: TrainedModel | None = None) -> pd.DataFrame:
    cols = ["class", "precision", "recall", "f1", "support"]
    if ev is not None:
        return ev.per_class[cols]
    rows = (tm.metrics.get("per_class") if tm is not None else None) or []
    return pd.DataFrame(rows, columns=cols)


def confusion_frame(sess: Session) -> pd.DataFrame | None:
    """Rows: true class, columns: predicted; from this session's check or the loaded model's metrics."""
    if sess.evaluation is not None:
        return sess.evaluation.confusion
    tm = sess.model
    cm = tm.metrics.get("confusion") if tm is not None else None
    if not cm or len(cm) != len(tm.classes):
        return None
    return pd.DataFrame(cm, index=tm.classes, columns=tm.classes)


def misclassified_items(ev: EvalReport | None, limit: int = 24) -> list[tuple[str, str]]:
    """(image path, caption) for the validation photos the model got wrong, worst first."""
    if ev is None:
        return []
    return [(m["path"], f"{m['true']} → {m['predicted']} ({m['confidence']:.0%})")
            for m in ev.misclassified[:limit] if Path(m["path"]).is_file()]


def servable(sess: Session, path: str) -> str:
    """A file the page may show: itself when it is in the session's folder, else a copy made there. A project's
    photos never leave its folder through Gradio (launch_kwargs blocks the projects' folders); the copy, like
    everything in the session folder, goes when the tab closes."""
    src = Path(path)
    if src.resolve().is_relative_to(sess.dir.resolve()):
        return str(src)
    dest = sess.dir / "shown" / f"{hashlib.sha1(str(src.resolve()).encode()).hexdigest()[:16]}{src.suffix.lower()}"
    if not dest.is_file():
        dest.parent.mkdir(exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    return str(dest)


def predict_image(sess: Session, image: str, top_k: int = 3, tta: bool = False) -> dict[str, float]:
    """{class: probability} for one image, most likely first."""
    if not image:
        raise DataError("Add a picture first (upload, paste or webcam).")
    with sess.model_lock:
        return dict(sess.predictor.predict_one(image, top_k=int(top_k), tta=bool(tta)))


def predict_many(sess: Session, paths: Sequence[str], tta: bool = False) -> tuple[pd.DataFrame, Path]:
    """A table (file, prediction, confidence, runner-up, problem) and the same as a CSV file."""
    if not paths:
        raise DataError("Add some pictures first.")
    with sess.model_lock:
        preds = sess.predictor.predict_files(list(paths), top_k=2, tta=bool(tta))
    rows = []
    for p in preds:
        top = p.top + [("", 0.0)] * (2 - len(p.top))
        rows.append({"file": re.sub(r"^\d{4}-", "", p.name), "prediction": top[0][0],
                     "confidence": round(top[0][1], 4) if p.top else None, "runner-up": top[1][0],
                     "problem": p.error or ""})
    df = pd.DataFrame(rows, columns=["file", "prediction", "confidence", "runner-up", "problem"])
    out = sess.fresh_dir("predictions") / "predictions.csv"
    df.to_csv(out, index=False)
    return df, out


def _slug(classes: Sequence[str]) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(classes)).strip("-").lower()
    return (s[:40].rstrip("-") or "model")


EXPORT_FORMATS = {"bundle": ".safetensors", "torchscript": ".torchscript.pt", "onnx": ".onnx"}


def export_model(sess: Session, fmt: str = "bundle") -> list[Path]:
    """Write the session's model as a bundle, TorchScript or ONNX file; returns the files (model first)."""
    if sess.model is None:
        raise FewshotError("There is no model to export yet: train one in the Train step first.")
    if fmt not in EXPORT_FORMATS:
        raise FewshotError(f"Unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}.")
    out = sess.fresh_dir("export") / f"fewshot-{_slug(sess.model.classes)}{EXPORT_FORMATS[fmt]}"
    if fmt == "bundle":
        path = save_bundle(sess.model, out)
        sess.bundle_path = path
        card = path.with_suffix(".md")  # the card is inside the bundle too; beside it, anyone can read it
        atomic_write(card, sess.model.model_card().encode())
        return [path, card]
    with sess.model_lock:
        files = export_files(sess.model, fmt, out)  # the model file runs on its own; .json and .md beside it
        sess.forget_predictor()  # export moved the model to the CPU: the next prediction sets it up again
    return files

def load_model_file(sess: Session, path: str) -> TrainedModel:
    """A saved bundle back into the session, ready to predict (never unpickles: BundleError if anything is off)."""
    if not path:
        raise FewshotError("Choose a .safetensors model file first.")
    tm = load_bundle(path)
    sess.set_model(tm, None)
    return tm


__all__ = ["EXPORT_FORMATS", "confusion_frame", "export_model", "load_model_file", "misclassified_items",
           "per_class_frame", "predict_image", "predict_many", "servable"]
