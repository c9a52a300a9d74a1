"""ZeroGPU Spaces: training and prediction run as `spaces.GPU` jobs sized from their work, and a training that
would not fit the GPU time is refused before it asks for any.

A fake `spaces` stands in for Hugging Face's package. Like the real one (spaces/zero/wrappers.py), its GPU
decorator calls the duration function with the job's arguments, and the job only ever sees pickled copies
of its arguments, and the caller only pickled copies of what it yields or returns: that is what crossing
into ZeroGPU's forked worker does, so a job that relied on shared memory would fail here too.
Without `spaces` nothing changes: the app's handlers run in-process (tests/test_app_handlers.py,
tests/test_app_client.py run that way, and test_without_spaces_nothing_is_wrapped checks it).
"""
from __future__ import annotations

import inspect
import pickle
import sys
import types
from pathlib import Path

import gradio as gr
import pytest
from conftest import make_class_folders

from fewshot import budget as B
from fewshot import gpu_jobs as J
from fewshot import load_dataset, train
from fewshot.ui import build_app
from fewshot.ui.tab import results as R
from fewshot.ui.tab import state as ST
from fewshot.ui.tab import training as T
from fewshot.predict import Predictor


def _copy(x):
    return pickle.loads(pickle.dumps(x))


class FakeSpaces(types.ModuleType):
    """`spaces` as a ZeroGPU Space has it: GPU(duration=callable) records each call's requested seconds."""

    def __init__(self, zero_gpu: bool = True) -> None:
        super().__init__("spaces")
        self.config = types.SimpleNamespace(Config=types.SimpleNamespace(zero_gpu=zero_gpu))
        self.calls: list[tuple[str, int]] = []  # (job name, seconds asked for), in order

    def GPU(self, task=None, *, duration=None, size=None):  # noqa: N802 (the real name)
        def wrap(fn):
            def ask(args, kwargs):
                secs = duration(*args, **kwargs) if callable(duration) else duration
                self.calls.append((fn.__name__, secs))
                return _copy((args, kwargs))

            if inspect.isgeneratorfunction(fn):
                def gen(*args, **kwargs):
                    a, k = ask(args, kwargs)
                    for value in fn(*a, **k):
                        yield _copy(value)
                return gen

            def call(*args, **kwargs):
                a, k = ask(args, kwargs)
                return _copy(fn(*a, **k))
            return call
        return wrap(task) if task is not None else wrap


@pytest.fixture
def app_module():
    import app
    return app


@pytest.fixture
def zero(app_module, monkeypatch):
    """The app as it starts on a ZeroGPU Space, with the fake `spaces`: (the fake, the backends app.py passes)."""
    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACE_ID", "someone/fewshot")
    monkeypatch.delenv("FEWSHOT_GPU_MAX_S", raising=False)
    backends = app_module.zero_gpu_backends(app_module.zero_gpu())
    assert backends is not None
    fake.backends = backends
    return fake


@pytest.fixture
def handlers(zero, tmp_path, monkeypatch):
    """The app's own train and predict callbacks, from the page built with ZeroGPU's backends, and a session
    with tiny photos."""
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))  # the handlers read only files uploaded there
    demo = build_app(zero.backends).blocks
    fns = {f.api_name: f.fn for f in demo.fns.values() if f.api_name}
    sess = ST.Session(zero.backends)
    sess.set_dataset(load_dataset(make_class_folders(tmp_path / "set", {"cat": 12, "dog": 12, "fox": 12})), "test")
    yield fns["train"], fns["predict"], sess
    sess.cleanup()


def _uploaded(path) -> str:
    """A copy of `path` in the upload folder, as a browser's upload would be."""
    import os
    import shutil
    folder = Path(os.environ["GRADIO_TEMP_DIR"]) / "up"
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.copy(path, folder / Path(path).name)


def _train(handler, sess, epochs: int, stage: str = "head") -> list:
    return list(handler("resnet18", False, epochs, 0.003, stage, 8, "none", 0.0, False, 0, 0, st=sess, request=None))


