"""Photos in and projects out: what a folder, zip or list of files holds, and a project's import and export
(a whole-project archive, ImageFolder, CSV, Label Studio JSON-MIN), each refusing hostile input whole.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import urllib.parse
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from .archive import Limits, extract_zip, human_size
from .errors import DataError, LimitExceeded, ProjectError
from .images import IMAGE_EXTS
from .project_photos import SPLITS, clean_class
from .project_runs import RUN_STATUSES

# ---- export ----------------------------------------------------------------------------------------------
EXPORT_FORMATS = ("archive", "csv", "imagefolder", "labelstudio")
ARCHIVE_FORMAT = "fewshot-project"
ARCHIVE_VERSION = 1
MAX_LABEL_FILE_BYTES = 64 * 1024**2  # a labels file or project.json: far more than 20,000 rows need
LS_META_KEYS = {"id", "image", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "split",
                "data", "annotations", "predictions"}


def export_project(project, fmt: str, out: str | os.PathLike) -> Path:
    """The project as `fmt`: archive (.zip: everything), csv, imagefolder (.zip of class folders), labelstudio."""
    out = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise ProjectError(f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}.")
    writer = {"archive": _export_archive, "csv": _export_csv, "imagefolder": _export_imagefolder,
              "labelstudio": _export_labelstudio}[fmt]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        writer(project, Path(tmp))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    project.log(f"exported as {fmt}")
    return out


def _export_csv(project, out: Path) -> None:
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split"])
        for p in project.photos():
            w.writerow([p.path, p.label or "", p.split])


def _export_labelstudio(project, out: Path) -> None:
    rows = []
    for i, p in enumerate(project.photos(), 1):
        row = {"id": i, "image": p.path, "split": p.split}
        if p.label is not None:
            row["choice"] = p.label
        rows.append(row)
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


def _export_imagefolder(project, out: Path) -> None:
    """train/<class>/<file> and val/<class>/<file> (what fewshot's data loader and `project add` read back)."""
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for p in project.photos():
            if p.label is None:
                continue
            name = PurePosixPath(p.path).name
            arc = f"{p.split}/{_safe_folder(p.label)}/{name}"
            if arc.casefold() in used:
                stem, ext = os.path.splitext(name)
                arc = f"{p.split}/{_safe_folder(p.label)}/{stem}-{p.sha1[:10]}{ext}"
            used.add(arc.casefold())
            zf.write(p.file, arc)


def _safe_folder(label: str) -> str:
    """A class name as one folder name ('a/b' cannot be a folder)."""
    return label.replace("/", "\u2215").replace("\\", "\u29f5")


def _export_archive(project, out: Path) -> None:
    photos = project.photos()
    runs = project.runs()
    meta = project.meta()
    # runs are named in the archive by their number in the project ("run 2"), as the person knows them
    number = {r.id: r.number for r in runs}
    doc = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "name": meta["name"], "classes": project.classes(),
           "photos": [{"sha1": p.sha1, "ext": p.file.suffix, "path": p.path, "label": p.label, "split": p.split,
                       "hint": p.hint} for p in photos],
           "runs": [{"id": r.number, "number": r.number, "status": r.status, "settings": r.settings,
                     "history": r.history, "metrics": r.metrics, "val_accuracy": r.val_accuracy, "message": r.message,
                     "started": r.started, "ended": r.ended,
                     "bundle": f"runs/run-{r.number}.safetensors" if r.bundle else None} for r in runs],
           "active_run": number.get(meta["active_run"]), "active_pinned": meta["active_pinned"],
           "runs_made": meta["runs_made"],
           "activity": project.activity(limit=1000)}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.json", json.dumps(doc, ensure_ascii=False, indent=1))
        for p in photos:
            zf.write(p.file, f"photos/{p.sha1}{p.file.suffix}", compress_type=zipfile.ZIP_STORED)
        for r in runs:
            if r.bundle:
                zf.write(r.bundle, f"runs/run-{r.number}.safetensors")


