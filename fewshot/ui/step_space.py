"""Part of step 5: the model as a ready Hugging Face Space: its folder as a .zip, or published with a token.

The token field is a password box; its value is used for one publish call and then emptied on the page
(even when publishing fails), never kept in the session, never logged (fewshot/hub.py masks it in messages).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from contextlib import contextmanager

import gradio as gr

from ..errors import FewshotError
from ..hub import publish_space
from ..space import space_slug, zip_space
from .downloads import DOWNLOAD_JS
from .page import PRIVATE, Page, friendly, md_hint
from .tab.state import Session


@contextmanager
def exporting(sess: Session):
    """Hold the session's model while it is exported (the ONNX export moves it to the CPU), then let the next
    prediction set it up again."""
    with sess.model_lock:
        try:
            yield
        finally:
            sess.forget_predictor()


@dataclass(eq=False)
class SpaceView:
    """The Space block's components (part of step 5) (`build` makes them; `render` and `wire` take them)."""
    page: Page
    folder: gr.DownloadButton = field(init=False)
    space: gr.Textbox = field(init=False)
    token: gr.Textbox = field(init=False)
    private: gr.Checkbox = field(init=False)
    publish: gr.Button = field(init=False)
    status: gr.Markdown = field(init=False)


def build(page: Page) -> SpaceView:
    """The Space folder button, and the form that publishes it to the Hub."""
    v = SpaceView(page=page)
    with gr.Accordion("Share it as a Hugging Face Space", open=False, elem_id="space-box"):
        gr.Markdown("A web page anyone can open to try the model, on Hugging Face's free hardware. It needs no "
                    "PyTorch and no fewshot: only the model (ONNX) and a small app.", elem_id="space-hint")
        # one click: the .zip is made, then the browser saves it (downloads.py); no file box to click again
        v.folder = gr.DownloadButton("⬇ Space folder (.zip)", value=None, elem_id="space-folder-btn")
        md_hint("Unzip it and upload its files to a new Gradio Space.")
        gr.Markdown("Or publish it now: make a token with write access at https://huggingface.co/settings/tokens. "
                    "The token is used once and is not kept.")
        with gr.Row():
            v.space = gr.Textbox(label="Space name", placeholder="your-user-name/bird-classifier",
                                 elem_id="space-name", scale=2)
            v.token = gr.Textbox(label="Hugging Face token", type="password", placeholder="hf_…",
                                 elem_id="space-token", scale=2)
            v.private = gr.Checkbox(False, label="Private Space", elem_id="space-private", scale=1)
        v.publish = gr.Button("Publish to the Hub", variant="primary", elem_id="space-publish")
        v.status = gr.Markdown("", elem_id="space-status")
    return v


def published_text(url: str) -> str:
    """What the page says once the Space is on the Hub."""
    return f"✅ Published: [{url}]({url}). The Space builds for a minute or two, then anyone with the link can try it."


def wire(v: SpaceView, page: Page) -> None:
    """The .zip of the Space folder, and publishing it (the token box is emptied after every try)."""
    @friendly
    def space_zip(st=None, request: gr.Request = None):
        sess = page.session(st, request)
        if sess.model is None:
            raise FewshotError("There is no model to export yet: train one in the Train step first.")
        out = sess.fresh_dir("space") / f"fewshot-{space_slug(sess.model)}-space.zip"
        with exporting(sess):
            zip_space(sess.model, out)
        page.served(sess, out)
        return {v.folder: str(out)}  # a plain path: the API's /export_space gives the file

    @friendly
    def publish(space: str, token: str, private: bool, st=None, request: gr.Request = None):
        sess = page.session(st, request)
        if sess.model is None:
            raise FewshotError("There is no model to export yet: train one in the Train step first.")
        # the model is held while its folder is made, not during the upload: step 4 keeps answering
        url = publish_space(sess.model, space, token, private=bool(private), building=exporting(sess))
        return {v.status: published_text(url)}

    # Gradio's DownloadButton saves the file it holds at the moment of the click, before its event runs: it holds
    # none, the click makes the .zip, the browser saves it, and the button lets it go (a later click makes a
    # fresh one, of the model shown then)
    v.folder.click(space_zip, [page.state], [v.folder], api_name="export_space").success(
        None, [v.folder], None, js=DOWNLOAD_JS, **PRIVATE).then(
        lambda: gr.DownloadButton(value=None), None, v.folder, queue=False, **PRIVATE, show_progress="hidden")
    v.publish.click(publish, [v.space, v.token, v.private, page.state], [v.status], **PRIVATE)
    # the token box is emptied by a second listener of the same click, not a .then(): Gradio 6 runs no .then()
    # after an event that raised, and a failed publish must not leave the token on the page either. The
    # publish call has its inputs (the token) already: a click's events all read them when it happens.
    v.publish.click(lambda: "", None, v.token, queue=False, **PRIVATE, show_progress="hidden")


__all__ = ["SpaceView", "build", "exporting", "published_text", "wire"]
