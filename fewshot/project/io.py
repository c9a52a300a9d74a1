"""Photos in and projects out: what a folder, zip or list of files holds, and a project's import and export
(a whole-project archive, ImageFolder, CSV, Label Studio), each refusing hostile input whole. Every label
travels with who gave it (a person, or an accepted suggestion with its confidence and run): the archive
(version 2; version 1 is still read) keeps it, CSV and Label Studio files as fewshot/label_files.py says.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import sqlite3
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..archive import Limits, copy_member, human_size, member_over_limit, open_zip
from ..bundle import load_bundle
from ..errors import BundleError, DataError, LimitExceeded, ProjectError, ProjectTooBig
from ..images import IMAGE_EXTS, UnreadableImage, read_checked
from ..label_files import (LS_META_KEYS, MAX_LABEL_FILE_BYTES, LabelReport, archive_origin,  # noqa: F401
                          label_from_file, load_labels, read_label_rows, read_labels, safe_relative)
from ..labelstudio_match import folder_index, match_tasks
from ..labelstudio_read import LabelStudioFile
from .database import (IMPORT_COMMITTED_AS, SQL, fsync_dir, import_staging, log as _log, now,
                       sync_to_disk)
from .export import ARCHIVE_FORMAT, ARCHIVE_VERSION, EXPORT_FORMATS, export_project  # noqa: F401
# the same steps `project add` and a run's end take, here inside the import's one transaction
from .labels import NO_ORIGIN, PERSON, Origin, balance_splits as _balance_splits, default_split, write_hints
from .photos import SPLITS, cap_sizes, clean_class, clean_name, collect, max_project_bytes
from .runs import RUN_STATUSES, _next_number, _pick_active
from .store import _owner

__all__ = ["LabelReport", "export_project", "import_project", "label_from_file", "read_labels"]

# ---- import ----------------------------------------------------------------------------------------------------
# An import is read, checked and staged whole in a private folder under the data folder, then written in ONE
# transaction, its files moved in by one rename after the commit: the project appears in its owner's list whole
# or not at all, a refusal writes nothing, and a crash leaves nothing that the next start does not clear away
# (fewshot.project.database.settle_imports). Counts are checked against the limits before anything is unpacked.
@dataclass
class _Plan:
    """One import as it will be written, built and checked before the database is touched."""

    name: str
    source: str  # the file imported, as error messages and the activity log name it
    exact: bool  # labels and splits exactly as given, one unreadable photo refuses all (archive, CSV, Label Studio)
    classes: list[str] = field(default_factory=list)  # clean; the photos' classes are added to these
    items: list[tuple[Path, str, str | None, str | None]] = field(default_factory=list)  # file, path, class, split
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): an ImageFolder's unreadable files
    origins: dict[int, Origin] = field(default_factory=dict)  # index in items -> who gave its label (else a person)
    hints: dict[str, str] = field(default_factory=dict)  # sha1 -> hint
    hint_sources: dict[str, str] = field(default_factory=dict)  # sha1 -> its hint's kind
    checkset: set[str] = field(default_factory=set)  # sha1s in the check set
    runs: list[dict] = field(default_factory=list)  # project.json's, checked
    bundles: dict[int, Path] = field(default_factory=dict)  # a run's id in project.json -> its staged model file
    active_run: int | None = None
    active_pinned: bool = False
    runs_made: int = 0


def import_project(store, owner: str, path: str | os.PathLike, name: str | None = None,
                   photos: str | os.PathLike | None = None, fmt: str | None = None, limits: Limits | None = None,
                   images: str | os.PathLike | None = None, report: LabelReport | None = None):
    """A new project from a project archive, an ImageFolder (folder or .zip), or a CSV / Label Studio export with
    `photos` (the folder its paths are relative to; a Label Studio task's photo is found in it as
    fewshot/labelstudio_match.py says, `images` the folder of Label Studio's images to match by content, and
    `report` says what matched). Refused whole (DataError, LimitExceeded naming the file and the limit) before
    anything is written; the project shows in its owner's list only once it is complete."""
    path, limits = Path(path), limits or Limits.from_env()
    owner = _owner(owner)
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    fmt = fmt or _guess_format(path)
    if fmt not in EXPORT_FORMATS:
        raise ProjectError(f"Unknown import format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}.")
    if fmt in ("csv", "labelstudio") and photos is None:
        raise DataError(f"{path.name} names photos by their paths: say which folder they are in (--photos).")
    with import_staging(store.root) as stage:
        if fmt == "archive":
            plan = _archive_plan(store, owner, path, name, limits, stage)
        else:
            plan = _files_plan(store, owner, path, fmt, name, photos, limits, stage, images, report)
        rows = _stage_photos(plan, limits, stage / "project")
        _check_classes(plan, rows, limits)
        _check_project_size(plan, sum(r[4] for r in rows.values())
                            + sum(f.stat().st_size for f in plan.bundles.values()))
        return _commit(store, owner, plan, rows, stage)


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".json":
        return "labelstudio"
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                if "project.json" in zf.namelist():
                    return "archive"
        except (zipfile.BadZipFile, OSError):
            raise DataError(f"{path.name} is not a zip archive, or it is damaged or cut off.") from None
    return "imagefolder"


