"""Run numbers a person sees are the project's own (issue 14): a project's first training is "run 1" even when
other projects trained before it (the database's ids are global), in the project bar, the runs table and its
choices, the training results, the compare table, the share list, the demo page, the log, exports and the
command line; a deleted run's number is never given again, and an older database is numbered on opening."""
from __future__ import annotations

import json
import sqlite3
import zipfile

import gradio as gr
import pytest
from conftest import make_class_folders

from fewshot.config import TrainConfig
from fewshot.errors import ProjectError
from fewshot.project import ProjectStore
from fewshot.project.io import export_project, import_project
from fewshot.project.database import DB_NAME, MIGRATIONS, SCHEMA_VERSION

QUICK = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8, stage="head")
OWNER = "browser-token-for-tests-0123456789"


def failed_runs(project, n: int) -> list[int]:
    """`n` runs that ended without a model (no training needed); their database ids."""
    ids = [project.start_run(QUICK.to_dict()) for _ in range(n)]
    for i in ids:
        project.finish_run(i, "failed", message="for the test")
    return ids


def an_older_project(store: ProjectStore, owner: str = OWNER, runs: int = 3):
    """Another project that trained first: its runs take the database's ids 1..runs."""
    older = store.create(owner, "older")
    failed_runs(older, runs)
    return older


def numbers(project) -> list[int]:
    return [r.number for r in project.runs()]


def test_deleting_run_2_keeps_run_3_and_a_number_is_never_given_twice(store):
    an_older_project(store, "ana")
    p = store.create("ana", "pets")
    ids = failed_runs(p, 3)
    assert numbers(p) == [1, 2, 3] and [r.id for r in p.runs()] == [4, 5, 6]
    p.delete_run(ids[1])
    assert numbers(p) == [1, 3]
    failed_runs(p, 1)
    assert numbers(p) == [1, 3, 4]
    p.delete_run(p.run_numbered(4).id)  # the newest deleted: the next is still a new number
    failed_runs(p, 1)
    assert numbers(p) == [1, 3, 5]
    again = ProjectStore(store.root).open_by_name("ana", "pets")  # a restart changes nothing
    assert numbers(again) == [1, 3, 5]
    log = [e["what"] for e in p.activity(50)]
    assert "run 2 deleted" in log and "run 5 started" in log and "run 4 deleted" in log
    assert not any(f"run {i}" in w for w in log for i in (6, 7, 8, 9))  # database ids never reach the log
    with pytest.raises(ProjectError, match="This project has no run 2"):
        p.run_numbered(2)


def _database_at_migration_2(root):
    """A projects database as the previous fewshot left it (schema version 2), with two projects whose runs
    interleave (ids 1-5) and one deleted run."""
    root.mkdir(parents=True)
    db = sqlite3.connect(root / DB_NAME, isolation_level=None)
    for migration in MIGRATIONS[:2]:
        for statement in migration.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    for pid, name in (("a" * 32, "apples"), ("b" * 32, "bees")):
        db.execute("INSERT INTO projects(id, owner, name, created, used) VALUES (?,?,?,?,?)", (pid, "ana", name, 1, 1))
    for i, pid in enumerate("abab" + "a", 1):  # started in this order
        db.execute("INSERT INTO runs(project_id, status, settings, started, ended) VALUES (?,?,?,?,?)",
                   (pid * 32, "failed", "{}", 1000.0 + i, 1000.5 + i))
    db.execute("DELETE FROM runs WHERE id=3")  # apples' second run was deleted
    db.close()


