"""What each step of the page keeps for one tab, beside the Session's shared fields (photos, model, project).

    sess.data.failed        # step 1: a dropped folder that could not be used, said until photos load
    sess.label.desk         # the Label step: the Desk of the tab's open project
    sess.check.evaluated    # step 3: the last check on other photos, with the model it checked
    sess.try_.table         # step 4: the last many-pictures table, as shown

Each lives as long as its Session: made with it, dropped by Session.cleanup() (a closed tab's desk, check and
table go with its model and photos). No gradio.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only: the Label step's logic is loaded by the page that uses it
    import pandas as pd

    from ...bundle import TrainedModel
    from ...predict import Evaluation
    from .labels import Desk

__all__ = ["CheckStep", "DataStep", "LabelStep", "TryStep"]


@dataclass
class DataStep:
    """Step 1 (your photos)."""

    failed: tuple[str, str] | None = None  # (the folder's name, why nothing was loaded from it), until photos load


@dataclass
class LabelStep:
    """The Label step."""

    desk: Desk | None = None  # the open project's Desk; a new one when the tab opens another project


@dataclass
class CheckStep:
    """Step 3 (check)."""

    # (the model checked, its Evaluation): a check on other photos is shown only with its own model
    evaluated: tuple[TrainedModel, Evaluation] | None = None


@dataclass
class TryStep:
    """Step 4 (try it)."""

    table: pd.DataFrame | None = None  # in English: written again in the page's language when it changes
