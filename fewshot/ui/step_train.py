"""Step 2, train: the settings (presets, backbone, epochs, learning rate, stage, advanced), Train and Stop,
live curves, diagnostics, and the one-click ways out when a backbone's ImageNet weights are missing."""
from __future__ import annotations

from dataclasses import dataclass, field
import math
import time
from typing import Callable, Iterator

import gradio as gr

from .. import i18n as L
from .. import views as V
from ..config import TrainConfig
from .tab import training as T
from .page import Links, PRIVATE, Page, friendly, inform, lang_of, md_hint, step_header
from .tab.state import Session
from ..backbones import backbone
from .texts import (AUGMENTATION_HINTS, DEFAULT_PRESET, NOT_STARTED, PRESET_HINTS, PRESETS,
                    STAGE_LABELS)

D = T.DEFAULTS
CUSTOM = "Custom"  # what the preset says once epochs, learning rate, stage or augmentation match no preset


def preset_of(epochs, lr, stage, augmentation) -> str:
    """The preset whose four settings these are, or CUSTOM."""
    for name, p in PRESETS.items():
        try:
            same = (int(epochs) == p["epochs"] and math.isclose(float(lr), p["lr"], rel_tol=1e-6)
                    and stage == p["stage"] and augmentation == p["augmentation"])
        except (TypeError, ValueError):
            return CUSTOM
        if same:
            return name
    return CUSTOM


@dataclass(eq=False)
class TrainView:
    """Step 2's components (`build` makes them; `render` and `wire` take them)."""
    preset: gr.Radio = field(init=False)
    arch: gr.Dropdown = field(init=False)
    pretrained: gr.Checkbox = field(init=False)
    weights_note: gr.Markdown = field(init=False)
    epochs: gr.Slider = field(init=False)
    lr: gr.Number = field(init=False)
    stage: gr.Radio = field(init=False)
    train: gr.Button = field(init=False)
    stop: gr.Button = field(init=False)
    fallback_row: gr.Row = field(init=False)
    fb_arch: gr.Button = field(init=False)
    fb_scratch: gr.Button = field(init=False)
    progress: gr.HTML = field(init=False)
    loss_plot: gr.Plot = field(init=False)
    acc_plot: gr.Plot = field(init=False)
    diag: gr.Markdown = field(init=False)
    shown: gr.Number = field(init=False)
    history: gr.Dataframe = field(init=False)
    batch: gr.Slider = field(init=False)
    aug: gr.Radio = field(init=False)
    smoothing: gr.Slider = field(init=False)
    early: gr.Slider = field(init=False)
    balanced: gr.Checkbox = field(init=False)
    seed: gr.Number = field(init=False)