def _name_free(store, owner: str, name: str) -> None:
    """Refuse a taken name at once, before minutes of unpacking (the commit checks again, for a race)."""
    with store.db.reading() as db:
        if db.execute(SQL["project_by_name"], (owner, name)).fetchone() is not None:
            raise ProjectError(f"You already have a project called '{name}'; pick another name.")


def _files_plan(store, owner: str, path: Path, fmt: str, name: str | None, photos, limits: Limits,
                stage: Path, images=None, report: LabelReport | None = None) -> _Plan:
    """An ImageFolder (class folders label their photos, as `project add` reads them) or a labels file with the
    folder its paths are relative to."""
    plan = _Plan(clean_name(name if name is not None else path.stem, "project name"), path.name,
                 exact=fmt != "imagefolder")
    _name_free(store, owner, plan.name)
    if fmt == "imagefolder":
        unpacked = stage / "unpacked"  # a zip is unpacked here, never next to the project's own files
        unpacked.mkdir()
        plan.items = collect(path, None, limits, plan.skipped, unpacked)
        return plan
    base = Path(photos).resolve()
    loaded = load_labels(path, fmt, limits)
    if isinstance(loaded, LabelStudioFile):
        if not base.is_dir():
            raise DataError(f"{photos} is not a folder (the folder of the photos the tasks name).")
        index = folder_index(base, 10 * limits.max_images)
        for rel, task in match_tasks(loaded, index, path.name, images, report).items():
            plan.origins[len(plan.items)] = task.origin
            plan.items.append((base / rel, rel, task.label, task.split))
        return plan
    for where, rel, label, split, origin in loaded:
        file = (base / rel).resolve()
        if not file.is_relative_to(base):
            raise DataError(f"{where}: '{rel}' points outside the photos folder.")
        if not file.is_file():
            raise DataError(f"{where}: there is no photo '{rel}' in {Path(photos)}.")
        plan.origins[len(plan.items)] = origin
        plan.items.append((file, rel, label, split))
    return plan


def _archive_plan(store, owner: str, path: Path, name: str | None, limits: Limits, stage: Path) -> _Plan:
    """A project archive: project.json checked (counts first), then each photo and model file it names streamed
    from the zip to the staging folder under a per-file cap, never more than the limits allow in all."""
    zip_name = path.name
    with open_zip(path, limits) as zf:
        if sum(not m.is_dir() for m in zf.infolist()) > limits.max_zip_files:
            raise LimitExceeded(f"{zip_name} holds more than {limits.max_zip_files:,} files "
                                f"(limit: max files per zip); nothing was imported.")
        doc = _check_doc(_read_doc(zf, zip_name, limits), zip_name, limits)
        plan = _Plan(clean_name(name or doc["name"], "project name"), zip_name, exact=True,
                     runs=doc["runs"], active_run=doc.get("active_run"), active_pinned=bool(doc.get("active_pinned")),
                     runs_made=doc.get("runs_made") or 0)
        _name_free(store, owner, plan.name)
        for c in doc["classes"]:
            plan.classes.append(_clean_class(c, f"{zip_name}: project.json class '{c}'"))
        members = _archive_members(zf, doc, plan, stage, zip_name, limits)
        _check_members(path, members, limits)
        for m, target, limit, limit_name, what in members:
            _unpack_member(zf, m, target, limit, limit_name, f"{zip_name}: {what}")
    for r in plan.runs:
        if r["id"] in plan.bundles:
            _check_bundle(plan.bundles[r["id"]], f"{zip_name}: run {r.get('number', r['id'])}'s model file")
    return plan


