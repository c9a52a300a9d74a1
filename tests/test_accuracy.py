"""Real photos, real ImageNet weights (MobileNetV2 from ../shared): the accuracy a user gets."""
from __future__ import annotations

from fewshot import Diagnostic, TrainConfig, load_dataset, run_to_end, train


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
    events = list(train(ds, TrainConfig(arch="mobilenet_v2")))
    done = events[-1]
    # 20 photos per class: "auto" trains the last layer only, on the whole photo at 320 px
    assert done.model.config.stage == "head" and done.model.config.preprocessing.crop == 320
    # A regression guard, not the goal: issue 2 asks for 0.85, which no stage reached reliably with
    # MobileNetV2 at 20 photos per class (0.81-0.84 for the head over seeds, 0.82-0.87 for the last two
    # blocks at 30x the time; see bench/README.md). Chance is 0.20.
    assert done.evaluation.accuracy >= 0.78, done.history
    # 100 photos make 4 batches an epoch; the head still gets enough steps to learn them (it used to end
    # half-trained at 0.76 and needed 20 epochs at 3x the rate)
    assert done.history[-1]["train_acc"] >= 0.95, done.history
    assert not [e for e in events if isinstance(e, Diagnostic) and e.code == "still_learning"]