# ---- labels files in ----------------------------------------------------------------------------------------
def safe_relative(text: str, where: str) -> str:
    """A photo's path as written in a labels file, refused when absolute or climbing out of its folder."""
    raw = str(text).strip().replace("\\", "/")
    if not raw:
        raise DataError(f"{where}: the photo path is empty.")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "\x00" in raw:
        raise DataError(f"{where}: '{text}' is an absolute path; write paths relative to the photos folder.")
    parts = [p for p in PurePosixPath(raw).parts if p != "."]
    if any(p == ".." for p in parts) or not parts:
        raise DataError(f"{where}: '{text}' points outside the photos folder.")
    return "/".join(parts)


def _label_studio_image(value: Any) -> str:
    """Label Studio's image field: our relative path, or its local-files / upload URL forms."""
    text = str(value)
    if "?d=" in text:  # /data/local-files/?d=folder/photo.jpg
        return urllib.parse.unquote(text.split("?d=", 1)[1])
    if text.startswith(("http://", "https://")):
        return urllib.parse.unquote(urllib.parse.urlparse(text).path).rsplit("/", 1)[-1]
    return text


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file.")
    size = path.stat().st_size
    if size > MAX_LABEL_FILE_BYTES:
        raise LimitExceeded(f"{path.name} is {human_size(size)}, over the limit of "
                            f"{human_size(MAX_LABEL_FILE_BYTES)} for a labels file.")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8 "
                        f"and try again.") from None


def read_labels(path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None
                ) -> list[tuple[str, str, str | None, str | None]]:
    """(where, relative path, class or None, split or None) per row of a CSV (path,label[,split]) or a Label
    Studio JSON-MIN file; every row checked before anything is used."""
    path, limits = Path(path), limits or Limits.from_env()
    fmt = fmt or ("labelstudio" if path.suffix.lower() == ".json" else "csv")
    text = _read_text(path)
    rows: list[tuple[str, str, str | None, str | None]] = []
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            for n, row in enumerate(reader, 1):
                if n == 1 and row and row[0].strip().lower() == "path":
                    continue
                if not row or not any(c.strip() for c in row):
                    continue
                if len(rows) >= limits.max_images:
                    raise LimitExceeded(f"{path.name} has more than {limits.max_images:,} rows "
                                        f"(limit: max images).")
                where = f"{path.name} row {n}"
                if len(row) > 3:
                    raise DataError(f"{where}: expected path,label[,split] but found {len(row)} columns.")
                rows.append((where, row[0], row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else ""))
        except csv.Error as exc:
            raise DataError(f"{path.name} is not a readable CSV file ({exc}).") from None
    elif fmt == "labelstudio":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path.name} is not JSON (line {exc.lineno}: {exc.msg}).") from None
        if not isinstance(doc, list):
            raise DataError(f"{path.name} is not a Label Studio JSON-MIN export (a list of tasks).")
        if len(doc) > limits.max_images:
            raise LimitExceeded(f"{path.name} has {len(doc):,} tasks, over the limit of {limits.max_images:,} "
                                f"(limit: max images).")
        for n, task in enumerate(doc, 1):
            where = f"{path.name} task {n}"
            if not isinstance(task, dict) or not isinstance(task.get("image"), str):
                raise DataError(f"{where}: a task needs an \"image\" field.")
            choices = [v for k, v in task.items() if k not in LS_META_KEYS]
            label: Any = choices[0] if choices else ""
            if isinstance(label, dict):
                label = (label.get("choices") or [""])[0]
            if not isinstance(label, str):
                raise DataError(f"{where}: the choice is not a class name.")
            split = task.get("split", "")
            rows.append((where, _label_studio_image(task["image"]), label, split if isinstance(split, str) else ""))
    else:
        raise ProjectError(f"Unknown labels format '{fmt}'; use csv or labelstudio.")
    out, seen = [], {}
    for where, rel, label, split in rows:
        rel = safe_relative(rel, where)
        split = (split or "").strip().lower() or None
        if split not in (None, *SPLITS):
            raise DataError(f"{where}: the split is 'train' or 'val', not '{split}'.")
        try:
            label = clean_class(label)
        except ProjectError as exc:
            raise DataError(f"{where}: {exc}") from None
        if rel in seen and seen[rel][0] != (label, split):
            raise DataError(f"{where}: '{rel}' is already labelled differently in {seen[rel][1]}.")
        seen[rel] = ((label, split), where)
        out.append((where, rel, label, split))
    return out


