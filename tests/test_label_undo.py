"""Undo in the Label step outlives the tab: its history is the project's (fewshot/project/undo.py), written in
the same transaction as each label change, so a reload, a server restart or a kill -9 never leaves a label
change without its undo entry; every undoable action (labels, accepted suggestions, rename, merge, hidden
cards) is taken back after a reload exactly as it was before; two tabs share the project's history.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT
from test_label_step import (LIMITS, by_truth, colour_features, label_truthfully, pile, ready,
                             reject_the_surest_green)

from fewshot.project import database as PS
from fewshot.project import undo as project_undo
from fewshot.errors import ProjectError
from fewshot.project import ProjectStore
from fewshot.ui import step_label
from fewshot.ui.tab.labels import Desk


def reopened(desk: Desk) -> Desk:
    """A fresh Desk over a freshly opened store on the same data folder: a reloaded tab, a restarted server."""
    store = ProjectStore(desk.project.store.root)
    return Desk(store.open(desk.project.owner, desk.project.id), features=colour_features)


def state(desk: Desk) -> dict:
    """What the user sees of the labelling: labels and who gave them, hints, classes, hidden cards."""
    photos = desk.project.photos()
    return {"labels": {p.sha1: p.label for p in photos}, "hints": {p.sha1: p.hint for p in photos},
            "origins": {p.sha1: p.origin for p in photos},
            "classes": desk.project.classes(), "rejected": desk.project.hidden_cards("reject"),
            "kept": desk.project.hidden_cards("keep")}


@pytest.fixture
def desk(store):
    d = Desk(store.create("me", "pile"), features=colour_features)
    yield d
    d.wait()


def test_undo_after_a_reload_takes_back_the_last_labelling(tmp_path, monkeypatch):
    """Through the page's handlers: 20 photos labelled by mistake, the page reloaded (a new session opens the
    project), Undo takes the 20 labels back."""
    import gradio as gr
    from fewshot.ui import build_app
    from fewshot.ui.tab import projects as PJ
    from fewshot.ui.tab import state as ST
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    monkeypatch.setattr(step_label, "Desk", lambda project: Desk(project, features=colour_features))
    fn = {f.name: f.fn for f in build_app().blocks.fns.values()}
    by_id = lambda out: {getattr(c, "elem_id", None) or type(c).__name__: v for c, v in out.items()}  # noqa: E731
    items, _ = pile(tmp_path / "uploads" / "x", {"red": 12, "green": 12})
    payload = json.dumps({"items": [{"path": str(f), "rel": rel} for f, rel in items], "others": []})
    tab = gr.Request(headers={}, cookies={}, session_hash="tab-before-reload")
    sess = by_id(fn["on_folder"](payload, None, tab))["State"]
    sess.label.desk.wait()
    twenty = [p.sha1 for p in sess.project.photos()][:20]
    fn["on_act"](json.dumps({"act": "label", "ids": twenty, "cls": "red", "nonce": 1}), sess, tab)
    assert len(sess.project.photos(label="red")) == 20

    other = ST.Session()  # the reloaded page: a new session for the same owner opens the project
    try:
        other.project_owner = sess.project_owner
        PJ.open_project(other, sess.project.id)  # (one class labelled so far: it opens, with no training set yet)
        reload = gr.Request(headers={}, cookies={}, session_hash="tab-after-reload")
        out = by_id(fn["on_undo"](other, reload))
        assert "0 labelled" in out["label-status"] and not other.project.photos(label="red")
        with pytest.raises(ProjectError, match="nothing to undo"):
            step_label.desk_of(other).undo()
    finally:
        for s in (sess, other):
            d = s.label.desk
            if d is not None:
                d.wait()
        other.cleanup()
        sess.cleanup()


def _child(code: str, root) -> subprocess.Popen:
    """Another server process on the same data folder."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    prelude = ("import os, signal, sys\nfrom fewshot.project import ProjectStore\nfrom fewshot.ui.tab.labels import Desk\n"
               f"store = ProjectStore({str(root)!r})\n")
    return subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (not on Windows)")
