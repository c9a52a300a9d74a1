"""fewshot in the browser: from a few folders of photos to an image classifier you can trust and take away.

    python app.py [--host H] [--port P] [--share] [--auth user:pass]

Env vars do the same: FEWSHOT_HOST, FEWSHOT_PORT, FEWSHOT_SHARE=1, FEWSHOT_AUTH=user:pass; FEWSHOT_TRAIN_SLOTS
is how many trainings may run at once (default 1 per machine). This file is the UI only: layout and wiring.
The work is done by the fewshot engine through its adapter, fewshot/session.py.
"""
from __future__ import annotations

import argparse
import contextvars
import functools
import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from gradio.processing_utils import hash_file
from gradio.utils import get_upload_folder
from gradio_client.utils import strip_invalid_filename_characters

try:  # Hugging Face's package, present on Spaces: ZeroGPU needs it imported before torch (which fewshot imports)
    import spaces  # noqa: F401
except ImportError:
    pass

from fewshot import STAGE_HINTS, FewshotError, Limits, UnreadableImage
from fewshot import session as S
from fewshot import gpu_jobs as J
from fewshot import views as V
from fewshot import i18n as L
from fewshot.examples import PHOTO_SETS
from fewshot.data import skipped_frame

ASSETS = Path(__file__).resolve().parent / "assets"
TRAIN_SLOTS = max(1, int(os.environ.get("FEWSHOT_TRAIN_SLOTS", "1")))
SESSION_TTL_S = 6 * 3600  # an idle session (e.g. an API client that never says goodbye) is cleaned after this

STAGE_LABELS = [(f"{h[0].upper()}{h[1:]}", k) for k, h in STAGE_HINTS.items()]
NO_MODEL = "No model yet: train one in step 2, or load a saved model in step 5."
TITLE = "fewshot: teach a computer your photos"
# The header's language switch (assets/i18n.js makes it work); each language is named in its own words.
LANG_SWITCH = (f'<nav class="fs-lang" aria-label="Language / 语言" data-title-en="{TITLE}" '
               f'data-title-zh="{L.translate(TITLE, L.ZH, label=True)}"><button type="button" data-fs-lang="en" '
               'lang="en">English</button><button type="button" data-fs-lang="zh-CN" lang="zh-CN">中文</button></nav>')

FOLDER_TEMPLATE = """
<div class="fs-drop ${busy}" tabindex="0" role="button" aria-label="${t_aria}">
  <div class="fs-drop-icon">📁</div>
  <div class="fs-drop-title">${t_title}</div>
  <div class="fs-drop-sub">${t_sub}</div>
  <span class="fs-drop-btn">${t_btn}</span>
  <input type="file" webkitdirectory directory multiple hidden>
  <div class="fs-drop-status" aria-live="polite">${status}</div>
</div>"""
# The drop zone's words, in every language (assets/folder_drop.js picks the page's and fills in {0}, {1} …)
FOLDER_TEXTS = {
    "aria": "Choose or drop a folder of class folders",
    "title": "Drop one folder here, or click to choose it",
    "sub": "It should hold one subfolder per class, e.g. {} and {}. The subfolder names become the class names. "
           "A {} + {} layout works too.",
    "btn": "Choose a folder…",
    "none": "No pictures found in what was dropped (.jpg, .png, .bmp, .gif, .webp, .tif are read).",
    "over": "{} pictures is over the limit of {} per upload (limit: max images). Drop fewer pictures at a time.",
    "uploading": "Uploading {} of {} pictures…",
    "sent": "Sent {} pictures from “{}”; the report is below.",
    "reading": "Reading the folder…",
}


# Clicks Gradio's "Click to access webcam" once per shot (a second click while the camera starts
# would interrupt it, hence the flag).
REOPEN_CAMERA_JS = """() => { if (window.fsCamReopening) return; window.fsCamReopening = true;
  let tries = 0; const t = setInterval(() => {
    const b = document.querySelector('#card-cam button:not([aria-label]):not(.icon)');
    if (b) b.click();
    if (b || ++tries > 10) { clearInterval(t); setTimeout(() => { window.fsCamReopening = false; }, 2000); }
  }, 200); }"""


# ---------------------------------------------------------------- errors in plain words

def friendly(fn):
    """Turn engine errors into a gr.Error with plain words; log anything unexpected for the operator.
    Errors and what the callback returns come in the page's language (see lang_of and localized)."""
    def convert(exc: BaseException, lang: str) -> gr.Error:
        if isinstance(exc, gr.Error):  # raised by the app itself: only its words change
            return gr.Error(L.translate(exc.message, lang), duration=exc.duration, visible=exc.visible,
                            title=L.translate(exc.title, lang, label=True), print_exception=exc.print_exception)
        expected = isinstance(exc, (FewshotError, UnreadableImage))
        if not expected:
            traceback.print_exc(file=sys.stderr)
        return gr.Error(L.translate(S.plain_error(exc), lang), duration=20, print_exception=not expected,
                        title=L.translate("Sorry" if expected else "Problem", lang, label=True))

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            given, it = [*args, *kwargs.values()], fn(*args, **kwargs)
            seen = given
            try:
                while True:
                    lang = lang_of(*seen)  # per step: the user may switch languages while it trains
                    token = LANG.set(lang)
                    try:
                        out = next(it)
                    except StopIteration:
                        return
                    except Exception as exc:
                        raise convert(exc, lang) from None
                    finally:
                        LANG.reset(token)
                    seen = [*given, *_adopt(out, lang)]  # the session it made, if it made one
                    yield localized(out, lang)
            finally:
                it.close()  # a stopped or closed page ends the callback at once, as `yield from` did
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        lang = lang_of(*args, *kwargs.values())
        token = LANG.set(lang)
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:
            raise convert(exc, lang) from None
        finally:
            LANG.reset(token)
        _adopt(out, lang)
        return localized(out, lang)
    return call


# ---------------------------------------------------------------- languages (English, 简体中文)

