"""Which epoch a training run keeps, and the weights it holds so that a Stop can go back to an earlier one.

The kept epoch is evaluate.kept_epoch's: the last, unless an earlier one was clearly more accurate on the
validation photos. The page draws a few times a second, so when Stop is pressed it may show fewer epochs
than have ended; BestEpoch.trim goes back to them when their weights are still held.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .evaluate import clearly_better, kept_epoch, kept_note

__all__ = ["BestEpoch", "trained_prefixes"]

# Weights of recent epochs are held so that a Stop can go back to the epoch the page showed when it was pressed
# (the page draws a few times a second; at 20 epochs a second the engine is several epochs ahead of it): as
# many recent epochs as fit in RING_BYTES, at most RING_EPOCHS, at least the last. A head is kilobytes (all
# RING_EPOCHS fit); a whole MobileNetV2 is 14 MB (4 fit), and such epochs take seconds, so the page is at most
# one behind.
RING_BYTES = 64 * 2**20
RING_EPOCHS = 64


def trained_prefixes(model: torch.nn.Module, stage: str, cut: int) -> tuple[str, ...]:
    """The state-dict keys that training changes at this stage (the rest is never copied)."""
    return ("head.",) + (("neck.",) if stage != "head" else ()) + tuple(
        f"stages.{i}." for i in range(cut, len(model.stages)))


def _snapshot(model: torch.nn.Module, prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """A copy of the weights under these state-dict prefixes."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.startswith(prefixes)}


@dataclass
class BestEpoch:
    """The epoch to keep and its trainable weights (evaluate.kept_epoch: the last, unless an earlier one was
    clearly more accurate on the validation photos), and how many epochs the run has gone without progress.

    Weights are held for the epochs a Stop may go back to (`trim`): for each of the last `window` epochs N, the
    epoch that would be kept had training ended at N, and the most accurate one up to N (at most `window` + 1
    epochs' weights; `window` comes from RING_BYTES and the size of one epoch's weights).
    """

    prefixes: tuple[str, ...]  # the state-dict keys that training changes; the rest is never copied
    n_val: int = 0  # validation photos the accuracies are measured on
    records: list[dict] = field(default_factory=list)  # the epochs so far (history rows)
    states: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    since: int = 0  # epochs since the last progress, for early stopping
    ring_bytes: int = RING_BYTES
    window: int | None = None  # how many recent epochs a Stop can go back to (set by the first epoch's size)
    # (kept, most accurate) had training ended after epoch i + 1: a finished epoch never changes it
    prefix_kept: list[tuple[int, int]] = field(default_factory=list)

    @property
    def epoch(self) -> int | None:
        """The epoch to keep (1-based); None before the first epoch ends."""
        return self.prefix_kept[-1][0] if self.records else None

    @property
    def state(self) -> dict[str, torch.Tensor] | None:
        """The kept epoch's trainable weights; None before the first epoch ends."""
        return self.states.get(self.epoch) if self.records else None

    @property
    def note(self) -> str:
        """Which epoch is kept and why, in plain words (Done.kept_note)."""
        return kept_note(self.records, self.n_val)

    def progress(self, rec: dict) -> bool:
        """Whether epoch `rec` moved the run on: clearly more accurate than every epoch before, or not
        clearly less accurate than the best and with a lower validation loss (without validation photos:
        a lower training loss). Photos flipping by chance neither reset nor run down early stopping."""
        if not self.records:
            return True
        if self.n_val <= 0 or rec["val_acc"] is None:
            return rec["train_loss"] < min(r["train_loss"] for r in self.records)
        best = max(r["val_acc"] for r in self.records)
        if clearly_better(rec["val_acc"], best, self.n_val):
            return True
        return not clearly_better(best, rec["val_acc"], self.n_val) and \
            rec["val_loss"] < min(r["val_loss"] for r in self.records)

    def update(self, model: torch.nn.Module, rec: dict) -> bool:
        """Take in a finished epoch (its history row; the model holds its weights); says whether it is now
        the epoch to keep."""
        self.since = 0 if self.progress(rec) else self.since + 1
        self.records.append(rec)
        self.prefix_kept.append(kept_epoch(self.records, self.n_val))
        state = _snapshot(model, self.prefixes)
        if self.window is None:
            size = sum(t.numel() * t.element_size() for t in state.values())
            self.window = max(1, min(RING_EPOCHS, self.ring_bytes // max(size, 1)))
        self.states[rec["epoch"]] = state
        self._forget()
        return self.prefix_kept[-1][0] == rec["epoch"]

    def _forget(self) -> None:
        """Let go of the weights no Stop can go back to."""
        n = len(self.records)
        keep = {e for m in range(max(1, n - (self.window or 1) + 1), n + 1) for e in self.prefix_kept[m - 1]}
        self.states = {e: st for e, st in self.states.items() if e in keep}

    def trim(self, n: int) -> bool:
        """Go back to the first `n` epochs (what the page showed when Stop was pressed), when the weights of the
        epoch kept among them are still held; True when it did."""
        if not 1 <= n < len(self.records) or self.prefix_kept[n - 1][0] not in self.states:
            return False
        del self.records[n:], self.prefix_kept[n:]
        self._forget()
        return True
