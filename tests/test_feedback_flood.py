"""Feedback floods (security issue 3: feedback had no cap per link or project). A sender who changes address at
every post passes the page's per-address budget; the daily caps per link and per project hold anyway, in the
database (a restart, or a second process, does not reset them), counted in the same transaction as they are
checked (concurrent visitors cannot pass them). The owner can stop a link's feedback and delete what its visitors
sent in one action, and keeps their own photos and those they labelled.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import gradio as gr
import pytest
from conftest import make_class_folders, make_image

from fewshot.project import database as PS
from fewshot.config import TrainConfig
from fewshot.demo_links import FULL_TODAY, DemoLinks
from fewshot.errors import DataError, ProjectError
from fewshot.images import UnreadableImage
from fewshot.predict import Predictor
from fewshot.project import Project, ProjectStore

QUICK = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8, stage="head")
CLASSES = ["cat", "dog"]
FULL = "This link has had as many photos as it takes today; try again tomorrow."
DAY = 86_400.0


@pytest.fixture(autouse=True)
def _default_caps(monkeypatch):
    for name in ("FEWSHOT_FEEDBACK_PER_LINK_PER_DAY", "FEWSHOT_FEEDBACK_PER_PROJECT_PER_DAY",
                 "FEWSHOT_FEEDBACK_PER_MIN", "FEWSHOT_FEEDBACK_MAX_MB"):
        monkeypatch.delenv(name, raising=False)


def trained(store: ProjectStore, root: Path, name: str = "pets", per_class: int = 20) -> tuple[Project, int]:
    """A project of 2 x `per_class` labelled photos and a run with a model; returns it and the run's id."""
    p = store.create("ana", name)
    p.add_photos(make_class_folders(root / name, {"cat": per_class, "dog": per_class}, size=24))
    for _ in p.train(QUICK):
        pass
    return p, p.active_run().id


def photo(root: Path, i: int) -> Path:
    """A different small picture for each i (a visitor's)."""
    return make_image(root / "visitor" / f"snap{i}.png", (10 + i % 200, 200 - i % 190, (7 * i) % 255), 10_000 + i, 24)


def send(links: DemoLinks, link_id: str, root: Path, i: int) -> str:
    return links.add_feedback(links.resolve(link_id), photo(root, i), "dog", CLASSES)


class _Request:
    """What LinkSource reads of a gr.Request: the gate's link header and the client's address."""

    def __init__(self, link: str, host: str) -> None:
        self.headers = {"x-fewshot-demo": link}
        self.client = type("C", (), {"host": host})()


def test_a_flood_from_300_addresses_stops_at_the_links_cap_with_a_plain_message(store, tmp_path):
    from fewshot.ui.demo import LinkSource
    p, run_id = trained(store, tmp_path)
    link = DemoLinks(store).create(p, run_id)
    source = LinkSource(DemoLinks(store), Predictor)  # the page's own path: per-address budget, then the caps
    before = len(p.photos())
    said: dict[str, int] = {}
    t0 = time.monotonic()
    for i in range(300):  # each post from an address of its own: the per-address budget never refuses
        try:
            source.feedback(_Request(link.id, f"10.{i // 250}.{i % 250}.7"), str(photo(tmp_path, i)), "dog")
            said["accepted"] = said.get("accepted", 0) + 1
        except DataError as exc:
            said[str(exc)] = said.get(str(exc), 0) + 1
    took = time.monotonic() - t0
    assert said == {"accepted": 100, FULL: 200}
    assert len(p.photos()) == before + 100 == 140  # the project grew by exactly the cap
    assert DemoLinks(store).of(p)[0].feedback_count == 100
    print(f"\n300 posts from 300 addresses: {said['accepted']} accepted, {said[FULL]} refused with {FULL!r}; "
          f"project {before} -> {len(p.photos())}, {took:.1f} s")


