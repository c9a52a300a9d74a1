"""The app's adapter (fewshot/session.py, fewshot/views.py, fewshot/examples.py), called directly as handlers are."""
from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import make_class_folders

from fewshot import Done
from fewshot.ui.tab import photos as P
from fewshot.ui.tab import results as R
from fewshot.ui.tab import state as ST
from fewshot.ui import texts as TX
from fewshot.ui.tab import training as T
from fewshot import views as V
from fewshot.errors import BundleError, DataError, FewshotError, TrainingError
from fewshot.examples import EXAMPLE_CLASSES, download_photo_set, generate_example


@pytest.fixture
def upload_root(tmp_path) -> Path:
    root = tmp_path / "gradio-uploads"
    root.mkdir()
    return root


def as_uploads(folder: Path, upload_root: Path) -> list[tuple[str, str]]:
    """What the browser sends for a dropped folder: each file flattened into the server's upload
    folder (as Gradio stores it: <hash>/<file name>) plus its path relative to the dropped folder."""
    items = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            dest = upload_root / hashlib.sha1(p.read_bytes()).hexdigest() / p.name
            dest.parent.mkdir(exist_ok=True)
            shutil.copy(p, dest)
            items.append((str(dest), str(p.relative_to(folder.parent))))
    return items


def test_dropped_folder_keeps_subfolder_names_as_classes(sess, tmp_path, upload_root):
    src = make_class_folders(tmp_path / "My pets", {"süße Katzen": 6, "dogs": 6})
    items = as_uploads(src, upload_root)
    assert len({Path(p).name for p, _ in items}) < len(items)  # same file names in both classes
    evil = upload_root / "x" / "evil.png"
    evil.parent.mkdir()
    shutil.copy(items[0][0], evil)
    items += [(str(evil), "My pets/../../etc/evil.png"), ("/etc/hostname", "My pets/dogs/stolen.png")]
    ds = P.load_uploaded_folder(sess, items, upload_root, not_images=["My pets/dogs/notes.txt"])
    assert ds.classes == ["dogs", "süße Katzen"]
    assert ds.counts()["total"].tolist() == [6, 6]
    reasons = dict(ds.skipped)
    assert "outside" in reasons["My pets/../../etc/evil.png"]
    assert "did not arrive" in reasons["My pets/dogs/stolen.png"]  # never reads files outside the uploads
    assert "not an image" in reasons["My pets/dogs/notes.txt"]
    assert all(Path(s.path).is_relative_to(sess.dir) for s in ds.train + ds.val)


def test_dropping_loose_pictures_or_nothing_says_what_to_drop(sess, tmp_path, upload_root):
    with pytest.raises(DataError, match="one subfolder"):
        P.load_uploaded_folder(sess, [], upload_root, not_images=["a/readme.md"])
    loose = make_class_folders(tmp_path / "loose", {"x": 3})
    items = [(p, rel.split("/", 1)[1]) for p, rel in as_uploads(loose / "x", upload_root)]
    with pytest.raises(DataError, match="No readable images"):
        P.load_uploaded_folder(sess, items, upload_root)


