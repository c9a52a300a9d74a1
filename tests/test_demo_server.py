"""Demo links against the launched app (issue 16): /m/<id> answers /predict like `python -m fewshot predict`,
"Wrong?" feedback lands in the owner's project, a revoked link gives 404, and from a link no other file, project
or endpoint of the main app is reachable; `python -m fewshot serve` answers /predict too.
"""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import make_class_folders, make_image
from conftest_app import ROOT, AppServer, _free_port, _wait_until_up, launch_app
from tests.cli_inproc import run_cli
from test_demo_links import trained_project

from fewshot.demo_links import DemoLinks
from fewshot.project import ProjectStore


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _post(url: str, body: dict) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(req, timeout=20).status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A server whose projects folder already holds ana's trained "pets" (with a demo link) and bob's "secret"."""
    base = tmp_path_factory.mktemp("demo-app")
    store = ProjectStore(base / "projects")
    pets, run = trained_project(store, base / "photos")
    secret = store.create("bob", "secret")
    secret.add_photos(make_class_folders(base / "photos" / "secret", {"x": 3, "y": 3}, size=24))
    link = DemoLinks(store).create(pets, run.id)
    for url, log in launch_app(base, TORCH_HOME=str(base / "torch")):
        yield dict(url=url, log=log, base=base, store=store, pets=pets, run=run, secret=secret, link=link,
                   server=AppServer(url, base / "sessions", base / "uploads", log))


def _client(url: str):
    from gradio_client import Client
    return Client(url, verbose=False)


def _photo(tmp_path: Path, name: str = "visitor.png", colour=(200, 30, 30)) -> Path:
    return make_image(tmp_path / name, colour, 11, 48)


def test_the_demo_link_predicts_what_the_command_line_predicts(shared, tmp_path):
    from gradio_client import handle_file
    photo = _photo(tmp_path)
    out = _client(f"{shared['url']}m/{shared['link'].id}/").predict(handle_file(str(photo)), api_name="/predict")
    got = {c["label"]: c["confidence"] for c in out["confidences"]}
    cli = run_cli("predict", str(shared["run"].bundle), str(photo), "--json")  # in this process: tests/cli_inproc.py
    want = {t["label"]: t["probability"] for t in json.loads(cli.stdout.strip().splitlines()[-1])["predictions"][0]["top"]}
    assert set(got) == set(want) == {"cat", "dog"}
    assert all(abs(got[k] - want[k]) < 1e-4 for k in want), (got, want)
    assert out["label"] == max(want, key=want.get)


def test_wrong_feedback_from_the_demo_link_lands_in_the_owners_project(shared, tmp_path):
    from gradio_client import handle_file
    photo = _photo(tmp_path, "wrong.png", (20, 20, 220))
    said = _client(f"{shared['url']}m/{shared['link'].id}/").predict(handle_file(str(photo)), "dog",
                                                                       api_name="/feedback")
    assert "sent to the model's owner" in said
    owner = shared["store"].open("ana", shared["pets"].id)
    sent = [ph for ph in owner.photos(label=None) if ph.file.read_bytes() == photo.read_bytes()]
    assert len(sent) == 1 and sent[0].hint == "dog" and sent[0].path.startswith("feedback/")


def test_a_revoked_link_gives_404(shared):
    store, pets = shared["store"], shared["pets"]
    link = DemoLinks(store).create(pets, shared["run"].id)
    base = f"{shared['url']}m/{link.id}"
    assert _get(base + "/")[0] == 200
    DemoLinks(store).revoke(store.open("ana", pets.id), link.id)  # the owner revokes it (another process: no cache)
    for path in ("", "/", "/config", "/gradio_api/info", "/gradio_api/upload"):
        assert _get(base + path)[0] == 404, path
    assert _post(base + "/gradio_api/call/predict", {"data": [None]}) == 404
    with pytest.raises(Exception):
        _client(base + "/")


def test_from_a_demo_link_no_other_file_or_project_is_reachable(shared, tmp_path):
    from gradio_client import handle_file
    main = _client(shared["url"])  # another user of the main app, with files in its session folder
    main.predict(handle_file(str(_make_zip(tmp_path))), api_name="/load_zip")
    session_files = [p for p in shared["server"].sessions.rglob("*") if p.is_file()]
    assert session_files
    secret = shared["secret"].photos()[0].file
    log = str(shared["log"])
    targets = ["/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
               str(ROOT / "app.py"), "app.py", "../app.py", log, str(secret), str(shared["run"].bundle),
               str(shared["store"].root / "projects.db"), str(session_files[0]),
               f"{shared['server'].uploads}/../../../../etc/passwd",
               f"{shared['server'].sessions}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd"]
    base = f"{shared['url']}m/{shared['link'].id}"
    forbidden = [b"root:x:0:0", (ROOT / "app.py").read_bytes()[:200], secret.read_bytes()[:64],
                 shared["run"].bundle.read_bytes()[:64], session_files[0].read_bytes()[:64] or b"\0never"]
    for prefix in ("/file=", "/gradio_api/file=", "/gradio_api/file/"):
        for t in targets:
            status, body = _get(base + prefix + t)
            assert status in (400, 403, 404, 405), (prefix, t, status)
            assert not any(f in body for f in forbidden), (prefix, t)
    main.close()


def test_visitors_cannot_reach_the_main_apps_endpoints_through_the_demo(shared):
    base = f"{shared['url']}m/{shared['link'].id}"
    demo = _client(base + "/")
    assert set(demo.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/predict", "/feedback"}
    for name in ("train", "project_list", "project_open", "project_new", "load_zip", "share", "export", "runs"):
        with pytest.raises(Exception):
            demo.predict(api_name=f"/{name}")
        # Gradio answers an unknown name with an error (500: "Could not infer function index"), never a run
        assert _post(f"{base}/gradio_api/call/{name}", {"data": []}) >= 400, name
    status, body = _get(base + "/gradio_api/info")
    assert status == 200 and b"project_list" not in body and b"train" not in body
    assert _get(f"{shared['url']}m/{'A' * 32}/")[0] == 404  # a made-up link
    assert _get(f"{shared['url']}m/")[0] == 404


def _make_zip(tmp_path: Path) -> Path:
    import zipfile
    src = make_class_folders(tmp_path / "z" / "shapes", {"red": 3, "blue": 3}, size=24)
    out = tmp_path / "shapes.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*.png")):
            zf.write(p, p.relative_to(src.parent))
    return out


def test_the_demo_link_opens_without_a_login_while_the_app_asks_for_one(shared, tmp_path):
    """With --auth the trainer needs the password; a demo link is for anyone holding it."""
    from gradio_client import handle_file
    base_dir = tmp_path / "auth"
    base_dir.mkdir()
    (base_dir / "projects").symlink_to(shared["store"].root)  # the same projects, another server
    for url, _log in launch_app(base_dir, "--auth", "u:p", TORCH_HOME=str(base_dir / "torch")):
        assert _get(url + "config")[0] in (401, 403)
        out = _client(f"{url}m/{shared['link'].id}/").predict(handle_file(str(_photo(tmp_path))), api_name="/predict")
        assert {c["label"] for c in out["confidences"]} == {"cat", "dog"}


def test_serve_answers_predict_for_one_saved_model(shared, tmp_path):
    from gradio_client import handle_file
    from fewshot import load_bundle
    from fewshot.predict import Predictor
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fewshot", "serve", str(shared["run"].bundle), "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**__import__("os").environ, "GRADIO_TEMP_DIR": str(tmp_path / "up"),
                                     "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_up(url, proc, log)
        photo = _photo(tmp_path)
        out = _client(url).predict(handle_file(str(photo)), api_name="/predict")
        want = dict(Predictor(load_bundle(shared["run"].bundle)).predict_one(str(photo), top_k=3))
        got = {c["label"]: c["confidence"] for c in out["confidences"]}
        assert all(abs(got[k] - want[k]) < 1e-4 for k in want), (got, want)
        assert _get(url + "gradio_api/file=" + str(shared["run"].bundle))[0] in (403, 404)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_a_file_that_is_not_a_model_with_exit_2(tmp_path):
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not a model at all")
    for args, said in (([str(fake)], "model.safetensors"), ([str(tmp_path / "gone.safetensors")], "gone.safetensors"),
                       ([str(fake), "--auth", "nocolon"], "--auth must look like user:password")):
        r = subprocess.run([sys.executable, "-m", "fewshot", "serve", *args], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 2 and said in r.stderr, (args, r.returncode, r.stderr[-500:])


def test_an_api_client_shares_its_projects_model_and_revokes_the_link(shared, tmp_path):
    from gradio_client import handle_file
    c = _client(shared["url"])
    c.predict("api shapes", api_name="/project_new")
    c.predict(api_name="/load_example")
    c.predict(backbone="mobilenet_v2", pretrained=False, epochs=1, learning_rate=0.001, stage="head", api_name="/train")
    table, picker, takes_feedback = c.predict(False, api_name="/share")
    link = picker["value"]  # the picker, as an update, chooses the new link
    assert f"/m/{link}" in table and takes_feedback is False
    out = _client(f"{shared['url']}m/{link}/").predict(handle_file(str(_photo(tmp_path))), api_name="/predict")
    assert len(out["confidences"]) == 3  # the top 3 of the example's classes
    with pytest.raises(Exception, match="does not take feedback"):
        _client(f"{shared['url']}m/{link}/").predict(handle_file(str(_photo(tmp_path))), out["label"],
                                                     api_name="/feedback")
    table, _, _ = c.predict(link, api_name="/revoke_link")
    assert "revoked" in table
    assert _get(f"{shared['url']}m/{link}/")[0] == 404
    c.close()
