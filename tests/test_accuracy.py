"""Real photos, real ImageNet weights (MobileNetV2 from ../shared): the accuracy a user gets."""
from __future__ import annotations

import pytest

from fewshot import Diagnostic, TrainConfig, load_dataset, run_to_end, train


def test_hymenoptera_head_10_epochs(with_weights, shared_data):
    ds = load_dataset(shared_data("hymenoptera"))
    assert ds.classes == ["ants", "bees"] and len(ds.val) == 153
    done = run_to_end(train(ds, TrainConfig(arch="mobilenet_v2", stage="head", epochs=10)))
    # the last epoch's own figure (146 of 153, 95.4%; 91-98% by its Wilson interval): epoch 1's 148, which
    # used to be kept as the best of ten on these same photos, is two photos of noise (evaluate.kept_epoch)
    assert done.evaluation.accuracy >= 0.94, done.history


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


def _flowers(shared_data, per_class: int, offset: int = 0, val_folder: bool = False):
    """flowers with `per_class` photos of each of its 5 classes (photos offset.. in name order); without
    val_folder a fifth of them is kept aside to validate, with it flowers/val's 300 photos validate."""
    root = shared_data("flowers")
    few = {c.name: sorted(c.iterdir())[offset:offset + per_class] for c in sorted((root / "train").iterdir())
           if c.is_dir()}
    return load_dataset(few, root / "val") if val_folder else load_dataset(few)


def test_a_flat_run_gets_no_train_longer_advice_but_a_cut_short_run_does(with_weights, shared_data):
    # 20 training photos per class and 25 to validate, the defaults: 88% from epoch 1 with one photo flipping
    # 88<->92, which used to say "Accuracy was still improving ... try 20 epochs"
    ds = _flowers(shared_data, 25, offset=10)
    assert len(ds.train) == 100 and len(ds.val) == 25
    events = list(train(ds, TrainConfig(arch="mobilenet_v2", seed=1)))
    vals = [h["val_acc"] for h in events[-1].history]
    assert round((max(vals) - min(vals)) * 25) <= 1, vals  # the flat run this is about
    assert not [e for e in events if isinstance(e, Diagnostic) and e.code == "still_learning"], vals
    # genuinely cut short: 2 epochs at a tenth of the learning rate, checked on flowers/val's 300 photos
    ds = _flowers(shared_data, 20, val_folder=True)
    events = list(train(ds, TrainConfig(arch="mobilenet_v2", epochs=2, lr=1e-4)))
    hints = [e for e in events if isinstance(e, Diagnostic) and e.code == "still_learning"]
    assert len(hints) == 1 and "4 epochs" in hints[0].advice, events[-1].history


def test_a_flat_run_keeps_its_last_epoch_and_reports_that_epochs_accuracy(with_weights, shared_data):
    # 92% at epoch 1, then 88% (one photo of 25 less) for nine epochs: the best-looking epoch used to be kept
    # and its 92% reported; one photo is noise, so the last epoch is kept and its own 88% reported
    ds = _flowers(shared_data, 25, offset=30)
    done = run_to_end(train(ds, TrainConfig(arch="mobilenet_v2", seed=2)))
    vals = [h["val_acc"] for h in done.history]
    assert round((max(vals) - vals[-1]) * 25) == 1, vals  # an earlier epoch looked one photo better
    assert done.best_epoch == 10
    assert done.kept_note == "kept the last epoch (10): no earlier epoch was clearly better"
    assert done.evaluation.accuracy == pytest.approx(vals[-1])


def test_a_class_with_few_photos_is_still_recognised_with_the_default_settings(with_weights, shared_data, tmp_path):
    # 48 daisies and 6 dandelions, checked on flowers/val's 60 of each: trained as if every photo counted the
    # same, the model calls most dandelions daisies (recall 0.43 when measured); by default each class counts
    # the same however many photos it has, as the data report's "unbalanced" notice promises
    import shutil

    root = shared_data("flowers")
    few = {"daisy": sorted((root / "train" / "daisy").iterdir())[:48],
           "dandelion": sorted((root / "train" / "dandelion").iterdir())[:6]}
    for c in few:
        shutil.copytree(root / "val" / c, tmp_path / "val" / c)
    ds = load_dataset(few, tmp_path / "val")
    assert "imbalance" in {n.code for n in ds.notices}
    assert "keep the class-balanced loss on (the default)" in next(n.message for n in ds.notices
                                                                   if n.code == "imbalance")

    def dandelion_recall(cfg: TrainConfig) -> float:
        per_class = run_to_end(train(ds, cfg)).evaluation.per_class.set_index("class")
        return float(per_class.loc["dandelion", "recall"])

    default = dandelion_recall(TrainConfig(arch="mobilenet_v2"))
    plain = dandelion_recall(TrainConfig(arch="mobilenet_v2", balanced_loss=False))
    assert default >= 0.7 and default >= plain + 0.2, (default, plain)
