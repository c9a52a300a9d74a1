"""Security issue 21, item 1: an event that takes a file must never take a server path. An attacker sends
`{"path": "/some/server/file", "meta": {"_type": "gradio.FileData"}}` (or a folder drop naming one) to every
event of every app this project serves that takes a file: the page, a demo link's page (mounted, never launched:
Gradio's own check did not run there), `python -m fewshot serve` and an exported Space's app.py. Each gets a
plain refusal, and nothing of the file is copied or served back. A file one visitor uploaded is not another's
to name either.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import make_image
from conftest_app import ROOT, AppServer, _free_port, _wait_until_up, launch_app
from test_demo_links import trained_project
from test_space import _start, space_folder, trained  # noqa: F401 (fixtures: a trained model's Space folder)

from fewshot.demo_links import DemoLinks
from fewshot.project import ProjectStore

FILE_TYPES = {"file", "image", "gallery", "video", "audio", "model3d", "uploadbutton", "imageeditor", "files",
              "simpleimage", "annotatedimage", "dataset"}
SECRET = "the-server-secret-" + uuid.uuid4().hex  # what must never come back, nor be copied anywhere


def _request(url: str, body: dict | None = None, cookie: str | None = None, files: dict | None = None):
    """(status, body text, response headers) of one GET, JSON POST or multipart upload."""
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if files is not None:
        boundary = uuid.uuid4().hex
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{n}\"\r\n"
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + b + b"\r\n" for n, b in files.items()]
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode("utf-8", "replace"), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), {k.lower(): v for k, v in e.headers.items()}


def _file_value(path: str, kind: str):
    one = {"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}
    if kind == "gallery":
        return [{"image": one, "caption": None}]
    return [one] if kind in ("files", "file") else one


def _folder_drop(path: str, zipped: bool = False) -> str:
    """What assets/folder_drop.js sends: the uploads' server paths with their places in the user's folder (or, as
    the one drop zone sends a zip, one item named .zip)."""
    if zipped:
        return json.dumps({"items": [{"path": path, "rel": "pets.zip"}], "others": []})
    return json.dumps({"items": [{"path": path, "rel": "pets/cats/1.jpg"}, {"path": path, "rel": "pets/dogs/1.jpg"}],
                       "others": []})


def _attacks(base_url: str, target: str) -> list[tuple[str, int, str]]:
    """Every event of the app at `base_url` whose inputs take a file (or a folder drop), each sent `target` as a
    server path; returns (event, status, answer) for each."""
    config = json.loads(_request(base_url + "config")[1])
    kinds = {c["id"]: c.get("type", "") for c in config["components"]}
    tried = []
    for i, dep in enumerate(config["dependencies"]):
        ins = dep.get("inputs", [])
        if not any(kinds.get(c) in FILE_TYPES or kinds.get(c) == "html" for c in ins):
            continue
        drops = (False, True) if any(kinds.get(c) == "html" for c in ins) else (False,)
        for zipped in drops:  # a folder drop naming a server path, and a zip dropped as one item
            data = [_file_value(target, kinds[c]) if kinds.get(c) in FILE_TYPES
                    else _folder_drop(target, zipped) if kinds.get(c) == "html" else None for c in ins]
            body = {"data": data, "fn_index": dep.get("id", i), "session_hash": uuid.uuid4().hex[:10],
                    "trigger_id": (dep.get("targets") or [[None]])[0][0], "event_data": None}
            status, text, _ = _request(base_url + "gradio_api/queue/join", body)
            tried.append((dep.get("api_name") or str(dep.get("id", i)), status, text))
    return tried


def _nothing_copied(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file() and f.stat().st_size < 10_000_000:
            assert SECRET.encode() not in f.read_bytes(), f"the secret was copied to {f}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app with a trained project and a demo link, and a secret file of the server's."""
    base = tmp_path_factory.mktemp("paths-app")
    store = ProjectStore(base / "projects")
    pets, run = trained_project(store, base / "photos")
    link = DemoLinks(store).create(pets, run.id)
    secret = base / "server-secret.txt"
    secret.write_text(SECRET)
    for url, log in launch_app(base, TORCH_HOME=str(base / "torch")):
        yield dict(url=url, base=base, link=link, pets=pets, run=run, secret=secret, store=store,
                   server=AppServer(url, base / "sessions", base / "uploads", log))


def test_a_server_path_sent_to_every_file_event_of_the_page_is_refused_and_nothing_is_copied(served):
    tried = _attacks(served["url"], str(served["secret"]))
    assert len(tried) >= 8, tried  # the zip, the folder drop, cards, the model, the pictures to try, imports...
    for event, status, text in tried:
        assert status == 403 and "was not uploaded by you" in text and SECRET not in text, (event, status, text)
    for target in ("/etc/hostname", str(served["store"].root / "projects.db"), "/proc/self/environ"):
        assert all(status == 403 for _, status, _ in _attacks(served["url"], target))
    _nothing_copied(served["server"].uploads)
    _nothing_copied(served["server"].sessions)