def test_undo_after_a_server_restart_takes_back_the_last_labelling(desk, tmp_path):
    """A server labels 20 photos and dies (kill -9); the next server's Undo takes the 20 labels back."""
    items, _ = pile(tmp_path, {"red": 12, "green": 12})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    shas = [p.sha1 for p in desk.project.photos()]
    desk.assign(shas[:2], "green")
    proc = _child(f"""
        d = Desk(store.open("me", {desk.project.id!r}), features=None)
        d.assign({shas[:20]!r}, "red")
        print("ACK", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """, desk.project.store.root)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL and "ACK" in out, err
    after = reopened(desk)
    assert len(after.labels()) == 20
    assert "Undone: 20 photos have the labels they had before." in after.undo()
    assert after.labels() == {s: "green" for s in shas[:2]}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (not on Windows)")
def test_kill_9_in_a_burst_of_labelling_leaves_every_label_change_with_its_undo_entry(desk, tmp_path):
    items, _ = pile(tmp_path, {"red": 20, "green": 20})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    proc = _child(f"""
        d = Desk(store.open("me", {desk.project.id!r}), features=None)
        for p in d.project.photos():
            d.assign([p.sha1], "red")    # returns after COMMIT
            print("ACK", p.sha1, flush=True)
        print("ALL DONE", flush=True)
        """, desk.project.store.root)
    acked = []
    for line in proc.stdout:
        acked.append(line.split()[1])
        if len(acked) == 12:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and "ALL DONE" not in proc.stdout.read()
    after = reopened(desk)
    labelled = after.labels()
    assert set(acked) <= set(labelled) and len(labelled) < 40  # killed mid-burst
    assert after.project.undo_count() == len(labelled)  # one entry per committed change, none without
    for _ in labelled:
        after.undo()
    assert after.labels() == {} and after.project.undo_count() == 0


def test_a_label_change_whose_undo_entry_cannot_be_written_is_not_made(desk, tmp_path, monkeypatch):
    items, _ = pile(tmp_path, {"red": 3, "green": 3})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    shas = [p.sha1 for p in desk.project.photos()]
    desk.assign(shas[:1], "green")

    def broken(*_a, **_k):
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(project_undo, "_record", broken)
    with pytest.raises(Exception):
        desk.assign(shas, "red")
    monkeypatch.undo()
    assert reopened(desk).labels() == {shas[0]: "green"} and desk.project.undo_count() == 1


def test_an_undo_that_fails_half_way_keeps_its_entry_and_the_labels(desk, tmp_path, monkeypatch):
    items, _ = pile(tmp_path, {"red": 3, "green": 3})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    shas = [p.sha1 for p in desk.project.photos()]
    desk.assign(shas, "red")
    monkeypatch.setattr(project_undo.LabelHistory, "_undo_labels",
                        lambda self, db, body: (db.execute("UPDATE photos SET label=NULL, label_source=NULL"), 1 / 0))
    with pytest.raises(ZeroDivisionError):
        desk.undo()
    monkeypatch.undo()
    assert len(reopened(desk).labels()) == 6 and desk.project.undo_count() == 1
    desk.undo()
    assert reopened(desk).labels() == {}


def test_every_undoable_action_is_taken_back_after_a_reload_as_it_was_before(desk, tmp_path):
    """Labels, accepted suggestions (with their marks), a rejected suggestion, a kept suspect, a rename and a
    merge: a reloaded Desk undoes them newest first, each back to exactly the state before it."""
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    t = by_truth(desk, truth)
    snapshots = []

    def do(action):
        snapshots.append(state(desk))
        action()
        desk.refresh()

    reds = desk.groups()["red"]
    do(lambda: desk.accept("red", reds[-1][1]))
    assert any(o.source == "suggestion" and o.confidence for o in state(desk)["origins"].values())
    green = desk.groups()["green"][0][0]
    do(lambda: desk.reject([green], "green"))
    labelled_red = [s for s, lab in desk.labels().items() if lab == "red"]
    do(lambda: desk.keep(labelled_red[0], "red"))
    do(lambda: desk.assign([s for s in t if t[s] == "blue" and s not in desk.labels()][:4], "blue"))
    do(lambda: desk.assign([reds[0][0]], None))  # an accepted suggestion taken away by hand
    do(lambda: desk.rename_class("blue", "navy"))
    do(lambda: desk.rename_class("navy", "green"))  # a merge
    assert "navy" not in desk.classes() and "blue" not in desk.classes()
    for expected in reversed(snapshots):
        desk = reopened(desk)
        said = desk.undo()
        assert said.startswith("Undone") and "changed since" not in said
        assert state(desk) == expected
    assert state(desk)["rejected"] == set() and state(desk)["kept"] == set()


