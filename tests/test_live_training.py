"""Step 2 while a training runs, called as the page's handlers call it: how often the page is sent a snapshot,
what the finished line says about time, and the preset that follows the settings."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import torch

from fewshot.train_events import Done, EpochEnd, Progress
from fewshot.ui.tab import state as ST
from fewshot.ui import step_train as S
from fewshot.ui.tab import training as T
from fewshot.ui.texts import PRESETS


def fake_trainer(epochs: int, epoch_s: float, batches: int = 5):
    """fewshot.train's event stream at `epoch_s` seconds an epoch, without a network; honours stop."""
    def trainer(dataset, cfg, stop=None, limits=None):
        started, history = time.perf_counter(), []
        yield Progress("features", 24, 24, "Reading photos")
        for e in range(1, epochs + 1):
            for b in range(1, batches + 1):
                time.sleep(epoch_s / batches)
                yield Progress("train", (e - 1) * batches + b, epochs * batches, f"Epoch {e} of {epochs}")
                if stop.is_set():
                    break
            if stop.is_set():
                break
            history.append({"epoch": e})
            yield EpochEnd(e, epochs, 1 / e, 0.5, 1 / e, 0.5, 1e-3, epoch_s, True)
        yield Done(model=SimpleNamespace() if history else None, best_epoch=len(history) or None, stopped=stop.is_set(),
                   reason="stopped" if stop.is_set() else "finished", history=history,
                   seconds=time.perf_counter() - started)
    return trainer


