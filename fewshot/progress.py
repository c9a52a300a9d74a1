"""Training progress on a console: one bar per phase, and the epoch and diagnostic lines, for the CLI's
`train` and `train --project` alike (the page draws its own)."""
from __future__ import annotations

import sys
from typing import Iterable

from tqdm import tqdm

from .evaluate import Diagnostic
from .train_events import Done, EpochEnd, Event, Progress

__all__ = ["print_events"]


class _PhaseBar:
    """One progress bar per phase, updated in place on a terminal; into a log (not a terminal) a few lines per
    phase (0, 25, 50, 75 and 100 %), each said once, instead of a line per update."""

    LABELS = {"features": ("frozen network", "img"), "train": ("training", "batch")}

    def __init__(self, quiet: bool = False, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.quiet = quiet
        self.phase: str | None = None
        self.bar = None
        self.said = -1  # the last quarter written for this phase (no terminal)

    def update(self, phase: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if phase != self.phase:
            self.close()
            self.phase, self.said = phase, -1
            if self.tty:
                desc, unit = self.LABELS[phase]
                self.bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, leave=False, position=0)
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()
            return
        quarter = 4 * done // max(total, 1)
        if quarter > self.said:
            self.said = quarter
            desc, unit = self.LABELS[phase]
            print(f"{desc}: {25 * quarter}% ({done}/{total} {unit})", file=self.stream, flush=True)

    def write(self, line: str) -> None:
        if self.bar is not None:
            tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def print_events(events: Iterable[Event], quiet: bool = False) -> Done | None:
    """Show a training's events on stderr (bars, one line per epoch, diagnostics); returns its Done."""
    done: Done | None = None
    bar = _PhaseBar(quiet=quiet)
    try:
        for ev in events:
            if isinstance(ev, Progress) and ev.phase in ("features", "train"):
                bar.update(ev.phase, ev.done, ev.total)
            elif isinstance(ev, EpochEnd):
                val = f"val loss {ev.val_loss:.4f} acc {ev.val_acc:.4f}" if ev.val_acc is not None else "no val"
                bar.write(f"epoch {ev.epoch}/{ev.epochs}: train loss {ev.train_loss:.4f} acc {ev.train_acc:.4f}, "
                          f"{val}, {ev.seconds:.2f}s{' *kept' if ev.is_best else ''}")
            elif isinstance(ev, Diagnostic):
                bar.write(f"{ev.severity}: {ev.message} {ev.advice}")
            elif isinstance(ev, Done):
                done = ev
    finally:
        bar.close()
    return done
