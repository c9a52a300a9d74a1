"""Gradio's upload folder is addressed by content (<sha256>/<name>): two sessions that upload the same bytes under
the same name get one path. Closing one session must not delete a file another session still needs, and the last
session to let go of it still deletes it (fewshot/ui/tab/state.py: Session.cleanup, Uploads)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import make_class_folders

from fewshot.errors import DataError
from fewshot.ui.tab import photos as P
from fewshot.ui.tab.state import Session


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An upload folder, a session folder, and the bytes of a small zip of two classes."""
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "projects"))
    src = make_class_folders(tmp_path / "small", {"cat": 4, "dog": 4}, size=24)
    with zipfile.ZipFile(tmp_path / "small.zip", "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(tmp_path))
    root = tmp_path / "gradio-uploads"
    root.mkdir()
    return root, (tmp_path / "small.zip").read_bytes()


def upload(root: Path, data: bytes, name: str = "small.zip") -> str:
    """What Gradio's upload route does (gradio/route_utils.py upload_fn): the bytes into a temporary file, then
    os.rename onto <upload folder>/<sha256 of the bytes>/<name>, replacing a file already there."""
    fd, tmp = tempfile.mkstemp(dir=root)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    dest = root / hashlib.sha256(data).hexdigest() / name
    dest.parent.mkdir(exist_ok=True)
    os.rename(tmp, dest)
    return str(dest)


def test_a_closed_session_leaves_the_same_upload_that_another_session_sent_after_it(env):
    """The soak's failure: A loaded small.zip; B uploaded the same file (one path), and before B's /load_zip ran,
    A closed. A's clean-up deleted B's fresh upload ("small.zip does not exist")."""
    root, data = env
    a, b = Session(), Session()
    try:
        P.load_zip_file(a, upload(root, data), root)
        path_b = upload(root, data)  # B's upload: the same path as A's
        a.cleanup()
        assert Path(path_b).is_file()
        assert P.load_zip_file(b, path_b, root).classes == ["cat", "dog"]
    finally:
        a.cleanup()
        b.cleanup()
    assert not Path(path_b).exists()  # B, the last to hold it, still deletes it when it closes


def test_a_closed_session_leaves_an_upload_another_live_session_holds(env):
    """Both loaded the same zip: closing A leaves it for B (B may read it again, e.g. the same zip loaded twice
    or a retried event); closing B then deletes it, and the folder Gradio made for it."""
    root, data = env
    a, b = Session(), Session()
    try:
        path = upload(root, data)
        P.load_zip_file(a, path, root)
        P.load_zip_file(b, upload(root, data), root)
        a.cleanup()
        assert Path(path).is_file()
        assert P.load_zip_file(b, path, root).classes == ["cat", "dog"]
        b.cleanup()
        assert not Path(path).exists() and not Path(path).parent.exists()
    finally:
        a.cleanup()
        b.cleanup()


def test_a_session_alone_still_deletes_its_upload_when_it_closes(env):
    root, data = env
    a = Session()
    path = upload(root, data)
    try:
        P.load_zip_file(a, path, root)
    finally:
        a.cleanup()
    assert not Path(path).exists() and not Path(path).parent.exists()
    with pytest.raises(DataError):  # and a closed session's upload cannot be read again
        P.load_zip_file(Session(), path, root)


def test_a_session_forgotten_without_clean_up_holds_no_upload(env):
    """A session no tab kept (an API call that stored no state) is garbage-collected without cleanup(): its hold
    goes with it, so the next session to close deletes the file."""
    import gc
    root, data = env
    path = upload(root, data)
    forgotten = Session()
    P.load_zip_file(forgotten, path, root)
    del forgotten
    gc.collect()
    b = Session()
    P.load_zip_file(b, upload(root, data), root)
    b.cleanup()
    assert not Path(path).exists()


def test_photos_of_a_dropped_folder_shared_by_two_sessions(env, tmp_path):
    """A dropped folder arrives one upload per photo: the same photos dropped in two tabs share their paths."""
    root, _data = env
    src = make_class_folders(tmp_path / "pets", {"cat": 3, "dog": 3}, size=24)
    files = sorted(p for p in src.rglob("*.png"))

    def drop() -> list[tuple[str, str]]:
        return [(upload(root, p.read_bytes(), p.name), str(p.relative_to(src.parent))) for p in files]
    a, b = Session(), Session()
    try:
        P.load_uploaded_folder(a, drop(), root)
        items = drop()  # B's drop, before its event runs
        a.cleanup()
        assert all(Path(p).is_file() for p, _ in items)
        assert P.load_uploaded_folder(b, items, root).classes == ["cat", "dog"]
    finally:
        a.cleanup()
        b.cleanup()
    assert not any(Path(p).exists() for p, _ in items)


def test_a_copy_gradio_made_of_a_file_sent_to_two_sessions_stays_until_both_closed(env):
    """Gradio copies a file it sends into the same content-addressed folder (save_file_to_cache), once: the page
    notes the copy's path before Gradio makes it (Page.served), and a second session sent the same file shares it."""
    root, data = env
    copy = root / hashlib.sha256(data).hexdigest() / "model.safetensors"
    a, b = Session(), Session()
    try:
        a.uploads.add(copy)  # noted before Gradio wrote it
        copy.parent.mkdir()
        copy.write_bytes(data)
        b.uploads.add(copy)
        a.cleanup()
        assert copy.is_file()
        b.cleanup()
        assert not copy.exists()
    finally:
        a.cleanup()
        b.cleanup()


def test_through_the_server_a_closed_tab_leaves_the_same_zip_another_tab_just_uploaded(app_server, tmp_path):
    """The soak's failure end to end, through Gradio's own upload route: A loads small.zip and closes after B
    uploaded the same file but before B's /load_zip ran."""
    import time

    import httpx
    from gradio_client import Client, handle_file
    src = make_class_folders(tmp_path / "shared", {"cat": 4, "dog": 4}, size=24, seed=7)
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(tmp_path))
    sessions = lambda: set(app_server.sessions.glob("session-*"))  # noqa: E731
    before = sessions()
    a = Client(app_server.url, verbose=False)
    assert "cat, dog" in a.predict(handle_file(str(small)), api_name="/load_zip")[0]
    mine = sessions() - before
    up = httpx.post(app_server.url + "gradio_api/upload", files={"files": ("small.zip", small.read_bytes())})
    (path,) = up.json()
    assert [str(p) for p in app_server.uploads.rglob("small.zip")] == [path]  # one file for both tabs
    a.close()
    deadline = time.time() + 30
    while any(d.exists() for d in mine) and time.time() < deadline:
        time.sleep(0.2)
    assert mine and not any(d.exists() for d in mine), "A's session was not closed"

    file = {"path": path, "orig_name": "small.zip", "meta": {"_type": "gradio.FileData"}}
    event = httpx.post(app_server.url + "gradio_api/call/load_zip", json={"data": [file]}).json()["event_id"]
    stream = httpx.get(f"{app_server.url}gradio_api/call/load_zip/{event}", timeout=60).text
    assert "event: complete" in stream and "cat, dog" in stream, stream[:500]
