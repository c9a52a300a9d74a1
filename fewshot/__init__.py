"""fewshot: a few hundred photos in, a trustworthy image classifier out.

The engine behind the app and the CLI. It never imports gradio.

The names below load with the module that holds them, on first use (`from fewshot import train`), so that
`import fewshot` (the CLI's parser, `python -m fewshot --help`) does not load torch.
"""
import importlib as _importlib
import os as _os
import types as _types
from typing import TYPE_CHECKING

# Idle OpenMP workers sleep instead of spinning; set before torch loads. On a small or shared
# CPU, spinning workers steal the cores that JPEG decoding needs (bench/README.md: 2-15x).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:  # what each name is, for readers and type checkers; __getattr__ loads them at run time
    from .archive import Limits
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

_HOME = {  # each public name -> the module that defines it (the same as the imports above)
    "Limits": "archive",
    **dict.fromkeys(("TrainedModel", "load_bundle", "save_bundle"), "bundle"),
    **dict.fromkeys(("ARCHS", "AUGMENTATIONS", "STAGE_HINTS", "STAGES", "Preprocessing", "TrainConfig"), "config"),
    **dict.fromkeys(("Dataset", "Notice", "Sample", "load_dataset"), "data"),
    **dict.fromkeys(("BundleError", "DataError", "FewshotError", "LimitExceeded", "TrainingError",
                     "WeightsUnavailable"), "errors"),
    **dict.fromkeys(("Diagnostic", "EvalReport"), "evaluate"),
    "export": "export",
    "UnreadableImage": "images",
    **dict.fromkeys(("weights_cache_path", "weights_present"), "models"),
    **dict.fromkeys(("Prediction", "Predictor"), "predict"),
    **dict.fromkeys(("run_to_end", "train"), "train"),
    **dict.fromkeys(("Done", "EpochEnd", "Progress"), "train_events"),
}
__all__ = [
    "ARCHS", "AUGMENTATIONS", "STAGES", "STAGE_HINTS", "BundleError", "DataError", "Dataset", "Diagnostic", "Done",
    "EpochEnd", "EvalReport", "FewshotError", "LimitExceeded", "Limits", "Notice", "Prediction", "Predictor",
    "Preprocessing", "Progress", "Sample", "TrainConfig", "TrainedModel", "TrainingError", "UnreadableImage",
    "WeightsUnavailable", "export", "load_bundle", "load_dataset", "run_to_end", "save_bundle", "train",
    "weights_cache_path", "weights_present",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    """A public name, from its module (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module 'fewshot' has no attribute '{name}'")
    value = getattr(_importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


class _Package(_types.ModuleType):
    """`fewshot.train` and `fewshot.export` are the functions, as they were when this file imported them: the
    import system's binding of the submodules of the same names to the package is not kept."""

    def __setattr__(self, name: str, value) -> None:
        if name in ("train", "export") and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


__import__("sys").modules[__name__].__class__ = _Package
