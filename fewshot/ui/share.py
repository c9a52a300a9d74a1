"""Step 5's "Share" block: make a demo link for the model shown (the open project's active run), see the links
made, turn a link's feedback on or off, stop it and delete what its visitors sent (asked first), revoke it. The
page behind a link is fewshot/ui/demo.py; the links are fewshot/demo_links.py, kept in the projects database.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass, field
import time
from typing import Callable

import gradio as gr

from .. import i18n as L
from ..demo_links import DemoLink, DemoLinks
from ..errors import FewshotError
from .tab import projects as P
from .server.guard import DEMO_PREFIX
from .page import LANG, PRIVATE, Page, friendly, inform, localized, md_hint
from .tab.state import Session

NO_LINKS = "No demo links yet."
HIDDEN = dict(visible=False)


@dataclass(eq=False)
class ShareView:
    """The demo-link block's components (part of step 5) (`build` makes them; `render` and `wire` take them)."""
    page: Page
    box: gr.Accordion = field(init=False)
    feedback: gr.Checkbox = field(init=False)
    make: gr.Button = field(init=False)
    links: gr.Markdown = field(init=False)
    refresh: gr.Button = field(init=False)
    pick: gr.Dropdown = field(init=False)
    pick_feedback: gr.Checkbox = field(init=False)
    stop: gr.Button = field(init=False)
    stop_yes: gr.Button = field(init=False)
    revoke: gr.Button = field(init=False)
    timer: gr.Timer = field(init=False)


POLL_S = 5.0  # while the box is open and has links: how often the list is read again (photos sent back)


def build(page: Page) -> ShareView:
    """The Share accordion: make a link, the list of links, switch feedback for one, stop it and delete what its
    visitors sent, revoke it."""
    v = ShareView(page=page)
    with gr.Accordion("Share a demo link", open=False, elem_id="share-box") as v.box:
        md_hint("A page where anyone with the link can try this model on a phone or a computer: upload a photo or "
                "take one, and see what the model answers. Visitors cannot train, see your photos or your projects. "
                "A revoked link stops working at once.")
        with gr.Row():
            v.feedback = gr.Checkbox(True, label="Visitors may send back a photo the model got wrong, with the right "
                                                 "class (it lands unlabelled in this project)",
                                     elem_id="share-feedback", scale=3)
            v.make = gr.Button("Share", variant="primary", elem_id="share-make", scale=1)
        v.links = gr.Markdown(NO_LINKS, elem_id="share-links")
        # the list is read when the box opens, then every POLL_S seconds while it is open and has links (a photo a
        # visitor sends shows within seconds: a read of the projects database, no more)
        v.timer = gr.Timer(POLL_S, active=False)
        v.refresh = gr.Button("Refresh the list", size="sm", elem_id="share-refresh")
        with gr.Row():
            # any value passes Gradio: an API client's session may never have been shown the list, and the engine
            # takes only a link of the open project (DemoLinks.revoke, stop_feedback, set_feedback)
            v.pick = gr.Dropdown([], label="A link", elem_id="share-pick", scale=2, allow_custom_value=True)
            v.pick_feedback = gr.Checkbox(False, label="Takes feedback", elem_id="share-pick-feedback", scale=1)
            # a flood of photos through one link is undone in one action, asked first (as deleting a project)
            v.stop = gr.Button("Stop feedback and delete what visitors sent", variant="stop", elem_id="share-stop",
                               scale=1)
            v.stop_yes = gr.Button("Yes, stop it and delete the photos its visitors sent that you have not labelled",
                                   variant="stop", elem_id="share-stop-yes", scale=1, **HIDDEN)
            v.revoke = gr.Button("Revoke this link", variant="stop", elem_id="share-revoke", scale=1)
    return v


def roots(request: gr.Request | None) -> list[str]:
    """The addresses this page is reached at: the one the owner uses, and the public share link (--share)."""
    out = []
    try:
        from gradio.context import LocalContext
        blocks = LocalContext.blocks.get(None)
        share = getattr(blocks, "share_url", None)
    except (ImportError, LookupError):
        share = None
    headers = dict(getattr(request, "headers", None) or {}) if request is not None else {}
    host = headers.get("x-forwarded-host") or headers.get("host")
    if host:
        scheme = "https" if headers.get("x-forwarded-proto") == "https" else "http"
        out.append(f"{scheme}://{host.split(',')[0].strip()}")
    if share and share.rstrip("/") not in out:
        out.append(share.rstrip("/"))
    return out or [""]


