"""The project size cap, FEWSHOT_PROJECT_MAX_GB (security issue, item 5): photos and model files count alike,
training cannot pass it, and a refused load leaves nothing on disk.

Before: three trainings took a project with a 6.1 MB cap to 31.8 MB, and a refused load left the photos
written before the refusal on disk but not in the database (55 files on disk, 40 rows), more at every retry.
Tiny generated photos; MobileNetV2 and ResNet18 from scratch, one epoch on the CPU (under a second each)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import make_class_folders

from fewshot.project import project as project_module
from fewshot.config import TrainConfig
from fewshot.errors import ProjectTooBig
from fewshot.project import max_project_bytes
from fewshot.train_events import Done

SMALL = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8)  # a model file of ~9 MB
BIG = replace(SMALL, arch="resnet18")  # ~45 MB


def train_run(project, cfg=SMALL) -> Done | None:
    done = None
    for ev in project.train(cfg):
        if isinstance(ev, Done):
            done = ev
    return done


def cap_at(monkeypatch, n_bytes: int) -> int:
    """FEWSHOT_PROJECT_MAX_GB set to about `n_bytes`; the cap in bytes as the server reads it."""
    monkeypatch.setenv("FEWSHOT_PROJECT_MAX_GB", repr(n_bytes / 1024**3))
    return max_project_bytes()


def disk_bytes(project) -> int:
    """What the project's folder takes on the server's disk (what an attacker filling it would count)."""
    return sum(f.stat().st_size for f in project.dir.rglob("*") if f.is_file())


def files_on_disk(project) -> set[str]:
    return {f.name for f in project.photos_dir.rglob("*") if f.is_file()}


def model_bytes(store, photos, cfg=SMALL) -> int:
    """The size of a `cfg` model file trained on these photos, measured in a scratch project."""
    scratch = store.create("scratch", "measure")
    scratch.add_photos(photos)
    train_run(scratch, cfg)
    size = scratch.active_bundle().stat().st_size
    scratch.delete()
    return size


def test_three_trainings_cannot_take_a_project_past_its_cap(store, photos, monkeypatch):
    model = model_bytes(store, photos)
    p = store.create("ana", "pets")
    p.add_photos(photos)
    cap = cap_at(monkeypatch, p.size_bytes() + model * 3 // 2)  # room for one model and a half
    train_run(p)
    first = p.active_run()
    refusals = []
    for _ in range(2):
        with pytest.raises(ProjectTooBig) as caught:
            train_run(p)
        refusals.append(str(caught.value))
        assert p.size_bytes() <= cap and disk_bytes(p) <= cap
    assert "Training was not started" in refusals[0] and "FEWSHOT_PROJECT_MAX_GB" in refusals[0]
    assert "the cap on this server is" in refusals[0]
    assert [r.number for r in p.runs()] == [1]  # refused before any training: no run was even started
    assert p.active_run().id == first.id and first.bundle.exists()
    assert disk_bytes(p) == p.size_bytes()  # what the database counts is what the disk holds


def test_a_model_that_would_pass_the_cap_is_not_kept_and_the_active_model_stays(store, photos, monkeypatch):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    train_run(p)  # no cap yet
    first = p.active_run()
    cap = cap_at(monkeypatch, p.size_bytes() * 2)  # room for another small model, not for a ResNet18
    with pytest.raises(ProjectTooBig, match="Run 2's model .* was not kept: with it this project would hold") as e:
        train_run(p, BIG)  # no ResNet18 here yet, so nothing says before training that it will not fit
    assert "the cap on this server is" in str(e.value) and "FEWSHOT_PROJECT_MAX_GB" in str(e.value)
    second = p.run_numbered(2)
    assert second.status == "failed" and second.bundle is None and second.message == str(e.value)
    assert sorted(f.name for f in p.runs_dir.iterdir()) == [first.bundle.name]  # its model file is gone
    assert p.active_run().id == first.id
    assert p.size_bytes() <= cap and disk_bytes(p) <= cap
    train_run(p)  # a small model still fits, and is kept
    assert p.run_numbered(3).status == "finished" and p.size_bytes() <= cap


def test_model_files_count_toward_the_cap(store, photos, tmp_path, monkeypatch):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    photo_bytes = p.size_bytes()
    train_run(p)
    cap = cap_at(monkeypatch, p.size_bytes())  # full, with a model of ~9 MB beside 27 KB of photos
    more = make_class_folders(tmp_path / "more", {"cat": 3}, size=24, seed=9)
    assert photo_bytes + sum(f.stat().st_size for f in more.rglob("*.png")) < cap / 100
    with pytest.raises(ProjectTooBig, match="FEWSHOT_PROJECT_MAX_GB"):
        p.add_photos(more)  # a few KB of photos: refused, because the model counts
    with pytest.raises(ProjectTooBig, match="Training was not started: this project already holds"):
        train_run(p)
    assert [r.number for r in p.runs()] == [1] and p.size_bytes() <= cap


def test_a_refused_photo_load_leaves_no_file_the_database_does_not_know_and_retrying_does_not_grow_it(
        store, photos, tmp_path, monkeypatch):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    big = make_class_folders(tmp_path / "big", {"fox": 20, "owl": 20}, size=40, seed=3)
    batch = sum(f.stat().st_size for f in big.rglob("*.png"))
    cap = cap_at(monkeypatch, p.size_bytes() + batch // 2)  # half the batch would fit
    known = {ph.file.name for ph in p.photos()}
    for _ in range(3):
        with pytest.raises(ProjectTooBig, match="FEWSHOT_PROJECT_MAX_GB") as caught:
            p.add_photos(big)
        assert files_on_disk(p) == known  # not one file the database does not name
        assert p.size_bytes() <= cap and disk_bytes(p) <= cap
    assert p.summary()["photos"] == 17
    assert str(caught.value).startswith("This project would hold ")
    assert str(caught.value).endswith("(FEWSHOT_PROJECT_MAX_GB). Nothing was added.")


def test_an_add_that_another_add_overtook_is_refused_whole_and_leaves_no_file(store, photos, tmp_path,
                                                                               monkeypatch):
    """Two tabs load at once, each batch under the cap alone: the one that commits second is refused at its
    commit (the first check had passed before the other landed), and its files go."""
    p = store.create("ana", "pets")
    mine = make_class_folders(tmp_path / "mine", {"fox": 10}, size=40, seed=4)
    theirs = make_class_folders(tmp_path / "theirs", {"owl": 10}, size=40, seed=5)
    size = lambda d: sum(f.stat().st_size for f in d.rglob("*.png"))  # noqa: E731
    cap = cap_at(monkeypatch, (size(mine) + size(theirs)) * 3 // 4)
    write = project_module.write_file_atomic

    def other_tab_lands_first(path, data):
        monkeypatch.setattr(project_module, "write_file_atomic", write)
        store.open("ana", p.id).add_photos(theirs)  # another tab's load commits while this one writes files
        write(path, data)

    monkeypatch.setattr(project_module, "write_file_atomic", other_tab_lands_first)
    with pytest.raises(ProjectTooBig, match="FEWSHOT_PROJECT_MAX_GB"):
        p.add_photos(mine)
    assert p.summary()["classes"] == {"owl": 10} and p.size_bytes() <= cap
    assert files_on_disk(p) == {ph.file.name for ph in p.photos()}


def test_photos_the_project_has_already_are_not_counted_again(store, photos, monkeypatch):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    cap_at(monkeypatch, p.size_bytes())  # full
    again = p.add_photos(photos)  # the same photos: nothing new to store, so nothing to refuse
    assert (again.added, again.already) == (0, 17)
    assert Path(p.photos()[0].file).exists()
