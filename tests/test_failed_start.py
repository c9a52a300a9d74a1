"""A failed start is not a run (issue 24): a training that failed before its first epoch ended (here: the default
backbone's ImageNet weights missing offline) still says why, but takes no run number and no row, so the first
model that trains is "run 1". A training that failed after it started is a failed run, as before."""
from __future__ import annotations

import pytest

from fewshot.config import TrainConfig
from fewshot.errors import TrainingError, WeightsUnavailable
from fewshot.train import train
from fewshot.train_events import EpochEnd
from fewshot.ui.tab import photos as P
from fewshot.ui.tab import state as ST
from fewshot.ui.tab import training as T

OWNER = "browser-token-for-tests-0123456789"
SCRATCH = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8, stage="head")


@pytest.fixture
def sess(tmp_path, monkeypatch, no_weights):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    s = ST.Session()
    s.project_owner = OWNER
    P.load_example(s, per_class=6)
    yield s
    s.cleanup()


def test_a_training_whose_weights_are_missing_offline_is_said_but_takes_no_run_number(sess):
    p = sess.project
    ups = list(T.run_training(sess, T.make_config("mobilenet_v2", True, 1, 0.003, "head", batch_size=8)))
    assert "Could not start" in ups[-1].text and ups[-1].weights_missing  # the person is told why
    assert p.runs() == [] and p.summary()["runs"] == []
    last = list(T.run_training(sess, T.make_config("mobilenet_v2", False, 1, 0.003, "head", batch_size=8)))[-1]
    assert last.done is not None and last.done.model is not None
    assert [(r.number, r.status) for r in p.runs()] == [(1, "finished")]
    assert p.active_run().number == 1


def test_the_engine_raises_a_failed_start_and_keeps_no_row(sess):
    p = sess.project
    with pytest.raises(WeightsUnavailable):
        list(p.train(TrainConfig(arch="mobilenet_v2", pretrained=True, epochs=1, batch_size=8)))
    assert p.runs() == [] and p.last_run_id is None


def test_a_training_that_failed_after_its_first_epoch_is_a_failed_run(sess):
    p = sess.project

    def crashes_after_one_epoch(ds, cfg, **kw):
        for ev in train(ds, cfg, **kw):
            yield ev
            if isinstance(ev, EpochEnd):
                raise TrainingError("out of memory in epoch 2")

    with pytest.raises(TrainingError):
        list(p.train(TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8),
                     trainer=crashes_after_one_epoch))
    list(p.train(SCRATCH))
    assert [(r.number, r.status) for r in p.runs()] == [(1, "failed"), (2, "finished")]
    assert "out of memory" in p.runs()[0].message and p.active_run().number == 2
