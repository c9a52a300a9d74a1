"""Demo links without a server (issue 16): made, listed, revoked, kept across a restart; feedback lands in the
owner's project as an unlabelled photo with the visitor's class as its hint, checked and rate-limited; the gate
in front of /m/<id> answers 404 for unknown or revoked links and serves no file but visitors' uploads.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import gradio as gr
import pytest
from conftest import make_class_folders, make_image

from fewshot.config import TrainConfig
from fewshot.demo_links import DemoLinks
from fewshot.errors import DataError, ProjectError, ProjectNotFound
from fewshot.images import UnreadableImage
from fewshot.predict import Predictor
from fewshot.project import ProjectStore

QUICK = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8, stage="head")


def trained_project(store: ProjectStore, root: Path, owner: str = "ana", name: str = "pets"):
    p = store.create(owner, name)
    p.add_photos(make_class_folders(root / name, {"cat": 6, "dog": 6}, size=24))
    for _ in p.train(QUICK):
        pass
    return p, p.active_run()


@pytest.fixture
def pets(store, tmp_path):
    return trained_project(store, tmp_path)


def test_a_link_is_unguessable_survives_a_restart_and_a_revoked_one_opens_nothing(store, pets, tmp_path):
    p, run = pets
    links = DemoLinks(store)
    a, b = links.create(p, run.id), links.create(p, run.id, feedback=False)
    assert len(a.id) == 32 and a.id != b.id and a.path == f"/m/{a.id}"  # 192 random bits each
    again = DemoLinks(ProjectStore(store.root))  # a restart: a new store on the same folder
    target = again.resolve(a.id)
    assert target is not None and target.bundle == run.bundle and target.feedback and target.owner == "ana"
    assert again.resolve(b.id).feedback is False
    links.revoke(p, a.id)
    assert again.resolve(a.id) is None and again.resolve(b.id) is not None
    assert [k.revoked is not None for k in again.of(p)] == [True, False]  # the owner still sees it, revoked
    with pytest.raises(ProjectError):
        links.revoke(p, a.id)  # once is enough
    for junk in ("", "x", "../" * 11, a.id[:-1] + "!", None):
        assert links.resolve(junk) is None


def test_links_go_with_their_run_and_only_the_owner_lists_them(store, pets, tmp_path):
    p, run = pets
    links = DemoLinks(store)
    link = links.create(p, run.id)
    with pytest.raises(ProjectNotFound):
        store.open("bob", p.id)  # another owner cannot open the project, so cannot list or revoke its links
    p.delete_run(run.id)
    assert links.resolve(link.id) is None  # the run's model is gone: so is the page
    with pytest.raises(ProjectError):
        links.create(p, run.id)


def test_feedback_is_an_unlabelled_photo_with_the_visitors_class_as_hint(store, pets, tmp_path):
    p, run = pets
    links = DemoLinks(store)
    target = links.resolve(links.create(p, run.id).id)
    photo = make_image(tmp_path / "visitor" / "snap.png", (10, 200, 10), 5, 40)
    sha1 = links.add_feedback(target, photo, "dog", ["cat", "dog"])
    got = {ph.sha1: ph for ph in p.photos(label=None)}
    assert sha1 in got and got[sha1].hint == "dog" and got[sha1].label is None
    assert got[sha1].file.read_bytes() == photo.read_bytes()
    assert links.of(p)[0].feedback_count == 1
    assert any("a visitor of a demo link sent a photo (they say: dog)" in a["what"] for a in p.activity())


def test_feedback_refuses_what_it_should_and_changes_nothing(store, pets, tmp_path, monkeypatch):
    p, run = pets
    links = DemoLinks(store)
    on, off = links.create(p, run.id), links.create(p, run.id, feedback=False)
    photo = make_image(tmp_path / "v" / "snap.png", (10, 200, 10), 5, 40)
    before = len(p.photos())
    with pytest.raises(DataError, match="does not take feedback"):
        links.add_feedback(links.resolve(off.id), photo, "dog", ["cat", "dog"])
    links.set_feedback(p, on.id, False)  # the owner turns it off: from then on refused
    with pytest.raises(DataError, match="does not take feedback"):
        links.add_feedback(links.resolve(on.id), photo, "dog", ["cat", "dog"])
    links.set_feedback(p, on.id, True)
    target = links.resolve(on.id)
    with pytest.raises(DataError, match="Pick one of the model's classes"):
        links.add_feedback(target, photo, "horse", ["cat", "dog"])
    fake = tmp_path / "v" / "notes.png"
    fake.write_bytes(b"#!/bin/sh\necho not a picture\n")
    with pytest.raises(UnreadableImage):
        links.add_feedback(target, fake, "dog", ["cat", "dog"])
    monkeypatch.setenv("FEWSHOT_FEEDBACK_MAX_MB", "0.0001")  # about 100 bytes
    with pytest.raises(DataError, match="at most"):
        links.add_feedback(target, photo, "dog", ["cat", "dog"])
    assert len(p.photos()) == before


class _Request:
    """What the page's callbacks read of a gr.Request: headers (the gate's link header) and the client."""

    def __init__(self, link: str, host: str = "10.0.0.7") -> None:
        self.headers = {"x-fewshot-demo": link}
        self.client = type("C", (), {"host": host})()


def test_a_visitor_sends_at_most_ten_photos_a_minute(store, pets, tmp_path):
    from fewshot.ui.demo import LinkSource
    p, run = pets
    links = DemoLinks(store)
    link = links.create(p, run.id)
    source = LinkSource(links, Predictor, feedback_per_min=3)
    for i in range(3):
        source.feedback(_Request(link.id), str(make_image(tmp_path / f"f{i}.png", (200, 10, 10), i, 30)), "cat")
    with pytest.raises(DataError, match="Too many uploads from your address"):
        source.feedback(_Request(link.id), str(make_image(tmp_path / "f9.png", (200, 10, 10), 9, 30)), "cat")
    source.feedback(_Request(link.id, host="10.0.0.8"), str(make_image(tmp_path / "g.png", (9, 9, 9), 1, 30)), "dog")
    assert len(p.photos(label=None)) == 4
    assert source.model(_Request("not-a-link")) is None and source.model(_Request(link.id)).tm.classes == ["cat", "dog"]


def _asgi_get(gate, path: str, visitor: str = "me") -> tuple[int, dict, bytes, dict]:
    """One GET through an ASGI app; returns status, headers, body and the scope the inner app saw."""
    seen: dict = {}

    async def inner(scope, receive, send):
        seen.update(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    gate.app = inner
    out: list = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(msg):
        out.append(msg)
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "/m",
             "headers": [(b"x-fewshot-demo", b"forged"), (b"x-fewshot-visitor", visitor.encode())]}
    # in a thread of its own: a browser test earlier in the same run keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, gate(scope, receive, send)).result()
    return out[0]["status"], dict(out[0]["headers"]), out[1]["body"], seen


def test_the_gate_404s_unknown_and_revoked_links_and_serves_visitors_only_their_uploads(store, pets, tmp_path):
    from fewshot.ui.server.gate import LinkGate
    from fewshot.ui.server.uploads import UploadLedger
    p, run = pets
    links = DemoLinks(store)
    link = links.create(p, run.id)
    uploads = tmp_path / "uploads"
    (uploads / "abc").mkdir(parents=True)
    upload = make_image(uploads / "abc" / "x.png", (1, 2, 3), 1, 20)
    other = make_image(uploads / "abc" / "y.png", (3, 2, 1), 1, 20)
    ledger = UploadLedger()
    ledger.add("me", [str(upload)])
    ledger.add("someone else", [str(other)])
    gate = LinkGate(None, lambda k: links.resolve(k) is not None, ledger)
    status, _, body, seen = _asgi_get(gate, f"/m/{link.id}/config")
    assert status == 200 and body == b"page" and seen["root_path"] == f"/m/{link.id}"
    assert dict(seen["headers"])[b"x-fewshot-demo"] == link.id.encode()  # the gate's word, never the visitor's
    status, headers, _, _ = _asgi_get(gate, f"/m/{link.id}")  # the link as sent: on to the page's folder
    assert status == 307 and headers[b"location"] == f"{link.id}/".encode()
    assert _asgi_get(gate, f"/m/{link.id}/gradio_api/file={upload}", visitor="me")[0] == 200
    assert _asgi_get(gate, f"/m/{link.id}/gradio_api/file={upload}", visitor="someone else")[0] == 404
    for target in ("/etc/passwd", str(p.dir / "photos"), f"{uploads}/../outside.png", str(run.bundle), str(other)):
        for prefix in ("/file=", "/gradio_api/file=", "/gradio_api/file/"):
            assert _asgi_get(gate, f"/m/{link.id}{prefix}{target}")[0] == 404, (prefix, target)
    assert _asgi_get(gate, "/m/" + "A" * 32 + "/")[0] == 404
    links.revoke(p, link.id)
    assert _asgi_get(gate, f"/m/{link.id}/")[0] == 404


def test_the_demo_page_shows_the_models_name_classes_and_card(store, pets):
    from fewshot.ui.demo import LinkSource, build_demo
    p, run = pets
    links = DemoLinks(store)
    link = links.create(p, run.id, feedback=False)
    page = build_demo(LinkSource(links, Predictor))
    show = next(f.fn for f in page.fns.values() if f.name == "show")
    out = {getattr(c, "elem_id", None): v for c, v in show(gr.Request(headers={"x-fewshot-demo": link.id})).items()}
    assert "pets · run" in out["demo-head"] and "cat, dog" in out["demo-head"]
    assert "Made with fewshot from 12 photos" in out["demo-card"]
    assert out["demo-wrong"].visible is False  # feedback off for this link: no "Wrong?" box
    assert show(gr.Request(headers={"x-fewshot-demo": "A" * 32}))


def test_the_demo_page_speaks_chinese_to_a_chinese_browser(store, pets):
    import re
    from fewshot.ui.demo import LinkSource, build_demo
    from fewshot.ui.page import I18N
    p, run = pets
    links = DemoLinks(store)
    link = links.create(p, run.id)
    page = build_demo(LinkSource(links, Predictor))
    plain = [getattr(b, n) for b in page.blocks.values() for n in ("label", "info", "placeholder", "value")
             if isinstance(getattr(b, n, None), str) and re.search(r"[A-Za-z]{3,}", getattr(b, n))]
    assert plain == []  # every fixed word went to gr.I18n, which has its Chinese
    assert I18N.translations["zh-CN"]["Wrong? Tell us the right class"] == "认错了？告诉我们正确的类别"
    show = next(f.fn for f in page.fns.values() if f.name == "show")
    out = {getattr(c, "elem_id", None): v for c, v in show(gr.Request(
        headers={"x-fewshot-demo": link.id, "accept-language": "zh-CN,zh;q=0.9"})).items()}
    assert "它认识" in out["demo-head"] and "cat, dog" in out["demo-head"]  # class names stay as written
    assert "用 fewshot 从 12 张照片训练而成" in out["demo-card"]


def test_the_owners_list_of_links_reads_in_chinese_too():
    from fewshot import i18n as L
    from fewshot.demo_links import DemoLink
    from fewshot.ui.share import link_table
    # database ids 11 and 12 (other projects' runs came first): the list says the project's own run 1 and 2
    links = [DemoLink("a" * 32, 11, 1, 0.0, None, True, 2), DemoLink("b" * 32, 12, 2, 0.0, 5.0, False, 0)]
    english = link_table(links, ["http://127.0.0.1:7860"], "en")
    assert "| [http://127.0.0.1:7860/m/" + "a" * 32 in english and "| 1 | on | 2 |" in english
    assert "~~/m/bbbbbb…~~ revoked | 2 | off | 0 |" in english  # newest first: the revoked one is no link
    chinese = L.translate(link_table(links, ["http://127.0.0.1:7860"], "zh-CN"), "zh-CN")
    assert "| 链接 | 训练 | 反馈 | 发回的照片 | 创建时间 |" in chinese and "| 1 | 开 | 2 |" in chinese and "已撤销 | 2 | 关" in chinese


def test_a_damaged_projects_database_gives_404s_and_does_not_stop_the_server_starting(tmp_path):
    from fewshot.errors import ProjectStoreError
    from fewshot.ui.demo import LinkSource
    (tmp_path / "projects.db").write_bytes(b"this is not sqlite")

    def links():  # what the server's store does with such a file: refuse it, with a message
        return DemoLinks(ProjectStore(tmp_path))
    source = LinkSource(links, Predictor)  # made at start-up: nothing is opened yet
    with pytest.raises(ProjectStoreError):
        links()
    assert source.is_live("A" * 32) is False