def _read_doc(zf: zipfile.ZipFile, zip_name: str, limits: Limits) -> bytes:
    """project.json, streamed under its own cap (a labels file's): a lying header stops there."""
    try:
        m = zf.getinfo("project.json")
    except KeyError:
        raise DataError(f"{zip_name} has no project.json: it is not a fewshot project archive.") from None
    why = member_over_limit(m, MAX_LABEL_FILE_BYTES, "max labels file size", limits)
    if why:
        raise LimitExceeded(f"{zip_name}: project.json: {why}; nothing was imported.")
    out = io.BytesIO()
    _copy(zf, m, out, MAX_LABEL_FILE_BYTES, "max labels file size", f"{zip_name}: project.json")
    return out.getvalue()


def _archive_members(zf: zipfile.ZipFile, doc: dict, plan: _Plan, stage: Path, zip_name: str,
                     limits: Limits) -> list:
    """(member, staged target, per-file limit, its name, what it is) for every file project.json names; each
    photo is staged where the project keeps it (by the content hash it claims, checked once it is unpacked)."""
    files, out, seen = stage / "project", [], {}
    photo, model = (limits.max_photo_bytes, "max photo size"), (limits.max_model_bytes, "max model size")
    for ph in doc["photos"]:
        where = f"photo {ph['path']}"
        sha1, label = ph["sha1"], _clean_class(ph["label"], f"{zip_name}: project.json {where}")
        if sha1 not in seen:  # the same content listed twice is one file
            seen[sha1] = files / "photos" / sha1[:2] / f"{sha1}{Path(ph['path']).suffix.lower()}"
            out.append((_member(zf, f"photos/{sha1}{ph['ext']}", zip_name, where), seen[sha1], *photo, where))
        origin, hint, kind, check = archive_origin(ph, doc["version"])  # (checked by _check_doc)
        plan.origins[len(plan.items)] = origin if label is not None else NO_ORIGIN
        plan.items.append((seen[sha1], ph["path"], label, ph["split"]))
        if hint is not None:
            plan.hints[sha1], plan.hint_sources[sha1] = hint, kind
        if check:
            plan.checkset.add(sha1)
    for r in doc["runs"]:
        if r["bundle"] is None:
            continue
        what = f"run {r.get('number', r['id'])}'s model file"
        if r["bundle"] != f"runs/run-{r['id']}.safetensors":
            raise DataError(f"{zip_name}: {what} is missing.")
        plan.bundles[r["id"]] = stage / "bundles" / f"run-{r['id']}.safetensors"
        out.append((_member(zf, r["bundle"], zip_name, what), plan.bundles[r["id"]], *model, what))
    return out


def _member(zf: zipfile.ZipFile, name: str, zip_name: str, what: str) -> zipfile.ZipInfo:
    try:
        m = zf.getinfo(name)
    except KeyError:
        raise DataError(f"{zip_name}: {what} is missing or damaged in the archive; nothing was imported.") from None
    if m.flag_bits & 0x1:
        raise DataError(f"{zip_name}: {what} is encrypted (password-protected); nothing was imported.")
    return m


def _check_members(path: Path, members: list, limits: Limits) -> None:
    """Every member's header against its own cap, and all of them together against the extraction and ratio
    limits: a zip that says it is too big is refused before a byte is unpacked."""
    total = 0
    for m, _, limit, limit_name, what in members:
        why = member_over_limit(m, limit, limit_name, limits)
        if why:
            raise LimitExceeded(f"{path.name}: {what}: {why}; nothing was imported.")
        total += m.file_size
    if total > limits.max_extract_bytes:
        raise LimitExceeded(f"{path.name} would unpack to {human_size(total)}, over the limit of "
                            f"{human_size(limits.max_extract_bytes)} (limit: max extraction size); nothing was "
                            f"imported.")
    size = path.stat().st_size
    if size and total > 50 * 1024**2 and total / size > limits.max_zip_ratio:
        raise LimitExceeded(f"{path.name} is a zip bomb: it would grow {total / size:,.0f} times "
                            f"(limit: max compression ratio {limits.max_zip_ratio}); nothing was imported.")


