"""The project bar at the top of the page: new, open (recent first), rename, delete (asked first), export and
import; the project's runs (settings, accuracy, how each ended and when), the active one picked or a run
deleted (asked first). After a reload the page reopens the tab's last project (gr.BrowserState keeps
{"owner": the browser's token, "project": id}; with --auth the owner is the logged-in user, and when the app
serves one person, "local": the command line's projects, fewshot/ui/tab/state.py ProjectOwners).
"""
from __future__ import annotations

from dataclasses import dataclass, field
import re
from pathlib import Path
import time
from typing import Callable

import gradio as gr
import pandas as pd

from .. import i18n as L
from .. import views as V
from ..check_set import CHECK, Measured, of_metrics
from ..errors import ProjectError, ProjectNotFound
from ..project.runs import GONE
from .downloads import DOWNLOAD_JS
from .tab import projects as PJ
from .page import Links, PRIVATE, Page, friendly, inform
from .tab.state import Session, is_upload

HIDDEN = dict(visible=False)


@dataclass(eq=False)
class ProjectView:
    """The project bar's components (`build` makes them; `render` and `wire` take them)."""
    browser: gr.BrowserState = field(init=False)
    pick: gr.Dropdown = field(init=False)
    name: gr.Textbox = field(init=False)
    new: gr.Button = field(init=False)
    rename: gr.Button = field(init=False)
    delete: gr.Button = field(init=False)
    delete_yes: gr.Button = field(init=False)
    status: gr.Markdown = field(init=False)
    runs: gr.Dataframe = field(init=False)
    run_pick: gr.Dropdown = field(init=False)
    run_use: gr.Button = field(init=False)
    run_delete: gr.Button = field(init=False)
    run_delete_yes: gr.Button = field(init=False)
    cmp_a: gr.Dropdown = field(init=False)
    cmp_b: gr.Dropdown = field(init=False)
    compare: gr.Button = field(init=False)
    cmp_plot: gr.Plot = field(init=False)
    cmp_md: gr.Markdown = field(init=False)
    export: gr.Button = field(init=False)
    export_file: gr.File = field(init=False)
    import_file: gr.File = field(init=False)
    bar: list = field(init=False)  # the bar's outputs


def build(page: Page) -> ProjectView:
    v = ProjectView()
    v.browser = gr.BrowserState({}, storage_key="fewshot-project", secret=PJ.browser_secret())  # lasts restarts
    with gr.Group(elem_id="project-bar"):
        with gr.Row(equal_height=True):
            v.pick = gr.Dropdown([], value=None, label="Project", elem_id="project-pick", scale=3,
                                 allow_custom_value=False)
            v.name = gr.Textbox("", label="Name", elem_id="project-name", scale=3, max_lines=1)
            v.new = gr.Button("New project", elem_id="project-new", scale=1, min_width=120)
            v.rename = gr.Button("Rename", elem_id="project-rename", scale=1, min_width=100)
            v.delete = gr.Button("Delete project", variant="stop", elem_id="project-delete", scale=1, min_width=120)
            v.delete_yes = gr.Button("Yes, delete it and all its photos", variant="stop", elem_id="project-delete-yes",
                                     scale=1, min_width=140, **HIDDEN)
        v.status = gr.Markdown("No project yet: load photos in the Photos step and one is made for you.",
                               elem_id="project-status")
    with gr.Accordion("Runs of this project", open=False, elem_id="runs-box"):
        # widths in px: every column on a laptop's width (1,080 px, no sideways scroll), settings and notes
        # wrapping in the two widest; on a phone the table scrolls sideways instead of squeezing each column to a
        # letter, and its first columns (run, in use, how it ended) are the ones in sight. The active run is the
        # first row and the newest come next (runs_frame), so it is in sight without scrolling in the table
        v.runs = gr.Dataframe(interactive=False, elem_id="runs-table", label="runs", show_label=False, wrap=True,
                              max_height=420, column_widths=["50px", "80px", "90px", "90px", "90px", "80px", "70px",
                                                             "220px", "130px", "180px"])
        with gr.Row(equal_height=True):
            # any value: Gradio checks a Dropdown's input against the choices this session was shown, and an API
            # client calling /run_use with an id from /runs was shown none; the handlers check it (_run_id)
            v.run_pick = gr.Dropdown([], value=None, label="Run", elem_id="run-pick", scale=2,
                                     allow_custom_value=True)
            v.run_use = gr.Button("Use this run's model", elem_id="run-use", scale=1)
            v.run_delete = gr.Button("Delete this run", variant="stop", elem_id="run-delete", scale=1)
            v.run_delete_yes = gr.Button("Yes, delete this run", variant="stop", elem_id="run-delete-yes", scale=1,
                                         **HIDDEN)
        with gr.Row(equal_height=True):
            v.cmp_a = gr.Dropdown([], value=None, label="Compare run", elem_id="cmp-a", scale=2)
            v.cmp_b = gr.Dropdown([], value=None, label="with run", elem_id="cmp-b", scale=2)
            v.compare = gr.Button("Compare", elem_id="run-compare", scale=1)
        v.cmp_plot = gr.Plot(show_label=False, elem_id="cmp-plot", visible=False)
        v.cmp_md = gr.Markdown("", elem_id="cmp-settings")
        with gr.Row():
            v.export = gr.Button("Export the project (.zip)", elem_id="project-export")
            v.export_file = gr.File(label="Project archive", elem_id="project-export-file", height=120)
            v.import_file = gr.File(label="Import a project archive (.zip)", file_types=[".zip"],
                                    elem_id="project-import", height=120)
    v.bar = [v.pick, v.name, v.status, v.delete, v.delete_yes, v.runs, v.run_pick, v.run_delete_yes, v.cmp_a, v.cmp_b]
    return v


