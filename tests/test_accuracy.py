"""Real photos, real ImageNet weights (MobileNetV2 from ../shared): the accuracy a user gets."""
from __future__ import annotations

from pathlib import Path

import pytest

from fewshot import TrainConfig, load_dataset, run_to_end, train


def test_hymenoptera_head_10_epochs(with_weights, shared_data):
    ds = load_dataset(shared_data("hymenoptera"))
    assert ds.classes == ["ants", "bees"] and len(ds.val) == 153
    done = run_to_end(train(ds, TrainConfig(arch="mobilenet_v2", stage="head", epochs=10)))
    assert done.evaluation.accuracy >= 0.95, done.history


def test_flowers_20_per_class_default_stage(with_weights, shared_data):
    root = shared_data("flowers")
    few = {c.name: sorted(c.iterdir())[:20] for c in sorted((root / "train").iterdir()) if c.is_dir()}
    ds = load_dataset(few, root / "val")
    assert len(ds.train) == 100 and len(ds.val) == 300 and ds.val_given
    done = run_to_end(train(ds, TrainConfig(arch="mobilenet_v2")))
    # A regression guard, not the goal: issue 2 asks for 0.85, which no stage reached yet with
    # MobileNetV2 at 20 photos per class (head 0.75-0.81, top 0.79-0.84 over seeds; see the
    # issue's closing note). Five classes by chance would be 0.20.
    assert done.evaluation.accuracy >= 0.70, done.history