def test_zero_gpu_is_detected_only_on_a_zero_gpu_space(app_module, monkeypatch):
    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert app_module.zero_gpu() is None  # `spaces` installed on a laptop: not a Space
    monkeypatch.setenv("SPACE_ID", "someone/fewshot")
    assert app_module.zero_gpu() == fake.GPU
    monkeypatch.setitem(sys.modules, "spaces", FakeSpaces(zero_gpu=False))
    assert app_module.zero_gpu() is None  # a Space with its own GPU or a CPU: nothing to ask for
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` raises ImportError
    assert app_module.zero_gpu() is None
    assert app_module.zero_gpu_backends(None) is None


def test_without_spaces_nothing_is_wrapped(app_module):
    """What every other app test runs against: the engine's own train and Predictor, in this process."""
    assert app_module.zero_gpu() is None and app_module.BACKENDS is None
    plain = ST.Session()
    try:
        assert plain.backends.trainer is train and plain.backends.predictor is Predictor
        assert plain.backends.fit_check is None
    finally:
        plain.cleanup()
    assert app_module.gpu_task(J.train_job, J.train_seconds) is J.train_job


def test_training_and_prediction_run_as_gpu_jobs_sized_from_the_job(zero, handlers):
    train_fn, predict_fn, sess = handlers
    outs = _train(train_fn, sess, epochs=1)
    assert [name for name, _ in zero.calls] == ["train_job"]
    assert sess.model is not None and not sess.training  # the model came back across the process boundary
    assert next(p for p in sess.model.model.parameters()).device.type == "cpu"
    progress = next(c for c in outs[-1] if getattr(c, "elem_id", None) == "train-progress")
    assert "Done in" in outs[-1][progress]  # the progress text of the last update
    assert zero.calls[0][1] == J.train_seconds(sess.dataset, sess.model.config) >= B.TRAIN_STARTUP_S
    _train(train_fn, sess, epochs=80)  # 36 tiny photos: an epoch is a few steps, so it takes many to show
    (_, one_epoch), (_, many_epochs) = zero.calls
    assert many_epochs > one_epoch  # more epochs: more seconds asked for
    more = J.portable(sess.dataset)
    more.train, more.val = sess.dataset.train * 10, sess.dataset.val * 10
    assert J.train_seconds(more, sess.model.config) > many_epochs  # more photos: more seconds

    label = predict_fn(_uploaded(sess.dataset.val[0].path), False, st=sess, request=None)
    assert set(label) == {"cat", "dog", "fox"} and abs(sum(label.values()) - 1) < 1e-4
    name, secs = zero.calls[-1]
    assert name == "predict_job" and 1 <= secs <= 15
    df, _csv = R.predict_many(sess, [sess.dataset.val[0].path, __file__], tta=True)
    assert zero.calls[-1][0] == "predict_job" and list(df["problem"] != "") == [False, True]
    with pytest.raises(gr.Error):
        predict_fn(_uploaded(__file__), False, st=sess, request=None)  # not a picture: the reason, as without ZeroGPU


def test_stop_reaches_the_gpu_worker_and_keeps_the_best_epoch(zero, handlers):
    _, _, sess = handlers
    for up in T.run_training(sess, T.make_config("resnet18", False, 200, 0.003, "head", batch_size=8)):
        if len(up.history) >= 2:
            sess.stop.set()  # what the Stop button does; the worker only sees a file
    assert up.done.stopped and 2 <= len(up.done.history) < 200 and sess.model is not None


def test_over_limit_training_is_refused_before_any_gpu_time(zero, handlers, monkeypatch):
    train_fn, _, sess = handlers
    monkeypatch.setenv("FEWSHOT_GPU_MAX_S", "20")  # less than the start-up alone
    with pytest.raises(gr.Error) as err:
        _train(train_fn, sess, epochs=10)
    assert "needs about" in err.value.message and "at most 20 s" in err.value.message
    assert zero.calls == [] and sess.model is None and not sess.training  # no GPU asked for, nothing trained
    monkeypatch.setenv("FEWSHOT_GPU_MAX_S", "120")
    _train(train_fn, sess, epochs=1)
    assert [name for name, _ in zero.calls] == ["train_job"]


def test_photos_from_a_zip_cross_to_the_worker_and_stay_for_the_session(tmp_path):
    """A zip's photos live in a temporary folder the session owns: the worker gets the list, never the folder."""
    import zipfile

    folder = make_class_folders(tmp_path / "set", {"cat": 4, "dog": 4})
    zipped = tmp_path / "set.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for p in sorted(folder.rglob("*.png")):
            z.write(p, p.relative_to(folder).as_posix())
    ds = load_dataset(zipped)
    try:
        assert ds._tmp is not None
        copy = pickle.loads(pickle.dumps(J.portable(ds)))  # what crossing into ZeroGPU's worker does
        assert [s.path for s in copy.train + copy.val] == [s.path for s in ds.train + ds.val]
        copy.cleanup()
        del copy
        assert ds._tmp is not None and all(Path(s.path).is_file() for s in ds.train + ds.val)
    finally:
        ds.cleanup()
