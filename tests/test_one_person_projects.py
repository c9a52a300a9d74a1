"""One tool on a laptop (issue 24): when `python app.py` serves one person (loopback, no --auth, no --share, not a
Space) the page and `python -m fewshot project ...` see the same projects; on a shared server they stay each
browser's or user's, and the command line says where the page's projects are and how to reach them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest_app import launch_app

from tests.conftest import ROOT

PAGE_PROJECT = "birds from the page"


def cli(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FEWSHOT_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "fewshot", "project", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def listed(data_dir) -> list[str]:
    r = cli(data_dir, "list", "--json")
    assert r.returncode == 0, r.stderr
    return [p["name"] for p in json.loads(r.stdout.strip().splitlines()[-1])["projects"]]


def parse(*argv: str, **env: str):
    import app
    old = {k: os.environ.get(k) for k in ("SPACE_ID", "FEWSHOT_AUTH", "FEWSHOT_SHARE", "FEWSHOT_HOST",
                                          "FEWSHOT_MANY_USERS", "FEWSHOT_TRUSTED_PROXIES")}
    try:
        for k in old:
            os.environ.pop(k, None)
        os.environ.update(env)
        return app.project_owners(app.parse_args(list(argv))).one_person
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def test_only_a_server_on_this_machine_alone_serves_one_person():
    assert parse() and parse("--host", "localhost") and parse("--host", "::1")
    assert not parse("--host", "0.0.0.0")
    assert not parse("--auth", "ana:pw")
    assert not parse("--share")
    assert not parse(SPACE_ID="someone/space")
    assert not parse("--many-users")
    assert not parse(FEWSHOT_TRUSTED_PROXIES="127.0.0.1")  # a reverse proxy in front: others come through it


def test_serving_one_person_a_browsers_earlier_projects_move_to_the_command_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    from fewshot.ui.tab import projects as PJ
    from fewshot.ui.tab import state as ST
    token = "browser-token-made-before-0123456789"
    PJ.store().create(token, "roses")
    PJ.store().create("local", "roses")  # a name the command line already has: the browser's gets a number
    shared = ST.Session()
    try:
        assert PJ.page_owner(shared, None, token) == token  # a shared server: the browser's own, nothing moves
    finally:
        shared.cleanup()
    assert [r["name"] for r in PJ.store().list(token)] == ["roses"]
    laptop = ST.Session(owners=ST.ProjectOwners(one_person=True))
    try:
        assert PJ.page_owner(laptop, None, token) == "local"
    finally:
        laptop.cleanup()
    assert PJ.store().list(token) == []
    assert sorted(listed(tmp_path / "data")) == ["roses", "roses 2"]


def _make_project_in_the_page(url: str, auth=None) -> None:
    from gradio_client import Client
    client = Client(url, auth=auth, verbose=False)
    try:
        client.predict(PAGE_PROJECT, api_name="/project_new")
        client.predict(api_name="/load_example")
        names = [p["name"] for p in _j(client.predict(api_name="/project_list"))]
        assert names == [PAGE_PROJECT]
    finally:
        client.close()


def _j(x):
    return json.loads(x) if isinstance(x, str) else x


@pytest.mark.parametrize("served", ["one person", "--auth"])
def test_a_project_made_in_the_page_is_the_command_lines_only_when_the_app_serves_one_person(served, tmp_path,
                                                                                              pretrained_home):
    args = ("--auth", "ana:pw-ana") if served == "--auth" else ()
    for url, _log in launch_app(tmp_path, *args, TORCH_HOME=str(pretrained_home), FEWSHOT_MANY_USERS=""):
        _make_project_in_the_page(url, auth=("ana", "pw-ana") if args else None)
    data = tmp_path / "projects"
    if served == "one person":
        assert listed(data) == [PAGE_PROJECT]
        shown = cli(data, "show", PAGE_PROJECT, "--json")
        assert shown.returncode == 0 and json.loads(shown.stdout.splitlines()[-1])["labelled"] > 0, shown.stderr
    else:
        assert listed(data) == []
        r = cli(data, "show", PAGE_PROJECT)
        # the message says where the page's projects are and how to reach them
        assert r.returncode != 0 and f"You have no project called '{PAGE_PROJECT}'" in r.stderr
        assert str(data) in r.stderr and "1 project in it belongs to a browser or a login" in r.stderr
        assert "serves one person" in r.stderr and "project import" in r.stderr
        empty = cli(data, "list")
        assert "No projects yet" in empty.stderr and str(data) in empty.stderr
