"""Step 3, check: accuracy on the validation photos, per class, the confusion matrix and the photos it got wrong."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Callable

import gradio as gr

from .. import views as V
from ..check_set import CHECK
from ..evaluate import per_class_table
from .tab import results as R
from .page import Links, Page, friendly, md_hint, step_header
from .terms import term
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
    step_header(3, "Check", term("How the model does on photos kept aside, which it never learned from.",
                                 "validation"))
    v.accuracy = gr.Markdown(NOT_TRAINED, elem_id="accuracy")
    with gr.Column(visible=False) as v.box:
        with gr.Row():
            with gr.Column(scale=5, min_width=300):  # the wider: each share has its interval beside it
                v.per_class = gr.Dataframe(interactive=False, wrap=True, column_widths=["24%", "29%", "29%", "18%"],
                                           label="Per class", elem_id="per-class")
                md_hint("**precision**: of the photos it called X, the share really X · **recall**: of the real X "
                        "photos, the share it found · in brackets: where the true share likely lies (95% interval) · "
                        "**support**: photos checked")
            v.confusion = gr.Plot(show_label=False, elem_id="confusion", min_width=300, scale=4)
        v.mistakes = gr.Gallery(label="Validation photos it got wrong (worst first)", columns=6, height="auto",
                                elem_id="mistakes", object_fit="cover", visible=False)
    with gr.Accordion("Check on other photos", open=False, elem_id="eval-box"):
        md_hint("A .zip with one folder per class, like the photos in the Photos step. Photos the model trained on are "
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
    acc = ev.accuracy if ev is not None else tm.metrics.get("val_accuracy")
    n_val = int(per_class["support"].sum()) if len(per_class) else 0
    cm = R.confusion_frame(sess)
    shown = per_class_table(per_class, cm)
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


class Counting:
    """The session's predictor, asked in parts, saying after each how many photos are checked (`said(done,
    total)`): the page shows "n of N photos checked" while a check on other photos runs."""

    PARTS = 20  # about this many steps on the bar; each part at least MIN_PART photos (a GPU call has its cost)
    MIN_PART = 16

    def __init__(self, predictor, said: Callable[[int, int], None]) -> None:
        self.predictor, self.said = predictor, said

    def predict_files(self, paths, top_k: int = 3, tta: bool = False) -> list:
        paths = list(paths)
        step = max(self.MIN_PART, -(-len(paths) // self.PARTS))
        out: list = []
        self.said(0, len(paths))
        for i in range(0, len(paths), step):
            out += self.predictor.predict_files(paths[i:i + step], top_k=top_k, tta=tta)
            self.said(len(out), len(paths))
        return out


def checking_text(done: int | None, total: int | None) -> str:
    """The line under the drop while other photos are checked."""
    if not total:
        return "⏳ Opening the photos…"
    return f"⏳ {done} of 1 photo checked." if total == 1 else f"⏳ {done} of {total} photos checked."


def wire(v: CheckView, page: Page, links: Links) -> None:
    """Check the session's model on a .zip of other labelled photos, saying how far it is while it runs."""
    @friendly
    def evaluate(path: str | None, st=None, request: gr.Request = None):
        from ..errors import FewshotError
        from ..predict import evaluate_photos

        sess = page.session(st, request)
        if not path:
            yield {v.eval_result: "", page.state: sess}
            return
        path = page.uploaded(sess, path)
        if sess.model is None:
            raise FewshotError("There is no model yet: train one in the Train step, or open a saved model in the Share step.")
        model, progress, done = sess.model, [None, None], []

        def check():
            with sess.model_lock:  # the session's predictor: on ZeroGPU each of its calls runs in the GPU worker
                counting = Counting(sess.predictor, lambda d, t: progress.__setitem__(slice(None), [d, t]))
                return evaluate_photos(model, path, limits=sess.limits, predictor=counting)

        with ThreadPoolExecutor(1, thread_name_prefix="fewshot-check") as pool:
            job = pool.submit(check)
            shown = None
            while True:
                try:
                    ev = job.result(timeout=TICK_S)
                    break
                except FutureTimeout:
                    now = checking_text(*progress)
                    if now != shown:
                        shown = now
                        yield {v.eval_result: now, page.state: sess}
        sess.check.evaluated = (model, ev)
        yield {v.eval_result: evaluation_md(ev), page.state: sess}

    v.eval_zip.upload(evaluate, [v.eval_zip, page.state], [v.eval_result, page.state], api_name="evaluate",
                      concurrency_limit=2, show_progress="minimal", show_progress_on=[v.eval_zip])


TICK_S = 0.5  # how often the line under the drop may change while photos are checked


__all__ = ["CheckView", "Counting", "build", "checking_text", "evaluation_md", "render", "wire"]