def _copy(zf: zipfile.ZipFile, m: zipfile.ZipInfo, dst, limit: int, limit_name: str, what: str) -> int:
    """archive.copy_member, with zipfile's own complaints (bad CRC, cut off, unknown method) as a DataError."""
    try:
        return copy_member(zf, m, dst, limit, what, limit_name)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError, ValueError) as exc:
        raise DataError(f"{what} is damaged in the archive ({exc}); nothing was imported.") from None


def _unpack_member(zf: zipfile.ZipFile, m: zipfile.ZipInfo, target: Path, limit: int, limit_name: str,
                   what: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        _copy(zf, m, out, limit, limit_name, what)


def _check_bundle(path: Path, what: str) -> None:
    """A model file that is not a sound fewshot bundle refuses the archive. Its first bytes are looked at before
    load_bundle, which reads a file whole: a file of junk costs no memory to refuse."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
    n = int.from_bytes(head[:8], "little")
    if len(head) < 9 or head[8:9] != b"{" or not 0 < n <= min(size - 8, 100 * 1024**2):
        raise DataError(f"{what} is not a fewshot model (a .safetensors file saved by fewshot); nothing was "
                        f"imported.")
    try:
        load_bundle(path)
    except BundleError as exc:
        raise DataError(f"{what}: {exc}; nothing was imported.") from None


def _clean_class(name: str | None, where: str) -> str | None:
    try:
        return clean_class(name)
    except ProjectError as exc:
        raise DataError(f"{where}: {exc}") from None


def _read_photo(file: Path, limits: Limits) -> tuple[bytes, str]:
    """fewshot.images.read_checked, after a size check that keeps a huge file out of memory."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise UnreadableImage(f"it could not be read ({exc.strerror or exc})") from None
    if size > limits.max_photo_bytes:
        raise UnreadableImage(f"it is {human_size(size)}, over the limit of {human_size(limits.max_photo_bytes)} "
                              f"per photo (limit: max photo size)")
    return read_checked(file, limits.max_pixels)


def _stage_photos(plan: _Plan, limits: Limits, files: Path) -> dict[str, list]:
    """Every photo read and checked (a full decode at small scale) and stored once by its content under
    files/photos/, as the project keeps them; returns {sha1: [ext, path, class, split or None, bytes, origin]}.

    The first photo with a content decides its path. An ImageFolder's later copy may label a photo that had no
    class and set its split (as `project add` does); in an exact import the first row decides its class too."""
    if len(plan.items) > limits.max_images:
        raise LimitExceeded(f"{plan.source}: {len(plan.items):,} photos is over the limit of {limits.max_images:,} "
                            f"(limit: max images); nothing was imported.")
    rows: dict[str, list] = {}
    for i, (file, rel, cls, split) in enumerate(plan.items):
        origin = plan.origins.get(i, PERSON) if cls is not None else NO_ORIGIN
        try:
            data, sha1 = _read_photo(file, limits)
        except UnreadableImage as exc:
            if plan.exact:
                raise DataError(f"{plan.source}: {rel}: {exc}; nothing was imported.") from None
            plan.skipped.append((rel, str(exc)))
            continue
        row = rows.get(sha1)
        if row is not None:
            if row[2] is None and cls is not None and not plan.exact:
                row[2], row[5] = cls, origin
            if split is not None and (row[3] is None or not plan.exact):
                row[3] = split
            continue
        ext = Path(rel).suffix.lower()
        target = files / "photos" / sha1[:2] / f"{sha1}{ext}"
        if file != target:
            if file.is_relative_to(files):  # streamed from an archive under the content hash it claimed
                raise DataError(f"{plan.source}: photo {rel} is missing or damaged in the archive; nothing was "
                                f"imported.")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)  # (made durable all at once before the commit: sync_to_disk)
        rows[sha1] = [ext, rel, cls, split, len(data), origin]
    return rows


def _check_classes(plan: _Plan, rows: dict[str, list], limits: Limits) -> None:
    """The classes named and the photos' classes, together within the limit."""
    plan.classes = list(dict.fromkeys([*plan.classes, *(r[2] for r in rows.values() if r[2] is not None)]))
    if len(plan.classes) > limits.max_classes:
        raise LimitExceeded(f"{plan.source} has {len(plan.classes):,} classes, over the limit of "
                            f"{limits.max_classes:,} (limit: max classes); nothing was imported.")