# The page's fixed text, keyed by its English; localize() fills both tables as the page is built.
I18N = gr.I18n(en={}, **{L.ZH: {}})
LANG = contextvars.ContextVar("fewshot_lang", default=L.EN)  # the language of the callback running now
TEXT_VALUE = (gr.Markdown, gr.HTML, gr.Button)  # components whose value is words, not user data


def lang_of(*objs) -> str:
    """A callback's language: its session's (the page's language switch sets it), else the browser's (the
    cookie the switch sets, then Accept-Language). API clients send neither and get English."""
    for o in objs:
        if isinstance(o, S.Session) and o.lang:
            return o.lang
    for o in objs:
        if isinstance(o, gr.Request):
            cookie = (getattr(o, "cookies", None) or {}).get("fewshot_lang")
            if cookie:
                return L.normalize_lang(cookie)
            return L.lang_from_header(dict(getattr(o, "headers", None) or {}).get("accept-language"))
    return L.EN


def _adopt(out, lang: str) -> list:
    """A session a callback made gets the language the callback ran in; returns the outputs to look in."""
    items = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in items:
        if isinstance(o, S.Session) and not o.lang:
            o.lang = lang
    return items


def warn(text: str) -> None:
    """gr.Warning, title and all, in the language of the running callback."""
    lang = LANG.get()
    gr.Warning(L.translate(text, lang), title=L.translate("Warning", lang, label=True))


def inform(text: str, lang: str | None = None) -> None:
    """gr.Info in `lang`, by default the language of the running callback."""
    lang = lang or LANG.get()
    gr.Info(L.translate(text, lang), title=L.translate("Info", lang, label=True))


def localized(value, lang: str):
    """A callback's outputs in `lang`: text, tables, figures, and the words of component updates."""
    if lang == L.EN or value is None:
        return value
    if isinstance(value, tuple) or (isinstance(value, list) and any(isinstance(v, gr.blocks.Block) for v in value)):
        return type(value)(localized(v, lang) for v in value)
    if isinstance(value, str):
        return value if os.path.isabs(value) and "\n" not in value else L.translate(value, lang)
    if hasattr(value, "columns") and hasattr(value, "rename"):
        return L.translate_frame(value, lang)
    if hasattr(value, "layout") and hasattr(value, "data"):
        return L.translate_figure(value, lang)
    if isinstance(value, gr.blocks.Block):  # an update: gr.Markdown(...), gr.Accordion(label=...), …
        args = value.constructor_args
        keys = ("label", "value") if isinstance(value, TEXT_VALUE) else ("label",)
        for k in keys:
            if isinstance(args.get(k), str):
                args[k] = L.translate(args[k], lang, label=True)
                setattr(value, k, args[k])
        if isinstance(args.get("choices"), list):  # (label, value) pairs; as messages: a card's name is a name
            args["choices"] = [(L.translate(c[0], lang), *c[1:]) if isinstance(c, (tuple, list)) else c
                               for c in args["choices"]]
    return value


def _wire_language(ui: SimpleNamespace, state, sess_of) -> None:
    """A hidden box that assets/i18n.js keeps equal to the page's language; when it changes, everything the
    server wrote on the page (report, progress, curves, check, model card) is written again in that language,
    and the session keeps the language for what comes next."""
    ui.lang = gr.Textbox(L.EN, visible="hidden", elem_id="fs-lang", label="lang")
    report = [ui.summary, ui.warnings, ui.thumbs, ui.counts, ui.skipped, ui.skipped_box]
    live = [ui.progress, ui.loss_plot, ui.acc_plot, ui.diag, ui.history]
    check = [ui.accuracy, ui.check_box, ui.per_class, ui.confusion, ui.mistakes]
    take = [ui.card, ui.try_status, ui.download_bundle]

    def on_lang(lang: str, arch: str, pretrained: bool, st, request: gr.Request = None):
        lang = L.normalize_lang(lang)
        sess = st if isinstance(st, S.Session) and not st.closed else None
        if sess is None and lang != lang_of(request):  # a choice the browser will not tell: keep it
            sess = sess_of(st, request)  # (the cookie saying it may be blocked, e.g. in an embedded Space)
        if sess is not None:
            sess.lang = lang
        note = S.weights_note(arch, pretrained)
        out = (*_report_again(sess), *_live_again(sess), *_check_again(sess), *_take_again(sess),
               gr.Markdown(note, visible=bool(note)), sess if sess is not None else gr.skip())
        return localized(out, lang)

    ui.lang.change(on_lang, [ui.lang, ui.arch, ui.pretrained, state],
                   report + live + check + take + [ui.weights_note, state], api_visibility="private",
                   show_progress="hidden")


def _report_again(sess: S.Session | None) -> tuple:
    ds = sess.dataset if sess is not None else None
    if ds is None:  # only the empty table's headers
        return (gr.skip(),) * 4 + (skipped_frame(), gr.skip())
    return _report(ds, sess.source, announce=False)


def _live_again(sess: S.Session | None) -> tuple:
    last = sess.last_update if sess is not None else None
    if last is None:  # nothing trained yet: the empty curves, whose titles are figures, not page text
        return (gr.skip(), *V.curve_figures([], 10, 0), gr.skip(), gr.skip())
    return _live_outputs(sess, *last, shown=-1)[1:6]


def _check_again(sess: S.Session | None) -> tuple:
    return _check_outputs(sess) if sess is not None and sess.model is not None else (gr.skip(),) * 5


def _take_again(sess: S.Session | None) -> tuple:
    if sess is None or sess.model is None:
        return (gr.skip(),) * 3
    tm, path = sess.model, sess.bundle_path
    button = gr.DownloadButton(_download_label(path)) if path is not None and path.is_file() else gr.skip()
    return tm.model_card(), _ready_text(tm), button