def test_the_count_survives_a_restart(store, tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_FEEDBACK_PER_LINK_PER_DAY", "5")
    p, run_id = trained(store, tmp_path, per_class=6)
    link = DemoLinks(store).create(p, run_id)
    for i in range(3):
        send(DemoLinks(store), link.id, tmp_path, i)
    again = DemoLinks(ProjectStore(store.root))  # a restarted server: a new store on the same folder
    for i in range(3, 5):
        send(again, link.id, tmp_path, i)
    with pytest.raises(DataError, match="as many photos as it takes today"):
        send(again, link.id, tmp_path, 5)
    assert len(p.photos(label=None)) == 5


def test_the_next_day_the_link_takes_photos_again(store, tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_FEEDBACK_PER_LINK_PER_DAY", "3")
    p, run_id = trained(store, tmp_path, per_class=6)
    clock = [time.time()]
    links = DemoLinks(store, clock=lambda: clock[0])
    link = links.create(p, run_id)
    for i in range(3):
        send(links, link.id, tmp_path, i)
    with pytest.raises(DataError, match="try again tomorrow"):
        send(links, link.id, tmp_path, 3)
    clock[0] += DAY
    for i in range(3, 6):
        send(links, link.id, tmp_path, i)
    with pytest.raises(DataError, match="try again tomorrow"):
        send(links, link.id, tmp_path, 6)
    assert len(p.photos(label=None)) == 6
    with sqlite3.connect(store.root / PS.DB_NAME) as db:  # yesterday's count was dropped, not kept for ever
        assert db.execute("SELECT day, photos FROM demo_feedback_days").fetchall() == [(links.day(), 3)]


def test_ten_links_do_not_get_ten_times_the_projects_cap(store, tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_FEEDBACK_PER_PROJECT_PER_DAY", "5")
    p, run_id = trained(store, tmp_path, per_class=6)
    links = DemoLinks(store)
    ids = [links.create(p, run_id).id for _ in range(10)]
    taken = 0
    for i in range(30):
        try:
            send(links, ids[i % 10], tmp_path, i)
            taken += 1
        except DataError as exc:
            assert str(exc) == FULL
    assert taken == 5 and len(p.photos(label=None)) == 5
    other, other_run = trained(store, tmp_path, name="birds", per_class=6)  # another project has its own cap
    send(links, links.create(other, other_run).id, tmp_path, 99)


def test_concurrent_visitors_cannot_pass_the_cap(store, tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_FEEDBACK_PER_LINK_PER_DAY", "5")
    p, run_id = trained(store, tmp_path, per_class=6)
    links = DemoLinks(store)
    link = links.create(p, run_id)
    files = [photo(tmp_path, i) for i in range(16)]
    start, out, lock = threading.Barrier(16), [], threading.Lock()

    def visitor(f: Path) -> None:
        start.wait()  # all at once
        try:
            links.add_feedback(links.resolve(link.id), f, "cat", CLASSES)
            got = "accepted"
        except DataError as exc:
            got = str(exc)
        with lock:
            out.append(got)
    threads = [threading.Thread(target=visitor, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(out) == {"accepted": 5, FULL: 11}
    assert len(p.photos(label=None)) == 5 and links.of(p)[0].feedback_count == 5


def test_a_photo_that_is_refused_does_not_use_up_the_cap(store, tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_FEEDBACK_PER_LINK_PER_DAY", "2")
    p, run_id = trained(store, tmp_path, per_class=6)
    links = DemoLinks(store)
    link = links.create(p, run_id)
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"#!/bin/sh\necho not a picture\n")
    for _ in range(5):
        with pytest.raises(UnreadableImage):
            links.add_feedback(links.resolve(link.id), fake, "dog", CLASSES)
    send(links, link.id, tmp_path, 0)
    send(links, link.id, tmp_path, 1)
    with pytest.raises(DataError, match="try again tomorrow"):
        send(links, link.id, tmp_path, 2)


def test_the_owners_one_action_deletes_the_visitors_unlabelled_photos_and_keeps_the_owners(store, tmp_path):
    p, run_id = trained(store, tmp_path, per_class=6)
    loose = make_image(tmp_path / "mine" / "loose.png", (0, 0, 0), 77, 24)
    p.add_photos(loose)  # the owner's own unlabelled photo
    links = DemoLinks(store)
    flood, other = links.create(p, run_id), links.create(p, run_id)
    owners = {ph.sha1: ph.file for ph in p.photos()}
    sent = [send(links, flood.id, tmp_path, i) for i in range(6)]
    links.add_feedback(links.resolve(flood.id), loose, "dog", CLASSES)  # the owner's own photo, sent again
    elsewhere = [send(links, other.id, tmp_path, 100 + i) for i in range(2)]
    p.set_labels({sent[0]: "cat", sent[1]: "dog"})  # the owner reviewed two of the flood's photos
    files = {ph.sha1: ph.file for ph in p.photos()}
    assert all(files[s].is_file() for s in sent)

    assert links.stop_feedback(p, flood.id) == (4, 2)

    now = {ph.sha1: ph for ph in p.photos()}
    assert set(owners) <= set(now) and all(f.is_file() for f in owners.values())  # the owner's photos, all kept
    assert now[sent[0]].label == "cat" and now[sent[1]].label == "dog"  # labelled since: the owner's work, kept
    assert not any(s in now or files[s].exists() for s in sent[2:])  # the rest: gone, files too
    assert all(s in now and now[s].label is None for s in elsewhere)  # the other link's visitors' photos stay
    assert not links.of(p)[0].feedback and links.of(p)[1].feedback
    with pytest.raises(DataError, match="does not take feedback"):
        send(links, flood.id, tmp_path, 50)
    assert any("feedback stopped on a demo link: 4 photos its visitors sent deleted, 2 kept" in a["what"]
               for a in p.activity())
    assert links.stop_feedback(p, flood.id) == (0, 2)  # again: nothing more to delete
    stranger, stranger_run = trained(store, tmp_path, name="birds", per_class=6)
    with pytest.raises(ProjectError, match="no such link"):
        links.stop_feedback(stranger, other.id)  # a link of another project: nothing happens to it
    assert links.of(p)[1].feedback


def test_a_photo_on_its_way_when_the_owner_stops_the_link_is_not_kept(store, tmp_path, monkeypatch):
    p, run_id = trained(store, tmp_path, per_class=6)
    links = DemoLinks(store)
    link = links.create(p, run_id)
    before = {ph.sha1 for ph in p.photos()}
    add_items = Project.add_items

    def add_then_owner_stops(self, *args, **kwargs):
        result = add_items(self, *args, **kwargs)  # the photo is in, not yet recorded as the visitor's
        links.stop_feedback(store.open("ana", p.id), link.id)
        return result
    monkeypatch.setattr(Project, "add_items", add_then_owner_stops)
    with pytest.raises(DataError, match="does not take feedback"):
        send(links, link.id, tmp_path, 0)
    monkeypatch.setattr(Project, "add_items", add_items)
    assert {ph.sha1 for ph in p.photos()} == before
    assert sorted(f.name for f in (p.dir / "photos").rglob("*") if f.is_file()) == \
        sorted(ph.file.name for ph in p.photos())  # its file went too


def test_the_share_block_stops_a_links_feedback_after_asking(store, tmp_path, monkeypatch, sess):
    from fewshot.ui import share
    from fewshot.ui.page import Page
    from fewshot.ui.tab.state import SessionRegistry
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(store.root))  # the page's store is this one
    p, run_id = trained(store, tmp_path, per_class=6)
    links = DemoLinks(store)
    link = links.create(p, run_id)
    sent = [send(links, link.id, tmp_path, i) for i in range(3)]
    p.set_labels({sent[0]: "dog"})
    with gr.Blocks() as blocks:
        page = Page(gr.State(), gr.Textbox(visible=False), SessionRegistry(), tmp_path / "uploads")
        v = share.build(page)
        share.wire(v, page)
    fns = {f.name: f.fn for f in blocks.fns.values()}
    sess.project = store.open("ana", p.id)
    asked = fns["ask_stop"](link.id, sess)
    assert asked[v.stop_yes].visible is True and asked[v.stop].visible is False  # asked first
    said = []
    monkeypatch.setattr(share, "inform", said.append)
    out = fns["stop_sent"](link.id, sess, gr.Request(headers={"host": "127.0.0.1:7860"}))
    assert said == ["This link takes no more photos. Deleted 2 photos its visitors sent; kept 1 that you had "
                    "labelled."]
    assert out[v.pick_feedback] is False and out[v.stop_yes].visible is False
    assert "| 1 | off | 3 |" in out[v.links]  # the table: feedback off, 3 photos were sent back in all
    assert {ph.sha1 for ph in p.photos(label=None)}.isdisjoint(sent)


def test_the_share_list_can_be_refreshed_to_show_photos_sent_since(store, tmp_path, monkeypatch, sess):
    from fewshot.ui import share
    from fewshot.ui.page import Page
    from fewshot.ui.tab.state import SessionRegistry
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(store.root))
    p, run_id = trained(store, tmp_path, per_class=6)
    links = DemoLinks(store)
    link = links.create(p, run_id)
    with gr.Blocks() as blocks:
        page = Page(gr.State(), gr.Textbox(visible=False), SessionRegistry(), tmp_path / "uploads")
        v = share.build(page)
        share.wire(v, page)
    sess.project = store.open("ana", p.id)
    request = gr.Request(headers={"host": "127.0.0.1:7860"})
    refresh = next(d.fn for d in blocks.fns.values() if d.name == "refresh")  # the box opened, or Refresh
    assert "| 1 | on | 0 |" in refresh(sess, request)[v.links]
    send(links, link.id, tmp_path, 0)
    assert "| 1 | on | 1 |" in refresh(sess, request)[v.links]


def test_a_database_from_before_the_caps_migrates_and_keeps_its_links(tmp_path):
    """A projects database at schema version 4 (before migration 5) opens: its link, its photos and the link's
    count are kept, and the caps and the one-action stop work on it."""
    root = tmp_path / "old"
    root.mkdir()
    index = next(i for i, m in enumerate(PS.MIGRATIONS) if "demo_feedback_days" in m)
    assert index == 4  # migration 5
    link_id = "L" * 32
    with sqlite3.connect(root / PS.DB_NAME) as db:
        for m in PS.MIGRATIONS[:index]:
            db.executescript(m)
        db.execute(f"PRAGMA user_version = {index}")
        db.execute("INSERT INTO projects(id, owner, name, created, used, runs_made) "
                   "VALUES ('p1', 'ana', 'old', 0, 0, 1)")
        db.execute("INSERT INTO runs(id, project_id, status, settings, bundle, started, number) "
                   "VALUES (7, 'p1', 'finished', '{}', 'run-1.safetensors', 0, 1)")
        db.execute("INSERT INTO photos(project_id, sha1, ext, path, label, split, hint, bytes, added) "
                   "VALUES ('p1', 'ab12', '.png', 'feedback/ab12.png', NULL, 'train', 'dog', 1, 0)")
        db.execute("INSERT INTO demo_links(id, project_id, run_id, created, feedback, feedback_count) "
                   "VALUES (?, 'p1', 7, 0, 1, 3)", (link_id,))
    db.close()
    runs = root / "projects" / "p1" / "runs"
    runs.mkdir(parents=True)
    (runs / "run-1.safetensors").write_bytes(b"a model")  # resolve only asks that the file is there
    store = ProjectStore(root)
    with sqlite3.connect(root / PS.DB_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == PS.SCHEMA_VERSION >= 5
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    p = store.open("ana", "p1")
    links = DemoLinks(store)
    assert [(k.id, k.run_number, k.feedback, k.feedback_count) for k in links.of(p)] == [(link_id, 1, True, 3)]
    sha1 = send(links, link_id, tmp_path, 0)
    assert links.of(p)[0].feedback_count == 4
    # the photo sent before the migration says nothing of its link: kept (it may be the owner's); the new one goes
    assert links.stop_feedback(p, link_id) == (1, 0)
    assert [ph.sha1 for ph in p.photos()] == ["ab12"] and sha1 != "ab12"