def _when(start: float | None, end: float | None) -> str:
    """'2026-11-30 14:50 → 14:52' (the end's date too when it is another day)."""
    if not start:
        return ""
    a = time.strftime("%Y-%m-%d %H:%M", time.localtime(start))
    if not end:
        return a
    b = time.strftime("%Y-%m-%d %H:%M", time.localtime(end))
    return f"{a} → {b[11:] if b[:10] == a[:10] else b}"


def _measured(r) -> Measured:
    """A run's validation figure with its interval (check_set.of_metrics)."""
    return of_metrics({**r.metrics, "val_accuracy": r.val_accuracy})


def runs_frame(sess: Session | None) -> pd.DataFrame:
    """The open project's runs, one row each: accuracy with its 95% interval and the photos behind it, the
    settings and the note in the page's words (translated with the table: df.attrs["translate"]). The active
    run comes first, then the others newest first: the one in use and the latest are always in sight."""
    rows = []
    p = sess.project if sess is not None else None
    runs = p.runs() if p is not None else []
    for r in sorted(runs, key=lambda r: (not r.active, -r.number)):
        m = _measured(r)
        rows.append({"run": r.number, "active": "✓ in use" if r.active else "", "status": r.status,
                     "accuracy": f"{r.val_accuracy:.0%}" if r.val_accuracy is not None else "",
                     # the 95% interval and the photos behind it (🎲: the check set, drawn at random)
                     "likely between": f"{m.low:.0%}–{m.high:.0%}" if m.accuracy is not None else "",
                     "checked on": (f"{m.photos}{' 🎲' if m.validation == CHECK else ''}"
                                    if m.accuracy is not None else ""),
                     "epochs": len(r.history), "settings": PJ.run_settings(r.settings),
                     "when": _when(r.started, r.ended), "note": PJ.run_note(r.status, r.message)})
    cols = ["run", "active", "status", "accuracy", "likely between", "checked on", "epochs", "settings", "when",
            "note"]
    df = pd.DataFrame(rows, columns=cols)
    df.attrs["translate"] = ("active", "status", "settings", "note")  # words; the rest are figures and dates
    return df


def _runs(n: int) -> str:
    return L.plural(n, "1 run", f"{n} runs")


def _photos(n: int) -> str:
    return L.plural(n, "1 photo", f"{n} photos")


