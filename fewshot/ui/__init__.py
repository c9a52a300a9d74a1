"""The page: the project bar, then one tab per step (Photos, Label, Train, Check, Try, Share: fewshot/ui/nav.py),
each step its own module with

    build(page) -> view                     # its components, in a dataclass of its own (DataView, TrainView, ...)
    wire(view, page, links)                 # its events; `links` (page.Links) is what they show of other steps
    render(view, session, whole=False) -> {component: value}   # what it shows; `whole`: all of it (a project opened)

    build_app(backends, owners) -> App   # app.py: app.launch(server_name=..., ...), then app.close() (ui/app.py)

Imports run one way: app.py -> this package -> step modules -> the tab logic (tab/) and the web edge (server/)
-> the engine; tests/test_layers.py checks it. Steps never import each other; where one step's event shows
another's (a trained or loaded model fills Check, Try and Share; a pile dropped in Photos opens the Label step;
the language switch rewrites everything), this module passes the other steps' `render` in, and the Share step's
Space and demo-link blocks are built and wired from here. After every event that changes the project or the
model, the steps' tabs are marked anew (nav.render).
"""
from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass
from types import ModuleType

import gradio as gr
from gradio.utils import get_upload_folder

from .. import i18n as L
from . import (nav, share, step_cards, step_check, step_data, step_label, step_project, step_space, step_take,
               step_train, step_try)
from .page import PRIVATE, Links, Page, lang_of, localize, localized
from .tab.jobs import Jobs
from .tab.state import Backends, ProjectOwners, Session, SessionRegistry, remove_stale_sessions, session_root
from .server.thumbs import thumb_routes
from .server.uploads import UploadLedger
from .app import App, launch_kwargs
from .demo import demo_app_kwargs
from .texts import API_MD, HERO, LANG_SWITCH, TITLE

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SESSION_TTL_S = 6 * 3600  # an idle session (e.g. an API client that never says goodbye) is cleaned after this

__all__ = ["App", "Backends", "ProjectOwners", "build_app", "launch_kwargs", "train_slots"]


def train_slots() -> int:
    """How many trainings may run at once (FEWSHOT_TRAIN_SLOTS, default 1 per machine)."""
    return max(1, int(os.environ.get("FEWSHOT_TRAIN_SLOTS", "1")))


def build_app(backends: Backends | None = None, owners: ProjectOwners | None = None) -> App:
    """The whole page, its events and its API, with every route the app serves beside it; `backends` train and
    predict (default: in this process); `owners`: whose projects a tab sees (default: each browser's or user's)."""
    # project trainings run in the server and outlive their tab; they share its training slots (ui/tab/jobs.py)
    registry = SessionRegistry(backends, current_user=_current_user, jobs=Jobs(train_slots()), owners=owners)
    remove_stale_sessions()  # folders an earlier run of the server left behind (killed, crashed)
    # Serve session files (models, galleries) from the session folder itself: Gradio would otherwise copy
    # each into its cache, where a closed session's copies (a model is 10-45 MB) stay for an hour.
    gr.set_static_paths([str(session_root())])
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        state = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s and s.cleanup())
        logo = (ASSETS / "logo.svg").read_text()
        gr.HTML(f'<div class="fs-hero">{logo}<div><h1>fewshot</h1><p>{HERO}</p></div>{LANG_SWITCH}</div>')
        lang = gr.Textbox(L.EN, visible="hidden", elem_id="fs-lang", label="lang")
        page = Page(state, lang, registry, Path(get_upload_folder()))
        views = _build_steps(page, step_project.build(page))
        with gr.Accordion("Use via API", open=False):
            gr.Markdown(API_MD.replace("{url}", "http://127.0.0.1:7860/"))  # the footer link shows this server's own
        _wire_steps(page, views, demo)

        def on_close(request: gr.Request):  # the tab closed: stop its training, delete its files
            # Gradio calls this when a heartbeat connection to /gradio_api/heartbeat/<session> ends, whoever
            # opened it: only the session's own logged-in user closes it (fewshot/ui/server/guard.py also refuses
            # heartbeats without a login)
            registry.close(getattr(request, "session_hash", None), getattr(request, "username", None))

        demo.unload(on_close)
    localize(demo)
    uploads = UploadLedger()  # the Guard's and the demo gate's: every event takes only its own visitor's files
    links = demo_app_kwargs((backends or Backends()).predictor, uploads)  # /m/<id>: the demo links' page
    return App(blocks=demo, routes=thumb_routes(page.thumbs) + links["routes"], lifespan=links["lifespan"],
               registry=registry, uploads=uploads, thumbs=page.thumbs, file_owner=page.file_owner)


