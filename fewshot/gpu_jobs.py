"""Training and prediction as jobs that can run in another process, for ZeroGPU Spaces.

On a ZeroGPU Space, `spaces.GPU` runs each decorated call in a forked worker that holds the GPU:
the arguments and every yielded value are pickled across, and nothing the job changes in memory
comes back. So these jobs take only plain data (a dataset without its temporary folder, a config,
a stop *file*, a model), return plain data with the model moved off the GPU, and work the same when
called directly in this process. The duration functions say how many GPU seconds to ask for, from
the job's size (fewshot/budget.py). No gradio and no `spaces` import here: app.py does the wrapping.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import budget
from .archive import Limits
from .bundle import TrainedModel
from .config import TrainConfig
from .data import Dataset
from .images import UnreadableImage
from .predict import Prediction, Predictor
from .train import train
from .train_events import Done, Event, StopFlag, shown_epochs
from .trunk_inputs import resolve_config

__all__ = ["FileStop", "RemotePredictor", "across_processes", "portable", "predict_job", "predict_seconds",
           "train_job", "train_seconds", "training_fit"]


def portable(ds: Dataset) -> Dataset:
    """A shallow copy without the temporary-folder handle (it cannot be pickled, and a worker must
    never delete the unpacked photos the session still uses)."""
    out = copy.copy(ds)
    out._tmp = None
    return out


class FileStop:
    """A stop flag another process sets by creating a file; the file may hold the epochs the user saw
    (train_events.StopRequest's `shown_epochs`)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def __call__(self) -> bool:
        return self.path.exists()

    @property
    def shown_epochs(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None


def train_job(ds: Dataset, cfg: TrainConfig, stop_file: str, limits: Limits | None = None) -> Iterator[Event]:
    """fewshot.train, stoppable by creating `stop_file` (holding the epochs the user saw, or nothing); the final
    model comes back on the CPU."""
    for ev in train(ds, cfg, stop=FileStop(stop_file), limits=limits):
        if isinstance(ev, Done) and ev.model is not None:
            ev.model.model.cpu()  # CUDA tensors cannot cross to the process that holds no GPU
        yield ev


def train_seconds(ds: Dataset, cfg: TrainConfig, stop_file: str = "", limits: Limits | None = None) -> int:
    """GPU seconds to ask for a train_job (same arguments as train_job)."""
    cfg = resolve_config(cfg, ds)  # the stage "auto" stands for
    mb = budget.mean_photo_mb([s.path for s in ds.train + ds.val])
    est = budget.estimate_training(len(ds.train), len(ds.val), cfg.arch, cfg.stage, cfg.epochs, cfg.batch_size, mb,
                                   cfg.preprocessing.crop)
    return budget.request_s(est.seconds)


def training_fit(ds: Dataset, cfg: TrainConfig, limit_s: float | None = None) -> budget.Fit:
    """Whether training `ds` with `cfg` fits the GPU time a call may use, with plain-words advice."""
    cfg = resolve_config(cfg, ds)  # the stage "auto" stands for
    mb = budget.mean_photo_mb([s.path for s in ds.train + ds.val])
    return budget.training_fit(len(ds.train), len(ds.val), cfg.arch, cfg.stage, cfg.epochs, cfg.batch_size, mb,
                               limit_s, cfg.preprocessing.crop)


def across_processes(job: Callable[..., Iterator[Event]]) -> Callable[..., Iterator[Event]]:
    """Adapt `job` (train_job, possibly wrapped by spaces.GPU) to fewshot.train's signature, so that the
    session adapter can call it in place of train: the stop flag becomes a file the worker can see."""
    def run(ds: Dataset, cfg: TrainConfig, stop: StopFlag = None, limits: Limits | None = None) -> Iterator[Event]:
        is_set = stop.is_set if isinstance(stop, threading.Event) else (stop or (lambda: False))
        folder = Path(tempfile.mkdtemp(prefix="fewshot-stop-"))
        flag = folder / "stop"
        try:
            for ev in job(portable(ds), cfg, str(flag), limits):
                if is_set() and not flag.exists():  # the worker ends within a batch
                    part = folder / "stop.part"  # written whole, then named: the worker never reads half of it
                    part.write_text(str(shown_epochs(stop) or ""))
                    part.rename(flag)
                yield ev
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return run


def predict_job(tm: TrainedModel, images: Sequence[str], top_k: int = 3, tta: bool = False) -> list[Prediction]:
    """Predictions for image files, each with its own error (as Predictor.predict_files)."""
    preds = Predictor(tm).predict_files(list(images), top_k=top_k, tta=tta)
    tm.model.cpu()  # the model goes back with the answer: off the GPU
    return preds


class RemotePredictor:
    """Predictor's interface for the session adapter, each call one `job` (predict_job, possibly under
    spaces.GPU), so that no model is ever moved to a GPU in the process that holds none."""

    def __init__(self, tm: TrainedModel, job: Callable[..., list[Prediction]] = predict_job) -> None:
        self.tm, self.job = tm, job

    def predict_files(self, paths: Sequence[str], top_k: int = 3, tta: bool = False) -> list[Prediction]:
        return self.job(self.tm, [str(p) for p in paths], int(top_k), bool(tta))

    def predict_one(self, image: str, top_k: int = 3, tta: bool = False) -> list[tuple[str, float]]:
        """Top-k (class, probability) for one image file; raises UnreadableImage with the reason."""
        pred = self.predict_files([image], top_k, tta)[0]
        if pred.error:
            raise UnreadableImage(pred.error)
        return pred.top


def predict_seconds(tm: TrainedModel, images: Sequence[str], top_k: int = 3, tta: bool = False) -> int:
    """GPU seconds to ask for a predict_job (same arguments as predict_job)."""
    mb = budget.mean_photo_mb(images)
    return budget.request_s(budget.estimate_predict(len(images), tm.config.arch, tta, mb))
