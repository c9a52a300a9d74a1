"""What a first-time user meets on a fresh or offline machine, at the handler level: the weights note, the
missing-weights message (page and command line), a folder of loose photos, the many-pictures table."""
from __future__ import annotations

import contextlib
import io
import re

import pandas as pd
import pytest
from conftest import make_class_folders

from fewshot import cli
from fewshot import i18n as L
from fewshot import models as M
from fewshot.errors import DataError, WeightsUnavailable
from fewshot.ui.tab import photos as P
from fewshot.ui import step_try
from fewshot.ui.tab import training as T


def test_offline_the_weights_note_promises_no_download_and_folds_the_details(no_weights, monkeypatch):
    note = T.weights_note("resnet18", True)
    first = note.split("\n")[0]
    assert "will first download" not in note and "45 MB" not in note
    assert "cannot download them" in first and "train from scratch" in first
    assert "/" not in first  # no folder in the sentence a user reads first
    details = note[note.index("<details>"):]
    assert "resnet18-f37072fd.pth" in details and str(no_weights / "hub" / "checkpoints") in details
    assert "python -m fewshot weights --from FILE" in details and "download.pytorch.org" in details
    assert "</details>" in details
    chinese = L.translate(note, L.ZH, label=True)  # the note is translated piece by piece, details and all
    assert "无法下载" in chinese and "详情：手动添加权重文件" in chinese and "Details" not in chinese
    # online, the same backbone's note still says what the download costs
    monkeypatch.setattr(T, "can_download", lambda: True)
    assert "training will first download them (about 45 MB" in T.weights_note("resnet18", True)


def test_missing_weights_say_one_plain_sentence_and_fold_the_file_folder_and_command(no_weights):
    with pytest.raises(WeightsUnavailable) as err:
        M.load_pretrained_state("resnet18")
    exc = err.value
    assert len(re.findall(r"[.!?](\s|$)", exc.summary)) == 2  # one sentence of what happened, one of what to do
    assert "resnet18-f37072fd.pth" not in exc.summary and "python -m" not in exc.summary
    assert "buttons below" in exc.summary  # the page's own ways out: another backbone, or from scratch
    folded = exc.markdown.split("<details>", 1)[1]
    for fact in ("resnet18-f37072fd.pth", str(no_weights / "hub" / "checkpoints"), "download.pytorch.org",
                 "python -m fewshot weights --from FILE --arch resnet18"):
        assert fact in folded, fact


def test_the_command_line_names_its_real_flags_when_weights_are_missing(no_weights, tmp_path):
    data = make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["train", str(data), "--epochs", "1", "--out", str(tmp_path / "m.safetensors")])
    said = err.getvalue()
    assert code == 2 and "resnet18-f37072fd.pth" in said and "download.pytorch.org" in said
    assert "--scratch" in said and "--weights FILE" in said and "python -m fewshot weights --from FILE" in said
    assert "pretrained off" not in said and "<details>" not in said


def test_the_page_shows_the_short_missing_weights_message_after_train(no_weights, sess, tmp_path):
    folder = make_class_folders(tmp_path / "set", {"red": 4, "green": 4})
    sess.set_dataset(P.load_dataset(folder, limits=sess.limits), "set")
    ups = list(T.run_training(sess, T.make_config("resnet18", True, 1, 0.001, "head")))
    shown = ups[-1].weights_missing
    assert shown.split("\n")[0].endswith("with the buttons below.") and "<details>" in shown
    assert "resnet18-f37072fd.pth" in shown.split("<details>", 1)[1]


def test_a_folder_of_loose_photos_says_to_make_one_subfolder_per_class(sess, tmp_path):
    loose = tmp_path / "my_flowers"
    make_class_folders(tmp_path / "tmp", {"x": 5})
    (tmp_path / "tmp" / "x").rename(loose)
    items = [(str(p), f"my_flowers/{p.name}") for p in sorted(loose.iterdir())]
    with pytest.raises(DataError) as err:
        P.load_uploaded_folder(sess, items, None, source="the folder “my_flowers”")
    msg = str(err.value)
    assert "5 pictures in “my_flowers” are not in class folders" in msg
    assert "one subfolder per class, e.g. my_flowers/cats and my_flowers/dogs" in msg
    assert sess.dataset is None
    assert "请把照片按类别放进各自的子文件夹" in L.translate(msg, L.ZH)


def test_many_pictures_table_shows_percentages_like_single_pictures_and_the_csv_keeps_numbers():
    df = pd.DataFrame([{"file": "a.png", "prediction": "cats", "confidence": 0.7541, "runner-up": "dogs",
                        "problem": ""},
                       {"file": "b.txt", "prediction": "", "confidence": None, "runner-up": "", "problem": "bad"}])
    shown = step_try.shown_table(df)
    assert list(shown["confidence"]) == ["75%", ""]
    assert df["confidence"][0] == 0.7541  # what the CSV is written from is left as it was
