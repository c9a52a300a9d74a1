"""Every label records who gave it (the issue "Numbers a person can trust when the model helped label", item 1):
a person (a click, class folders, an import unless it says otherwise) or an accepted suggestion (with its
confidence and the run or model that suggested it); a demo link's visitor's word is no label until the owner
confirms it. Through the Label step's handlers, the engine, an old database, the exports and the CLI.

The Label step's pool features are each photo's mean colour (tests/test_label_step.py), so that the rules are
tested in milliseconds.
"""
from __future__ import annotations

import csv
import json
import sqlite3
import urllib.parse
import zipfile

import pytest
from conftest import make_image
from test_demo_links import trained_project
from test_label_step import LIMITS, by_truth, colour_features, label_truthfully, pile, ready

from fewshot import i18n as L
from fewshot.project import database as PS
from fewshot.demo_links import DemoLinks
from fewshot.errors import ProjectError
from fewshot.project import ProjectStore
from fewshot.project.io import export_project, import_project, label_from_file
from fewshot.ui.tab import label_html as H
from fewshot.ui import step_label
from fewshot.ui.tab.labels import Desk


@pytest.fixture
def desk(store):
    d = Desk(store.create("me", "pile"), features=colour_features)
    yield d
    d.wait()


def origins(project) -> dict:
    """{sha1: (label, source, confidence, run, model)} of every photo."""
    return {p.sha1: (p.label, *p.origin) for p in project.photos()}


def labelled_with_suggestions(desk: Desk, tmp_path) -> tuple[dict, dict[str, float]]:
    """A red, green and blue pile labelled as asked, then the red suggestions accepted in the grid; the truth by
    sha1 and {sha1: confidence} of the accepted ones."""
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    reds = dict(desk.groups()["red"])
    step_label.act(desk, {"act": "accept", "cls": "red", "threshold": 50})
    return by_truth(desk, truth), {s: c for s, c in reds.items() if c >= 0.5}


# ---- the Label step --------------------------------------------------------------------------------------------
def test_a_click_in_the_label_step_is_a_persons_label(desk, tmp_path):
    items, _ = pile(tmp_path, {"red": 4, "green": 4})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    some = [p.sha1 for p in desk.project.photos()][:3]
    step_label.act(desk, {"act": "label", "ids": some, "cls": "red"})
    again = ProjectStore(desk.project.store.root).open("me", desk.project.id)  # as stored
    got = origins(again)
    assert {s: got[s] for s in some} == {s: ("red", "person", None, None, None) for s in some}
    assert all(o == (None, None, None, None, None) for s, o in got.items() if s not in some)
    assert again.summary()["sources"] == {"person": 3, "suggestion": 0}


def test_accepted_suggestions_are_recorded_as_suggestions_with_their_confidence_and_model(desk, tmp_path):
    truth, accepted = labelled_with_suggestions(desk, tmp_path)
    got = origins(desk.project)
    assert accepted and all(got[s] == ("red", "suggestion", pytest.approx(c), None, "label-step/mobilenet_v2")
                            for s, c in accepted.items())
    hand = [s for s, o in got.items() if o[0] is not None and s not in accepted]
    assert hand and all(got[s][1:] == ("person", None, None, None) for s in hand)
    assert desk.project.summary()["sources"] == {"person": len(hand), "suggestion": len(accepted)}
    assert f"{len(accepted)} of the labels are accepted suggestions" in step_label.status_text(desk)
    # a suggestion a run of the project made names the run by its number
    run = desk.project.run(desk.project.start_run({"arch": "mobilenet_v2"})).number
    blue = next(s for s, c in truth.items() if c == "blue" and got[s][0] is None)
    desk.project.set_labels({blue: "blue"}, source="suggestion", confidence={blue: 0.875}, run=run)
    assert origins(desk.project)[blue] == ("blue", "suggestion", 0.875, run, None)


