"""The app's adapter: one Session per browser tab, and plain functions from UI values to engine calls.

Nothing here imports gradio; app.py wires these functions to components. A Session owns
a private temp folder (uploads, generated examples, exported models) that `cleanup()`
deletes, and a stop flag that a running training checks every batch.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, Sequence

import pandas as pd

from .archive import Limits, is_junk
from .bundle import TrainedModel, atomic_write, load_bundle, save_bundle
from .config import ARCHS, AUTO, SCRATCH_INPUT, STAGE_CHOICES, TrainConfig
from .data import Dataset, load_dataset
from .errors import DataError, FewshotError, TrainingError, WeightsUnavailable
from .evaluate import Diagnostic, EvalReport
from .examples import download_photo_set, generate_example
from .export import export
from .images import UnreadableImage, is_image_name
from .models import weights_cache_path, weights_present
from .predict import Predictor
from .train import Done, EpochEnd, Progress, train

MAX_CARDS = 8

# (label, one-line hint, approximate download size in MB)
ARCH_INFO = {
    "resnet18": ("ResNet18", "recommended all-rounder", 45),
    "mobilenet_v2": ("MobileNetV2", "small and fast", 14),
    "mobilenet_v3_large": ("MobileNetV3", "small and fast", 21),
    "efficientnet_b0": ("EfficientNet-B0", "accurate for its size", 21),
    "resnet50": ("ResNet50", "more accurate, about 3x slower", 98),
    "vgg16": ("VGG16", "large and slow, a classic", 528),
}
FALLBACK_ORDER = ("mobilenet_v2", "resnet18", "efficientnet_b0", "mobilenet_v3_large", "resnet50", "vgg16")
# The engine calls behind training and prediction. On a ZeroGPU Space app.py swaps in versions that
# run in the worker process holding the GPU (fewshot/gpu_jobs.py); the same everywhere else.
TRAINER: Callable[..., Iterator] = train
PREDICTOR: Callable[[TrainedModel], Predictor] = Predictor

PRESETS = {
    "Quick": dict(epochs=5, lr=1e-3, stage="head", augmentation="light"),
    "Balanced": dict(epochs=10, lr=1e-3, stage="auto", augmentation="light"),
    "Thorough": dict(epochs=25, lr=5e-4, stage="top", augmentation="strong"),
}
PRESET_HINTS = {
    "Quick": "a first look, as fast as possible",
    "Balanced": "good results for most photo sets",
    "Thorough": "more epochs and more of the network: slower, can squeeze out more accuracy",
}
AUGMENTATION_HINTS = {
    "none": "none: show each photo as it is",
    "light": "light: small crops and mirror images (recommended)",
    "strong": "strong: bigger crops, colour and angle changes (helps with few photos)",
}


def session_root() -> Path:
    """Where every session's private folder lives (env FEWSHOT_SESSION_DIR, else the system temp dir)."""
    root = Path(os.environ.get("FEWSHOT_SESSION_DIR") or Path(tempfile.gettempdir()) / "fewshot-sessions")
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class Card:
    """A class card (Teachable-Machine style): a name and the photos dropped into it."""

    id: int
    name: str
    files: list[str] = field(default_factory=list)


