"""Step 5, take it away: download the model, export TorchScript or ONNX, read its model card, or open a saved one."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gradio as gr

from .tab import results as R
from .downloads import DOWNLOAD_JS
from .page import Links, PRIVATE, Page, friendly, inform, md_hint, step_header
from .terms import term
from .tab.state import Session
from .texts import CARD_EMPTY

FORMATS = [("For fewshot: open it here again (.safetensors)", "bundle"),
           ("For PyTorch programs (TorchScript)", "torchscript"),
           ("For almost any app: phones, browsers, servers (ONNX)", "onnx")]


@dataclass(eq=False)
class TakeView:
    """Step 5's components (`build` makes them; `render` and `wire` take them)."""
    page: Page
    download: gr.DownloadButton = field(init=False)
    fmt: gr.Radio = field(init=False)
    export: gr.Button = field(init=False)
    files: gr.File = field(init=False)
    space: object = field(init=False)  # step_space.SpaceView (the page builds it)
    card: gr.Markdown = field(init=False)
    load: gr.File = field(init=False)
    share: object = field(init=False)  # share.ShareView (the page builds it)


def build(page: Page, space: Callable[[], object], share: Callable[[], object]) -> TakeView:
    """The download button, the export choices, the model card and the saved-model drop; `space` and `share`
    build the Space and demo-link blocks in their places (fewshot/ui/step_space.py, share.py: the page passes
    them in, as steps never import each other)."""
    v = TakeView(page=page)
    step_header(5, "Take it away", "Download the model, or open one you saved before and use it without retraining.")
    v.share = share()  # first: a demo link for the project's active model, one click away (fewshot/ui/share.py)
    with gr.Row():
        v.download = gr.DownloadButton("⬇ Download the model (.safetensors)", interactive=False,
                                       variant="primary", elem_id="download-bundle")
        v.fmt = gr.Radio(FORMATS, value="bundle", label="Format", scale=2)
        v.export = gr.Button("⬇ Export", elem_id="export-btn")
    md_hint(f"Export saves the model file at once; the files below say how to feed it.<br>"
            f"{term('For fewshot', 'safetensors')} · {term('For PyTorch programs', 'torchscript')} · "
            f"{term('For almost any app', 'onnx')}")
    v.files = gr.File(label="Your files (the .json says how to feed the model; the .md is its model card)",
                      file_count="multiple", interactive=False, elem_id="export-files", visible=False)
    v.space = space()  # the model as a ready Hugging Face Space
    with gr.Accordion("Model card", open=True):
        v.card = gr.Markdown(CARD_EMPTY, elem_id="model-card")
    v.load = gr.File(label="Use a saved model: drop its .safetensors file here", file_types=[".safetensors"],
                     height=110, elem_id="load-bundle")
    return v


def download_label(bundle: Path) -> str:
    """The download button's words, with the file's size."""
    return f"⬇ Download the model (.safetensors, {bundle.stat().st_size / 1e6:.0f} MB)"


def render(v: TakeView, sess: Session | None, whole: bool = False) -> dict:
    """The model card and the download of the session's model (saved as a bundle the first time it is shown);
    `whole`: all of it, as when a project opens (one without a model: as on a fresh page)."""
    tm = sess.model if sess is not None else None
    if tm is None:
        return {v.card: CARD_EMPTY, v.download: gr.DownloadButton(value=None, interactive=False)} if whole else {}
    path = sess.bundle_path
    if path is None or not path.is_file():
        path = R.export_model(sess, "bundle")[0]
        v.page.served(sess, path)
    return {v.card: tm.model_card(),
            v.download: gr.DownloadButton(download_label(path), value=str(path), interactive=True)}


def wire(v: TakeView, page: Page, links: Links) -> None:
    """Export in a format; a dropped saved model becomes the session's model and fills steps 3-5
    (`links.show_model`); `links.take_parts` wires the Space and demo-link blocks (their events keep their place
    in the API's order)."""
    model_outputs, show_model = links.model_outputs, links.show_model
    @friendly
    def export(fmt: str = "bundle", st=None, request: gr.Request = None):
        sess = page.session(st, request)
        files = R.export_model(sess, fmt)
        page.served(sess, *files)
        return [str(p) for p in files]

    @friendly
    def load_saved(path: str, st, request: gr.Request):
        sess = page.session(st, request)
        R.load_model_file(sess, page.uploaded(sess, path) if path else path)
        inform(f"Model loaded: it knows {', '.join(sess.model.classes)}.")
        return {page.state: sess, v.load: None, **show_model(sess)}

    # one click: the model file is saved at once (downloads.py); the box lists it with its .json and model card
    v.export.click(export, [v.fmt, page.state], v.files, api_name="export").success(
        lambda: gr.File(visible=True), None, v.files, queue=False, **PRIVATE).then(
        None, [v.files], None, js=DOWNLOAD_JS, **PRIVATE)
    links.take_parts()
    v.load.upload(load_saved, [v.load, page.state], [page.state, v.load] + model_outputs, api_name="load_model")
    # Gradio writes a file box's own words ("Drop File Here - or - Click to Upload") in the language of the
    # moment it is drawn: on a switch of language the box is drawn again, so they follow the page.
    page.lang.change(lambda: gr.File(visible=False), None, v.load, queue=False, **PRIVATE,
                     show_progress="hidden").then(lambda: gr.File(visible=True), None, v.load, queue=False,
                                                  **PRIVATE, show_progress="hidden")


__all__ = ["FORMATS", "TakeView", "build", "download_label", "render", "wire"]