@pytest.fixture
def sess(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    s = ST.Session()
    s.dataset = SimpleNamespace(cleanup=lambda: None, classes=["a", "b", "c"])  # the fake trainer never looks
    yield s
    s.cleanup()


def cfg(epochs: int):
    return T.make_config(epochs=epochs, stage="head", pretrained=False)  # nothing "chosen for me" to report


def timed_run(sess, config=None):
    out = []
    for up in T.run_training(sess, config or cfg(100)):
        out.append((time.perf_counter(), up))
    return out


def test_a_fast_run_sends_a_few_snapshots_a_second_and_always_the_last(sess):
    sess.backends = ST.Backends(trainer=fake_trainer(epochs=150, epoch_s=0.01))  # ~100 epochs a second
    ups = timed_run(sess)
    times = [t for t, _ in ups]
    seconds = times[-1] - times[0]
    assert seconds > 1.0
    # before: a snapshot every epoch (150); now at most ~7 a second plus the phase changes and the first epoch
    interval = T.SNAPSHOT_INTERVAL_S
    assert 0.1 <= interval <= 0.5
    assert len(ups) <= seconds / interval + 5, (len(ups), seconds)
    # after the two phases and the first point, and before the end: at least the interval apart
    assert [len(up.history) for _, up in ups[:3]] == [0, 0, 1]
    for a, b in zip(times[2:-1], times[3:-1]):
        assert b - a >= interval * 0.95, (a, b)
    last = ups[-1][1]
    assert last.done is not None and len(last.history) == 150 and last.fraction == 1.0
    assert ups[-2][1].done is None  # the last one is sent once


def test_slow_epochs_are_each_shown_when_they_end(sess):
    sess.backends = ST.Backends(trainer=fake_trainer(epochs=4, epoch_s=0.4, batches=1))  # slower than the interval
    ups = timed_run(sess, cfg(4))
    shown = sorted({len(up.history) for _, up in ups})
    assert shown == [0, 1, 2, 3, 4]


def test_stop_during_a_fast_run_ends_near_the_last_epoch_sent(sess):
    sess.backends = ST.Backends(trainer=fake_trainer(epochs=400, epoch_s=0.02))  # 50 epochs a second
    seen = None
    for up in T.run_training(sess, cfg(100)):
        if up.done:
            break
        if len(up.history) >= 10 and seen is None:
            seen = len(up.history)
            sess.stop.set()
    assert up.text.startswith("Stopped after")
    assert len(up.done.history) - seen <= 1, (seen, len(up.done.history))


def test_done_in_counts_from_the_click_and_says_the_wait(sess):
    sess.backends = ST.Backends(trainer=fake_trainer(epochs=3, epoch_s=0.05))
    sess.train_clicked_at = time.perf_counter() - 8  # the click, 8 s ago; this run waited for a free slot since
    last = timed_run(sess, cfg(3))[-1][1]
    assert last.done.seconds < 2
    assert last.text.startswith("Done in 8 s, 8 s of it waiting for another training to finish;"), last.text
    assert sess.train_clicked_at is None  # a later API call does not count from this click
    again = timed_run(sess, cfg(3))[-1][1]
    assert again.text.startswith("Done in 0 s;"), again.text


def test_finished_line_says_which_epoch_was_kept_and_why():
    done = Done(model=object(), best_epoch=4, stopped=False, reason="finished", history=[{}] * 10, seconds=3,
                kept_note="kept epoch 4: clearly better than the last (90% vs 75%)")
    assert T._done_text(done) == ("Done in 3 s; kept epoch 4: clearly better than the last (90% vs 75%). "
                                  "Try it in the Try step.")


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_preset_follows_the_settings_and_says_custom_when_none_matches(name):
    p = PRESETS[name]
    assert S.preset_of(p["epochs"], p["lr"], p["stage"], p["augmentation"]) == name
    assert S.preset_of(p["epochs"] + 1, p["lr"], p["stage"], p["augmentation"]) == "Custom"
    assert S.preset_of(p["epochs"], p["lr"] * 2, p["stage"], p["augmentation"]) == "Custom"
    assert S.preset_of(p["epochs"], p["lr"], p["stage"], "none" if p["augmentation"] != "none" else "light") \
        == "Custom"


def test_the_train_api_keeps_its_parameters_and_presets_are_not_an_api():
    from fewshot.ui import build_app
    demo = build_app().blocks
    api = demo.get_api_info()["named_endpoints"]
    params = [p["parameter_name"] for p in api["/train"]["parameters"]]
    assert params == ["backbone", "pretrained", "epochs", "learning_rate", "stage", "batch_size", "augmentation",
                      "label_smoothing", "balanced_loss", "early_stop", "seed"]
    assert not any("preset" in k or "follow" in k for k in api)


def test_cli_progress_in_a_log_is_a_few_lines_per_phase_never_repeated(tmp_path, with_weights):
    import os
    import subprocess
    import sys
    from collections import Counter

    from tests.conftest import ROOT, make_class_folders
    data = make_class_folders(tmp_path / "data", {"a": 8, "b": 8, "c": 8}, size=24)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", "fewshot", "train", str(data), "--arch", "mobilenet_v2", "--stage",
                        "head", "--epochs", "20", "--batch-size", "8", "--out", str(tmp_path / "m.safetensors")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "\x1b[" not in r.stderr  # no bar redrawn in place into a file
    progress = [line for line in r.stderr.splitlines() if line.startswith(("frozen network", "training"))]
    assert [n for n, c in Counter(progress).items() if c > 1] == []
    for phase in ("frozen network", "training"):
        lines = [line for line in progress if line.startswith(phase)]
        assert 1 <= len(lines) <= 5, lines  # before: a line per batch (20 epochs x 7 batches)
        assert lines[-1].startswith(f"{phase}: 100%")
    assert len([line for line in r.stderr.splitlines() if line.startswith("epoch ")]) == 20


# ---------------------------------------------------------------- a Stop goes back to the epochs the page showed

def _weights(done):
    return {k: v.clone() for k, v in done.model.model.state_dict().items()}


def _train_stopping(ds, config, at_epoch: int, shown: int | None):
    """fewshot.train, asked to stop (naming `shown` epochs, or none) when epoch `at_epoch` ends."""
    from fewshot.train import train
    from fewshot.train_events import StopRequest
    stop = StopRequest()
    for ev in train(ds, config, stop=stop):
        if isinstance(ev, EpochEnd) and ev.epoch == at_epoch:
            stop.request(shown)
        if isinstance(ev, Done):
            return ev
    raise AssertionError("no Done")


def test_a_stop_naming_epoch_n_gives_epoch_ns_model_and_n_epochs_of_history(tmp_path, with_weights):
    from conftest import make_class_folders
    from fewshot.data import load_dataset
    ds = load_dataset(str(make_class_folders(tmp_path / "d", {"a": 8, "b": 8, "c": 8}, size=24)), seed=0)
    config = T.make_config("mobilenet_v2", True, 60, 0.01, "head", batch_size=8)
    at_4 = _train_stopping(ds, config, 4, None)  # stopped as epoch 4 ended: the best of epochs 1-4
    late = _train_stopping(ds, config, 9, 4)  # Stop arrived at epoch 9, naming the 4 epochs the page showed
    assert len(at_4.history) == 4 and at_4.shown_epochs is None
    assert len(late.history) == 4 and late.shown_epochs == 4 and late.reason == "stopped"
    assert late.best_epoch == at_4.best_epoch and late.kept_note == at_4.kept_note
    assert [r["val_acc"] for r in late.history] == [r["val_acc"] for r in at_4.history]
    mine, theirs = _weights(late), _weights(at_4)
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs)
    assert late.model.history == late.history and len(late.model.history) == 4  # what the saved model says
    # the CLI's Ctrl+C and the API's /stop name no epochs: every epoch that ended counts, as before
    plain = _train_stopping(ds, config, 9, None)
    assert len(plain.history) == 9 and plain.shown_epochs is None


