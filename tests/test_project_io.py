"""A project in and out: archive, CSV and Label Studio JSON-MIN round trips, and hostile imports that change nothing."""
from __future__ import annotations

import json
import zipfile

import pytest
import torch

from fewshot.archive import Limits
from fewshot.bundle import load_bundle
from fewshot.config import TrainConfig
from fewshot.errors import DataError, FewshotError, LimitExceeded
from fewshot.predict import Predictor
from fewshot.project import ProjectStore
from fewshot.project.io import export_project, import_project, label_from_file, read_labels

FAST = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8)


@pytest.fixture
def project(store, photos):
    p = store.create("ana", "pets")
    p.add_photos(photos)
    some = p.photos(label="cat")[0]
    p.set_splits({some.sha1: "val" if some.split == "train" else "train"})  # a split the user chose
    p.set_hints({some.sha1: "looks like a lynx"})
    return p


def state(p) -> list:
    return sorted((ph.sha1, ph.path, ph.label, ph.split) for ph in p.photos())


def snapshot(store) -> dict:
    """Everything a failed import must leave as it was: projects per owner and files on disk."""
    return {"projects": [(r["name"], r["photos"], r["labelled"]) for r in store.list("ana")],
            "files": sorted(str(f.relative_to(store.root)) for f in store.projects_dir.rglob("*"))}


def test_project_archive_round_trips_labels_splits_runs_and_identical_predictions(store, project, photos, tmp_path):
    list(project.train(FAST))
    list(project.train(FAST.with_(seed=1)))
    project.pick_active(project.runs()[1].id)
    out = export_project(project, "archive", tmp_path / "pets.zip")
    other = ProjectStore(tmp_path / "elsewhere")  # another machine
    copy = import_project(other, "bo", out, name="pets")
    assert state(copy) == state(project)
    assert [ph.hint for ph in copy.photos()] == [ph.hint for ph in project.photos()]
    assert [(r.status, r.val_accuracy, r.settings, r.history) for r in copy.runs()] == \
           [(r.status, r.val_accuracy, r.settings, r.history) for r in project.runs()]
    assert copy.active_run().started == project.active_run().started and copy.meta()["active_pinned"]
    a, b = load_bundle(project.active_bundle()), load_bundle(copy.active_bundle())
    files = [str(p) for p in sorted(photos.rglob("*.png"))[:5]]
    pa, pb = Predictor(a, "cpu").probabilities(files), Predictor(b, "cpu").probabilities(files)
    assert torch.allclose(pa, pb, atol=1e-6, rtol=0)


@pytest.mark.parametrize("fmt,out_name", [("csv", "labels.csv"), ("labelstudio", "for-ls/tasks.json")])
def test_labels_files_round_trip_labels_and_splits_with_the_photos_folder(store, project, photos, tmp_path, fmt,
                                                                          out_name):
    export_project(project, fmt, tmp_path / out_name.replace("/tasks.json", ""))
    out = tmp_path / out_name  # a Label Studio export is a folder: its tasks.json names photos/<path>
    copy = import_project(store, "ana", out, name="copy", photos=photos)
    assert [(p, lab, s) for _, p, lab, s in state(copy)] == [(p, lab, s) for _, p, lab, s in state(project)]
    # and onto an existing project: relabel by path
    p2 = store.create("ana", "fresh")
    p2.add_photos(photos)
    p2.set_labels({ph.sha1: None for ph in p2.photos()})
    label_from_file(p2, out, fmt)
    assert state(p2) == state(project)


def test_label_studio_export_is_tasks_and_its_json_min_export_reads_back(project, tmp_path):
    # tasks as Label Studio imports them: a person's labels (these came from class folders) as annotations
    rows = json.loads((export_project(project, "labelstudio", tmp_path / "ls") / "tasks.json").read_text())
    assert isinstance(rows, list) and all("image" in r["data"] for r in rows)
    assert {r["annotations"][0]["result"][0]["value"]["choices"][0] for r in rows if "annotations" in r} \
        == {"cat", "dog"}
    assert sum("annotations" not in r for r in rows) == len(project.photos(label=None)) > 0
    assert not any("predictions" in r for r in rows)
    # what Label Studio itself writes: local-files URLs, a choices dict, its own meta keys
    ls = tmp_path / "from_ls.json"
    ls.write_text(json.dumps([{"id": 1, "image": "/data/local-files/?d=cat/000.png", "annotator": 1,
                               "sentiment": {"choices": ["tiger"]}, "lead_time": 2.5}]))
    assert read_labels(ls) == [("from_ls.json task 1", "cat/000.png", "tiger", None)]