def _current_user() -> str | None:
    """The logged-in user of the event Gradio is running now (None without --auth or outside an event)."""
    try:
        from gradio.context import LocalContext
        request = LocalContext.request.get(None)
    except (ImportError, AttributeError, LookupError):
        return None
    return getattr(request, "username", None) if request is not None else None


@dataclass(eq=False)
class Views:
    """Every step's view, as its `build` made it."""

    project: step_project.ProjectView
    nav: nav.NavView
    data: step_data.DataView
    label: step_label.LabelView
    train: step_train.TrainView
    check: step_check.CheckView
    try_: step_try.TryView
    take: step_take.TakeView

    def wired(self) -> list[tuple[ModuleType, object]]:
        """Each step and its view, in the order their events are wired (the API's order)."""
        return [(step_project, self.project), (step_data, self.data), (step_cards, self.data.cards),
                (step_label, self.label), (step_train, self.train), (step_try, self.try_), (step_check, self.check),
                (step_take, self.take)]

    def rendered(self) -> list[tuple[ModuleType, object]]:
        """Each step whose `render(view, session, whole)` writes what it shows, and its view."""
        return [(step_project, self.project), (step_data, self.data), (step_label, self.label),
                (step_train, self.train), (step_check, self.check), (step_try, self.try_), (step_take, self.take)]


def _build_steps(page: Page, project: step_project.ProjectView) -> Views:
    """Each step in its own tab (fewshot/ui/nav.py), below the project bar."""
    steps = nav.build()
    with steps.tabs:
        with nav.step(steps, "photos"):
            data = step_data.build(page, cards_tab=lambda: step_cards.build(page))
        with nav.step(steps, "label"):
            label = step_label.build(page)
        with nav.step(steps, "train"):
            train = step_train.build(page)
        with nav.step(steps, "check"):
            check = step_check.build(page)
        with nav.step(steps, "try"):
            try_ = step_try.build(page)
        with nav.step(steps, "share"):
            take = step_take.build(page, space=lambda: step_space.build(page), share=lambda: share.build(page))
    label.timer.render()  # outside the tabs: a tab's components run only once it is opened
    return Views(project=project, nav=steps, data=data, label=label, train=train, check=check, try_=try_, take=take)


def _links(page: Page, v: Views, demo: gr.Blocks) -> Links:
    """What one step's events show of the others, from the steps' `render`."""
    def show_model(sess: Session) -> dict:
        return {**step_check.render(v.check, sess), **step_take.render(v.take, sess), **step_try.render(v.try_, sess)}

    def show_all(sess: Session) -> dict:  # a project opened (or reopened after a reload): every step shows it
        return {k: x for step, view in v.rendered() if step is not step_project
                for k, x in step.render(view, sess, whole=True).items()}

    return Links(demo=demo, show_all=show_all, everything=_outputs(v, bar=False, form=True),
                 show_report=lambda sess: step_data.report(v.data, sess), report_outputs=v.data.report,
                 show_model=show_model, model_outputs=_model_outputs(v), slots=train_slots(),
                 take_parts=lambda: (share.wire(v.take.share, page), step_space.wire(v.take.space, page)),
                 to_label=lambda sess, items, skipped, archive=None: _to_label(page, v, sess, items, skipped, archive),
                 to_label_outputs=v.label.shown + [v.nav.tabs])


