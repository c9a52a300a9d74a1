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

import pytest

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
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
           # the tests' servers are shared ones (each browser's projects its own), as several test clients use
           # one; FEWSHOT_MANY_USERS="" serves one person, whose page shares the command line's projects
           "FEWSHOT_MANY_USERS": "1", **env_extra}
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
      // the page's own move to the top of a step just opened (fewshot/ui/nav.py) is no scrolling of the person's
      const jumped = window.__fsStepJump && performance.now() - window.__fsStepJump < 500;
      if (!s.paused && !jumped) { s.window += d; s.biggest = Math.max(s.biggest, d); }
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


# The tabs an element sits in, outermost first, read from the page's own layout (Gradio draws a tab's components only
# once it has been opened, so a step's elements are not on the page before): each as the selector of its button.
# The page is one screen per step (fewshot/ui/nav.py); a person opens the step, then any inner tab.
TABS_OF_JS = """(elemId) => {
  const cfg = window.gradio_config; if (!cfg) return [];
  const byId = new Map(cfg.components.map((c) => [c.id, c]));
  const find = (node, trail) => {
    const c = byId.get(node.id);
    const here = c && c.type === 'tabitem' ? [...trail, c.props] : trail;
    if (c && c.props && c.props.elem_id === elemId) return here;
    for (const child of node.children || []) { const r = find(child, here); if (r) return r; }
    return null;
  };
  return (find(cfg.layout, []) || []).map((t) => t.elem_id ? `#${t.elem_id}-button` : `[role=tab][data-tab-id="${t.id}"]`);
}"""
_ELEM_ID = re.compile(r"#([A-Za-z][\w-]*)")
_ACTIONS = {"click", "dblclick", "fill", "set_input_files", "check", "uncheck", "select_option", "press", "type",
            "hover", "focus", "tap", "wait_for_selector", "wait_for", "scroll_into_view_if_needed", "input_value",
            "inner_text", "text_content", "inner_html", "is_checked", "get_attribute", "all_inner_texts"}
_FINDERS = {"locator", "get_by_text", "get_by_role", "get_by_label", "get_by_placeholder", "get_by_title",
            "get_by_test_id", "first", "last", "nth", "filter"}


class _Reaching:
    """A Playwright page or locator that first opens the step (and any inner tab) an element sits in, then acts."""

    def __init__(self, target, ui: "Ui", where=None):
        self._target, self._ui, self._where = target, ui, where

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if name in _FINDERS:
            if not callable(attr):  # .first / .last
                return _Reaching(attr, self._ui, attr)
            return lambda *a, **k: _Reaching(attr(*a, **k), self._ui, None)
        if name in _ACTIONS:
            def act(*a, **k):
                wants_sight = k.get("state", "visible") == "visible"
                if wants_sight:
                    if self._where is None and hasattr(self._target, "evaluate_all"):
                        self._ui.reach(self._target)
                    elif a and isinstance(a[0], str) and not hasattr(self._target, "evaluate_all"):
                        self._ui.reach(a[0])
                    elif self._where is not None:
                        self._ui.reach(self._where)
                return attr(*a, **k)
            return act
        return attr