def test_imagefolder_export_imports_as_class_folders_with_splits(store, project, tmp_path):
    out = export_project(project, "imagefolder", tmp_path / "if.zip")
    copy = import_project(store, "ana", out, name="if")
    labelled = [(sha1, lab, s) for sha1, _, lab, s in state(project) if lab is not None]
    assert [(sha1, lab, s) for sha1, _, lab, s in state(copy)] == labelled


@pytest.mark.parametrize("content,error", [
    ("path,label\n/etc/passwd,cat\n", "row 2: '/etc/passwd' is an absolute path"),
    ("path,label\ncat/../../secret.png,cat\n", "row 2: 'cat/../../secret.png' points outside"),
    ("path,label\nC:\\Windows\\x.png,cat\n", "row 2:.*absolute path"),
    ("path,label\ncat/000.png,cat\nnot/there.png,dog\n", "row 3: there is no photo 'not/there.png'"),
    ("path,label,split\ncat/000.png,cat,holdout\n", "row 2: the split is 'train' or 'val'"),
    ("path,label\ncat/000.png,cat\ncat/000.png,dog\n", "row 3: 'cat/000.png' is already labelled differently"),
])
def test_hostile_csv_rows_name_the_row_and_change_nothing(store, project, photos, tmp_path, content, error):
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    before, labels = snapshot(store), state(project)
    with pytest.raises(DataError, match=error):
        import_project(store, "ana", bad, name="evil", photos=photos)
    with pytest.raises(DataError, match=error.replace("there is no photo 'not/there.png'", "there is no photo")):
        label_from_file(project, bad)
    assert snapshot(store) == before and state(project) == labels


def test_wrong_encoding_and_too_many_rows_are_refused_whole(store, project, photos, tmp_path):
    before, labels = snapshot(store), state(project)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("path,label\ncat/000.png,chat très mignon\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.csv is not UTF-8 text"):
        label_from_file(project, latin)
    huge = tmp_path / "huge.csv"
    huge.write_text("path,label\n" + "cat/000.png,cat\n" * 1_000_000, encoding="utf-8")
    with pytest.raises(LimitExceeded, match="huge.csv has more than 20,000 rows"):
        import_project(store, "ana", huge, name="huge", photos=photos)
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"image": "cat/000.png", "choice": "cat"}] * 30_000))
    with pytest.raises(LimitExceeded, match="many.json has 30,000 tasks"):
        label_from_file(project, many)
    with pytest.raises(DataError, match="not JSON"):
        (tmp_path / "broken.json").write_text("[{")
        label_from_file(project, tmp_path / "broken.json")
    assert snapshot(store) == before and state(project) == labels


def test_hostile_project_archives_are_refused_and_leave_nothing(store, project, tmp_path):
    good = export_project(project, "archive", tmp_path / "good.zip")
    before = snapshot(store)

    def variant(name, edit):
        out = tmp_path / name
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            doc = json.loads(src.read("project.json"))
            members = {n: src.read(n) for n in src.namelist() if n != "project.json"}
            edit(doc, members)
            dst.writestr("project.json", json.dumps(doc))
            for n, data in members.items():
                dst.writestr(zipfile.ZipInfo(n), data, compress_type=zipfile.ZIP_DEFLATED)
        return out

    def traversal(doc, members):
        doc["photos"][0]["path"] = "../../outside.png"
        members["../../evil.png"] = members[next(iter(members))]

    def missing(doc, members):
        del members[f"photos/{doc['photos'][0]['sha1']}{doc['photos'][0]['ext']}"]

    def swapped(doc, members):
        doc["photos"][0]["sha1"] = "0" * 40

    def bomb(doc, members):
        members[f"photos/{doc['photos'][0]['sha1']}{doc['photos'][0]['ext']}"] = b"\0" * (60 * 1024**2)

    def future(doc, members):
        doc["version"] = 99

    cases = {"traversal": (traversal, "points outside"), "missing": (missing, "missing or damaged"),
             "swapped": (swapped, "missing or damaged"), "future": (future, "newer than this fewshot"),
             "bomb": (bomb, "compression ratio|zip bomb")}
    for name, (edit, error) in cases.items():
        with pytest.raises(FewshotError, match=error):
            import_project(store, "ana", variant(f"{name}.zip", edit), name=name)
        assert snapshot(store) == before, name
    with pytest.raises(LimitExceeded, match="max extraction size"):
        import_project(store, "ana", good, name="tiny", limits=Limits(max_extract_bytes=2000))
    assert snapshot(store) == before
    with pytest.raises(FewshotError, match="already have a project called 'pets'"):
        import_project(store, "ana", good)
    assert snapshot(store) == before
