"""Hostile project imports (security issue 4): archives that declare far too much, model files that would fill
memory, and imports killed part-way. Each is refused before anything is written, or leaves nothing behind.

Figures are printed as [import figures] lines (run with -s to see them).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch

from tests.conftest import ROOT

from fewshot import TrainedModel, save_bundle
from fewshot.archive import Limits
from fewshot.errors import DataError, LimitExceeded, ProjectNotFound, ProjectTooBig
from fewshot.models import build_model
from fewshot.project import ProjectStore
from fewshot.project.database import process_start
from hostile_util import COLORS, SMALL, good_pngs, patch_central_sizes, tiny_config
from hostile_util import one_torch_thread  # noqa: F401 (autouse fixture)

from fewshot.project import io as project_io

DB_FILES = {"projects.db", "projects.db-wal", "projects.db-shm", "projects"}
TABLES = ("projects", "classes", "photos", "runs", "activity")


# ---- archives made to measure ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A real model file (mobilenet_v2, about 9 MB), made once."""
    torch.manual_seed(0)
    tm = TrainedModel(build_model("mobilenet_v2", 2, pretrained=False, pre=SMALL).eval(), ["red", "blue"],
                      tiny_config(arch="mobilenet_v2"))
    return save_bundle(tm, tmp_path_factory.mktemp("bundle") / "model.safetensors")


def run_entry(n: int, bundle: bool = False) -> dict:
    return {"id": n, "number": n, "status": "failed", "settings": {"epochs": 1}, "history": [{"epoch": 1}],
            "metrics": {}, "val_accuracy": None, "message": "", "started": 1.0 + n, "ended": 2.0 + n,
            "bundle": f"runs/run-{n}.safetensors" if bundle else None}


def photo_members(n: int, classes=("red", "blue")) -> tuple[list[dict], dict[str, bytes]]:
    """n small PNGs spread over `classes`: their project.json entries and their zip members."""
    entries, members = [], {}
    for i, (name, data) in enumerate(good_pngs(n, COLORS["red"], "p").items()):
        sha1 = hashlib.sha1(data).hexdigest()
        cls = classes[i % len(classes)]
        entries.append({"sha1": sha1, "ext": ".png", "path": f"{cls}/{name}", "label": cls,
                        "split": "val" if i % 5 == 0 else "train", "hint": None})
        members[f"photos/{sha1}.png"] = data
    return entries, members


def write_archive(path: Path, classes=(), photos=(), runs=(), members=None, **extra) -> Path:
    """A project archive as fewshot writes one, with whatever project.json and members it is given."""
    doc = {"format": "fewshot-project", "version": 1, "name": path.stem, "classes": list(classes),
           "photos": list(photos), "runs": list(runs), "active_run": None, "active_pinned": False,
           "runs_made": len(runs), **extra}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.json", json.dumps(doc))
        for name, data in (members or {}).items():
            if isinstance(data, Path):
                zf.write(data, name)
            else:
                zf.writestr(name, data)
    return path


def large_archive(path: Path, bundle: Path, n_classes: int = 2_000, n_runs: int = 1_000,
                  n_photos: int = 200) -> Path:
    """A legitimately large project: many classes and runs, a few hundred photos, one model."""
    classes = [f"class {i:04d}" for i in range(n_classes)]
    photos, members = photo_members(n_photos, classes[:20])
    members["runs/run-1.safetensors"] = bundle
    return write_archive(path, classes, photos, [run_entry(n, bundle=n == 1) for n in range(1, n_runs + 1)],
                         members, active_run=1)