def link_table(links: list[DemoLink], bases: list[str], lang: str | None = None) -> str:
    """The owner's links as a markdown table, newest first (its words in `lang`, else the running callback's)."""
    if not links:
        return NO_LINKS
    lang = lang or LANG.get()
    word = {w: L.translate(w, lang, label=True) for w in ("on", "off", "revoked")}  # cells the translator
    rows = ["| link | run | feedback | photos sent back | made |", "|---|---|---|---|---|"]  # cannot tell apart
    for k in reversed(links):
        where = " · ".join(f"[{b}{DEMO_PREFIX}/{k.id}]({b}{DEMO_PREFIX}/{k.id})" for b in bases)
        if k.revoked is not None:
            where = f"~~{DEMO_PREFIX}/{k.id[:6]}…~~ {word['revoked']}"
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(k.created))
        rows.append(f"| {where} | {k.run_number} | {word['on' if k.feedback else 'off']} | {k.feedback_count} | {made} |")
    return "\n".join(rows)


def _choices(links: list[DemoLink]) -> list[tuple[str, str]]:
    return [(f"{DEMO_PREFIX}/{k.id[:10]}… (run {k.run_number})", k.id) for k in reversed(links) if k.revoked is None]


def _links() -> DemoLinks:
    return DemoLinks(P.store())


def shown(v: ShareView, sess: Session | None, request: gr.Request | None, pick: str | None = None) -> dict:
    """The list and the link picker for the session's open project."""
    asked = {v.stop: gr.Button(visible=True), v.stop_yes: gr.Button(visible=False)}  # any question asked is off
    if sess is None or sess.project is None:
        return {v.links: NO_LINKS, v.pick: gr.Dropdown(choices=[], value=None), v.timer: gr.Timer(active=False),
                **asked}
    links = _links().of(sess.project)
    choices = _choices(links)
    keep = pick if pick in {c[1] for c in choices} else (choices[0][1] if choices else None)
    fb = next((k.feedback for k in links if k.id == keep), False)
    return {v.links: link_table(links, roots(request)), v.pick: gr.Dropdown(choices=choices, value=keep),
            v.pick_feedback: fb, v.timer: gr.Timer(active=bool(choices)), **asked}


def table(v: ShareView, sess: Session | None, request: gr.Request | None, lang: str | None = None) -> dict:
    """Only the list, as it is now (the box's timer and a switch of language write it: the picker stays as the
    person left it); the timer goes off once no link is live."""
    links = _links().of(sess.project) if sess is not None and sess.project is not None else []
    return {v.links: link_table(links, roots(request), lang),
            v.timer: gr.Timer(active=any(k.revoked is None for k in links))}


def stopped_words(deleted: int, kept: int) -> str:
    """What stopping a link's feedback did, for its owner."""
    return _plural(deleted, f"This link takes no more photos. Deleted 1 photo its visitors sent; kept {kept} that "
                            f"you had labelled.",
                   f"This link takes no more photos. Deleted {deleted} photos its visitors sent; kept {kept} that you "
                   f"had labelled.")


def _plural(n: int, one: str, many: str) -> str:
    """`one` for a count of 1, else `many` (English has two forms; the Chinese of both is the same)."""
    return one if n == 1 else many


@dataclass(eq=False)
class _Handlers:
    """The Share block's callbacks, which `wire` connects."""
    refresh: Callable
    make: Callable
    revoke: Callable
    switch: Callable
    ask_stop: Callable
    stop_sent: Callable
    chosen: Callable
    tick: Callable
    retell: Callable


def _list_handlers(v: ShareView) -> tuple[Callable, Callable]:
    """(tick, retell): the list read again while links are live, and written again when the language switches."""
    def tick(st, request: gr.Request = None):
        sess = st if isinstance(st, Session) and not st.closed else None
        lang = (sess.lang if sess is not None else None) or L.EN
        return localized(table(v, sess, request, lang), lang)

    def retell(lang: str, st, request: gr.Request = None):
        # the language switched: Gradio draws the box's first words again ("No demo links yet.", in the new
        # language) over the list; the list comes back, in that language
        lang = L.normalize_lang(lang)
        sess = st if isinstance(st, Session) and not st.closed else None
        return localized({v.links: table(v, sess, request, lang)[v.links]}, lang)  # the box's timer as it was
    return tick, retell


