"""Training mechanics on tiny generated images with random weights (no downloads)."""
from __future__ import annotations

import threading

import pytest
import torch

from fewshot import Done, EpochEnd, Predictor, Preprocessing, Progress, TrainConfig, load_dataset, run_to_end, train
from fewshot.errors import TrainingError, WeightsUnavailable
from fewshot.models import build_model, freeze_for_stage, param_groups, set_train_mode, trainable_parameters

# small inputs keep mechanics tests fast; the real input sizes are covered by the accuracy tests
SCRATCH = dict(pretrained=False, arch="resnet18", batch_size=8, preprocessing=Preprocessing(resize=72, crop=64))


def test_stage_trainable_parameter_counts():
    m = build_model("resnet18", 3, pretrained=False)
    counts = {}
    for stage in ("head", "top", "top2", "all"):
        freeze_for_stage(m, stage)
        counts[stage] = trainable_parameters(m)
    layer4 = sum(p.numel() for p in m.stages[2].parameters())
    layer3 = sum(p.numel() for p in m.stages[1].parameters())
    assert counts["head"] == 512 * 3 + 3
    assert counts["top"] == counts["head"] + layer4
    assert counts["top2"] == counts["top"] + layer3
    assert counts["all"] == sum(p.numel() for p in m.parameters())


def test_frozen_batchnorm_stays_in_eval_and_backbone_lr_is_lower():
    m = build_model("mobilenet_v2", 2, pretrained=False)
    freeze_for_stage(m, "top")
    set_train_mode(m, "top")
    bns = lambda mod: [b for b in mod.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    assert bns(m.stages[0]) and not any(b.training for b in bns(m.stages[0]) + bns(m.stages[1]))
    assert all(b.training for b in bns(m.stages[2]))
    groups = param_groups(m, "top", 1e-3, 0.1, 0.0)
    assert groups[0]["lr"] == pytest.approx(1e-3) and groups[1]["lr"] == pytest.approx(1e-4)


def test_training_learns_and_reports_events_in_order(tiny_data):
    ds = load_dataset(tiny_data)
    events = list(train(ds, TrainConfig(**SCRATCH, epochs=4, lr=3e-3)))
    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "Done" and kinds.count("EpochEnd") == 4
    assert kinds.index("Progress") < kinds.index("EpochEnd")
    done: Done = events[-1]
    hist = done.history
    # the last epoch, unless an earlier one is clearly more accurate (evaluate.kept_epoch; tested below)
    from fewshot.evaluate import kept_epoch
    best = kept_epoch(hist, len(ds.val))[0] - 1
    assert done.best_epoch == best + 1 and str(best + 1) in done.kept_note
    assert [e.is_best for e in events if isinstance(e, EpochEnd)][-1] == (best == 3)
    assert done.evaluation.accuracy == pytest.approx(hist[best]["val_acc"])
    assert done.evaluation.accuracy > 1 / 3 + 0.2  # clearly better than chance on colour classes
    assert done.evaluation.confusion.shape == (3, 3)
    assert list(done.evaluation.per_class["class"]) == ["cat", "dog", "fox"]


def test_stop_mid_training_keeps_best_model_that_predicts(tiny_data):
    ds = load_dataset(tiny_data)
    stop = threading.Event()
    seen = []
    done = None
    for ev in train(ds, TrainConfig(**SCRATCH, epochs=50), stop=stop):
        if isinstance(ev, EpochEnd):
            seen.append(ev.epoch)
            if ev.epoch == 2:
                stop.set()
        if isinstance(ev, Done):
            done = ev
    assert seen == [1, 2]  # honoured within the next batch: epoch 3 never finished
    assert done.stopped and done.reason == "stopped" and done.model is not None
    assert done.best_epoch in (1, 2)
    top = Predictor(done.model).predict_one(ds.val[0].path, top_k=3)
    assert len(top) == 3 and top[0][0] in ds.classes
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-5)


def test_stop_before_first_epoch_gives_no_model(tiny_data):
    ds = load_dataset(tiny_data)
    calls = {"n": 0}

    def stop_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 1  # stops inside the frozen-network pass

    done = run_to_end(train(ds, TrainConfig(**SCRATCH, epochs=3), stop=stop_soon))
    assert done.stopped and done.model is None and done.history == []