class Ui:
    """A page of the app plus the helpers a test needs; counts the clicks a user makes. `page` opens the step
    an element sits in before acting on it (a click counted), as a person would."""

    def __init__(self, browser, server, shots: Path, viewport=LAPTOP, locale: str = "en-US"):
        # the browser's language picks the page's (English unless told otherwise, whatever this machine's is)
        self.context = browser.new_context(viewport=viewport, accept_downloads=True, permissions=["camera"],
                                           locale=locale)
        self.context.add_init_script(SCROLL_TRACKER)
        self.raw = self.context.new_page()
        self.page = _Reaching(self.raw, self)
        self.server, self.shots, self.clicks, self.errors = server, shots, 0, []
        self.raw.on("pageerror", lambda e: self.errors.append(str(e)))
        self.raw.goto(server.url)
        self.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)

    def reach(self, target, via: tuple[str, ...] = (), see: bool = False, timeout_s: float = 30):
        """Open the step (and inner tab) the element `target` names sits in (the first `#elem_id` of a selector, or
        of a locator's description), as a person would, counting the clicks; a step folded into the tab bar's
        overflow menu (a narrow screen) is opened through it. With `see` (a selector): also open the accordions
        around it that are closed (from the page's layout, and the selectors `via`, outermost first; one not on
        the page is passed over) and scroll it into view (counted by SCROLL_TRACKER as any scroll is); returns
        its locator."""
        found = _ELEM_ID.search(target if isinstance(target, str) else str(target))
        if found:
            for button in self.raw.evaluate(TABS_OF_JS, found.group(1)):
                tab = self.raw.locator(button).first
                try:
                    tab.wait_for(state="attached", timeout=10_000)
                except Exception:  # a step's button folded into the bar's overflow menu is not on the page
                    if not button.endswith("-button"):
                        raise
                if button.endswith("-button") and (tab.count() == 0 or not tab.is_visible()):
                    self._open_folded_tab(button[1:-len("-button")])  # not in the bar: in its overflow menu
                    self.clicks += 1
                    self.raw.wait_for_timeout(150)
                elif tab.get_attribute("aria-selected") != "true":
                    tab.click()
                    self.clicks += 1
                    self.raw.wait_for_timeout(150)  # the tab's panel is drawn in the next frame
        if not see:
            return None
        for c in (self.raw.evaluate(_CONTAINERS_OF, found.group(1)) if found else None) or []:
            if c["type"] == "accordion" and c["elem_id"]:
                self._open_accordion(f"#{c['elem_id']}", target)
        for outer in via:
            if self.raw.locator(outer).count() and not self._shown(target):
                self._open_accordion(outer, target)
        loc = self.raw.locator(target).first
        loc.wait_for(state="attached", timeout=timeout_s * 1000)
        loc.scroll_into_view_if_needed(timeout=timeout_s * 1000)
        return loc

    def step(self, key: str) -> None:
        """Open a step by its tab, as a person does (photos, label, train, check, try, share)."""
        self.click(f"#step-{key}-button")

    def shot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{len(list(self.shots.iterdir())):02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def click(self, selector: str) -> None:
        self.reach(selector)
        self.raw.click(selector)
        self.clicks += 1

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def scrolled(self) -> dict:
        """px scrolled on this page so far (window and inside elements; conftest_app.scrolled)."""
        return scrolled(self.page)

    def _shown(self, selector: str) -> bool:
        loc = self.raw.locator(selector)
        return loc.count() > 0 and loc.first.is_visible()

    def _open_accordion(self, box_selector: str, inside: str) -> None:
        """Open the accordion `box_selector` (a click) when it is closed and `inside` is not shown."""
        box = self.raw.locator(box_selector)
        if box.count() == 0 or self._shown(inside) or \
                not box.first.evaluate("e => e.classList.contains('gr-accordion')"):
            return
        head = box.first.locator(":scope > button.label-wrap, :scope > .label-wrap").first
        if "open" not in (head.get_attribute("class") or ""):
            head.scroll_into_view_if_needed()
            head.click()
            self.clicks += 1

    def _open_folded_tab(self, elem_id: str) -> None:
        """Click, in the tab bar's overflow menu ("More tabs"), the tab of panel `elem_id`: the menu lists the tabs
        that have no button of their own in the bar, in the bar's order (the page's layout says which these are)."""
        siblings = self.raw.evaluate(_SIBLING_TABS, elem_id)
        assert siblings, f"the tab of #{elem_id} is neither in the tab bar nor in the page's layout"
        shown = [t for t in siblings if self.raw.locator(f'[role=tab][aria-controls="{t}"]').is_visible()]
        folded = [t for t in siblings if t not in shown]
        assert shown, f"no tab beside #{elem_id}'s is in the bar: its overflow menu cannot be found"
        bar = self.raw.locator(f'[role=tab][aria-controls="{shown[0]}"]').locator(
            "xpath=ancestor::*[.//*[contains(@class,'overflow-menu')]][1]")
        bar.locator(".overflow-menu > button").first.click()
        self.clicks += 1
        bar.locator(".overflow-dropdown button").nth(folded.index(elem_id)).click()

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
        """A zip in the one drop zone (its "Choose photos or a .zip…" button), as a person gives one."""
        self.page.set_input_files("#folder-drop input.fs-files", str(path))

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
