"""Nobody reaches another's project (issue 14, privacy): user A has a project with photos, a trained run (its
bundle in the project's folder) and exports (a model file, the project archive); B, another browser or, with
--auth, another user, tries every `/file=`-style URL form on A's photo files, run bundle, exports, the project's
folder and its database, and the API endpoints with A's project id. All refused; nothing of A's is listed.

The same URL forms as tests/test_app_robustness.py::test_the_app_serves_no_file_outside_its_own_folders.
"""
from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import COLOURS, make_image
from conftest_app import launch_app

FORMS = ("/file=", "/gradio_api/file=", "/gradio_api/file/")
QUICK = dict(backbone="mobilenet_v2", pretrained=False, epochs=1, learning_rate=0.001, stage="head", batch_size=8)
NAME = "alpha secret birds"  # A's project; its archive is alpha-secret-birds.zip
CLASSES = ["quokka", "wombat"]  # A's classes; its model file is fewshot-quokka-wombat.safetensors


def _zip(tmp: Path) -> Path:
    out = tmp / "alpha.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for k, cls in enumerate(CLASSES):
            for i in range(6):
                p = make_image(tmp / "src" / cls / f"{i}.png", COLOURS[k], 300 + k * 10 + i, size=32)
                zf.write(p, f"alpha/{cls}/{i}.png")
    return out


def _j(x):
    return json.loads(x) if isinstance(x, str) else x


def _owner_a(url: str, tmp: Path, auth=None):
    """A: a project with photos, one trained run, a model file and the project archive exported."""
    from gradio_client import Client, handle_file
    a = Client(url, auth=auth, verbose=False)
    a.predict(NAME, api_name="/project_new")
    a.predict(handle_file(str(_zip(tmp))), api_name="/load_zip")
    assert "Done in" in a.predict(**QUICK, api_name="/train")[0]
    a.predict("bundle", api_name="/export")
    assert str(a.predict(api_name="/project_export")).endswith(".zip")
    listed = _j(a.predict(api_name="/project_list"))
    assert [p["name"] for p in listed] == [NAME] and listed[0]["runs"] == 1
    return a, listed[0]["id"]


def _a_files(data: Path, sessions: Path, pid: str) -> dict[str, Path]:
    """A's project files on the server's disk, and A's exports in A's session folder."""
    folder = data / "projects" / pid
    photos = sorted((folder / "photos").rglob("*.*"))
    bundles = sorted((folder / "runs").glob("*.safetensors"))
    assert photos and len(bundles) == 1, (photos, bundles)
    archive = next(sessions.glob("session-*/export-*/alpha-secret-birds.zip"))
    model = next(sessions.glob("session-*/export-*/fewshot-quokka-wombat.safetensors"))
    return {"photo": photos[0], "photo2": photos[-1], "bundle": bundles[0], "folder": folder,
            "photos folder": folder / "photos", "database": data / "projects.db", "archive": archive,
            "model": model, "session folder": archive.parents[1], "browser key": data / "browser-state.key"}


def _targets(files: dict[str, Path], data: Path, sessions: Path, pid: str) -> list[str]:
    """Each file as the server names it, and the roundabout ways to the project's files."""
    out = [str(p) for p in files.values()]
    out += [f"{sessions}/../projects/projects/{pid}/runs/{files['bundle'].name}",
            f"{sessions}/%2E%2E/projects/projects/{pid}/photos/{files['photo'].parent.name}/{files['photo'].name}",
            f"{data}/projects/{pid}/", f"{data}/projects/", str(data), f"{data}/projects.db-wal",
            urllib.parse.quote(str(files["bundle"]), safe=""), str(files["bundle"]).lstrip("/")]
    return out


def _get(opener, url: str) -> tuple[int, bytes]:
    try:
        with opener.open(url, timeout=15) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _refused_everywhere(opener, base: str, targets: list[str], secrets: list[bytes]) -> None:
    for form in FORMS:
        for t in targets:
            status, body = _get(opener, base + form + t)
            assert status in (400, 401, 403, 404, 405), (form, t, status)
            assert not any(s in body for s in secrets), (form, t)