def test_a_server_path_sent_to_a_demo_links_predict_and_feedback_is_refused_and_never_served(served):
    page = f"{served['url']}m/{served['link'].id}/"
    tried = _attacks(page, str(served["secret"]))
    assert {event for event, _, _ in tried} >= {"predict", "feedback"}
    for event, status, text in tried:
        assert status == 403 and SECRET not in text and str(served["secret"]) not in text, text
    for prefix in ("gradio_api/file=", "file="):
        status, text, _ = _request(page + prefix + str(served["secret"]))
        assert status == 404 and SECRET not in text
    _nothing_copied(served["server"].uploads)
    assert served["store"].open("ana", served["pets"].id).photos(label=None) == []  # no "feedback" arrived


def test_a_file_one_visitor_uploaded_is_not_anothers_to_name_nor_the_pages_on_a_link(served, tmp_path):
    page = f"{served['url']}m/{served['link'].id}/"
    photo = make_image(tmp_path / "mine.png", (200, 20, 20), 3, 40).read_bytes()
    ana = _request(served["url"], cookie=None)[2].get("set-cookie", "").split(";")[0]  # the page's cookie
    assert ana.startswith("fewshot-browser=")
    status, text, _ = _request(page + "gradio_api/upload", files={"mine.png": photo}, cookie=ana)
    assert status == 200
    uploaded = json.loads(text)[0]
    body = {"data": [_file_value(uploaded, "image")], "fn_index": 1, "session_hash": "s1", "event_data": None}
    config = json.loads(_request(page + "config")[1])
    body["fn_index"] = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "predict")
    assert _request(page + "gradio_api/queue/join", body, cookie=ana)[0] == 200  # her own picture
    assert _request(page + "gradio_api/file=" + uploaded, cookie=ana)[0] == 200
    bo = "fewshot-browser=someone-else"
    assert _request(page + "gradio_api/queue/join", body, cookie=bo)[0] == 403  # another browser naming it
    assert _request(page + "gradio_api/file=" + uploaded, cookie=bo)[0] == 404
    status, text, _ = _request(served["url"] + "gradio_api/upload", files={"main.png": photo}, cookie=ana)
    on_page = json.loads(text)[0]
    body["data"] = [_file_value(on_page, "image")]  # uploaded to the page, named on the link: another app
    assert _request(page + "gradio_api/queue/join", body, cookie=ana)[0] == 403


def test_a_demo_visitor_who_sends_a_broken_picture_reads_no_server_path(served, tmp_path):
    from gradio_client import Client, handle_file
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 50)
    client = Client(f"{served['url']}m/{served['link'].id}/", verbose=False)
    for api, args in (("/predict", ()), ("/feedback", ("dog",))):
        with pytest.raises(Exception) as caught:
            client.predict(handle_file(str(broken)), *args, api_name=api)
        said = str(caught.value)
        assert str(served["server"].uploads) not in said and "/tmp" not in said and "Traceback" not in said, said
    client.close()


def test_serve_refuses_a_server_path_to_predict(served, tmp_path):
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fewshot", "serve", str(served["run"].bundle), "--port",
                                 str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**__import__("os").environ, "GRADIO_TEMP_DIR": str(tmp_path / "up"),
                                     "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_up(url, proc, log)
        tried = _attacks(url, str(served["secret"]))
        assert {event for event, _, _ in tried} == {"predict", "feedback"}  # feedback: refused anyway, no project
        assert all(status == 403 and SECRET not in text for _, status, text in tried), tried
        _nothing_copied(tmp_path / "up")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_an_exported_space_refuses_a_server_path_to_predict(space_folder, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    proc, url = _start(space_folder, tmp_path / "space.log")
    try:
        config = json.loads(_request(url + "config")[1])
        dep = next(d for d in config["dependencies"] if d.get("api_name") == "predict")
        body = {"data": [_file_value(str(secret), "image")], "fn_index": dep["id"], "session_hash": "x1",
                "event_data": None}
        status, text, _ = _request(url + "gradio_api/queue/join", body)
        if status == 200:  # Gradio (launched here) refuses it in the event's result, not at the door
            event = json.loads(text)["event_id"]
            stream = _request(url + "gradio_api/queue/data?session_hash=x1")[1]
            assert event in stream and '"success": false' in stream.replace('"success":false', '"success": false')
            assert SECRET not in stream
        else:
            assert status in (400, 403, 422) and SECRET not in text
        _nothing_copied(Path(tempfile.gettempdir()) / "gradio")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_demo_visitors_pictures_leave_the_upload_folder_when_the_server_stops(tmp_path):
    """~300 visitors' pictures (42 MB) had stayed in Gradio's upload folder after SIGTERM."""
    base = tmp_path / "app"
    store = ProjectStore(base / "projects")
    pets, run = trained_project(store, base / "photos")
    link = DemoLinks(store).create(pets, run.id)
    photo = make_image(tmp_path / "visitor.png", (20, 200, 20), 5, 40).read_bytes()
    for url, _log in launch_app(base, TORCH_HOME=str(base / "torch")):
        sent = []
        for i in range(3):
            status, text, _ = _request(f"{url}m/{link.id}/gradio_api/upload",
                                       files={f"v{i}.png": photo + bytes([i])})
            assert status == 200
            sent += json.loads(text)
        assert all(Path(p).is_file() for p in sent)
    assert not [p for p in sent if Path(p).exists()], "visitors' pictures outlived the server"
