"""Label Studio's own files import with the right classes, and ours open in Label Studio (the issue "Label Studio
for real"). Every export here was written by the real Label Studio 1.23.2 (tests/fixtures/labelstudio/README.md
says how, and what each task holds); the 20 hymenoptera photos they name are not kept in the repository, so the
tests make stand-ins with the same names, each of its own colour, in class folders ants/ and bees/.

The round trip against a running Label Studio is tests/test_labelstudio_roundtrip.py.
"""
from __future__ import annotations

import json
import shutil
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from fewshot.cli import main
from fewshot.errors import DataError, ProjectError
from fewshot.project.io import LabelReport, export_project, import_project, label_from_file

FIXTURES = Path(__file__).parent / "fixtures" / "labelstudio"
ANTS = ["36439863_0bec9f554f.jpg", "6240338_93729615ec.jpg", "7759525_1363d24e88.jpg", "Ant_1.jpg",
        "army-ants-red-picture.jpg", "formica.jpeg", "kurokusa.jpg", "swiss-army-ant.jpg", "termite-vs-ant.jpg",
        "trap-jaw-ant-insect-bg.jpg"]
BEES = ["17209602_fe5a5a746f.jpg", "21399619_3e61e5bb6f.jpg", "2467959963_a7831e9ff0.jpg",
        "2538361678_9da84b77e3.jpg", "2781170484_5d61835d63.jpg", "36900412_92b81831ad.jpg",
        "39747887_42df2855ee.jpg", "446296270_d9e8b93ecf.jpg", "537309131_532bfa59ea.jpg", "90179376_abc234e5f4.jpg"]
TRUTH = {**{f"ants/{n}": "ants" for n in ANTS}, **{f"bees/{n}": "bees" for n in BEES}}
# project 1 (uploaded photos): what a person labelled in Label Studio, task by task (the fixtures' README)
UPLOADED = {**TRUTH, "ants/6240338_93729615ec.jpg": "bees",  # task 2: wrong on purpose
            "bees/21399619_3e61e5bb6f.jpg": "ants",  # task 12: wrong on purpose
            "bees/2467959963_a7831e9ff0.jpg": None}  # task 13: skipped (its only annotation was cancelled)
# project 2 (local files): the first five photos of each class; task 30 labelled bees on purpose
LOCAL = {**{p: TRUTH[p] for p in [f"ants/{n}" for n in ANTS[:5]] + [f"bees/{n}" for n in BEES[:5]]},
         "ants/army-ants-red-picture.jpg": "bees"}


def standins(root: Path) -> Path:
    """root/ants/<name> and root/bees/<name>: a small JPEG of its own colour for each photo the exports name."""
    for k, (cls, names) in enumerate((("ants", ANTS), ("bees", BEES))):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            Image.new("RGB", (16, 12), (20 + 20 * i, 60 + 120 * k, 90)).save(root / cls / name, "JPEG")
    return root


@pytest.fixture
def hymenoptera(tmp_path) -> Path:
    return standins(tmp_path / "hymenoptera")


@pytest.fixture
def folders(store, hymenoptera):
    """A project made from the class folders: every photo labelled ants or bees by a person (owned by the
    command line's owner, so that `project ...` commands find it)."""
    p = store.create("local", "hymenoptera")
    p.add_photos(hymenoptera)
    return p


def labels(project) -> dict:
    return {ph.path: ph.label for ph in project.photos()}


def origins(project) -> dict:
    return {ph.path: (ph.label, *ph.origin) for ph in project.photos() if ph.label is not None}


def imported(store, hymenoptera, fixture: str, **kw):
    report = LabelReport()
    p = import_project(store, "me", FIXTURES / fixture, name=fixture.replace("/", "-"), photos=hymenoptera,
                       report=report, **kw)
    return p, report


# ---- Label Studio -> fewshot ------------------------------------------------------------------------------------
def test_its_json_export_of_uploaded_photos_imports_with_the_latest_annotation_that_was_not_cancelled(
        store, hymenoptera):
    # uploaded photos are named /data/upload/1/<8 hex>-<original name>: found by that name in the class folders
    p, report = imported(store, hymenoptera, "uploaded/export.json")
    assert labels(p) == UPLOADED  # task 4: bees then ants -> ants; task 3: ants, then a cancelled bees -> ants
    assert {o[1] for o in origins(p).values()} == {"person"}
    assert (report.form, report.tasks, report.people, report.suggestions, report.unmatched) == ("json", 20, 19, 0, [])
    assert report.ids_only == 6 and report.lines() == [
        "6 predictions were listed by id only; export a snapshot with full predictions to bring them"]


