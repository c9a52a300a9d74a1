"""Training faults: non-finite loss, unreadable classes, out of memory, stop at every phase, closed tabs."""
from __future__ import annotations

import importlib
import math
import threading
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from fewshot import (DataError, Diagnostic, Done, EpochEnd, Predictor, Progress, TrainingError, load_dataset,
                     run_to_end, train)
from hostile_util import class_folders, encode, picture, tiny_config, write
from hostile_util import one_torch_thread  # noqa: F401 (autouse fixture)

train_mod = importlib.import_module("fewshot.train")  # the module; fewshot.train is also the function
inputs_mod = importlib.import_module("fewshot.trunk_inputs")  # the frozen pass and validation's forward


@pytest.fixture(autouse=True)
def one_pass_per_epoch(monkeypatch):
    """The faults below are placed at step numbers counted for one pass over the photos per epoch; the head
    stage would otherwise repeat a small set to make HEAD_MIN_STEPS steps (tested in test_training.py)."""
    monkeypatch.setattr(train_mod, "HEAD_MIN_STEPS", 1)


@pytest.fixture
def ds(tmp_path):
    """12 photos in two classes: 10 train / 2 validate; with batch 4 an epoch is 3 steps."""
    files = class_folders(tmp_path / "data", n=6)
    data = load_dataset(tmp_path / "data")
    data.probe = files["red"][0]  # a photo to predict on afterwards
    return data


def _predicts(done: Done, photo) -> None:
    """The model in `done` gives finite probabilities over its classes."""
    top = Predictor(done.model).predict_one(photo, top_k=2)
    assert sorted(c for c, _ in top) == sorted(done.model.classes)
    assert all(math.isfinite(p) for _, p in top) and abs(sum(p for _, p in top) - 1) < 1e-4


def _patch_loss(monkeypatch, poison):
    """Replace the training loss: call number n (1-based) returns poison(n, loss) instead."""
    real, calls = F.cross_entropy, [0]

    def loss_fn(*args, **kwargs):
        calls[0] += 1
        return poison(calls[0], real(*args, **kwargs))
    monkeypatch.setattr(train_mod.F, "cross_entropy", loss_fn)


def test_nan_after_a_good_epoch_stops_with_advice_and_keeps_that_epoch(ds, monkeypatch):
    _patch_loss(monkeypatch, lambda n, loss: loss * float("nan") if n > 3 else loss)  # epoch 1 = calls 1-3
    events = list(train(ds, tiny_config(epochs=4, lr=10)))
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "non_finite" and done.stopped
    assert done.best_epoch == 1 and len(done.history) == 1
    diag = [e for e in events if isinstance(e, Diagnostic) and e.code == "non_finite"]
    assert diag[0].severity == "error" and "epoch 2" in diag[0].message and "NaN" in diag[0].message
    assert "Lower the learning rate (now 10; try 1)" in diag[0].advice
    assert "best model from before is kept" in diag[0].advice
    assert done.evaluation is not None and done.model.metrics["best_epoch"] == 1
    _predicts(done, ds.probe)


def test_nan_at_the_first_step_gives_no_model_and_advice(ds, monkeypatch):
    _patch_loss(monkeypatch, lambda n, loss: loss * float("inf"))
    events = list(train(ds, tiny_config(epochs=2, lr=10)))
    assert events[-1].model is None and events[-1].reason == "non_finite"
    assert any(isinstance(e, Diagnostic) and "Lower the learning rate" in e.advice for e in events)


