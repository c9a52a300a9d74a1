"""`python -m fewshot project ...` and `python -m fewshot train --project NAME`: projects from the command line.

The command line's owner is always "local" (one person at one machine); names are unique per owner. The page
(`python app.py`) works in the same "local" projects when it serves one person (listening on this machine
only, no --auth, no --share, not a Space); on a shared server each browser's or login's projects are its own,
and the messages below say so, with the data folder, where the command line finds none.
With --json the last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys

from ..backbones import LABELLING_ARCH
from ..errors import ProjectError
from .console import val_fields, val_text

__all__ = ["OWNER", "add_project_parser", "cmd_train_project"]

# The commands import the project modules (torch, through check_set) when they run, not when the parser is
# built.

OWNER = "local"  # fewshot.project.store.LOCAL_OWNER (not imported here: that would load torch for --help)


def _store():
    from ..project import ProjectStore
    return ProjectStore()


def _open(name: str):
    from ..errors import ProjectNotFound
    store = _store()
    try:
        return store.open_by_name(OWNER, name)
    except ProjectNotFound as exc:
        raise ProjectNotFound(f"{exc} {where_projects_are(store)}") from None


def where_projects_are(store) -> str:
    """Where the page's projects are and how this command line reaches them (said when it finds none)."""
    from ..i18n import plural
    n = store.others_count(OWNER)
    held = plural(n, " 1 project in it belongs to a browser or a login of the page.",
                  f" {n} projects in it belong to browsers or logins of the page.") if n else ""
    return (f"The command line's projects are in {store.root} (FEWSHOT_DATA_DIR).{held} The page shares them "
            f"when `python app.py` serves one person (listening on this machine only, as it does by default, "
            f"without --auth or --share) with the same FEWSHOT_DATA_DIR. On a shared server each browser's or "
            f"login's projects are its own: use \"Export the project (.zip)\" on the page, then "
            f"`python -m fewshot project import FILE`.")


