"""Step 3, check: accuracy on the validation photos, per class, the confusion matrix and the photos it got wrong."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from .. import views as V
from . import results as R
from .page import Page, md_hint, step_header
from .state import Session
from .texts import NOT_TRAINED


def build(page: Page) -> SimpleNamespace:
    """The check's components (hidden until there is a model)."""
    v = SimpleNamespace(page=page)
    step_header(3, "Check", "How the model does on the validation photos, which it never learned from.")
    v.accuracy = gr.Markdown(NOT_TRAINED, elem_id="accuracy")
    with gr.Column(visible=False) as v.box:
        with gr.Row():
            with gr.Column(min_width=300):
                v.per_class = gr.Dataframe(interactive=False, label="Per class", elem_id="per-class")
                md_hint("**precision**: of the photos it called X, the share really X · **recall**: of the real X "
                        "photos, the share it found · **f1**: both in one number · **support**: photos checked")
            v.confusion = gr.Plot(show_label=False, elem_id="confusion", min_width=300)
        v.mistakes = gr.Gallery(label="Validation photos it got wrong (worst first)", columns=6, height=280,
                                elem_id="mistakes", object_fit="cover", visible=False)
    v.shown = [v.accuracy, v.box, v.per_class, v.confusion, v.mistakes]
    return v


def render(v: SimpleNamespace, sess: Session | None) -> dict:
    """The check of the session's model: measured here after training, or as stored in a loaded model."""
    tm = sess.model if sess is not None else None
    if tm is None:
        return {}
    ev = sess.evaluation
    per_class = R.per_class_frame(ev, tm)
    shown = per_class.assign(**{c: (per_class[c] * 100).round(0).astype(int).astype(str) + "%"
                                for c in ("precision", "recall", "f1")})
    acc = ev.accuracy if ev is not None else tm.metrics.get("val_accuracy")
    n_val = int(per_class["support"].sum()) if len(per_class) else 0
    cm = R.confusion_frame(sess)
    note = "" if ev is not None else ("(Measured when this model was trained; mistakes are shown only after "
                                      "training here.)")
    mistakes = R.misclassified_items(ev)
    v.page.served(sess, *(p for p, _ in mistakes))
    return {v.accuracy: V.accuracy_md(acc, n_val, len(tm.classes), note), v.box: gr.Column(visible=True),
            v.per_class: shown, v.confusion: V.confusion_figure(cm) if cm is not None else None,
            v.mistakes: gr.Gallery(value=mistakes, visible=bool(mistakes),
                                   label=f"Validation photos it got wrong: {len(ev.misclassified) if ev else 0} "
                                         f"(really → taken for, and how sure it was; worst first)")}