@pytest.mark.parametrize("fixture", ["uploaded/export-min.json", "uploaded/export.csv"])
def test_its_json_min_and_csv_exports_take_each_tasks_newest_annotation_and_leave_out_skipped_tasks(
        store, hymenoptera, fixture):
    p, report = imported(store, hymenoptera, fixture)
    # task 4 has two rows, newest (ants) first; task 13, only skipped, is not in these files at all
    assert labels(p) == {k: v for k, v in UPLOADED.items() if v is not None}
    assert (report.tasks, report.people, report.ids_only) == (19, 19, 0)


def test_its_exports_relabel_an_existing_project_and_a_task_without_a_label_changes_nothing(folders):
    report = LabelReport()
    assert label_from_file(folders, FIXTURES / "uploaded" / "export.json", "labelstudio", report=report) == 19
    assert labels(folders) == {**UPLOADED, "bees/2467959963_a7831e9ff0.jpg": "bees"}  # the skip left it as it was
    assert report.matched == 20


def test_a_snapshot_brings_predictions_as_suggestions_with_score_and_model_and_annotations_come_first(
        store, hymenoptera, tmp_path):
    p, report = imported(store, hymenoptera, "uploaded/export-snapshot.json")
    assert labels(p) == UPLOADED and report.ids_only == 0  # task 2: the person's bees, not the model's ants 0.71
    tasks = json.loads((FIXTURES / "uploaded" / "export-snapshot.json").read_text(encoding="utf-8"))
    for t in tasks:
        t["annotations"] = []  # what the models alone said
    bare = tmp_path / "predictions-only.json"
    bare.write_text(json.dumps(tasks), encoding="utf-8")
    q = import_project(store, "me", bare, name="predictions", photos=hymenoptera)
    assert origins(q) == {
        "ants/36439863_0bec9f554f.jpg": ("ants", "suggestion", 0.93, None, "fewshot-v1"),
        "ants/6240338_93729615ec.jpg": ("ants", "suggestion", 0.71, None, "fewshot-v1"),
        "bees/17209602_fe5a5a746f.jpg": ("bees", "suggestion", 0.88, None, "fewshot-v1"),
        "bees/2781170484_5d61835d63.jpg": ("ants", "suggestion", 0.55, None, "fewshot-v1"),
        "bees/36900412_92b81831ad.jpg": ("bees", "suggestion", 0.9, None, "fewshot-v2")}  # the later of two


@pytest.mark.parametrize("fixture", ["localfiles/export.json", "localfiles/export-min.json", "localfiles/export.csv"])
def test_local_files_exports_find_photos_by_their_path_under_any_folder(store, folders, hymenoptera, fixture):
    # /data/local-files/?d=photos/ants/x.jpg is the project's ants/x.jpg: the storage's folder is dropped
    p, report = imported(store, hymenoptera, fixture)
    assert labels(p) == LOCAL and report.unmatched == []
    label_from_file(folders, FIXTURES / fixture)  # onto the project made from class folders (the case)
    assert labels(folders) == {**TRUTH, **LOCAL}


def test_the_import_format_brings_annotations_as_a_persons_labels_and_predictions_as_suggestions(store, hymenoptera):
    p, _ = imported(store, hymenoptera, "import-format/tasks.json")
    assert origins(p) == {"ants/36439863_0bec9f554f.jpg": ("ants", "person", None, None, None),
                          "bees/17209602_fe5a5a746f.jpg": ("bees", "person", None, None, None),
                          "ants/6240338_93729615ec.jpg": ("ants", "person", None, None, None),
                          "bees/21399619_3e61e5bb6f.jpg": ("bees", "suggestion", 0.66, None, "fewshot-v1")}
    assert len(p.photos()) == 6  # the task with nothing and the one only cancelled come in unlabelled


@pytest.mark.parametrize("fixture,tasks,ids_only", [
    ("import-format/export.json", 4, 2), ("import-format/export-min.json", 3, 0), ("import-format/export.csv", 3, 0),
    ("import-format/export-all.json", 6, 3), ("import-format/export-all-min.json", 5, 0),
    ("import-format/export-all.csv", 5, 0)])