def build(page: Page) -> TrainView:
    """The settings, the buttons and the live view of a training."""
    v = TrainView()
    step_header(2, "Train", "Re-use a network that already knows everyday pictures (ImageNet) and teach it your "
                            "classes.")
    v.preset = gr.Radio(list(PRESETS) + [CUSTOM], value=DEFAULT_PRESET, label="Preset", elem_id="preset",
                        info=" · ".join(f"{k}: {h}" for k, h in PRESET_HINTS.items()))
    arch, _ = T.preselected_backbone(D.arch)  # one that can start (offline, the default's weights may be missing)
    v.arch = gr.Dropdown(T.backbone_choices(), value=arch, label="Starting network",
                         info="A network that already knows everyday pictures; its knowledge is re-used (the "
                              "“backbone”). ✓ marks one already on this machine.",
                         elem_id="backbone")
    v.pretrained = gr.Checkbox(D.pretrained, label="Start from ImageNet knowledge (recommended)", elem_id="pretrained",
                               info="Off = train from scratch: much weaker with few photos.")
    v.weights_note = gr.Markdown(**_note_args(arch, D.pretrained))  # says `why` when the usual one cannot start
    with gr.Row():
        v.train = gr.Button("▶ Train", variant="primary", elem_id="train-btn", scale=2)
        v.stop = gr.Button("■ Stop", variant="stop", elem_id="stop-btn")
    with gr.Row(visible=False) as v.fallback_row:
        v.fb_arch = gr.Button("Use another backbone", variant="primary", elem_id="fallback-arch")
        v.fb_scratch = gr.Button("Train from scratch instead", elem_id="fallback-scratch")
    v.progress = gr.HTML(V.progress_html(None, NOT_STARTED), elem_id="train-progress", label="progress")
    empty_loss, empty_acc = V.curve_figures([], D.epochs, 0)
    with gr.Row():
        v.loss_plot = gr.Plot(empty_loss, label="loss curve", show_label=False, elem_id="loss-plot", min_width=300)
        v.acc_plot = gr.Plot(empty_acc, label="accuracy curve", show_label=False, elem_id="acc-plot", min_width=300)
    v.diag = gr.Markdown("", elem_id="diagnostics", label="diagnostics")
    # the settings a person may change under the curves: the preset and the buttons come first, in one screen
    with gr.Row():
        v.epochs = gr.Slider(1, 100, value=D.epochs, step=1, label="Rounds of training", min_width=260,
                             info="How many times the model sees every training photo (“epochs”).", elem_id="epochs")
        v.lr = gr.Number(D.lr, label="Step size", minimum=1e-6, maximum=1.0, step=0.0001, elem_id="lr",
                         min_width=260,
                         info="How big each correction step is (the “learning rate”). 0.001 is a good start; "
                              "lower it if the curves jump.")
    v.stage = gr.Radio(STAGE_LABELS, value=D.stage, label="How much of the network learns",
                       info="The rest keeps what it learned on ImageNet (letting more layers learn is called "
                            "“unfreezing”).")
    _advanced(v)
    # the epochs the curves show; Stop sends it, and the training goes back to them (train.StopRequest)
    v.shown = gr.Number(0, visible="hidden", elem_id="shown-epochs", label="epochs shown", precision=0)
    with gr.Accordion("The numbers behind the curves", open=False):
        md_hint("**loss**: how wrong the model is, on average (lower is better) · **acc**: the share of photos "
                "named right · **train** / **val**: on the training / validation photos")
        v.history = gr.Dataframe(interactive=False, elem_id="history", label="epochs", show_label=False)
    return v


def _advanced(v: TrainView) -> None:
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            v.batch = gr.Slider(4, 128, value=D.batch_size, step=4, label="Photos per step", elem_id="train-batch",
                                info="Photos per correction step (the “batch size”): bigger is smoother but needs more memory.")
            v.aug = gr.Radio([(h, k) for k, h in AUGMENTATION_HINTS.items()], value=D.augmentation,
                             label="Varied copies of photos", info="Random changes to training photos, so the model learns "
                                                        "the object, not the picture (“augmentation”).")
        with gr.Row():
            v.smoothing = gr.Slider(0, 0.3, value=D.label_smoothing, step=0.05, label="Less over-confidence",
                                    info="Keeps the model from being over-confident (“label smoothing”); 0.1 is usual.")
            v.early = gr.Slider(0, 20, value=D.early_stop, step=1, label="Stop when it stops improving",
                                info="Stop after this many rounds without improvement (“early stop”; 0 = never).")
        with gr.Row():
            v.balanced = gr.Checkbox(D.balanced_loss, label="Count every class the same",
                                     info=("Each class counts the same, however many photos it has (a “class-balanced "
                                           "loss”). Turn it off only if your photo counts match how often each class "
                                           "really occurs."))
            v.seed = gr.Number(D.seed, precision=0, label="Seed", info="Same seed and settings give the same result.")


def _note_args(arch: str, pretrained: bool) -> dict:
    text = T.weights_note(arch, pretrained)
    return dict(value=text, visible=bool(text), elem_classes="fs-notice", elem_id="weights-note")


def live(v: TrainView, sess: Session, up: T.TrainUpdate, cfg: TrainConfig, k: int, shown: int) -> dict:
    """What a training snapshot shows: progress, curves (redrawn only when a point was added), diagnostics."""
    sess.last_update = (up, cfg, k)  # what a switch of language shows again (see render)
    if up.weights_missing:
        fb = T.fallback_arch(cfg.arch)
        label = f"Use {backbone(fb).label} instead (its weights are on this machine)" if fb else None
        return {v.progress: V.progress_html(None, up.text, "error"), v.fallback_row: gr.Row(visible=True),
                v.fb_arch: gr.Button(label, visible=True) if label else gr.Button(visible=False),
                v.weights_note: gr.Markdown(f"⛔ {up.weights_missing}", visible=True)}
    eta = V.eta_text(up.eta_s)
    text = up.text + (f" · {eta}" if eta and not up.done else "")
    # the diagnostics and the epoch table go with every snapshot: API clients read them from each update
    # (README: "for update in job: update[4]"); snapshots are few (SNAPSHOT_INTERVAL_S), and the curves are
    # redrawn only when a point was added
    out = {v.progress: V.progress_html(up.fraction, text, "done" if up.done else "running"),
           v.diag: V.diagnostics_md(up.diagnostics), v.history: V.history_frame(up.history),
           v.fallback_row: gr.Row(visible=False), v.shown: len(up.history)}
    if len(up.history) != shown or up.done:
        out[v.loss_plot], out[v.acc_plot] = V.curve_figures(up.history, len(up.history) if up.done else cfg.epochs, k,
                                                                 kept=up.done.best_epoch if up.done else None)
    return out


