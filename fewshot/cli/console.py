"""How the command line prints: one JSON object on the last line with --json, else text for a person; and a
validation measure in both forms."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

__all__ = ["emit", "val_fields", "val_text"]

if TYPE_CHECKING:  # check_set imports torch (through evaluate): loaded when a command needs it
    from ..check_set import Measured


def val_fields(m: Measured) -> dict:
    """train --json's validation fields: val_accuracy, val_interval ([low, high], the 95% Wilson interval),
    val_photos (how many photos it rests on) and validation ("checkset" or "split": which photos)."""
    return {"val_accuracy": m.accuracy, "val_interval": [round(m.low, 4), round(m.high, 4)] if m.photos else None,
            "val_photos": m.photos, "validation": m.validation}


def val_text(m: Measured) -> str:
    """The same for a person: "val accuracy 0.8500 on 20 photos (95% interval 0.64-0.95)", and how many more
    photos would know it within ±10 points."""
    if m.accuracy is None:
        return "val accuracy n/a (no validation photos)"
    where = "photos picked at random" if m.validation == "checkset" else "photos"
    more = f"; {m.more} more would know it within ±10 points" if m.more else ""
    return f"val accuracy {m.accuracy:.4f} on {m.photos} {where} (95% interval {m.low:.2f}-{m.high:.2f}{more})"


def emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str) if as_json else text)