def localize(demo: gr.Blocks) -> gr.Blocks:
    """Hand every fixed English word of the page to gr.I18n (key: the English itself), with its Chinese."""
    en, zh = I18N.translations[L.EN], I18N.translations[L.ZH]

    def key(text):
        if not isinstance(text, str) or not text.strip():
            return text
        chinese = L.translate(text, L.ZH, label=True)
        if chinese == text:
            return text  # nothing to translate (a number, a name): stays plain
        en[text], zh[text] = text, chinese
        return I18N(text)

    for block in demo.blocks.values():
        args = getattr(block, "_constructor_args", None) and block.constructor_args
        names = ["label", "info", "placeholder"] + (["value"] if isinstance(block, TEXT_VALUE) else [])
        for name in names:
            if isinstance(getattr(block, name, None), str):
                setattr(block, name, key(getattr(block, name)))
                if args and name in args:
                    args[name] = getattr(block, name)
        if isinstance(getattr(block, "choices", None), list):
            block.choices = [(key(c[0]), c[1]) if isinstance(c, tuple) else c for c in block.choices]
    return demo


# ---------------------------------------------------------------- ZeroGPU (a Space that lends a GPU per call)

ON_ZERO_GPU = False  # set once at start-up by use_zero_gpu


def zero_gpu():
    """spaces.GPU on a ZeroGPU Space; None anywhere else, where every job runs in this process as it is."""
    if not os.environ.get("SPACE_ID"):
        return None
    try:
        import spaces
    except ImportError:
        return None
    on = getattr(getattr(getattr(spaces, "config", None), "Config", None), "zero_gpu", None)
    if on is None:  # a `spaces` without that setting: ask the variable it reads
        on = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
    return spaces.GPU if on else None


def gpu_task(fn, duration_fn, gpu=None):
    """`fn` under gpu(duration=duration_fn), i.e. spaces.GPU asking for the seconds its job needs; else `fn`."""
    return gpu(duration=duration_fn)(fn) if gpu is not None else fn


def use_zero_gpu(gpu) -> bool:
    """Route training and prediction through GPU jobs sized from their work (fewshot/gpu_jobs.py)."""
    global ON_ZERO_GPU
    if gpu is None:
        return False
    S.TRAINER = J.across_processes(gpu_task(J.train_job, J.train_seconds, gpu))
    S.PREDICTOR = functools.partial(J.RemotePredictor, job=gpu_task(J.predict_job, J.predict_seconds, gpu))
    ON_ZERO_GPU = True
    return True


def check_gpu_time(sess: S.Session, cfg) -> None:
    """On ZeroGPU, refuse a training that would not fit the GPU time one call may use, before it asks for any."""
    if ON_ZERO_GPU and sess.dataset is not None:
        fit = J.training_fit(sess.dataset, cfg)
        if not fit.fits:
            raise gr.Error(fit.message, duration=30, title="Too long for this Space's GPU")


use_zero_gpu(zero_gpu())  # at import: ZeroGPU wants its functions decorated before the app starts


def _weights_note(arch: str, pretrained: bool, request: gr.Request = None) -> gr.Markdown:
    """The plain-words note under the backbone list; hidden when there is nothing to say."""
    text = L.translate(S.weights_note(arch, pretrained), lang_of(request))
    return gr.Markdown(text, visible=bool(text), elem_classes="fs-notice", elem_id="weights-note")


def _served(sess: S.Session, *paths) -> None:
    """Gradio copies each file it sends to a browser into its cache folder (<content hash>/<name>), except
    files under a static path (the session folders, see build_app); note those copies so that closing
    the session deletes them as well (e.g. photos unpacked from a zip, shown among the mistakes)."""
    cache, static = Path(get_upload_folder()), S.session_root().resolve()
    for p in paths:
        if p and Path(p).is_file() and not Path(p).resolve().is_relative_to(static):
            sess.uploads.add(cache / hash_file(p) / strip_invalid_filename_characters(Path(p).name))


def _md_hint(text: str) -> gr.Markdown:
    return gr.Markdown(text, elem_classes="fs-muted")


def _step(num: int, title: str, hint: str) -> None:
    gr.HTML(f'<h2><span class="fs-num">{num}</span>{title}</h2><div class="fs-muted">{hint}</div>',
            elem_classes="fs-step")


# ---------------------------------------------------------------- layout