def test_relabelling_or_confirming_an_accepted_suggestion_by_hand_makes_it_a_persons(desk, tmp_path):
    _, accepted = labelled_with_suggestions(desk, tmp_path)
    same, other, kept = sorted(accepted)[:3]
    step_label.act(desk, {"act": "label", "ids": [same], "cls": "red"})  # the same class, given by hand
    step_label.act(desk, {"act": "label", "ids": [other], "cls": "green"})
    desk.keep(kept, "red")  # "this label is right", said of a suspect
    got = origins(desk.project)
    assert got[same] == ("red", "person", None, None, None) and got[other] == ("green", "person", None, None, None)
    assert got[kept] == ("red", "person", None, None, None)
    assert set(desk.taught()) >= {same, other, kept}  # the suggestions learn from them now
    desk.undo()  # the keep: a suggestion again, as accepted
    assert origins(desk.project)[kept] == ("red", "suggestion", pytest.approx(accepted[kept]), None,
                                           "label-step/mobilenet_v2")


def test_undo_restores_who_gave_each_label_also_after_a_restart(desk, tmp_path):
    _, accepted = labelled_with_suggestions(desk, tmp_path)
    after_accept = origins(desk.project)
    step_label.act(desk, {"act": "label", "ids": list(accepted), "cls": "blue"})  # all relabelled by hand
    assert all(origins(desk.project)[s][:2] == ("blue", "person") for s in accepted)
    restarted = Desk(ProjectStore(desk.project.store.root).open("me", desk.project.id), features=colour_features)
    assert restarted.undo().startswith("Undone")
    assert origins(restarted.project) == after_accept  # suggestions again, with their confidences and model
    restarted.undo()  # the accept itself: unlabelled, with no origin
    assert all(origins(restarted.project)[s] == (None, None, None, None, None) for s in accepted)


def test_renaming_or_merging_a_class_keeps_who_gave_each_label(desk, tmp_path):
    _, accepted = labelled_with_suggestions(desk, tmp_path)
    before = {s: o[1:] for s, o in origins(desk.project).items()}
    desk.rename_class("red", "crimson")
    desk.rename_class("crimson", "green")  # a merge
    assert {s: o[1:] for s, o in origins(desk.project).items()} == before
    desk.undo()  # the merge undone: crimson again, each label as it was
    assert all(origins(desk.project)[s][:2] == ("crimson", "suggestion") for s in accepted)


def test_a_visitors_photo_is_not_a_label_until_the_owner_confirms_it(store, tmp_path):
    p, run = trained_project(store, tmp_path)
    links = DemoLinks(store)
    target = links.resolve(links.create(p, run.id).id)
    says_dog = links.add_feedback(target, make_image(tmp_path / "v" / "a.png", (10, 200, 10), 5, 40), "dog",
                                  ["cat", "dog"])
    says_cat = links.add_feedback(target, make_image(tmp_path / "v" / "b.png", (200, 10, 10), 6, 40), "cat",
                                  ["cat", "dog"])
    desk = Desk(store.open("ana", p.id), features=colour_features)
    desk.start_features()
    ready(desk)
    sent = {ph.sha1: ph for ph in p.photos()}
    assert all(sent[s].label is None and sent[s].hint_source == "visitor" for s in (says_dog, says_cat))
    assert desk.visitors() == {"dog": [says_dog], "cat": [says_cat]} and desk.hints() == {}
    assert p.summary()["sources"] == {"person": 12, "suggestion": 0}  # the class folders' photos only
    desk.view = "suggest"
    grid = H.grid(desk, str)
    assert "visitors say “dog”" in grid and 'data-act="confirm-visitor"' in grid and "Hints from folder" not in grid
    assert "2 photos from visitors of your demo links wait for you" in step_label.status_text(desk)
    zh = H.grid(desk, lambda t: L.translate(t, L.ZH, label=True))
    assert "访问者说是“dog”" in zh and ">确认<" in zh and ">拒绝<" in zh

    step_label.act(desk, {"act": "confirm-visitor", "ids": [says_dog]})
    step_label.act(desk, {"act": "reject-visitor", "ids": [says_cat]})
    got = {ph.sha1: ph for ph in p.photos()}
    assert (got[says_dog].label, got[says_dog].label_source) == ("dog", "person")
    assert (got[says_cat].label, got[says_cat].hint, got[says_cat].hint_source) == (None, None, None)
    assert desk.visitors() == {} and p.summary()["sources"] == {"person": 13, "suggestion": 0}
    desk.undo()  # the reject: what the visitor said is back, to review again
    assert desk.visitors() == {"cat": [says_cat]}