def _to_label(page: Page, v: Views, sess: Session, items: list, skipped: list, archive: str | None):
    """Photos without class folders join the tab's project unlabelled (a project is made when none is open), and
    the Label step opens on them: (added, already there, what the Label step shows, with its tab selected)."""
    first = items[0][1] if items else ""
    # a pile's project is named after its folder or zip; loose photos get a name in the page's language
    name = (Path(archive).stem if archive else first.split("/")[0] if "/" in first
            else L.translate("Unsorted photos", lang_of(sess)))
    desk = step_label.desk_of(sess, make=True, name=name if len(name) < 60 else "Unsorted photos", tokens=page.thumbs)
    r = (desk.add_archive(archive, sess.limits, sess.fresh_dir("pool")) if archive
         else desk.add_uploaded(items, sess.limits, skipped))
    return r.added, r.already, {**step_label.render(v.label, sess), **nav.open_step(v.nav, "label")}


def _outputs(v: Views, bar: bool, form: bool) -> list:
    """What the steps' `render` write: steps 1-5 and the Label step, with the project bar (`bar`) and with step
    2's settings (`form`: a project opened), in the order the API has always returned them."""
    return ((v.project.bar if bar else []) + v.data.report + [v.train.progress, v.train.loss_plot, v.train.acc_plot,
            v.train.diag, v.train.history] + _model_outputs(v)
            + (list(step_train.form(v.train).values()) if form else []) + v.label.shown)


def _model_outputs(v: Views) -> list:
    """What a new model (trained, or loaded from a file) fills in: steps 3, 4 and 5, in the API's order."""
    return v.check.shown + [v.take.card, v.take.download, v.try_.status, v.check.eval_result]


def _wire_steps(page: Page, views: Views, demo: gr.Blocks) -> None:
    links = _links(page, views, demo)
    marks = [*views.nav.tab.values(), *views.nav.next.values()]
    for step, view in views.wired():  # the project bar first: it sets page.follow, which the others chain
        step.wire(view, page, links)
        if step is step_project:  # every event that changes the project or the model also marks the steps anew
            page.follow = _marking(page.follow, views.nav, page.state, marks)
    nav.wire(views.nav, page)
    for opened in page.reopened:  # a project opened (a reload too): its steps' marks
        opened.then(_marks(views.nav), [page.state], marks, **PRIVATE, show_progress="hidden")
    _wire_language(page, [(step.render, view) for step, view in views.rendered()] + [(nav.render, views.nav)],
                   _outputs(views, bar=True, form=False) + marks)


def _marks(steps: nav.NavView):
    """The callback that writes the steps' marks and Next buttons for a tab's state, in its language."""
    def show(st):
        sess = st if isinstance(st, Session) and not st.closed else None
        return localized(nav.render(steps, sess), lang_of(sess))
    return show


def _marking(follow, steps: nav.NavView, state: gr.State, marks: list):
    """`follow` (the project bar's refresh after an event), then the steps' marks."""
    def then(dep):
        dep = follow(dep)
        dep.then(_marks(steps), [state], marks, **PRIVATE, show_progress="hidden")
        return dep
    return then


def _wire_language(page: Page, renders: list, rewritten: list) -> None:
    """When the page's language changes (assets/i18n.js keeps the hidden box equal to it), everything the
    server wrote on the page is written again through each step's `render`, in that language, and the
    session keeps the language for what comes next."""
    def on_lang(lang: str, st, request: gr.Request = None):
        lang = L.normalize_lang(lang)
        sess = st if isinstance(st, Session) and not st.closed else None
        if sess is None and lang != lang_of(request):  # a choice the browser will not tell: keep it
            sess = page.session(st, request)  # (the cookie saying it may be blocked, e.g. in an embedded Space)
        if sess is not None:
            sess.lang = lang
        out: dict = {page.state: sess} if sess is not None else {}
        for render, view in renders:
            out.update(render(view, sess))
        return localized(out, lang)

    page.lang.change(on_lang, [page.lang, page.state], rewritten + [page.state], **PRIVATE,
                     show_progress="hidden")