def render(v: TrainView, sess: Session | None, whole: bool = False) -> dict:
    """What step 2 shows for a session: its last training snapshot, else the curves and summary of its project's
    active run (a project reopened after a reload: a switch of language, which Gradio answers by drawing the
    page's first words again, shows them too), else the empty curves; `whole`: all of it, as when a project opens
    (also the settings of a training that still runs or of the active run)."""
    last = sess.last_update if sess is not None else None
    if last is not None:
        out = live(v, sess, *last, shown=-1)
        for c in (v.fallback_row, v.fb_arch, v.weights_note, v.shown):  # the buttons stay as they are
            out.pop(c, None)
    else:
        out = _active_run(v, sess)
    return {**out, **_opened(v, sess)} if whole and sess is not None else out


def _active_run(v: TrainView, sess: Session | None) -> dict:
    """The curves, the epoch table and a summary line of the project's active run; empty curves and "Not started."
    when there is none (nothing trained yet: the curves' titles are figures, not page text)."""
    if sess is not None and (sess.queued or sess.training):  # a training about to start says so itself
        return {}
    run = sess.project.active_run() if sess is not None and sess.project is not None else None
    if run is None or not run.history:
        loss, acc = V.curve_figures([], D.epochs, 0)
        return {v.loss_plot: loss, v.acc_plot: acc, v.progress: V.progress_html(None, NOT_STARTED),
                v.history: V.history_frame([]), v.diag: ""}
    k = len(sess.model.classes) if sess.model is not None else 0
    loss, acc = V.curve_figures(run.history, len(run.history), k, kept=run.metrics.get("best_epoch"))
    return {v.loss_plot: loss, v.acc_plot: acc, v.history: V.history_frame(run.history), v.diag: "",
            v.progress: V.progress_html(1.0, run_summary(run), "done")}


def run_summary(run) -> str:
    """Step 2's line for the active run of a reopened project: which training made the model, how it did."""
    n, status, epochs = run.number, run.status, len(run.history)
    if run.val_accuracy is not None:
        acc = f"{run.val_accuracy:.0%}"
        return (f"The active model: run {n} of this project, {status} after 1 epoch: {acc} right on the validation "
                f"photos." if epochs == 1 else
                f"The active model: run {n} of this project, {status} after {epochs} epochs: {acc} right on the "
                f"validation photos.")
    return (f"The active model: run {n} of this project, {status} after 1 epoch." if epochs == 1 else
            f"The active model: run {n} of this project, {status} after {epochs} epochs.")


def _opened(v: TrainView, sess: Session) -> dict:
    """A project opened: a training that still runs shows its settings (its curves follow it); else the active
    run's settings in the form."""
    run = sess.project.active_run() if sess.project is not None else None
    if sess.job is not None and sess.job.running:
        return run_settings(v, sess.job.cfg.to_dict())
    return run_settings(v, run.settings) if run is not None else {}


def form(v: TrainView) -> dict:
    """Step 2's settings, by the name a run's settings (TrainConfig.to_dict) give them."""
    return {"arch": v.arch, "pretrained": v.pretrained, "epochs": v.epochs, "lr": v.lr, "stage": v.stage,
            "batch_size": v.batch, "augmentation": v.aug, "label_smoothing": v.smoothing,
            "balanced_loss": v.balanced, "early_stop": v.early, "seed": v.seed}


def run_settings(v: TrainView, settings: dict) -> dict:
    """A run's settings in the Train step's form (those it names)."""
    return {c: settings[k] for k, c in form(v).items() if k in settings and settings[k] is not None}