def _data_step(ui: SimpleNamespace) -> None:
    _step(1, "Your photos", "Give a few dozen photos per class, taken in different places, angles and light.")
    with gr.Tabs():
        with gr.Tab("📁 Folder", id="folder"):
            ui.folder = gr.HTML(value="", html_template=FOLDER_TEMPLATE, status="", busy="", elem_id="folder-drop",
                                limit=Limits.from_env().max_images, js_on_load=(ASSETS / "folder_drop.js").read_text(),
                                texts={lang: {k: L.numbered(v, lang) for k, v in FOLDER_TEXTS.items()}
                                       for lang in L.LANGS},
                                t_aria=FOLDER_TEXTS["aria"], t_title=FOLDER_TEXTS["title"], t_btn=FOLDER_TEXTS["btn"],
                                t_sub="")
        with gr.Tab("🗜️ Zip", id="zip"):
            ui.zip = gr.File(label="A .zip of class folders (or of train/ and val/)", file_types=[".zip"],
                             file_count="single", elem_id="zip-upload", height=140)
        with gr.Tab("🃏 Cards", id="cards"):
            _md_hint("Class by class, like Teachable Machine: one card per class. Name it, then drop photos on it "
                     "or take webcam shots.")
            ui.card_cols, ui.card_names, ui.card_gals, ui.card_files, ui.card_dels = [], [], [], [], []
            with gr.Row(elem_classes="fs-cards"):
                for i in range(S.MAX_CARDS):
                    with gr.Column(visible=i < 2, min_width=240, elem_classes="fs-card") as col:
                        ui.card_cols.append(col)
                        ui.card_names.append(gr.Textbox(f"Class {i + 1}", label="Class name", max_lines=1,
                                                        elem_id=f"card-name-{i}"))
                        ui.card_gals.append(gr.Gallery(label="0 photos", columns=4, height=150, allow_preview=False,
                                                       interactive=False, elem_id=f"card-gallery-{i}"))
                        ui.card_files.append(gr.File(label="Drop photos here", file_count="multiple",
                                                     file_types=["image"], height=130, elem_id=f"card-files-{i}"))
                        ui.card_dels.append(gr.Button("Delete this class", size="sm", variant="secondary",
                                                      elem_id=f"card-delete-{i}"))
            with gr.Row():
                ui.card_add = gr.Button("+ Add a class", elem_id="card-add")
                ui.card_use = gr.Button("Use these classes", variant="primary", elem_id="card-use")
            with gr.Accordion("📷 Take photos with the webcam", open=False):
                with gr.Row():
                    ui.cam = gr.Image(sources=["webcam"], type="filepath", label="Each shot goes into the class "
                                      "chosen on the right", height=260, elem_id="card-cam")
                    ui.cam_target = gr.Dropdown([("Class 1", 1), ("Class 2", 2)], value=1,
                                                label="Add the shots to", interactive=True, elem_id="card-cam-target")
        with gr.Tab("✨ Example", id="example"):
            _md_hint("No photos at hand? Start with generated pictures of three shapes (works offline), or "
                     "download a real photo set.")
            with gr.Row():
                ui.example = gr.Button("Use the shapes example", variant="primary", elem_id="example-btn")
                ui.photo_set = gr.Dropdown([(p.title, k) for k, p in PHOTO_SETS.items()], value="ants-bees",
                                           label="Real photos (downloaded, needs internet)", scale=2)
                ui.download = gr.Button("Download", elem_id="download-btn")
    ui.summary = gr.Markdown("Nothing loaded yet.", elem_id="data-summary", label="summary")
    ui.warnings = gr.Markdown("", elem_id="data-warnings", label="warnings")
    ui.thumbs = gr.HTML("", elem_id="data-thumbs", label="thumbnails")
    with gr.Accordion("Photos per class and split", open=False):
        ui.counts = gr.Dataframe(label="train = learned from; val = kept aside to check the model",
                                 interactive=False, elem_id="data-counts")
    with gr.Accordion("Skipped files (0)", open=False) as ui.skipped_box:
        ui.skipped = gr.Dataframe(headers=["file", "reason"], interactive=False, wrap=True, elem_id="data-skipped")


def _train_step(ui: SimpleNamespace) -> None:
    _step(2, "Train", "Re-use a network that already knows everyday pictures (ImageNet) and teach it your classes.")
    ui.preset = gr.Radio(list(S.PRESETS), value="Balanced", label="Preset",
                         info=" · ".join(f"{k}: {v}" for k, v in S.PRESET_HINTS.items()))
    ui.arch = gr.Dropdown(S.backbone_choices(), value="resnet18", label="Backbone (the pretrained network)",
                          info="The network whose knowledge is re-used. ✓ marks weights already on this machine.",
                          elem_id="backbone")
    ui.pretrained = gr.Checkbox(True, label="Start from ImageNet knowledge (recommended)", elem_id="pretrained",
                                info="Off = train from scratch: much weaker with few photos.")
    ui.weights_note = _weights_note("resnet18", True)
    with gr.Row():
        ui.epochs = gr.Slider(1, 100, value=10, step=1, label="Epochs", min_width=260,
                              info="How many times the model sees every training photo.", elem_id="epochs")
        ui.lr = gr.Number(0.001, label="Learning rate", minimum=1e-6, maximum=1.0, step=0.0001, elem_id="lr",
                          min_width=260,
                          info="How big each correction step is. 0.001 is a good start; lower it if the curves jump.")
    ui.stage = gr.Radio(STAGE_LABELS, value="auto", label="How much of the network learns (unfreezing)",
                        info="The rest keeps what it learned on ImageNet.")
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            ui.batch = gr.Slider(4, 128, value=32, step=4, label="Batch size", elem_id="train-batch",
                                 info="Photos per correction step: bigger is smoother but needs more memory.")
            ui.aug = gr.Radio([(h, k) for k, h in S.AUGMENTATION_HINTS.items()], value="light", label="Augmentation",
                              info="Random changes to training photos, so the model learns the object, "
                                   "not the picture.")
        with gr.Row():
            ui.smoothing = gr.Slider(0, 0.3, value=0.1, step=0.05, label="Label smoothing",
                                     info="Keeps the model from being over-confident; 0.1 is usual.")
            ui.early = gr.Slider(0, 20, value=0, step=1, label="Early stop",
                                 info="Stop after this many epochs without improvement (0 = never).")
        with gr.Row():
            ui.balanced = gr.Checkbox(False, label="Class-balanced loss",
                                      info="Counts mistakes on small classes more; for very uneven classes.")
            ui.seed = gr.Number(0, precision=0, label="Seed", info="Same seed and settings give the same result.")
    with gr.Row():
        ui.train = gr.Button("▶ Train", variant="primary", elem_id="train-btn", scale=2)
        ui.stop = gr.Button("■ Stop", variant="stop", elem_id="stop-btn")
    with gr.Row(visible=False) as ui.fallback_row:
        ui.fb_arch = gr.Button("Use another backbone", variant="primary", elem_id="fallback-arch")
        ui.fb_scratch = gr.Button("Train from scratch instead", elem_id="fallback-scratch")
    ui.progress = gr.HTML(V.progress_html(None, "Not started."), elem_id="train-progress", label="progress")
    empty_loss, empty_acc = V.curve_figures([], 10, 0)
    with gr.Row():
        ui.loss_plot = gr.Plot(empty_loss, label="loss curve", show_label=False, elem_id="loss-plot", min_width=300)
        ui.acc_plot = gr.Plot(empty_acc, label="accuracy curve", show_label=False, elem_id="acc-plot", min_width=300)
    ui.diag = gr.Markdown("", elem_id="diagnostics", label="diagnostics")
    with gr.Accordion("The numbers behind the curves", open=False):
        _md_hint("**loss**: how wrong the model is, on average (lower is better) · **acc**: the share of photos "
                 "named right · **train** / **val**: on the training / validation photos")
        ui.history = gr.Dataframe(interactive=False, elem_id="history", label="epochs", show_label=False)