# ---- an old database ------------------------------------------------------------------------------------------
def test_a_version_5_database_migrates_with_its_labels_a_persons_and_the_marked_suggestions_as_such(tmp_path):
    """Every old label is a person's, except those the Label step marked as accepted suggestions (hint
    'model:<class>', what the page wrote before schema 6); old hints under feedback/ are a visitor's."""
    root = tmp_path / "old"
    root.mkdir()
    assert PS.SCHEMA_VERSION >= 6
    rows = [("a1", "cat/1.png", "cat", None), ("a2", "pile/2.png", "cat", "model:cat"),
            ("a3", "feedback/a3.png", None, "dog"), ("a4", "trip/beach/4.png", None, "beach"),
            ("a5", "pile/5.png", None, "model:dog"), ("a6", "dog/6.png", "dog", "an old folder hint")]
    # a5: a suggestion accepted by the action the undo entry takes back
    undo = {"before": {"a5": None}, "hints": {"a5": "model:dog"}, "after": {"a5": "dog"}}  # as schema 5 wrote it
    with sqlite3.connect(root / PS.DB_NAME) as db:
        for m in PS.MIGRATIONS[:5]:
            db.executescript(m)
        db.execute("PRAGMA user_version = 5")
        db.execute("INSERT INTO projects(id, owner, name, created, used) VALUES ('p1', 'me', 'old', 0, 0)")
        db.executemany("INSERT INTO classes VALUES ('p1', ?)", [("cat",), ("dog",)])
        db.executemany("INSERT INTO photos(project_id, sha1, ext, path, label, split, hint, bytes, added) "
                       "VALUES ('p1', ?, '.png', ?, ?, 'train', ?, 1, 0)", rows)
        db.execute("INSERT INTO label_undo(project_id, tab, at, what, body) VALUES ('p1', '', 0, 'labels', ?)",
                   (json.dumps(undo),))
        db.execute("UPDATE photos SET label='dog' WHERE sha1='a5'")  # what that entry's action did
    db.close()
    project = ProjectStore(root).open("me", "p1")
    got = {p.sha1: (p.label, p.label_source, p.hint, p.hint_source) for p in project.photos()}
    assert got == {"a1": ("cat", "person", None, None), "a2": ("cat", "suggestion", None, None),
                   "a3": (None, None, "dog", "visitor"), "a4": (None, None, "beach", "folder"),
                   "a5": ("dog", "suggestion", None, None), "a6": ("dog", "person", "an old folder hint", "folder")}
    desk = Desk(project, features=colour_features)
    assert desk.visitors() == {"dog": ["a3"]} and desk.hints() == {"beach": ["a4"]}
    assert desk.taught() == {"a1": "cat", "a6": "dog"}  # the suggestions learn from a person's labels only
    assert desk.undo().startswith("Undone") and origins(project)["a5"] == (None, None, None, None, None)
    with sqlite3.connect(root / PS.DB_NAME) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE photos SET label='cat' WHERE sha1='a4'")  # the schema refuses a label without a source


# ---- exports and imports --------------------------------------------------------------------------------------
def make_mixed(store, photos, owner: str = "ana"):
    """The pets photos from class folders (a person's), two labels turned into accepted suggestions (one from
    run 1, one from the Label step's head), a visitor's hint on the loose photo, one photo in the check set."""
    p = store.create(owner, "mixed")
    p.add_photos(photos)
    run = p.run(p.start_run({"arch": "mobilenet_v2"})).number
    cats = [ph.sha1 for ph in p.photos(label="cat")]
    p.set_labels({cats[0]: "dog"}, source="suggestion", confidence={cats[0]: 0.93}, run=run)
    p.set_labels({cats[1]: "cat"}, source="suggestion", confidence={cats[1]: 0.61}, model="label-step/mobilenet_v2")
    p.set_hints({p.photos(label=None)[0].sha1: "dog"}, "visitor")
    p.mark_check_set([cats[2]])
    return p