def _check_project_size(plan: _Plan, total: int) -> None:
    """Its photos and model files within FEWSHOT_PROJECT_MAX_GB, as `project add` and training count them."""
    cap = max_project_bytes()
    if cap and total > cap:
        size_text, cap_text = cap_sizes(total, cap)
        raise ProjectTooBig(f"{plan.source}: this project would hold {size_text}; the cap on this server is "
                            f"{cap_text} (FEWSHOT_PROJECT_MAX_GB). Nothing was imported.")


def _commit(store, owner: str, plan: _Plan, rows: dict[str, list], stage: Path):
    """Every row in one transaction, then the staged files moved into the project's folder by one rename. The
    staging folder says which project it became before the commit, so that a crash between the commit and the
    rename is finished by the next start (settle_imports) instead of leaving a project without its files."""
    files, pid, t = stage / "project", secrets.token_urlsafe(24), now()
    (files / "photos").mkdir(parents=True, exist_ok=True)
    (files / "runs").mkdir(exist_ok=True)
    (stage / IMPORT_COMMITTED_AS).write_text(pid, encoding="utf-8")
    sync_to_disk(stage)
    try:
        with store.db.transaction() as db:
            db.execute(SQL["insert_project"], (pid, owner, plan.name, t, t))
            _log(db, pid, f"created '{plan.name}'")
            _write_photos(db, pid, plan, rows, t)
            _write_runs(db, pid, plan, files / "runs")
            _log(db, pid, f"imported from {plan.source}: {len(rows)} photos, {len(plan.classes)} classes, "
                          f"{len(plan.runs)} runs" + (f", {len(plan.skipped)} files skipped" if plan.skipped else ""))
    except sqlite3.IntegrityError as exc:
        if "projects." in str(exc):  # UNIQUE (owner, name): taken since _name_free looked
            raise ProjectError(f"You already have a project called '{plan.name}'; pick another name.") from None
        raise DataError(f"{plan.source} does not fit together ({exc}); nothing was imported.") from None
    os.replace(files, store.projects_dir / pid)
    return store.open(owner, pid)


def _write_photos(db, pid: str, plan: _Plan, rows: dict[str, list], t: float) -> None:
    db.executemany(SQL["add_class"], [(pid, c) for c in plan.classes])
    db.executemany(SQL["insert_photo"], [(pid, sha1, ext, rel, cls, *origin, split or default_split(sha1), size, t)
                                         for sha1, (ext, rel, cls, split, size, origin) in rows.items()])
    write_hints(db, pid, {sha1: h for sha1, h in plan.hints.items() if sha1 in rows}, plan.hint_sources)
    db.executemany(SQL["mark_check_set"], [(1, pid, sha1) for sha1 in plan.checkset if sha1 in rows])
    _balance_splits(db, pid)  # (as `project add`: each class on both sides)
    if plan.exact:  # ... but a split written in the file stays as written
        db.executemany(SQL["set_photo_split"], [(r[3], pid, sha1) for sha1, r in rows.items() if r[3] is not None])


def _write_runs(db, pid: str, plan: _Plan, runs_dir: Path) -> None:
    """The runs as the archive gives them (keeping their numbers; an older archive's numbered in order), each
    model file renamed to its run's id inside the transaction, the active run and the count of runs made."""
    ids = {}
    for r in plan.runs:
        number = r.get("number")
        if number is None:
            number = _next_number(db, pid)
        else:
            db.execute(SQL["raise_runs_made"], (int(number), pid))
        run_id = db.execute(SQL["insert_run"], (
            pid, int(number), "interrupted" if r["status"] == "running" else r["status"], json.dumps(r["settings"]),
            json.dumps(r["history"]), json.dumps(r["metrics"]), r.get("val_accuracy"), str(r.get("message") or ""),
            r["started"], r.get("ended"))).lastrowid
        ids[r["id"]] = run_id
        staged = plan.bundles.get(r["id"])
        if staged is not None:
            name = f"run-{run_id}.safetensors"
            os.replace(staged, runs_dir / name)
            db.execute(SQL["set_run_bundle"], (name, (runs_dir / name).stat().st_size, run_id))
    if plan.bundles:
        fsync_dir(runs_dir)  # the renames on disk before the commit that names the files
    if ids.get(plan.active_run) is None:
        _pick_active(db, pid)
    else:
        db.execute(SQL["restore_active_run"], (ids[plan.active_run], int(plan.active_pinned), pid))
    db.execute(SQL["raise_runs_made"], (int(plan.runs_made), pid))