def test_imported_tasks_exported_again_keep_their_annotations(store, hymenoptera, fixture, tasks, ids_only):
    p, report = imported(store, hymenoptera, fixture)
    assert {k: v for k, v in labels(p).items() if v} == {"ants/36439863_0bec9f554f.jpg": "ants",
                                                         "bees/17209602_fe5a5a746f.jpg": "bees",
                                                         "ants/6240338_93729615ec.jpg": "ants"}
    assert (report.tasks, report.people, report.ids_only) == (tasks, 3, ids_only)


def test_a_name_that_matches_two_photos_is_refused_naming_both_and_content_tells_them_apart(store, tmp_path):
    root = tmp_path / "same-names"
    for cls, colour in (("ants", (200, 30, 30)), ("bees", (30, 30, 200))):
        (root / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8), colour).save(root / cls / "x.jpg", "JPEG")
    p = store.create("me", "twins")
    p.add_photos(root)
    upload = tmp_path / "ls-media" / "upload" / "1"  # Label Studio's media folder: the uploaded bytes, renamed
    upload.mkdir(parents=True)
    shutil.copyfile(root / "bees" / "x.jpg", upload / "0a1b2c3d-x.jpg")
    export = tmp_path / "min.json"
    export.write_text(json.dumps([{"image": "/data/upload/1/0a1b2c3d-x.jpg", "id": 1, "choice": "ants"}]))
    with pytest.raises(DataError, match=r"min.json task 1: '/data/upload/1/0a1b2c3d-x.jpg' matches two photos, "
                                        r"'ants/x.jpg' and 'bees/x.jpg'"):
        label_from_file(p, export)
    label_from_file(p, export, images=tmp_path / "ls-media")
    assert labels(p) == {"ants/x.jpg": "ants", "bees/x.jpg": "ants"}


def test_tasks_naming_no_photo_are_listed_and_a_file_naming_none_is_refused(folders, tmp_path):
    rows = [{"image": f"/data/upload/3/0000000{i}-gone-{i}.jpg", "id": i, "choice": "ants"} for i in range(7)]
    export = tmp_path / "other.json"
    export.write_text(json.dumps([*rows, {"image": "/data/upload/3/12345678-Ant_1.jpg", "id": 9, "choice": "bees"}]))
    report = LabelReport()
    assert label_from_file(folders, export, report=report) == 1 and labels(folders)["ants/Ant_1.jpg"] == "bees"
    assert len(report.unmatched) == 7 and report.lines()[0].startswith(
        "7 tasks named no photo here and were left out: /data/upload/3/00000000-gone-0.jpg, ")
    export.write_text(json.dumps(rows))
    with pytest.raises(DataError, match="other.json: none of its 7 tasks names a photo here"):
        label_from_file(folders, export)


# ---- fewshot -> Label Studio ------------------------------------------------------------------------------------
@pytest.fixture
def mixed(folders):
    """A person's labels, two accepted suggestions (one of a run, one of a model), and two unlabelled photos."""
    by_path = {ph.path: ph.sha1 for ph in folders.photos()}
    folders.set_labels({by_path["bees/17209602_fe5a5a746f.jpg"]: "bees"}, source="suggestion", confidence=0.81,
                       model="label-step/mobilenet_v2")
    folders.set_labels({by_path["ants/Ant_1.jpg"]: "ants"}, source="suggestion", confidence=0.97)
    folders.set_labels({by_path["ants/formica.jpeg"]: None, by_path["bees/90179376_abc234e5f4.jpg"]: None})
    return folders


