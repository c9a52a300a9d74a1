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
    best = max(range(4), key=lambda i: (hist[i]["val_acc"], -hist[i]["val_loss"]))
    assert done.best_epoch == best + 1
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
    from fewshot.train import resolve_config

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


def test_a_run_that_was_still_improving_says_train_longer():
    from fewshot.evaluate import end_diagnostics

    def hist(vals, train_acc):
        return [{"val_acc": v, "train_acc": t, "train_loss": 1.0, "val_loss": 1.0} for v, t in zip(vals, train_acc)]

    rising = hist([0.5, 0.6, 0.65, 0.7, 0.74, 0.78], [0.6, 0.7, 0.8, 0.85, 0.9, 0.93])
    [d] = end_diagnostics(rising, 6, 0.001)
    assert d.code == "still_learning" and "12 epochs" in d.advice and "0.003" in d.advice and "78%" in d.message
    plateau = hist([0.5, 0.8, 0.9, 0.9, 0.89, 0.9], [0.6, 0.9, 0.99, 1.0, 1.0, 1.0])
    assert end_diagnostics(plateau, 6, 0.001) == []
    assert end_diagnostics(rising[:4], 6, 0.001) == []  # stopped early: not "still learning"
