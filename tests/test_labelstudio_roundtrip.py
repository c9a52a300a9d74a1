"""The round trip both ways against a real Label Studio on loopback (tests/labelstudio_server.py starts it from
a venv of its own; .ci/run installs label-studio==1.23.2 there, so CI runs this, and a clone without one skips it
with the reason).

fewshot -> Label Studio: a project of 20 stand-in hymenoptera photos (14 labelled by a person, one of them wrong,
3 accepted suggestions, 3 unlabelled) exported as a folder, opened as its README says: a project with our
label_config.xml, a Local files storage on its photos/ (not synced), tasks.json imported. Label Studio must count
14 annotations and 3 predictions, and serve every picture.
Label Studio -> fewshot: a person fixes the wrong label, labels an unlabelled photo, skips another and confirms a
suggestion; a model predicts one more. Its JSON, JSON-MIN and CSV exports and a snapshot with full predictions
come back with the classes and counts expected, predictions as suggestions, never as a person's labels.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from labelstudio_server import CI_VENV, program, start, wait_for_ci_install
from test_labelstudio_files import TRUTH, standins

from fewshot.project import ProjectStore
from fewshot.project.io import LabelReport, export_project, import_project

SUGGESTED = {"bees/17209602_fe5a5a746f.jpg": ("bees", 0.81, "label-step/mobilenet_v2"),
             "ants/kurokusa.jpg": ("ants", 0.93, None),  # no model recorded: exported as model_version "fewshot"
             "bees/39747887_42df2855ee.jpg": ("ants", 0.6, "m2")}
UNLABELLED = ["ants/formica.jpeg", "bees/90179376_abc234e5f4.jpg", "bees/446296270_d9e8b93ecf.jpg"]
WRONG = {"ants/Ant_1.jpg": "bees"}  # a person's slip, fixed in Label Studio
TIMES: dict[str, float] = {}
FIGURES: list[str] = []  # what each direction brought, printed at the end


def _say(request, text: str) -> None:
    """A line in pytest's output even when output is captured (the timings the issue asks for)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(text, flush=True)


