"""One screen per step: which step a person is sent to next, how photos in any shape are read, and which
backbone the Train step starts with when the usual one cannot start offline."""
from __future__ import annotations

import zipfile

import pytest

from fewshot.ui.nav import Progress
from fewshot.ui.tab.photos import photo_layout, zip_photo_names
from fewshot.ui.tab.training import preselected_backbone, weights_note


@pytest.mark.parametrize("paths, shape", [
    (["pets/cats/1.jpg", "pets/dogs/2.jpg"], "classes"),  # a dropped folder of class folders
    (["cats/1.jpg", "dogs/2.jpg"], "classes"),  # a zip of class folders, no top folder
    (["set/train/cats/1.jpg", "set/train/dogs/2.jpg", "set/val/cats/3.jpg"], "classes"),  # train/ + val/
    (["a.jpg", "b.png", "c.jpg"], "pile"),  # loose photos chosen one by one
    (["holiday/a.jpg", "holiday/b.jpg"], "pile"),  # a folder of loose photos
    (["holiday/day1/a.jpg", "holiday/day1/b.jpg"], "pile"),  # one folder in a folder: not two classes
    (["x/cats/1.jpg", "x/a.jpg", "x/b.jpg", "x/c.jpg", "x/dogs/2.jpg"], "pile"),  # mostly loose
    (["pets/cats/1.jpg", "pets/dogs/2.jpg", "pets/notes.txt"], "classes"),  # other files do not count
])
def test_photos_in_any_shape_are_read_as_class_folders_or_a_pile(paths, shape):
    assert photo_layout(paths)[0] == shape


def test_the_drop_zone_counts_what_it_saw():
    assert photo_layout(["pets/cats/1.jpg", "pets/dogs/2.jpg", "pets/dogs/3.jpg", "pets/x.txt"]) == ("classes", 3, 2)
    assert photo_layout(["s/train/cats/1.jpg", "s/val/cats/2.jpg", "s/train/dogs/3.jpg"]) == ("classes", 3, 2)
    assert photo_layout(["a.jpg", "b.jpg"]) == ("pile", 2, 0)


def test_a_zip_is_read_from_its_directory_without_unpacking(tmp_path):
    z = tmp_path / "pile.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("pile/", "")
        zf.writestr("pile/a.jpg", b"not really a jpeg")
        zf.writestr("pile/b.jpg", b"not really a jpeg")
    assert zip_photo_names(z) == ["pile/a.jpg", "pile/b.jpg"]
    assert photo_layout(zip_photo_names(z))[0] == "pile"
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK no zip")
    assert zip_photo_names(broken) == []  # loading it says why; reading its shape does not fail


def test_a_pile_leads_to_labelling_then_training_then_checking():
    pile = Progress(photos=300, unlabelled=300)
    assert pile.next_after("photos") == "label"
    assert pile.next_after("label") is None  # nothing to train on yet: no Next button
    labelled = Progress(photos=300, unlabelled=250, classes=5)
    assert labelled.next_after("label") == "train" and labelled.next_after("photos") == "label"
    folders = Progress(photos=120, classes=3)
    assert folders.next_after("photos") == "train"  # nothing to label: the Label step is skipped
    assert folders.next_after("train") is None  # no model yet
    trained = Progress(photos=120, classes=3, model=True)
    assert [trained.next_after(k) for k in ("train", "check", "try")] == ["check", "try", "share"]
    assert trained.done("train") and trained.done("photos") and not trained.done("label")
    assert not Progress(photos=40, classes=1).can_start("train")  # one class cannot be told apart from nothing


def test_offline_without_the_usual_weights_the_train_step_starts_with_one_that_can_start(with_weights, monkeypatch):
    monkeypatch.setenv("FEWSHOT_OFFLINE", "1")
    arch, why = preselected_backbone("resnet18")
    assert arch == "mobilenet_v2"  # its weights are the only ones here
    assert "ResNet18" in why and "offline" in why and "MobileNetV2" in why
    assert preselected_backbone("mobilenet_v2") == ("mobilenet_v2", "")  # the usual one can start: kept
    assert weights_note("mobilenet_v2", True) == why  # the note under the list says it, whenever it is drawn


def test_with_no_weights_at_all_the_usual_backbone_stays_and_nothing_is_promised(no_weights):
    assert preselected_backbone("resnet18") == ("resnet18", "")


def test_train_pressed_after_labelling_trains_on_the_labelled_photos_without_the_hand_over(tmp_path, monkeypatch):
    """The Label step's Next button leads to Train; Train then trains on the project's labelled photos even where
    "Use the labelled photos for training" was not pressed (before, it said "Load some photos first")."""
    from fewshot.ui.tab import photos as P
    from fewshot.ui.tab import state as ST
    from fewshot.ui.tab import training as T
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    sess = ST.Session()
    sess.project_owner = "local"
    try:
        P.load_example(sess, per_class=6)  # the project's labelled photos (as labels given in the Label step)
        sess.dataset = None  # never handed over to training
        from fewshot.ui.nav import progress
        assert progress(sess) == Progress(photos=18, unlabelled=0, classes=3, model=False)
        assert progress(sess).next_after("photos") == "train"
        cfg = T.make_config("mobilenet_v2", False, 1, 0.003, "head", batch_size=8)
        done = list(T.run_training(sess, cfg))[-1].done
        assert done is not None and sess.dataset is not None
        assert sess.dataset.classes == sess.project.classes()
        assert progress(sess).model and progress(sess).next_after("train") == "check"
    finally:
        sess.cleanup()


def test_photos_dropped_before_the_page_finished_loading_stay_in_a_project_the_reload_finds(tmp_path, monkeypatch):
    """A drop that beats the page's load event (which gives the tab its owner) still makes a project, and the load
    event that follows keeps that owner: the reload finds the project (before, the photos stayed in no project)."""
    import json

    import gradio as gr
    from conftest import make_class_folders
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    from fewshot.ui import build_app
    fn = {f.name: f.fn for f in build_app().blocks.fns.values()}
    pets = make_class_folders(tmp_path / "uploads" / "x" / "pets", {"cats": 4, "dogs": 4})
    payload = json.dumps({"items": [{"path": str(f), "rel": str(f.relative_to(pets.parent))}
                                    for f in sorted(pets.rglob("*.png"))], "others": []})
    request = gr.Request(headers={}, cookies={}, session_hash="early-drop")
    out = fn["on_folder"](payload, None, request)
    sess = next(v for v in out.values() if type(v).__name__ == "Session")
    assert sess.project is not None and sess.project.name == "pets"
    owner = sess.project_owner
    fn["on_load"]({}, sess, request)  # the page's load event, after the drop
    assert sess.project_owner == owner and sess.project.name == "pets"
    sess.cleanup()