def render(v: ProjectView, sess: Session | None, whole: bool = False) -> dict:
    """The bar for a session: the owner's projects (most recently used first), the open one and its runs (always
    all of it)."""
    owner = sess.project_owner if sess is not None else None
    p = sess.project if sess is not None else None
    listed = PJ.store().list(owner) if owner else []
    choices = [(L.plural(r["runs"], f"{r['name']} ({_photos(r['photos'])}, 1 run)",
                         f"{r['name']} ({_photos(r['photos'])}, {r['runs']} runs)"), r["id"]) for r in listed]
    runs = p.runs() if p is not None else []
    if p is None:
        status = "No project yet: load photos in the Photos step and one is made for you."
    else:
        s = p.summary()
        active = next((r for r in runs if r.active), None)
        model = (f"the active model is run {active.number} ({active.val_accuracy:.0%})"
                 if active is not None and active.val_accuracy is not None else "no model yet")
        status = (f"Project “{s['name']}”: {_photos(s['photos'])} ({s['labelled']} labelled), {_runs(len(runs))}; "
                  f"{model}. Kept on this server until you delete it.")
        if active is not None:  # how sure its figure is, and how to make it surer
            status += "\n\n" + V.checked_line(_measured(active))
        if sess.run_note:
            status += "\n\n" + sess.run_note
    run_choices = [(f"run {r.number} · {r.status}" + (f" · {r.val_accuracy:.0%}" if r.val_accuracy is not None else ""),
                    r.id) for r in runs]
    return {v.pick: gr.Dropdown(choices=choices, value=p.id if p is not None else None),
            v.name: p.name if p is not None else "", v.status: status,
            v.delete: gr.Button(visible=True), v.delete_yes: gr.Button(visible=False),
            v.runs: runs_frame(sess), v.run_delete_yes: gr.Button(visible=False),
            # the active run picked: the one a person most likely means (and the table's first row)
            v.run_pick: gr.Dropdown(choices=run_choices, value=next((r.id for r in runs if r.active),
                                                                    run_choices[0][1] if run_choices else None)),
            v.cmp_a: gr.Dropdown(choices=run_choices, value=run_choices[-2][1] if len(run_choices) > 1 else None),
            v.cmp_b: gr.Dropdown(choices=run_choices, value=run_choices[-1][1] if run_choices else None)}


def compare(a, b) -> tuple:
    """Two runs' validation accuracy per epoch on one plot, and their settings side by side, the ones that
    differ in bold."""
    import plotly.graph_objects as go
    fig = go.Figure()
    for r in (a, b):
        fig.add_scatter(x=[h["epoch"] for h in r.history], y=[h.get("val_acc") for h in r.history],
                        mode="lines+markers", name=f"run {r.number}")
    fig.update_layout(title="Validation accuracy per epoch", height=320, margin={"l": 50, "r": 20, "t": 50, "b": 40})
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    keys = [k for k in dict.fromkeys([*a.settings, *b.settings]) if k != "preprocessing"]
    rows = [f"| setting | run {a.number} | run {b.number} |", "|---|---|---|"]
    for k in keys:
        x, y = a.settings.get(k), b.settings.get(k)
        cell = (lambda t: f"**{t}**") if x != y else str
        rows.append(f"| {cell(k)} | {cell(x)} | {cell(y)} |")
    acc = lambda r: f"{r.val_accuracy:.0%}" if r.val_accuracy is not None else "–"  # noqa: E731
    rows.append(f"| accuracy | {acc(a)} | {acc(b)} |")
    return fig, "\n".join(rows)


def _run_id(sess: Session, value) -> int:
    """The database id the runs list's value (or an API client's, from /runs) names, for the engine, which then
    checks that it is a run of the open project; anything that is not a whole number is no run of it either."""
    if sess.project is None or value in (None, ""):
        raise ProjectError("Choose a run first.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,18}", text):  # SQLite's integers stop at 2**63
        raise ProjectError(GONE)
    return int(text)


def remembered(sess: Session) -> dict:
    """What the browser keeps (gr.BrowserState): whose projects, and the open one."""
    # a browser's token only: "local" (one person) or a user's name is the server's to decide on every load
    return {"owner": sess.project_owner if not sess.owner and not sess.owners.one_person else None,
            "project": sess.project.id if sess.project is not None else None}


@dataclass(eq=False)
class _Wiring:
    """What the bar's event groups share (`wire` makes it): the view, the page, the bar's outputs, every output a
    project's opening rewrites, `whole` (all of it for a session) and `session` (the event's session)."""
    v: ProjectView
    page: Page
    bar_out: list
    every: list
    whole: Callable[[Session], dict]
    session: Callable


def wire(v: ProjectView, page: Page, links: Links) -> None:
    """The bar's events, the reload that reopens the last project (every step shows it: `links.show_all`); sets
    `page.follow(dependency)`, which chains the bar's refresh (and the browser's memory of the open project) after
    another step's event."""
    show_all, all_outputs = links.show_all, links.everything
    bar_out = [page.state, v.browser] + v.bar

    def whole(sess: Session) -> dict:
        return {page.state: sess, v.browser: remembered(sess), **show_all(sess), **render(v, sess)}

    def session(st, request) -> Session:
        sess = page.session(st, request)
        if not sess.project_owner:  # an API client: its session's projects (the command line's, for one person)
            sess.project_owner = sess.owners.of_client(sess)
        return sess

    c = _Wiring(v=v, page=page, bar_out=bar_out, every=list(dict.fromkeys(bar_out + all_outputs)), whole=whole,
                session=session)
    _wire_load(c, links.demo)
    _wire_projects(c)
    _wire_runs(c)
    _wire_transfer(c)

    @friendly  # in the page's language, like every other callback
    def sync(st):
        if not isinstance(st, Session):  # nothing open yet (a dict must name at least one output)
            return {v.browser: gr.skip()}
        return {**render(v, st), v.browser: remembered(st)}

    def follow(dep):
        return dep.then(sync, [page.state], [v.browser] + v.bar, **PRIVATE, show_progress="hidden")
    page.follow = follow