def padded_junk(path: Path, size: int) -> Path:
    """`size` bytes that deflate about 30 times (far under the zip-bomb ratio, so only streaming can stop them):
    zeros with a random byte every 120, starting with zeros (no model file starts so)."""
    rnd, block = random.Random(0), bytearray(1 << 20)
    for i in range(60, len(block), 120):
        block[i] = rnd.randrange(1, 256)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("project.json", json.dumps({"format": "fewshot-project", "version": 1, "name": "big model",
                                                "classes": [], "photos": [], "runs": [run_entry(1, bundle=True)]}))
        with zf.open("runs/run-1.safetensors", "w", force_zip64=True) as out:
            for _ in range(size >> 20):
                out.write(block)
    return path


def leftovers(store: ProjectStore) -> dict:
    """Everything an import that was refused or killed must not leave: rows, project folders, staging folders."""
    with contextlib.closing(sqlite3.connect(store.db.path)) as db:
        rows = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    return {"rows": rows, "project folders": sorted(p.name for p in store.projects_dir.iterdir()),
            "other files": sorted(p.name for p in store.root.iterdir() if p.name not in DB_FILES)}


NOTHING = {"rows": dict.fromkeys(TABLES, 0), "project folders": [], "other files": []}


def integrity(store: ProjectStore) -> str:
    with contextlib.closing(sqlite3.connect(store.db.path)) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def child(code: str, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


# ---- too many ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("what,count,limit", [("classes", 100_000, "max classes"), ("runs", 50_000, "max runs"),
                                              ("photos", 30_000, "max images")])
def test_an_archive_declaring_a_flood_of_rows_is_refused_at_once_and_leaves_nothing(store, tmp_path, capsys,
                                                                                  what, count, limit):
    photos, members = photo_members(3)
    fill = {"classes": [f"c{i}" for i in range(count)],
            "runs": [run_entry(n) for n in range(1, count + 1)],
            "photos": photos + [dict(photos[0], path=f"x/{i}.png") for i in range(count - len(photos))]}
    archive = write_archive(tmp_path / f"flood-{what}.zip", **{"classes": ["red", "blue"], "photos": photos,
                                                               "members": members, what: fill[what]})
    before = leftovers(store)
    t0 = time.perf_counter()
    with pytest.raises(LimitExceeded, match=rf"flood-{what}.zip: project.json declares {count:,} {what}, over the "
                                            rf"limit of [\d,]+ \(limit: {limit}\); nothing was imported"):
        project_io.import_project(store, "ana", archive)
    took = time.perf_counter() - t0
    assert took < 5, took
    assert leftovers(store) == before == NOTHING and store.list("ana") == []
    with capsys.disabled():
        print(f"\n[import figures] {archive.stat().st_size / 1e6:.1f} MB archive declaring {count:,} {what}: "
              f"refused in {took:.2f} s, nothing written")


def test_the_attackers_archive_of_100000_classes_and_50000_runs_is_refused_at_once(store, tmp_path):
    archive = write_archive(tmp_path / "attack.zip", [f"c{i}" for i in range(100_000)], [],
                            [run_entry(n) for n in range(1, 50_001)])
    t0 = time.perf_counter()
    with pytest.raises(LimitExceeded, match="attack.zip: project.json declares 100,000 classes"):
        project_io.import_project(store, "ana", archive)
    assert time.perf_counter() - t0 < 5
    assert leftovers(store) == NOTHING


def test_class_folders_past_the_class_limit_are_refused_whole(store, tmp_path):
    folder = tmp_path / "folders"
    for i, (name, data) in enumerate(good_pngs(12, COLORS["blue"], "f").items()):
        (folder / f"class{i}").mkdir(parents=True)
        (folder / f"class{i}" / name).write_bytes(data)
    with pytest.raises(LimitExceeded, match=r"folders has 12 classes, over the limit of 10 \(limit: max classes\)"):
        project_io.import_project(store, "ana", folder, limits=Limits(max_classes=10))
    assert leftovers(store) == NOTHING
    assert len(project_io.import_project(store, "ana", folder, limits=Limits(max_classes=12)).classes()) == 12


