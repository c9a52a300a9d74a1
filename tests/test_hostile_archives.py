"""Hostile zips and limits: nothing written outside the upload folder, every refusal says why."""
from __future__ import annotations

import os
import stat
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from fewshot import DataError, FewshotError, LimitExceeded, Limits, load_dataset
from fewshot.archive import extract_zip
from hostile_util import (COLORS, class_folders, files_under, good_pngs, make_zip, patch_central_sizes,
                          patch_flags, write)


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """Unzip into tmp_path/sys, so a file escaping the extraction folder would land in tmp_path."""
    (tmp_path / "sys").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "sys"))


def _good_members(n: int = 4) -> dict[str, bytes]:
    out = {f"red/{k}": v for k, v in good_pngs(n, COLORS["red"], "r").items()}
    out.update({f"blue/{k}": v for k, v in good_pngs(n, COLORS["blue"], "b").items()})
    return out


def _loaded_names(ds) -> set[str]:
    return {f"{ds.classes[s.label]}/{Path(s.path).name}" for s in ds.train + ds.val}


def test_path_traversal_members_are_skipped_and_nothing_lands_outside(tmp_path):
    tag = uuid.uuid4().hex[:8]
    evil = {f"../evil{tag}.png": b"x", f"/tmp/abs{tag}/evil.png": b"x", f"red/../../evil2{tag}.png": b"x",
            f"C:/evil3{tag}.png": b"x", f"..\\evil4{tag}.png": b"x", f"red/./../../../evil5{tag}.png": b"x"}
    good = _good_members()
    zpath = make_zip(tmp_path / "up.zip", {**good, **{k: good["red/r0.png"] for k in evil}})
    ds = load_dataset(zpath)
    reasons = dict(ds.skipped)
    for name in evil:
        assert "outside the upload folder" in reasons[name], name
    assert _loaded_names(ds) == set(good)
    leaked = [p for p in tmp_path.parent.rglob(f"*{tag}*")] + [Path(f"/tmp/abs{tag}")]
    assert not any(p.exists() for p in leaked), leaked
    assert not any("evil" in f for f in files_under(tmp_path))
    ds.cleanup()
    assert list((tmp_path / "sys").iterdir()) == []  # the unzipped copy is gone


def test_symlinks_in_a_zip_are_never_created_or_followed(tmp_path):
    zpath = tmp_path / "links.zip"
    secret = write(tmp_path / "secret.png", _good_members()["red/r0.png"])
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in _good_members().items():
            zf.writestr(name, data)
        for name, target in (("red/link.png", str(secret)), ("blue/passwd.png", "/etc/passwd"),
                             ("red/up.png", "../../secret.png")):
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    ds = load_dataset(zpath)
    reasons = dict(ds.skipped)
    for name in ("red/link.png", "blue/passwd.png", "red/up.png"):
        assert "symbolic link" in reasons[name]
    assert not any(p.is_symlink() for p in Path(ds.root).rglob("*"))
    assert _loaded_names(ds) == set(_good_members())


