"""Projects that last (fewshot/project/project.py): what a user notices across sittings, owners and the command line."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from tests.cli_inproc import run_cli
from tests.conftest import ROOT, make_class_folders

from fewshot.config import TrainConfig
from fewshot.errors import FewshotError, ProjectError, ProjectNotFound, ProjectStoreError, ProjectTooBig
from fewshot.project import ProjectStore, default_split
from fewshot.project.database import default_data_dir
from fewshot.train_events import Done

FAST = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8)


def train_run(project, cfg=FAST, **kw):
    done = None
    for ev in project.train(cfg, **kw):
        if isinstance(ev, Done):
            done = ev
    return done


def test_class_folders_label_loose_photos_stay_unlabelled_and_a_photo_is_stored_once(store, photos, tmp_path):
    p = store.create("ana", "pets")
    r = p.add_photos(photos)
    assert (r.added, r.labelled, r.already) == (17, 16, 0)
    again = p.add_photos(photos)
    assert (again.added, again.already) == (0, 17)
    copy = tmp_path / "copy.png"
    copy.write_bytes((photos / "cat" / "000.png").read_bytes())
    assert p.add_photos([copy]).already == 1  # same bytes, another name: still one photo
    s = p.summary()
    assert s["photos"] == 17 and s["labelled"] == 16 and s["classes"] == {"cat": 8, "dog": 8}
    assert [ph.path for ph in p.photos(label=None)] == ["loose.png"]
    assert len(list((p.dir / "photos").rglob("*.png"))) == 17


def test_splits_are_stable_when_photos_are_added_and_every_class_validates(store, photos, tmp_path):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    before = {ph.sha1: ph.split for ph in p.photos()}
    more = make_class_folders(tmp_path / "more", {"cat": 10, "dog": 10}, size=24, seed=5)
    p.add_photos(more)
    after = {ph.sha1: ph.split for ph in p.photos()}
    assert all(after[k] == v for k, v in before.items())  # adding photos never moved an old one
    for c in ("cat", "dog"):
        splits = [ph.split for ph in p.photos(label=c)]
        assert splits.count("val") >= 1 and splits.count("train") >= 1
    assert sum(ph.split == default_split(ph.sha1) for ph in p.photos()) >= len(after) - 2


def test_a_photo_keeps_its_class_and_split_after_reopening(store, photos):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    loose = p.photos(label=None)[0]
    p.set_labels({loose.sha1: "bird"}, {loose.sha1: "val"})
    p.set_hints({loose.sha1: "maybe a crow"})
    again = ProjectStore(store.root).open("ana", p.id)
    ph = next(x for x in again.photos() if x.sha1 == loose.sha1)
    assert (ph.label, ph.split, ph.hint) == ("bird", "val", "maybe a crow")
    assert "bird" in again.classes()


def test_labels_naming_unknown_photos_change_nothing(store, photos):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    before = [(ph.sha1, ph.label) for ph in p.photos()]
    first = before[0][0]
    with pytest.raises(ProjectError, match="not in this project"):
        p.set_labels({first: "bird", "f" * 40: "cat"})
    assert [(ph.sha1, ph.label) for ph in p.photos()] == before


def test_nobody_lists_or_opens_another_owners_project(store):
    p = store.create("ana", "secret")
    store.create("bob", "secret")  # names are unique per owner only
    assert [r["name"] for r in store.list("bob")] == ["secret"]
    assert len(p.id) >= 32  # 24 random bytes
    with pytest.raises(ProjectNotFound):
        store.open("bob", p.id)
    with pytest.raises(ProjectNotFound):
        store.delete("bob", p.id)
    with pytest.raises(ProjectError, match="already have a project"):
        store.create("ana", "secret")


def test_list_is_most_recently_used_first_rename_and_delete_remove_every_file(store, photos):
    a = store.create("ana", "a")
    b = store.create("ana", "b")
    time.sleep(0.01)
    a.add_photos(photos)
    assert [r["name"] for r in store.list("ana")] == ["a", "b"]
    b.rename("b2")
    assert store.open_by_name("ana", "b2").id == b.id
    folder = a.dir
    assert folder.exists()
    a.delete()
    assert not folder.exists() and [r["name"] for r in store.list("ana")] == ["b2"]
    with sqlite3.connect(store.db.path) as db:
        assert db.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM activity WHERE project_id=?", (a.id,)).fetchone()[0] == 0


def test_training_records_the_run_and_a_worse_or_stopped_run_never_replaces_the_best(store, photos):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    done = train_run(p)
    assert done.model is not None
    first = p.runs()[0]
    assert first.status == "finished" and first.active and first.bundle.is_file()
    assert first.settings == FAST.to_dict() and len(first.history) == 2 and "accuracy" in first.metrics
    # a later run that ends worse (rigged on its row) or is stopped before any epoch does not take over
    train_run(p)
    with p._tx() as db:
        db.execute("UPDATE runs SET val_accuracy=-1 WHERE id=?", (p.runs()[1].id,))
        from fewshot.project.runs import _pick_active
        _pick_active(db, p.id)
    stop = threading.Event()
    stop.set()
    train_run(p, stop=stop)
    runs = p.runs()
    assert [r.status for r in runs] == ["finished", "finished", "stopped"]
    assert p.active_run().id == first.id
    p.pick_active(runs[1].id)  # the user's choice sticks
    train_run(p)
    assert p.active_run().id == runs[1].id
    p.pick_active(None)
    assert p.active_run().val_accuracy == max(r.val_accuracy for r in p.runs() if r.val_accuracy is not None)
    p.delete_run(first.id)
    assert first.id not in [r.id for r in p.runs()] and not first.bundle.exists()
    assert any("run" in a["what"] for a in p.activity())


def test_two_writers_on_one_project_both_keep_their_labels(store, tmp_path):
    root = make_class_folders(tmp_path / "many", {"x": 60}, size=12)
    p = store.create("ana", "two")
    p.add_photos(root)
    sha1s = [ph.sha1 for ph in p.photos()]
    halves = {"left": sha1s[::2], "right": sha1s[1::2]}
    errors = []

    def writer(label):
        try:
            q = ProjectStore(store.root).open("ana", p.id)  # its own store and connections
            for s in halves[label]:
                q.set_label(s, label)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in halves]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    labels = {ph.sha1: ph.label for ph in p.photos()}
    assert all(labels[s] == k for k, v in halves.items() for s in v)


def test_a_corrupt_database_is_refused_with_a_message_and_never_overwritten(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    bad = b"this is not a database, it was damaged" * 100
    (root / "projects.db").write_bytes(bad)
    with pytest.raises(ProjectStoreError, match=r"projects\.db.*damaged.*left exactly as it is"):
        ProjectStore(root)
    assert (root / "projects.db").read_bytes() == bad
    # a real SQLite file damaged inside
    other = tmp_path / "store2"
    ProjectStore(other).create("ana", "x")
    data = bytearray((other / "projects.db").read_bytes())
    data[4096:8192] = b"\xff" * 4096
    (other / "projects.db").write_bytes(bytes(data))
    for extra in ("projects.db-wal", "projects.db-shm"):
        (other / extra).unlink(missing_ok=True)
    with pytest.raises(ProjectStoreError, match="projects.db"):
        ProjectStore(other)
    assert (other / "projects.db").read_bytes() == bytes(data)


def test_a_database_from_a_newer_fewshot_is_refused_and_left_alone(tmp_path):
    root = tmp_path / "store"
    ProjectStore(root).create("ana", "x")
    with sqlite3.connect(root / "projects.db") as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    before = (root / "projects.db").read_bytes()
    with pytest.raises(ProjectStoreError, match="newer fewshot.*version 99"):
        ProjectStore(root)
    assert (root / "projects.db").read_bytes() == before


def test_project_size_limit_refuses_with_the_limit_named(store, photos, monkeypatch):
    monkeypatch.setenv("FEWSHOT_PROJECT_MAX_GB", str(3000 / 1024**3))  # about 3 KB
    p = store.create("ana", "small")
    with pytest.raises(ProjectTooBig, match="FEWSHOT_PROJECT_MAX_GB"):
        p.add_photos(photos)
    assert p.summary()["photos"] == 0
    assert isinstance(ProjectTooBig("x"), FewshotError)


def test_idle_projects_expire_only_when_asked(store, monkeypatch):
    old = store.create("ana", "old")
    store.create("ana", "new")
    assert store.expire_projects(now_=time.time() + 10 * 86400) == []  # off by default
    monkeypatch.setenv("FEWSHOT_PROJECT_TTL_DAYS", "7")
    with store.db.transaction() as db:
        db.execute("UPDATE projects SET used=? WHERE id=?", (time.time() - 8 * 86400, old.id))
    assert store.expire_projects() == [old.id]
    assert [r["name"] for r in store.list("ana")] == ["new"] and not old.dir.exists()


def test_data_folder_on_each_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("FEWSHOT_DATA_DIR", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert default_data_dir() == tmp_path / "xdg" / "fewshot"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert default_data_dir().parts[-3:] == ("Library", "Application Support", "fewshot")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert default_data_dir() == tmp_path / "local" / "fewshot"
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"


# ---------------------------------------------------------------- the command line
def cli(*args, data_dir, process=False):
    """`python -m fewshot ARGS` with FEWSHOT_DATA_DIR=data_dir: called in this process (tests/cli_inproc.py), or
    with process=True a real one (the exit status of the process itself)."""
    if not process:
        return run_cli(*args, env={"FEWSHOT_DATA_DIR": str(data_dir)})
    env = {**os.environ, "FEWSHOT_DATA_DIR": str(data_dir)}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "fewshot", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)


def last_json(r) -> dict:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_cli_project_from_new_to_train_export_import_and_delete(tmp_path, photos):
    d = tmp_path / "data-dir"
    assert last_json(cli("project", "new", "pets", "--json", data_dir=d))["name"] == "pets"
    added = last_json(cli("project", "add", "pets", photos, "--json", data_dir=d))
    assert added["added"] == 17 and added["classes"] == {"cat": 8, "dog": 8}
    shown = last_json(cli("project", "show", "pets", "--json", data_dir=d))
    assert (shown["photos"], shown["labelled"], shown["classes"], shown["runs"]) == (17, 16, {"cat": 8, "dog": 8}, [])
    trained = last_json(cli("train", "--project", "pets", "--scratch", "--arch", "mobilenet_v2", "--epochs", "2",
                            "--batch-size", "8", "--out", tmp_path / "m.safetensors", "--json", data_dir=d))
    assert trained["status"] == "finished" and trained["active_run"] == trained["run"]
    assert (tmp_path / "m.safetensors").is_file()
    shown = last_json(cli("project", "show", "pets", "--json", data_dir=d))
    assert [r["status"] for r in shown["runs"]] == ["finished"] and shown["runs"][0]["active"]
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("path,label\nloose.png,bird\n", encoding="utf-8")
    assert last_json(cli("project", "label", "pets", "--csv", csv_file, "--json", data_dir=d))["labelled"] == 17
    out = tmp_path / "pets.zip"
    assert last_json(cli("project", "export", "pets", "--format", "archive", "--out", out, "--json", data_dir=d))
    imported = last_json(cli("project", "import", out, "--name", "pets2", "--json", data_dir=d))
    assert imported["labelled"] == 17 and imported["runs"] == 1 and imported["active_run"] is not None
    names = [p["name"] for p in last_json(cli("project", "list", "--json", data_dir=d))["projects"]]
    assert sorted(names) == ["pets", "pets2"]
    assert last_json(cli("project", "delete", "pets2", "--json", data_dir=d)) == {"deleted": "pets2"}
    assert [p["name"] for p in last_json(cli("project", "list", "--json", data_dir=d))["projects"]] == ["pets"]


def test_cli_project_errors_name_the_problem_with_exit_code_2(tmp_path, photos):
    d = tmp_path / "data-dir"
    r = cli("project", "show", "nope", data_dir=d)
    assert r.returncode == 2 and "no project called 'nope'" in r.stderr
    cli("project", "new", "pets", data_dir=d)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\n../../etc/passwd,cat\n", encoding="utf-8")
    r = cli("project", "label", "pets", "--csv", bad, data_dir=d)
    assert r.returncode == 2 and "bad.csv row 2" in r.stderr and "outside" in r.stderr
    r = cli("train", "--project", "pets", "--scratch", data_dir=d)
    assert r.returncode == 2 and "no labelled photos" in r.stderr
    (d / "projects.db").write_bytes(b"garbage" * 10)
    r = cli("project", "list", data_dir=d, process=True)  # a real process exits with 2
    assert r.returncode == 2 and "projects.db" in r.stderr and "left exactly as it is" in r.stderr
