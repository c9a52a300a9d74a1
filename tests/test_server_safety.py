"""Issue 13: a server that runs for weeks behind a password. Against one launched app (`python app.py --auth`),
with small limits so that each refusal comes after a few requests: a stranger's heartbeat cannot close another
user's session, an over-size upload and a client over its upload budget are refused in plain words, a closed
session leaves no upload and no unpacked zip behind, and wrong passwords slow down. Plus the registry's owner
check and the start-up/shutdown clean-up without a server. Only 127.0.0.1, bounded loops.
"""
from __future__ import annotations

import http.cookiejar
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
from conftest import COLOURS, make_image
from conftest_app import launch_app

USER, PASSWORD = "ana", "secret"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """The app with --auth, a 1 MB upload limit and at most 12 uploads a minute per address."""
    base = tmp_path_factory.mktemp("guarded")
    (base / "tmp").mkdir()
    for url, log in launch_app(base, "--auth", f"{USER}:{PASSWORD}", FEWSHOT_MAX_UPLOAD_MB="1",
                               FEWSHOT_UPLOADS_PER_MIN="12", FEWSHOT_UPLOAD_MB_PER_MIN="50",
                               GRADIO_HEARTBEAT_INTERVAL="1", TMPDIR=str(base / "tmp")):
        yield url.rstrip("/"), base


def _zip(tmp: Path, name: str = "pets") -> Path:
    out = tmp / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for k, cls in enumerate(["cat", "dog"]):
            for i in range(4):
                p = make_image(tmp / "src" / cls / f"{i}.png", COLOURS[k], k * 10 + i, size=24)
                zf.write(p, f"{name}/{cls}/{i}.png")
    return out


def _opener():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _login(opener, base: str, password: str) -> tuple[int, float]:
    data = urllib.parse.urlencode({"username": USER, "password": password}).encode()
    t0 = time.time()
    try:
        status = opener.open(urllib.request.Request(base + "/login", data=data, method="POST"), timeout=60).status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, time.time() - t0


def _upload(opener, base: str, nbytes: int) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + os.urandom(nbytes) + \
        f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(base + "/gradio_api/upload", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _wait(cond, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# ---------------------------------------------------------------- without a server

def test_a_session_is_closed_only_by_its_own_user_and_stale_folders_go(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path))
    from fewshot.ui.tab.state import SessionRegistry, remove_stale_sessions
    reg = SessionRegistry(current_user=lambda: "ana")
    sess = reg.ensure(None, "hash1")
    assert sess.owner == "ana" and sess.dir.is_dir()
    assert not reg.close("hash1", None) and not reg.close("hash1", "bob")  # a stranger, another user
    assert sess.dir.is_dir() and not sess.closed
    assert reg.ensure(None, "hash1", owner="bob") is not sess and reg._by_key["hash1"] is sess  # never remapped
    assert reg.close("hash1", "ana") and not sess.dir.exists() and sess.model is None
    # a session no tab kept (an API call that stored no state) takes its folder with it
    unkept = reg.ensure(None, "hash2")
    folder = unkept.dir
    assert folder.is_dir()
    del unkept
    import gc
    gc.collect()
    assert not folder.exists()
    # folders of a server that is gone (its pid in the name) go at start-up; a live server's stay
    dead = tmp_path / "session-abc-p999999999-x"
    dead.mkdir()
    live = SessionRegistry().ensure(None, "k")
    assert remove_stale_sessions() == 1 and not dead.exists() and live.dir.exists()
    assert remove_stale_sessions(mine=True) == 1 and not live.dir.exists()


# ---------------------------------------------------------------- against the launched app

def test_a_strangers_heartbeat_changes_nothing(guarded, tmp_path):
    from gradio_client import Client, handle_file
    base, root = guarded
    client = Client(base + "/", auth=(USER, PASSWORD), verbose=False)
    summary, *_ = client.predict(handle_file(str(_zip(tmp_path))), api_name="/load_zip")
    assert "cat, dog" in summary
    mine = list((root / "sessions").glob("session-*"))
    assert mine
    # a stranger (no login) opens the victim's heartbeat and lets it close
    try:
        with urllib.request.urlopen(f"{base}/gradio_api/heartbeat/{client.session_hash}", timeout=3) as r:
            r.read(10)
        status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = None
    assert status == 401, status
    time.sleep(3)  # two heartbeat intervals: a close would have happened by now
    assert all(d.is_dir() for d in mine)
    out = client.predict(handle_file(str(_zip(tmp_path, "again"))), api_name="/load_zip")
    assert "cat, dog" in out[0]  # the victim's session still works
    # the API description stays out of the page until login
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        page = r.read()
    assert b"load_zip" not in page and b"named_endpoints" in page
    client.close()


def test_a_closed_session_leaves_no_upload_and_no_unpacked_zip(guarded, tmp_path):
    from gradio_client import Client, handle_file
    base, root = guarded
    before = set((root / "sessions").glob("session-*"))
    client = Client(base + "/", auth=(USER, PASSWORD), verbose=False)
    client.predict(handle_file(str(_zip(tmp_path, "closing"))), api_name="/load_zip")
    uploaded = [p for p in (root / "uploads").rglob("closing.zip")]
    unpacked = [p for p in root.rglob("fewshot-zip-*")]
    assert uploaded and unpacked
    mine = set((root / "sessions").glob("session-*")) - before
    client.close()
    _wait(lambda: not any(p.exists() for p in [*uploaded, *unpacked, *mine]), 30,
          "the closed session's upload, unpacked zip and folder to go")


def test_wrong_passwords_slow_down(guarded):
    base, _root = guarded
    opener = _opener()
    times = [_login(opener, base, "wrong") for _ in range(6)]
    assert all(s == 400 for s, _ in times), times
    assert all(t < 1.5 for _, t in times[:5]), times  # five free tries
    assert times[5][1] >= 1.5, times  # the sixth waited
    status, took = _login(opener, base, PASSWORD)  # the right one still works, after its wait
    assert status == 200 and took >= 3, (status, took)
    assert _login(opener, base, PASSWORD)[1] < 1.5  # and the count starts again


def test_uploads_too_big_or_too_many_are_refused_in_plain_words(guarded):
    base, _root = guarded
    opener = _opener()
    assert _login(opener, base, PASSWORD)[0] == 200
    status, text = _upload(opener, base, 2 * 1024 * 1024)
    assert status == 413 and "maximum allowed size" in text, (status, text)
    codes = []
    for _ in range(14):  # 12 a minute per address, counting the uploads above
        status, text = _upload(opener, base, 1000)
        codes.append(status)
        if status == 429:
            break
    assert codes[-1] == 429 and "Too many uploads from your address" in text, (codes, text)
    assert codes.count(200) >= 1