def _json(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _run_row(r) -> dict:
    """A run for the CLI: "run" is its number in the project (what `use` takes), "id" the database's; its
    validation accuracy with the 95% interval and the photos behind it (cli.val_fields)."""
    return {"run": r.number, "id": r.id, "status": r.status, **_val(r), "epochs": len(r.history),
            "active": r.active, "arch": r.settings.get("arch"), "started": r.started, "ended": r.ended,
            "bundle": str(r.bundle) if r.bundle else None, "message": r.message}


def _val(r) -> dict:
    from ..check_set import of_metrics
    return val_fields(of_metrics({**r.metrics, "val_accuracy": r.val_accuracy}))


def _active_number(p) -> int | None:
    r = p.active_run()
    return r.number if r else None


def _run_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ProjectError(f"'{text}' is not a run number: give one that `project show` lists, or 'best'.") from None


def _cmd_new(a: argparse.Namespace) -> int:
    p = _store().create(OWNER, a.name)
    print(_json({"name": a.name, "id": p.id, "folder": str(p.dir)}) if a.json else f"created project '{a.name}'")
    return 0


def _cmd_add(a: argparse.Namespace) -> int:
    p = _open(a.name)
    r = p.add_photos(a.source, label=a.label)
    for f, why in r.skipped:
        print(f"skipped {f}: {why}", file=sys.stderr)
    s = p.summary()
    out = {**r.to_dict(), "photos": s["photos"], "labelled": s["labelled"], "classes": s["classes"]}
    print(_json(out) if a.json else f"{r.added} new photos ({r.labelled} labelled), {r.already} already there, "
          f"{len(r.skipped)} skipped; the project has {s['photos']} photos, {s['labelled']} labelled")
    return 0


def _cmd_label(a: argparse.Namespace) -> int:
    from ..project.io import LabelReport, label_from_file
    if bool(a.csv) == bool(a.labelstudio):
        print("error: give one labels file: --csv FILE or --labelstudio FILE", file=sys.stderr)
        return 2
    p, report = _open(a.name), LabelReport()
    n = label_from_file(p, a.csv or a.labelstudio, "csv" if a.csv else "labelstudio", images=a.images,
                        report=report)
    s = p.summary()
    lines = [f"set {n} labels; {s['labelled']} of {s['photos']} photos are labelled", *_ls_lines(report)]
    print(_json({"labelled_now": n, "labelled": s["labelled"], "classes": s["classes"],
                 "labelstudio": report.to_dict() if report.form else None}) if a.json else "\n".join(lines))
    return 0


def _ls_lines(report) -> list[str]:
    """What a Label Studio export brought, for the console (nothing for a CSV)."""
    if not report.form:
        return []
    return [f"Label Studio {report.form} export: {report.tasks} tasks; {report.people} photos labelled by a person, "
            f"{report.suggestions} by an accepted suggestion", *report.lines()]


def _cmd_show(a: argparse.Namespace) -> int:
    p = _open(a.name)
    s = p.summary()
    out = {"name": s["name"], "id": s["id"], "photos": s["photos"], "labelled": s["labelled"],
           "unlabelled": s["unlabelled"], "classes": s["classes"], "splits": s["splits"], "sources": s["sources"],
           "runs": [_run_row(r) for r in p.runs()], "active_run": _active_number(p), "activity": p.activity(10)}
    lines = [f"{s['name']}: {s['photos']} photos, {s['labelled']} labelled ({s['splits']['train']} train, "
             f"{s['splits']['val']} validation)",
             f"  labels given by a person: {s['sources']['person']}, accepted suggestions: "
             f"{s['sources']['suggestion']}"]
    lines += [f"  {c}: {n}" for c, n in s["classes"].items()]
    for r in out["runs"]:
        acc = f"{r['val_accuracy']:.4f}" if r["val_accuracy"] is not None else "n/a"
        lines.append(f"  run {r['run']}: {r['status']}, val accuracy {acc}{' (active)' if r['active'] else ''}")
    print(_json(out) if a.json else "\n".join(lines))
    return 0


def _cmd_list(a: argparse.Namespace) -> int:
    store = _store()
    rows = store.list(OWNER)
    if not rows:  # on stderr: the JSON line stays the last one printed, and scripts read only it
        print(f"No projects yet. {where_projects_are(store)}", file=sys.stderr)
    print(_json({"projects": rows, "data_dir": str(store.root)}) if a.json else "\n".join(
        f"{r['name']}: {r['photos']} photos, {r['labelled']} labelled, {r['runs']} runs" for r in rows))
    return 0


def _cmd_delete(a: argparse.Namespace) -> int:
    _open(a.name).delete()
    print(_json({"deleted": a.name}) if a.json else f"deleted project '{a.name}'")
    return 0


def _cmd_rename(a: argparse.Namespace) -> int:
    _open(a.name).rename(a.new_name)
    print(_json({"renamed": a.name, "name": a.new_name}) if a.json else f"renamed '{a.name}' to '{a.new_name}'")
    return 0


def _cmd_use(a: argparse.Namespace) -> int:
    p = _open(a.name)
    p.pick_active(None if a.run == "best" else p.run_numbered(_run_number(a.run)).id)
    r = p.active_run()
    print(_json({"active_run": r.number if r else None}) if a.json else f"active run: {r.number if r else 'none'}")
    return 0


def _cmd_export(a: argparse.Namespace) -> int:
    from ..project.io import export_project
    if a.document_root and a.format != "labelstudio":
        print("error: --document-root is for --format labelstudio", file=sys.stderr)
        return 2
    out = export_project(_open(a.name), a.format, a.out, document_root=a.document_root)
    steps = (out / "README.txt").read_text(encoding="utf-8").rstrip("\n") if a.format == "labelstudio" else ""
    print(_json({"out": str(out), "format": a.format, "steps": steps or None}) if a.json
          else steps or f"wrote {out}")
    return 0


def _cmd_import(a: argparse.Namespace) -> int:
    from ..project.io import LabelReport, import_project
    report = LabelReport()
    p = import_project(_store(), OWNER, a.path, name=a.name, photos=a.photos, fmt=a.format, images=a.images,
                       report=report)
    s = p.summary()
    out = {"name": s["name"], "id": s["id"], "photos": s["photos"], "labelled": s["labelled"],
           "classes": s["classes"], "splits": s["splits"], "runs": len(s["runs"]), "active_run": _active_number(p),
           "labelstudio": report.to_dict() if report.form else None}
    lines = [f"imported '{s['name']}': {s['photos']} photos, {s['labelled']} labelled, {len(s['runs'])} runs",
             *_ls_lines(report)]
    print(_json(out) if a.json else "\n".join(lines))
    return 0


def cmd_train_project(a: argparse.Namespace, config) -> int:
    """`train --project NAME`: the project's labelled photos, its splits; the run is recorded in the project."""
    from ..progress import print_events

    p = _open(a.project)
    done = print_events(p.train(config, device=a.device, feature_cache=not a.no_cache),
                        quiet=a.json and not sys.stderr.isatty())
    run = p.run(p.last_run_id)
    active = p.active_run()
    if done is None or done.model is None:
        print("No model was produced (training stopped before the first epoch ended).", file=sys.stderr)
        return 1
    if a.out:
        shutil.copyfile(run.bundle, a.out)
    from ..check_set import of_metrics
    out = {"project": a.project, "run": run.number, "status": run.status, **_val(run),
           "active_run": active.number if active else None, "bundle": str(run.bundle), "out": a.out,
           "classes": done.model.classes, "best_epoch": done.best_epoch, "reason": done.reason,
           "seconds": round(done.seconds, 3), "history": done.history}
    said = val_text(of_metrics({**run.metrics, "val_accuracy": run.val_accuracy}))
    print(_json(out) if a.json else f"run {run.number} of '{a.project}' {run.status}: {said} "
          f"({done.kept_note or f'kept epoch {done.best_epoch}'}); active run: {out['active_run']}")
    return 0


def _cmd_suggest(a: argparse.Namespace) -> int:
    """`project suggest NAME`: the photos to label next (the check set's marked: drawn at random, the only ones
    that grade a model once suggestions are accepted), a class suggested for every unlabelled photo, labels
    that look wrong, and with --accept the suggestions at or above the threshold (--at, else the one chosen for
    95% precision) recorded as accepted suggestions, never as a person's. Photos are named by their path."""
    from .. import check_set as CS
    from .. import labelling as LB
    if a.ask < 0 or (a.at is not None and not 0 <= a.at <= 1):
        raise ProjectError("--ask is 0 or more, and --at a confidence from 0 to 1.")
    p = _open(a.name)
    CS.top_up(p)  # the check set, drawn when due
    photos = p.photos()
    pool = LB.pool_features([str(ph.file) for ph in photos], arch=a.arch)
    of = {ph.file.name: ph for ph in photos}  # the pool names each photo by its stored file's name
    people = {n: of[n].label for n in pool.names if CS.person_labelled(of[n])}
    accepted = {n: of[n].label for n in pool.names if of[n].label is not None and n not in people}
    check = {n for n in people if of[n].checkset}  # evidence only: they grade what the suggestions train
    waiting = {n for n in pool.names if of[n].checkset and of[n].label is None}  # asked anyway
    found = LB.suggest(pool, people, ask=CS.places_for_picks(a.ask, len(waiting)), accepted=accepted,
                       held_out=check, not_asked=waiting)
    free = [dict(s, path=of[s["path"]].path, sha1=of[s["path"]].sha1) for s in found.suggestions
            if of[s["path"]].label is None]
    picks = [of[n].sha1 for n in found.ask_next if of[n].label is None]
    asked = CS.with_check_photos(picks, CS.check_status(photos).waiting, a.ask)
    at = found.accept_threshold if a.at is None else a.at  # no default threshold: NO_THRESHOLD, none reach it
    check = {ph.sha1 for ph in photos if ph.checkset}  # a person labels those
    chosen = {s["sha1"]: s for s in free if a.accept and s["confidence"] >= at and s["sha1"] not in check}
    if chosen:
        p.set_labels({k: s["label"] for k, s in chosen.items()}, source="suggestion",
                     confidence={k: s["confidence"] for k, s in chosen.items()}, model=f"project-suggest/{a.arch}")
    paths = {ph.sha1: ph.path for ph in photos}
    out = {"ask_next": [{"path": paths[k], "check_set": c} for k, c in asked],
           "suggestions": [{k: s[k] for k in ("path", "label", "confidence")} for s in free],
           "accept_threshold": found.threshold_or_none(), "accept_precision": found.accept_precision,
           "threshold_note": found.threshold_note, "evidence_labels": found.evidence,
           "doubted_accepted": [dict(s, path=of[s["path"]].path) for s in found.doubted_accepted],
           "suspects": [dict(s, path=of[s["path"]].path) for s in found.suspects], "accepted": len(chosen),
           "check_set": CS.check_status(p.photos()).to_dict(),
           "skipped": [dict(s, path=of[s["path"]].path if s["path"] in of else s["path"]) for s in found.skipped]}
    lines = [f"label next: {paths[k]}{' (check set: picked at random, label it too)' if c else ''}" for k, c in asked]
    lines.append(f"{len(free)} suggestions, {sum(s['confidence'] >= at for s in free)} at or above {at:.2f}; "
                 f"{len(chosen)} accepted; {len(found.suspects)} labels look wrong")
    if a.at is None and found.threshold_note:
        lines.append(found.threshold_note)
    print(_json(out) if a.json else "\n".join(lines))
    return 0


def add_project_parser(sub) -> None:
    """The `project` command and its subcommands, on the CLI's subparsers."""
    pp = sub.add_parser("project", help="saved projects: photos, labels, runs and models that last")
    ps = pp.add_subparsers(dest="project_cmd", required=True)

    def cmd(name: str, fn, text: str, *args: tuple) -> argparse.ArgumentParser:
        s = ps.add_parser(name, help=text)
        for spec in args:
            s.add_argument(*spec[:-1], **spec[-1])
        s.add_argument("--json", action="store_true")
        s.set_defaults(fn=fn)
        return s

    name = ("name", {"metavar": "NAME"})
    cmd("new", _cmd_new, "create an empty project", name)
    cmd("add", _cmd_add, "add photos from a folder or zip (class folders label their photos)", name,
        ("source", {"metavar": "FOLDER_OR_ZIP"}), ("--label", {"help": "class for loose photos"}))
    images = ("--images", {"metavar": "DIR", "help": "the folder of Label Studio's images (its media/upload folder "
                           "or local-files root), to match tasks to photos by content"})
    cmd("label", _cmd_label, "set labels (and splits) from a CSV or Label Studio file: a person's, unless a row "
        "says it is an accepted suggestion (a CSV's source column, a Label Studio prediction)", name,
        ("--csv", {"metavar": "FILE"}), ("--labelstudio", {"metavar": "FILE", "help": "Label Studio's JSON, "
                                                           "JSON-MIN or CSV export"}), images)
    cmd("show", _cmd_show, "photos, classes and runs of a project", name)
    cmd("suggest", _cmd_suggest, "what to label next (the check set's photos marked), a class suggested for every "
        "unlabelled photo, labels that look wrong; --accept records those at or above the threshold as suggestions",
        name, ("--ask", {"type": int, "default": 12, "metavar": "N", "help": "photos to ask about (default 12)"}),
        ("--accept", {"action": "store_true", "help": "accept the suggestions at or above the threshold"}),
        ("--at", {"type": float, "metavar": "T", "help": "the threshold (0-1; default: the one for 95%% precision)"}),
        ("--arch", {"default": LABELLING_ARCH, "metavar": "A", "help": "the backbone whose features suggest"}))
    cmd("list", _cmd_list, "your projects, most recently used first")
    cmd("delete", _cmd_delete, "delete a project and every file it has", name)
    cmd("rename", _cmd_rename, "give a project another name", name, ("new_name", {"metavar": "NEW_NAME"}))
    cmd("use", _cmd_use, "pick the active run by its number, as `show` lists it (or 'best')", name,
        ("run", {"metavar": "RUN"}))
    cmd("export", _cmd_export, "write the project, or its labels, to a file (labelstudio: a folder Label Studio "
        "opens, with the steps)", name,
        ("--format", {"required": True, "choices": ("archive", "csv", "imagefolder", "labelstudio")}),
        ("--out", {"required": True}),
        ("--document-root", {"metavar": "DIR", "help": "labelstudio: the folder Label Studio serves local files "
                             "from, if not the export folder itself"}))
    cmd("import", _cmd_import, "a new project from a project archive, ImageFolder, CSV or Label Studio file",
        ("path", {"metavar": "PATH"}), ("--name", {"help": "the new project's name"}),
        ("--photos", {"metavar": "DIR", "help": "the folder CSV / Label Studio paths are relative to"}),
        ("--format", {"choices": ("archive", "csv", "imagefolder", "labelstudio")}), images)