def _check_doc(raw: bytes, zip_name: str, limits: Limits) -> dict:
    """project.json parsed and checked whole; the counts against the limits first, so that an archive declaring
    a hundred thousand classes or runs is refused before any of them is looked at."""
    def bad(why: str) -> DataError:
        return DataError(f"{zip_name}: project.json {why}; nothing was imported.")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise bad("is not UTF-8 JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != ARCHIVE_FORMAT:
        raise bad("is not a fewshot project description")
    if not isinstance(doc.get("version"), int) or doc["version"] > ARCHIVE_VERSION:
        raise bad(f"is version {doc.get('version')!r}, newer than this fewshot reads ({ARCHIVE_VERSION})")
    if not isinstance(doc.get("name"), str) or not isinstance(doc.get("classes"), list) \
            or not all(isinstance(c, str) for c in doc["classes"]):
        raise bad("has no name or classes")
    photos, runs = doc.get("photos"), doc.get("runs")
    if not isinstance(photos, list) or not isinstance(runs, list):
        raise bad("has no photos or runs list")
    for what, n, limit, limit_name in (("classes", len(doc["classes"]), limits.max_classes, "max classes"),
                                       ("runs", len(runs), limits.max_runs, "max runs"),
                                       ("photos", len(photos), limits.max_images, "max images")):
        if n > limit:
            raise LimitExceeded(f"{zip_name}: project.json declares {n:,} {what}, over the limit of {limit:,} "
                                f"(limit: {limit_name}); nothing was imported.")
    for i, ph in enumerate(photos, 1):
        ok = isinstance(ph, dict) and isinstance(ph.get("sha1"), str) and len(ph["sha1"]) == 40 \
            and all(c in "0123456789abcdef" for c in ph["sha1"]) and ph.get("ext") in IMAGE_EXTS \
            and isinstance(ph.get("path"), str) and ph.get("split") in SPLITS \
            and (ph.get("label") is None or isinstance(ph["label"], str)) \
            and (ph.get("hint") is None or isinstance(ph["hint"], str)) and archive_origin(ph, doc["version"])
        if not ok:
            raise bad(f"photo {i} is malformed")
        safe_relative(ph["path"], f"{zip_name}: project.json photo {i}")
    for i, r in enumerate(runs, 1):
        ok = isinstance(r, dict) and isinstance(r.get("id"), int) and r.get("status") in RUN_STATUSES \
            and isinstance(r.get("settings"), dict) and isinstance(r.get("history"), list) \
            and isinstance(r.get("metrics"), dict) and _number_or_none(r.get("started"), need=True) \
            and _number_or_none(r.get("ended")) and _number_or_none(r.get("val_accuracy")) \
            and (r.get("bundle") is None or isinstance(r["bundle"], str)) \
            and (r.get("number") is None or (type(r["number"]) is int and 0 < r["number"] < 2**62))
        if not ok:
            raise bad(f"run {i} is malformed")
    numbers = [r["number"] for r in runs if r.get("number") is not None]  # all (this fewshot) or none (older)
    if len(set(numbers)) != len(numbers) or numbers and len(numbers) != len(runs) \
            or len({r["id"] for r in runs}) != len(runs):
        raise bad("has runs with the same number or without one")
    if doc.get("runs_made") is not None and not (type(doc["runs_made"]) is int and 0 <= doc["runs_made"] < 2**62):
        raise bad("has a count of runs that is not a number")
    if doc.get("active_run") is not None and not isinstance(doc["active_run"], int):
        raise bad("names an active run that is not a number")
    return doc


def _number_or_none(value: Any, need: bool = False) -> bool:
    """A number SQLite can hold (not a bool, not an integer past 64 bits), or None where allowed."""
    if value is None:
        return not need
    return type(value) is float or (type(value) is int and abs(value) < 2**62)