def _wire_load(c: _Wiring, demo: gr.Blocks) -> None:
    """On every page load (a reload too): the browser's owner token and last project, reopened."""
    v, page, every, whole = c.v, c.page, c.every, c.whole

    @friendly
    def on_load(kept, st, request: gr.Request):
        sess = page.session(st, request)
        kept = kept if isinstance(kept, dict) else {}
        PJ.page_owner(sess, getattr(request, "username", None), kept.get("owner"))  # the server's ProjectOwners
        pid = kept.get("project")
        if pid and sess.project is None:
            try:
                PJ.open_project(sess, str(pid))
            except ProjectNotFound:
                pass
        return whole(sess)

    page.reopened.append(demo.load(on_load, [v.browser, page.state], every, **PRIVATE))


def _wire_projects(c: _Wiring) -> None:
    """New, open, rename and delete (asked first)."""
    v, page, every, whole, session = c.v, c.page, c.every, c.whole, c.session

    @friendly
    def project_new(name: str = "", st=None, request: gr.Request = None):
        sess = session(st, request)
        if sess.training:
            raise ProjectError("A training is running. Wait for it or press Stop, then change projects.")
        if sess.project is not None and (name or "").strip() == sess.project.name:
            name = ""  # the box still shows the open project's name: the new one gets a name of its own
        p = PJ.new_project(sess, name)
        inform(f"New project “{p.name}”: load photos in the Photos step.")
        return whole(sess)

    @friendly
    def project_open(project_id: str, st=None, request: gr.Request = None):
        sess = session(st, request)
        if not project_id or (sess.project is not None and sess.project.id == project_id):
            return {**render(v, sess), page.state: sess}
        if sess.training:
            raise ProjectError("A training is running. Wait for it or press Stop, then change projects.")
        PJ.open_project(sess, project_id)
        return whole(sess)

    @friendly
    def project_rename(name: str, st=None, request: gr.Request = None):
        sess = session(st, request)
        if sess.project is None:
            raise ProjectError("There is no project open to rename.")
        sess.project.rename(name)
        return {**render(v, sess), page.state: sess, v.browser: remembered(sess)}

    def ask_delete(st):
        if not isinstance(st, Session) or st.project is None:
            return {v.delete_yes: gr.Button(visible=False)}
        return {v.delete_yes: gr.Button(visible=True), v.delete: gr.Button(visible=False)}

    @friendly
    def project_delete(st=None, request: gr.Request = None):
        sess = session(st, request)
        if sess.project is None:
            raise ProjectError("There is no project open to delete.")
        if sess.training:
            raise ProjectError("A training is running. Wait for it or press Stop, then delete the project.")
        name = sess.project.name
        PJ.forget(sess, sess.project.id)
        inform(f"Project “{name}” and all its photos, runs and models are deleted.")
        return whole(sess)

    v.new.click(project_new, [v.name, page.state], every, api_name="project_new")
    # step 2 follows a training the opened project is running (from another tab) after this, as after a reload
    page.reopened.append(v.pick.input(project_open, [v.pick, page.state], every, api_name="project_pick", **PRIVATE))
    # /project_open takes any id of the caller's (the engine checks the owner): the list's choices are only what
    # this tab was shown, and a new API client (e.g. a logged-in user's script) has been shown none
    api_open = gr.Textbox(visible=False, label="project id")
    gr.Button(visible=False).click(project_open, [api_open, page.state], every, api_name="project_open")
    v.rename.click(project_rename, [v.name, page.state], c.bar_out, api_name="project_rename")
    v.delete.click(ask_delete, [page.state], [v.delete, v.delete_yes], queue=False, **PRIVATE)
    v.delete_yes.click(project_delete, [page.state], every, api_name="project_delete")


