"""The page's projects (fewshot/ui/tab/projects.py, step_project.py): loads add to the tab's project, training records
a run through the session's backends.trainer, the better model stays active; and the API endpoints."""
from __future__ import annotations

import json

import pytest
from conftest import make_class_folders

from fewshot.errors import TrainingError

from fewshot.ui.tab import photos as P
from fewshot.ui.tab import projects as PJ
from fewshot.ui.tab import state as ST
from fewshot.ui.tab import training as T


@pytest.fixture
def sess(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    calls = []

    def trainer(ds, cfg, **kw):  # the session's trainer (ZeroGPU passes its own): projects must use it
        calls.append(cfg)
        from fewshot.train import train
        yield from train(ds, cfg, **kw)

    s = ST.Session(ST.Backends(trainer=trainer))
    s.project_owner = "browser-token-for-tests-0123456789"
    s.trainer_calls = calls
    yield s
    s.cleanup()


def test_loads_add_to_one_project_and_the_session_shows_its_photos(sess, tmp_path):
    P.load_example(sess, per_class=6)
    p = sess.project
    assert p is not None and p.name == "shapes example (generated)"
    assert sess.source == "the shapes example (generated)"
    first = p.summary()["labelled"]
    assert first == 18 and sorted(sess.dataset.classes) == ["circles", "squares", "triangles"]
    folder = make_class_folders(tmp_path / "more", {"stars": 5, "circles": 3})
    P.load_zip_file(sess, str(_zip(folder, tmp_path / "more.zip")))
    assert sess.project is p  # added to, not replaced
    assert p.summary()["labelled"] == first + 8
    assert sorted(sess.dataset.classes) == ["circles", "squares", "stars", "triangles"]
    assert len(sess.dataset.train) + len(sess.dataset.val) == first + 8
    assert [r["name"] for r in PJ.store().list(sess.project_owner)] == ["shapes example (generated)"]


def test_a_session_without_an_owner_keeps_no_project(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    s = ST.Session()
    try:
        P.load_example(s, per_class=4)
        assert s.project is None and s.dataset is not None
    finally:
        s.cleanup()


def test_training_records_runs_and_a_stopped_run_never_replaces_the_better_model(sess):
    P.load_example(sess, per_class=8)
    cfg = T.make_config("resnet18", False, 4, 0.003, "head", batch_size=8)
    done = list(T.run_training(sess, cfg))[-1].done
    assert done.model is not None and len(sess.trainer_calls) == 1
    runs = sess.project.runs()
    assert [r.status for r in runs] == ["finished"] and runs[0].active and runs[0].bundle.is_file()
    assert sess.active_run == runs[0].id and sess.model is done.model
    kept = sess.model

    sess.stop.set()  # stopped before its first epoch ends: recorded, no model, the active model stays
    orig = sess.begin_training

    def begin():
        orig()
        sess.stop.set()
    sess.begin_training = begin
    last = list(T.run_training(sess, cfg))[-1]
    assert len(sess.trainer_calls) == 2
    runs = sess.project.runs()
    assert [r.status for r in runs] == ["finished", "stopped"]
    assert sess.project.active_run().id == runs[0].id and sess.model is kept
    assert f"the active model is still run {runs[0].id}" in last.text and "kept in the list" in sess.run_note

    # a reload: a new session for the same owner opens the project: photos, runs and the active model
    other = ST.Session()
    try:
        other.project_owner = sess.project_owner
        PJ.open_project(other, sess.project.id)
        assert other.active_run == runs[0].id and other.model.classes == kept.classes
        assert sorted(other.dataset.classes) == sorted(sess.dataset.classes)
    finally:
        other.cleanup()
    PJ.forget(sess, sess.project.id)
    assert sess.project is None and sess.model is None and PJ.store().list(sess.project_owner) == []


def test_projects_through_the_api(app_server, tmp_path):
    from gradio_client import Client

    client = Client(app_server.url, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/project_new", "/project_open", "/project_list", "/project_export", "/project_import",
            "/runs"} <= set(api)
    client.predict("api birds", api_name="/project_new")
    client.predict(api_name="/load_example")
    listed = _j(client.predict(api_name="/project_list"))
    assert [p["name"] for p in listed] == ["api birds"] and listed[0]["labelled"] > 0
    assert _j(client.predict(api_name="/runs")) == []
    archive = client.predict(api_name="/project_export")
    assert str(archive).endswith(".zip")
    from gradio_client import handle_file
    client.predict(handle_file(str(archive)), api_name="/project_import")  # the same name: a free one is found
    names = sorted(p["name"] for p in _j(client.predict(api_name="/project_list")))
    assert len(names) == 2 and names[0] == "api birds", names
    # another client sees none of them
    assert _j(Client(app_server.url, verbose=False).predict(api_name="/project_list")) == []


def _j(x):
    return json.loads(x) if isinstance(x, str) else x


def _zip(folder, out):
    import zipfile
    with zipfile.ZipFile(out, "w") as zf:
        for p in folder.rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(folder.parent))
    return out


def test_a_projects_training_outlives_its_tab_and_the_reopened_page_follows_and_stops_it(sess):
    P.load_example(sess, per_class=8)
    project, jobs = sess.project, sess.jobs
    gen = T.run_training(sess, T.make_config("resnet18", False, 200, 0.003, "head", batch_size=8))
    for up in gen:
        if up.history:  # one epoch is in: the tab reloads (Gradio closes the callback and then the session)
            break
    before = len(up.history)
    gen.close()
    sess.cleanup()
    job = jobs.running(project.id)
    assert job is not None and project.runs()[-1].status == "running"  # it goes on in the server

    other = ST.Session(sess.backends, jobs=jobs)  # the reloaded page: a new session reopens the project
    try:
        other.project_owner = sess.project_owner
        PJ.open_project(other, project.id)
        assert other.training and other.job is job and other.last_update is not None
        ups = T.follow(other, job)
        for up in ups:  # the curves continue past where the page was before the reload
            if len(up.history) >= before + 3:
                break
        shown = len(up.history)
        job.stop.request(shown)  # Stop, as the reloaded page sends it: the epochs its curve shows
        last = [up, *ups][-1]
        assert last.done.shown_epochs == shown and len(last.done.history) == shown == len(last.history)
        assert last.text.startswith(f"Stopped after {shown} epochs, as the curve showed;"), last.text
        run = project.runs()[-1]
        assert run.status == "stopped" and run.bundle is not None and run.bundle.is_file(), run
        assert run.active and len(run.history) == shown and not other.training and jobs.running(project.id) is None
        assert other.active_run == run.id and other.model is last.done.model
    finally:
        other.cleanup()


def test_a_project_trains_once_at_a_time_whichever_tab_asks(sess):
    P.load_example(sess, per_class=8)
    gen = T.run_training(sess, T.make_config("resnet18", False, 200, 0.003, "head", batch_size=8))
    next(gen)
    other = ST.Session(sess.backends, jobs=sess.jobs)
    try:
        other.project_owner = sess.project_owner
        PJ.open_project(other, sess.project.id)
        assert other.training  # it follows the running training: Train is refused there
        with pytest.raises(TrainingError, match="already training"):
            next(T.run_training(other, T.make_config("resnet18", False, 2, 0.003, "head")))
        other.job = None  # and a tab that opened the project just before the training started
        with pytest.raises(TrainingError, match="This project is already training"):
            next(T.run_training(other, T.make_config("resnet18", False, 2, 0.003, "head")))
        assert not other.training
    finally:
        sess.jobs.running(sess.project.id).stop.set()
        list(gen)
        other.cleanup()
    assert sess.project.runs()[-1].status == "stopped"


def test_a_training_that_ended_while_the_page_was_away_is_in_the_run_list_with_its_model_active(sess):
    P.load_example(sess, per_class=8)
    project, jobs = sess.project, sess.jobs
    gen = T.run_training(sess, T.make_config("resnet18", False, 3, 0.003, "head", batch_size=8))
    next(gen)
    gen.close()  # the tab reloads at once; the training goes on without it
    sess.cleanup()
    job = jobs.running(project.id)
    assert job is None or job.join(300)
    other = ST.Session(sess.backends, jobs=jobs)  # the reloaded page
    try:
        other.project_owner = sess.project_owner
        PJ.open_project(other, project.id)
        run = project.runs()[-1]
        assert run.status == "finished" and len(run.history) == 3 and run.active
        assert not other.training and other.active_run == run.id and other.model is not None
        assert other.last_update is None  # nothing to follow: step 2 shows the active run's curves
    finally:
        other.cleanup()