@pytest.fixture
def mixed(store, photos):
    return make_mixed(store, photos)


def test_the_archive_keeps_who_gave_each_label_and_round_trips_it(store, mixed, tmp_path):
    out = export_project(mixed, "archive", tmp_path / "mixed.zip")
    with zipfile.ZipFile(out) as zf:
        doc = json.loads(zf.read("project.json"))
    assert doc["version"] == 2 and {ph["label_source"] for ph in doc["photos"]} == {"person", "suggestion", None}
    copy = import_project(ProjectStore(tmp_path / "elsewhere"), "bo", out, name="copy")
    keep = lambda p: {ph.sha1: (ph.label, *ph.origin, ph.hint, ph.hint_source, ph.checkset)  # noqa: E731
                      for ph in p.photos()}
    assert keep(copy) == keep(mixed) and copy.summary()["sources"] == {"person": 14, "suggestion": 2}
    # an archive of version 1 (before sources) still imports: a person's labels, the Label step's marks read
    for ph in doc["photos"]:
        marked = ph["label_source"] == "suggestion"
        for k in ("label_source", "label_confidence", "label_run", "label_model", "hint_source", "checkset"):
            ph.pop(k)
        if marked:
            ph["hint"] = "model:" + ph["label"]
    old = tmp_path / "old.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(old, "w") as dst:
        for m in src.infolist():
            dst.writestr(m, json.dumps({**doc, "version": 1}) if m.filename == "project.json" else src.read(m))
    older = import_project(store, "ana", old, name="older")
    expected = {ph.sha1: (ph.label, ph.label_source, ph.hint, ph.hint_source) for ph in mixed.photos()}
    loose = mixed.photos(label=None)[0].sha1
    expected[loose] = (None, None, "dog", "folder")  # (version 1 knew a visitor's photo only by feedback/)
    assert {ph.sha1: (ph.label, ph.label_source, ph.hint, ph.hint_source) for ph in older.photos()} == expected


