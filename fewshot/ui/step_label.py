"""The Label step: an unsorted pile of photos into the project, labelled with the model's help.

A pile dropped in the Photos step (any layout, a folder, loose photos or a .zip) joins the open project unlabelled
(a new project is made when none is open; fewshot/ui/__init__.py `_to_label`) and this step opens on it; the
photos' features are computed in the background with a progress bar. The grid
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
from ..errors import ProjectError
from .tab import label_html as H
from .tab import projects as PJ
from .tab.labels import Desk
from .page import LANG, Links, PRIVATE, Page, friendly, localized, md_hint
from .terms import term
from .tab.state import Session
from .server.thumbs import ThumbTokens

ASSETS = Path(__file__).resolve().parents[2] / "assets"
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
    used: gr.Markdown = field(init=False)
    shown: list = field(init=False)  # what a new session or language rewrites


def build(page: Page) -> LabelView:
    """The drop zone, the class controls, the view picker, the grid and the hand-over to training."""
    v = LabelView(page=page)
    gr.HTML('<h2>Label unsorted photos (optional)</h2><div class="fs-muted">No class folders? Give each photo its '
            'class here with the model\'s help; it learns while you label.</div>'
            f'<div class="fs-muted">It first {term("reads every photo once", "features")}, then suggests a class '
            f'for each.</div>', elem_classes="fs-step")
    # photos come in through the Photos step's one drop zone, which sends a pile here (fewshot/ui/step_data.py)
    md_hint("Photos without class folders come here from the Photos step: drop them there, in any shape.")
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
    # the hand-over above the grid: a page of photos (or every photo) is long, and the next step starts here
    with gr.Row():  # side by side on a laptop, the answer under the button on a phone
        v.use = gr.Button("Use the labelled photos for training", variant="primary", elem_id="label-use", scale=1,
                          min_width=220)
        with gr.Column(scale=2, min_width=260):
            v.used = gr.Markdown("", elem_id="label-used")  # what the click did, where the person looks
    md_hint("Then train in the Train step: it trains on the labelled photos of this project.")
    v.grid = gr.HTML(value="", html_template="${grid}", grid="", elem_id="label-grid",
                     js_on_load=(ASSETS / "label_grid.js").read_text())
    v.shown = [v.progress, v.status, v.grid, v.class_pick, v.timer, v.used]
    return v


def _tr(sess: Session | None) -> Callable[[str], str]:
    lang = (sess.lang if sess is not None and sess.lang else None) or LANG.get()
    return lambda text: L.translate(text, lang, label=True)


def _plural(n: int, one: str, many: str) -> str:
    """`one` for a count of 1, else `many` (English has two forms; the Chinese of both is the same)."""
    return one if n == 1 else many


def count_line(n_photos: int, n_labelled: int, n_classes: int) -> str:
    """"**501 photos**: 260 labelled in 5 classes, 241 without a class.", each count with its own plural, as one
    message of the catalog (so that it comes in Chinese whole)."""
    left = n_photos - n_labelled
    if n_photos == 1:
        return (f"**1 photo**: {n_labelled} labelled in 1 class, {left} without a class." if n_classes == 1 else
                f"**1 photo**: {n_labelled} labelled in {n_classes} classes, {left} without a class.")
    return (f"**{n_photos} photos**: {n_labelled} labelled in 1 class, {left} without a class." if n_classes == 1 else
            f"**{n_photos} photos**: {n_labelled} labelled in {n_classes} classes, {left} without a class.")


def status_text(desk: Desk) -> str:
    """How many photos are labelled, what the last action did, why there are no suggestions yet, what was
    skipped; one message a line (the page translates line by line)."""
    photos = desk.photos()
    labels = [p.label for p in photos.values() if p.label is not None]
    accepted, visitors = desk.accepted(), sum(len(g) for g in desk.visitors().values())
    lines = [count_line(len(photos), len(labels), len(set(labels)))]
    if accepted:
        lines.append(_plural(accepted, "1 of the labels is an accepted suggestion (the suggestions learn only from "
                                       "yours).",
                             f"{accepted} of the labels are accepted suggestions (the suggestions learn only from "
                             f"yours)."))
    if visitors:
        lines.append(_plural(visitors, "1 photo from visitors of your demo links waits for you: it is not a label "
                                       "until you confirm it (Show: Suggestions).",
                             f"{visitors} photos from visitors of your demo links wait for you: they are not labels "
                             f"until you confirm them (Show: Suggestions)."))
    if desk.last_note:
        lines.append(desk.last_note)
    why = desk.why_no_suggestions() if desk.pool is not None else None
    if why:
        lines.append(why)
    if desk.last_refresh_s is not None and not why:
        lines.append(f"Suggestions refreshed in {desk.last_refresh_s:.1f} s.")
    if desk.skipped:
        n = len(desk.skipped)
        lines.append(_plural(n, "Skipped 1 file:", f"Skipped {n} files:") + "\n" +
                     "\n".join(f"- {name}: {reason}" for name, reason in desk.skipped[:20]))
    return "\n\n".join(lines)


def used_text(sess: Session) -> str:
    """What "Use the labelled photos for training" did, beside its button: the photos per class step 2 trains on."""
    ds = sess.dataset
    if ds is None:
        return ""
    counts = ds.counts()
    total, k = int(counts["total"].sum()), len(ds.classes)
    head = _plural(k, f"✅ The Train step will train on {total} photos in 1 class:",
                   f"✅ The Train step will train on {total} photos in {k} classes:")
    rows = [_plural(int(r.total), f"- {r['class']}: 1 photo", f"- {r['class']}: {int(r.total)} photos")
            for _, r in counts.iterrows()]
    return "\n".join([head, *rows])


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
                v.timer: gr.Timer(active=False), v.used: ""}
    classes = desk.classes()
    return {v.grid: gr.HTML(grid=H.grid(desk, _tr(sess))), v.status: status_text(desk), v.progress: progress_of(desk),
            v.class_pick: gr.Dropdown(choices=classes, value=classes[0] if classes else None),
            v.timer: gr.Timer(active=desk.computing), v.used: used_text(sess) if desk.used else ""}


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
        note = _plural(n, f"1 photo is now '{cls}'.", f"{n} photos are now '{cls}'.")
    elif what == "unlabel":
        n = desk.assign(ids, None)
        note = _plural(n, "1 photo has no class now.", f"{n} photos have no class now.")
    elif what == "accept":
        threshold = _chosen_threshold(desk, data.get("threshold"))
        n = desk.accept(cls, threshold)
        note = _plural(n, f"1 suggestion accepted as '{cls}'.", f"{n} suggestions accepted as '{cls}'.") + " " + \
            _accept_risk(desk, threshold)
    elif what == "accept-hint":
        n = desk.assign(desk.hints().get(cls, []), cls)
        note = _plural(n, f"1 photo is now '{cls}'.", f"{n} photos are now '{cls}'.")
    elif what == "confirm-visitor":
        n = desk.confirm_visitors(ids)
        note = _plural(n, "1 photo from visitors is now labelled as the visitors said.",
                       f"{n} photos from visitors are now labelled as the visitors said.")
    elif what == "reject-visitor":
        n = desk.reject_visitors(ids)
        note = _plural(n, "What the visitors said of 1 photo is gone; the photo stays, without a class.",
                       f"What the visitors said of {n} photos is gone; the photos stay, without a class.")
    elif what == "reject":
        if not ids:
            raise ProjectError("Select one or more photos first (click, shift-click, or Select all).")
        desk.reject(ids, cls)
        n = len(set(ids))
        note = _plural(n, f"1 suggestion of '{cls}' rejected: the photo stays without a class.",
                       f"{n} suggestions of '{cls}' rejected: the photos stay without a class.")
    elif what == "fix":
        one = (ids[:1] or [str(data.get("id"))])[0]
        desk.assign([one], cls, keep=True)  # the user chose this class: the photo leaves the review for good
        note = f"Fixed: 1 photo is now '{cls}'."
    elif what == "keep":
        desk.keep(str(data.get("id") or (ids[0] if ids else "")), cls)
        note = f"Kept: the photo stays '{cls}' and is not asked about again."
    else:
        return None
    # every action says what it did in the status line (not a toast: a toast per accepted group stacked over the
    # grid); a note left from an earlier action would say something no longer true
    desk.last_note = note
    if what not in ("reject", "keep"):  # a card hidden changes no label: nothing to learn again
        desk.refresh()
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
    """Photos in (the Photos step's, a pile or class folders), their features computed in the background."""
    outputs = v.shown + [page.state]
    shown = lambda sess: _shown(v, page, sess)  # noqa: E731
    warnings = next(c for c in report_outputs if c.elem_id == "data-warnings")

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
    v.timer.tick(on_tick, [page.state], v.shown + [warnings], **PRIVATE, **where)
    report_outputs[0].change(on_data, [page.state], v.shown, **PRIVATE, **where)


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
        desk = desk_of(sess, make=True, tokens=page.thumbs)
        made = desk.create_class(name)
        desk.last_note = f"Class '{made}' made: select photos, then press its button."
        return {**shown(sess), v.class_name: "", v.class_pick: gr.Dropdown(choices=sess.project.classes(), value=made)}

    @friendly
    def on_rename(old: str, new: str, st, request: gr.Request):
        sess = page.session(st, request)
        desk = desk_of(sess, tokens=page.thumbs)
        if desk is None or not old:
            raise ProjectError("Choose a class to rename first.")
        before = set(desk.classes())
        made = desk.rename_class(old, new)
        desk.last_note = (f"The classes '{old}' and '{made}' are one class now: '{made}'."
                          if made in before and made != old else f"The class '{old}' is called '{made}' now.")
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
        sess.use_project_photos()
        desk = desk_of(sess, tokens=page.thumbs)
        if desk is not None:  # the answer stays beside the button (step 1's report, far above, says it too)
            desk.used = True
        return {**show_report(sess), v.used: used_text(sess), page.state: sess}

    v.add_class.click(on_add_class, [v.class_name, page.state], outputs + [v.class_name], **PRIVATE)
    v.class_name.submit(on_add_class, [v.class_name, page.state], outputs + [v.class_name], **PRIVATE)
    page.follow(v.rename.click(on_rename, [v.class_pick, v.class_name, page.state], outputs + [v.class_name],
                               **PRIVATE))
    page.follow(v.undo.click(on_undo, [page.state], outputs, **PRIVATE))
    page.follow(v.use.click(on_use, [page.state], report_outputs + [v.used, page.state], **PRIVATE))


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


__all__ = ["ASSETS", "LabelView", "VIEW_CHOICES", "act", "build", "desk_of", "folder_note", "progress_of",
           "render", "status_text", "wire"]
