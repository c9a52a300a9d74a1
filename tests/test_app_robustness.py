"""Issue 4, the app half: hostile uploads, many sessions at once, closed tabs, disk use, file serving, --auth.

All against the launched app (`python app.py`, fixture `app_server`) through gradio_client, the way an API
user or a browser tab talks to it. A gradio_client Client keeps the same heartbeat connection a browser tab
keeps, so `client.close()` is what the server sees when a tab is closed.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import COLOURS, make_image
from conftest_app import ROOT, AppServer, launch_app

from fewshot import load_bundle

LONG = dict(backbone="mobilenet_v2", pretrained=False, epochs=100, learning_rate=0.001, stage="all",
            batch_size=8)  # trains on pixels: slow enough to still be running while the test looks
QUICK = dict(backbone="mobilenet_v2", pretrained=False, epochs=1, learning_rate=0.001, stage="head", batch_size=8)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, pretrained_home) -> AppServer:
    """The app as conftest_app starts it (two training slots), but with a one-second heartbeat: a closed
    client (or tab) is noticed within a second instead of Gradio's default 15 s, which keeps these tests fast."""
    base = tmp_path_factory.mktemp("robust-app")
    for url, log in launch_app(base, TORCH_HOME=str(pretrained_home), FEWSHOT_TRAIN_SLOTS="2",
                            GRADIO_HEARTBEAT_INTERVAL="1"):
        yield AppServer(url, base / "sessions", base / "uploads", log)


def _zip(tmp: Path, name: str, classes: list[str], per_class: int = 5, extra: dict[str, bytes] | None = None) -> Path:
    """name.zip holding name/<class>/<i>.png tiny pictures, plus raw `extra` members."""
    out = tmp / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for k, cls in enumerate(classes):
            for i in range(per_class):
                p = make_image(tmp / "src" / name / cls / f"{i}.png", COLOURS[k % len(COLOURS)], k * 100 + i, size=24)
                zf.write(p, f"{name}/{cls}/{i}.png")
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
    return out


def _client(app_server):
    from gradio_client import Client
    return Client(app_server.url, verbose=False)


def _load(client, zip_path: Path):
    from gradio_client import handle_file
    return client.predict(handle_file(str(zip_path)), api_name="/load_zip")


def _session_dirs(app_server) -> set[Path]:
    return set(app_server.sessions.glob("session-*")) if app_server.sessions.exists() else set()


def _wait(cond, timeout_s: float, what: str, step: float = 0.2):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _epochs_seen(job) -> int:
    outs = job.outputs()
    return len(outs[-1][4]["data"]) if outs and outs[-1][4] and outs[-1][4].get("data") else 0


def _labels(client, picture: Path) -> set[str]:
    from gradio_client import handle_file
    out = client.predict(handle_file(str(picture)), False, api_name="/predict")
    return {c["label"] for c in out["confidences"]}


def _bytes(*roots: Path) -> int:
    return sum(p.stat().st_size for r in roots if r.exists() for p in r.rglob("*") if p.is_file())


# ---------------------------------------------------------------- 1. bad uploads