def test_import_limits_are_set_by_the_environment(store, tmp_path, monkeypatch):
    photos, members = photo_members(4)
    archive = write_archive(tmp_path / "four.zip", ["red", "blue", "green"], photos,
                            [run_entry(1), run_entry(2)], members)
    monkeypatch.setenv("FEWSHOT_MAX_RUNS", "1")
    with pytest.raises(LimitExceeded, match=r"declares 2 runs, over the limit of 1 \(limit: max runs\)"):
        project_io.import_project(store, "ana", archive)
    monkeypatch.setenv("FEWSHOT_MAX_RUNS", "2")
    monkeypatch.setenv("FEWSHOT_MAX_CLASSES", "2")
    with pytest.raises(LimitExceeded, match=r"declares 3 classes, over the limit of 2 \(limit: max classes\)"):
        project_io.import_project(store, "ana", archive)
    assert leftovers(store) == NOTHING
    monkeypatch.setenv("FEWSHOT_MAX_CLASSES", "3")
    p = project_io.import_project(store, "ana", archive)
    assert (len(p.photos()), len(p.runs()), p.classes()) == (4, 2, ["blue", "green", "red"])
    d = Limits()
    assert 1_000 <= d.max_classes <= 20_000 and 1_000 <= d.max_runs <= 20_000
    assert d.max_photo_bytes <= d.max_model_bytes <= d.max_extract_bytes


# ---- too big ---------------------------------------------------------------------------------------------------
def test_an_archive_past_the_project_size_cap_is_refused_whole(store, tmp_path, bundle, monkeypatch):
    photos, members = photo_members(4)
    archive = write_archive(tmp_path / "heavy.zip", ["red", "blue"], photos, [run_entry(1, bundle=True)],
                            {**members, "runs/run-1.safetensors": bundle})
    monkeypatch.setenv("FEWSHOT_PROJECT_MAX_GB", str(5 / 1024))  # 5 MB: the photos fit, the 9 MB model does not
    with pytest.raises(ProjectTooBig, match=r"heavy.zip: this project would hold [\d.]+ MB; the cap on this server "
                                            r"is 5.0 MB \(FEWSHOT_PROJECT_MAX_GB\). Nothing was imported."):
        project_io.import_project(store, "ana", archive)
    assert leftovers(store) == NOTHING
    monkeypatch.setenv("FEWSHOT_PROJECT_MAX_GB", str(20 / 1024))
    assert project_io.import_project(store, "ana", archive).size_bytes() > 5 * 1024**2


