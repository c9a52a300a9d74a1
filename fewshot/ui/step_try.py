"""Step 4, try it: one picture (upload, paste, webcam) for the top labels, or many at once for a table and a CSV."""
from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr
import pandas as pd

from .. import i18n as L
from .tab import results as R
from .camera import PRESS_CAMERA, camera_first_js
from .page import Links, PRIVATE, Page, friendly, localized, md_hint, step_header
from .terms import term
from .tab.state import Session
from .texts import NO_MODEL


@dataclass(eq=False)
class TryView:
    """Step 4's components (`build` makes them; `render` and `wire` take them)."""
    page: Page
    status: gr.Markdown = field(init=False)
    image: gr.Image = field(init=False)
    tta: gr.Checkbox = field(init=False)
    label: gr.Label = field(init=False)
    many: gr.File = field(init=False)
    many_table: gr.Dataframe = field(init=False)
    many_csv: gr.File = field(init=False)


def build(page: Page) -> TryView:
    """The picture, the answer, and the many-pictures table."""
    v = TryView(page=page)
    step_header(4, "Try it", "Give it a new picture: upload, paste (Ctrl+V) or use the webcam.")
    v.status = gr.Markdown(NO_MODEL, elem_id="try-status")
    with gr.Row():
        with gr.Column(min_width=280):
            v.image = gr.Image(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None,
                               label="A picture",
                               height=300, elem_id="try-image")
            # on a phone the camera comes first (camera_first_js); Gradio's own words in the box ("Drop Image
            # Here", "Click to Upload") come from its own translations, in the language of the moment the box is
            # drawn: a switch of language draws it again (wire)
            gr.HTML("", elem_id="try-camera-first", js_on_load=camera_first_js("try-image"), padding=False, container=False)
            v.tta = gr.Checkbox(False, label="Look several times",
                                info="Averages six views of the picture (mirror, corners): slower, often steadier. "
                                     "Experts call it test-time augmentation.")
            md_hint(term("Several looks, one answer", "tta"))
        v.label = gr.Label(num_top_classes=5, label="What the model sees", elem_id="try-label", min_width=280)
    with gr.Accordion("Many pictures at once", open=False):
        v.many = gr.File(file_count="multiple", file_types=["image"], label="Pictures", height=120,
                         elem_id="many-files")
        v.many_table = gr.Dataframe(interactive=False, wrap=True, elem_id="many-table", visible=False)
        v.many_csv = gr.File(label="The table as a CSV file", interactive=False, visible=False, elem_id="many-csv")
    return v


def ready_text(classes) -> str:
    """The line above the picture once a model is ready."""
    return f"✅ Model ready. It knows: **{', '.join(classes)}**. Give it a picture."



def shown_table(df: pd.DataFrame) -> pd.DataFrame:
    """The many-pictures table as the page shows it: the confidence as a percentage, like a single picture's
    (the CSV keeps the number, 0.7541)."""
    out = df.copy()
    out["confidence"] = ["" if pd.isna(c) else f"{c:.0%}" for c in df["confidence"]]
    return out


def render(v: TryView, sess: Session | None, whole: bool = False) -> dict:
    """Whether a model is ready, and which classes it knows; `whole`: also that none is (a project opened)."""
    if sess is None or sess.model is None:
        return {v.status: NO_MODEL} if whole else {}
    return {v.status: ready_text(sess.model.classes)}


def wire(v: TryView, page: Page, links: Links) -> None:
    """Predict on a new picture (or its TTA switch), and on many pictures at once."""
    @friendly
    def predict(image: str, tta: bool = False, st=None, request: gr.Request = None):
        if not image:
            return None
        sess = page.session(st, request)
        return R.predict_image(sess, page.uploaded(sess, image), top_k=5, tta=tta)

    @friendly
    def predict_many(files: list[str], tta: bool, st, request: gr.Request):
        sess = page.session(st, request)
        df, csv = R.predict_many(sess, [page.uploaded(sess, f) for f in files or []], tta)
        page.served(sess, csv)
        sess.try_.table = shown = shown_table(df)  # written again when the page's language changes
        return {v.many_table: shown, v.many_csv: str(csv)}

    def retell_table(lang: str, st):  # the table's headers and problems in the page's new language
        shown = st.try_.table if isinstance(st, Session) else None
        return localized(shown, L.normalize_lang(lang)) if shown is not None else gr.skip()

    v.image.change(predict, [v.image, v.tta, page.state], v.label, api_name="predict", concurrency_limit=4)
    v.tta.change(predict, [v.image, v.tta, page.state], v.label, **PRIVATE, concurrency_limit=4)
    v.many.upload(predict_many, [v.many, v.tta, page.state], [v.many_table, v.many_csv], api_name="predict_many",
                  concurrency_limit=4).success(  # results stay hidden until there are some
        lambda: {v.many_table: gr.Dataframe(visible=True), v.many_csv: gr.File(visible=True)}, None,
        [v.many_table, v.many_csv], queue=False, **PRIVATE)
    page.lang.change(retell_table, [page.lang, page.state], v.many_table, **PRIVATE, show_progress="hidden")
    # Gradio writes the picture box's own words in the language of the moment it is drawn: draw it again (its
    # picture stays), and on a phone open the camera again
    page.lang.change(lambda: gr.Image(visible=False), None, v.image, queue=False, **PRIVATE,
                     show_progress="hidden").then(lambda: gr.Image(visible=True), None, v.image, queue=False,
                                                  **PRIVATE, show_progress="hidden").then(
        None, None, None, js=f"() => ({PRESS_CAMERA})('try-image')", **PRIVATE)


__all__ = ["TryView", "build", "ready_text", "render", "shown_table", "wire"]