class Session:
    """Everything one browser tab owns: its photos, its model, its training job."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.dir = Path(tempfile.mkdtemp(prefix=f"session-{self.id}-", dir=session_root()))
        self.limits = Limits.from_env()
        self.dataset: Dataset | None = None
        self.source = ""
        self.model: TrainedModel | None = None
        self.evaluation: EvalReport | None = None
        self.bundle_path: Path | None = None
        self.stop = threading.Event()
        self.training = False
        self.queued = False  # a training was requested and waits for a free slot
        self.closed = False
        self.cards = [Card(1, "Class 1"), Card(2, "Class 2")]
        self._next_card = 3
        # files the web server holds for this session: uploads it received and copies of files it sent
        self.uploads: set[Path] = set()
        self._predictor: Predictor | None = None
        self._lock = threading.Lock()
        # predicting and exporting share one model (export moves it to the CPU): one at a time
        self.model_lock = threading.RLock()
        # the page's language once the user chose one ("en" or "zh-CN"; None: the browser's), and the last
        # training snapshot, which the app writes again when the language changes
        self.lang: str | None = None
        self.last_update: tuple | None = None

    def fresh_dir(self, name: str) -> Path:
        """A new empty sub-folder of the session folder."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.dir))

    def set_dataset(self, ds: Dataset, source: str) -> Dataset:
        if self.training:  # the running training reads the current photos: keep them until it ends
            ds.cleanup()
            raise DataError("A training is running on the current photos. Wait for it or press Stop, "
                            "then load the new photos again.")
        with self._lock:
            old, self.dataset, self.source = self.dataset, ds, source
        if old is not None and old is not ds:
            old.cleanup()
        return ds

    def set_model(self, tm: TrainedModel | None, evaluation: EvalReport | None = None) -> None:
        with self._lock:
            self.model, self.evaluation, self._predictor = tm, evaluation, None
            self.bundle_path = None

    @property
    def predictor(self) -> Predictor:
        if self.model is None:
            raise FewshotError("There is no model yet: train one in step 2, or load a saved model in step 5.")
        with self._lock:
            if self._predictor is None or self._predictor.tm is not self.model:
                self._predictor = PREDICTOR(self.model)
            return self._predictor

    def cleanup(self) -> None:
        """Stop any training and delete every file this session made. Safe to call twice."""
        self.closed = True
        self.stop.set()
        if self.dataset is not None:
            self.dataset.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)
        for p in list(self.uploads):  # the session made its own links/copies as soon as they arrived
            p.unlink(missing_ok=True)
            try:
                p.parent.rmdir()  # the per-file folder the web server made, when now empty
            except OSError:
                pass
        self.uploads.clear()


class SessionRegistry:
    """Weak map from a browser connection to its Session, so a closed tab stops training and frees disk at once.

    Sessions themselves live in the UI's per-user state; this only holds weak references.
    """

    def __init__(self) -> None:
        self._by_key: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()

    def ensure(self, sess: Session | None, key: str | None) -> Session:
        if not isinstance(sess, Session) or sess.closed:
            sess = Session()
        if key:
            self._by_key[key] = sess
        return sess

    def close(self, key: str | None) -> None:
        sess = self._by_key.pop(key, None) if key else None
        if sess is not None:
            sess.cleanup()


# ---------------------------------------------------------------- data: four ways in

def _safe_rel(rel: str) -> tuple[str, ...] | None:
    parts = PurePosixPath(str(rel).replace("\\", "/")).parts
    parts = tuple(p for p in parts if p not in ("", ".", "/"))
    if not parts or any(p == ".." for p in parts) or any(len(p.encode()) > 255 for p in parts):
        return None
    return parts


def _link(src: Path, dst: Path) -> None:
    """Hard-link when on the same disk (instant, no extra space), copy otherwise."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _is_upload(path: str, upload_root: Path | None) -> Path | None:
    """The resolved path if it is a regular file inside the server's upload folder (never trust the browser)."""
    try:
        p = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if upload_root is not None and not p.is_relative_to(upload_root.resolve()):
        return None
    return p if p.is_file() else None


def load_uploaded_folder(sess: Session, items: Sequence[tuple[str, str]], upload_root: Path | None,
                         source: str = "the dropped folder", not_images: Sequence[str] = ()) -> Dataset:
    """Rebuild a dropped folder from (server path, relative path in the user's folder) pairs, then load it.

    The browser sends each file's relative path (e.g. pets/cats/1.jpg) because a plain
    upload keeps only file names; the subfolder names become the class names. `not_images`
    are relative paths the browser did not upload because they are not pictures.
    """
    skipped = [(str(rel), f"{Path(str(rel)).suffix or 'no extension'} is not an image type we read")
               for rel in not_images]
    if not items:
        extra = f" ({len(skipped)} other files were there, e.g. {skipped[0][0]})" if skipped else ""
        raise DataError("No pictures arrived. Drop a folder that holds one subfolder of photos per class "
                        f"(e.g. pets/cats, pets/dogs){extra}.")
    base = sess.fresh_dir("folder")
    for src, rel in items:
        parts = _safe_rel(rel)
        if parts is None:
            skipped.append((str(rel), "its folder path is not allowed (it points outside the folder)"))
            continue
        if any(is_junk(p) for p in parts):
            continue
        real = _is_upload(src, upload_root)
        if real is None:
            skipped.append(("/".join(parts), "the upload did not arrive on the server; try again"))
            continue
        target = base.joinpath(*parts)
        if target.exists():
            skipped.append(("/".join(parts), "another file has the same name and folder"))
            continue
        _link(real, target)
        sess.uploads.add(real)
    if not any(base.iterdir()):
        raise DataError("None of the dropped files could be used. " +
                        "; ".join(f"{f}: {r}" for f, r in skipped[:3]))
    ds = load_dataset(base, limits=sess.limits)
    ds.skipped[:0] = skipped
    return sess.set_dataset(ds, source)