def _check_step(ui: SimpleNamespace) -> None:
    _step(3, "Check", "How the model does on the validation photos, which it never learned from.")
    ui.accuracy = gr.Markdown("Train a model to see how well it does.", elem_id="accuracy")
    with gr.Column(visible=False) as ui.check_box:
        with gr.Row():
            with gr.Column(min_width=300):
                ui.per_class = gr.Dataframe(interactive=False, label="Per class", elem_id="per-class")
                _md_hint("**precision**: of the photos it called X, the share really X · **recall**: of the real X "
                         "photos, the share it found · **f1**: both in one number · **support**: photos checked")
            ui.confusion = gr.Plot(show_label=False, elem_id="confusion", min_width=300)
        ui.mistakes = gr.Gallery(label="Validation photos it got wrong (worst first)", columns=6, height=280,
                                 elem_id="mistakes", object_fit="cover", visible=False)


def _try_step(ui: SimpleNamespace) -> None:
    _step(4, "Try it", "Give it a new picture: upload, paste (Ctrl+V) or use the webcam.")
    ui.try_status = gr.Markdown(NO_MODEL, elem_id="try-status")
    with gr.Row():
        with gr.Column(min_width=280):
            ui.image = gr.Image(sources=["upload", "clipboard", "webcam"], type="filepath", label="A picture",
                                height=300, elem_id="try-image")
            ui.tta = gr.Checkbox(False, label="Look twice (test-time augmentation)",
                                 info="Averages six views of the picture (mirror, corners): slower, often steadier.")
        ui.label = gr.Label(num_top_classes=5, label="What the model sees", elem_id="try-label", min_width=280)
    with gr.Accordion("Many pictures at once", open=False):
        ui.many = gr.File(file_count="multiple", file_types=["image"], label="Pictures", height=120,
                          elem_id="many-files")
        ui.many_table = gr.Dataframe(interactive=False, wrap=True, elem_id="many-table", visible=False)
        ui.many_csv = gr.File(label="The table as a CSV file", interactive=False, visible=False, elem_id="many-csv")


def _take_step(ui: SimpleNamespace) -> None:
    _step(5, "Take it away", "Download the model, or open one you saved before and use it without retraining.")
    with gr.Row():
        ui.download_bundle = gr.DownloadButton("⬇ Download the model (.safetensors)", interactive=False,
                                               variant="primary", elem_id="download-bundle")
        ui.fmt = gr.Radio([("fewshot model (.safetensors)", "bundle"),
                           ("TorchScript (for PyTorch apps)", "torchscript"),
                           ("ONNX (for almost any runtime)", "onnx")], value="bundle", label="Format", scale=2)
        ui.export = gr.Button("Export", elem_id="export-btn")
    ui.export_files = gr.File(label="Your files (the .json says how to feed the model; the .md is its model card)",
                              file_count="multiple", interactive=False, elem_id="export-files", visible=False)
    with gr.Accordion("Model card", open=True):
        ui.card = gr.Markdown("The model card (data, settings, measured accuracy, limits) appears after training.",
                              elem_id="model-card")
    ui.load_bundle = gr.File(label="Use a saved model: drop its .safetensors file here", file_types=[".safetensors"],
                             height=110, elem_id="load-bundle")


API_MD = """Every step is also an API. With `pip install gradio_client`:

```python
from gradio_client import Client, handle_file
c = Client("{url}")
c.predict(handle_file("photos.zip"), api_name="/load_zip")          # report
job = c.submit("mobilenet_v2", True, 5, 0.001, "head", api_name="/train")
for update in job: print(update[4])                                     # epoch table so far
print(c.predict(handle_file("cat.jpg"), False, api_name="/predict"))    # label and confidences
print(c.predict("bundle", api_name="/export"))                          # the model file
```
See *Use via API* at the bottom of the page for every parameter."""


# ---------------------------------------------------------------- the app

def build_app() -> gr.Blocks:
    registry = S.SessionRegistry()
    upload_root = Path(get_upload_folder())
    # Serve session files (models, galleries) from the session folder itself: Gradio would otherwise copy
    # each into its cache, where a closed session's copies (a model is 10-45 MB) stay for an hour.
    gr.set_static_paths([str(S.session_root())])

    def sess_of(state, request: gr.Request | None) -> S.Session:
        return registry.ensure(state, getattr(request, "session_hash", None) if request else None)

    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        state = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s and s.cleanup())
        logo = (ASSETS / "logo.svg").read_text()
        gr.HTML(f'<div class="fs-hero">{logo}<div><h1>fewshot</h1><p>Teach a computer to tell your photos apart, '
                f'in five steps. Your photos stay in this session and are deleted when you close the tab.</p>'
                f'</div>{LANG_SWITCH}</div>')
        ui = SimpleNamespace()
        _data_step(ui)
        _train_step(ui)
        _check_step(ui)
        _try_step(ui)
        _take_step(ui)
        with gr.Accordion("Use via API", open=False):
            gr.Markdown(API_MD.replace("{url}", "http://127.0.0.1:7860/"))  # the footer link shows this server's own
        _wire_data(ui, state, sess_of, upload_root)
        _wire_cards(ui, state, sess_of, upload_root)
        _wire_training(ui, state, sess_of)
        _wire_use(ui, state, sess_of)
        _wire_language(ui, state, sess_of)

        def on_close(request: gr.Request):
            registry.close(getattr(request, "session_hash", None))  # stop training, delete files: tab closed

        demo.unload(on_close)
    return localize(demo)


# ---------------------------------------------------------------- wiring: data

def _report(ds, source: str, announce: bool = True) -> tuple:
    """The data report's outputs; `announce`: a new dataset (warn about skipped files, open their list)."""
    if announce and ds.skipped:  # something the user gave was not used: say so where they are looking
        warn(f"{len(ds.skipped)} file{'s were' if len(ds.skipped) != 1 else ' was'} skipped; "
             f"the report below says why for each one.")
    opened = {"open": bool(ds.skipped)} if announce else {}  # a re-render keeps the list as the user left it
    return (V.data_summary(ds, source), V.data_warnings(ds), V.thumbnail_strips(ds), ds.counts(),
            ds.skipped_frame(), gr.Accordion(label=f"Skipped files ({len(ds.skipped)})", **opened))


