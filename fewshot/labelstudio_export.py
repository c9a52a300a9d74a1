"""A project as a folder Label Studio opens with its labels and pictures (`project export --format labelstudio`).

    OUT/tasks.json         Label Studio's import format: {"data": {"image": URL, "split"}}, a person's label as an
                           annotation, an accepted suggestion as a prediction with its score and model_version,
                           an unlabelled photo as a task without either (to be labelled there)
    OUT/label_config.xml   <View><Image name="image" value="$image"/><Choices name="choice" toName="image"> ...
    OUT/photos/<path>      the photos, copied, under the paths they have in the project
    OUT/README.txt         the steps below, with this folder's paths

Image URLs are Label Studio's local-files form, `/data/local-files/?d=<path under its document root>`: started
with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=OUT (or a folder
above it: `document_root`), and a Local files storage at OUT/photos that is NOT synced (syncing would add every
photo again, without labels), Label Studio shows every picture. The folder is written beside OUT and renamed
into place, so a failed export leaves no half folder; an earlier export in OUT is replaced.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import tempfile
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple
from xml.sax.saxutils import quoteattr

from .errors import ProjectError

__all__ = ["LS_CONTROL", "LabelStudioExport", "export_labelstudio", "label_config"]

LS_CONTROL = {"from_name": "choice", "to_name": "image", "type": "choices"}  # <Choices name="choice" toName="image">
FILES = ("tasks.json", "label_config.xml")  # what marks a folder as an earlier export, safe to replace


class LabelStudioExport(NamedTuple):
    """What an export wrote: the folder, Label Studio's document root, and its tasks by who labelled them."""

    folder: Path
    document_root: Path
    tasks: int
    people: int
    suggestions: int
    unlabelled: int


def export_labelstudio(project, out: str | os.PathLike, document_root: str | os.PathLike | None = None
                       ) -> LabelStudioExport:
    """The project as a folder for Label Studio (module docstring); `document_root`: the folder Label Studio's
    LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT names, OUT itself by default (OUT must lie under it)."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        raise ProjectError(f"A Label Studio export is a folder (tasks.json, label_config.xml and photos/): give "
                           f"--out a folder name, not {out.name}.")
    folder = out.resolve()
    root = Path(document_root).resolve() if document_root is not None else folder
    if not folder.is_relative_to(root):
        raise ProjectError(f"{out} is not inside {root}: Label Studio serves local files only from under its "
                           f"document root.")
    _check_target(out)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
    try:
        done = _write(project, tmp, folder, root)
        _swap(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return done


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ProjectError(f"{out} is a file; give --out a new folder for the Label Studio export.")
    if out.is_dir() and any(out.iterdir()) and not all((out / f).is_file() for f in FILES):
        raise ProjectError(f"{out} already holds other files; give --out a new folder for the Label Studio "
                           f"export (an earlier export is replaced).")


def _swap(new: Path, folder: Path) -> None:
    """The new folder in place of an earlier export (or an empty folder), by renames."""
    if not folder.exists():
        new.rename(folder)
        return
    old = folder.with_name(f".{folder.name}.old-{secrets.token_hex(4)}")
    folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _write(project, tmp: Path, folder: Path, root: Path) -> LabelStudioExport:
    """tasks.json, label_config.xml, photos/ and README.txt into `tmp`, with URLs for `folder` under `root`."""
    under = folder.relative_to(root).as_posix()
    prefix = "" if under == "." else f"{under}/"
    tasks, used = [], set()
    for p in project.photos():
        rel = _export_path(p, used)
        dest = tmp / "photos" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p.file, dest)
        tasks.append(_task(p, "/data/local-files/?d=" + urllib.parse.quote(f"{prefix}photos/{rel}")))
    (tmp / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    labels = [p.label for p in project.photos() if p.label is not None]
    (tmp / "label_config.xml").write_text(label_config([*project.classes(), *labels]), encoding="utf-8")
    done = LabelStudioExport(folder, root, len(tasks), sum("annotations" in t for t in tasks),
                             sum("predictions" in t for t in tasks),
                             sum("annotations" not in t and "predictions" not in t for t in tasks))
    (tmp / "README.txt").write_text("\n".join(steps(done, project.name)) + "\n", encoding="utf-8")
    return done


def _export_path(p, used: set[str]) -> str:
    """The photo's path in the project as a safe relative path, made unique (case aside) by its hash."""
    parts = [s for s in PurePosixPath(p.path.replace("\\", "/")).parts if s not in ("/", ".", "..", "")]
    rel = "/".join(parts) or f"{p.sha1}{p.file.suffix}"
    if rel.casefold() in used:
        stem, ext = os.path.splitext(rel)
        rel = f"{stem}-{p.sha1[:10]}{ext}"
    used.add(rel.casefold())
    return rel


def _task(p, url: str) -> dict[str, Any]:
    """One task: a person's label as an annotation (not ground truth: an ordinary annotation, as if made in Label
    Studio), an accepted suggestion as a prediction with its score and what suggested it."""
    task: dict[str, Any] = {"data": {"image": url, "split": p.split}}
    if p.label is None:
        return task
    result = [{**LS_CONTROL, "value": {"choices": [p.label]}}]
    if p.label_source != "suggestion":
        task["annotations"] = [{"result": result, "was_cancelled": False, "ground_truth": False}]
        return task
    guess: dict[str, Any] = {"result": result}
    if p.label_confidence is not None:
        guess["score"] = p.label_confidence
    # always named: Label Studio stores a prediction without one as "undefined"
    guess["model_version"] = p.label_model or (f"run-{p.label_run}" if p.label_run is not None else "fewshot")
    task["predictions"] = [guess]
    return task


def label_config(classes: list[str]) -> str:
    """Label Studio's labelling setup for one class per image, one Choice per class (XML-escaped)."""
    choices = "".join(f"    <Choice value={quoteattr(c)}/>\n" for c in dict.fromkeys(classes))
    return (f'<View>\n  <Image name="image" value="$image"/>\n  <Choices name="choice" toName="image">\n'
            f"{choices}  </Choices>\n</View>\n")


def _command(*words: str) -> str:
    return "   " + " ".join(words)


def steps(done: LabelStudioExport, name: str) -> list[str]:
    """How to open the export in Label Studio and bring its labels back, with this export's paths."""
    root, storage = str(done.document_root), str(done.folder / "photos")
    return [
        f"Label Studio tasks of project '{name}' in {done.folder}: {done.tasks} tasks, {done.people} with a "
        f"person's label (annotations), {done.suggestions} with an accepted suggestion (predictions), "
        f"{done.unlabelled} unlabelled.",
        "To open them in Label Studio:",
        "1. Start Label Studio so that it serves the photos from this folder:",
        _command("LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true", f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}",
                 "label-studio", "start"),
        "2. Create a project; in Settings, Labeling Interface, Code, paste label_config.xml.",
        f"3. In Settings, Cloud Storage, Add Source Storage: Local files, absolute local path {storage}. Add it but "
        f"do not sync it: syncing would add every photo again, as tasks without labels.",
        "4. Import tasks.json (Import, Upload Files).",
        "Back to fewshot: export from Label Studio as JSON, JSON-MIN or CSV, then:",
        _command("python", "-m", "fewshot", "project", "label", shlex.quote(name), "--labelstudio", "EXPORT.json"),
    ]
