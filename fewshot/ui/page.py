"""What every step of the page shares: the Page context, errors in plain words, and the page's languages.

Handlers return dicts keyed by component (the Gradio guide's "Function Return List vs Dict"); `friendly`
wraps them so that engine errors become plain words and everything they return comes in the page's
language (English or 简体中文; fewshot/i18n.py translates).
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import os
import sys
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gradio as gr
from gradio.processing_utils import hash_file
from gradio_client.utils import strip_invalid_filename_characters

from .. import i18n as L
from ..errors import FewshotError
from ..images import UnreadableImage
from .server.guard import BROWSER_COOKIE
from .server.thumbs import ThumbTokens
from .tab.state import Session, SessionRegistry, is_upload, plain_error, session_root

# The page's fixed text, keyed by its English; localize() fills both tables as the page is built.
I18N = gr.I18n(en={}, **{L.ZH: {}})
LANG = contextvars.ContextVar("fewshot_lang", default=L.EN)  # the language of the callback running now
TEXT_VALUE = (gr.Markdown, gr.HTML, gr.Button)  # components whose value is words, not user data


@dataclass
class Page:
    """What the steps of one built page share: the tab's state, its language box, and where sessions live."""

    state: gr.State
    lang: gr.Textbox  # hidden; assets/i18n.js keeps it equal to the page's language
    registry: SessionRegistry
    upload_root: Path
    # chains the project bar's refresh after an event that may change the project (photos added, a run made);
    # set by step_project.wire before the other steps are wired
    follow: Callable = lambda dep: dep
    # the events that (re)open the tab's project: the page load and picking one in the bar (step_project.wire
    # adds them); step 2 chains onto each the following of a training the project still runs
    reopened: list = field(default_factory=list)
    # session folder name -> its live Session, for file_owner (weak: a closed session's entry goes with it)
    folders: weakref.WeakValueDictionary = field(default_factory=weakref.WeakValueDictionary)
    # the server's live thumbnail tokens (the Label step registers a tab's desk; the thumb route reads them)
    thumbs: ThumbTokens = field(default_factory=ThumbTokens)

    def session(self, state, request: gr.Request | None) -> Session:
        """The tab's Session (made on first use), remembered under the browser connection."""
        sess = self.registry.ensure(state, getattr(request, "session_hash", None) if request else None,
                                    owner=getattr(request, "username", None) if request else None)
        self.folders[sess.dir.name] = sess
        if sess.browser is None and request is not None:  # what only this browser may fetch (ui/server/thumbs.py)
            sess.browser = (getattr(request, "cookies", None) or {}).get(BROWSER_COOKIE)
        return sess

    def uploaded(self, sess: Session, path: str | None) -> str:
        """`path` when it is a file uploaded to this server (noted, so that closing the session deletes it); else a
        FewshotError. A handler never opens a file its caller names by a server path: a raw API call could name
        another's model or photo there (Gradio passes such a path on as it is)."""
        real = is_upload(path, self.upload_root)
        if real is None:
            raise FewshotError("That file was not sent to this page: upload it (no file on the server is read "
                               "by its path).")
        sess.uploads.add(real)
        return str(real)

    def file_owner(self, path: str) -> tuple[bool, str | None]:
        """(True, its session's logged-in user) for a file in a session's folder ((True, None) when that session
        is gone or has no user); (False, None) for any other file. The Guard refuses another user's files."""
        try:
            rel = Path(os.path.abspath(path)).resolve().relative_to(session_root().resolve())
        except (ValueError, OSError, RuntimeError):
            return False, None
        sess = self.folders.get(rel.parts[0]) if rel.parts else None
        return True, (sess.owner if sess is not None else None)

    def served(self, sess: Session, *paths) -> None:
        """Gradio copies each file it sends to a browser into its cache folder (<content hash>/<name>), except
        files under a static path (the session folders, see build_app); note those copies so that closing
        the session deletes them as well (e.g. photos unpacked from a zip, shown among the mistakes)."""
        cache, static = self.upload_root, session_root().resolve()
        for p in paths:
            if p and Path(p).is_file() and not Path(p).resolve().is_relative_to(static):
                sess.uploads.add(cache / hash_file(p) / strip_invalid_filename_characters(Path(p).name))


# ---------------------------------------------------------------- errors in plain words

def _convert(exc: BaseException, lang: str) -> gr.Error:
    if isinstance(exc, gr.Error):  # raised by the page itself: only its words change
        return gr.Error(L.translate(exc.message, lang), duration=exc.duration, visible=exc.visible,
                        title=L.translate(exc.title, lang, label=True), print_exception=exc.print_exception)
    expected = isinstance(exc, (FewshotError, UnreadableImage))
    if not expected:
        traceback.print_exc(file=sys.stderr)
    return gr.Error(L.translate(plain_error(exc), lang), duration=20, print_exception=not expected,
                    title=L.translate("Sorry" if expected else "Problem", lang, label=True))


