"""Step 3, check: accuracy on the validation photos, per class, the confusion matrix and the photos it got wrong."""
from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from .. import views as V
from ..check_set import CHECK
from .tab import results as R
from .page import Links, Page, friendly, md_hint, step_header
from .tab.state import Session
from .texts import NOT_TRAINED


@dataclass(eq=False)
class CheckView:
    """Step 3's components (`build` makes them; `render` and `wire` take them)."""
    page: Page
    accuracy: gr.Markdown = field(init=False)
    box: gr.Column = field(init=False)
    per_class: gr.Dataframe = field(init=False)
    confusion: gr.Plot = field(init=False)
    mistakes: gr.Gallery = field(init=False)
    eval_zip: gr.File = field(init=False)
    eval_result: gr.Markdown = field(init=False)
    shown: list = field(init=False)  # what a new session or language rewrites


def build(page: Page) -> CheckView:
    """The check's components (hidden until there is a model)."""
    v = CheckView(page=page)
    step_header(3, "Check", "How the model does on the validation photos, which it never learned from.")
    v.accuracy = gr.Markdown(NOT_TRAINED, elem_id="accuracy")
    with gr.Column(visible=False) as v.box:
        with gr.Row():
            with gr.Column(min_width=300):
                v.per_class = gr.Dataframe(interactive=False, label="Per class", elem_id="per-class")
                md_hint("**precision**: of the photos it called X, the share really X · **recall**: of the real X "
                        "photos, the share it found · **f1**: both in one number · **support**: photos checked")
            v.confusion = gr.Plot(show_label=False, elem_id="confusion", min_width=300)
        v.mistakes = gr.Gallery(label="Validation photos it got wrong (worst first)", columns=6, height="auto",
                                elem_id="mistakes", object_fit="cover", visible=False)
    with gr.Accordion("Check on other photos", open=False, elem_id="eval-box"):
        md_hint("A .zip with one folder per class, like the photos in step 1. Photos the model trained on are "
                "counted apart: only the ones it never saw show how it does on new photos.")
        v.eval_zip = gr.File(file_types=[".zip"], label="Labelled photos (.zip)", height=120, elem_id="eval-zip")
        v.eval_result = gr.Markdown("", elem_id="eval-result")
    v.shown = [v.accuracy, v.box, v.per_class, v.confusion, v.mistakes]
    return v


def render(v: CheckView, sess: Session | None, whole: bool = False) -> dict:
    """The check of the session's model: measured here after training, or as stored in a loaded model; `whole`:
    all of it, as when a project opens (one without a model: as on a fresh page)."""
    tm = sess.model if sess is not None else None
    if tm is None:
        return {v.eval_result: "", **({v.accuracy: NOT_TRAINED, v.box: gr.Column(visible=False),
                                       v.mistakes: gr.Gallery(value=[], visible=False)} if whole else {})}
    other = sess.check.evaluated  # a check on other photos is shown only with the model it checked
    other_md = evaluation_md(other[1]) if other is not None and other[0] is tm else ""  # a new model: cleared
    ev = sess.evaluation
    per_class = R.per_class_frame(ev, tm)
    shown = per_class.assign(**{c: (per_class[c] * 100).round(0).astype(int).astype(str) + "%"
                                for c in ("precision", "recall", "f1")})
    acc = ev.accuracy if ev is not None else tm.metrics.get("val_accuracy")
    n_val = int(per_class["support"].sum()) if len(per_class) else 0
    cm = R.confusion_frame(sess)
    note = "" if ev is not None else ("(Measured when this model was trained; mistakes are shown only after "
                                      "training here.)")
    mistakes = [(R.servable(sess, p), caption) for p, caption in R.misclassified_items(ev)]
    v.page.served(sess, *(p for p, _ in mistakes))
    # in a project where the model helped label, the photos are its check set: the words say so, and how many
    # more photos to label for a narrower interval (fewshot/check_set.py)
    check = tm.metrics.get("validation") == CHECK
    return {v.accuracy: V.accuracy_md(acc, n_val, len(tm.classes), note, check=check), v.box: gr.Column(visible=True),
            v.eval_result: other_md,
            v.per_class: shown, v.confusion: V.confusion_figure(cm) if cm is not None else None,
            v.mistakes: gr.Gallery(value=mistakes, visible=bool(mistakes),
                                   label=f"Validation photos it got wrong: {len(ev.misclassified) if ev else 0} "
                                         f"(really → taken for, and how sure it was; worst first)")}


def evaluation_md(ev) -> str:
    """A check on other photos (predict.Evaluation) in plain words: accuracy, how sure, and which of the
    photos the model had already seen."""
    rep = ev.report
    right = round(rep.accuracy * ev.images)
    chance = 1 / max(len(rep.per_class), 1)
    lines = [f"### {rep.accuracy:.0%} right on these photos",
             f"{right} of {ev.images} photos were named correctly.  ", V.sureness_md(right, ev.images, chance, validation=False) + "  ",
             ev.summary()]
    if ev.skipped:
        lines.append(f"{len(ev.skipped)} file{'s were' if len(ev.skipped) != 1 else ' was'} left out because "
                     f"they could not be used as photos.")
    return "\n".join(lines)


def wire(v: CheckView, page: Page, links: Links) -> None:
    """Check the session's model on a .zip of other labelled photos."""
    @friendly
    def evaluate(path: str | None, st=None, request: gr.Request = None):
        from ..errors import FewshotError
        from ..predict import evaluate_photos

        sess = page.session(st, request)
        if not path:
            return {v.eval_result: "", page.state: sess}
        path = page.uploaded(sess, path)
        if sess.model is None:
            raise FewshotError("There is no model yet: train one in step 2, or load a saved model in step 5.")
        with sess.model_lock:  # the session's predictor: on ZeroGPU each of its calls runs in the GPU worker
            ev = evaluate_photos(sess.model, path, limits=sess.limits, predictor=sess.predictor)
        sess.check.evaluated = (sess.model, ev)
        return {v.eval_result: evaluation_md(ev), page.state: sess}

    v.eval_zip.upload(evaluate, [v.eval_zip, page.state], [v.eval_result, page.state], api_name="evaluate",
                      concurrency_limit=2)


__all__ = ["CheckView", "build", "evaluation_md", "render", "wire"]
