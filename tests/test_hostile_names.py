"""Class names with spaces, emoji, Chinese and path tricks: labels only, never paths."""
from __future__ import annotations

import pytest

from fewshot import DataError, Predictor, load_bundle, load_dataset, run_to_end, save_bundle, train
from hostile_util import class_folders, encode, files_under, make_zip, picture, tiny_config, write
from hostile_util import one_torch_thread  # noqa: F401 (autouse fixture)

NAMES = ["golden retriever", "🐱 cat", "猫", "con", "nul", "a/b", "../../etc"]


def test_odd_class_names_train_save_load_and_predict_and_nothing_is_written_by_name(tmp_path):
    files = {}
    for k, name in enumerate(NAMES):
        files[name] = [write(tmp_path / "in" / f"{k}_{i}.png",
                             encode(picture(24, 24, (30 * k, 255 - 30 * k, 120), seed=k * 10 + i), "PNG"))
                       for i in range(3)]
    tricks = {"..": files[NAMES[0]][:1], " ": files[NAMES[1]][:1], ".": files[NAMES[2]][:1]}
    before = files_under(tmp_path)
    ds = load_dataset({**files, **tricks})
    assert ds.classes == sorted(NAMES)
    reasons = dict(ds.skipped)
    assert "'..' cannot be a class name" in reasons["'..'"]
    assert "'.' cannot be a class name" in reasons["'.'"]
    assert "a class needs a name" in reasons["' '"]
    done = run_to_end(train(ds, tiny_config()))
    assert done.model is not None and done.model.classes == sorted(NAMES)
    bundle = save_bundle(done.model, tmp_path / "model.safetensors")
    assert files_under(tmp_path) == before | {"model.safetensors"}  # no file or folder named after a class
    tm = load_bundle(bundle)
    assert tm.classes == sorted(NAMES)
    card = tm.model_card()
    assert all(name in card for name in NAMES)
    top = Predictor(tm).predict_one(files["猫"][0], top_k=len(NAMES))
    assert sorted(c for c, _ in top) == sorted(NAMES)


def test_same_name_written_two_ways_is_one_class(tmp_path):
    good = class_folders(tmp_path / "d", classes=("red", "blue"), n=4)
    e_composed, e_decomposed = "caf\u00e9", "cafe\u0301"
    ds = load_dataset({e_composed: good["red"][:2], e_decomposed: good["red"][2:], " blue ": good["blue"][:2],
                       "blue": good["blue"][2:], "tab\there": good["blue"][:1]})
    assert ds.classes == ["blue", "café", "tab here"]
    assert ds.counts().set_index("class")["total"].to_dict() == {"blue": 4, "café": 4, "tab here": 1}


def test_odd_names_as_folders_and_in_a_zip(tmp_path):
    folder_names = ["golden retriever", "🐱 cat", "猫", "con", "nul"]
    class_folders(tmp_path / "data", classes=folder_names, n=3)
    assert load_dataset(tmp_path / "data").classes == sorted(folder_names)
    members = {f"{name}/{i}.png": encode(picture(24, 24, seed=k * 5 + i), "PNG")
               for k, name in enumerate(folder_names) for i in range(3)}
    members["../evil.png"] = members["con/0.png"]
    ds = load_dataset(make_zip(tmp_path / "names.zip", members))
    assert ds.classes == sorted(folder_names)
    assert "outside the upload folder" in dict(ds.skipped)["../evil.png"]


def test_only_path_trick_names_leave_a_clear_error(tmp_path):
    good = class_folders(tmp_path / "d", n=2)
    with pytest.raises(DataError, match=r"Only one class \('red'\).*'\.\.' cannot be a class name"):
        load_dataset({"red": good["red"], "..": good["blue"]})
