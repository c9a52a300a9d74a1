"""The page's steps as one screen each: Photos → (Label) → Train → Check → Try → Share, below the project bar.

    with step(nav, "photos"):          # each step's components go in its own tab (fewshot/ui/__init__.py)
        step_data.build(page)
    render(nav, session) -> {tab: gr.Tab(label=...), next button: gr.Button(...)}

A step's tab says how far it is: "✓" when it is done, "▶" when it can start now and is the next thing to do.
The end of each step has a "Next" button, shown once the next step can start, that opens it: the person
never hunts for what changed. Which steps are done comes from the tab's Session only (`progress`).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

import gradio as gr

from .page import PRIVATE, Page
from .tab.state import Session

__all__ = ["NavView", "STEPS", "Progress", "build", "progress", "render", "step", "wire"]

# (id, the tab's name, the "Next" button that leads to it); Label is optional: for photos without a class
STEPS: tuple[tuple[str, str, str], ...] = (
    ("photos", "Photos", "Next: your photos →"),
    ("label", "Label", "Next: give the photos their classes →"),
    ("train", "Train", "Next: train the model →"),
    ("check", "Check", "Next: check the model →"),
    ("try", "Try", "Next: try it on a new picture →"),
    ("share", "Share", "Next: take it away or share it →"),
)
_NAME = {key: name for key, name, _ in STEPS}
_NEXT_WORDS = {key: words for key, _, words in STEPS}
DONE, READY = "✓ ", "▶ "


@dataclass(eq=False)
class NavView:
    """The steps' tabs and each step's "Next" button (`build` makes the Tabs; `step` adds each tab)."""

    tabs: gr.Tabs = field(init=False)
    tab: dict[str, gr.Tab] = field(default_factory=dict)  # step id -> its tab
    next: dict[str, gr.Button] = field(default_factory=dict)  # step id -> the button at its end


@dataclass(frozen=True)
class Progress:
    """How far a tab's work is, read from its Session."""

    photos: int = 0  # in the open project, or loaded without one
    unlabelled: int = 0  # photos without a class (the Label step's work)
    classes: int = 0  # classes with labelled photos
    model: bool = False  # a model is trained or loaded

    def done(self, key: str) -> bool:
        """The step has done its part."""
        # the Label step is optional and never "done": it is marked only while photos wait for a class
        return {"photos": self.photos > 0, "label": False, "train": self.model, "check": False, "try": False,
                "share": False}[key]

    def can_start(self, key: str) -> bool:
        """The step has what it needs to start."""
        return {"photos": True, "label": self.unlabelled > 0 or self.photos > 0, "train": self.classes >= 2,
                "check": self.model, "try": self.model, "share": self.model}[key]

    def next_after(self, key: str) -> str | None:
        """The step that comes after `key` for this work, if it can start: the Label step only where photos
        wait for a class."""
        order = [k for k, _, _ in STEPS]
        for later in order[order.index(key) + 1:]:
            if later == "label" and self.unlabelled == 0:
                continue
            return later if self.can_start(later) else None
        return None


def progress(sess: Session | None) -> Progress:
    """The Progress of a tab's Session (nothing done without one)."""
    if sess is None or sess.closed:
        return Progress()
    model = sess.model is not None
    if sess.project is not None:  # counted in the database (a project may hold tens of thousands of photos)
        s = sess.project.summary()
        return Progress(photos=s["photos"], unlabelled=s["unlabelled"],
                        classes=sum(1 for n in s["classes"].values() if n > 0), model=model)
    ds = sess.dataset
    return Progress(photos=len(ds.train) + len(ds.val) if ds is not None else 0,
                    classes=len(ds.classes) if ds is not None else 0, model=model)


# A step opened (by its tab, a Next button, or the page itself) shows from its top: a person scrolled down the step
# before would otherwise land in the middle of the next one, which is as long as it is (the window keeps its place).
TO_STEP_TOP_JS = """() => {
  const bar = () => document.querySelector('#fs-steps');
  let shown = null;
  const seen = () => {
    const tabs = bar(); if (!tabs) return;
    const open = tabs.querySelector(':scope [role=tab][aria-selected=true]');
    const now = open && open.id;  // the steps' own tabs have ids (step-<key>-button); inner tabs do not
    if (!now || !now.startsWith('step-') || now === shown) return;
    if (shown !== null) {
      const top = tabs.getBoundingClientRect().top + window.scrollY;
      if (window.scrollY > top) {
        window.__fsStepJump = performance.now();  // (tests tell the page's move from the person's scrolling)
        window.scrollTo({top: top, behavior: 'instant'});
      }
    }
    shown = now;
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, attributes: true,
                                                    attributeFilter: ['aria-selected']});
  seen();
}"""


def build() -> NavView:
    """The steps' Tabs (enter `v.tabs` to add the steps with `step`)."""
    v = NavView()
    gr.HTML("", js_on_load=f"({TO_STEP_TOP_JS})();", padding=False, container=False, elem_id="fs-steps-top")
    # `wrap`: every step stays in sight on a phone (Gradio's default folds the tabs that do not fit into a menu)
    v.tabs = gr.Tabs(selected="photos", elem_id="fs-steps", overflow_behavior="wrap")
    return v


@contextlib.contextmanager
def step(v: NavView, key: str) -> Iterator[gr.Tab]:
    """One step's tab (`key` from STEPS); its components are built inside. Its children are drawn from the start
    (render_children) so that what another step's event writes into it is there when the person opens it."""
    with gr.Tab(_NAME[key], id=key, elem_id=f"step-{key}", render_children=True) as tab:
        v.tab[key] = tab
        yield tab
        if key != STEPS[-1][0]:
            v.next[key] = gr.Button("Next", variant="primary", visible=False, elem_id=f"next-{key}",
                                    elem_classes="fs-next")


def render(v: NavView, sess: Session | None, whole: bool = False) -> dict:
    """Each tab's name with its mark, and each "Next" button: shown, with where it leads, once that step can
    start. (`whole` is accepted like every step's render: the tabs are always written whole.)"""
    p = progress(sess)
    first_ready = next((k for k, _, _ in STEPS if p.can_start(k) and not p.done(k) and k != "label"), None)
    if p.unlabelled and p.photos:
        first_ready = "label"
    out: dict = {}
    for key, name, _ in STEPS:
        mark = DONE if p.done(key) else READY if key == first_ready and key != "photos" else ""
        out[v.tab[key]] = gr.Tab(label=mark + name)
    for key, button in v.next.items():
        later = p.next_after(key)
        out[button] = (gr.Button(_NEXT_WORDS[later], visible=True) if later else gr.Button(visible=False))
    return out


def wire(v: NavView, page: Page) -> None:
    """Each "Next" button opens the step it names (worked out again from the session at the click)."""
    for key, button in v.next.items():
        def go(st, key=key):
            sess = st if isinstance(st, Session) and not st.closed else None
            later = progress(sess).next_after(key)
            return gr.Tabs(selected=later) if later else gr.skip()
        button.click(go, [page.state], v.tabs, queue=False, show_progress="hidden", **PRIVATE)


def open_step(v: NavView, key: str) -> dict:
    """What opens step `key` (an event that sends the person there: a pile of photos goes to the Label step)."""
    return {v.tabs: gr.Tabs(selected=key)}