def wire(v: TrainView, page: Page, links: Links) -> None:
    """Train (through a queue of `links.slots` trainings at once), Stop, presets, fallbacks and the weights note.
    When a model is made, `links.show_model` fills `links.model_outputs` (steps 3-5)."""
    model_outputs, show_model, slots = links.model_outputs, links.show_model, links.slots
    inputs = [v.arch, v.pretrained, v.epochs, v.lr, v.stage, v.batch, v.aug, v.smoothing, v.balanced, v.early,
              v.seed, page.state]
    live_outputs = [page.state, v.progress, v.loss_plot, v.acc_plot, v.diag, v.history, v.fallback_row, v.fb_arch,
                    v.weights_note]
    shown_out = [v.shown]  # after steps 3-5's outputs: the API's indices of those stay as they were

    @friendly
    def train(backbone: str, pretrained: bool, epochs: int, learning_rate: float, stage: str,
              batch_size: int = D.batch_size, augmentation: str = D.augmentation,
              label_smoothing: float = D.label_smoothing, balanced_loss: bool = D.balanced_loss,
              early_stop: int = D.early_stop, seed: int = D.seed, st=None, request: gr.Request = None):
        sess = page.session(st, request)
        sess.queued = False
        cfg = T.make_config(backbone, pretrained, epochs, learning_rate, stage, batch_size=batch_size,
                            augmentation=augmentation, label_smoothing=label_smoothing, balanced=balanced_loss,
                            seed=seed, early_stop=early_stop)
        if sess.backends.fit_check is not None and sess.dataset is not None:
            sess.backends.fit_check(sess.dataset, cfg)
        k = len(sess.dataset.classes) if sess.dataset else 0
        yield from _stream(v, page, sess, T.run_training(sess, cfg), cfg, k, show_model)

    @friendly  # its progress line in the page's language
    def before(st, request: gr.Request):
        sess = page.session(st, request)
        sess.queued = True
        sess.train_clicked_at = time.perf_counter()  # "Done in" counts from here, a wait for a slot included
        sess.stop.clear()
        return {page.state: sess, v.train: gr.Button(interactive=False), v.fallback_row: gr.Row(visible=False),
                v.progress: V.progress_html(None, "Starting… (if another training is running, this one waits for "
                                                  "it and then starts by itself)")}

    @friendly  # the list in the page's language
    def after(request: gr.Request = None):  # weights downloaded by this run are here now: the list says so
        return {v.train: gr.Button(interactive=True), v.arch: gr.Dropdown(choices=T.backbone_choices())}

    hidden = dict(queue=False, **PRIVATE)
    pre = dict(fn=before, inputs=[page.state], outputs=[page.state, v.train, v.fallback_row, v.progress], **hidden)
    # the queue place (while waiting for a slot) shows by the progress bar only, not over the curves
    run = dict(fn=train, inputs=inputs, outputs=live_outputs + model_outputs + shown_out, concurrency_id="train",
               concurrency_limit=slots, show_progress="minimal", show_progress_on=[v.progress])
    post = dict(fn=after, inputs=None, outputs=[v.train, v.arch], **hidden)
    page.follow(v.train.click(**pre).then(**run, api_name="train").then(**post))

    def use_fallback(st, request: gr.Request):
        arch = T.fallback_arch()
        return {v.arch: gr.Dropdown(value=arch), v.pretrained: gr.Checkbox(value=True)} if arch else \
            {v.pretrained: gr.Checkbox(value=False)}

    page.follow(v.fb_arch.click(use_fallback, [page.state], [v.arch, v.pretrained], **hidden).then(**pre).then(
        **run, **PRIVATE).then(**post))
    page.follow(v.fb_scratch.click(lambda: gr.Checkbox(value=False), None, v.pretrained, **hidden).then(**pre).then(
        **run, **PRIVATE).then(**post))
    _wire_reattach(v, page, live_outputs + model_outputs + shown_out + [v.train], show_model)
    _wire_small(v, page)


def _stream(v: TrainView, page: Page, sess: Session, updates, cfg, k: int, show_model: Callable) -> Iterator:
    """A training's snapshots as the page's updates; a model made fills steps 3-5 (`show_model`)."""
    shown = -1
    sess.streaming = True
    try:
        for up in updates:
            out = {page.state: sess, **live(v, sess, up, cfg, k, shown)}
            if up.done is not None and up.done.model is not None and not sess.closed:
                out.update(show_model(sess))
            yield out
            shown = len(up.history)
    finally:
        sess.streaming = False