def test_bad_files_in_a_zip_are_named_with_reasons_and_good_ones_all_count(app_server, tmp_path):
    jpg = make_image(tmp_path / "whole.jpg", COLOURS[0], 7, size=64).read_bytes()
    png = make_image(tmp_path / "ok.png", COLOURS[1], 8, size=24).read_bytes()
    bad = {"trip/cat/broken.jpg": jpg[: len(jpg) // 2],  # truncated JPEG
           "trip/dog/letter.jpg": b"<html><body>Dear Sir, this is a web page.</body></html>\n" * 4,
           "trip/dog/notes.jpg": b"just some plain notes, saved under a picture's name\n",
           "../evil.png": png, "/etc/abs.png": png}  # path traversal, absolute path
    z = _zip(tmp_path, "trip", ["cat", "dog"], per_class=5, extra=bad)
    client = _client(app_server)
    summary, _warnings, _thumbs, counts, skipped = _load(client, z)
    assert "2 classes" in summary and "cat, dog" in summary
    assert [row[0] for row in counts["data"]] == ["cat", "dog"]
    assert [row[3] for row in counts["data"]] == [5, 5]  # every good picture counted
    reasons = {Path(f).name: r for f, r in skipped["data"]}
    assert set(reasons) == {"broken.jpg", "letter.jpg", "notes.jpg", "evil.png", "abs.png"}, skipped["data"]
    assert "truncated" in reasons["broken.jpg"]
    assert "text or HTML" in reasons["letter.jpg"] and "not a picture" in reasons["notes.jpg"]
    assert "outside the upload folder" in reasons["evil.png"] and "outside" in reasons["abs.png"]
    assert not (app_server.sessions.parent / "evil.png").exists()  # nothing escaped the session folder
    assert not Path("/etc/abs.png").exists()

    # A zip that is not a zip (a picture renamed .zip): a plain error naming it, and the loaded photos stay.
    from gradio_client import handle_file
    fake = tmp_path / "photos.zip"
    fake.write_bytes(png)
    with pytest.raises(Exception, match="photos.zip is not a zip archive"):
        client.predict(handle_file(str(fake)), api_name="/load_zip")
    job = client.submit(**QUICK, api_name="/train")
    final = job.result()
    assert "Done in" in final[0]  # trains on the 10 good pictures loaded before the bad zip
    client.close()


# ---------------------------------------------------------------- 2. three sessions at once

def test_three_sessions_train_at_once_each_sees_only_its_own(app_server, tmp_path):
    """Two training slots (FEWSHOT_TRAIN_SLOTS=2): two sessions train, the third is told its queue place."""
    sets = {"a": ["apple", "pear"], "b": ["blue", "green", "red"], "c": ["ant", "bee"]}
    clients = {k: _client(app_server) for k in sets}
    for k, classes in sets.items():
        summary, *_ = _load(clients[k], _zip(tmp_path, f"set{k}", classes))
        assert ", ".join(classes) in summary
    jobs = {k: clients[k].submit(**LONG, api_name="/train") for k in ("a", "b")}
    _wait(lambda: all(_epochs_seen(j) >= 1 for j in jobs.values()), 240, "both first sessions to draw an epoch")
    jobs["c"] = clients["c"].submit(**QUICK, api_name="/train")

    from gradio_client.utils import Status
    seen = _wait(lambda: (lambda s: s if s.code == Status.IN_QUEUE and s.rank is not None else None)(
        jobs["c"].status()), 30, "the third session to be told its place in the queue", step=0.05)
    assert seen.rank == 0 and seen.queue_size >= 1  # first in line, behind the two running trainings
    assert _epochs_seen(jobs["c"]) == 0

    for k in ("a", "b"):
        clients[k].predict(api_name="/stop")
    finals = {k: j.result(timeout=240) for k, j in jobs.items()}
    for k, classes in sets.items():
        final = finals[k]
        history = final[4]["data"]
        if k == "c":
            assert "Done in" in final[0] and len(history) == 1, final[0]
        else:  # stopped by its own user after at least one epoch: the best epoch is kept
            assert "Stopped after" in final[0] and 1 <= len(history) < 100, final[0]
        picture = next((tmp_path / "src" / f"set{k}" / classes[0]).glob("*.png"))
        assert _labels(clients[k], picture) == set(classes)  # its own model, its own classes
        files = clients[k].predict("bundle", api_name="/export")
        bundle = next(f for f in (files if isinstance(files, list) else [files]) if str(f).endswith(".safetensors"))
        assert load_bundle(bundle).classes == classes
    for c in clients.values():
        c.close()


# ---------------------------------------------------------------- 3. a tab closed mid-training

def test_closing_a_session_mid_training_ends_the_job_and_deletes_its_files(app_server, tmp_path):
    before = _session_dirs(app_server)
    closing, other, waiting = _client(app_server), _client(app_server), _client(app_server)
    _load(closing, _zip(tmp_path, "gone", ["left", "right"]))
    mine = _session_dirs(app_server) - before
    assert len(mine) == 1
    mine_dir = mine.pop()
    _load(other, _zip(tmp_path, "stays", ["up", "down"]))
    _load(waiting, _zip(tmp_path, "next", ["in", "out"]))
    j_closing = closing.submit(**LONG, api_name="/train")
    j_other = other.submit(**LONG, api_name="/train")
    _wait(lambda: _epochs_seen(j_closing) >= 1 and _epochs_seen(j_other) >= 1, 240, "both trainings to run")
    j_waiting = waiting.submit(**QUICK, api_name="/train")
    from gradio_client.utils import Status
    _wait(lambda: j_waiting.status().code == Status.IN_QUEUE, 30, "the third training to wait", step=0.05)

    closing.close()  # what the server sees when a browser tab is closed
    _wait(lambda: not mine_dir.exists(), 30, f"the closed session's folder {mine_dir} to be deleted")
    # its training slot is free again: the waiting session trains to the end while the other still runs
    final = j_waiting.result(timeout=180)
    assert "Done in" in final[0] and len(final[4]["data"]) == 1
    assert not j_other.done()
    other.predict(api_name="/stop")
    assert "Stopped after" in j_other.result(timeout=120)[0]  # the other session was untouched
    assert not mine_dir.exists()
    other.close()
    waiting.close()


# ---------------------------------------------------------------- 4. disk use over many cycles

def test_disk_use_stays_bounded_over_twenty_upload_train_cycles(app_server, tmp_path):
    z = _zip(tmp_path, "cycle", ["one", "two"], per_class=4)
    roots = (app_server.sessions, app_server.uploads)

    def cycle() -> None:
        c = _client(app_server)
        before = _session_dirs(app_server)
        _load(c, z)
        mine = _session_dirs(app_server) - before
        assert "Done in" in c.predict(**QUICK, api_name="/train")[0]
        c.close()
        _wait(lambda: not any(d.exists() for d in mine), 30, "the closed session's folder to go")

    cycle()  # warm-up: first-use caches (features, weights) are not growth
    start = _bytes(*roots)
    for _ in range(20):
        cycle()
    end = _bytes(*roots)
    assert end - start < 2_000_000, f"{(end - start) / 1e6:.1f} MB more after 20 cycles ({start} -> {end} bytes)"


# ---------------------------------------------------------------- 5. no file outside the app's folders

def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_app_serves_no_file_outside_its_own_folders(app_server):
    base = app_server.url.rstrip("/")
    secret = (ROOT / "app.py").read_text()[:200].encode()
    log = str(app_server.log)  # a file beside the app's own folders, not in them
    targets = ["/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
               str(ROOT / "app.py"), "app.py", "../app.py", "./app.py", log,
               f"{app_server.sessions}/../app.log", f"{app_server.uploads}/../../../../etc/passwd",
               f"{app_server.sessions}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd"]
    for prefix in ("/file=", "/gradio_api/file=", "/gradio_api/file/"):
        for t in targets:
            status, body = _get(base + prefix + t)
            assert b"root:x:0:0" not in body and secret not in body and b"Running on" not in body, (prefix, t, status)
            assert status in (400, 403, 404, 405), (prefix, t, status)


# ---------------------------------------------------------------- 6. --auth

@pytest.fixture
def auth_server(tmp_path, pretrained_home):
    yield from (url for url, _log in launch_app(tmp_path, "--auth", "u:p", TORCH_HOME=str(pretrained_home)))


def test_auth_protects_the_app(auth_server, tmp_path):
    from gradio_client import Client
    base = auth_server.rstrip("/")
    for path in ("/config", "/gradio_api/info", "/gradio_api/queue/status"):
        status, body = _get(base + path)
        assert status in (401, 403), (path, status)
        assert b"named_endpoints" not in body and b"load_zip" not in body
    req = urllib.request.Request(base + "/gradio_api/call/load_example", data=b'{"data": []}', method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        status = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        status = e.code
    assert status in (401, 403)
    with pytest.raises(Exception):
        Client(auth_server, auth=("u", "wrong"), verbose=False)
    client = Client(auth_server, auth=("u", "p"), verbose=False)
    summary, *_ = _load(client, _zip(tmp_path, "auth", ["cat", "dog"]))
    assert "cat, dog" in summary
    client.close()