def label_from_file(project, path: str | os.PathLike, fmt: str | None = None, limits: Limits | None = None) -> int:
    """Labels (and splits) from a CSV or Label Studio file for photos already in the project, found by the path
    they were added under; one unknown photo refuses the whole file."""
    rows = read_labels(path, fmt, limits)
    by_path: dict[str, list[str]] = {}
    for p in project.photos():
        by_path.setdefault(p.path, []).append(p.sha1)
    labels, splits = {}, {}
    for where, rel, label, split in rows:
        found = by_path.get(rel)
        if not found:
            raise DataError(f"{where}: there is no photo '{rel}' in this project; nothing was changed.")
        for sha1 in found:
            labels[sha1] = label
            if split:
                splits[sha1] = split
    project.set_labels(labels, splits or None)
    return len(labels)


# ---- import ----------------------------------------------------------------------------------------------------
def import_project(store, owner: str, path: str | os.PathLike, name: str | None = None,
                   photos: str | os.PathLike | None = None, fmt: str | None = None, limits: Limits | None = None):
    """A new project from a project archive, an ImageFolder (folder or .zip), or a CSV / Label Studio file with
    `photos` (the folder its paths are relative to). On any error nothing is kept."""
    path, limits = Path(path), limits or Limits.from_env()
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    fmt = fmt or _guess_format(path)
    if fmt == "archive":
        return _import_archive(store, owner, path, name, limits)
    if name is None:
        name = path.stem
    if fmt in ("csv", "labelstudio"):
        if photos is None:
            raise DataError(f"{path.name} names photos by their paths: say which folder they are in (--photos).")
        rows = read_labels(path, fmt, limits)
        base = Path(photos).resolve()
        items = []
        for where, rel, label, split in rows:
            file = (base / rel).resolve()
            if not file.is_relative_to(base):
                raise DataError(f"{where}: '{rel}' points outside the photos folder.")
            if not file.is_file():
                raise DataError(f"{where}: there is no photo '{rel}' in {Path(photos)}.")
            items.append((file, rel, label, split))
        return _new_project(store, owner, name, lambda p: _add_exact(p, items, limits))
    if fmt == "imagefolder":
        return _new_project(store, owner, name, lambda p: p.add_photos(path, limits=limits))
    raise ProjectError(f"Unknown import format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}.")


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
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


def _new_project(store, owner: str, name: str, fill):
    project = store.create(owner, name)
    try:
        fill(project)
    except BaseException:
        project.delete()
        raise
    return project


def _add_exact(project, items, limits: Limits) -> None:
    """Add photos with their labels, then set every label and split exactly as given (no rebalancing)."""
    skipped: list = []
    project.add_items(items, limits, skipped, "imported photos")
    if skipped:
        raise DataError(f"{skipped[0][0]}: {skipped[0][1]}" + (f" (and {len(skipped) - 1} more)" if len(skipped) > 1
                                                              else "") + "; nothing was imported.")
    by_path = {p.path: p.sha1 for p in project.photos()}
    labels = {by_path[rel]: label for _, rel, label, _ in items if rel in by_path}
    splits = {by_path[rel]: split for _, rel, _, split in items if split and rel in by_path}
    project.set_labels(labels, splits or None)


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, limits: Limits, zip_name: str) -> bytes:
    """One member, read in bounded chunks: a lying header or a bomb stops at the limit."""
    info = zf.getinfo(name)
    if info.file_size > limit or (info.file_size > 10 * 1024**2 and
                                  info.file_size / max(info.compress_size, 1) > limits.max_zip_ratio):
        raise LimitExceeded(f"{zip_name}: {name} would unpack to {human_size(info.file_size)} "
                            f"(limit: max extraction size or compression ratio).")
    out = bytearray()
    with zf.open(info) as f:
        while chunk := f.read(1 << 20):
            out += chunk
            if len(out) > limit:
                raise LimitExceeded(f"{zip_name}: {name} unpacks past {human_size(limit)} (limit: max extraction size).")
    return bytes(out)


