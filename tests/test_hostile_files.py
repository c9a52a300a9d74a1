"""Hostile and odd picture files: each bad one is named with its reason, every good one still trains."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fewshot import Limits, Predictor, UnreadableImage, load_dataset, run_to_end, train
from fewshot.images import decode_canvas, load_rgb
from hostile_util import SMALL, class_folders, encode, picture, png_header_only, tiny_config, write
from hostile_util import one_torch_thread  # noqa: F401 (autouse fixture)

RED, BLUE = (210, 40, 40), (40, 40, 210)


def _jpeg() -> bytes:
    return encode(picture(48, 32, RED, seed=7), "JPEG", quality=90)


def _png() -> bytes:
    return encode(picture(48, 32, RED, seed=8), "PNG")


BAD_FILES = {
    # name: (bytes, words the reason must contain)
    "cut.jpg": (lambda: _jpeg()[: len(_jpeg()) // 2], "truncated"),
    "cut_header.jpg": (lambda: _jpeg()[:40], "truncated"),
    "cut.png": (lambda: _png()[: len(_png()) // 2], "truncated"),
    "empty.jpg": (lambda: b"", "empty (0 bytes)"),
    "notes.jpg": (lambda: b"shopping list: eggs, milk\n", "text or HTML"),
    "page.jpg": (lambda: b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "text or HTML"),
    "doc.png": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
    "iphone.jpg": (lambda: b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64, "HEIC"),
    "noise.jpg": (lambda: bytes(range(256)) * 4, "not a picture"),
    "bomb.png": (lambda: png_header_only(100_000, 100_000), "max pixels per image"),
    "sliver.png": (lambda: png_header_only(60_000, 1), "1000 times longer than it is wide"),  # resizing: gigabytes
}


def _dataset_with(tmp_path: Path, bad: dict[str, bytes]):
    good = class_folders(tmp_path / "data", n=5)
    for name, data in bad.items():
        write(tmp_path / "data" / "red" / name, data)
    return good, load_dataset(tmp_path / "data")


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_named_with_its_reason_and_the_rest_loads(tmp_path, name):
    make, words = BAD_FILES[name]
    good, ds = _dataset_with(tmp_path, {name: make()})
    reasons = dict(ds.skipped)
    assert f"red/{name}" in reasons, ds.skipped
    assert words in reasons[f"red/{name}"]
    loaded = {Path(s.path).name for s in ds.train + ds.val}
    assert loaded == {p.name for paths in good.values() for p in paths}
    with pytest.raises(UnreadableImage, match=words.split(" (")[0]):
        load_rgb(tmp_path / "data" / "red" / name)


def test_decompression_bomb_is_refused_fast_from_the_header_alone():
    before = Image.core.get_stats()["new_count"]  # image memory blocks PIL has created
    pil_limit = Image.MAX_IMAGE_PIXELS
    for w, h in ((100_000, 100_000), (9_000, 9_000)):  # above PIL's own guard, and only above ours
        t0 = time.perf_counter()
        with pytest.raises(UnreadableImage) as info:
            load_rgb(png_header_only(w, h))
        assert time.perf_counter() - t0 < 1.0
        assert "(limit: max pixels per image)" in str(info.value)
        assert f"{w * h:,} pixels" in str(info.value)
    assert Image.core.get_stats()["new_count"] == before, "pixel memory was allocated for a bomb"
    assert Image.MAX_IMAGE_PIXELS == pil_limit  # PIL's global guard is shared with the app: left alone


def test_configured_pixel_limit_names_the_limit(tmp_path):
    class_folders(tmp_path / "data", n=4)
    write(tmp_path / "data" / "red" / "big.png", encode(picture(64, 64, RED), "PNG"))
    ds = load_dataset(tmp_path / "data", limits=Limits(max_pixels=1_000))
    reasons = dict(ds.skipped)
    assert "64x64 = 4,096 pixels" in reasons["red/big.png"]
    assert "1,000 pixels (limit: max pixels per image)" in reasons["red/big.png"]
    assert len(ds.train) + len(ds.val) == 8


def _exif_rotated() -> tuple[bytes, Image.Image]:
    """40x20 JPEG, red left half and blue right half, with EXIF orientation 6 (turn 90 degrees clockwise)."""
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = RED
    arr[:, 20:] = BLUE
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img, "JPEG", quality=95, exif=exif.tobytes()), img.transpose(Image.Transpose.ROTATE_270)


def test_exif_orientation_is_applied_before_resizing():
    data, upright = _exif_rotated()
    img = load_rgb(data)
    assert img.size == (20, 40)
    diff = np.abs(np.asarray(img, np.int16) - np.asarray(upright, np.int16)).mean()
    assert diff < 8, diff
    canvas = decode_canvas(data, SMALL).astype(int)  # 40x40: red on top, blue below once upright
    assert canvas[:15, :, 0].mean() > 150 and canvas[:15, :, 2].mean() < 100
    assert canvas[-15:, :, 2].mean() > 150 and canvas[-15:, :, 0].mean() < 100


def _odd_files() -> dict[str, tuple[bytes, tuple[int, int, int] | None]]:
    """Files that are fine pictures in unusual clothing: name -> (bytes, expected mean colour or None)."""
    gif_frames = [Image.new("P", (24, 24), 0), Image.new("P", (24, 24), 1)]
    for f in gif_frames:
        f.putpalette([*RED, *BLUE] + [0] * 762)
    gif = encode(gif_frames[0], "GIF", save_all=True, append_images=gif_frames[1:], duration=50, loop=0)
    pal = Image.new("P", (24, 24), 1)
    pal.putpalette([0, 0, 0, *RED] + [0] * 762)
    pal.paste(0, (0, 0, 24, 12))  # top half: palette entry 0, fully transparent
    wide = np.zeros((20, 10_000, 3), np.uint8)
    wide[:] = RED
    return {
        "png_named.jpg": (encode(picture(24, 24, RED), "PNG"), RED),
        "jpeg_named.png": (encode(picture(24, 24, RED), "JPEG"), RED),
        "animated.gif": (gif, RED),  # the first frame is red, the second blue
        "deep16.png": (encode(Image.fromarray(np.full((24, 24), 65535 // 2, np.uint16)), "PNG"), (128, 128, 128)),
        "palette_alpha.png": (encode(pal, "PNG", transparency=0), None),
        "cmyk.jpg": (encode(Image.new("RGB", (24, 24), RED).convert("CMYK"), "JPEG", quality=95), RED),
        "rotated.jpg": (_exif_rotated()[0], None),
        "one_pixel.png": (encode(Image.new("RGB", (1, 1), RED), "PNG"), RED),
        "strip.png": (encode(Image.fromarray(wide), "PNG"), RED),
    }


def test_odd_but_valid_pictures_decode_to_the_right_colours():
    for name, (data, colour) in _odd_files().items():
        img = load_rgb(data)
        assert img.mode == "RGB", name
        if colour is not None:
            mean = np.asarray(img, float).reshape(-1, 3).mean(0)
            assert np.abs(mean - colour).max() < 20, (name, mean)
    pal = np.asarray(load_rgb(_odd_files()["palette_alpha.png"][0]), int)
    assert (pal[:12] == 255).all(), "transparent pixels must become white"
    assert np.abs(pal[12:] - RED).max() == 0


def test_odd_pictures_load_train_and_predict_with_nothing_skipped(tmp_path):
    class_folders(tmp_path / "data", classes=("blue",), n=8)
    odd = _odd_files()
    for name, (data, _) in odd.items():
        write(tmp_path / "data" / "red" / name, data)
    ds = load_dataset(tmp_path / "data", val_fraction=0.25)
    assert ds.skipped == []
    assert sorted(Path(s.path).name for s in ds.train + ds.val if s.label == 1) == sorted(odd)
    for name in odd:
        canvas = decode_canvas(tmp_path / "data" / "red" / name, SMALL)
        assert canvas.shape == (40, 40, 3)
    done = run_to_end(train(ds, tiny_config(epochs=1)))
    assert done.model is not None and done.reason == "finished"
    preds = Predictor(done.model).predict_files([str(tmp_path / "data" / "red" / n) for n in odd])
    assert [p.error for p in preds] == [None] * len(odd)
    assert all(p.top[0][0] in ("blue", "red") for p in preds)


def test_all_bad_files_at_once_then_training_uses_exactly_the_good_ones(tmp_path):
    good, ds = _dataset_with(tmp_path, {name: make() for name, (make, _) in BAD_FILES.items()})
    assert {f for f, _ in ds.skipped} == {f"red/{n}" for n in BAD_FILES}
    done = run_to_end(train(ds, tiny_config()))
    assert done.model is not None
    predictor = Predictor(done.model)
    files = [str(tmp_path / "data" / "red" / n) for n in sorted(BAD_FILES)] + [str(good["red"][0])]
    preds = predictor.predict_files(files)
    assert all(p.error for p in preds[:-1]) and preds[-1].error is None
    assert "truncated" in preds[sorted(BAD_FILES).index("cut.png")].error
    with pytest.raises(UnreadableImage, match="empty"):
        predictor.predict_one(b"")


def test_a_file_that_cannot_be_opened_is_named_not_crashed_on(tmp_path):
    good = class_folders(tmp_path / "data", n=4)
    locked = write(tmp_path / "data" / "red" / "folder.jpg" / "inner.txt", b"x").parent  # a folder named .jpg
    with pytest.raises(UnreadableImage, match="could not be read"):
        load_rgb(locked)
    ds = load_dataset({"red": good["red"] + [locked], "blue": good["blue"]})
    assert any(f == "folder.jpg" and "could not be read" in r for f, r in ds.skipped), ds.skipped
    assert len(ds.train) + len(ds.val) == 8