MEASURE = """
import resource, sys
from fewshot.project import ProjectStore
from fewshot.project.io import import_project
import fewshot.bundle, fewshot.models  # all an import may load, loaded before the peak is read
store = ProjectStore(sys.argv[1])
try:  # the peak so far (loading torch) set back to what is resident now
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:  # not allowed here: the growth is then counted from that earlier peak
    pass
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    import_project(store, "local", sys.argv[2])
    print("IMPORTED")
except Exception as exc:
    print("REFUSED", type(exc).__name__, exc)
print("PEAK_GROWTH_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KB on Linux")
def test_a_300_mb_model_file_is_streamed_to_disk_and_refused_without_filling_memory(tmp_path, capsys):
    size = 300 * 1024**2
    archive = padded_junk(tmp_path / "big-model.zip", size)
    store = ProjectStore(tmp_path / "store")
    proc = child(MEASURE, store.root, archive)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "REFUSED DataError big-model.zip: run 1's model file is not a fewshot model" in out, out + err[-2000:]
    growth = int(out.split("PEAK_GROWTH_KB")[1]) * 1024
    assert growth < 64 * 1024**2, f"peak memory grew {growth / 1024**2:.0f} MB"
    assert leftovers(store) == NOTHING
    with capsys.disabled():
        print(f"\n[import figures] {size >> 20} MB model file ({archive.stat().st_size / 1e6:.1f} MB zipped): "
              f"refused, peak memory +{growth / 1024**2:.0f} MB")


def test_a_model_file_over_its_limit_is_refused_by_its_header_before_a_byte_is_written(store, tmp_path, bundle):
    archive = write_archive(tmp_path / "model.zip", [], [], [run_entry(1, bundle=True)],
                            {"runs/run-1.safetensors": bundle})
    t0 = time.perf_counter()
    with pytest.raises(LimitExceeded, match=r"model.zip: run 1's model file: it would unpack to [\d.]+ MB, over the "
                                            r"limit of 1.0 MB \(limit: max model size\)"):
        project_io.import_project(store, "ana", archive, limits=Limits(max_model_bytes=1024**2))
    assert time.perf_counter() - t0 < 2 and leftovers(store) == NOTHING
    assert project_io.import_project(store, "ana", archive).runs()[0].bundle.is_file()  # the default takes it


def test_a_model_file_whose_header_lies_about_its_size_stops_at_the_size_it_declared(store, tmp_path, bundle):
    archive = write_archive(tmp_path / "liar.zip", [], [], [run_entry(1, bundle=True)],
                            {"runs/run-1.safetensors": bundle})
    with zipfile.ZipFile(archive) as zf:
        packed = zf.getinfo("runs/run-1.safetensors").compress_size
    patch_central_sizes(archive, "runs/run-1.safetensors", packed, 1000)  # says 1,000 bytes, holds 9 MB
    with pytest.raises(DataError, match="liar.zip: run 1's model file is damaged in the archive"):
        project_io.import_project(store, "ana", archive)
    assert leftovers(store) == NOTHING


# ---- half-made projects ----------------------------------------------------------------------------------------
def test_a_project_being_imported_is_not_listed_or_opened_until_it_is_whole(store, tmp_path, bundle, monkeypatch):
    archive = large_archive(tmp_path / "slow.zip", bundle, n_classes=300, n_runs=200, n_photos=40)
    points = {name: (threading.Event(), threading.Event()) for name in ("staged", "rows written")}
    pids = []

    def pause(name):
        reached, go = points[name]
        reached.set()
        assert go.wait(60), f"the test never let the import go on from '{name}'"

    check_bundle, write_runs = project_io._check_bundle, project_io._write_runs
    monkeypatch.setattr(project_io, "_check_bundle", lambda *a: (check_bundle(*a), pause("staged")))
    monkeypatch.setattr(project_io, "_write_runs", lambda db, pid, *a: (write_runs(db, pid, *a), pids.append(pid),
                                                                        pause("rows written")))
    result = {}
    worker = threading.Thread(target=lambda: result.update(p=project_io.import_project(store, "ana", archive)))
    worker.start()
    try:
        for name, (reached, go) in points.items():
            assert reached.wait(120), f"the import never reached '{name}'"
            assert store.list("ana") == [], name
            with pytest.raises(ProjectNotFound):
                store.open_by_name("ana", "slow")
            if pids:
                with pytest.raises(ProjectNotFound):
                    store.open("ana", pids[0])
            else:  # another start-up meanwhile (a CLI in another terminal) leaves a live import's files alone
                staging = [p for p in store.root.iterdir() if p.name.startswith(".import-")]
                assert len(staging) == 1 and ProjectStore(store.root).list("ana") == [] and staging[0].is_dir()
            go.set()
    finally:
        for _, go in points.values():
            go.set()
        worker.join(120)
    [listed] = store.list("ana")
    assert (listed["name"], listed["photos"], listed["runs"]) == ("slow", 40, 200)
    assert result["p"].id == pids[0] and len(result["p"].classes()) == 300
    assert [p.name for p in store.root.iterdir() if p.name not in DB_FILES] == []


KILLED = """
import contextlib, sys, time
from fewshot.project import io as project_io
from fewshot.project import ProjectStore
store = ProjectStore(sys.argv[1])
point = sys.argv[3]