def load_zip_file(sess: Session, path: str, upload_root: Path | None = None) -> Dataset:
    """A .zip of class folders (or of train/ and val/)."""
    if not path:
        raise DataError("Choose a .zip file first.")
    name = Path(path).name
    if not name.lower().endswith(".zip"):
        raise DataError(f"{name} is not a .zip file. Zip your class folders (e.g. cats/ and dogs/) and upload the zip.")
    ds = load_dataset(path, limits=sess.limits)
    real = _is_upload(path, upload_root) if upload_root is not None else None
    if real is not None:
        sess.uploads.add(real)
    return sess.set_dataset(ds, name)


def load_example(sess: Session, seed: int = 0, per_class: int = 40) -> Dataset:
    """The offline example: three classes of generated shapes."""
    folder = generate_example(sess.fresh_dir("example"), per_class=per_class, seed=seed)
    return sess.set_dataset(load_dataset(folder, limits=sess.limits), "the shapes example (generated)")


def load_photo_set(sess: Session, key: str, progress: Callable[[int, int], None] | None = None) -> Dataset:
    """A real photo set downloaded on demand (DataError in plain words when offline)."""
    folder = download_photo_set(key, sess.fresh_dir("download"), progress=progress)
    return sess.set_dataset(load_dataset(folder, limits=sess.limits), f"the {key} photo set")


# ---------------------------------------------------------------- class cards

def _card(sess: Session, card_id: int) -> Card:
    for c in sess.cards:
        if c.id == card_id:
            return c
    raise DataError("That class card no longer exists.")


def card_add(sess: Session) -> Card:
    if len(sess.cards) >= MAX_CARDS:
        raise DataError(f"Up to {MAX_CARDS} class cards fit here; for more classes, drop a folder or a zip instead.")
    card = Card(sess._next_card, f"Class {sess._next_card}")
    sess._next_card += 1
    sess.cards.append(card)
    return card


def card_rename(sess: Session, card_id: int, name: str) -> Card:
    card = _card(sess, card_id)
    card.name = re.sub(r"\s+", " ", str(name or "")).strip()[:60]
    return card


def card_delete(sess: Session, card_id: int) -> None:
    card = _card(sess, card_id)
    sess.cards.remove(card)
    for f in card.files:
        Path(f).unlink(missing_ok=True)


def card_clear(sess: Session, card_id: int) -> Card:
    card = _card(sess, card_id)
    for f in card.files:
        Path(f).unlink(missing_ok=True)
    card.files = []
    return card


def card_add_images(sess: Session, card_id: int, paths: Sequence[str], upload_root: Path | None) -> list[str]:
    """Copy uploaded or webcam images into a card; returns plain-words problems (file: reason)."""
    card = _card(sess, card_id)
    folder = sess.dir / "cards" / str(card.id)
    problems = []
    for p in paths or []:
        real = _is_upload(p, upload_root)
        name = Path(p).name
        if real is None:
            problems.append(f"{name}: the upload did not arrive on the server")
        elif not is_image_name(name):
            problems.append(f"{name}: {Path(name).suffix or 'no extension'} is not an image type we read")
        else:
            target = folder / f"{len(card.files) + 1:04d}-{name}"
            _link(real, target)
            card.files.append(str(target))
            sess.uploads.add(real)
    return problems


def load_cards(sess: Session) -> Dataset:
    """Turn the class cards into a dataset ({class name: [photos]})."""
    names = [c.name.strip() for c in sess.cards]
    for i, n in enumerate(names):
        if not n:
            raise DataError(f"Class card {i + 1} has no name: type one in its name box.")
    seen: dict[str, str] = {}
    for n in names:
        if n.casefold() in seen:
            raise DataError(f"Two class cards are both called '{n}'. Give each class its own name.")
        seen[n.casefold()] = n
    mapping = {c.name.strip(): list(c.files) for c in sess.cards}
    return sess.set_dataset(load_dataset(mapping, limits=sess.limits), "your class cards")


# ---------------------------------------------------------------- training