def friendly(fn):
    """Turn engine errors into a gr.Error with plain words; log anything unexpected for the operator.
    Errors and what the callback returns come in the page's language (see lang_of and localized)."""
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
                        raise _convert(exc, lang) from None
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
            raise _convert(exc, lang) from None
        finally:
            LANG.reset(token)
        _adopt(out, lang)
        return localized(out, lang)
    return call


# ---------------------------------------------------------------- languages (English, 简体中文)

def lang_of(*objs) -> str:
    """A callback's language: its session's (the page's language switch sets it), else the browser's (the
    cookie the switch sets, then Accept-Language). API clients send neither and get English."""
    for o in objs:
        if isinstance(o, Session) and o.lang:
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
    if isinstance(out, dict):
        items = list(out.values())
    else:
        items = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in items:
        if isinstance(o, Session) and not o.lang:
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
    if isinstance(value, dict) and all(isinstance(k, gr.blocks.Block) for k in value):
        return {k: localized(v, lang) for k, v in value.items()}
    if isinstance(value, tuple) or (isinstance(value, list) and any(isinstance(v, gr.blocks.Block) for v in value)):
        return type(value)(localized(v, lang) for v in value)
    if isinstance(value, str):
        return value if os.path.isabs(value) and "\n" not in value else L.translate(value, lang)
    if hasattr(value, "columns") and hasattr(value, "rename"):
        return L.translate_frame(value, lang)
    if hasattr(value, "layout") and hasattr(value, "data"):
        return L.translate_figure(value, lang)
    if isinstance(value, gr.blocks.Block):  # an update: gr.Markdown(...), gr.Accordion(label=...), …
        _localize_update(value, lang)
    return value


def _localize_update(value: gr.blocks.Block, lang: str) -> None:
    args = value.constructor_args
    keys = ("label", "value") if isinstance(value, TEXT_VALUE) else ("label",)
    for k in keys:
        if isinstance(args.get(k), str):
            args[k] = L.translate(args[k], lang, label=True)
            setattr(value, k, args[k])
    if isinstance(args.get("choices"), list):  # (label, value) pairs; as messages: a card's name is a name
        args["choices"] = [(L.translate(c[0], lang), *c[1:]) if isinstance(c, (tuple, list)) else c
                           for c in args["choices"]]


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


# ---------------------------------------------------------------- small layout pieces

def md_hint(text: str) -> gr.Markdown:
    """A muted line of explanation under a control."""
    return gr.Markdown(text, elem_classes="fs-muted")


@dataclass(eq=False)
class Links:
    """What one step's events show of the other steps. The page (fewshot/ui/__init__.py) makes it from the steps'
    `render`, as steps never import each other, and passes it to every step's `wire(view, page, links)`."""

    demo: gr.Blocks  # the page's Blocks: its load event reopens the tab's project (step_project)
    show_all: Callable[[Session], dict]  # every step's whole render: a project opened (or reopened after a reload)
    everything: list  # what show_all writes
    show_report: Callable[[Session], dict]  # step 1's report, which the cards and the Label step write again
    report_outputs: list
    show_model: Callable[[Session], dict]  # steps 3-5 for a new model (trained here, or loaded from a file)
    model_outputs: list  # what show_model writes, in the API's order
    take_parts: Callable[[], None]  # wires step 5's Space and demo-link blocks, in their place in the API's order
    slots: int  # how many trainings may run at once (FEWSHOT_TRAIN_SLOTS)
    # photos without class folders, given to the Label step: (session, [(upload, relative path)], skipped, or a
    # zip's upload) -> (how many were added and already there, what the Label step then shows with its tab open)
    to_label: Callable[..., tuple[int, int, dict]] = None
    to_label_outputs: list = field(default_factory=list)


def step_header(num: int, title: str, hint: str) -> None:
    """A step's heading and its one-line hint (`num` is kept for the steps' order; the tab itself numbers
    nothing: fewshot/ui/nav.py marks what is done and what is next)."""
    gr.HTML(f'<h2>{title}</h2><div class="fs-muted">{hint}</div>', elem_classes="fs-step")


PRIVATE = dict(api_visibility="private")


__all__ = ["I18N", "LANG", "Links", "PRIVATE", "Page", "TEXT_VALUE", "friendly", "inform", "lang_of", "localize", "localized",
           "md_hint", "step_header", "warn"]
