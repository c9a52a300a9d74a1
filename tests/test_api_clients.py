"""A plain API client (gradio_client, or a raw POST) against `python app.py`: the project endpoints work in a fresh
session, which the page's private refresh events never ran in (the runs list's choices are unknown there)."""
from __future__ import annotations

import json
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import make_class_folders

QUICK = dict(backbone="mobilenet_v2", pretrained=True, epochs=1, learning_rate=0.003, stage="head",
             api_name="/train")


@pytest.fixture
def pets_zip(tmp_path) -> Path:
    src = make_class_folders(tmp_path / "pets", {"cat": 6, "dog": 6}, size=32)
    out = tmp_path / "pets.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(tmp_path))
    return out


def _runs(client) -> list[dict]:
    return client.predict(api_name="/runs")


def _project_with_runs(client, name: str, pets_zip: Path, trainings: int) -> list[dict]:
    from gradio_client import handle_file
    client.predict(name, api_name="/project_new")
    client.predict(handle_file(str(pets_zip)), api_name="/load_zip")
    for _ in range(trainings):
        assert "Done in" in client.predict(**QUICK)[0]
    return _runs(client)


def test_run_use_and_run_delete_from_a_fresh_api_client(app_server, pets_zip):
    """/run_use and /run_delete take a run's id (from /runs) in a session that was never shown the runs list:
    before, Gradio refused it ("Value: 2 is not in the list of choices: []")."""
    from gradio_client import Client
    client = Client(app_server.url, verbose=False)
    try:
        _project_with_runs(client, "api older", pets_zip, 1)  # its run takes an id: the next project's ids differ
        first, second = _project_with_runs(client, "api runs", pets_zip, 2)
        assert (first["number"], second["number"]) == (1, 2) and first["id"] != 1

        client.predict(first["id"], api_name="/run_use")
        assert [r["active"] for r in _runs(client)] == [True, False]
        client.predict(second["id"], api_name="/run_use")
        assert [r["active"] for r in _runs(client)] == [False, True]

        client.predict(second["id"], api_name="/run_delete")
        assert [(r["id"], r["active"]) for r in _runs(client)] == [(first["id"], True)]
    finally:
        client.close()


@pytest.mark.parametrize("bad", ["gone", "other project", "not a number", "a fraction"])
def test_a_run_the_project_does_not_have_is_refused_in_plain_words(app_server, pets_zip, bad):
    from gradio_client import Client
    client = Client(app_server.url, verbose=False)
    try:
        other = _project_with_runs(client, f"elsewhere {bad}", pets_zip, 1)[0]
        (mine,) = _project_with_runs(client, f"mine {bad}", pets_zip, 1)
        client.predict(mine["id"], api_name="/run_delete")
        value = {"gone": mine["id"], "other project": other["id"], "not a number": "run 1",
                 "a fraction": other["id"] + 0.5}[bad]
        for endpoint in ("/run_use", "/run_delete"):
            with pytest.raises(Exception) as caught:
                client.predict(value, api_name=endpoint)
            assert "That run is no longer in this project" in str(caught.value), str(caught.value)
            assert "list of choices" not in str(caught.value)
        assert _runs(client) == []
    finally:
        client.close()


def test_run_use_by_a_raw_post(app_server, pets_zip):
    """The same through Gradio's plain HTTP API (POST /gradio_api/call/run_use, then its event stream), in the
    session of a gradio_client that made the project and its run; no run chosen is a plain error too."""
    from gradio_client import Client
    client = Client(app_server.url, verbose=False)

    def post(value) -> str:
        body = json.dumps({"data": [value], "session_hash": client.session_hash}).encode()
        req = urllib.request.Request(app_server.url + "gradio_api/call/run_use", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            event = json.load(r)["event_id"]
        with urllib.request.urlopen(f"{app_server.url}gradio_api/call/run_use/{event}", timeout=60) as r:
            return r.read().decode()
    try:
        (run,) = _project_with_runs(client, "raw post", pets_zip, 1)
        stream = post(run["id"])
        assert "event: complete" in stream, stream[:500]
        assert [r["active"] for r in _runs(client)] == [True]
        stream = post(run["id"] + 1000)
        assert "event: error" in stream and "That run is no longer in this project" in stream, stream[:500]
        with pytest.raises(Exception, match="Choose a run first"):
            client.predict(None, api_name="/run_use")
    finally:
        client.close()


def test_revoke_link_from_an_api_client_takes_its_own_links_and_refuses_others_in_plain_words(app_server, pets_zip):
    """/revoke_link and /stop_link_feedback take a link id in any session; one the open project does not have gets
    the engine's plain words, not Gradio's 'not in the list of choices'."""
    from gradio_client import Client
    client = Client(app_server.url, verbose=False)
    try:
        _project_with_runs(client, "api links", pets_zip, 1)
        table, picker, _ = client.predict(False, api_name="/share")
        link = picker["value"]
        for api in ("/revoke_link", "/stop_link_feedback"):
            with pytest.raises(Exception) as caught:
                client.predict("A" * 32, api_name=api)
            assert "no such" in str(caught.value) and "list of choices" not in str(caught.value)
        table, _, _ = client.predict(link, api_name="/revoke_link")
        assert "revoked" in table
    finally:
        client.close()