def _handlers(v: ShareView, page: Page) -> _Handlers:
    """The Share block's callbacks (wire connects them)."""
    @friendly
    def refresh(st, request: gr.Request):
        sess = st if isinstance(st, Session) and not st.closed else None
        return shown(v, sess, request)

    @friendly
    def make(feedback: bool = True, st=None, request: gr.Request = None):
        sess = page.session(st, request)
        run = sess.project.active_run() if sess.project is not None else None
        if run is None:  # a model dropped in as a file has no project run behind it
            raise FewshotError("Share needs a model trained in a project: train one in the Train step first.")
        link = _links().create(sess.project, run.id, feedback=bool(feedback))
        return {page.state: sess, **shown(v, sess, request, link.id)}

    @friendly
    def revoke(pick: str | None, st=None, request: gr.Request = None):
        sess = page.session(st, request)
        if not pick or sess.project is None:
            raise FewshotError("Choose a link first.")
        _links().revoke(sess.project, pick)
        return shown(v, sess, request)

    @friendly
    def switch(pick: str | None, on: bool, st, request: gr.Request):
        sess = page.session(st, request)
        if not pick or sess.project is None:
            return shown(v, sess, request)
        _links().set_feedback(sess.project, pick, bool(on))
        return shown(v, sess, request, pick)

    def ask_stop(pick: str | None, st):
        ok = isinstance(st, Session) and st.project is not None and bool(pick)
        return {v.stop: gr.Button(visible=not ok), v.stop_yes: gr.Button(visible=ok)}

    @friendly
    def stop_sent(pick: str | None, st=None, request: gr.Request = None):
        sess = page.session(st, request)
        if not pick or sess.project is None:
            raise FewshotError("Choose a link first.")
        deleted, kept = _links().stop_feedback(sess.project, pick, delete_sent=True)
        inform(stopped_words(deleted, kept))
        return shown(v, sess, request, pick)

    def chosen(pick: str | None, st):
        sess = st if isinstance(st, Session) else None
        links = _links().of(sess.project) if sess is not None and sess.project is not None else []
        return {v.pick_feedback: next((k.feedback for k in links if k.id == pick), False),
                v.stop: gr.Button(visible=True), v.stop_yes: gr.Button(visible=False)}  # asked about another link

    tick, retell = _list_handlers(v)
    return _Handlers(refresh=refresh, make=make, revoke=revoke, switch=switch, ask_stop=ask_stop,
                     stop_sent=stop_sent, chosen=chosen, tick=tick, retell=retell)


def _without(fn: Callable, component) -> Callable:
    """`fn`, its answer without `component` (an event that does not write it)."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        out.pop(component, None)
        return out
    return call


def wire(v: ShareView, page: Page) -> None:
    """Make, list, switch feedback, stop feedback and delete what visitors sent (asked first), revoke."""
    outs = [v.links, v.pick, v.pick_feedback, v.stop, v.stop_yes, v.timer]
    h = _handlers(v, page)
    # one queue, one at a time (each takes milliseconds): a list read when the box opened cannot arrive after,
    # and overwrite, the list of a Share clicked right away
    one = dict(concurrency_id="fewshot-share", concurrency_limit=1)
    v.box.expand(h.refresh, [page.state], outs, **PRIVATE, **one, show_progress="hidden")
    v.refresh.click(h.refresh, [page.state], outs, **PRIVATE, **one, show_progress="hidden")
    v.box.collapse(lambda: gr.Timer(active=False), None, v.timer, queue=False, **PRIVATE, show_progress="hidden")
    v.timer.tick(h.tick, [page.state], [v.links, v.timer], **PRIVATE, **one, show_progress="hidden")
    page.lang.change(h.retell, [page.lang, page.state], [v.links], **PRIVATE, **one, show_progress="hidden")
    # the API's answers stay as they were (the list, the picker, its feedback): the box's timer follows privately
    api_outs = [o for o in outs if o is not v.timer]
    v.make.click(_without(h.make, v.timer), [v.feedback, page.state], [page.state] + api_outs, api_name="share",
                 **one).then(h.tick, [page.state], [v.links, v.timer], **PRIVATE, **one, show_progress="hidden")
    v.revoke.click(_without(h.revoke, v.timer), [v.pick, page.state], api_outs, api_name="revoke_link",
                   **one).then(h.tick, [page.state], [v.links, v.timer], **PRIVATE, **one, show_progress="hidden")
    v.pick_feedback.input(h.switch, [v.pick, v.pick_feedback, page.state], outs, **PRIVATE, **one)
    v.pick.input(h.chosen, [v.pick, page.state], [v.pick_feedback, v.stop, v.stop_yes], **PRIVATE, **one,
                 show_progress="hidden")
    v.stop.click(h.ask_stop, [v.pick, page.state], [v.stop, v.stop_yes], queue=False, **PRIVATE)
    # photos deleted: the project bar's counts follow
    page.follow(v.stop_yes.click(h.stop_sent, [v.pick, page.state], outs, api_name="stop_link_feedback", **one))


__all__ = ["HIDDEN", "NO_LINKS", "POLL_S", "ShareView", "build", "link_table", "roots", "shown", "stopped_words",
           "table", "wire"]