def _zeros_member(zf: zipfile.ZipFile, name: str, megabytes: int) -> None:
    """Stream `megabytes` MB of zeros into one deflated member: ~1000x smaller on disk, quick to make."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as out:
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            out.write(chunk)


def test_one_bomb_member_is_skipped_and_the_rest_loads(tmp_path):
    zpath = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _good_members().items():
            zf.writestr(name, data)
        _zeros_member(zf, "red/bomb.png", 40)
    assert zpath.stat().st_size < 200_000
    ds = load_dataset(zpath)
    reason = dict(ds.skipped)["red/bomb.png"]
    assert "times when unpacked (limit: max compression ratio 200)" in reason
    assert _loaded_names(ds) == set(_good_members())
    assert sum(p.stat().st_size for p in Path(ds.root).rglob("*") if p.is_file()) < 1_000_000


def test_many_small_bombs_refuse_the_whole_zip_by_ratio(tmp_path):
    zpath = tmp_path / "bombs.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(7):
            _zeros_member(zf, f"red/b{i}.png", 8)  # each under the per-file check, 56 MB together
    with pytest.raises(LimitExceeded, match=r"bombs.zip is a zip bomb.*limit: max compression ratio 200"):
        load_dataset(zpath)
    assert list((tmp_path / "sys").iterdir()) == []


def test_header_declaring_gigabytes_is_refused_before_writing(tmp_path):
    zpath = make_zip(tmp_path / "liar.zip", {**_good_members(), "red/huge1.png": b"a" * 100,
                                             "red/huge2.png": b"b" * 100})
    for name in ("red/huge1.png", "red/huge2.png"):
        patch_central_sizes(zpath, name, 3_000_000_000, 3_000_000_000)  # 6 GB declared, ratio 1
    dest = tmp_path / "dest"
    dest.mkdir()
    t0 = time.perf_counter()
    with pytest.raises(LimitExceeded, match=r"liar.zip would unpack to 5.6 GB, over the limit of 4.0 GB "
                                                   r"\(limit: max extraction size\)"):
        extract_zip(zpath, dest, Limits())
    assert time.perf_counter() - t0 < 2 and list(dest.iterdir()) == []


def test_a_member_larger_than_its_header_says_is_cut_at_the_header(tmp_path):
    zpath = make_zip(tmp_path / "short.zip", {**_good_members(), "red/grows.png": b"z" * 5000})
    patch_central_sizes(zpath, "red/grows.png", 5000, 10)  # says 10 bytes, holds 5000
    ds = load_dataset(zpath)
    reasons = dict(ds.skipped)
    assert "red/grows.png" in reasons
    assert _loaded_names(ds) == set(_good_members())


def test_extraction_size_limit_is_configurable(tmp_path):
    zpath = make_zip(tmp_path / "up.zip", _good_members(6))
    total = sum(len(v) for v in _good_members(6).values())
    with pytest.raises(LimitExceeded, match=r"\(limit: max extraction size\)"):
        load_dataset(zpath, limits=Limits(max_extract_bytes=total - 1))
    assert len(load_dataset(zpath, limits=Limits(max_extract_bytes=total)).train) > 0


def test_thirty_thousand_entries_hit_the_configured_file_limit_fast(tmp_path):
    png = good_pngs(1, COLORS["red"], "t")["t0.png"]
    zpath = tmp_path / "many.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for i in range(30_000):
            zf.writestr(f"{'red' if i % 2 else 'blue'}/{i}.png", png)
    t0 = time.perf_counter()
    with pytest.raises(LimitExceeded, match=r"many.zip holds 30,000 files, over the limit of 10,000 "
                                            r"\(limit: max files per zip\)"):
        load_dataset(zpath, limits=Limits(max_zip_files=10_000))
    with pytest.raises(LimitExceeded, match=r"30,000 images, over the limit of 20,000 \(limit: max images\)"):
        load_dataset(zpath)  # the defaults allow 50,000 files but only 20,000 images
    assert time.perf_counter() - t0 < 10
    assert list((tmp_path / "sys").iterdir()) == []  # refused before a single file was written


def test_thirty_thousand_entries_are_accepted_under_a_higher_limit(tmp_path):
    zpath = tmp_path / "many.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in _good_members().items():
            zf.writestr(name, data)
        for i in range(30_000):
            zf.writestr(f"red/meta/{i}.json", b"{}")
    with pytest.raises(LimitExceeded, match="max files per zip"):
        load_dataset(zpath, limits=Limits(max_zip_files=20_000))
    ds = load_dataset(zpath, limits=Limits(max_zip_files=40_000))
    assert _loaded_names(ds) == set(_good_members())
    assert sum(".json is not an image type" in r for _, r in ds.skipped) == 30_000


def test_deeply_nested_folders(tmp_path):
    deep = "red/" + "/".join(f"d{i}" for i in range(30)) + "/deep.png"
    members = {**_good_members(), "red/2019/summer/nested.png": _good_members()["red/r0.png"],
               deep: _good_members()["red/r1.png"]}
    ds = load_dataset(make_zip(tmp_path / "deep.zip", members))
    assert "nested deeper than 12 folders (limit: max depth)" in dict(ds.skipped)[deep]
    assert "red/nested.png" in _loaded_names(ds)  # moderate nesting is fine: it belongs to 'red'
    long = make_zip(tmp_path / "long.zip", {**_good_members(), "red/" + "n" * 300 + ".png": b"x"})
    ds = load_dataset(long)
    assert "too long" in dict(ds.skipped)["red/" + "n" * 300 + ".png"]
    assert _loaded_names(ds) == set(_good_members())


@pytest.mark.parametrize("content", [b"", b"this is not a zip", b"<html>download failed</html>",
                                     b"PK\x03\x04" + b"\0" * 40])
def test_a_zip_that_is_not_a_zip(tmp_path, content):
    path = write(tmp_path / "photos.zip", content)
    with pytest.raises(DataError, match="photos.zip is not a zip archive"):
        load_dataset(path)
    assert list((tmp_path / "sys").iterdir()) == []


def test_a_cut_off_zip(tmp_path):
    zpath = make_zip(tmp_path / "cut.zip", _good_members())
    zpath.write_bytes(zpath.read_bytes()[:-30])
    with pytest.raises(DataError, match="cut.zip is not a zip archive, or it is damaged or cut off"):
        load_dataset(zpath)


def test_encrypted_members_are_named_and_the_rest_loads(tmp_path):
    zpath = make_zip(tmp_path / "locked.zip", {**_good_members(), "red/secret.png": b"\x01" * 64})
    patch_flags(zpath, "red/secret.png", set_bits=0x1)
    with zipfile.ZipFile(zpath) as zf:  # the zip really is marked encrypted now
        with pytest.raises(RuntimeError, match="encrypted"):
            zf.read("red/secret.png")
    ds = load_dataset(zpath)
    assert "encrypted (password-protected); unzip it first" in dict(ds.skipped)["red/secret.png"]
    assert _loaded_names(ds) == set(_good_members())


def test_fully_encrypted_zip_says_why_nothing_was_found(tmp_path):
    members = _good_members()
    zpath = make_zip(tmp_path / "locked.zip", members)
    for name in members:
        patch_flags(zpath, name, set_bits=0x1)
    with pytest.raises(DataError, match=r"No readable images.*encrypted"):
        load_dataset(zpath)


def test_names_differing_only_in_case_keep_every_picture(tmp_path):
    g = _good_members(6)
    members = {**{k: v for k, v in g.items() if k.startswith("blue/")},
               "red/Photo.png": g["red/r0.png"], "red/photo.png": g["red/r1.png"], "red/PHOTO.png": g["red/r2.png"],
               "Red/other.png": g["red/r3.png"], "RED/third.png": g["red/r4.png"]}
    ds = load_dataset(make_zip(tmp_path / "case.zip", members))
    assert ds.classes == ["blue", "red"]  # folders differing only in case are one class, as on Windows/macOS
    assert ds.counts().set_index("class").loc["red", "total"] == 5
    clashes = [n.message for n in ds.notices if n.code == "zip_name_clash"]
    assert any(m.startswith("red/photo.png:") and "same name" in m for m in clashes), clashes
    assert any(m.startswith("Red/other.png:") and "only in upper/lower case" in m for m in clashes), clashes


def test_repeated_member_names_keep_both_pictures(tmp_path):
    g = _good_members()
    zpath = tmp_path / "dup.zip"
    with zipfile.ZipFile(zpath, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for name, data in g.items():
            zf.writestr(name, data)
        zf.writestr("red/r0.png", g["red/r3.png"])
    ds = load_dataset(zpath)
    assert ds.counts().set_index("class").loc["red", "total"] == 5


def test_utf8_names_without_the_utf8_flag(tmp_path):
    g = _good_members()
    members = {k.replace("red/", "猫 cat/"): v for k, v in g.items()}
    zpath = make_zip(tmp_path / "names.zip", members)
    for name in members:
        patch_flags(zpath, name, clear_bits=0x800)  # as many zip tools write them
    with zipfile.ZipFile(zpath) as zf:
        assert "猫 cat/r0.png" not in zf.namelist()  # Python alone would read them as cp437 garbage
    assert load_dataset(zpath).classes == ["blue", "猫 cat"]


def test_junk_and_non_pictures_in_a_zip(tmp_path):
    members = {**_good_members(), "__MACOSX/red/._r0.png": b"junk", "red/.DS_Store": b"junk",
               "red/notes.txt": b"hello", "inner.zip": b"PK\x05\x06" + b"\0" * 18}
    ds = load_dataset(make_zip(tmp_path / "mixed.zip", members))
    reasons = dict(ds.skipped)
    assert ".txt is not an image type" in reasons["red/notes.txt"]
    assert ".zip is not an image type" in reasons["inner.zip"]
    assert "__MACOSX/red/._r0.png" not in reasons  # junk is dropped silently
    assert _loaded_names(ds) == set(_good_members())


def test_upload_size_limit_for_a_zip_a_folder_and_a_file_list(tmp_path):
    zpath = make_zip(tmp_path / "up.zip", _good_members())
    size = zpath.stat().st_size
    with pytest.raises(LimitExceeded, match=r"up.zip is \d+\.\d KB, over the upload limit of "
                                                   r"\d+\.\d KB \(limit: max upload size\)"):
        load_dataset(zpath, limits=Limits(max_upload_bytes=size - 1))
    good = class_folders(tmp_path / "folder", n=4)
    total = sum(p.stat().st_size for paths in good.values() for p in paths)
    for source in (tmp_path / "folder", good):
        with pytest.raises(LimitExceeded, match=r"\(limit: max upload size\)"):
            load_dataset(source, limits=Limits(max_upload_bytes=total - 1))
        assert len(load_dataset(source, limits=Limits(max_upload_bytes=total)).train) > 0


def test_image_count_limit(tmp_path):
    good = class_folders(tmp_path / "folder", n=4)
    for source in (tmp_path / "folder", good, make_zip(tmp_path / "up.zip", _good_members())):
        with pytest.raises(LimitExceeded, match=r"8 images.* over the limit of 7 \(limit: max images\)"):
            load_dataset(source, limits=Limits(max_images=7))


def test_image_limit_counts_train_and_val_folders_together(tmp_path):
    class_folders(tmp_path / "data" / "train", n=4)
    class_folders(tmp_path / "data" / "val", n=3)
    with pytest.raises(LimitExceeded, match=r"14 images is over the limit of 10 \(limit: max images\)"):
        load_dataset(tmp_path / "data", limits=Limits(max_images=10))
    ds = load_dataset(tmp_path / "data", limits=Limits(max_images=14))
    assert (len(ds.train), len(ds.val)) == (8, 6)


def test_limits_defaults_and_environment(monkeypatch):
    d = Limits()
    assert 100 * 1024**2 <= d.max_upload_bytes <= 10 * 1024**3
    assert 1_000 <= d.max_images <= 100_000 and 10_000_000 <= d.max_pixels <= 200_000_000
    assert 1_000 <= d.max_zip_files <= 100_000 and d.max_extract_bytes >= d.max_upload_bytes
    monkeypatch.setenv("FEWSHOT_MAX_IMAGES", "5000")
    monkeypatch.setenv("FEWSHOT_MAX_UPLOAD_BYTES", "500M")
    monkeypatch.setenv("FEWSHOT_MAX_EXTRACT_BYTES", "1G")
    monkeypatch.setenv("FEWSHOT_MAX_ZIP_FILES", "1_000")
    lim = Limits.from_env()
    assert (lim.max_images, lim.max_upload_bytes, lim.max_extract_bytes, lim.max_zip_files) == \
        (5000, 500 * 1024**2, 1024**3, 1000)
    assert lim.max_pixels == d.max_pixels
    monkeypatch.setenv("FEWSHOT_MAX_PIXELS", "lots")
    with pytest.raises(FewshotError, match="FEWSHOT_MAX_PIXELS='lots' is not a number"):
        Limits.from_env()
    monkeypatch.setenv("FEWSHOT_MAX_PIXELS", "0")
    with pytest.raises(FewshotError, match="FEWSHOT_MAX_PIXELS='0' must be at least 1"):
        Limits.from_env()
    with pytest.raises(FewshotError, match="max_images must be a positive whole number"):
        Limits(max_images=-5)


def test_symlinks_in_a_folder_are_named_not_followed(tmp_path):
    good = class_folders(tmp_path / "data", n=4)
    outside = write(tmp_path / "outside" / "private.png", good["red"][0].read_bytes())
    os.symlink(outside, tmp_path / "data" / "red" / "link.png")
    os.symlink(outside.parent, tmp_path / "data" / "red" / "linked_dir")
    os.symlink(outside.parent, tmp_path / "data" / "linked_class")
    ds = load_dataset(tmp_path / "data")
    reasons = dict(ds.skipped)
    assert "symbolic link" in reasons["red/link.png"]
    assert "symbolic link" in reasons["red/linked_dir"]
    assert "symbolic link" in reasons["linked_class"]
    assert not any("private" in s.path for s in ds.train + ds.val)
    ds2 = load_dataset({"red": good["red"] + [tmp_path / "data" / "red" / "link.png"], "blue": good["blue"]})
    assert "symbolic link" in dict(ds2.skipped)["link.png"]
    assert len(ds2.train) + len(ds2.val) == 8


def test_a_photo_over_the_per_photo_limit_is_skipped_by_its_header_and_the_rest_loads(tmp_path):
    members = _good_members()
    limit = max(len(v) for v in members.values()) - 1
    big = {n for n, v in members.items() if len(v) > limit}
    zpath = make_zip(tmp_path / "big.zip", members)
    dest = tmp_path / "dest"
    skipped = extract_zip(zpath, dest, Limits(max_photo_bytes=limit))
    assert {n for n, _ in skipped} == big and all("(limit: max photo size)" in why for _, why in skipped)
    assert files_under(dest) >= set(members) - big and not any((dest / n).exists() for n in big)