def test_recent_epochs_are_held_within_a_byte_budget_and_a_stop_goes_back_to_any_of_them():
    from fewshot.best_epoch import BestEpoch
    model = torch.nn.Linear(4, 3)  # 15 floats: 60 bytes an epoch
    best = BestEpoch(("weight", "bias"), n_val=20, ring_bytes=60 * 5)
    for e in range(1, 31):  # a rising curve: each epoch the best so far
        with torch.no_grad():
            model.weight.fill_(e)
        best.update(model, {"epoch": e, "train_loss": 1 / e, "train_acc": 0.5, "val_loss": 1 / e,
                            "val_acc": min(1.0, 0.3 + e / 50), "lr": 1e-3, "seconds": 0.01})
        assert len(best.states) <= best.window + 1
    assert best.window == 5
    assert not best.trim(20)  # beyond what is held: nothing changes
    assert len(best.records) == 30
    assert best.trim(27) and len(best.records) == 27 and best.state["weight"].eq(best.epoch).all()


def test_the_finished_line_says_a_stop_went_back_to_what_the_curve_showed():
    done = Done(model=object(), best_epoch=17, stopped=True, reason="stopped", history=[{}] * 17, seconds=3,
                kept_note="kept the last epoch (17): no earlier epoch was clearly better", shown_epochs=17)
    assert T._done_text(done).startswith("Stopped after 17 epochs, as the curve showed; kept the last epoch (17)")


# ---------------------------------------------------------------- a project's training outlives the page following it

def test_a_job_goes_on_when_its_page_leaves_and_a_new_page_picks_it_up_where_it_is():
    import threading

    from fewshot.errors import TrainingError
    from fewshot.ui.tab.jobs import Jobs
    from fewshot.train_events import StopRequest
    gate = threading.Event()

    def stream(stop):
        for n in range(1, 1000):
            if stop.is_set():
                raise TrainingError(f"stopped at {n}")
            if n == 3:
                gate.wait(10)  # until the first page has left
            time.sleep(0.002)
            yield n

    jobs = Jobs(slots=1)
    job = jobs.start("p1", stream, StopRequest())
    first = job.follow()
    assert next(first) in (1, 2)  # the latest snapshot: the job may be a step ahead of the page that started it
    first.close()  # the page reloads: its follower goes, the job does not
    gate.set()
    assert job.running and jobs.running("p1") is job
    deadline = time.time() + 30
    while job.latest < 5 and time.time() < deadline:  # it went on with nobody following
        time.sleep(0.01)
    second = job.follow()
    assert next(second) >= 5  # the latest snapshot first, not the start again
    with pytest.raises(TrainingError, match="already training"):
        jobs.start("p1", stream, StopRequest())  # one training per project, whichever tab asks
    job.stop.request(9)  # (the fake stream fails when stopped: an error reaches every page following it)
    with pytest.raises(TrainingError, match="stopped at"):
        list(second)
    assert job.join(5) and not job.running and jobs.running("p1") is None
    assert job.stop.shown_epochs == 9


def test_on_zerogpu_the_stop_file_tells_the_worker_the_epochs_shown():
    from fewshot.gpu_jobs import FileStop, across_processes
    from fewshot.train_events import StopRequest
    told = []

    def job(ds, config, stop_file, limits):  # what runs in the GPU worker: it sees only the file
        stop = FileStop(stop_file)
        for i in range(1000):
            if stop():
                told.append(stop.shown_epochs)
                return
            yield i

    stop = StopRequest()
    for i in across_processes(job)(SimpleNamespace(_tmp=None), cfg(10), stop=stop):
        if i == 3:
            stop.request(7)
    plain = StopRequest()
    for i in across_processes(job)(SimpleNamespace(_tmp=None), cfg(10), stop=plain):
        if i == 3:
            plain.set()  # /stop, Ctrl+C: no epochs named
    assert told == [7, None]
