"""The demo page: a predict-only page for one model, at /m/<link id> of the app's own server (demo links, made in
step 5) or at / of its own server (`python -m fewshot serve`, fewshot/cli/serve.py).

    links = demo_app_kwargs(make_predictor, uploads)  # build_app: links["routes"] go in the App's routes
    build_demo(FileSource("m.safetensors", Predictor)).launch(...)   # fewshot/cli/serve.py, via serve()

How it is served: one predict-only gr.Blocks, mounted with gr.mount_gradio_app on a small FastAPI app of its own,
behind `LinkGate` at /m of the main app. The gate answers 404 for an unknown or revoked link before the page sees
the request, serves from the file routes only what visitors uploaded (never the sessions' or projects' files),
and tells the page which link it is (the x-fewshot-demo header, set by the gate alone). The page's API is its own
Gradio app's: /predict and /feedback, nothing of the main app (training, projects, files).
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Callable, Protocol

import gradio as gr

from .camera import camera_first_js
from .. import i18n as L
from ..bundle import TrainedModel, load_bundle
from ..check_set import CHECK, of_metrics
from ..demo_links import DemoLinks, LinkTarget, feedback_max_bytes, valid_link_id
from ..errors import DataError, FewshotError
from .server.guard import DEMO_PREFIX, Budget, max_upload_bytes
from .page import I18N, friendly, lang_of, localize, localized
from .server.gate import LINK_HEADER, LinkGate
from .server.uploads import UploadLedger

# the phone's rear camera where there is one (a laptop's only camera otherwise); not mirrored: it looks outwards
REAR_CAMERA = gr.WebcamOptions(mirror=False, constraints={"video": {"facingMode": {"ideal": "environment"},
                                                                    "width": {"ideal": 1920},
                                                                    "height": {"ideal": 1440}}})
CSS = Path(__file__).resolve().parents[2] / "assets" / "demo.css"


@dataclass(frozen=True)
class DemoModel:
    """One model the page shows: its words and its predictor (one prediction at a time)."""

    title: str
    tm: TrainedModel
    predictor: object
    lock: threading.Lock
    feedback: bool
    run_number: int | None = None  # the title ends " · run N": said in the visitor's language (_head)


class DemoSource(Protocol):
    """Where the page gets its model for a request, and where a visitor's photo goes back."""

    def model(self, request: gr.Request | None) -> DemoModel | None: ...

    def feedback(self, request: gr.Request | None, image: str, label: str) -> None: ...


class _Models:
    """A few loaded models, least recently used dropped first, each loaded once per file version."""

    def __init__(self, make_predictor: Callable, keep: int = 4) -> None:
        self.make, self.keep = make_predictor, keep
        self._models: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, bundle: Path) -> tuple[TrainedModel, object, threading.Lock]:
        key = (str(bundle), bundle.stat().st_mtime_ns)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        tm = load_bundle(bundle)  # never unpickles
        item = (tm, self.make(tm), threading.Lock())
        with self._lock:
            self._models[key] = item
            while len(self._models) > self.keep:
                self._models.popitem(last=False)
        return item


def _who(request: gr.Request | None) -> str:
    client = getattr(request, "client", None) if request is not None else None
    return getattr(client, "host", None) or "?"


class LinkSource:
    """The demo links of this server's projects: the gate says which link a request came through."""

    def __init__(self, links: DemoLinks | Callable[[], DemoLinks], make_predictor: Callable,
                 feedback_per_min: int | None = None) -> None:
        # a callable: the projects database is opened at the first visit, not when the server starts (a damaged
        # one must not keep the app from starting; the project bar says what is wrong with it)
        self._links = links if callable(links) else (lambda: links)
        self.models = _Models(make_predictor)
        per_min = feedback_per_min or int(os.environ.get("FEWSHOT_FEEDBACK_PER_MIN", "") or 10)
        # the upload budget of fewshot/ui/server/guard.py, per visitor address: photos sent back per minute
        self.budget = Budget(per_min * feedback_max_bytes(), per_min)

    def _target(self, request: gr.Request | None) -> LinkTarget | None:
        headers = dict(getattr(request, "headers", None) or {}) if request is not None else {}
        link = headers.get(LINK_HEADER.decode(), "")
        return self.links.resolve(link) if valid_link_id(link) else None

    @property
    def links(self) -> DemoLinks:
        return self._links()

    def is_live(self, link: str) -> bool:
        """Whether `link` opens a page now (the gate asks at every request: a revoked link 404s at once)."""
        try:
            return self.links.resolve(link) is not None
        except FewshotError:  # e.g. a damaged projects database: no page, and the trainer says why
            return False

    def model(self, request: gr.Request | None) -> DemoModel | None:
        target = self._target(request)
        if target is None:
            return None
        tm, predictor, lock = self.models.get(target.bundle)
        return DemoModel(f"{target.project_name} · run {target.run_number}", tm, predictor, lock, target.feedback,
                         run_number=target.run_number)

    def feedback(self, request: gr.Request | None, image: str, label: str) -> None:
        target = self._target(request)
        if target is None:
            raise DataError("This demo link is no longer valid.")
        tm = self.models.get(target.bundle)[0]
        size = Path(image).stat().st_size if image and Path(image).is_file() else 0
        why = self.budget.refuse(_who(request), size)
        if why is not None:
            raise DataError(why)
        self.links.add_feedback(target, image, label, tm.classes)