class _InfGrad(torch.autograd.Function):
    """A finite loss whose gradient is infinite: the step after it leaves NaN weights."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("inf")


def test_weights_broken_by_the_last_step_of_an_epoch_are_never_kept(tmp_path, monkeypatch):
    good = class_folders(tmp_path / "d", n=1)  # one photo per class: no validation, one step per epoch
    data = load_dataset({k: v for k, v in good.items()})
    assert data.val == []
    _patch_loss(monkeypatch, lambda n, loss: _InfGrad.apply(loss) if n == 3 else loss)
    done = run_to_end(train(data, tiny_config(epochs=3)))
    assert done.reason == "non_finite" and done.best_epoch in (1, 2)
    assert all(torch.isfinite(p).all() for p in done.model.model.parameters())
    _predicts(done, good["red"][0])


def test_a_class_whose_photos_are_all_unreadable_is_left_out_and_named(tmp_path):
    class_folders(tmp_path / "data", classes=("red", "blue"), n=5)
    for i in range(3):
        write(tmp_path / "data" / "green" / f"g{i}.jpg", b"<html>not a photo</html>")
    data = load_dataset(tmp_path / "data")
    assert data.classes == ["blue", "red"]
    report = data.report()
    skipped = {s["file"]: s["reason"] for s in report["skipped"]}
    assert skipped["green/"] == "no readable images in this class; the class was left out"
    assert all("text or HTML" in skipped[f"green/g{i}.jpg"] for i in range(3))
    done = run_to_end(train(data, tiny_config()))
    _predicts(done, tmp_path / "data" / "red" / "red0.png")


def test_a_class_with_one_photo_trains_with_a_warning(tmp_path):
    files = class_folders(tmp_path / "data", classes=("red",), n=6)
    write(tmp_path / "data" / "blue" / "only.png", encode(picture(24, 24, (40, 40, 210)), "PNG"))
    data = load_dataset(tmp_path / "data")
    assert data.counts().set_index("class")["total"].to_dict() == {"blue": 1, "red": 6}
    assert any(n.code == "few_images" and "'blue' has only 1 images" in n.message for n in data.notices)
    events = list(train(data, tiny_config()))
    assert any(isinstance(e, Diagnostic) and e.code == "too_few_images" for e in events)
    _predicts(events[-1], files["red"][0])


def test_a_single_class_left_is_a_clear_error_naming_the_others(tmp_path):
    class_folders(tmp_path / "data", classes=("red",), n=4)
    write(tmp_path / "data" / "blue" / "b.jpg", b"")
    with pytest.raises(DataError, match=r"Only one class \('red'\) has images.*at least two classes.*"
                                        r"blue/: no readable images.*blue/b.jpg: the file is empty"):
        load_dataset(tmp_path / "data")


def _oom():
    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_in_training_retries_with_smaller_batches_and_says_so(ds, monkeypatch):
    real, seen = train_mod.tail_forward, []

    def forward(model, x, cut):  # a device that holds at most two photos per training step
        if torch.is_grad_enabled():
            if x.shape[0] > 2:
                raise _oom()
            seen.append(x.shape[0])
        return real(model, x, cut)
    monkeypatch.setattr(train_mod, "tail_forward", forward)
    events = list(train(ds, tiny_config(epochs=2, batch_size=8)))
    notes = [e for e in events if isinstance(e, Diagnostic) and e.code == "out_of_memory"]
    assert [(n.severity, n.message) for n in notes] == [
        ("warning", "The CPU ran out of memory in epoch 1 with 8 photos at a time; retrying with 4 at a time."),
        ("warning", "The CPU ran out of memory in epoch 1 with 4 photos at a time; retrying with 2 at a time.")]
    assert "lower the batch size" in notes[0].advice
    assert sum(seen) == 2 * len(ds.train)  # every training photo, in both epochs
    steps = [e for e in events if isinstance(e, Progress) and e.phase == "train"]
    assert steps[-1].done == steps[-1].total == 2 * math.ceil(len(ds.train) / 2)
    done = events[-1]
    assert done.reason == "finished" and len(done.history) == 2
    _predicts(done, ds.probe)


def test_out_of_memory_in_the_feature_pass_and_evaluation(tmp_path, monkeypatch):
    class_folders(tmp_path / "data", n=12)
    data = load_dataset(tmp_path / "data")
    real_pass, real_forward, batches = inputs_mod.trunk_pass, inputs_mod.tail_forward, []

    def trunk_pass(model, cut, samples, pre, rt, batch_size, *rest):  # a device that runs at most 8 at once
        batches.append(batch_size)
        if batch_size > 8:
            yield from real_pass(model, cut, samples[:1], pre, rt, 1, *rest)  # some progress, then the failure
            raise _oom()
        yield from real_pass(model, cut, samples, pre, rt, batch_size, *rest)

    def forward(model, x, cut):  # evaluation holds at most 1 photo
        if not torch.is_grad_enabled() and x.shape[0] > 1:
            raise _oom()
        return real_forward(model, x, cut)
    monkeypatch.setattr(inputs_mod, "trunk_pass", trunk_pass)
    monkeypatch.setattr(inputs_mod, "tail_forward", forward)
    events = list(train(data, tiny_config(batch_size=4)))
    notes = [e.message for e in events if isinstance(e, Diagnostic) and e.code == "out_of_memory"]
    assert notes == ["The CPU ran out of memory while reading the photos with 32 photos at a time; retrying with 16 "
                     "at a time.", "The CPU ran out of memory while reading the photos with 16 photos at a time; "
                     "retrying with 8 at a time."]
    assert batches == [32, 16, 8, 8]  # the validation photos start at the size that worked
    done = events[-1]
    assert done.reason == "finished" and done.evaluation is not None
    assert sum(done.evaluation.per_class["support"]) == len(data.val)
    _predicts(done, tmp_path / "data" / "red" / "red0.png")


def test_out_of_memory_even_at_batch_one_keeps_the_earlier_epoch(ds, monkeypatch):
    real, steps = train_mod.tail_forward, [0]

    def forward(model, x, cut):
        if torch.is_grad_enabled():
            steps[0] += 1
            if steps[0] > 3:  # epoch 1 fits, then the device is full
                raise _oom()
        return real(model, x, cut)
    monkeypatch.setattr(train_mod, "tail_forward", forward)
    events = list(train(ds, tiny_config(epochs=3)))
    done = events[-1]
    assert done.reason == "out_of_memory" and done.stopped and done.best_epoch == 1
    final = [e for e in events if isinstance(e, Diagnostic) and e.severity == "error"]
    assert final[-1].code == "out_of_memory" and "best model from before is kept" in final[-1].advice
    _predicts(done, ds.probe)


def test_other_runtime_errors_are_not_mistaken_for_memory(ds, monkeypatch):
    def forward(model, x, cut):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    monkeypatch.setattr(train_mod, "tail_forward", forward)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        list(train(ds, tiny_config()))


def _run_stopping_on(data, when, cfg=None):
    """Run training, pressing stop the first time `when(event)` is true; returns the events."""
    flag, events = threading.Event(), []
    for ev in train(data, cfg or tiny_config(epochs=2), stop=flag):
        events.append(ev)
        if when(ev):
            flag.set()
    return events


PHASES = {
    "features": (lambda e: isinstance(e, Progress) and e.phase == "features", False),
    "first step": (lambda e: isinstance(e, Progress) and e.phase == "train", False),
    "mid epoch 2": (lambda e: isinstance(e, Progress) and e.phase == "train" and e.done == 4, True),
    "end of epoch 1": (lambda e: isinstance(e, EpochEnd) and e.epoch == 1, True),
    "evaluation": (lambda e: isinstance(e, Progress) and e.phase == "evaluate", True),
}


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("stage", ["head", "all"])
def test_stop_in_each_phase_ends_cleanly(ds, phase, stage):
    when, has_model = PHASES[phase]
    events = _run_stopping_on(ds, when, tiny_config(epochs=2, stage=stage))
    done = events[-1]
    assert isinstance(done, Done) and sum(isinstance(e, Done) for e in events) == 1
    assert (done.model is not None) == has_model
    if phase != "evaluation":
        assert done.stopped and done.reason == "stopped"
    if has_model:
        assert done.best_epoch == 1 or phase == "evaluation"
        _predicts(done, ds.probe)


def test_stop_before_the_first_epoch_and_pressed_twice_then_train_again(ds):
    flag = threading.Event()
    flag.set()
    flag.set()  # a second press changes nothing
    events = list(train(ds, tiny_config(), stop=flag))
    assert [type(e) for e in events if not isinstance(e, (Progress, Diagnostic))] == [Done]
    assert events[-1].model is None and events[-1].reason == "stopped"
    presses = [0]

    def stop():  # pressed at the first check of the epoch loop and again at every check after
        presses[0] += 1
        return presses[0] > 3
    done = run_to_end(train(ds, tiny_config(epochs=2), stop=stop))
    assert done.stopped and presses[0] > 3
    again = run_to_end(train(ds, tiny_config(epochs=2)))  # the session is still usable
    assert again.reason == "finished" and again.model is not None
    _predicts(again, ds.probe)


def test_stop_at_every_single_check(ds):
    """Sweep: stop() first answers yes at its k-th call, for every k a whole run makes."""
    calls = [0]

    def count():
        calls[0] += 1
        return False
    assert run_to_end(train(ds, tiny_config(epochs=2), stop=count)).reason == "finished"
    total = calls[0]
    assert total >= 8
    for k in range(1, total + 1):
        n = [0]

        def stop(k=k, n=n):
            n[0] += 1
            return n[0] >= k
        events = list(train(ds, tiny_config(epochs=2), stop=stop))
        done = events[-1]
        assert isinstance(done, Done) and done.stopped, k
        if done.model is not None:
            _predicts(done, ds.probe)


def test_closing_the_generator_mid_run_frees_its_threads(ds):
    """What a closed browser tab does: the consumer drops the generator mid-phase."""
    baseline = threading.active_count()
    for phase in ("features", "train"):
        gen = train(ds, tiny_config(epochs=2))
        for ev in gen:
            if isinstance(ev, Progress) and ev.phase == phase:
                break
        gen.close()
        deadline = time.monotonic() + 5
        while threading.active_count() > baseline and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threading.active_count() <= baseline, phase
    assert run_to_end(train(ds, tiny_config())).model is not None


@pytest.mark.parametrize("stage", ["head", "all"])
def test_a_photo_deleted_after_loading_is_named_and_a_reload_trains(tmp_path, stage):
    class_folders(tmp_path / "data", n=6)
    data = load_dataset(tmp_path / "data")
    gone = data.train[3].path
    Path(gone).unlink()
    with pytest.raises(TrainingError, match=rf"{Path(gone).name}: .*changed or disappeared after it was checked"):
        run_to_end(train(data, tiny_config(stage=stage)))
    again = load_dataset(tmp_path / "data")
    assert len(again.train) + len(again.val) == 11
    assert run_to_end(train(again, tiny_config(stage=stage))).model is not None


def test_a_lone_last_photo_joins_the_previous_batch(tmp_path):
    """9 training photos in batches of 4: a last batch of 1 would break batch norm when it trains."""
    good = class_folders(tmp_path / "data", n=6)
    data = load_dataset({"red": good["red"], "blue": good["blue"][:5]})
    assert len(data.train) == 9
    events = list(train(data, tiny_config(stage="all", epochs=2)))
    steps = [e for e in events if isinstance(e, Progress) and e.phase == "train"]
    assert [(e.done, e.total) for e in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    _predicts(events[-1], good["red"][0])
