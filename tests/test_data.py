"""Data in: layouts, zips, Unicode names, bad files, split and report warnings."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from fewshot import DataError, load_dataset
from tests.conftest import make_class_folders, make_image


def _zip(src: Path, out: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + str(p.relative_to(src)))
    return out


def test_class_folders_sorted_and_split_stratified(tmp_path):
    root = make_class_folders(tmp_path / "d", {"zebra": 10, "ant": 10, "moth": 5})
    ds = load_dataset(root, seed=3)
    assert ds.classes == ["ant", "moth", "zebra"]
    counts = ds.counts().set_index("class")
    assert counts.loc["ant", "val"] == 2 and counts.loc["ant", "train"] == 8
    assert counts.loc["moth", "val"] == 1 and counts.loc["moth", "train"] == 4
    again = load_dataset(root, seed=3)
    assert [s.path for s in again.val] == [s.path for s in ds.val]  # seeded: same split
    other = load_dataset(root, seed=4)
    assert [s.path for s in other.val] != [s.path for s in ds.val]


def test_train_val_layout_and_single_wrapping_folder(tmp_path):
    make_class_folders(tmp_path / "outer" / "dataset" / "train", {"a": 4, "b": 4})
    make_class_folders(tmp_path / "outer" / "dataset" / "val", {"a": 2, "b": 3}, seed=1)
    (tmp_path / "outer" / ".DS_Store").write_bytes(b"junk")
    ds = load_dataset(tmp_path / "outer")
    assert ds.val_given and ds.classes == ["a", "b"]
    assert len(ds.train) == 8 and len(ds.val) == 5


@pytest.mark.parametrize("layout", ["flat", "train_val"])
def test_zip_layouts_with_macos_junk(tmp_path, layout):
    src = tmp_path / "src"
    if layout == "flat":
        make_class_folders(src / "photos", {"red": 5, "green": 5})
    else:
        make_class_folders(src / "photos" / "train", {"red": 5, "green": 5})
        make_class_folders(src / "photos" / "val", {"red": 2, "green": 2}, seed=2)
    (src / "__MACOSX" / "photos").mkdir(parents=True)
    (src / "__MACOSX" / "photos" / "._x.png").write_bytes(b"\x00\x05\x16\x07")
    ds = load_dataset(_zip(src, tmp_path / "up.zip"))
    assert ds.classes == ["green", "red"]
    assert ds.skipped == []
    assert ds.val_given == (layout == "train_val")
    ds.cleanup()


def test_unicode_class_names_and_mapping_input(tmp_path):
    a = [make_image(tmp_path / f"h{i}.png", (250, 200, 0), i) for i in range(4)]
    b = [make_image(tmp_path / f"n{i}.jpg", (20, 20, 20), 10 + i) for i in range(4)]
    ds = load_dataset({"安全帽": a, "no helmet 🙂": b})
    assert set(ds.classes) == {"安全帽", "no helmet 🙂"}
    assert ds.classes == sorted(ds.classes)
    assert len(ds.train) + len(ds.val) == 8


def test_corrupt_image_skipped_with_reason_rest_kept(tmp_path):
    root = make_class_folders(tmp_path / "d", {"a": 5, "b": 5})
    good = (root / "a" / "000.png").read_bytes()
    (root / "a" / "broken.png").write_bytes(good[: len(good) // 2])
    (root / "b" / "notes.jpg").write_text("<html>not a photo</html>")
    (root / "b" / "readme.txt").write_text("hello")
    ds = load_dataset(root)
    reasons = dict(ds.skipped)
    assert "truncated" in reasons["a/broken.png"]
    assert "text or HTML" in reasons["b/notes.jpg"]
    assert "not an image type" in reasons["b/readme.txt"]
    assert len(ds.train) + len(ds.val) == 10  # every good image is still there
    assert list(ds.skipped_frame().columns) == ["file", "reason"]


def test_modes_exif_and_gif_read(tmp_path):
    root = tmp_path / "d"
    make_class_folders(root, {"a": 3, "b": 3})
    Image.new("CMYK", (30, 30), (0, 255, 0, 0)).save(root / "a" / "cmyk.jpg")
    Image.new("I;16", (30, 30), 40000).save(root / "a" / "deep.png")
    frames = [Image.new("P", (20, 20), i) for i in range(3)]
    frames[0].save(root / "b" / "anim.gif", save_all=True, append_images=frames[1:])
    ds = load_dataset(root)
    assert ds.skipped == []
    assert len(ds.train) + len(ds.val) == 9


def test_report_warnings_in_plain_words(tmp_path):
    root = make_class_folders(tmp_path / "d", {"big": 40, "small": 6})
    (root / "small" / "copy.png").write_bytes((root / "small" / "000.png").read_bytes())
    (root / "big" / "stolen.png").write_bytes((root / "small" / "001.png").read_bytes())
    ds = load_dataset(root)
    codes = {n.code: n.message for n in ds.notices}
    assert "few_images" in codes and "'small'" in codes["few_images"]
    assert "imbalance" in codes
    assert "duplicates" in codes and "copy.png" in codes["duplicates"]
    assert "cross_class_duplicate" in codes and "'big' and 'small'" in codes["cross_class_duplicate"]
    rep = ds.report()
    assert {w["code"] for w in rep["warnings"]} >= {"few_images", "imbalance"}


def test_one_class_is_an_error(tmp_path):
    root = make_class_folders(tmp_path / "d", {"only": 5})
    with pytest.raises(DataError, match="Only one class"):
        load_dataset(root)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "photos.zip"
    bad.write_text("this is not a zip")
    with pytest.raises(DataError, match="photos.zip is not a zip"):
        load_dataset(bad)