class FileSource:
    """One saved model file (`python -m fewshot serve`): no project, so no feedback."""

    def __init__(self, bundle: str | os.PathLike, make_predictor: Callable) -> None:
        tm = load_bundle(bundle)
        self.item = DemoModel(Path(bundle).stem, tm, make_predictor(tm), threading.Lock(), False)

    def model(self, request: gr.Request | None) -> DemoModel:
        return self.item

    def feedback(self, request: gr.Request | None, image: str, label: str) -> None:
        raise DataError("This demo does not take feedback.")


def short_card(tm: TrainedModel) -> str:
    """A few lines about the model for a visitor: what it is, how right it was (with its 95% interval and the
    photos behind it: in a project where the model helped label, its check set), what it cannot do."""
    c = tm.config
    photos = sum(int(r.get("train", 0)) + int(r.get("val", 0)) for r in tm.data_summary)
    m = of_metrics(tm.metrics, tm.data_summary)
    lines = [f"Made with fewshot from {photos} photos, by transfer learning from an ImageNet-pretrained {c.arch}."]
    if m.accuracy is not None and m.validation == CHECK:
        lines.append(f"Right on {m.accuracy:.0%} of {m.photos} photos picked at random that it did not train on "
                     f"(likely between {m.low:.0%} and {m.high:.0%}).")
    elif m.accuracy is not None:
        lines.append(f"Right on {m.accuracy:.0%} of {m.photos} photos it did not train on "
                     f"(likely between {m.low:.0%} and {m.high:.0%}).")
    lines.append("It only knows the classes above: any other picture still gets one of them.")
    return "\n".join("- " + line for line in lines)


def _head(m: DemoModel, lang: str) -> str:
    """The model's name and classes (names stay as their owner wrote them)."""
    knows = escape(L.translate("It knows", lang, label=True))
    title, run = m.title, f" · run {m.run_number}"
    if m.run_number is not None and title.endswith(run):  # the project's name as it is, the run in the words
        title = f"{title[:-len(run)]} · {L.translate(f'run {m.run_number}', lang)}"
    return f"<h1>{escape(title)}</h1><p>{knows}: <b>{escape(', '.join(m.tm.classes))}</b></p>"


def build_demo(source: DemoSource) -> gr.Blocks:
    """The predict-only page; its API: /predict (a picture in, the top 3 classes out) and /feedback (a picture and
    the right class in, a thank-you out)."""
    # visitors' pictures leave Gradio's upload folder an hour after they came, and all of them at shutdown
    with gr.Blocks(title="fewshot", delete_cache=(600, 3600)) as page:  # (a name: the same in every language)
        head = gr.HTML("", elem_id="demo-head")
        image = gr.Image(sources=["upload", "clipboard", "webcam"], type="filepath", image_mode=None, label="A picture",
                         webcam_options=REAR_CAMERA, height=320, elem_id="demo-image")
        # on a phone (a demo link's usual visitor) the box opens on the camera, not on "Drop Image Here"
        gr.HTML("", elem_id="demo-camera-first", js_on_load=camera_first_js("demo-image"), padding=False,
                container=False)
        label = gr.Label(num_top_classes=3, label="What the model sees", elem_id="demo-label")
        with gr.Accordion("Wrong? Tell us the right class", open=False, visible=False, elem_id="demo-wrong") as wrong:
            # any value passes Gradio; the engine takes only a class the model knows (DemoLinks.add_feedback)
            right = gr.Dropdown(choices=[], label="The right class", allow_custom_value=True, elem_id="demo-right")
            send = gr.Button("Send this photo", elem_id="demo-send")
            sent = gr.Markdown("", elem_id="demo-sent")
        with gr.Accordion("About this model", open=False):
            card = gr.Markdown("", elem_id="demo-card")
        _wire(source, head, image, label, wrong, right, send, sent, card, page)
    return localize(page)