def test_feature_cache_reused_by_second_run(with_weights, tiny_data):
    ds = load_dataset(tiny_data)
    cfg = TrainConfig(arch="mobilenet_v2", epochs=1, batch_size=16)
    first = [e for e in train(ds, cfg) if isinstance(e, Progress) and e.phase == "features"]
    second = [e for e in train(ds, cfg.with_(lr=3e-3, label_smoothing=0.0)) if isinstance(e, Progress)
              and e.phase == "features"]
    assert "(0 reused" in first[0].message
    assert f"({len(ds.train)} reused" in second[0].message


def test_offline_without_weights_says_what_to_do(no_weights, tiny_data):
    ds = load_dataset(tiny_data)
    with pytest.raises(WeightsUnavailable) as err:
        run_to_end(train(ds, TrainConfig(arch="resnet18")))
    msg = str(err.value)
    assert "resnet18-f37072fd.pth" in msg and str(no_weights / "hub" / "checkpoints") in msg
    assert "from scratch" in msg


def test_bad_settings_are_refused_in_plain_words():
    with pytest.raises(TrainingError, match="unknown stage"):
        TrainConfig(stage="everything")
    with pytest.raises(TrainingError, match="epochs"):
        TrainConfig(epochs=0)


@pytest.mark.parametrize("stage,aug", [("top", "strong"), ("all", "light")])
def test_other_stages_train(tiny_data, stage, aug):
    ds = load_dataset(tiny_data)
    done = run_to_end(train(ds, TrainConfig(**SCRATCH, stage=stage, augmentation=aug, epochs=2)))
    assert done.model is not None and len(done.history) == 2