def test_a_csv_export_has_a_source_column_and_reads_back_with_it(store, mixed, photos, tmp_path):
    out = export_project(mixed, "csv", tmp_path / "labels.csv")
    with open(out, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["path", "label", "split", "source"]
    assert sorted(r[3] for r in rows[1:]) == [""] + ["person"] * 14 + ["suggestion"] * 2
    copy = import_project(store, "ana", out, name="copy", photos=photos)
    assert {ph.path: (ph.label, ph.label_source) for ph in copy.photos()} == \
        {ph.path: (ph.label, ph.label_source) for ph in mixed.photos()}
    plain = tmp_path / "plain.csv"  # no source column: a person's labels, as `project label --csv` has it
    plain.write_text("path,label\ncat/000.png,dog\n", encoding="utf-8")
    label_from_file(copy, plain)
    assert [(ph.label, ph.label_source) for ph in copy.photos() if ph.path == "cat/000.png"] == [("dog", "person")]


def test_label_studio_export_writes_a_persons_labels_as_annotations_and_suggestions_as_predictions(mixed, tmp_path):
    out = export_project(mixed, "labelstudio", tmp_path / "ls")
    tasks = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    by_path = {_photo_of(t): t for t in tasks}  # the photo each task's local-files URL names
    stored = {ph.path: ph for ph in mixed.photos()}
    guesses = {path: t["predictions"][0] for path, t in by_path.items() if "predictions" in t}
    assert {path: (stored[path].label_source, g["score"]) for path, g in guesses.items()} == \
        {path: ("suggestion", stored[path].label_confidence) for path in guesses} and len(guesses) == 2
    assert {g["model_version"] for g in guesses.values()} == {"run-1", "label-step/mobilenet_v2"}
    people = [t for t in tasks if "annotations" in t]
    assert len(people) == 14 and not any("predictions" in t for t in people)
    assert people[0]["annotations"][0]["result"][0] == {
        "from_name": "choice", "to_name": "image", "type": "choices",
        "value": {"choices": [stored[_photo_of(people[0])].label]}}


def _photo_of(task: dict) -> str:
    """The project path of the photo a task of our Label Studio export shows (its image is photos/<path>)."""
    return urllib.parse.unquote(task["data"]["image"].removeprefix("/data/local-files/?d=photos/"))


def test_a_label_studio_prediction_never_becomes_a_persons_label_on_import(store, mixed, photos, tmp_path):
    result = lambda cls: [{"from_name": "choice", "to_name": "image", "type": "choices",  # noqa: E731
                           "value": {"choices": [cls]}}]
    ls = tmp_path / "from_ls.json"
    ls.write_text(json.dumps([
        {"data": {"image": "/data/local-files/?d=cat/000.png"},
         "predictions": [{"score": 0.93, "model_version": "yolo-7", "result": result("cat")}]},
        {"data": {"image": "cat/001.png"}, "annotations": [{"result": result("dog")}],
         "predictions": [{"score": 0.99, "result": result("cat")}]},
        {"data": {"image": "cat/002.png"}, "annotations": [{"was_cancelled": True, "result": result("dog")}],
         "predictions": [{"score": 7, "result": result("cat")}]},
        {"image": "cat/003.png", "choice": "cat", "predictions": [{"result": result("dog")}]},  # JSON-MIN
    ]), encoding="utf-8")
    expected = {"cat/000.png": ("cat", "suggestion", 0.93, None, "yolo-7"),
                "cat/001.png": ("dog", "person", None, None, None),
                "cat/002.png": ("cat", "suggestion", None, None, None),  # a score past 1 is no confidence
                "cat/003.png": ("cat", "person", None, None, None)}
    copy = import_project(store, "ana", ls, name="from-ls", photos=photos)
    assert {ph.path: (ph.label, *ph.origin) for ph in copy.photos()} == expected
    label_from_file(mixed, ls)  # onto an existing project: the same
    assert {ph.path: (ph.label, *ph.origin) for ph in mixed.photos() if ph.path in expected} == expected


def test_a_label_and_who_gave_it_are_checked_together(store, photos):
    p = store.create("ana", "checks")
    p.add_photos(photos)
    cat = p.photos(label="cat")[0].sha1
    for bad, why in [(dict(confidence={cat: 0.9}), "Only a suggestion"), (dict(source="robot"), "not 'robot'"),
                     (dict(source="suggestion", confidence={cat: 1.5}), "from 0 to 1"),
                     (dict(source="suggestion", run=1), "no run 1")]:
        with pytest.raises(ProjectError, match=why):
            p.set_labels({cat: "dog"}, **bad)
    assert (p.photos(label="cat")[0].label, p.photos(label="cat")[0].label_source) == ("cat", "person")
    assert p.mark_check_set([cat]) == 1 and p.photos(label="cat")[0].checkset
    with pytest.raises(ProjectError, match="not in this project"):
        p.mark_check_set(["f" * 40])


# ---- the command line -----------------------------------------------------------------------------------------
def test_the_command_line_labels_as_a_person_and_shows_and_exports_who_gave_the_labels(store, photos, tmp_path,
                                                                                       monkeypatch, capsys):
    from fewshot.cli import main
    from fewshot.cli.project import OWNER
    mixed = make_mixed(store, photos, OWNER)
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(store.root))
    loose = mixed.photos(label=None)[0].path
    labels = tmp_path / "labels.csv"
    labels.write_text(f"path,label\n{loose},cat\n", encoding="utf-8")
    assert main(["project", "label", "mixed", "--csv", str(labels)]) == 0
    assert [ph.label_source for ph in mixed.photos() if ph.path == loose] == ["person"]
    capsys.readouterr()
    assert main(["project", "show", "mixed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sources"] == {"person": 15,
                                                                                          "suggestion": 2}
    assert main(["project", "show", "mixed"]) == 0
    assert "labels given by a person: 15, accepted suggestions: 2" in capsys.readouterr().out
    out = tmp_path / "out.csv"
    assert main(["project", "export", "mixed", "--format", "csv", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[0] == "path,label,split,source"