def _wire(source: DemoSource, head, image, label, wrong, right, send, sent, card, page: gr.Blocks) -> None:
    def show(request: gr.Request):
        m = source.model(request)
        if m is None:
            return {head: "<h1>404</h1>"}
        lang = lang_of(request)  # the page's own words in the browser's language; names as their owner wrote them
        return {head: _head(m, lang), card: localized(short_card(m.tm), lang),
                wrong: gr.Accordion(visible=m.feedback), right: gr.Dropdown(choices=list(m.tm.classes), value=None)}

    @friendly
    def predict(picture: str | None, request: gr.Request = None):
        m = source.model(request)
        if m is None:
            raise DataError("This demo link is no longer valid.")
        if not picture:
            return None
        with m.lock:
            return dict(m.predictor.predict_one(picture, top_k=3))

    @friendly
    def feedback(picture: str | None, cls: str | None, request: gr.Request = None):
        if not picture:
            raise DataError("Add a picture first (upload, paste or webcam).")
        if not cls:
            raise DataError("Pick the right class first.")
        source.feedback(request, picture, cls)
        return "Thank you: the photo was sent to the model's owner."

    page.load(show, None, [head, card, wrong, right], api_visibility="private")
    image.change(predict, image, label, api_name="predict", concurrency_limit=4)
    image.change(lambda: "", None, sent, queue=False, api_visibility="private")  # a new photo: not sent yet
    send.click(feedback, [image, right], sent, api_name="feedback", concurrency_limit=2)


def mount_kwargs() -> dict:
    """What gr.mount_gradio_app (or launch) needs for the demo page: its languages, look and limits. Visitors see
    the page's own plain words (`friendly`), never Gradio's text of an unexpected error (it names server paths);
    mount_gradio_app would show that text by default."""
    theme = gr.themes.Soft(primary_hue="indigo", secondary_hue="orange",
                           font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"])
    from .app import page_js
    return dict(i18n=I18N, theme=theme, css=CSS.read_text(), footer_links=["api"], max_file_size=max_upload_bytes(),
                show_error=False, js=page_js("gradio_words.js"))


def serve(bundle: str | os.PathLike, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: tuple[str, str] | None = None) -> None:
    """`python -m fewshot serve`: the demo page of one saved model at / of a server of its own (no feedback)."""
    from ..predict import Predictor
    from .server.guard import guard_app_kwargs, trust_proxies
    page = build_demo(FileSource(bundle, Predictor))
    page.queue(default_concurrency_limit=4)
    trust_proxies()
    page.launch(server_name=host, server_port=port, share=share, auth=auth,
                app_kwargs=guard_app_kwargs(uploads=UploadLedger()), **mount_kwargs())


# ---------------------------------------------------------------- /m/<id> on the main app's server

def demo_app_kwargs(make_predictor: Callable, uploads: UploadLedger, links: DemoLinks | None = None) -> dict:
    """launch(app_kwargs=...) for the main app: the demo page at /m/<id>, started and stopped with the server;
    `uploads` is the Guard's ledger (guard_app_kwargs), by which the gate serves visitors their own pictures."""
    from fastapi import FastAPI
    from starlette.routing import Mount

    def server_links() -> DemoLinks:
        from .tab.projects import store
        return links or DemoLinks(store())

    source = LinkSource(server_links, make_predictor)
    holder = FastAPI()
    gr.mount_gradio_app(holder, build_demo(source), path="/", **mount_kwargs())
    gate = LinkGate(holder, source.is_live, uploads)

    @contextlib.asynccontextmanager
    async def lifespan(app):  # the demo page's queue starts and stops with the main server
        async with holder.router.lifespan_context(holder):
            yield

    return {"routes": [Mount(DEMO_PREFIX, app=gate)], "lifespan": lifespan}


__all__ = ["DEMO_PREFIX", "FileSource", "LinkSource", "build_demo", "demo_app_kwargs", "mount_kwargs",
           "short_card"]