def test_a_rejected_suggestion_stays_rejected_after_a_reload(desk, tmp_path):
    first = reject_the_surest_green(desk, tmp_path)
    again = reopened(desk)
    again.start_features()
    ready(again)
    assert first not in [s for s, _ in again.groups()["green"]]
    assert again.undo().startswith("Undone: the card is back.")
    assert first in [s for s, _ in again.groups()["green"]]


def test_the_history_keeps_the_last_50_actions_of_a_project(desk, tmp_path):
    items, _ = pile(tmp_path, {"red": 30, "green": 30})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    shas = [p.sha1 for p in desk.project.photos()][:55]
    for s in shas:
        desk.assign([s], "red")
    assert desk.project.undo_count() == project_undo.UNDO_KEEP == 50
    desk = reopened(desk)
    for _ in range(50):
        desk.undo()
    with pytest.raises(ProjectError, match="nothing to undo"):
        desk.undo()
    assert set(desk.labels()) == set(shas[:5])  # the oldest five are beyond the history


def test_two_tabs_share_the_projects_history_and_undo_takes_back_its_newest_action(desk, tmp_path):
    """Tab A labels, then tab B: A's Undo takes back B's action (the project's newest) and says it came from
    another tab; two Undos take back two different actions, never one twice."""
    items, _ = pile(tmp_path, {"red": 4, "green": 4})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    a, b = desk, Desk(desk.project.store.open("me", desk.project.id), features=colour_features)
    x, y = [p.sha1 for p in a.project.photos()][:2]
    a.assign([x], "red")
    b.assign([y], "green")
    said = a.undo()
    assert "another tab" in said and a.labels() == {x: "red"}
    b.invalidate()
    assert b.labels() == {x: "red"}
    assert "another tab" not in a.undo() and a.labels() == {}
    b.invalidate()  # (the page reads the project afresh at each event)
    assert b.labels() == {}
    b.assign([x], "red")
    a.assign([x], "green")  # both tabs label the same photo: the newest wins, and its undo gives back red
    b.undo()
    a.invalidate()
    assert a.labels() == {x: "red"}


def test_undo_leaves_a_label_that_was_changed_since_outside_the_label_step(desk, tmp_path):
    items, _ = pile(tmp_path, {"red": 3, "green": 3})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    x, y = [p.sha1 for p in desk.project.photos()][:2]
    desk.assign([x, y], "red")
    desk.project.set_labels({y: "green"})  # an import, or the CLI: no undo entry of its own
    said = desk.undo()
    assert said.splitlines() == ["Undone: 1 photo has the label it had before.",  # one photo: singular
                                 "1 photo changed since was left as it is."]
    assert desk.labels() == {y: "green"}


def test_a_project_database_from_before_the_undo_history_opens_with_its_labels_and_can_undo(tmp_path):
    """A database at the schema before the label_undo migration gains it on open; nothing is lost."""
    root = tmp_path / "store"
    root.mkdir()
    index = next(i for i, m in enumerate(PS.MIGRATIONS) if "label_undo" in m)
    with sqlite3.connect(root / PS.DB_NAME) as db:
        for m in PS.MIGRATIONS[:index]:
            db.executescript(m)
        db.execute(f"PRAGMA user_version = {index}")
        db.execute("INSERT INTO projects(id, owner, name, created, used) VALUES ('p1', 'me', 'old', 0, 0)")
        db.execute("INSERT INTO classes VALUES ('p1', 'cat')")
        db.execute("INSERT INTO photos(project_id, sha1, ext, path, label, split, bytes, added) "
                   "VALUES ('p1', 'ab12', '.png', 'a.png', 'cat', 'train', 1, 0)")
    db.close()
    project = ProjectStore(root).open("me", "p1")
    assert [(p.sha1, p.label) for p in project.photos()] == [("ab12", "cat")]
    d = Desk(project, features=colour_features)
    d.assign(["ab12"], None)
    assert d.undo().startswith("Undone") and d.labels() == {"ab12": "cat"}
