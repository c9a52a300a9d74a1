"""kill -9 at any moment loses no acknowledged label and leaves no half-written photo, run or model.

A child process writes (labels, or a training run) and says what it has done; the parent kills it with
SIGKILL mid-way, reopens the project and checks what is there. PRAGMA integrity_check after each.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, make_class_folders

from fewshot.bundle import load_bundle
from fewshot.config import TrainConfig
from fewshot.project import ProjectStore
from fewshot.train_events import Done

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (not on Windows)")
FAST = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8)


def child(code: str, store_root) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    prelude = f"import sys\nfrom fewshot.project import ProjectStore\nstore = ProjectStore({str(store_root)!r})\n"
    return subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def integrity(store: ProjectStore) -> str:
    with sqlite3.connect(store.db.path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def no_partial_files(project) -> list:
    return [p for p in project.dir.rglob("*") if p.name.endswith(".part")]


def test_kill_9_during_a_burst_of_label_writes_loses_no_acknowledged_label(tmp_path, capsys):
    store = ProjectStore(tmp_path / "store")
    p = store.create("local", "burst")
    p.add_photos(make_class_folders(tmp_path / "photos", {"u": 400}, size=8))
    p.set_labels({ph.sha1: None for ph in p.photos()})  # all unlabelled
    proc = child(f"""
        p = store.open("local", {p.id!r})
        for i, ph in enumerate(p.photos()):
            label = "even" if i % 2 == 0 else "odd"
            p.set_label(ph.sha1, label)        # returns after COMMIT
            print("ACK", ph.sha1, label, flush=True)
        print("ALL DONE", flush=True)
        """, store.root)
    acked = {}
    for line in proc.stdout:
        if line.startswith("ACK"):
            _, sha1, label = line.split()
            acked[sha1] = label
        if len(acked) == 60:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    rest = proc.stdout.read()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert "ALL DONE" not in rest  # it was killed mid-burst
    acked.update(dict(line.split()[1:] for line in rest.splitlines() if line.startswith("ACK")))
    again = ProjectStore(store.root).open("local", p.id)
    found = {ph.sha1: ph.label for ph in again.photos() if ph.label is not None}
    assert integrity(again.store) == "ok"
    assert all(found.get(s) == lab for s, lab in acked.items())
    assert len(found) - len(acked) <= 1  # at most the one committed just before its line could be printed
    with capsys.disabled():
        print(f"\n[crash figures] labels: 400 to write, {len(acked)} acknowledged before kill -9, "
              f"{len(found)} found after reopening, {sum(found.get(s) == v for s, v in acked.items())} "
              f"acknowledged ones intact")


def test_kill_9_during_training_marks_the_run_interrupted_and_keeps_the_active_model(tmp_path, capsys):
    store = ProjectStore(tmp_path / "store")
    p = store.create("local", "train")
    p.add_photos(make_class_folders(tmp_path / "photos", {"a": 10, "b": 10}, size=24))
    assert isinstance(list(p.train(FAST))[-1], Done)
    first = p.active_run()
    assert first is not None and first.status == "finished"
    bundle_bytes = first.bundle.read_bytes()
    proc = child(f"""
        from fewshot.config import TrainConfig
        from fewshot.train_events import EpochEnd
        p = store.open("local", {p.id!r})
        cfg = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=500, batch_size=8)
        for ev in p.train(cfg):
            if isinstance(ev, EpochEnd):
                print("EPOCH", ev.epoch, flush=True)
        print("ALL DONE", flush=True)
        """, store.root)
    epochs = 0
    for line in proc.stdout:
        if line.startswith("EPOCH"):
            epochs += 1
        if epochs == 3:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    again = ProjectStore(store.root).open("local", p.id)
    runs = again.runs()
    assert [r.status for r in runs] == ["finished", "interrupted"]
    assert runs[1].bundle is None and not list(again.runs_dir.glob(f"run-{runs[1].id}*"))
    assert again.active_run().id == first.id and first.bundle.read_bytes() == bundle_bytes
    assert load_bundle(again.active_bundle()).classes == ["a", "b"]
    assert integrity(again.store) == "ok" and no_partial_files(again) == []
    with capsys.disabled():
        print(f"\n[crash figures] training: killed after {epochs} of 500 epochs; run {runs[1].id} "
              f"{runs[1].status}, active run {again.active_run().id} ({again.active_run().status}) loads")


def test_a_run_left_running_by_a_live_process_is_not_marked_interrupted(tmp_path):
    store = ProjectStore(tmp_path / "store")
    p = store.create("local", "live")
    run_id = p.start_run(FAST.to_dict())  # this process is alive
    assert store.open("local", p.id).run(run_id).status == "running"
    with store.db.transaction() as db:  # a pid that no longer exists
        db.execute("UPDATE runs SET pid=?, pid_start=NULL WHERE id=?", (2**22 + 12345, run_id))
    assert store.open("local", p.id).run(run_id).status == "interrupted"


def test_two_processes_labelling_one_project_both_keep_their_changes(tmp_path):
    store = ProjectStore(tmp_path / "store")
    p = store.create("local", "two")
    p.add_photos(make_class_folders(tmp_path / "photos", {"u": 80}, size=8))
    code = """
        p = store.open("local", {pid!r})
        sha1s = [ph.sha1 for ph in p.photos()][{start}::2]
        for s in sha1s:
            p.set_label(s, {label!r})
        print("DONE", len(sha1s), flush=True)
        """
    procs = [child(code.format(pid=p.id, start=i, label=lab), store.root) for i, lab in enumerate(("left", "right"))]
    outs = [pr.communicate(timeout=300) for pr in procs]
    assert all(pr.returncode == 0 for pr in procs), [o[1][-2000:] for o in outs]
    photos = p.photos()
    order = sorted(photos, key=lambda ph: (ph.path, ph.sha1))
    assert [ph.label for ph in order] == ["left", "right"] * 40
    assert integrity(store) == "ok"
