"""Evaluating a model on photos it trained on says so, and gives the accuracy on the new ones apart.

Issue 12 item 2: `evaluate` on the training folder reported 98% with no warning (really new photos: 84%).
A saved model keeps fingerprints (short content hashes) of its training and validation photos; a model
saved before that still evaluates and says it cannot tell.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from safetensors import safe_open
from safetensors.torch import save_file

from fewshot import BundleError, Preprocessing, TrainConfig, load_bundle, load_dataset, run_to_end, save_bundle, train
from fewshot import i18n as L
from fewshot.data import fingerprint
from fewshot.predict import evaluate_photos
from tests.cli_inproc import run_cli
from tests.conftest import make_class_folders


def cli(*args) -> subprocess.CompletedProcess:
    """`python -m fewshot ARGS`, called in this process (tests/cli_inproc.py)."""
    return run_cli(*args)


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny model trained from scratch on 2 x 10 photos (8 train + 2 validation per class)."""
    tmp = tmp_path_factory.mktemp("seen")
    data = make_class_folders(tmp / "data", {"circle": 10, "square": 10})
    ds = load_dataset(data)
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=1, batch_size=8,
                      preprocessing=Preprocessing(resize=40, crop=32))
    tm = run_to_end(train(ds, cfg)).model
    return tmp, data, ds, save_bundle(tm, tmp / "m.safetensors")


def test_the_saved_model_keeps_compact_fingerprints_of_its_training_and_validation_photos(model, tmp_path):
    _, _, ds, bundle = model
    with safe_open(str(bundle), "pt") as f:
        meta = f.metadata()
    train_fp, val_fp = meta["train_fingerprints"], meta["val_fingerprints"]
    assert len(train_fp) == 16 * len(ds.train) and len(val_fp) == 16 * len(ds.val)
    chunks = [train_fp[i:i + 16] for i in range(0, len(train_fp), 16)]
    assert chunks == sorted(fingerprint(s.digest) for s in ds.train)
    tm = load_bundle(bundle)
    assert tm.fingerprints == {"train": chunks, "val": sorted(fingerprint(s.digest) for s in ds.val)}
    # saved again, it keeps them
    assert load_bundle(save_bundle(tm, tmp_path / "again.safetensors")).fingerprints == tm.fingerprints
    # damaged fingerprints are refused like any broken metadata, never half-read
    with safe_open(str(bundle), "pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}
    save_file(state, tmp_path / "bad.safetensors", metadata={**meta, "train_fingerprints": "not hex at all!"})
    with pytest.raises(BundleError, match="broken metadata"):
        load_bundle(tmp_path / "bad.safetensors")


def test_evaluating_on_its_own_training_folder_says_every_photo_was_seen(model):
    tmp, data, ds, bundle = model
    ev = evaluate_photos(load_bundle(bundle), data)
    assert ev.images == 20
    assert ev.seen_in_training == len(ds.train) == 16 and ev.seen_in_validation == len(ds.val) == 4
    assert ev.unseen == 0 and ev.accuracy_unseen is None and ev.unseen_report is None
    assert ev.summary().startswith("All 20 photos were used to train this model (16 for training, 4 for validation)")
    r = cli("evaluate", bundle, data, "--json")
    assert r.returncode == 0, r.stderr
    out = last_json(r.stdout)
    assert out["images"] == 20 and out["seen_in_training"] == 16 and out["seen_in_validation"] == 4
    assert out["unseen"] == 0 and out["accuracy_unseen"] is None
    r = cli("evaluate", bundle, data)
    assert r.returncode == 0, r.stderr
    assert "says little about new photos: evaluate on photos it never saw" in r.stdout


def test_evaluating_on_partly_new_photos_counts_the_seen_ones_and_scores_the_new_ones_apart(model, tmp_path):
    _, data, ds, bundle = model
    mixed = tmp_path / "mixed"
    new = make_class_folders(tmp_path / "new", {"circle": 4, "square": 4}, seed=7)  # never seen
    shutil.copytree(new, mixed)
    by_class = {c: [s for s in ds.train if ds.classes[s.label] == c] for c in ds.classes}
    for c, samples in by_class.items():  # 3 training photos a class, renamed: matched by content
        for i, s in enumerate(samples[:3]):
            shutil.copy(s.path, mixed / c / f"copy-of-train-{i}.png")
    val = ds.val[0]
    shutil.copy(val.path, mixed / ds.classes[val.label] / "was-validation.png")
    tm = load_bundle(bundle)
    ev = evaluate_photos(tm, mixed)
    assert (ev.images, ev.seen_in_training, ev.seen_in_validation, ev.unseen) == (15, 6, 1, 8)
    only_new = evaluate_photos(tm, new)
    assert only_new.seen_in_training == 0 and only_new.unseen == 8
    assert ev.accuracy_unseen == pytest.approx(only_new.report.accuracy)
    assert sorted(m["path"] for m in ev.unseen_report.misclassified) == \
        sorted(str(mixed / os.path.relpath(m["path"], new)) for m in only_new.report.misclassified)
    assert only_new.summary() == (f"None of these 8 photos were used to train this model: "
                                  f"{only_new.report.accuracy:.0%} is a fair measure on new photos.")
    expected = (f"6 of 15 photos were in this model's training set and 1 were its validation photos: "
                f"{ev.report.accuracy:.0%} on all, {ev.accuracy_unseen:.0%} on the 8 it never saw.")
    assert ev.summary() == expected
    assert re.search(r"[\u4e00-\u9fff]", L.translate(ev.summary(), "zh-CN"))  # the page shows it in Chinese too
    r = cli("evaluate", bundle, mixed, "--json")
    assert r.returncode == 0, r.stderr
    out = last_json(r.stdout)
    assert (out["images"], out["seen_in_training"], out["seen_in_validation"], out["unseen"]) == (15, 6, 1, 8)
    assert out["accuracy_unseen"] == pytest.approx(only_new.report.accuracy)
    r = cli("evaluate", bundle, mixed)
    assert r.returncode == 0 and expected in r.stdout, r.stdout + r.stderr


def test_a_model_saved_before_fingerprints_still_evaluates_and_says_it_cannot_tell(model, tmp_path):
    _, data, _, bundle = model
    with safe_open(str(bundle), "pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}
        meta = {k: v for k, v in f.metadata().items() if "fingerprint" not in k}  # as an older fewshot saved it
    old = tmp_path / "old.safetensors"
    save_file(state, old, metadata=meta)
    tm = load_bundle(old)
    assert tm.fingerprints is None
    ev = evaluate_photos(tm, data)
    assert ev.images == 20 and 0 <= ev.report.accuracy <= 1
    assert ev.seen_in_training is None and ev.unseen is None and ev.accuracy_unseen is None
    assert "cannot tell whether these photos are new to it" in ev.summary()
    r = cli("evaluate", old, data, "--json")
    assert r.returncode == 0, r.stderr
    out = last_json(r.stdout)
    assert out["images"] == 20 and out["seen_in_training"] is None and out["accuracy_unseen"] is None
    assert "cannot tell" in out["summary"]
    r = cli("evaluate", old, data)
    assert r.returncode == 0 and "cannot tell whether these photos are new to it" in r.stdout, r.stderr
    # saved again by this fewshot, it still does not pretend to know
    assert load_bundle(save_bundle(tm, tmp_path / "resaved.safetensors")).fingerprints is None