def _wire_reattach(v: TrainView, page: Page, outputs: list, show_model: Callable) -> None:
    """After a page load or a project picked in the bar: a training the project still runs (the page was
    reloaded mid-run, or another tab started it) is followed, its curves continuing; Stop works as before."""
    @friendly
    def reattach(st, request: gr.Request = None):
        sess = st if isinstance(st, Session) and not st.closed else None
        job = sess.job if sess is not None and sess.job is not None and sess.job.running else None
        if job is None:
            yield {v.train: gr.Button(interactive=True)}
            return
        yield {v.train: gr.Button(interactive=False)}
        if sess.streaming:  # this tab already shows it (its own Train, or the same project picked again)
            return
        yield from _stream(v, page, sess, T.follow(sess, job), job.cfg, job.classes, show_model)
        yield {v.train: gr.Button(interactive=True)}

    for opened in page.reopened:  # a follower holds no training slot: the training itself has one (ui/tab/jobs.py)
        page.follow(opened.then(reattach, [page.state], outputs, concurrency_limit=None, show_progress="hidden",
                                **PRIVATE))


# What Stop sends as the epochs the page showed: the points drawn on the accuracy curve at the moment of the
# click (the hidden number, which every snapshot sets, arrives with the curves but may be drawn a moment before
# them); the state itself is the server's, whatever the page sends for it.
_COUNT_DRAWN = """(st, shown) => {
  const p = document.querySelector('#acc-plot .js-plotly-plot');
  const drawn = p && p.data && p.data.length ? p.data[0].x.length : null;
  return [st, drawn === null ? shown : drawn];
}"""


def _wire_small(v: TrainView, page: Page) -> None:
    """Stop, presets, and the weights note (which follows the backbone, the checkbox and the language)."""
    def on_stop(st, shown=None, request: gr.Request = None):
        """Stop the tab's training (its project's, when it follows one); `shown`: the epochs its curves showed,
        which the training goes back to (an API call names none: the best of every epoch that ended)."""
        job = st.job if isinstance(st, Session) and st.job is not None and st.job.running else None
        if job is not None or (isinstance(st, Session) and (st.training or st.queued)):
            (job.stop if job is not None else st.stop).request(int(shown or 0) or None)
            inform("Stopping after this batch; the best epoch so far is kept.", lang_of(st))
        else:
            inform("Nothing is training right now.", lang_of(st, request))

    v.stop.click(on_stop, [page.state, v.shown], None, concurrency_limit=None, js=_COUNT_DRAWN, **PRIVATE)

    def stop_api(st, request: gr.Request):  # /stop keeps its signature: no epochs named
        on_stop(st, None, request)

    gr.Button(visible=False).click(stop_api, [page.state], None, concurrency_limit=None, api_name="stop")

    def on_preset(name):
        p = PRESETS.get(name)
        if p is None:  # "Custom" keeps the settings as they are
            return {v.epochs: gr.skip(), v.lr: gr.skip(), v.stage: gr.skip(), v.aug: gr.skip()}
        return {v.epochs: p["epochs"], v.lr: p["lr"], v.stage: p["stage"], v.aug: p["augmentation"]}

    v.preset.change(on_preset, v.preset, [v.epochs, v.lr, v.stage, v.aug], queue=False, **PRIVATE)

    def follow(epochs, lr, stage, augmentation, current):  # the preset says which one these settings are
        name = preset_of(epochs, lr, stage, augmentation)
        return gr.skip() if name == current else name

    fields = [v.epochs, v.lr, v.stage, v.aug]
    gr.on([c.change for c in fields], follow, fields + [v.preset], v.preset, queue=False, **PRIVATE)

    def note(arch: str, pretrained: bool, lang: str):  # in the language the page's box says it shows
        args = _note_args(arch, pretrained)
        return gr.Markdown(**{**args, "value": L.translate(args["value"], L.normalize_lang(lang))})

    gr.on([v.arch.change, v.pretrained.change, page.lang.change], note, [v.arch, v.pretrained, page.lang],
          v.weights_note, queue=False, **PRIVATE)


__all__ = ["CUSTOM", "D", "TrainView", "build", "form", "live", "preset_of", "render", "run_settings", "run_summary",
           "wire"]