def test_the_head_gets_enough_steps_from_few_photos_and_other_stages_one_pass(tiny_data):
    from fewshot.train import HEAD_MIN_STEPS
    ds = load_dataset(tiny_data)
    n = len(ds.train)
    assert 8 * 2 < n < HEAD_MIN_STEPS * 8  # a few batches: one pass would be too few head steps

    def steps_per_epoch(stage: str) -> list[int]:
        events = list(train(ds, TrainConfig(**SCRATCH, stage=stage, epochs=2)))
        steps = [e for e in events if isinstance(e, Progress) and e.phase == "train"]
        return [sum(e.message.startswith(f"Epoch {k}/") for e in steps) for k in (1, 2)]

    # only the head learns: cached features make steps cheap, so each epoch repeats the photos
    # (in new random crops) until the new layer has had HEAD_MIN_STEPS steps
    head = steps_per_epoch("head")
    assert head[0] == head[1] and HEAD_MIN_STEPS <= head[0] < HEAD_MIN_STEPS + 8
    # layers that run on every step see each photo once an epoch
    assert steps_per_epoch("top") == [-(-n // 8)] * 2


def test_window_sums_give_the_same_crops_as_the_maps():
    from fewshot.augment import WindowSums, augment_maps
    maps = torch.rand(40, 16, 10, 7).half()  # cached maps are stored in half precision
    sums = WindowSums(maps, chunk=16)  # chunked as it is for sets bigger than a chunk
    idx = torch.randperm(40)[:13]
    for preset in ("light", "strong", "none"):
        got = sums.batch(idx, preset, torch.Generator().manual_seed(3))
        want = augment_maps(maps[idx].float(), preset, torch.Generator().manual_seed(3), pooled=True)
        assert torch.allclose(got, want.mean((2, 3), keepdim=True), atol=1e-5)
    assert torch.allclose(sums.batch(idx, "light", None), maps[idx].float().mean((2, 3), keepdim=True), atol=1e-5)


def test_input_size_is_chosen_from_the_photos_and_kept_in_the_model(tmp_path):
    from fewshot.config import AUTO_INPUT, SCRATCH_INPUT
    from fewshot.trunk_inputs import resolve_config

    from conftest import make_class_folders

    tiny = load_dataset(make_class_folders(tmp_path / "tiny", {"a": 6, "b": 6}, size=32))
    big = load_dataset(make_class_folders(tmp_path / "big", {"a": 3, "b": 3}, size=100))
    assert TrainConfig().preprocessing is None
    assert resolve_config(TrainConfig(), tiny).preprocessing == Preprocessing(*AUTO_INPUT["tiny"])
    assert resolve_config(TrainConfig(), big).preprocessing == Preprocessing(*AUTO_INPUT["photos"])
    named = Preprocessing(resize=72, crop=64)
    assert resolve_config(TrainConfig(preprocessing=named), tiny).preprocessing == named
    done = run_to_end(train(tiny, TrainConfig(arch="resnet18", epochs=1, batch_size=8, weights_file=None,
                                              pretrained=False)))
    # from scratch nothing expects ImageNet's sizes: the small, fast input
    assert done.model.config.preprocessing == SCRATCH_INPUT and done.model.config.stage == "head"
    assert Predictor(done.model).pre == done.model.config.preprocessing  # prediction sees what training saw


def _history(vals, train_loss, val_loss=None):
    """History rows from per-epoch validation accuracies and training losses."""
    val_loss = val_loss or [1.0] * len(vals)
    return [{"epoch": i + 1, "val_acc": v, "train_acc": 0.9, "train_loss": t, "val_loss": vl}
            for i, (v, t, vl) in enumerate(zip(vals, train_loss, val_loss))]


def test_a_run_that_was_still_improving_says_train_longer():
    from fewshot.evaluate import end_diagnostics

    falling = [1.6, 1.4, 1.25, 1.1, 1.0, 0.9]
    rising = _history([0.5, 0.6, 0.65, 0.7, 0.74, 0.78], falling)  # 100 validation photos
    [d] = end_diagnostics(rising, 6, 0.001, 100)
    assert d.code == "still_learning" and "12 epochs" in d.advice and "0.003" in d.advice and "78%" in d.message
    plateau = _history([0.5, 0.8, 0.9, 0.9, 0.89, 0.9], falling)
    assert end_diagnostics(plateau, 6, 0.001, 100) == []
    assert end_diagnostics(rising[:4], 6, 0.001, 100) == []  # stopped early: not "still learning"
    # the same rise on 10 photos is 2 photos flipping: nothing to say
    assert end_diagnostics(_history([0.5, 0.6, 0.6, 0.6, 0.6, 0.7], falling), 6, 0.001, 10) == []
    # validation still rising but the training loss flat: it has converged, the rise is luck
    assert end_diagnostics(_history([0.5, 0.6, 0.65, 0.7, 0.74, 0.78], [0.5, 0.45, 0.44, 0.44, 0.44, 0.44]),
                           6, 0.001, 100) == []
    # two epochs are enough to tell a run cut short
    [d] = end_diagnostics(_history([0.33, 0.39], [1.62, 1.52]), 2, 0.0001, 300)
    assert d.code == "still_learning" and "4 epochs" in d.advice


def test_a_flat_run_whose_photos_flip_by_one_gets_no_train_longer_advice():
    """The run from issue 12: 90% of 20 validation photos from epoch 1, one photo flipping 85<->90."""
    from fewshot.evaluate import end_diagnostics
    vals = [0.9, 0.85, 0.9, 0.9, 0.85, 0.9, 0.85, 0.85, 0.9, 0.9]
    losses = [0.9, 0.6, 0.52, 0.48, 0.46, 0.455, 0.45, 0.447, 0.445, 0.444]
    assert end_diagnostics(_history(vals, losses), 10, 0.001, 20) == []
    # the old rule's trigger, now a real rise: 60% -> 90% while the loss still falls
    [d] = end_diagnostics(_history([0.5, 0.55, 0.6, 0.6, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9],
                                   [1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.95, 0.9, 0.85]), 10, 0.001, 20)
    assert d.code == "still_learning"


def test_the_kept_epoch_is_the_last_unless_an_earlier_one_is_clearly_better():
    from fewshot.evaluate import kept_epoch, kept_note
    flat = _history([0.85, 0.9, 0.85, 0.9, 0.9, 0.85, 0.9, 0.9, 0.85, 0.85], [1.0] * 10)
    assert kept_epoch(flat, 20) == (10, 2)  # 90% at epoch 2 is one photo of 20: noise
    assert kept_note(flat, 20) == "kept the last epoch (10): no earlier epoch was clearly better"
    # three photos of 20 (90% vs 75%) are more than noise: the earlier epoch, ties by validation loss
    fell = _history([0.6, 0.8, 0.9, 0.9, 0.85, 0.8, 0.75], [1.0] * 7, [1.0, 0.8, 0.7, 0.6, 0.65, 0.7, 0.8])
    assert kept_epoch(fell, 20) == (4, 4)
    assert kept_note(fell, 20) == "kept epoch 4: clearly better than the last (90% vs 75%)"
    # the same curve on 300 photos: 2 points is noise there too, 15 points is not
    assert kept_epoch(_history([0.80, 0.82, 0.81], [1.0] * 3), 300)[0] == 3
    assert kept_epoch(_history([0.80, 0.95, 0.81], [1.0] * 3), 300)[0] == 2
    # one epoch; no validation photos (the lowest training loss)
    assert kept_note(flat[:1], 20) == "kept epoch 1, the only one"
    blind = [dict(r, val_acc=None, val_loss=None) for r in _history([0] * 3, [0.9, 0.5, 0.7])]
    assert kept_epoch(blind, 0) == (2, 2) and kept_note(blind, 0).startswith("kept epoch 2: without validation")


def test_the_kept_epochs_weights_are_the_ones_restored_and_with_room_for_one_epoch_at_most_two_are_held():
    from fewshot.best_epoch import BestEpoch
    model = torch.nn.Linear(2, 2)
    best = BestEpoch(("weight", "bias"), n_val=20, ring_bytes=1)  # (weights too big to hold recent epochs)
    for rec in _history([0.6, 0.9, 0.85, 0.8, 0.75], [1.0] * 5, [1.0, 0.6, 0.7, 0.8, 0.9]):
        with torch.no_grad():
            model.weight.fill_(rec["epoch"])
        is_best = best.update(model, rec)
        assert len(best.states) <= 2
    assert best.epoch == 2 and not is_best  # 90% vs 75%: three photos
    assert best.state["weight"].eq(2).all()
    assert best.note == "kept epoch 2: clearly better than the last (90% vs 75%)"


def test_early_stopping_is_neither_reset_nor_run_down_by_single_photos_flipping():
    from fewshot.best_epoch import BestEpoch
    model = torch.nn.Linear(2, 2)

    def since(vals, val_losses, n=20):
        best = BestEpoch(("weight",), n_val=n)
        out = []
        for rec in _history(vals, [1.0] * len(vals), val_losses):
            best.update(model, rec)
            out.append(best.since)
        return out
    # a flat curve whose validation loss still falls: progress every epoch, whatever one photo does
    assert since([0.9, 0.85, 0.9, 0.85], [0.5, 0.45, 0.44, 0.43]) == [0, 0, 0, 0]
    # one photo up, but the model is less sure (validation loss up): not progress
    assert since([0.85, 0.9, 0.9], [0.5, 0.6, 0.7]) == [0, 1, 2]
    # clearly more accurate counts even with a higher validation loss; clearly less accurate never does
    assert since([0.6, 0.8, 0.6], [0.5, 0.6, 0.4]) == [0, 0, 1]


def test_18_of_20_right_means_the_true_accuracy_is_likely_between_70_and_97_percent():
    from fewshot.evaluate import noise_photos, wilson_interval
    low, high = wilson_interval(18, 20)
    assert round(low, 2) == 0.70 and round(high, 2) == 0.97
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(20, 20)[1] == 1.0 and wilson_interval(0, 20)[0] == 0.0
    low, high = wilson_interval(249, 300)  # more photos, a narrower range
    assert 0.78 < low < 0.83 < high < 0.87
    assert 2 < noise_photos(20, 0.85) < 3 and noise_photos(300, 0.83) > 10 and noise_photos(20, 1.0) == 1.0