def test_zip_report_has_counts_thumbnails_skipped_and_warnings(sess, tmp_path):
    src = make_class_folders(tmp_path / "data", {"<b>cats & co": 5, "dogs": 21})
    (src / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    zpath = tmp_path / "pets.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in src.rglob("*"):
            zf.write(p, p.relative_to(tmp_path))
    ds = P.load_zip_file(sess, str(zpath))
    assert ds.classes == ["<b>cats & co", "dogs"] and sess.source == "pets.zip"
    strips = V.thumbnail_strips(ds)
    assert "&lt;b&gt;cats &amp; co" in strips and "<b>cats" not in strips  # names are escaped
    assert strips.count("<img") == 5 + V.THUMBS_PER_CLASS
    assert ds.skipped_frame()["file"].str.contains("broken.jpg").any()
    warnings = V.data_warnings(ds)
    assert "only 5 images" in warnings and "1 file was skipped" in warnings
    assert "pets.zip" in V.data_summary(ds, sess.source)
    with pytest.raises(DataError, match="notes.txt is not a .zip"):
        P.load_zip_file(sess, str(tmp_path / "notes.txt"))


def test_class_cards_add_rename_delete_and_load(sess, tmp_path, upload_root):
    pics = as_uploads(make_class_folders(tmp_path / "p", {"r": 4, "g": 4, "b": 4}), upload_root)
    assert [c.name for c in sess.cards] == ["Class 1", "Class 2"]
    third = P.card_add(sess)
    P.card_rename(sess, sess.cards[0].id, "  red   apples ")
    P.card_rename(sess, sess.cards[1].id, "green")
    P.card_rename(sess, third.id, "blue")
    note = upload_root / "n" / "notes.txt"
    note.parent.mkdir()
    note.write_text("x")
    problems = P.card_add_images(sess, sess.cards[0].id, [p for p, r in pics if "/r/" in r] + [str(note)], upload_root)
    assert problems == ["notes.txt: .txt is not an image type we read"]
    P.card_add_images(sess, sess.cards[1].id, [p for p, r in pics if "/g/" in r], upload_root)
    P.card_add_images(sess, third.id, [p for p, r in pics if "/b/" in r], upload_root)
    P.card_delete(sess, sess.cards[1].id)
    ds = P.load_cards(sess)
    assert ds.classes == ["blue", "red apples"] and ds.counts()["total"].tolist() == [4, 4]
    P.card_rename(sess, third.id, "Red Apples")
    with pytest.raises(DataError, match="both called"):
        P.load_cards(sess)
    P.card_rename(sess, third.id, "")
    with pytest.raises(DataError, match="has no name"):
        P.load_cards(sess)
    for _ in range(ST.MAX_CARDS - len(sess.cards)):
        P.card_add(sess)
    with pytest.raises(DataError, match="folder or a zip"):
        P.card_add(sess)


def test_example_is_deterministic_varied_and_learnable_without_weights(sess, tmp_path, no_weights):
    a, b = generate_example(tmp_path / "a", per_class=4), generate_example(tmp_path / "b", per_class=4)
    c = generate_example(tmp_path / "c", per_class=4, seed=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*.jpg"))
    assert len(files) == 12 and {f.parts[0] for f in files} == set(EXAMPLE_CLASSES)
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files)
    ds = P.load_example(sess)
    assert ds.classes == list(EXAMPLE_CLASSES) and not ds.skipped and len(ds.val) >= 24
    # offline, no weights at all: training from scratch still clearly beats guessing (1/3)
    cfg = T.make_config("resnet18", False, 15, 0.003, "head", batch_size=16)
    assert cfg.preprocessing.crop == 112
    done = [u for u in T.run_training(sess, cfg)][-1].done
    assert done is not None and done.evaluation.accuracy >= 0.6


def test_example_with_pretrained_weights_is_accurate(sess, with_weights):
    P.load_example(sess)
    done = [u for u in T.run_training(sess, T.make_config("mobilenet_v2", True, 12, 0.001, "head"))][-1].done
    assert done.evaluation.accuracy >= 0.85


def test_photo_set_download_offline_says_so(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="offline.*generated example"):
        download_photo_set("ants-bees", tmp_path)
    with pytest.raises(DataError, match="Unknown photo set"):
        download_photo_set("kittens", tmp_path)


@pytest.fixture
def colours(sess, tmp_path, with_weights):
    ds = P.load_uploaded_folder(sess, as_uploads(make_class_folders(tmp_path / "set", {"red": 10, "green": 10,
                                                                                        "blue": 10}), tmp_path),
                                None)
    assert ds.classes == ["blue", "green", "red"]
    return sess


def test_training_streams_updates_and_stop_keeps_the_best_model(colours):
    sess = colours
    updates, epochs_seen = [], set()
    for up in T.run_training(sess, T.make_config("mobilenet_v2", True, 200, 0.003, "head", batch_size=8)):
        updates.append((len(up.history), up.fraction, up.text, up.finished))
        epochs_seen.add(len(up.history))
        assert sess.training
        if len(up.history) >= 3:
            sess.stop.set()  # what the Stop button does
    assert not sess.training
    # streamed while it trains: the first epoch at once, then at most every SNAPSHOT_INTERVAL_S (issue 12: a fast
    # run sent every epoch and the page fell behind), never only the end
    assert 1 in epochs_seen
    assert all(0 <= f <= 1 for _, f, _, _ in updates if f is not None)
    assert any(text.startswith("Step 1 of 2 · looking at your photos") for _, _, text, _ in updates)
    assert any(text.startswith("Step 2 of 2 · training · epoch") for _, _, text, _ in updates)
    done = up.done
    assert done.stopped and done.reason == "stopped" and 3 <= len(done.history) < 200
    assert "Stopped after" in up.text and up.first_point_s is not None
    assert sess.model is done.model
    label = R.predict_image(sess, done.evaluation.misclassified[0]["path"] if done.evaluation.misclassified
                            else sess.dataset.val[0].path)
    assert set(label) == {"blue", "green", "red"} and abs(sum(label.values()) - 1) < 1e-4


def test_the_end_of_training_says_what_choose_for_me_chose(colours):
    from fewshot.i18n import ZH, translate
    up = list(T.run_training(colours, T.make_config("mobilenet_v2", True, 1, 0.001, "auto")))[-1]
    cfg = up.done.model.config
    assert cfg.stage in ("head", "top")
    words = {"head": "only the last layer learned", "top": "the last block learned too"}[cfg.stage]
    assert f"Chosen from your photos: {words}, photos at {cfg.preprocessing.crop} px." in up.text
    assert "根据你的照片自动选择" in translate(up.text, ZH) and "Chosen" not in translate(up.text, ZH)
    fixed = T.make_config("mobilenet_v2", True, 1, 0.001, "head").with_(preprocessing=cfg.preprocessing)
    assert "Chosen" not in list(T.run_training(colours, fixed))[-1].text  # nothing was chosen, nothing to say


def test_second_training_in_a_session_is_refused_while_one_runs(colours):
    gen = T.run_training(colours, T.make_config("mobilenet_v2", True, 2, 0.001, "head"))
    next(gen)
    with pytest.raises(TrainingError, match="already training"):
        next(T.run_training(colours, T.make_config("mobilenet_v2", True, 2, 0.001, "head")))
    colours.stop.set()
    list(gen)
    assert not colours.training


def test_missing_weights_offer_a_backbone_that_is_here(colours, monkeypatch):
    monkeypatch.setenv("FEWSHOT_OFFLINE", "1")
    labels = dict((arch, label) for label, arch in T.backbone_choices())
    assert "✓ on this machine" in labels["mobilenet_v2"] and "45 MB download" in labels["resnet18"]
    assert "download" in T.weights_note("resnet18", True)
    # the one that can start is chosen instead, and its note says why (tests/test_steps_nav.py)
    assert "ResNet18, the usual choice, cannot start here" in T.weights_note("mobilenet_v2", True)
    ups = list(T.run_training(colours, T.make_config("resnet18", True, 2, 0.001, "head")))
    assert ups[-1].finished and not any(u.finished or u.history for u in ups[:-1])
    assert ups[-1].done is None and ups[-1].fraction is None
    assert "resnet18-f37072fd.pth" in ups[-1].weights_missing and ups[-1].fallback == "mobilenet_v2"
    assert not colours.training and colours.model is None


def test_export_formats_and_a_reloaded_bundle_predicts_the_same(colours, tmp_path):
    sess = colours
    with pytest.raises(FewshotError, match="no model"):
        R.export_model(sess, "bundle")
    done = [u for u in T.run_training(sess, T.make_config("mobilenet_v2", True, 3, 0.003, "head"))][-1].done
    assert isinstance(done, Done)
    img = sess.dataset.val[0].path
    before = R.predict_image(sess, img, top_k=3, tta=True)
    bundle = R.export_model(sess, "bundle")
    assert bundle[0].suffix == ".safetensors" and "blue-green-red" in bundle[0].name
    ts = R.export_model(sess, "torchscript")  # ONNX goes the same way (slow: ~30 s; the engine tests cover it)
    assert ts[0].name.endswith(".torchscript.pt") and [p.suffix for p in ts[1:]] == [".json", ".md"]
    with pytest.raises(FewshotError, match="Unknown format"):
        R.export_model(sess, "pickle")
    other = ST.Session()
    try:
        tm = R.load_model_file(other, str(bundle[0]))
        assert tm.classes == ["blue", "green", "red"]
        after = R.predict_image(other, img, top_k=3, tta=True)
        assert after.keys() == before.keys()
        assert all(abs(after[k] - before[k]) < 1e-5 for k in before)
        assert R.per_class_frame(None, tm)["support"].sum() == len(sess.dataset.val)
        assert R.confusion_frame(other).values.sum() == len(sess.dataset.val)
    finally:
        other.cleanup()
    df, csv = R.predict_many(sess, [img, str(tmp_path / "missing.jpg")])
    assert df["prediction"].iloc[0] in {"blue", "green", "red"} and df["problem"].iloc[1]
    assert csv.read_text().splitlines()[0] == "file,prediction,confidence,runner-up,problem"


def test_a_pickle_is_refused_without_being_opened(sess, tmp_path):
    evil = tmp_path / "model.safetensors"
    torch.save({"weights": torch.zeros(2)}, evil)  # a pickle in disguise
    with pytest.raises(BundleError, match="never opened"):
        R.load_model_file(sess, str(evil))
    assert sess.model is None


def test_settings_in_plain_words():
    with pytest.raises(TrainingError, match="whole numbers"):
        T.make_config("resnet18", True, "ten", 0.001, "head")
    with pytest.raises(TrainingError, match="Unknown backbone"):
        T.make_config("alexnet", True, 10, 0.001, "head")
    with pytest.raises(TrainingError, match="learning rate must be positive"):
        T.make_config("resnet18", True, 10, 0, "head")
    cfg = T.make_config("resnet18", True, **{k: v for k, v in TX.PRESETS["Thorough"].items() if k != "augmentation"})
    assert cfg.stage == "top" and cfg.preprocessing is None  # input size chosen from the photos
    assert "ran out of memory" in ST.plain_error(MemoryError())
    assert ST.plain_error(DataError("No readable images")) == "No readable images"


def test_cleanup_deletes_the_session_files_and_stops_training(sess):
    P.load_example(sess)
    assert any(sess.dir.rglob("*.jpg"))
    registry = ST.SessionRegistry()
    assert registry.ensure(sess, "tab-1") is sess
    registry.close("tab-1")
    assert not sess.dir.exists() and sess.stop.is_set() and sess.closed
    fresh = registry.ensure(sess, "tab-1")  # a closed session is never reused
    assert fresh is not sess
    fresh.cleanup()


def test_views_curves_progress_and_accuracy_text():
    hist = [{"epoch": i, "train_loss": 1 / i, "train_acc": 0.5 + i / 10, "val_loss": 1.2 / i, "val_acc": 0.4 + i / 10,
             "seconds": 0.1} for i in (1, 2, 3)]
    loss, acc = V.curve_figures(hist, 10, 4)
    assert [t.name for t in loss.data] == ["training photos", "validation photos"]
    assert list(acc.data[-1].x) == [3]  # the best epoch is starred
    assert acc.layout.xaxis.range == (0.5, 10.5)
    bar = V.progress_html(0.5, "half <way>")
    assert 'aria-valuenow="50"' in bar and "half &lt;way&gt;" in bar
    assert V.eta_text(75) == "about 1 min 15 s left" and V.eta_text(None) == ""
    assert "25%" in V.accuracy_md(0.9, 20, 4) and "18 of 20" in V.accuracy_md(0.9, 20, 4)
    assert V.history_frame(hist).columns.tolist()[:3] == ["epoch", "train_loss", "train_acc"]