@pytest.fixture(scope="module")
def ls(request, tmp_path_factory):
    """Label Studio on 127.0.0.1, serving local files from an empty folder (`ls.root`) the export goes into."""
    problem = wait_for_ci_install()  # .ci/run installs it in the background while the suite runs
    exe = program()
    if problem or exe is None:
        why = problem or ("no Label Studio installed: run .ci/labelstudio (it installs label-studio==1.23.2 into "
                          f"{CI_VENV}), or set FEWSHOT_LABEL_STUDIO to the bin/label-studio of a venv of its own")
        if os.environ.get("CI"):
            pytest.fail(f"CI installs Label Studio (.ci/run), yet {why}")
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("labelstudio")
    root = folder / "served"
    root.mkdir()
    server, TIMES["start"] = start(exe, folder, root)
    server.root = root
    _say(request, f"\nLabel Studio ({exe}) answered {TIMES['start']:.0f} s after its start")
    yield server
    server.stop()
    _say(request, "\n".join(["", *FIGURES, "Label Studio round trip: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in TIMES.items())]))


@pytest.fixture(scope="module")
def opened(ls, tmp_path_factory):
    """Our export opened in Label Studio as its README says; (store, photos folder, LS project id, import answer,
    tasks by photo path)."""
    t0 = time.monotonic()
    photos = standins(tmp_path_factory.mktemp("hymenoptera"))
    store = ProjectStore(tmp_path_factory.mktemp("store"))
    p = store.create("me", "hymenoptera")
    p.add_photos(photos)
    sha1 = {ph.path: ph.sha1 for ph in p.photos()}
    p.set_labels({sha1[k]: v for k, v in WRONG.items()})
    for path, (cls, conf, model) in SUGGESTED.items():
        p.set_labels({sha1[path]: cls}, source="suggestion", confidence=conf, model=model)
    p.set_labels({sha1[k]: None for k in UNLABELLED})
    out = export_project(p, "labelstudio", ls.root)
    pid = ls.api("POST", "/api/projects/", json={"title": "fewshot round trip",
                                                 "label_config": (out / "label_config.xml").read_text()})["id"]
    ls.api("POST", "/api/storages/localfiles/", json={"project": pid, "title": "fewshot photos",
                                                      "path": str(out / "photos"), "use_blob_urls": True,
                                                      "recursive_scan": True})  # added, never synced
    with open(out / "tasks.json", "rb") as f:  # the Import dialog's upload
        answer = ls.api("POST", f"/api/projects/{pid}/import", files={"tasks.json": ("tasks.json", f)})
    tasks = ls.api("GET", f"/api/tasks/?project={pid}&page_size=1000&fields=all")["tasks"]
    by_path = {t["data"]["image"].split("?d=photos/", 1)[1]: t for t in tasks}
    TIMES["fewshot to Label Studio"] = time.monotonic() - t0
    return store, photos, pid, answer, by_path


def test_our_export_opens_in_label_studio_with_a_persons_labels_suggestions_and_pictures(ls, opened):
    _, photos, pid, answer, by_path = opened
    assert (answer["task_count"], answer["annotation_count"], answer["prediction_count"]) == (20, 14, 3)
    counts = ls.api("GET", f"/api/projects/{pid}/")
    assert (counts["task_number"], counts["total_annotations_number"], counts["total_predictions_number"],
            counts["num_tasks_with_annotations"]) == (20, 14, 3, 14)  # ordinary annotations, not ground truth
    assert set(by_path) == set(TRUTH)
    shown = {path: t["annotations"][0]["result"][0]["value"]["choices"][0] for path, t in by_path.items()
             if t["annotations"]}
    assert shown == {k: v for k, v in {**TRUTH, **WRONG}.items() if k not in SUGGESTED and k not in UNLABELLED}
    guesses = {path: (t["predictions"][0]["result"][0]["value"]["choices"][0], t["predictions"][0]["score"],
                      t["predictions"][0]["model_version"]) for path, t in by_path.items() if t["predictions"]}
    assert guesses == {k: (c, s, m or "fewshot") for k, (c, s, m) in SUGGESTED.items()}
    FIGURES.append(f"in Label Studio: {counts['task_number']} tasks, {counts['total_annotations_number']} annotations, "
                   f"{counts['total_predictions_number']} predictions")
    t0 = time.monotonic()
    for path, t in by_path.items():  # every picture loads, as the labelling page asks for it
        r = ls.http.get(ls.url + t["data"]["image"], timeout=60)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/"), (path, r.status_code)
        assert r.content == (photos / path).read_bytes()
    FIGURES.append(f"{len(by_path)} of 20 pictures load (200 {r.headers['Content-Type']}, the photo's bytes)")
    TIMES["20 pictures"] = time.monotonic() - t0


def _result(cls: str) -> list[dict]:
    return [{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [cls]}}]


def _export(ls, pid: int, kind: str, folder: Path) -> Path:
    """Label Studio's export of the project, saved as it sent it: JSON, JSON_MIN, CSV, or a snapshot with full
    predictions and every annotation (as the README's command asks for)."""
    if kind != "snapshot":
        data = ls.api("GET", f"/api/projects/{pid}/export?exportType={kind}", raw=True).content
    else:
        snap = ls.api("POST", f"/api/projects/{pid}/exports/", json={
            "serialization_options": {"predictions": {"only_id": False}},
            "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True}})
        for _ in range(240):
            if ls.api("GET", f"/api/projects/{pid}/exports/{snap['id']}")["status"] in ("completed", "failed"):
                break
            time.sleep(0.25)
        data = ls.api("GET", f"/api/projects/{pid}/exports/{snap['id']}/download?exportType=JSON", raw=True).content
    out = folder / f"{kind.lower()}.{'csv' if kind == 'CSV' else 'json'}"
    out.write_bytes(data)
    return out


def test_label_studios_exports_come_back_with_what_was_done_there(ls, opened, tmp_path):
    store, photos, pid, _, by_path = opened
    t0 = time.monotonic()
    fixed = {"ants/Ant_1.jpg": "ants", "ants/formica.jpeg": "ants", "bees/17209602_fe5a5a746f.jpg": "bees"}
    for path, cls in fixed.items():  # a fix, a new label, a suggestion confirmed by a person
        ls.api("POST", f"/api/tasks/{by_path[path]['id']}/annotations/", json={"result": _result(cls)})
    ls.api("POST", f"/api/tasks/{by_path['bees/90179376_abc234e5f4.jpg']['id']}/annotations/",
           json={"result": [], "was_cancelled": True})  # skipped
    ls.api("POST", "/api/predictions/", json={"task": by_path["bees/446296270_d9e8b93ecf.jpg"]["id"],
                                              "result": _result("bees"), "score": 0.7, "model_version": "ls-model"})
    people = {k: v for k, v in TRUTH.items() if k not in SUGGESTED and k not in UNLABELLED}
    people.update(fixed)
    suggestions = {"ants/kurokusa.jpg": ("ants", "suggestion", 0.93, None, "fewshot"),
                   "bees/39747887_42df2855ee.jpg": ("ants", "suggestion", 0.6, None, "m2"),
                   "bees/446296270_d9e8b93ecf.jpg": ("bees", "suggestion", 0.7, None, "ls-model")}
    expected = {  # kind: (tasks in the file, predictions listed by id only, suggestions that come back)
        "JSON": (17, 1, {}), "JSON_MIN": (16, 0, {}), "CSV": (16, 0, {}), "snapshot": (20, 0, suggestions)}
    for kind, (tasks, ids_only, guesses) in expected.items():
        report = LabelReport()
        back = import_project(store, "me", _export(ls, pid, kind, tmp_path), name=f"back-{kind}", photos=photos,
                              report=report)
        got = {ph.path: (ph.label, *ph.origin) for ph in back.photos() if ph.label is not None}
        assert got == {**{k: (v, "person", None, None, None) for k, v in people.items()}, **guesses}, kind
        assert (report.tasks, report.ids_only, report.unmatched) == (tasks, ids_only, []), kind
        classes = back.summary()["classes"]
        assert classes == {c: sum(v[0] == c for v in got.values()) for c in ("ants", "bees")}
        FIGURES.append(f"{kind}: {report.tasks} tasks -> {report.people} labels by a person, {report.suggestions} "
                       f"suggestions, classes {classes}, {report.ids_only} predictions by id only")
    TIMES["Label Studio to fewshot"] = time.monotonic() - t0
