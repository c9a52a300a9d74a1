"""The page's side of projects: FEWSHOT_PROJECT_TTL_DAYS on a server (the page's project store deletes idle
projects at its first use and at most once an hour after; the engine's expire_projects is only asked, and
tests/test_project.py checks it), and the data step showing a project's photos without a class."""
from __future__ import annotations

import time

from fewshot.ui.tab import projects as PJ


def test_the_server_deletes_projects_idle_longer_than_the_ttl(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_PROJECT_TTL_DAYS", "7")
    s = PJ.store()
    old, new = s.create("visitor-token-000000000000", "old"), s.create("visitor-token-000000000000", "new")
    for p in (old, new):  # as if photos were in them
        (p.dir / "photos").mkdir(parents=True)
    with s.db.transaction() as db:
        db.execute("UPDATE projects SET used=? WHERE id=?", (time.time() - 8 * 86400, old.id))
    assert [r["name"] for r in PJ.store().list(old.owner)] == ["new", "old"]  # not looked for again within the hour
    monkeypatch.setattr(PJ, "_EXPIRED", {})  # an hour later
    assert [r["name"] for r in PJ.store().list(old.owner)] == ["new"] and not old.dir.exists() and new.dir.exists()
    assert "1 project(s) idle" in capsys.readouterr().err


def test_a_ttl_that_is_not_a_number_is_said_and_expires_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_PROJECT_TTL_DAYS", "a week")
    p = PJ.store().create("visitor-token-000000000000", "kept")
    assert "is not a number of days" in capsys.readouterr().err
    assert [r["name"] for r in PJ.store().list(p.owner)] == ["kept"]


def test_the_data_step_shows_a_projects_unlabelled_photos_too(tmp_path, monkeypatch):
    """Photos without a class (a loose photo added by the command line, or an import) are shown under the
    classes, counted, in the page's language; a project with none labelled still shows them."""
    from conftest import make_class_folders, make_image

    from fewshot import i18n as L
    from fewshot.ui import Backends, build_app
    from fewshot.ui.tab.state import Session
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    folder = make_class_folders(tmp_path / "owls", {"barn": 4, "snowy": 4})
    for i in range(3):
        make_image(folder / f"loose{i}.png", (90, 90, 90), 50 + i)
    owner = "browser-token-for-tests-0123456789"
    only_loose = PJ.store().create(owner, "loose only")
    only_loose.add_photos([str(folder / f"loose{i}.png") for i in range(3)])
    mixed = PJ.store().create(owner, "owls")
    mixed.add_photos(folder)
    assert mixed.summary()["unlabelled"] == 3
    demo = build_app(Backends()).blocks
    open_ = next(b.fn for b in demo.fns.values() if b.api_name == "project_open")
    sess = Session()
    sess.project_owner = owner
    try:
        out = open_(mixed.id, sess, None)
        text = {getattr(c, "elem_id", None): val for c, val in out.items()}
        assert "8 photos" in text["data-summary"] or "2 classes" in text["data-summary"]
        assert "3 more photos in this project have no class yet" in text["data-summary"]
        assert "not labelled yet" in text["data-thumbs"] and text["data-thumbs"].count("<img") >= 8 + 3
        out = open_(only_loose.id, sess, None)
        text = {getattr(c, "elem_id", None): val for c, val in out.items()}
        assert text["data-summary"].startswith("3 more photos") and text["data-thumbs"].count("<img") == 3
        zh = L.translate(text["data-summary"], "zh-CN")
        assert "3 张照片没有类别" in zh
    finally:
        sess.cleanup()
