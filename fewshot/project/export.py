"""A project out: a whole-project archive (.zip: photos, labels, runs, models), ImageFolder (.zip of class
folders), CSV (path,label,split,source) or a folder Label Studio opens (fewshot/labelstudio_export.py); each label
with who gave it. Written to a temporary name and renamed, so a failed export leaves no half file. Read back by
fewshot/project/io.py (imports) and fewshot/label_files.py (labels files).
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import ProjectError
from ..labelstudio_export import LS_CONTROL, export_labelstudio  # noqa: F401 (LS_CONTROL: was defined here)

__all__ = ["ARCHIVE_FORMAT", "ARCHIVE_VERSION", "EXPORT_FORMATS", "export_project"]

EXPORT_FORMATS = ("archive", "csv", "imagefolder", "labelstudio")
ARCHIVE_FORMAT = "fewshot-project"
ARCHIVE_VERSION = 2  # 2: each photo says who gave its label, its hint's kind and whether it is in the check set

def export_project(project, fmt: str, out: str | os.PathLike, document_root: str | os.PathLike | None = None
                   ) -> Path:
    """The project as `fmt`: archive (.zip: everything), csv, imagefolder (.zip of class folders), labelstudio (a
    folder: tasks.json, label_config.xml, photos/ and README.txt, the steps to open it; `document_root`: the
    folder Label Studio serves local files from, `out` itself by default)."""
    out = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise ProjectError(f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}.")
    if fmt == "labelstudio":
        export_labelstudio(project, out, document_root)
        project.log(f"exported as {fmt}")
        return out
    writer = {"archive": _export_archive, "csv": _export_csv, "imagefolder": _export_imagefolder}[fmt]
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
           "photos": [{"sha1": p.sha1, "ext": p.file.suffix, "path": p.path, "split": p.split, **_archive_photo(p)}
                      for p in photos],
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


def _export_csv(project, out: Path) -> None:
    """path,label,split,source: source is "person" or "suggestion" (empty for a photo without a class)."""
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split", "source"])
        for p in project.photos():
            w.writerow([p.path, p.label or "", p.split, p.label_source or ""])


def _archive_photo(p) -> dict:
    """What an archive's project.json says of a photo's label and hint: who gave them, and the check set."""
    return {"label": p.label, "label_source": p.label_source, "label_confidence": p.label_confidence,
            "label_run": p.label_run, "label_model": p.label_model, "hint": p.hint, "hint_source": p.hint_source,
            "checkset": bool(p.checkset)}
