"""The Label step's thumbnail links (fewshot/ui/server/thumbs.py), answered as the route answers them: a tab's own link
gives a cached JPEG; another browser, another --auth user, a closed tab, another project's photo, a made-up
photo or a path trick get 404. The same links through the launched app and Chromium are in
tests/test_app_project_access.py.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import make_image

from fewshot.archive import Limits
from fewshot.ui.tab.labels import Desk
from fewshot.ui.server.thumbs import ThumbTokens, thumb_response

LIMITS = Limits()


@pytest.fixture
def tab(store, tmp_path, monkeypatch):
    """A tab's session (its browser cookie 'ours') and its desk with three photos, registered as the page does."""
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    from fewshot.ui.tab.state import Session
    sess = Session(owner=None)
    sess.browser = "ours"
    desk = Desk(store.create("me", "pile"))
    desk.project.add_items([(make_image(tmp_path / f"{i}.png", (200, 40 * i, 0), i, size=120), f"{i}.png", None, None)
                            for i in range(3)], LIMITS)
    tokens = ThumbTokens()
    tokens.register(sess, desk)
    yield tokens, sess, desk
    sess.cleanup()


def scope(browser: str | None = "ours", user_token: str | None = None, auth: bool = False) -> dict:
    """A request's ASGI scope: its cookies, and with --auth Gradio's app (its login cookie's name and tokens)."""
    cookies = [f"fewshot-browser={browser}"] if browser else []
    app = SimpleNamespace(auth=None, auth_dependency=None)
    if auth:
        app = SimpleNamespace(auth=[("ana", "pw")], auth_dependency=None, cookie_id="c1",
                              tokens={"t-ana": "ana", "t-bo": "bo"})
        if user_token:
            cookies.append(f"access-token-c1={user_token}")
    return {"app": app, "headers": [(b"cookie", "; ".join(cookies).encode())] if cookies else []}


def url_parts(desk: Desk, sha1: str) -> tuple[str, str]:
    _, token, name = desk.thumb_url(sha1).split("/")
    return token, name


def test_a_tabs_thumbnail_link_answers_a_jpeg_the_browser_may_keep(tab):
    tokens, sess, desk = tab
    sha1 = desk.project.photos()[0].sha1
    status, body, headers = thumb_response(tokens, scope(), *url_parts(desk, sha1))
    assert status == 200 and headers["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert headers["cache-control"].startswith("private, max-age=") and "immutable" in headers["cache-control"]


def test_the_same_link_from_another_browser_or_none_is_refused(tab):
    tokens, sess, desk = tab
    parts = url_parts(desk, desk.project.photos()[0].sha1)
    assert thumb_response(tokens, scope("theirs"), *parts)[0] == 404
    assert thumb_response(tokens, scope(None), *parts)[0] == 404


def test_with_auth_only_the_tabs_own_user_gets_its_thumbnails(tab):
    tokens, sess, desk = tab
    sess.owner = "ana"
    parts = url_parts(desk, desk.project.photos()[0].sha1)
    assert thumb_response(tokens, scope(user_token="t-ana", auth=True), *parts)[0] == 200
    assert thumb_response(tokens, scope(user_token="t-bo", auth=True), *parts)[0] == 404  # another user
    assert thumb_response(tokens, scope(auth=True), *parts)[0] == 404  # logged out
    assert thumb_response(tokens, scope(user_token="forged", auth=True), *parts)[0] == 404


def test_a_photo_not_in_the_project_a_made_up_name_or_a_path_trick_gives_404(tab, store, tmp_path):
    tokens, sess, desk = tab
    other = store.create("me", "other")
    other.add_items([(make_image(tmp_path / "x.png", (0, 0, 255), 9), "x.png", None, None)], LIMITS)
    token, _ = url_parts(desk, "0" * 40)
    for name in (f"{other.photos()[0].sha1}.jpg", f"{'a' * 40}.jpg", "..%2F..%2Fprojects.db", "x.jpg",
                 f"{desk.project.photos()[0].sha1}.png"):
        status, body, _ = thumb_response(tokens, scope(), token, name)
        assert status == 404 and body == b"Not found.", name
    assert thumb_response(tokens, scope(), "made-up-token-0000000", f"{desk.project.photos()[0].sha1}.jpg")[0] == 404


def test_a_closed_tab_or_a_project_switched_away_from_kills_its_links(tab, store):
    tokens, sess, desk = tab
    parts = url_parts(desk, desk.project.photos()[0].sha1)
    tokens.register(sess, Desk(store.create("me", "next one")))  # the tab opened another project
    assert thumb_response(tokens, scope(), *parts)[0] == 404
    tokens.register(sess, desk)  # (back to the first one: its links work again in this tab)
    assert thumb_response(tokens, scope(), *parts)[0] == 200
    sess.cleanup()  # the tab closed
    assert thumb_response(tokens, scope(), *parts)[0] == 404


def test_a_photo_whose_file_went_bad_shows_a_question_mark_not_a_broken_picture(tab):
    tokens, sess, desk = tab
    photo = desk.project.photos()[1]
    photo.file.write_bytes(b"garbage")
    status, body, headers = thumb_response(tokens, scope(), *url_parts(desk, photo.sha1))
    assert status == 200 and headers["content-type"] == "image/svg+xml" and b">?</text>" in body


def test_the_route_answers_behind_a_proxys_prefix_as_the_grids_relative_link_asks(tab):
    """A Space or a reverse proxy serves the page under a prefix (Gradio's root_path): the grid's link is relative
    to the page, so the browser asks <prefix>/thumb/..., and the route must answer there."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient
    from fewshot.ui.server.thumbs import thumb_routes
    tokens, sess, desk = tab
    link = desk.thumb_url(desk.project.photos()[0].sha1)
    assert not link.startswith("/")  # relative: it follows the page wherever the page is
    client = TestClient(Starlette(routes=thumb_routes(tokens)), root_path="/proxy/app")
    got = client.get("/proxy/app/" + link, cookies={"fewshot-browser": "ours"})
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"].startswith("private")
    assert client.get("/proxy/app/" + link).status_code == 404  # (no browser cookie)
