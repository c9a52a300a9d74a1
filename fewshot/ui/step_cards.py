"""Step 1's class cards, Teachable-Machine style: name a class, drop photos on it or take webcam shots."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import gradio as gr

from ..errors import FewshotError
from .tab import photos as P
from .page import Links, PRIVATE, Page, friendly, md_hint, warn
from .tab.state import MAX_CARDS, Session
from .texts import REOPEN_CAMERA_JS


@dataclass(eq=False)
class CardsView:
    """Step 1's class-cards tab: its components (`build` makes them; `render` and `wire` take them)."""
    page: Page
    cols: list[gr.Column] = field(default_factory=list)
    names: list[gr.Textbox] = field(default_factory=list)
    gals: list[gr.Gallery] = field(default_factory=list)
    files: list[gr.File] = field(default_factory=list)
    dels: list[gr.Button] = field(default_factory=list)
    add: gr.Button = field(init=False)
    use: gr.Button = field(init=False)
    cam: gr.Image = field(init=False)
    cam_target: gr.Dropdown = field(init=False)


def build(page: Page) -> CardsView:
    """The cards (MAX_CARDS slots, two shown), add/use buttons and the webcam."""
    v = CardsView(page=page)
    md_hint("Class by class, like Teachable Machine: one card per class. Name it, then drop photos on it "
            "or take webcam shots.")
    with gr.Row(elem_classes="fs-cards"):
        for i in range(MAX_CARDS):
            with gr.Column(visible=i < 2, min_width=240, elem_classes="fs-card") as col:
                v.cols.append(col)
                v.names.append(gr.Textbox(f"Class {i + 1}", label="Class name", max_lines=1, elem_id=f"card-name-{i}"))
                v.gals.append(gr.Gallery(label="0 photos", columns=4, height=150, allow_preview=False,
                                         interactive=False, elem_id=f"card-gallery-{i}"))
                v.files.append(gr.File(label="Drop photos here", file_count="multiple", file_types=["image"],
                                       height=130, elem_id=f"card-files-{i}"))
                v.dels.append(gr.Button("Delete this class", size="sm", variant="secondary",
                                        elem_id=f"card-delete-{i}"))
    with gr.Row():
        v.add = gr.Button("+ Add a class", elem_id="card-add")
        v.use = gr.Button("Use these classes", variant="primary", elem_id="card-use")
    with gr.Accordion("📷 Take photos with the webcam", open=False):
        with gr.Row():
            v.cam = gr.Image(sources=["webcam"], type="filepath", label="Each shot goes into the class "
                             "chosen on the right", height=260, elem_id="card-cam")
            v.cam_target = gr.Dropdown([("Class 1", 1), ("Class 2", 2)], value=1,
                                       label="Add the shots to", interactive=True, elem_id="card-cam-target")
    return v


def render(v: CardsView, sess: Session, names: bool = True) -> dict:
    """Every card slot from the session's cards. Names are only rewritten when cards moved
    (added or deleted): rewriting them after an upload could undo what the user is typing."""
    page = v.page
    out: dict = {page.state: sess}
    for i in range(MAX_CARDS):
        card = sess.cards[i] if i < len(sess.cards) else None
        if card is not None:
            page.served(sess, *card.files)
        out[v.cols[i]] = gr.Column(visible=card is not None)
        if names:
            out[v.names[i]] = gr.Textbox(value=card.name if card else "")
        out[v.gals[i]] = gr.Gallery(value=list(card.files) if card else [],
                                    label=f"{len(card.files) if card else 0} photos")
    choices = [(c.name or f"card {i + 1}", c.id) for i, c in enumerate(sess.cards)]
    # cards moved: the shots go to the first card unless the user picks another; else keep the user's pick
    out[v.cam_target] = (gr.Dropdown(choices=choices, value=choices[0][1] if choices else None) if names
                         else gr.Dropdown(choices=choices))
    return out


def _card_id(sess: Session, i: int) -> int:
    if i >= len(sess.cards):
        raise FewshotError("That class card no longer exists.")
    return sess.cards[i].id


def wire(v: CardsView, page: Page, links: Links) -> None:
    """Card events; "Use these classes" loads the cards as the photos and shows step 1's report (`show_report`)."""
    show_report, report_outputs = links.show_report, links.report_outputs
    outs = [x for i in range(MAX_CARDS) for x in (v.cols[i], v.names[i], v.gals[i])] + [v.cam_target, page.state]
    for i in range(MAX_CARDS):
        _wire_card(v, page, i, outs)

    @friendly
    def on_add(st, request: gr.Request):
        sess = page.session(st, request)
        P.card_add(sess)
        return render(v, sess)

    @friendly
    def on_shot(shot, target, st, request: gr.Request):
        sess = page.session(st, request)
        if not shot:  # the image was cleared for the next shot (a dict must name at least one output)
            return {page.state: sess}
        if target is None and sess.cards:
            target = sess.cards[0].id
        P.card_add_images(sess, int(target), [shot], page.upload_root)
        return {v.cam: None, **render(v, sess, names=False)}

    @friendly
    def on_use(st, request: gr.Request):
        sess = page.session(st, request)
        P.load_cards(sess)
        return {**show_report(sess), page.state: sess}

    v.add.click(on_add, [page.state], outs, **PRIVATE)
    # After a shot the image is cleared for the next one; reopen the camera so each shot is one click.
    v.cam.change(on_shot, [v.cam, v.cam_target, page.state], [v.cam] + outs, **PRIVATE).then(
        None, None, None, js=REOPEN_CAMERA_JS)
    page.follow(v.use.click(on_use, [page.state], report_outputs + [page.state], api_name="load_cards",
                            show_progress_on=[report_outputs[0]]))


def _wire_card(v: CardsView, page: Page, i: int, outs: list) -> None:
    """Card i's photo drop, rename and delete."""
    @friendly
    def on_files(files, st, request: gr.Request):
        sess = page.session(st, request)
        for p in P.card_add_images(sess, _card_id(sess, i), files or [], page.upload_root):
            warn(f"Not added: {p}")
        return {v.files[i]: None, **render(v, sess, names=False)}

    @friendly
    def on_rename(name, st, request: gr.Request):
        sess = page.session(st, request)
        P.card_rename(sess, _card_id(sess, i), name)
        return render(v, sess, names=False)

    @friendly
    def on_delete(st, request: gr.Request):
        sess = page.session(st, request)
        P.card_delete(sess, _card_id(sess, i))
        return render(v, sess)

    v.files[i].upload(on_files, [v.files[i], page.state], [v.files[i]] + outs, **PRIVATE)
    v.names[i].blur(on_rename, [v.names[i], page.state], outs, **PRIVATE)
    v.names[i].submit(on_rename, [v.names[i], page.state], outs, **PRIVATE)
    v.dels[i].click(on_delete, [page.state], outs, **PRIVATE)


__all__ = ["CardsView", "build", "render", "wire"]
