"""The page: five numbered steps, each its own module with `build`, `wire` and `render(view, session) -> dict`.

    build_app(backends) -> App      # app.py: app.launch(server_name=..., ...), then app.close() (fewshot/ui/app.py)

Imports run one way: app.py -> this package -> step modules -> the tab logic (tab/) and the web edge (server/)
-> the engine; tests/test_layers.py checks it. Steps never import each other; where one step's event shows
another's (a trained or loaded model fills steps 3-5, the language switch rewrites everything), this module
passes the other steps' `render` in, and step 5's Space and demo-link blocks are built and wired from here.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from gradio.utils import get_upload_folder

from .. import i18n as L
from . import (share, step_cards, step_check, step_data, step_label, step_project, step_space, step_take, step_train,
               step_try)
from .page import I18N, PRIVATE, Page, lang_of, localize, localized
from .tab.jobs import Jobs
from .tab.state import Backends, Session, SessionRegistry, remove_stale_sessions, session_root
from .server.thumbs import thumb_routes
from .server.uploads import UploadLedger
from .app import App, launch_kwargs
from .demo import demo_app_kwargs
from .. import views as V
from .texts import API_MD, CARD_EMPTY, HERO, LANG_SWITCH, NO_MODEL, NOT_STARTED, NOT_TRAINED, TITLE

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SESSION_TTL_S = 6 * 3600  # an idle session (e.g. an API client that never says goodbye) is cleaned after this

__all__ = ["App", "Backends", "build_app", "launch_kwargs", "train_slots"]


def train_slots() -> int:
    """How many trainings may run at once (FEWSHOT_TRAIN_SLOTS, default 1 per machine)."""
    return max(1, int(os.environ.get("FEWSHOT_TRAIN_SLOTS", "1")))


def build_app(backends: Backends | None = None) -> App:
    """The whole page, its events and its API, with every route the app serves beside it; `backends` train and
    predict (default: in this process)."""
    # project trainings run in the server and outlive their tab; they share its training slots (ui/tab/jobs.py)
    registry = SessionRegistry(backends, current_user=_current_user, jobs=Jobs(train_slots()))
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
        project = step_project.build(page)
        views = _build_steps(page)
        views.project = project
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


def _build_steps(page: Page) -> SimpleNamespace:
    views = SimpleNamespace()
    views.data = step_data.build(page, cards_tab=lambda: step_cards.build(page))
    views.label = step_label.build(page)
    views.train = step_train.build(page)
    views.check = step_check.build(page)
    views.try_ = step_try.build(page)
    views.take = step_take.build(page, space=lambda: step_space.build(page), share=lambda: share.build(page))
    return views


def _wire_steps(page: Page, views: SimpleNamespace, demo: gr.Blocks) -> None:
    v = views
    # what a new model (trained, or loaded from a file) fills in: steps 3, 4 and 5, in the API's order
    model_outputs = v.check.shown + [v.take.card, v.take.download, v.try_.status, v.check.eval_result]

    def show_model(sess: Session) -> dict:
        return {**step_check.render(v.check, sess), **step_take.render(v.take, sess), **step_try.render(v.try_, sess)}

    everything = v.data.report + [v.train.progress, v.train.loss_plot, v.train.acc_plot, v.train.diag,
                                  v.train.history] + model_outputs + list(_FORM(v.train).values()) + v.label.shown

    def show_all(sess: Session) -> dict:  # a project opened (or reopened after a reload): every step shows it
        out = {**step_data.render(v.data, sess), **step_train.render(v.train, sess), **show_model(sess),
               **step_label.render(v.label, sess)}
        if sess.dataset is None:  # nothing labelled: the report says nothing is loaded (or only what has no class)
            out.setdefault(v.data.summary, "Nothing loaded yet.")
            out[v.data.warnings] = ""
            out.setdefault(v.data.thumbs, "")
        if sess.model is None:  # a project without a model yet: steps 3-5 as on a fresh page
            out.update({v.check.accuracy: NOT_TRAINED, v.check.box: gr.Column(visible=False),
                        v.check.mistakes: gr.Gallery(value=[], visible=False), v.take.card: CARD_EMPTY,
                        v.take.download: gr.DownloadButton(value=None, interactive=False), v.try_.status: NO_MODEL})
        run = sess.project.active_run() if sess.project is not None else None
        if sess.job is not None and sess.job.running:  # a training that still runs: its settings, its curves
            out.update(_run_settings(v.train, sess.job.cfg.to_dict()))
        elif run is not None:  # the active run's settings in the form, its curves in step 2 (nothing trained here)
            out.update(_run_settings(v.train, run.settings))
            if sess.last_update is None and run.history:
                k = len(sess.model.classes) if sess.model is not None else 0
                out[v.train.loss_plot], out[v.train.acc_plot] = V.curve_figures(run.history, len(run.history), k,
                                                                                kept=run.metrics.get("best_epoch"))
                out[v.train.history] = V.history_frame(run.history)
                acc = f"{run.val_accuracy:.0%}" if run.val_accuracy is not None else "no accuracy"
                out[v.train.progress] = V.progress_html(1.0, f"The active model: run {run.number} of this project "
                                                             f"({acc}, {run.status}).", "done")
        elif sess.last_update is None:  # no training in this tab yet: no progress line
            out[v.train.progress] = V.progress_html(None, NOT_STARTED)
        return out

    page.follow = step_project.wire(v.project, page, show_all, everything, demo)

    step_data.wire(v.data, page)
    step_cards.wire(v.data.cards, page, show_report=lambda sess: step_data.report(v.data, sess),
                    report_outputs=v.data.report)
    step_label.wire(v.label, page, show_report=lambda sess: step_data.report(v.data, sess), report_outputs=v.data.report)
    step_train.wire(v.train, page, model_outputs, show_model, train_slots())
    step_try.wire(v.try_, page)
    step_check.wire(v.check, page)
    step_take.wire(v.take, page, model_outputs, show_model,
                   wire_parts=lambda: (share.wire(v.take.share, page), step_space.wire(v.take.space, page)))
    renders = [(step_project.render, v.project), (step_data.render, v.data), (step_label.render, v.label),
               (step_train.render, v.train), (step_check.render, v.check),
               (step_try.render, v.try_), (step_take.render, v.take)]
    rewritten = v.project.bar + v.data.report + [v.train.progress, v.train.loss_plot, v.train.acc_plot, v.train.diag,
                                 v.train.history] + model_outputs + v.label.shown
    _wire_language(page, renders, rewritten)


def _FORM(t: SimpleNamespace) -> dict:
    """Step 2's settings, by the name a run's settings (TrainConfig.to_dict) give them."""
    return {"arch": t.arch, "pretrained": t.pretrained, "epochs": t.epochs, "lr": t.lr, "stage": t.stage,
            "batch_size": t.batch, "augmentation": t.aug, "label_smoothing": t.smoothing,
            "balanced_loss": t.balanced, "early_stop": t.early, "seed": t.seed}


def _run_settings(t: SimpleNamespace, settings: dict) -> dict:
    return {c: settings[k] for k, c in _FORM(t).items() if k in settings and settings[k] is not None}


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