def _secrets(files: dict[str, Path]) -> list[bytes]:
    """Bytes only A's files hold (a run bundle's tensors, the photos' pixels, the archive's)."""
    out = []
    for key in ("photo", "photo2", "bundle", "archive", "model", "browser key"):
        raw = files[key].read_bytes()
        out.append(raw[len(raw) // 2: len(raw) // 2 + 48])
    return out


def _api_refused(b, pid: str) -> None:
    """B's API calls with A's project id: refused; B's lists show nothing of A's."""
    with pytest.raises(Exception, match="no such project"):
        b.predict(pid, api_name="/project_open")
    listed = json.dumps(_j(b.predict(api_name="/project_list")))
    assert pid not in listed and "alpha" not in listed and listed == "[]", listed
    assert _j(b.predict(api_name="/runs")) == []
    with pytest.raises(Exception, match="no project open"):
        b.predict(api_name="/project_export")
    assert _j(b.predict(api_name="/project_list")) == []  # the failed open made nothing


def _call(opener, base: str, api: str, *data) -> tuple[int, str]:
    """A raw API call (as any script could send it) naming files by their server paths: (status, the event's
    stream), or the refusal at the door (the Guard's 403, before the event starts)."""
    body = json.dumps({"data": list(data)}).encode()
    req = urllib.request.Request(f"{base}/gradio_api/call/{api}", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        event = json.loads(opener.open(req, timeout=30).read())["event_id"]
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    return 200, opener.open(f"{base}/gradio_api/call/{api}/{event}", timeout=120).read().decode()


def _no_server_paths(opener, base: str, files: dict[str, Path]) -> None:
    """A's run bundle, photo and archive named as inputs of the endpoints that take files: all refused, so no
    endpoint reads A's files on B's behalf (Gradio takes only files uploaded to it)."""
    def file(p: Path) -> dict:
        return {"path": str(p), "meta": {"_type": "gradio.FileData"}}
    for api, data in (("load_model", [file(files["bundle"])]), ("load_model", [file(files["model"])]),
                      ("project_import", [file(files["archive"])]), ("load_zip", [file(files["archive"])]),
                      ("evaluate", [file(files["archive"])]), ("predict", [file(files["photo"]), False])):
        status, stream = _call(opener, base, api, *data)
        refused = (status == 403 and "was not uploaded by you" in stream) or "event: error" in stream
        assert refused and "quokka" not in stream, (api, status, stream[:300])


def test_another_browser_can_neither_list_open_nor_fetch_a_project_or_its_files(app_server, tmp_path):
    from gradio_client import Client
    data, sessions = app_server.sessions.parent / "projects", app_server.sessions
    a, pid = _owner_a(app_server.url, tmp_path)
    files = _a_files(data, sessions, pid)
    b = Client(app_server.url, verbose=False)  # another browser: its own owner token, none of A's
    _api_refused(b, pid)
    targets = _targets(files, data, sessions, pid)
    # without --auth a link to a file of A's own session folder is the key to it, so B is given only the
    # project's files, the folders and ways round; those links are unguessable (the folder's random name)
    no_session = [t for t in targets if not t.startswith(str(files["session folder"]))]
    _refused_everywhere(urllib.request.build_opener(), app_server.url.rstrip("/"), no_session, _secrets(files))
    assert len(files["session folder"].name.split("-")[1]) >= 32  # 122 random bits in the folder's name
    _no_server_paths(urllib.request.build_opener(), app_server.url.rstrip("/"), files)
    assert _j(a.predict(api_name="/runs"))[0]["status"] == "finished"  # A's project is untouched
    a.close()
    b.close()


def _login(base: str, user: str, password: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    assert opener.open(base + "/login", data=form, timeout=15).status == 200
    return opener


@pytest.fixture
def two_users(tmp_path, pretrained_home):
    base = tmp_path / "server"
    base.mkdir()
    for url, _log in launch_app(base, "--auth", "ana:pw-ana", "--auth", "bo:pw-bo", TORCH_HOME=str(pretrained_home)):
        yield url.rstrip("/"), base


def test_another_user_can_neither_list_open_nor_fetch_a_project_its_files_or_exports(two_users, tmp_path):
    from gradio_client import Client
    base, root = two_users
    data, sessions = root / "projects", root / "sessions"
    a, pid = _owner_a(base, tmp_path, auth=("ana", "pw-ana"))
    files = _a_files(data, sessions, pid)
    ana, bo = _login(base, "ana", "pw-ana"), _login(base, "bo", "pw-bo")
    for key in ("model", "archive"):  # A's own exports reach A ...
        status, body = _get(ana, base + "/gradio_api/file=" + str(files[key]))
        assert status == 200 and body == files[key].read_bytes(), (key, status)
    # ... and nothing of A's reaches B, not even A's exports by their exact links
    targets = _targets(files, data, sessions, pid) + [str(p) for p in files["session folder"].rglob("*")
                                                      if p.is_file()]
    _refused_everywhere(bo, base, targets, _secrets(files))
    _refused_everywhere(urllib.request.build_opener(), base, targets[:3], _secrets(files))  # nor anyone logged out
    _no_server_paths(bo, base, files)
    b = Client(base, auth=("bo", "pw-bo"), verbose=False)
    _api_refused(b, pid)
    assert [p["id"] for p in _j(a.predict(api_name="/project_list"))] == [pid]
    again = Client(base, auth=("ana", "pw-ana"), verbose=False)  # A's own script, another client: opens it
    again.predict(pid, api_name="/project_open")
    assert _j(again.predict(api_name="/runs"))[0]["status"] == "finished"
    again.close()
    a.close()
    b.close()


def test_a_project_photo_the_page_shows_is_a_copy_in_the_session_folder(tmp_path, monkeypatch):
    """Gradio is told never to serve the projects' folders (launch_kwargs' blocked_paths), so the photos the page
    shows (the mistakes in step 3) are copies in the session's folder, which goes with the tab."""
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    from fewshot.ui import launch_kwargs
    from fewshot.ui.tab import results as R
    from fewshot.ui.tab.state import Session
    blocked = launch_kwargs()["blocked_paths"]
    assert str((tmp_path / "data" / "projects").resolve()) in blocked
    assert str((tmp_path / "data" / "projects.db").resolve()) in blocked
    photo = make_image(tmp_path / "data" / "projects" / "p1" / "photos" / "ab" / "abc.png", COLOURS[0], 1)
    sess = Session()
    try:
        shown = Path(R.servable(sess, str(photo)))
        assert shown.is_relative_to(sess.dir) and shown.read_bytes() == photo.read_bytes()
        assert R.servable(sess, str(shown)) == str(shown)  # already the session's: itself
        assert R.servable(sess, str(photo)) == str(shown)  # shown twice: one copy
    finally:
        sess.cleanup()
    assert not shown.exists()


# ---------------------------------------------------------------- the Label step's thumbnails (fewshot/ui/server/thumbs.py)

def _drop_pile(page, tmp: Path, n: int = 64) -> None:
    """A pile of n photos dropped into the Label step; waits for its features and shows "All photos"."""
    for i in range(n):
        make_image(tmp / "pile" / f"p{i:03d}.png", COLOURS[i % 3], 900 + i, size=160)
    page.set_input_files("#folder-drop input[type=file]:not(.fs-files)", str(tmp / "pile"))
    page.wait_for_function(f"() => /features of {n} photos are ready/.test("
                           "document.querySelector('#label-progress')?.innerText || '')", timeout=300_000)
    page.locator("#label-view label", has_text="All photos").click()
    page.wait_for_function("() => document.querySelector('#label-grid .fl-root')?.dataset.view === 'all'")


def _thumbs_shown(page) -> list[str]:
    """The grid's thumbnail links, once every picture has loaded (a broken one never does)."""
    page.wait_for_selector("#label-grid .fl-tile img", timeout=120_000)
    page.eval_on_selector_all("#label-grid .fl-tile img", "els => els.forEach(e => e.loading = 'eager')")
    page.wait_for_function("() => Array.from(document.querySelectorAll('#label-grid .fl-tile img'))"
                           ".every(e => e.complete && e.naturalWidth > 0)", timeout=60_000)
    srcs = page.eval_on_selector_all("#label-grid .fl-tile img", "els => els.map(e => e.src)")
    assert srcs and all("/thumb/" in s and s.endswith(".jpg") for s in srcs), srcs[:3]
    return srcs


def test_the_label_grid_sends_thumbnail_links_that_only_its_own_browser_can_open(ui, browser, tmp_path):
    u = ui()
    _drop_pile(u.page, tmp_path)
    srcs = _thumbs_shown(u.page)
    html = u.page.inner_html("#label-grid")
    assert len(srcs) == 60 and "data:image" not in html and len(html.encode()) < 30_000, len(html.encode())
    u.shot("label-grid-thumbnails")
    mine = u.context.request.get(srcs[0])
    assert mine.status == 200 and mine.headers["content-type"] == "image/jpeg"
    assert mine.headers["cache-control"].startswith("private, max-age=")
    other = browser.new_context()  # another browser (it opened the page, so it has its own cookie)
    try:
        other.new_page().goto(u.server.url)
        assert other.request.get(srcs[0]).status == 404
        made_up = srcs[0].rsplit("/", 1)[0] + "/" + "ab" * 20 + ".jpg"
        assert u.context.request.get(made_up).status == 404  # not a photo of the project
    finally:
        other.close()
    assert _get(urllib.request.build_opener(), srcs[0])[0] == 404  # a script with the link alone
    u.page.reload()  # a new session: its grid still shows every picture, through links of its own
    u.page.wait_for_selector("#folder-drop input[type=file]:not(.fs-files)", state="attached", timeout=60_000)
    again = _thumbs_shown(u.page)
    assert not set(again) & set(srcs)
    u.shot("label-grid-after-reload")


def test_with_auth_a_thumbnail_link_reaches_only_the_user_and_browser_that_were_shown_it(two_users, browser, tmp_path):
    base, _root = two_users
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        assert ctx.request.post(base + "/login", form={"username": "ana", "password": "pw-ana"}).status == 200
        page = ctx.new_page()
        page.goto(base + "/")
        page.wait_for_selector("#folder-drop input[type=file]:not(.fs-files)", state="attached", timeout=60_000)
        _drop_pile(page, tmp_path, n=12)
        src = _thumbs_shown(page)[0]
        got = ctx.request.get(src)
        assert got.status == 200 and got.headers["content-type"] == "image/jpeg"
        bo, ana_script = _login(base, "bo", "pw-bo"), _login(base, "ana", "pw-ana")
        assert _get(bo, src)[0] == 404  # another user
        assert _get(urllib.request.build_opener(), src)[0] == 404  # logged out
        assert _get(ana_script, src)[0] == 404  # ana, but in another browser than the one shown the link
    finally:
        ctx.close()
