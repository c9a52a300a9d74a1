"""Fixtures for tests against the launched app: `python app.py` in a subprocess, and a Chromium browser.

Imported by tests/conftest.py (so one server serves the gradio_client and the browser tests).
The server gets its own TORCH_HOME (MobileNetV2 weights only, offline), feature cache,
session folder and Gradio upload folder, all under pytest's tmp dir.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import re
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # a synthetic webcam (a moving test pattern), allowed without a permission prompt
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
STARTUP_S = 180  # importing torch and gradio on a busy 2-core machine can take a minute


@dataclass
class AppServer:
    url: str
    sessions: Path  # FEWSHOT_SESSION_DIR: one folder per browser session
    uploads: Path  # GRADIO_TEMP_DIR
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + STARTUP_S
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"app.py did not answer at {url} within {STARTUP_S} s:\n{log.read_text()[-3000:]}")


def launch_app(base: Path, *args: str, port: int | None = None, **env_extra: str):
    """`python app.py --port N *args` with its own folders under `base` (a free port unless `port` is given: a
    restarted server on the same address); yields (url, log)."""
    port = port or _free_port()
    env = {**os.environ, "FEWSHOT_OFFLINE": "1", "FEWSHOT_CACHE_DIR": str(base / "features"),
           "FEWSHOT_SESSION_DIR": str(base / "sessions"), "FEWSHOT_DATA_DIR": str(base / "projects"), "GRADIO_TEMP_DIR": str(base / "uploads"),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", **env_extra}
    env.pop("FEWSHOT_HOST", None)
    log = base / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, proc, log)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def restartable_app(base: Path, port: int, **env_extra: str):
    """`launch_app` on `base`'s folders at a fixed `port`, to be stopped (`.close()` on the first value: SIGTERM,
    then wait) and started again on the same data folder and address, as a restart is (the browser's memory
    of its project is per address); returns (that generator, an object with the page's `url`)."""
    from types import SimpleNamespace
    gen = launch_app(base, port=port, **env_extra)
    url, _log = next(gen)
    return gen, SimpleNamespace(url=url)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, pretrained_home) -> AppServer:
    """The real app, started the way users start it (python app.py --port N), with two training slots
    so that two sessions really train at the same time."""
    base = tmp_path_factory.mktemp("app")
    for url, log in launch_app(base, TORCH_HOME=str(pretrained_home), FEWSHOT_TRAIN_SLOTS="2"):
        yield AppServer(url, base / "sessions", base / "uploads", log)