def _wire_data(ui, state, sess_of, upload_root: Path) -> None:
    report = [ui.summary, ui.warnings, ui.thumbs, ui.counts, ui.skipped, ui.skipped_box, state]

    @friendly
    def on_folder(payload: str, st, request: gr.Request):
        sess = sess_of(st, request)
        data = json.loads(payload or "{}")
        items = [(str(i.get("path") or ""), str(i.get("rel") or "")) for i in data.get("items", [])]
        others = [str(o) for o in data.get("others", [])]
        top = (items[0][1] if items else "the folder").split("/")[0]
        ds = S.load_uploaded_folder(sess, items, upload_root, source=f"the folder “{top}”", not_images=others)
        return *_report(ds, sess.source), sess

    @friendly
    def on_zip(zip_file: str, st, request: gr.Request):
        sess = sess_of(st, request)
        ds = S.load_zip_file(sess, zip_file, upload_root)
        return *_report(ds, sess.source), sess

    @friendly
    def on_example(st, request: gr.Request):
        sess = sess_of(st, request)
        ds = S.load_example(sess)
        return *_report(ds, sess.source), sess

    @friendly
    def on_download(key: str, st, request: gr.Request, progress=gr.Progress()):
        sess = sess_of(st, request)
        mb = lambda n: n / 1e6
        ds = S.load_photo_set(sess, key, progress=lambda d, t: progress(d / t if t else None,
                                                                         desc=f"Downloading {mb(d):.0f} MB"))
        return *_report(ds, sess.source), sess

    where = dict(show_progress_on=[ui.summary])  # one spinner (or error mark) by the summary, not on every part
    ui.folder.change(on_folder, [ui.folder, state], report, api_visibility="private", **where)
    ui.zip.upload(on_zip, [ui.zip, state], report, api_name="load_zip", **where)
    ui.example.click(on_example, [state], report, api_name="load_example", **where)
    ui.download.click(on_download, [ui.photo_set, state], report, api_name="download_photos", **where)


def _wire_cards(ui, state, sess_of, upload_root: Path) -> None:
    slots = [x for i in range(S.MAX_CARDS) for x in (ui.card_cols[i], ui.card_names[i], ui.card_gals[i])]

    def render(sess: S.Session, names: bool = True) -> list:
        """Every card slot from the session's cards. Names are only rewritten when cards moved
        (added or deleted): rewriting them after an upload could undo what the user is typing."""
        out = []
        for i in range(S.MAX_CARDS):
            card = sess.cards[i] if i < len(sess.cards) else None
            if card is not None:
                _served(sess, *card.files)
            out += [gr.Column(visible=card is not None),
                    gr.Textbox(value=card.name if card else "") if names else gr.skip(),
                    gr.Gallery(value=list(card.files) if card else [],
                               label=f"{len(card.files) if card else 0} photos")]
        choices = [(c.name or f"card {i + 1}", c.id) for i, c in enumerate(sess.cards)]
        if names:  # cards moved: the shots go to the first card unless the user picks another
            return out + [gr.Dropdown(choices=choices, value=choices[0][1] if choices else None), sess]
        return out + [gr.Dropdown(choices=choices), sess]  # keep the card the user picked

    outs = slots + [ui.cam_target, state]

    def card_id(sess: S.Session, i: int) -> int:
        if i >= len(sess.cards):
            raise FewshotError("That class card no longer exists.")
        return sess.cards[i].id

    for i in range(S.MAX_CARDS):
        @friendly
        def on_files(files, st, request: gr.Request, i=i):
            sess = sess_of(st, request)
            problems = S.card_add_images(sess, card_id(sess, i), files or [], upload_root)
            for p in problems:
                warn(f"Not added: {p}")
            return [None] + render(sess, names=False)

        @friendly
        def on_rename(name, st, request: gr.Request, i=i):
            sess = sess_of(st, request)
            S.card_rename(sess, card_id(sess, i), name)
            return render(sess, names=False)

        @friendly
        def on_delete(st, request: gr.Request, i=i):
            sess = sess_of(st, request)
            S.card_delete(sess, card_id(sess, i))
            return render(sess)

        ui.card_files[i].upload(on_files, [ui.card_files[i], state], [ui.card_files[i]] + outs,
                                api_visibility="private")
        ui.card_names[i].blur(on_rename, [ui.card_names[i], state], outs, api_visibility="private")
        ui.card_names[i].submit(on_rename, [ui.card_names[i], state], outs, api_visibility="private")
        ui.card_dels[i].click(on_delete, [state], outs, api_visibility="private")

    @friendly
    def on_add(st, request: gr.Request):
        sess = sess_of(st, request)
        S.card_add(sess)
        return render(sess)

    @friendly
    def on_shot(shot, target, st, request: gr.Request):
        sess = sess_of(st, request)
        if not shot:
            return [gr.skip()] + [gr.skip()] * len(outs)
        if target is None and sess.cards:
            target = sess.cards[0].id
        S.card_add_images(sess, int(target), [shot], upload_root)
        return [None] + render(sess, names=False)

    @friendly
    def on_use(st, request: gr.Request):
        sess = sess_of(st, request)
        ds = S.load_cards(sess)
        return *_report(ds, sess.source), sess

    ui.card_add.click(on_add, [state], outs, api_visibility="private")
    # After a shot the image is cleared for the next one; reopen the camera so each shot is one click.
    ui.cam.change(on_shot, [ui.cam, ui.cam_target, state], [ui.cam] + outs, api_visibility="private").then(
        None, None, None, js=REOPEN_CAMERA_JS)
    ui.card_use.click(on_use, [state], [ui.summary, ui.warnings, ui.thumbs, ui.counts, ui.skipped, ui.skipped_box,
                                        state], api_name="load_cards", show_progress_on=[ui.summary])


