"""fewshot: a few hundred photos in, a trustworthy image classifier out.

The engine behind the app and the CLI. It never imports gradio.
"""
import os as _os

# Idle OpenMP workers sleep instead of spinning; set before torch loads. On a small or shared
# CPU, spinning workers steal the cores that JPEG decoding needs (bench/README.md: 2-15x).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .archive import Limits  # noqa: E402
from .bundle import TrainedModel, load_bundle, save_bundle
from .config import ARCHS, AUGMENTATIONS, STAGE_HINTS, STAGES, Preprocessing, TrainConfig
from .data import Dataset, Notice, Sample, load_dataset
from .errors import BundleError, DataError, FewshotError, LimitExceeded, TrainingError, WeightsUnavailable
from .evaluate import Diagnostic, EvalReport
from .export import export
from .images import UnreadableImage
from .models import weights_cache_path, weights_present
from .predict import Prediction, Predictor
from .train import run_to_end, train
from .train_events import Done, EpochEnd, Progress

__all__ = [
    "ARCHS", "AUGMENTATIONS", "STAGES", "STAGE_HINTS", "BundleError", "DataError", "Dataset", "Diagnostic", "Done",
    "EpochEnd", "EvalReport", "FewshotError", "LimitExceeded", "Limits", "Notice", "Prediction", "Predictor",
    "Preprocessing", "Progress", "Sample", "TrainConfig", "TrainedModel", "TrainingError", "UnreadableImage",
    "WeightsUnavailable", "export", "load_bundle", "load_dataset", "run_to_end", "save_bundle", "train",
    "weights_cache_path", "weights_present",
]
__version__ = "0.1.0"