def _import_archive(store, owner: str, path: Path, name: str | None, limits: Limits):
    from .bundle import load_bundle

    zip_name = path.name
    with tempfile.TemporaryDirectory(prefix=".import-", dir=store.root) as tmp:
        tmp = Path(tmp)
        skipped = extract_zip(path, tmp / "x", limits)  # photos: every path, bomb and size check of fewshot.archive
        with zipfile.ZipFile(path) as zf:
            doc = _check_doc(_read_member(zf, "project.json", MAX_LABEL_FILE_BYTES, limits, zip_name), zip_name)
            bundles = {}
            for r in doc["runs"]:
                if r["bundle"] is None:
                    continue
                if r["bundle"] != f"runs/run-{r['id']}.safetensors" or r["bundle"] not in zf.namelist():
                    raise DataError(f"{zip_name}: run {r.get('number', r['id'])}'s model file is missing.")
                target = tmp / f"run-{r['id']}.safetensors"
                target.write_bytes(_read_member(zf, r["bundle"], limits.max_extract_bytes, limits, zip_name))
                load_bundle(target)  # a model file that is not a sound bundle refuses the archive
                bundles[r["id"]] = target
        bad = [(n, why) for n, why in skipped if n.startswith("photos/")]
        if bad:
            raise DataError(f"{zip_name}: {bad[0][0]}: {bad[0][1]}; nothing was imported.")
        items = []
        for ph in doc["photos"]:
            file = tmp / "x" / "photos" / f"{ph['sha1']}{ph['ext']}"
            if not file.is_file() or hashlib.sha1(file.read_bytes()).hexdigest() != ph["sha1"]:
                raise DataError(f"{zip_name}: photo {ph['path']} is missing or damaged in the archive.")
            items.append((file, ph["path"], ph["label"], ph["split"]))

        def fill(project) -> None:
            for c in doc["classes"]:
                project.add_class(c)
            _add_exact(project, items, limits)
            project.set_hints({ph["sha1"]: ph["hint"] for ph in doc["photos"] if ph.get("hint") is not None})
            ids = {r["id"]: project.insert_run(r, bundles.get(r["id"])) for r in doc["runs"]}
            project.restore_active(ids.get(doc["active_run"]), bool(doc["active_pinned"]))
            project.count_runs_made(doc.get("runs_made") or 0)  # a deleted last run's number stays used
            project.log(f"imported from {zip_name}")

        return _new_project(store, owner, name or doc["name"], fill)


def _check_doc(raw: bytes, zip_name: str) -> dict:
    def bad(why: str) -> DataError:
        return DataError(f"{zip_name}: project.json {why}; nothing was imported.")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
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
    for i, ph in enumerate(photos, 1):
        ok = isinstance(ph, dict) and isinstance(ph.get("sha1"), str) and len(ph["sha1"]) == 40 \
            and all(c in "0123456789abcdef" for c in ph["sha1"]) and ph.get("ext") in IMAGE_EXTS \
            and isinstance(ph.get("path"), str) and ph.get("split") in SPLITS \
            and (ph.get("label") is None or isinstance(ph["label"], str)) \
            and (ph.get("hint") is None or isinstance(ph["hint"], str))
        if not ok:
            raise bad(f"photo {i} is malformed")
        safe_relative(ph["path"], f"{zip_name}: project.json photo {i}")
    for i, r in enumerate(runs, 1):
        ok = isinstance(r, dict) and isinstance(r.get("id"), int) and r.get("status") in RUN_STATUSES \
            and isinstance(r.get("settings"), dict) and isinstance(r.get("history"), list) \
            and isinstance(r.get("metrics"), dict) and isinstance(r.get("started"), (int, float)) \
            and (r.get("val_accuracy") is None or isinstance(r["val_accuracy"], (int, float))) \
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