@pytest.fixture(scope="session")
def browser():
    """Chromium from the system (apt-get install chromium); never downloaded by Playwright."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---------------------------------------------------------------- a page in Chromium, for the browser tests

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

# Counts every scroll a page makes, whoever makes it (the person's wheel, Playwright scrolling an element into
# view before a click, the page itself): the sum of |Δ| of the window's position and of every scrollable element's.
# Added to a context before its pages load (BrowserContext.add_init_script); read with `scrolled(page)`. While
# `paused` (screenshots at another width, scans) positions are followed but nothing is counted.
SCROLL_TRACKER = """(() => {
  if (window.__fsScroll) return;
  const s = window.__fsScroll = {window: 0, inner: 0, paused: false, biggest: 0};
  let wx = window.scrollX, wy = window.scrollY;
  const seen = new WeakMap();
  addEventListener('scroll', (e) => {
    const t = e.target;
    if (t === document || t === document.documentElement || t === document.body || t === window) {
      const d = Math.abs(window.scrollY - wy) + Math.abs(window.scrollX - wx);
      wx = window.scrollX; wy = window.scrollY;
      if (!s.paused) { s.window += d; s.biggest = Math.max(s.biggest, d); }
    } else if (t instanceof Element) {
      const was = seen.get(t) || {top: 0, left: 0};
      const d = Math.abs(t.scrollTop - was.top) + Math.abs(t.scrollLeft - was.left);
      seen.set(t, {top: t.scrollTop, left: t.scrollLeft});
      if (!s.paused) s.inner += d;
    }
  }, {capture: true, passive: true});
  s.resync = () => { wx = window.scrollX; wy = window.scrollY; };
})()"""
# two animation frames: scroll events are dispatched at the next frame, after the scroll itself
_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))"


# The tabs and accordions around the component whose elem_id is given, outermost first, from the page's layout
# (Gradio's window.gradio_config): [{type: 'tabitem' | 'accordion', elem_id, label}]; null without a config.
_CONTAINERS_OF = """(elemId) => {
  const c = window.gradio_config; if (!c || !c.layout || !c.components) return null;
  const byId = new Map(c.components.map(x => [x.id, x]));
  let path = [];
  const find = (node, trail) => {
    const comp = byId.get(node.id), here = comp ? [...trail, comp] : trail;
    if (comp && comp.props && comp.props.elem_id === elemId) { path = here; return true; }
    return (node.children || []).some(ch => find(ch, here));
  };
  find(c.layout, []);
  return path.slice(0, -1).filter(x => x.type === 'tabitem' || x.type === 'accordion').map(x => ({type: x.type,
    elem_id: x.props.elem_id || '',
    // a title handed to gr.I18n reads "__i18n__{...}" here, and the page shows it translated: no title to match
    label: typeof x.props.label === 'string' && !x.props.label.startsWith('__i18n__') ? x.props.label : ''}));
}"""
# the elem_ids of the tabs beside (and with) the tab whose panel is the given elem_id, in order; null if not found
_SIBLING_TABS = """(elemId) => {
  const c = window.gradio_config; if (!c || !c.layout || !c.components) return null;
  const byId = new Map(c.components.map(x => [x.id, x]));
  const find = (node) => {
    const kids = node.children || [];
    if (kids.some(k => byId.get(k.id)?.props?.elem_id === elemId && byId.get(k.id)?.type === 'tabitem'))
      return kids.map(k => byId.get(k.id)).filter(x => x && x.type === 'tabitem' && x.props.visible !== false)
                 .map(x => x.props.elem_id || '');
    for (const k of kids) { const r = find(k); if (r) return r; }
    return null;
  };
  return find(c.layout);
}"""
# marks (data-fs-reach) the accordion in the page whose title is the given text; whether there is one
_MARK_ACCORDION = """(label) => {
  const a = [...document.querySelectorAll('.gr-accordion')].find(
    e => (e.querySelector(':scope > .label-wrap > span')?.innerText || '').trim() === label.trim());
  if (a) a.setAttribute('data-fs-reach', ''); return !!a; }"""
# whether the tab panel `id` is in the page and shown
_PANEL_SHOWN = ("(id) => { const p = document.getElementById(id); "
                "return !!p && getComputedStyle(p).display !== 'none'; }")


def scrolled(page) -> dict:
    """{window, inner, biggest}: px the page has scrolled since it loaded (see SCROLL_TRACKER); `biggest` is the
    largest single jump of the window."""
    page.evaluate(_FRAMES)
    return page.evaluate("() => { const s = window.__fsScroll || {}; "
                         "return {window: Math.round(s.window || 0), inner: Math.round(s.inner || 0), "
                         "biggest: Math.round(s.biggest || 0)}; }")


def pause_scroll_count(page, paused: bool) -> None:
    """Stop (or start again) counting scrolls: what the test does to look (screenshots at another width) is no
    scrolling of the person's. Starting again takes the window's position as it is then."""
    page.evaluate(_FRAMES)
    page.evaluate("(p) => { const s = window.__fsScroll; if (!s) return; s.paused = p; if (!p) s.resync(); }", paused)


class Ui:
    """A page of the app plus the helpers a test needs; counts the clicks a user makes."""

    def __init__(self, browser, server, shots: Path, viewport=LAPTOP, locale: str = "en-US"):
        # the browser's language picks the page's (English unless told otherwise, whatever this machine's is)
        self.context = browser.new_context(viewport=viewport, accept_downloads=True, permissions=["camera"],
                                           locale=locale)
        self.context.add_init_script(SCROLL_TRACKER)
        self.page = self.context.new_page()
        self.server, self.shots, self.clicks, self.errors = server, shots, 0, []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(server.url)
        self.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)

    def shot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{len(list(self.shots.iterdir())):02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def click(self, selector: str) -> None:
        self.page.click(selector)
        self.clicks += 1

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def scrolled(self) -> dict:
        """px scrolled on this page so far (window and inside elements; conftest_app.scrolled)."""
        return scrolled(self.page)

    def reach(self, selector: str, via: tuple[str, ...] = (), timeout_s: float = 30) -> "Locator":
        """Bring `selector` on screen as a person would, counting the clicks, and return its locator.

        The tabs and accordions around it (outermost first) come from the page's own layout (Gradio's
        window.gradio_config, found by the first `#elem_id` in `selector`), since a tab never opened has no
        children in the page yet (Gradio 6.31 mounts a Tab's children on its first visit, render_children=True or
        not, and keeps them, hidden, after): a tab not shown is clicked ([role=tab][aria-controls=<its elem_id>],
        through the tab bar's overflow menu where a narrow screen folds it away), a closed accordion is opened
        when the element is not shown yet. `via`: more containers to open (selectors), for what the layout does
        not say; one that is not on the page is passed over. Then the element is scrolled into view (counted by
        SCROLL_TRACKER, as any scroll is)."""
        found = re.search(r"#([\w-]+)", selector)
        around = self.page.evaluate(_CONTAINERS_OF, found.group(1)) if found else None
        for c in around or []:
            if c["type"] == "tabitem":
                self._open_tab(c["elem_id"], c["label"])
            elif c["elem_id"]:
                self._open_accordion(f"#{c['elem_id']}", selector)
            elif c["label"] and self.page.evaluate(_MARK_ACCORDION, c["label"]):  # found by its title
                self._open_accordion("[data-fs-reach]", selector)
                self.page.evaluate("() => document.querySelector('[data-fs-reach]')?.removeAttribute('data-fs-reach')")
        for outer in via:
            if self.page.locator(outer).count() and not self._shown(selector):
                self._open_panels(outer)
                self._open_accordion(outer, selector)
        loc = self.page.locator(selector).first
        loc.wait_for(state="attached", timeout=timeout_s * 1000)
        self._open_panels(selector)
        loc.scroll_into_view_if_needed(timeout=timeout_s * 1000)
        return loc

    def _shown(self, selector: str) -> bool:
        loc = self.page.locator(selector)
        return loc.count() > 0 and loc.first.is_visible()

    def _open_accordion(self, box_selector: str, inside: str) -> None:
        """Open the accordion `box_selector` (a click) when it is closed and `inside` is not shown."""
        box = self.page.locator(box_selector)
        if box.count() == 0 or self._shown(inside) or \
                not box.first.evaluate("e => e.classList.contains('gr-accordion')"):
            return
        head = box.first.locator(":scope > button.label-wrap, :scope > .label-wrap").first
        if "open" not in (head.get_attribute("class") or ""):
            head.scroll_into_view_if_needed()
            head.click()
            self.clicks += 1

    def _open_tab(self, elem_id: str, label: str) -> None:
        """Click the tab whose panel is `elem_id` (without one: the tab named `label`) unless it is the one shown."""
        if elem_id:
            if self.page.evaluate(_PANEL_SHOWN, elem_id):
                return
            tab = self.page.locator(f'[role=tab][aria-controls="{elem_id}"]').first
        elif not label:  # neither an elem_id nor a plain title (a translated one): nothing to find it by
            return
        else:
            tab = self.page.get_by_role("tab", name=label).first
            if tab.get_attribute("aria-selected") == "true":
                return
        if tab.count() == 0 or not tab.is_visible():  # folded into the tab bar's overflow menu (a narrow screen)
            self._open_folded_tab(elem_id)
        else:
            tab.click()
        self.clicks += 1
        if elem_id:
            self.page.wait_for_function(_PANEL_SHOWN, arg=elem_id, timeout=10_000)

    def _open_folded_tab(self, elem_id: str) -> None:
        """Click, in the tab bar's overflow menu ("More tabs"), the tab of panel `elem_id`: the menu lists the tabs
        that have no button of their own in the bar, in the bar's order (the page's layout says which these are)."""
        siblings = self.page.evaluate(_SIBLING_TABS, elem_id)
        assert siblings, f"the tab of #{elem_id} is neither in the tab bar nor in the page's layout"
        shown = [t for t in siblings if self.page.locator(f'[role=tab][aria-controls="{t}"]').is_visible()]
        folded = [t for t in siblings if t not in shown]
        assert shown, f"no tab beside #{elem_id}'s is in the bar: its overflow menu cannot be found"
        bar = self.page.locator(f'[role=tab][aria-controls="{shown[0]}"]').locator(
            "xpath=ancestor::*[.//*[contains(@class,'overflow-menu')]][1]")
        bar.locator(".overflow-menu > button").first.click()
        self.clicks += 1
        bar.locator(".overflow-dropdown button").nth(folded.index(elem_id)).click()

    def _open_panels(self, selector: str) -> None:
        """Click the tab of each hidden tab panel around `selector` (one already in the page), outermost first."""
        hidden = self.page.locator(selector).first.evaluate("""e => {
            const out = [];
            for (let p = e.closest('[role=tabpanel]'); p;
                 p = p.parentElement && p.parentElement.closest('[role=tabpanel]'))
                if (getComputedStyle(p).display === 'none' || p.hidden) out.unshift(p.id);
            return out; }""")
        for panel in hidden:
            assert panel, f"{selector} sits in a hidden tab panel without an id: its tab cannot be found"
            self._open_tab(panel, "")

    def wait_text(self, selector: str, pattern: str, timeout_s: float = 90) -> str:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            text = self.text(selector)
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        self.shot("timeout")
        raise AssertionError(f"{selector} never showed /{pattern}/; it shows: {self.text(selector)[:500]}")

    def table(self, selector: str) -> list[dict[str, str]]:
        """The rows of a table on the page, each keyed by its column's header, as a user reads them."""
        return self.page.evaluate("""(sel) => {
            // Gradio 6 draws a table's header as a <table> and its rows as [role=row] of [role=gridcell]
            const root = document.querySelector(sel); if (!root) return [];
            const heads = [...root.querySelectorAll('th[role=columnheader]')].map(h => (h.title || h.innerText).trim());
            return [...root.querySelectorAll('[role=row]')].filter(r => r.querySelector('[role=gridcell]')).map(
                r => Object.fromEntries([...r.querySelectorAll('[role=gridcell]')].map(
                    (c, i) => [heads[i], c.innerText.trim()])));
        }""", selector)

    def points(self) -> int:
        """Epochs drawn on the live accuracy curve."""
        return self.page.evaluate("""() => { const p = document.querySelector('#acc-plot .js-plotly-plot');
                                     return p && p.data && p.data.length ? p.data[0].x.length : 0; }""")

    def choose_backbone(self, name: str) -> None:
        self.click("#backbone input")
        self.page.get_by_role("option", name=re.compile(name)).click()
        assert name in self.page.input_value("#backbone input")

    def set_number(self, elem_id: str, value) -> None:
        box = self.page.locator(f"#{elem_id} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
        box.blur()

    def webcam_shot(self, elem_id: str, reopens_itself: bool = False) -> None:
        """Take a picture with the (synthetic) webcam of an image component. After a shot the class
        cards' camera reopens by itself (`reopens_itself`): one click per shot."""
        capture = self.page.locator(f"#{elem_id} button[aria-label='capture photo']")
        if not reopens_itself and not capture.is_visible():
            self.page.locator(f"#{elem_id} button:not([aria-label]):not(.icon)").click()  # "Click to access webcam"
            self.clicks += 1
        capture.wait_for(state="visible", timeout=20_000)
        self.page.wait_for_function(  # the video must be playing, or the shot is empty
            f"() => {{ const v = document.querySelector('#{elem_id} video'); return v && v.readyState >= 2 && "
            f"v.videoWidth > 0 && !v.paused; }}", timeout=20_000)
        capture.click()
        self.clicks += 1

    def upload_zip(self, path: Path) -> None:
        self.page.get_by_role("tab", name=re.compile("Zip")).click()
        self.page.set_input_files("#zip-upload input[type=file]", str(path))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def ui(browser, app_server, tmp_path):
    pages: list[Ui] = []

    def make(viewport=LAPTOP, locale: str = "en-US") -> Ui:
        pages.append(Ui(browser, app_server, tmp_path / "screens", viewport, locale))
        return pages[-1]
    yield make
    for p in pages:
        assert not p.errors, f"JavaScript errors: {p.errors}"
        p.close()
    print("screenshots:", *sorted((tmp_path / "screens").glob("*.png")), sep="\n  ")


def zip_of(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, p.relative_to(folder.parent))
    return out