def backbone_choices() -> list[tuple[str, str]]:
    """(label, arch) for the backbone list; the label says whether the weights are on this machine."""
    out = []
    for arch in ARCH_INFO:
        name, hint, mb = ARCH_INFO[arch]
        where = "✓ on this machine" if weights_present(arch) else f"needs a {mb} MB download"
        out.append((f"{name} · {hint} · {where}", arch))
    return out


def fallback_arch(exclude: str | None = None) -> str | None:
    """A backbone whose weights are already here, the smallest first."""
    return next((a for a in FALLBACK_ORDER if a != exclude and weights_present(a)), None)


def weights_note(arch: str, pretrained: bool) -> str:
    if not pretrained:
        return ("Training from scratch: nothing is re-used from ImageNet and photos are used at 112 px. With "
                "*only the last layer* the rest of the network stays random (fast, but weak); choose *the whole "
                "network* to let everything learn (slow, needs many photos and epochs).")
    if weights_present(arch):
        return ""
    name, _, mb = ARCH_INFO.get(arch, (arch, "", 0))
    return (f"{name}'s ImageNet weights are not on this machine yet: training will first download them "
            f"(about {mb} MB, needs internet). Offline, put {weights_cache_path(arch).name} into "
            f"{weights_cache_path(arch).parent}.")


def make_config(arch: str, pretrained: bool, epochs: int, lr: float, stage: str, batch_size: int = 32,
                augmentation: str = "light", label_smoothing: float = 0.1, balanced: bool = False,
                seed: int = 0, early_stop: int = 0) -> TrainConfig:
    """A TrainConfig from the form, with plain-words errors for bad values."""
    if arch not in ARCHS:
        raise TrainingError(f"Unknown backbone {arch!r}; choose one from the list.")
    if stage not in STAGE_CHOICES:
        raise TrainingError(f"Unknown choice {stage!r} for 'how much of the network learns'.")
    try:
        epochs, batch_size, seed, early_stop = int(epochs), int(batch_size), int(seed or 0), int(early_stop or 0)
        lr = float(lr)
    except (TypeError, ValueError):
        raise TrainingError("Epochs, batch size and seed must be whole numbers, and the learning rate a number "
                            "such as 0.001.") from None
    pre = None if pretrained else SCRATCH_INPUT  # None: chosen from the photos when training starts
    return TrainConfig(arch=arch, pretrained=bool(pretrained), stage=stage, epochs=epochs, lr=lr,
                       batch_size=batch_size, augmentation=augmentation, label_smoothing=float(label_smoothing),
                       balanced_loss=bool(balanced), seed=seed, early_stop=early_stop, preprocessing=pre)


@dataclass
class TrainUpdate:
    """A snapshot of a training run for the UI."""

    history: list[dict] = field(default_factory=list)
    fraction: float | None = 0.0
    text: str = "Preparing…"
    eta_s: float | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    done: Done | None = None
    weights_missing: str | None = None  # the plain message when ImageNet weights could not be had
    fallback: str | None = None  # a backbone whose weights are here
    first_point_s: float | None = None
    elapsed_s: float = 0.0

    @property
    def finished(self) -> bool:
        return self.done is not None or self.weights_missing is not None


def _phase_text(ev: Progress, started: float) -> tuple[float, str, float | None]:
    frac = ev.done / max(ev.total, 1)
    if ev.phase == "features":
        rate = (time.perf_counter() - started) / max(ev.done, 1)
        eta = rate * (ev.total - ev.done) if ev.done else None
        return frac, f"Step 1 of 2 · looking at your photos: {ev.done} of {ev.total}", eta
    if ev.phase == "train":
        return frac, f"Step 2 of 2 · training · {ev.message.lower()}", ev.eta_s
    if ev.phase == "evaluate":
        return 1.0, "Checking the best model on the validation photos", None
    return 0.0, ev.message or "Preparing the network", None


