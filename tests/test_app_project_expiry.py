"""FEWSHOT_PROJECT_TTL_DAYS on a server: the page's project store deletes idle projects at its first use and at
most once an hour after (the engine's expire_projects is only asked; tests/test_project.py checks it)."""
from __future__ import annotations

import time

from fewshot.ui import projects as PJ


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