def test_our_export_is_label_studios_import_format_with_a_config_and_the_photos(mixed, tmp_path):
    out = export_project(mixed, "labelstudio", tmp_path / "for-ls")
    tasks = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    assert len(tasks) == 20 and all(set(t) <= {"data", "annotations", "predictions"} for t in tasks)
    by_path = {urllib.parse.unquote(t["data"]["image"].removeprefix("/data/local-files/?d=photos/")): t for t in tasks}
    assert set(by_path) == set(TRUTH)
    for path, t in by_path.items():  # the photo Label Studio will serve is the project's own
        assert (out / "photos" / path).read_bytes() == (tmp_path / "hymenoptera" / path).read_bytes()
    result = {"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": ["ants"]}}
    assert by_path["ants/kurokusa.jpg"]["annotations"] == [{"result": [result], "was_cancelled": False,
                                                            "ground_truth": False}]
    assert by_path["ants/Ant_1.jpg"]["predictions"] == [{"result": [result], "score": 0.97, "model_version": "fewshot"}]
    assert by_path["bees/17209602_fe5a5a746f.jpg"]["predictions"][0]["model_version"] == "label-step/mobilenet_v2"
    assert sum("annotations" in t for t in tasks) == 16 and sum("predictions" in t for t in tasks) == 2
    assert set(by_path["ants/formica.jpeg"]) == {"data"}  # unlabelled: to be labelled in Label Studio
    config = ET.fromstring((out / "label_config.xml").read_text(encoding="utf-8"))
    assert config.find("Image").attrib == {"name": "image", "value": "$image"}
    assert [c.get("value") for c in config.find("Choices")] == ["ants", "bees"]
    steps = (out / "README.txt").read_text(encoding="utf-8")
    assert f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={out.resolve()} label-studio start" in steps
    assert f"absolute local path {out.resolve() / 'photos'}" in steps and "do not sync" in steps


def test_our_export_reads_back_with_who_gave_each_label(store, mixed, hymenoptera, tmp_path):
    out = export_project(mixed, "labelstudio", tmp_path / "for-ls")
    back = import_project(store, "me", out / "tasks.json", name="back", photos=hymenoptera)
    # a suggestion whose model was not recorded is exported as model_version "fewshot" (Label Studio would say
    # "undefined"), and comes back so
    expected = origins(mixed)
    expected["ants/Ant_1.jpg"] = ("ants", "suggestion", 0.97, None, "fewshot")
    assert origins(back) == expected and len(back.photos()) == 20


def test_class_names_are_escaped_paths_quoted_and_a_document_root_above_the_export_is_honoured(store, tmp_path):
    root = tmp_path / "photos"
    (root / "a & b").mkdir(parents=True)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(root / "a & b" / "my photo #1.jpg")
    p = store.create("me", "odd")
    p.add_photos(root)
    p.add_class('say "hi" <now>')
    out = export_project(p, "labelstudio", tmp_path / "served" / "odd", document_root=tmp_path / "served")
    image = json.loads((out / "tasks.json").read_text())[0]["data"]["image"]
    assert image == "/data/local-files/?d=odd/photos/a%20%26%20b/my%20photo%20%231.jpg"
    assert (tmp_path / "served" / urllib.parse.unquote(image.split("?d=")[1])).is_file()
    choices = [c.get("value") for c in ET.parse(out / "label_config.xml").getroot().iter("Choice")]
    assert choices == ["a & b", 'say "hi" <now>']
    with pytest.raises(ProjectError, match="is not inside"):
        export_project(p, "labelstudio", tmp_path / "elsewhere", document_root=tmp_path / "served")


def test_an_export_replaces_an_earlier_one_but_never_a_folder_of_other_files(mixed, tmp_path):
    out = export_project(mixed, "labelstudio", tmp_path / "for-ls")
    (out / "photos" / "stale.jpg").write_bytes(b"old")
    export_project(mixed, "labelstudio", out)
    assert not (out / "photos" / "stale.jpg").exists() and (out / "tasks.json").is_file()
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []  # no temporary folder left
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ProjectError, match="already holds other files"):
        export_project(mixed, "labelstudio", tmp_path / "mine")
    with pytest.raises(ProjectError, match="is a folder .* not labels.json"):
        export_project(mixed, "labelstudio", tmp_path / "labels.json")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_the_command_line_says_what_came_in_and_how_to_open_the_export(store, mixed, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(store.root))
    out = tmp_path / "for-ls"
    assert main(["project", "export", "hymenoptera", "--format", "labelstudio", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "20 tasks, 16 with a person's label (annotations), 2 with an accepted suggestion (predictions), " \
           "2 unlabelled" in said and f"absolute local path {out.resolve() / 'photos'}" in said
    assert main(["project", "label", "hymenoptera", "--labelstudio", str(FIXTURES / "uploaded" / "export.json")]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[1:] == ["Label Studio json export: 20 tasks; 19 photos labelled by a person, 0 by an accepted "
                        "suggestion",
                        "6 predictions were listed by id only; export a snapshot with full predictions to bring them"]
    assert main(["project", "label", "hymenoptera", "--csv", str(FIXTURES / "uploaded" / "export.csv")]) == 0
    assert "Label Studio csv export: 19 tasks" in capsys.readouterr().out