def pause(name):
    if name == point:
        print("AT", name, flush=True)
        time.sleep(600)

check_bundle, write_runs, transaction = project_io._check_bundle, project_io._write_runs, store.db.transaction
project_io._check_bundle = lambda *a: (check_bundle(*a), pause("staged"))
project_io._write_runs = lambda *a: (write_runs(*a), pause("rows written"))

@contextlib.contextmanager
def committing():
    with transaction() as db:
        yield db
    pause("committed")

store.db.transaction = committing
project_io.import_project(store, "local", sys.argv[2])
print("DONE", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (not on Windows)")
@pytest.mark.parametrize("point", ["staged", "rows written", "committed"])
def test_kill_9_during_a_large_import_leaves_no_trace_or_a_whole_project(tmp_path, bundle, capsys, point):
    archive = large_archive(tmp_path / "large.zip", bundle)
    store = ProjectStore(tmp_path / "store")
    proc = child(KILLED, store.root, archive, point)
    try:
        for line in proc.stdout:
            if line.startswith("AT"):
                break
        else:
            pytest.fail(f"the import never reached '{point}': {proc.stderr.read()[-3000:]}")
        left = leftovers(store)
        assert any(n.startswith(".import-") for n in left["other files"]), left  # what there is to clear
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    again = ProjectStore(store.root)
    assert integrity(again) == "ok"
    if point != "committed":  # before the commit: nothing at all
        assert leftovers(again) == NOTHING and again.list("local") == []
        shown = "no project, no rows, no folders"
    else:  # after it: the whole project, its files moved in at start-up
        [listed] = again.list("local")
        p = again.open("local", listed["id"])
        assert (listed["photos"], listed["runs"], len(p.classes())) == (200, 1_000, 2_000)
        assert all(ph.file.is_file() for ph in p.photos()) and p.active_bundle().is_file()
        assert leftovers(again)["project folders"] == [p.id] and leftovers(again)["other files"] == []
        shown = "the whole project, files moved in"
    with capsys.disabled():
        print(f"\n[import figures] kill -9 at '{point}' of a 2,000-class/1,000-run import; after a restart: {shown}")


def test_start_up_clears_dead_imports_folders_but_not_a_live_ones(tmp_path):
    store = ProjectStore(tmp_path / "store")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    me = os.getpid()
    folders = {"dead process": f".import-{int(gone.stdout)}-1-ab12", "this process": f".import-{me}-"
               f"{process_start(me) or 0}-cd34", "older fewshot, old": ".import-k2j4_x9",
               "older fewshot, fresh": ".import-zz9"}
    for name in folders.values():
        (store.root / name / "project" / "photos").mkdir(parents=True)
    os.utime(store.root / folders["older fewshot, old"], (time.time() - 7200,) * 2)
    ProjectStore(store.root)
    assert {k: (store.root / n).exists() for k, n in folders.items()} == {
        "dead process": False, "this process": True, "older fewshot, old": False, "older fewshot, fresh": True}


# ---- large but honest ----------------------------------------------------------------------------------------------
def test_a_large_honest_archive_imports_in_seconds(store, tmp_path, bundle, capsys):
    archive = large_archive(tmp_path / "honest.zip", bundle)
    t0 = time.perf_counter()
    p = project_io.import_project(store, "ana", archive)
    took = time.perf_counter() - t0
    runs = p.runs()
    assert (len(p.classes()), len(runs), len(p.photos())) == (2_000, 1_000, 200)
    assert [r.number for r in runs] == list(range(1, 1_001)) and p.active_run().number == 1
    assert p.meta()["runs_made"] == 1_000 and p.active_bundle().is_file()
    assert took < 30, took
    with capsys.disabled():
        print(f"\n[import figures] honest archive ({archive.stat().st_size / 1e6:.1f} MB: 2,000 classes, "
              f"1,000 runs, 200 photos, one model) imported in {took:.1f} s")