# ---------------------------------------------------------------- wiring: training

def _check_outputs(sess: S.Session) -> tuple:
    ev, tm = sess.evaluation, sess.model
    if tm is None:
        return "Train a model to see how well it does.", gr.Column(visible=False), None, None, gr.Gallery(value=[])
    per_class = S.per_class_frame(ev, tm)
    shown = per_class.assign(**{c: (per_class[c] * 100).round(0).astype(int).astype(str) + "%"
                                for c in ("precision", "recall", "f1")})
    acc = ev.accuracy if ev is not None else tm.metrics.get("val_accuracy")
    n_val = int(per_class["support"].sum()) if len(per_class) else 0
    cm = S.confusion_frame(sess)
    note = "" if ev is not None else ("(Measured when this model was trained; mistakes are shown only after "
                                      "training here.)")
    mistakes = S.misclassified_items(ev)
    _served(sess, *(p for p, _ in mistakes))
    return (V.accuracy_md(acc, n_val, len(tm.classes), note), gr.Column(visible=True), shown,
            V.confusion_figure(cm) if cm is not None else None,
            gr.Gallery(value=mistakes, visible=bool(mistakes),
                       label=f"Validation photos it got wrong: {len(ev.misclassified) if ev else 0} "
                             f"(really → taken for, and how sure it was; worst first)"))


def _take_outputs(sess: S.Session) -> tuple:
    tm = sess.model
    if tm is None:
        return gr.skip(), gr.DownloadButton(interactive=False), NO_MODEL
    path = S.export_model(sess, "bundle")[0]
    _served(sess, path)
    return (tm.model_card(), gr.DownloadButton(_download_label(path), value=str(path), interactive=True),
            _ready_text(tm))


def _download_label(bundle: Path) -> str:
    return f"⬇ Download the model (.safetensors, {bundle.stat().st_size / 1e6:.0f} MB)"


def _ready_text(tm) -> str:
    return f"✅ Model ready. It knows: **{', '.join(tm.classes)}**. Give it a picture."


def _wire_training(ui, state, sess_of) -> None:
    check = [ui.accuracy, ui.check_box, ui.per_class, ui.confusion, ui.mistakes]
    take = [ui.card, ui.download_bundle, ui.try_status]
    live = [state, ui.progress, ui.loss_plot, ui.acc_plot, ui.diag, ui.history, ui.fallback_row, ui.fb_arch,
            ui.weights_note]
    inputs = [ui.arch, ui.pretrained, ui.epochs, ui.lr, ui.stage, ui.batch, ui.aug, ui.smoothing, ui.balanced,
              ui.early, ui.seed, state]

    @friendly
    def train(backbone: str, pretrained: bool, epochs: int, learning_rate: float, stage: str, batch_size: int = 32,
              augmentation: str = "light", label_smoothing: float = 0.1, balanced_loss: bool = False,
              early_stop: int = 0, seed: int = 0, st=None, request: gr.Request = None):
        sess = sess_of(st, request)
        sess.queued = False
        cfg = S.make_config(backbone, pretrained, epochs, learning_rate, stage, batch_size, augmentation,
                            label_smoothing, balanced_loss, seed, early_stop)
        check_gpu_time(sess, cfg)
        k = len(sess.dataset.classes) if sess.dataset else 0
        shown = -1
        for up in S.run_training(sess, cfg):
            yield _live_outputs(sess, up, cfg, k, shown) + (_finish_outputs(sess, up) if up.finished else
                                                            (gr.skip(),) * (len(check) + len(take)))
            shown = len(up.history)

    @friendly  # its progress line in the page's language
    def before(st, request: gr.Request):
        sess = sess_of(st, request)
        sess.queued = True
        sess.stop.clear()
        return (sess, gr.Button(interactive=False), gr.Row(visible=False),
                V.progress_html(None, "Starting… (if another training is running, this one waits for it and then "
                                      "starts by itself)"))

    @friendly  # the list in the page's language
    def after(request: gr.Request = None):  # weights downloaded by this run are here now: the list says so
        return gr.Button(interactive=True), gr.Dropdown(choices=S.backbone_choices())

    hidden = dict(queue=False, api_visibility="private")
    pre = dict(fn=before, inputs=[state], outputs=[state, ui.train, ui.fallback_row, ui.progress], **hidden)
    # the queue place (while waiting for a slot) shows by the progress bar only, not over the curves
    run = dict(fn=train, inputs=inputs, outputs=live + check + take, concurrency_id="train",
               concurrency_limit=TRAIN_SLOTS, show_progress="minimal", show_progress_on=[ui.progress])
    ui.train.click(**pre).then(**run, api_name="train").then(after, None, [ui.train, ui.arch], **hidden)

    def use_fallback(st, request: gr.Request):
        arch = S.fallback_arch()
        return gr.Dropdown(value=arch) if arch else gr.skip(), gr.Checkbox(value=bool(arch))

    ui.fb_arch.click(use_fallback, [state], [ui.arch, ui.pretrained], **hidden).then(**pre).then(
        **run, api_visibility="private").then(after, None, [ui.train, ui.arch], **hidden)
    ui.fb_scratch.click(lambda: gr.Checkbox(value=False), None, ui.pretrained, **hidden).then(**pre).then(
        **run, api_visibility="private").then(after, None, [ui.train, ui.arch], **hidden)

    def on_stop(st, request: gr.Request):
        if isinstance(st, S.Session) and (st.training or st.queued):
            st.stop.set()
            inform("Stopping after this batch; the best epoch so far is kept.", lang_of(st))
        else:
            inform("Nothing is training right now.", lang_of(st, request))

    ui.stop.click(on_stop, [state], None, concurrency_limit=None, api_name="stop")

    def on_preset(name):
        p = S.PRESETS[name]
        return p["epochs"], p["lr"], p["stage"], p["augmentation"]

    ui.preset.change(on_preset, ui.preset, [ui.epochs, ui.lr, ui.stage, ui.aug], queue=False, api_visibility="private")
    for box in (ui.arch, ui.pretrained):
        box.change(_weights_note, [ui.arch, ui.pretrained], ui.weights_note, queue=False, api_visibility="private")