def run_training(sess: Session, cfg: TrainConfig, min_interval: float = 0.5) -> Iterator[TrainUpdate]:
    """Train on the session's dataset, yielding UI snapshots at most every `min_interval` s and at every epoch.

    Stop via `sess.stop`: the engine ends within a batch and keeps the best epoch so far.
    """
    if sess.dataset is None:
        raise DataError("Load some photos first (step 1).")
    with sess._lock:
        if sess.training:
            raise TrainingError("This session is already training. Wait for it to finish or press Stop.")
        sess.training = True
    sess.stop.clear()
    up = TrainUpdate()
    t0 = time.perf_counter()
    phase, phase_start, last = None, t0, 0.0
    try:
        for ev in TRAINER(sess.dataset, cfg, stop=sess.stop, limits=sess.limits):
            up.elapsed_s = time.perf_counter() - t0
            urgent = True
            if isinstance(ev, Progress):
                if ev.phase != phase:
                    phase, phase_start = ev.phase, time.perf_counter()
                else:
                    urgent = False
                up.fraction, up.text, up.eta_s = _phase_text(ev, phase_start)
            elif isinstance(ev, EpochEnd):
                up.history = up.history + [{"epoch": ev.epoch, "train_loss": ev.train_loss, "train_acc": ev.train_acc,
                                            "val_loss": ev.val_loss, "val_acc": ev.val_acc, "seconds": ev.seconds}]
                if up.first_point_s is None:
                    up.first_point_s = up.elapsed_s
            elif isinstance(ev, Diagnostic):
                up.diagnostics = up.diagnostics + [ev]
            elif isinstance(ev, Done):
                up.done = ev
                sess.set_model(ev.model, ev.evaluation)
                up.fraction, up.eta_s = 1.0, None
                up.text = _done_text(ev) + _chosen_text(cfg, ev)
            if urgent or time.perf_counter() - last >= min_interval:
                last = time.perf_counter()
                yield replace(up)  # a snapshot: lists inside are replaced, never mutated
    except WeightsUnavailable as exc:
        up.weights_missing, up.fallback = str(exc), fallback_arch(cfg.arch)
        up.fraction, up.text = None, "Could not start: the ImageNet weights are missing."
        yield replace(up)
    finally:
        sess.training = False


def _done_text(done: Done) -> str:
    took = f"{done.seconds:.0f} s" if done.seconds < 120 else f"{done.seconds / 60:.1f} min"
    if done.model is None:
        return f"Stopped before the first epoch ended, so there is no model yet ({took})."
    best = f"kept the best epoch ({done.best_epoch})"
    if done.reason == "stopped":
        return f"Stopped after {len(done.history)} epochs; {best}. It is ready to try in step 4 ({took})."
    if done.reason == "early_stop":
        return f"Stopped early: validation stopped improving; {best} ({took})."
    if done.reason == "non_finite":
        return f"Training went wrong (the loss became infinite); {best}."
    return f"Done in {took}; {best}. Try it in step 4."


_STAGE_DONE = {"head": "only the last layer learned", "top": "the last block learned too",
               "top2": "the last two blocks learned too", "all": "the whole network learned"}


def _chosen_text(asked: TrainConfig, done: Done) -> str:
    """What "choose for me" settings became, so the user knows what the model is (empty when nothing was chosen)."""
    if done.model is None or (asked.stage != AUTO and asked.preprocessing is not None):
        return ""
    cfg = done.model.config
    return f"\nChosen from your photos: {_STAGE_DONE[cfg.stage]}, photos at {cfg.preprocessing.crop} px."


# ---------------------------------------------------------------- check, try, take away

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
        raise FewshotError("There is no model to export yet: train one in step 2 first.")
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
        path = export(sess.model, fmt, out)
        sess._predictor = None  # export moved the model to the CPU: the next prediction sets it up again
    extras = [path.with_suffix(path.suffix + ".json"), path.with_suffix(".md")]
    return [path] + [p for p in extras if p.is_file()]


def note_upload(sess: Session, path: str | None, upload_root: Path | None) -> None:
    """Remember an uploaded file (a picture to name, a model) so that closing the session deletes it."""
    real = _is_upload(path, upload_root) if path and upload_root is not None else None
    if real is not None:
        sess.uploads.add(real)


def load_model_file(sess: Session, path: str) -> TrainedModel:
    """A saved bundle back into the session, ready to predict (never unpickles: BundleError if anything is off)."""
    if not path:
        raise FewshotError("Choose a .safetensors model file first.")
    tm = load_bundle(path)
    sess.set_model(tm, None)
    return tm


def plain_error(exc: BaseException) -> str:
    """The message a non-expert should see for an exception."""
    if isinstance(exc, FewshotError):
        return str(exc)
    if isinstance(exc, UnreadableImage):
        return f"This picture could not be read: {exc}."
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory. Use fewer or smaller photos, or a smaller batch size."
    return f"Something unexpected went wrong ({type(exc).__name__}: {exc})."
