"""What a training run tells its consumers (the page, the CLI, the GPU worker), and how they ask it to stop.

Training is a generator of these events (fewshot.train.train): Progress while it works, EpochEnd after each
epoch, Diagnostic advice (fewshot.evaluate) when it sees a problem, and one Done at the end. A stop flag is a
threading.Event, a callable answering "stop now?", or a StopRequest that also names the epochs the user saw.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Union

from .bundle import TrainedModel
from .evaluate import Diagnostic, EvalReport

__all__ = ["Done", "EpochEnd", "Event", "Progress", "StopFlag", "StopRequest", "epoch_end", "shown_epochs",
           "stop_checker"]


@dataclass(frozen=True)
class Progress:
    """Work under way: `done` of `total` in this phase, and the seconds it should still take when known."""

    phase: str  # "weights" | "features" | "train" | "evaluate"
    done: int
    total: int
    message: str = ""
    eta_s: float | None = None


@dataclass(frozen=True)
class EpochEnd:
    """One finished epoch's numbers: its history row as an event."""

    epoch: int  # 1-based
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float
    is_best: bool  # the epoch that would be kept if training ended now (evaluate.kept_epoch)


@dataclass(frozen=True)
class Done:
    """The end of a run: the model kept (the kept epoch's weights), why the run ended, its history and the kept
    model's evaluation on the validation photos."""

    model: TrainedModel | None  # the best model so far; None when stopped before any epoch
    best_epoch: int | None
    stopped: bool
    reason: str  # "finished" | "stopped" | "early_stop" | "non_finite" | "out_of_memory"
    history: list[dict] = field(default_factory=list)
    evaluation: EvalReport | None = None
    seconds: float = 0.0
    # which epoch was kept and why, in plain words: "kept the last epoch (10): no earlier epoch was clearly
    # better" or "kept epoch 4: clearly better than the last (90% vs 75%)" (evaluate.kept_note); "" without one
    kept_note: str = ""
    # a Stop that named the epochs the user saw (StopRequest.request): the model and history went back to them
    shown_epochs: int | None = None


Event = Union[Progress, EpochEnd, Diagnostic, Done]
StopFlag = Union[threading.Event, Callable[[], bool], None]


def epoch_end(record: dict, epochs: int, is_best: bool) -> EpochEnd:
    """The EpochEnd event of one history row (train._epoch_record)."""
    return EpochEnd(record["epoch"], epochs, record["train_loss"], record["train_acc"], record["val_loss"],
                    record["val_acc"], record["lr"], record["seconds"], is_best)


class StopRequest(threading.Event):
    """A stop flag that can also say how many epochs the user had seen when they asked (the page's curve, a
    few snapshots a second, trails a fast training): `request(shown_epochs=17)` stops the training and keeps
    no epoch after the 17th (the weights of recent epochs are held for this, BestEpoch.trim). `set()`, as
    Ctrl+C, the API and a closed tab do, keeps the best of every epoch that ended."""

    def __init__(self) -> None:
        super().__init__()
        self.shown_epochs: int | None = None

    def request(self, shown_epochs: int | None = None) -> None:
        """Stop; `shown_epochs` (1 or more): the epochs the user saw, which the model and history go back to."""
        if not self.is_set():  # a second click does not move the first one's epoch
            self.shown_epochs = int(shown_epochs) if shown_epochs and int(shown_epochs) >= 1 else None
        self.set()

    def clear(self) -> None:
        """Ready for the next run: not set, and no epochs named."""
        self.shown_epochs = None
        super().clear()


def shown_epochs(stop: StopFlag) -> int | None:
    """The epochs the user saw when they asked to stop (StopRequest, or any stop flag with a `shown_epochs`
    attribute, e.g. gpu_jobs' stop file); None when they named none."""
    n = getattr(stop, "shown_epochs", None)
    return n if isinstance(n, int) and n >= 1 else None


def stop_checker(stop: StopFlag) -> Callable[[], bool]:
    """A stop request as a function answering "stop now?": from a threading.Event, a callable or None (never)."""
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop
