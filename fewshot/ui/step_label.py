"""The Label step: an unsorted pile of photos into the project, labelled with the model's help.

Drop a folder (any layout) or a .zip: its photos join the open project unlabelled (a new project is made when
none is open) and their features are computed in the background with a progress bar. The grid
(fewshot/ui/tab/label_html.py, assets/label_grid.js) shows the photos to label first, every photo page by page,
the suggestions per class with "accept all above N%", the photos visitors of a demo link sent ("visitors say
...": Confirm or Reject, never a label by themselves), and the labels that look wrong. Every label is written
to the project at once, with who gave it; the logic is fewshot/ui/tab/labels.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Callable

import gradio as gr

from .. import i18n as L
from .. import views as V
from ..archive import Limits
from ..errors import ProjectError
from .tab import label_html as H
from .tab import projects as PJ
from .tab.labels import Desk
from .tab.photos import uploaded_items
from .page import LANG, Links, PRIVATE, Page, friendly, inform, localized, md_hint
from .tab.state import Session, is_upload
from .server.thumbs import ThumbTokens
from .texts import FOLDER_TEMPLATE, FOLDER_TEXTS

ASSETS = Path(__file__).resolve().parents[2] / "assets"
# The drop zone's words (assets/folder_drop.js reads the same keys as step 1's)
POOL_TEXTS = {**FOLDER_TEXTS,  # step 1's words, but for a pile in any layout
              "aria": "Choose or drop a folder of unsorted photos",
              "title": "Drop a folder of unsorted photos here, or click to choose it",
              "sub": "Any layout: the photos join this project without a class, and you label them below."}
VIEW_CHOICES = [("Ask me", "ask"), ("All photos", "all"), ("Suggestions", "suggest"), ("Suspicious labels", "suspects")]


def desk_of(sess: Session, make: bool = False, name: str = "Unsorted photos",
            tokens: ThumbTokens | None = None) -> Desk | None:
    """The session's Desk for its open project (a project named `name` is made first when `make`); its thumbnails'
    links work for this session only once registered in the server's `tokens` (the page's, Page.thumbs)."""
    if sess.project is None:
        if not make:
            return None
        if not sess.project_owner:
            sess.project_owner = sess.owner or "api-" + sess.id
        PJ.new_project(sess, PJ.free_name(sess.project_owner, name), show=False)
    desk = sess.label.desk
    if desk is None or desk.project.id != sess.project.id:
        desk = sess.label.desk = Desk(sess.project)
        if desk.project.photos():
            desk.start_features()
    if tokens is not None:  # (fewshot/ui/server/thumbs.py)
        tokens.register(sess, desk)
    desk.invalidate()  # each event reads the project afresh (another step may have added photos)
    return desk


@dataclass(eq=False)
class LabelView:
    """The Label step's components (`build` makes them; `render` and `wire` take them)."""
    page: Page
    drop: gr.HTML = field(init=False)
    zip: gr.File = field(init=False)
    progress: gr.HTML = field(init=False)
    timer: gr.Timer = field(init=False)
    class_name: gr.Textbox = field(init=False)
    add_class: gr.Button = field(init=False)
    class_pick: gr.Dropdown = field(init=False)
    rename: gr.Button = field(init=False)
    undo: gr.Button = field(init=False)
    view: gr.Radio = field(init=False)
    status: gr.Markdown = field(init=False)
    grid: gr.HTML = field(init=False)
    use: gr.Button = field(init=False)
    shown: list = field(init=False)  # what a new session or language rewrites


def build(page: Page) -> LabelView:
    """The drop zone, the class controls, the view picker, the grid and the hand-over to training."""
    v = LabelView(page=page)
    gr.HTML('<h2><span class="fs-num">1+</span>Label unsorted photos (optional)</h2><div class="fs-muted">No class '
            'folders? Drop the pile here and label it with the model\'s help; it learns while you label.</div>',
            elem_classes="fs-step")
    with gr.Row(equal_height=True):
        with gr.Column(scale=3):
            v.drop = gr.HTML(value="", html_template=FOLDER_TEMPLATE, status="", busy="", elem_id="pool-drop",
                             limit=Limits.from_env().max_images, js_on_load=(ASSETS / "folder_drop.js").read_text(),
                             texts={lang: {k: L.numbered(t, lang) for k, t in POOL_TEXTS.items()} for lang in L.LANGS},
                             t_aria=POOL_TEXTS["aria"], t_title=POOL_TEXTS["title"], t_btn=POOL_TEXTS["btn"],
                             t_files=POOL_TEXTS["files"],
                             t_sub="", failed="")
        with gr.Column(scale=1):
            v.zip = gr.File(label="Or a .zip of photos (any layout)", file_types=[".zip"], file_count="single",
                            elem_id="pool-zip", height=200)
    v.progress = gr.HTML("", elem_id="label-progress")
    # drawn outside the steps' tabs (fewshot/ui/__init__.py): a timer ticks only where it is drawn, and step 1's
    # note of photos that may be in the wrong folder follows it while the Label step is closed
    v.timer = gr.Timer(1.0, active=False, render=False)
    with gr.Row(equal_height=True):
        v.class_name = gr.Textbox("", label="Class name", elem_id="label-class-name", max_lines=1, scale=2)
        v.add_class = gr.Button("Add class", elem_id="label-add-class", scale=1, min_width=100)
        v.class_pick = gr.Dropdown([], value=None, label="Class to rename (a name taken merges them)",
                                   elem_id="label-class-pick", scale=2)
        v.rename = gr.Button("Rename / merge", elem_id="label-rename", scale=1, min_width=110)
        v.undo = gr.Button("↶ Undo", elem_id="label-undo", scale=1, min_width=90)
    v.view = gr.Radio(VIEW_CHOICES, value="ask", label="Show", elem_id="label-view")
    v.status = gr.Markdown("", elem_id="label-status")
    v.grid = gr.HTML(value="", html_template="${grid}", grid="", elem_id="label-grid",
                     js_on_load=(ASSETS / "label_grid.js").read_text())
    with gr.Row():
        v.use = gr.Button("Use the labelled photos for training", variant="primary", elem_id="label-use")
    md_hint("Then train in step 2: it trains on the labelled photos of this project.")
    v.shown = [v.progress, v.status, v.grid, v.class_pick, v.timer]
    return v


def _tr(sess: Session | None) -> Callable[[str], str]:
    lang = (sess.lang if sess is not None and sess.lang else None) or LANG.get()
    return lambda text: L.translate(text, lang, label=True)


def status_text(desk: Desk) -> str:
    """How many photos are labelled, why there are no suggestions yet, what was skipped."""
    photos = desk.photos()
    labels = [p.label for p in photos.values() if p.label is not None]
    accepted, visitors = desk.accepted(), sum(len(g) for g in desk.visitors().values())
    lines = [f"**{len(photos)} photos**: {len(labels)} labelled in {len(set(labels))} classes, "
             f"{len(photos) - len(labels)} without a class."]
    if accepted:
        lines[0] += f" {accepted} of the labels are accepted suggestions (the suggestions learn only from yours)."
    if visitors:
        lines.append(f"{visitors} photos from visitors of your demo links wait for you: they are not labels until "
                     f"you confirm them (Show: Suggestions).")
    if desk.last_note:
        lines.append(desk.last_note)
    why = desk.why_no_suggestions() if desk.pool is not None else None
    if why:
        lines.append(why)
    if desk.last_refresh_s is not None and not why:
        lines.append(f"Suggestions refreshed in {desk.last_refresh_s:.1f} s.")
    if desk.skipped:
        lines.append(f"Skipped {len(desk.skipped)} files:\n" +
                     "\n".join(f"- {name}: {reason}" for name, reason in desk.skipped[:20]))
    return "\n\n".join(lines)


def progress_of(desk: Desk) -> str:
    done, total = desk.progress
    if desk.error:
        return V.progress_html(None, f"The photos' features could not be computed: {desk.error}", "error")
    if desk.computing:
        return V.progress_html(done / total if total else None, f"Reading the photos' features: {done} of {total}")
    if desk.pool is not None:
        return V.progress_html(1.0, f"The features of {len(desk.pool.names)} photos are ready.", "done")
    return ""


def folder_note(desk: Desk) -> str:
    """Labels the model doubts, said in the words of photos loaded from class folders (step 1's report)."""
    found, photos = desk.suspects(), desk.photos()
    if not found:
        return ""
    lines = [f"⚠️ These {len(found)} photos may be in the wrong folder (a model trained on the other photos "
             f"says another class; fix or keep them under Suspicious labels in the Label step):"]
    for s in found[:8]:
        where = photos[s["sha1"]].path if s["sha1"] in photos else s["path"]
        lines.append(f"- {where}: in '{s['given']}', looks like '{s['suggested']}'")
    if len(found) > 8:
        lines.append(f"- and {len(found) - 8} more")
    return "\n".join(lines)


def render(v: LabelView, sess: Session | None, whole: bool = False) -> dict:
    """What the Label step shows for a session (again when the language changes); it is always all of it."""
    desk = desk_of(sess, tokens=v.page.thumbs) if sess is not None else None
    if desk is None:
        return {v.grid: gr.HTML(grid=""), v.status: "", v.progress: "",
                v.class_pick: gr.Dropdown(choices=[], value=None),
                v.timer: gr.Timer(active=False)}
    classes = desk.classes()
    return {v.grid: gr.HTML(grid=H.grid(desk, _tr(sess))), v.status: status_text(desk), v.progress: progress_of(desk),
            v.class_pick: gr.Dropdown(choices=classes, value=classes[0] if classes else None),
            v.timer: gr.Timer(active=desk.computing)}


def act(desk: Desk, data: dict) -> str | None:
    """One action the grid sent; returns what to tell the user, if anything, which the status line shows until
    the next such note. Changes to labels retrain."""
    what, ids, cls = data.get("act"), [str(i) for i in data.get("ids") or []], str(data.get("cls") or "")
    if what == "filter":
        desk.filter, desk.page = cls, 0
        return None
    if what == "page":
        desk.page = int(data.get("page") or 0)
        return None
    if what == "label":
        n = desk.assign(ids, cls, keep=desk.view == "suspects")  # decided while reviewing: not asked again
        note = f"{n} photos are now '{cls}'."
    elif what == "unlabel":
        note = f"{desk.assign(ids, None)} photos have no class now."
    elif what == "accept":
        threshold = _chosen_threshold(desk, data.get("threshold"))
        note = f"{desk.accept(cls, threshold)} suggestions accepted as '{cls}'. " + _accept_risk(desk, threshold)
    elif what == "accept-hint":
        note = f"{desk.assign(desk.hints().get(cls, []), cls)} photos are now '{cls}'."
    elif what == "confirm-visitor":
        note = f"{desk.confirm_visitors(ids)} photos from visitors are now labelled as the visitors said."
    elif what == "reject-visitor":
        n = desk.reject_visitors(ids)
        note = f"What the visitors said of {n} photos is gone; the photos stay, without a class."
    elif what == "reject":
        if not ids:
            raise ProjectError("Select one or more photos first (click, shift-click, or Select all).")
        desk.reject(ids, cls)
        return None
    elif what == "fix":
        one = (ids[:1] or [str(data.get("id"))])[0]
        desk.assign([one], cls, keep=True)  # the user chose this class: the photo leaves the review for good
        note = None
    elif what == "keep":
        desk.keep(str(data.get("id") or (ids[0] if ids else "")), cls)
        return None
    else:
        return None
    desk.refresh()
    if note:  # said in the status line, not a toast: a toast per accepted group stacked over the grid
        desk.last_note = note
    return note


def wire(v: LabelView, page: Page, links: Links) -> None:
    """The drop, the background features, the grid's actions, classes, undo, and the hand-over to training (which
    shows step 1's report, `links.show_report`)."""
    _wire_photos(v, page, links.report_outputs)
    _wire_grid(v, page)
    _wire_classes(v, page, links.show_report, links.report_outputs)


def _shown(v: LabelView, page: Page, sess: Session) -> dict:
    return {**render(v, sess), page.state: sess}


def _wire_photos(v: LabelView, page: Page, report_outputs: list) -> None:
    """Photos in (a dropped folder, a zip, or step 1's), and their features computed in the background."""
    outputs = v.shown + [page.state]
    shown = lambda sess: _shown(v, page, sess)  # noqa: E731
    warnings = next(c for c in report_outputs if c.elem_id == "data-warnings")

    @friendly
    def on_drop(payload: str, st, request: gr.Request):
        sess = page.session(st, request)
        data = json.loads(payload or "{}")
        items, skipped = uploaded_items(data, page.upload_root, is_upload)
        top = (items[0][1] if items else "Unsorted photos").split("/")[0]
        desk = desk_of(sess, make=True, name=top, tokens=page.thumbs)
        r = desk.add_uploaded(items, sess.limits, skipped)
        inform(f"{r.added} photos added without a class ({r.already} were already in the project).")
        return shown(sess)

    @friendly
    def on_zip(path: str, st, request: gr.Request):
        sess = page.session(st, request)
        real = is_upload(path, page.upload_root)
        if real is None:
            raise ProjectError("Choose a .zip of photos first.")
        sess.uploads.add(real)
        desk = desk_of(sess, make=True, name=Path(real).stem, tokens=page.thumbs)
        desk.add_archive(real, sess.limits, sess.fresh_dir("pool"))
        return shown(sess)

    def on_tick(st):
        sess = st if isinstance(st, Session) and not st.closed else None
        desk = desk_of(sess, tokens=page.thumbs) if sess is not None else None
        if desk is None or desk.computing:
            return {v.progress: progress_of(desk) if desk else "", v.timer: gr.Timer(active=desk is not None)}
        out = render(v, sess)
        if sess.dataset is not None:  # step 1's report lists the photos that may be in the wrong folder
            note = folder_note(desk)
            base = V.data_warnings(sess.dataset)
            out[warnings] = (base if not base.startswith("✅") else "") + "\n\n" + note if note else base
        return localized(out, sess.lang or L.EN)

    def on_data(st):  # photos came in through step 1: the features (and so the folder check) start
        sess = st if isinstance(st, Session) and not st.closed else None
        desk = desk_of(sess, tokens=page.thumbs) if sess is not None else None
        if desk is None:
            return {v.timer: gr.Timer(active=False)}
        if not desk.computing:
            desk.start_features()
        return localized(render(v, sess), sess.lang or L.EN)

    where = dict(show_progress="hidden")
    page.follow(v.drop.change(on_drop, [v.drop, page.state], outputs, **PRIVATE, show_progress_on=[v.status]))
    page.follow(v.zip.upload(on_zip, [v.zip, page.state], outputs, **PRIVATE, show_progress_on=[v.status]))
    v.timer.tick(on_tick, [page.state], v.shown + [warnings], **PRIVATE, **where)
    report_outputs[0].change(on_data, [page.state], v.shown, **PRIVATE, **where)
    # Gradio writes a file box's own words in the language of the moment it is drawn: draw it again on a switch
    page.lang.change(lambda: gr.File(visible=False), None, v.zip, queue=False, **PRIVATE,
                     show_progress="hidden").then(lambda: gr.File(visible=True), None, v.zip, queue=False,
                                                  **PRIVATE, show_progress="hidden")


def _wire_grid(v: LabelView, page: Page) -> None:
    """The grid's actions (labels, accept, reject, fix, keep, pages) and which view it shows."""
    outputs = v.shown + [page.state]
    shown = lambda sess: _shown(v, page, sess)  # noqa: E731

    @friendly
    def on_act(payload: str, st, request: gr.Request):
        sess = page.session(st, request)
        desk = desk_of(sess, tokens=page.thumbs)
        if desk is None or not payload:
            return shown(sess)
        data = json.loads(payload)
        act(desk, data)
        return shown(sess)

    @friendly
    def on_view(view: str, st, request: gr.Request):
        sess = page.session(st, request)
        desk = desk_of(sess, tokens=page.thumbs)
        if desk is not None:
            desk.view = view if view in H.VIEWS else "ask"
        return shown(sess)

    # the project bar's count of labelled photos follows each change (chained: the grid answers first)
    page.follow(v.grid.change(on_act, [v.grid, page.state], outputs, **PRIVATE, show_progress_on=[v.status]))
    v.view.change(on_view, [v.view, page.state], outputs, **PRIVATE, show_progress="hidden")


def _wire_classes(v: LabelView, page: Page, show_report: Callable[[Session], dict],
                  report_outputs: list) -> None:
    """Classes made, renamed and merged; undo; the labelled photos handed to step 1 for training."""
    outputs = v.shown + [page.state]
    shown = lambda sess: _shown(v, page, sess)  # noqa: E731

    @friendly
    def on_add_class(name: str, st, request: gr.Request):
        sess = page.session(st, request)
        made = desk_of(sess, make=True, tokens=page.thumbs).create_class(name)
        return {**shown(sess), v.class_name: "", v.class_pick: gr.Dropdown(choices=sess.project.classes(), value=made)}

    @friendly
    def on_rename(old: str, new: str, st, request: gr.Request):
        sess = page.session(st, request)
        desk = desk_of(sess, tokens=page.thumbs)
        if desk is None or not old:
            raise ProjectError("Choose a class to rename first.")
        made = desk.rename_class(old, new)
        desk.refresh()
        return {**shown(sess), v.class_name: "", v.class_pick: gr.Dropdown(choices=desk.classes(), value=made)}

    @friendly
    def on_undo(st, request: gr.Request):
        sess = page.session(st, request)
        desk = desk_of(sess, tokens=page.thumbs)
        if desk is None:
            raise ProjectError("There is nothing to undo.")
        desk.last_note = desk.undo()
        desk.refresh()
        return shown(sess)

    @friendly
    def on_use(st, request: gr.Request):
        sess = page.session(st, request)
        if sess.project is None:
            raise ProjectError("There is no project open: drop photos first.")
        sess.set_dataset(sess.project.dataset(), f"project “{sess.project.name}”")
        return {**show_report(sess), page.state: sess}

    v.add_class.click(on_add_class, [v.class_name, page.state], outputs + [v.class_name], **PRIVATE)
    v.class_name.submit(on_add_class, [v.class_name, page.state], outputs + [v.class_name], **PRIVATE)
    page.follow(v.rename.click(on_rename, [v.class_pick, v.class_name, page.state], outputs + [v.class_name],
                               **PRIVATE))
    page.follow(v.undo.click(on_undo, [page.state], outputs, **PRIVATE))
    page.follow(v.use.click(on_use, [page.state], report_outputs + [page.state], **PRIVATE))


def _chosen_threshold(desk, typed) -> float:
    """The threshold an Accept uses (0-1): the one typed beside it, else the default; where the labels support
    no default and none is typed, nothing is accepted."""
    if typed not in (None, ""):
        return float(typed) / 100
    default, _ = desk.risk()
    if default is None:
        raise ProjectError("Nothing is accepted by default yet: your labels do not show a safe threshold. Label the "
                           "photos asked next, or type the lowest confidence you accept beside Accept.")
    return default


def _accept_risk(desk, threshold: float) -> str:
    """What accepting at `threshold` (the user's, maybe not the default) promises, in words: a lower bound
    judged on the labels a person gave to the check photos, drawn at random."""
    right = desk.right_at(threshold)
    if right is None:
        return (f"Too few of your check photos, picked at random, reach {threshold:.0%} to say how many of these "
                f"are right.")
    return (f"At {threshold:.0%} and above, at least {right:.0%} of such suggestions should be right (90% sure, "
            f"judged on your {desk.evidence()} check photos, picked at random); Suspicious labels lists the ones "
            f"now in doubt.")


__all__ = ["ASSETS", "LabelView", "POOL_TEXTS", "VIEW_CHOICES", "act", "build", "desk_of", "folder_note", "progress_of",
           "render", "status_text", "wire"]