def _live_outputs(sess: S.Session, up: S.TrainUpdate, cfg, k: int, shown: int) -> tuple:
    sess.last_update = (up, cfg, k)  # what a switch of language re-renders (see _wire_language)
    if up.weights_missing:
        fb = S.fallback_arch(cfg.arch)
        label = (f"Use {S.ARCH_INFO[fb][0]} instead (its weights are on this machine)" if fb else None)
        msg = f"⛔ {up.weights_missing}"
        return (sess, V.progress_html(None, up.text, "error"), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                gr.Row(visible=True), gr.Button(label, visible=fb is not None) if label else gr.Button(visible=False),
                gr.Markdown(msg, visible=True))
    state = "done" if up.done else "running"
    eta = V.eta_text(up.eta_s)
    text = up.text + (f" · {eta}" if eta and not up.done else "")
    plots = (gr.skip(), gr.skip())
    if len(up.history) != shown or up.done:
        plots = V.curve_figures(up.history, len(up.history) if up.done else cfg.epochs, k)
    return (sess, V.progress_html(up.fraction, text, state), *plots, V.diagnostics_md(up.diagnostics),
            V.history_frame(up.history), gr.Row(visible=False), gr.skip(), gr.skip())


def _finish_outputs(sess: S.Session, up: S.TrainUpdate) -> tuple:
    if up.weights_missing or up.done is None or up.done.model is None or sess.closed:
        return (gr.skip(),) * 8
    return _check_outputs(sess) + _take_outputs(sess)


# ---------------------------------------------------------------- wiring: try it, take it away

def _wire_use(ui, state, sess_of) -> None:
    @friendly
    def predict(image: str, tta: bool = False, st=None, request: gr.Request = None):
        if not image:
            return None
        sess = sess_of(st, request)
        S.note_upload(sess, image, Path(get_upload_folder()))
        return S.predict_image(sess, image, top_k=5, tta=tta)

    @friendly
    def predict_many(files: list[str], tta: bool, st, request: gr.Request):
        sess = sess_of(st, request)
        for f in files or []:
            S.note_upload(sess, f, Path(get_upload_folder()))
        df, csv = S.predict_many(sess, files or [], tta)
        _served(sess, csv)
        return df, str(csv)

    @friendly
    def export(fmt: str = "bundle", st=None, request: gr.Request = None):
        sess = sess_of(st, request)
        files = S.export_model(sess, fmt)
        _served(sess, *files)
        return [str(p) for p in files]

    @friendly
    def load_saved(path: str, st, request: gr.Request):
        sess = sess_of(st, request)
        S.note_upload(sess, path, Path(get_upload_folder()))
        S.load_model_file(sess, path)
        inform(f"Model loaded: it knows {', '.join(sess.model.classes)}.")
        return (sess, None) + _check_outputs(sess) + _take_outputs(sess)

    ui.image.change(predict, [ui.image, ui.tta, state], ui.label, api_name="predict", concurrency_limit=4)
    ui.tta.change(predict, [ui.image, ui.tta, state], ui.label, api_visibility="private", concurrency_limit=4)
    def show(n: int):  # results stay hidden until there are some
        return lambda: gr.update(visible=True) if n == 1 else (gr.update(visible=True),) * n
    ui.many.upload(predict_many, [ui.many, ui.tta, state], [ui.many_table, ui.many_csv], api_name="predict_many",
                   concurrency_limit=4).success(show(2), None, [ui.many_table, ui.many_csv], queue=False,
                                                api_visibility="private")
    ui.export.click(export, [ui.fmt, state], ui.export_files, api_name="export").success(
        show(1), None, [ui.export_files], queue=False, api_visibility="private")
    ui.load_bundle.upload(load_saved, [ui.load_bundle, state],
                          [state, ui.load_bundle, ui.accuracy, ui.check_box, ui.per_class, ui.confusion, ui.mistakes,
                           ui.card,
                           ui.download_bundle, ui.try_status], api_name="load_model")


# ---------------------------------------------------------------- launch

def launch_kwargs() -> dict:
    """What launch() needs besides host and port: theme, CSS, the session folders files are served from, and
    the page's languages (gr.I18n for its fixed words, assets/i18n.js for the switch)."""
    theme = gr.themes.Soft(primary_hue="indigo", secondary_hue="orange",
                           font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
                           font_mono=["ui-monospace", "Menlo", "Consolas", "monospace"])
    return dict(theme=theme, css=(ASSETS / "app.css").read_text(), allowed_paths=[str(S.session_root())],
                favicon_path=str(ASSETS / "logo.svg"), i18n=I18N, js=(ASSETS / "i18n.js").read_text())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    default_host = env.get("FEWSHOT_HOST") or ("0.0.0.0" if env.get("SPACE_ID") else "127.0.0.1")
    p = argparse.ArgumentParser(description="fewshot: train an image classifier from a few photos, in the browser")
    p.add_argument("--host", default=default_host, help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=int(env.get("FEWSHOT_PORT", "7860")), help="port (default %(default)s)")
    p.add_argument("--share", action="store_true", default=env.get("FEWSHOT_SHARE", "").lower() in ("1", "true", "yes"),
                   help="also make a temporary public link (gradio.live)")
    p.add_argument("--auth", default=env.get("FEWSHOT_AUTH"), metavar="USER:PASS",
                   help="ask for this user name and password")
    args = p.parse_args(argv)
    if args.auth and ":" not in args.auth:
        p.error("--auth must look like user:password")
    if args.share and not args.auth:
        print("WARNING: --share makes a PUBLIC link: anyone who has it can use this app and this machine. "
              "Add --auth user:password (or set FEWSHOT_AUTH).", file=sys.stderr)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    demo = build_app()
    demo.queue(default_concurrency_limit=4)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth, **launch_kwargs())


if __name__ == "__main__":
    main()