def test_an_older_database_gets_run_numbers_in_start_order_when_opened(tmp_path):
    root = tmp_path / "old"
    _database_at_migration_2(root)
    store = ProjectStore(root)
    apples, bees = store.open_by_name("ana", "apples"), store.open_by_name("ana", "bees")
    assert [(r.id, r.number) for r in apples.runs()] == [(1, 1), (5, 2)]
    assert [(r.id, r.number) for r in bees.runs()] == [(2, 1), (4, 2)]
    failed_runs(apples, 1)
    assert numbers(apples) == [1, 2, 3] and numbers(bees) == [1, 2]
    with sqlite3.connect(root / DB_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_exported_project_keeps_its_run_numbers_and_names_its_models_by_them(store, tmp_path):
    an_older_project(store, "ana")
    p = store.create("ana", "pets")
    p.add_photos(make_class_folders(tmp_path / "pets", {"cat": 6, "dog": 6}, size=24))
    failed_runs(p, 2)
    for _ in p.train(QUICK):  # run 3, with a model
        pass
    p.delete_run(p.run_numbered(2).id)
    failed_runs(p, 1)
    p.delete_run(p.run_numbered(4).id)  # the next run in the copy too is 5, not 4
    out = export_project(p, "archive", tmp_path / "pets.zip")
    with zipfile.ZipFile(out) as zf:
        doc = json.loads(zf.read("project.json"))
        assert "runs/run-3.safetensors" in zf.namelist()
    assert [r["number"] for r in doc["runs"]] == [1, 3] and doc["active_run"] == 3
    copy = import_project(ProjectStore(tmp_path / "elsewhere"), "bo", out, name="pets")
    assert numbers(copy) == [1, 3] and copy.active_run().number == 3 and copy.active_bundle().is_file()
    failed_runs(copy, 1)
    assert numbers(copy) == [1, 3, 5]


def test_an_archive_from_an_older_fewshot_numbers_its_runs_in_order(store, tmp_path):
    p = store.create("ana", "pets")
    failed_runs(p, 2)
    out = export_project(p, "archive", tmp_path / "pets.zip")
    with zipfile.ZipFile(out) as zf:
        doc = json.loads(zf.read("project.json"))
    for r, old_id in zip(doc["runs"], (11, 15)):  # what an older fewshot wrote: global ids, no numbers
        r["id"] = old_id
        del r["number"]
    del doc["runs_made"]
    old = tmp_path / "old.zip"
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("project.json", json.dumps(doc))
    copy = import_project(store, "ana", old, name="pets from before")
    assert numbers(copy) == [1, 2]
    doc["runs"][1]["number"] = 1  # numbered, but only one: refused whole, nothing made
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("project.json", json.dumps(doc))
    with pytest.raises(Exception, match="same number or without one"):
        import_project(store, "ana", old, name="half numbered")
    assert [r["name"] for r in store.list("ana")].count("half numbered") == 0


def test_the_command_line_shows_and_picks_runs_by_their_number(tmp_path, monkeypatch, capsys):
    from fewshot import cli
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    store = ProjectStore(tmp_path / "data")
    an_older_project(store, "local")
    failed_runs(store.create("local", "pets"), 2)
    capsys.readouterr()
    assert cli.main(["project", "show", "pets"]) == 0
    text = capsys.readouterr().out
    assert "run 1: failed" in text and "run 2: failed" in text and "run 4" not in text
    assert cli.main(["project", "show", "pets", "--json"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out.splitlines()[-1])["runs"]] == [1, 2]
    assert cli.main(["project", "use", "pets", "2"]) == 2
    assert "Run 2 has no model to use." in capsys.readouterr().err
    assert cli.main(["project", "use", "pets", "5"]) == 2
    assert "This project has no run 5." in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- the page

@pytest.fixture
def sess(tmp_path, monkeypatch):
    from fewshot.ui.tab import state as ST
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    s = ST.Session()
    s.project_owner = OWNER
    yield s
    s.cleanup()


def test_a_second_projects_first_training_is_run_1_in_the_results_runs_compare_and_share(sess):
    from fewshot.demo_links import DemoLinks
    from fewshot.predict import Predictor
    from fewshot.ui.tab import photos as P
    from fewshot.ui.tab import projects as PJ
    from fewshot.ui import share
    from fewshot.ui import step_project as SP
    from fewshot.ui.tab import training as T
    from fewshot.ui.demo import LinkSource
    an_older_project(PJ.store())
    P.load_example(sess, per_class=6)
    cfg = T.make_config("mobilenet_v2", False, 2, 0.003, "head", batch_size=8)
    list(T.run_training(sess, cfg))
    orig = sess.begin_training

    def begin():  # the second training is stopped before its first epoch ends: run 1 stays the model
        orig()
        sess.stop.set()
    sess.begin_training = begin
    last = list(T.run_training(sess, cfg))[-1]
    first, second = sess.project.runs()
    assert (first.id, second.id) == (4, 5) and (first.number, second.number) == (1, 2)
    assert "the active model is still run 1 " in last.text

    assert list(SP.runs_frame(sess)["run"]) == [1, 2]
    keys = ("pick", "name", "status", "delete", "delete_yes", "runs", "run_delete_yes", "run_pick", "cmp_a", "cmp_b")
    bar = SP.render(type("V", (), {k: k for k in keys})(), sess)
    assert "2 runs; the active model is run 1 (" in bar["status"]
    assert [label.split(" · ")[0] for label, _ in bar["run_pick"].choices] == ["run 1", "run 2"]
    assert [value for _, value in bar["run_pick"].choices] == [4, 5]  # the page's handlers keep the ids
    fig, table = SP.compare(first, second)
    assert "| setting | run 1 | run 2 |" in table and [t.name for t in fig.data] == ["run 1", "run 2"]

    links = DemoLinks(PJ.store())
    link = links.create(sess.project, first.id)
    listed = share.link_table(links.of(sess.project), ["http://127.0.0.1:7860"], "en")
    assert "| 1 | on | 0 |" in listed and "| 4 |" not in listed
    assert share._choices(links.of(sess.project))[0][0].endswith("(run 1)")
    title = LinkSource(links, Predictor).model(gr.Request(headers={"x-fewshot-demo": link.id})).title
    assert title == f"{sess.project.name} · run 1"


def test_a_reopened_project_says_its_own_run_numbers_and_keeps_them_after_a_delete(tmp_path, monkeypatch):
    """Opening the project (as after a reload): the bar, the runs table and step 2's line name run 3, not the
    database's id; deleting run 2 in the page leaves run 3 as it was."""
    from fewshot.ui import Backends, build_app
    from fewshot.ui.tab import projects as PJ
    from fewshot.ui.tab.state import Session
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    an_older_project(PJ.store())
    p = PJ.store().create(OWNER, "pets")
    p.add_photos(make_class_folders(tmp_path / "pets", {"cat": 6, "dog": 6}, size=24))
    failed_runs(p, 2)
    for _ in p.train(QUICK):  # run 3 (database id 6): the project's model
        pass
    demo = build_app(Backends()).blocks
    api = {b.api_name: b.fn for b in demo.fns.values() if b.api_name}
    sess = Session()
    sess.project_owner = OWNER
    try:
        def shown(out):
            return {getattr(c, "elem_id", None): v for c, v in out.items()}
        out = shown(api["project_open"](p.id, sess, None))
        assert "3 runs; the active model is run 3 (" in out["project-status"]
        assert list(out["runs-table"]["run"]) == [3, 2, 1]  # the active run first, then the newest (issue 24)
        assert "The active model: run 3 of this project" in out["train-progress"]
        out = shown(api["run_delete"](p.run_numbered(2).id, sess, None))
        assert "2 runs; the active model is run 3 (" in out["project-status"]
        assert list(out["runs-table"]["run"]) == [3, 1]
    finally:
        sess.cleanup()