def _wire_runs(c: _Wiring) -> None:
    """The runs list: the active one picked, a run deleted (asked first), two compared, and /runs."""
    v, page, every, whole, session = c.v, c.page, c.every, c.whole, c.session

    @friendly
    def runs(st=None, request: gr.Request = None):
        sess = session(st, request)
        return [r.to_dict() for r in sess.project.runs()] if sess.project is not None else []

    @friendly
    def run_use(run_id, st=None, request: gr.Request = None):
        sess = session(st, request)
        sess.project.pick_active(_run_id(sess, run_id))
        sess.run_note = ""
        PJ.show_active(sess)
        return whole(sess)

    def ask_run_delete(st, run_id):
        ok = isinstance(st, Session) and st.project is not None and run_id not in (None, "")
        return {v.run_delete_yes: gr.Button(visible=ok)}

    @friendly
    def run_delete(run_id, st=None, request: gr.Request = None):
        sess = session(st, request)
        run = _run_id(sess, run_id)
        if sess.training:
            raise ProjectError("A training is running. Wait for it or press Stop, then delete a run.")
        sess.project.delete_run(run)
        sess.run_note = ""
        PJ.show_active(sess)
        return whole(sess)

    @friendly
    def on_compare(a, b, st=None, request: gr.Request = None):
        sess = session(st, request)
        if sess.project is None or a in (None, "") or b in (None, ""):
            raise ProjectError("Choose two runs to compare.")
        fig, table = compare(sess.project.run(int(a)), sess.project.run(int(b)))
        return {v.cmp_plot: gr.Plot(value=fig, visible=True), v.cmp_md: table}

    v.run_use.click(run_use, [v.run_pick, page.state], every, api_name="run_use")
    v.run_delete.click(ask_run_delete, [page.state, v.run_pick], [v.run_delete_yes], queue=False, **PRIVATE)
    v.run_delete_yes.click(run_delete, [v.run_pick, page.state], every, api_name="run_delete")
    v.compare.click(on_compare, [v.cmp_a, v.cmp_b, page.state], [v.cmp_plot, v.cmp_md], **PRIVATE)
    hidden_runs = gr.Button(visible=False)
    hidden_runs.click(runs, [page.state], gr.JSON(visible=False), api_name="runs")


def _wire_transfer(c: _Wiring) -> None:
    """The project as one archive, out and in, and /project_list."""
    v, page, every, whole, session = c.v, c.page, c.every, c.whole, c.session

    @friendly
    def project_list(st=None, request: gr.Request = None):
        sess = session(st, request)
        return PJ.store().list(sess.project_owner)

    @friendly
    def project_export(st=None, request: gr.Request = None):
        from ..project.io import export_project
        sess = session(st, request)
        if sess.project is None:
            raise ProjectError("There is no project open to export.")
        out = sess.fresh_dir("export") / f"{_file_name(sess.project.name)}.zip"
        export_project(sess.project, "archive", out)
        return {v.export_file: str(out)}

    @friendly
    def project_import(path: str, st=None, request: gr.Request = None):
        from ..project.io import import_project
        sess = session(st, request)
        real = is_upload(path, page.upload_root)  # never a path the browser names on the server
        if real is None:
            raise ProjectError("Choose a project archive (.zip) first.")
        sess.uploads.add(real)
        try:
            p = import_project(PJ.store(), sess.project_owner, real)
        except ProjectError as exc:  # its name is taken (e.g. imported twice): a free name after the file's
            if "already have a project" not in str(exc):
                raise
            p = import_project(PJ.store(), sess.project_owner, real,
                               name=PJ.free_name(sess.project_owner, Path(real).stem))
        PJ.attach(sess, p)
        return whole(sess)

    # Gradio draws a drop zone's own words ("Drop File Here", "Click to Upload") once, in the language of the
    # moment it appeared: after a language switch the zone is drawn anew, hidden and shown again
    page.lang.change(lambda: gr.File(visible=False), None, v.import_file, queue=False, show_progress="hidden",
                     **PRIVATE).then(lambda: gr.File(visible=True), None, v.import_file, queue=False,
                                     show_progress="hidden", **PRIVATE)
    # one click: the archive is saved at once (downloads.py); the box keeps it listed, for a second copy
    v.export.click(project_export, [page.state], [v.export_file], api_name="project_export").success(
        None, [v.export_file], None, js=DOWNLOAD_JS, **PRIVATE)
    v.import_file.upload(project_import, [v.import_file, page.state], every, api_name="project_import")
    hidden_list = gr.Button(visible=False)
    hidden_list.click(project_list, [page.state], gr.JSON(visible=False), api_name="project_list")


def _file_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return keep[:60] or "project"


__all__ = ["HIDDEN", "ProjectView", "build", "compare", "remembered", "render", "runs_frame", "wire"]
