"""Steps 3-5 as a person sees them in Chromium (issue 24): on a phone the picture box opens on the camera, Gradio's
own words in it come in the page's language, and a term's plain words show what the term means on a tap."""
from __future__ import annotations

import re
from pathlib import Path

from conftest_app import LAPTOP, PHONE

STEPS_CSS = Path(__file__).resolve().parents[1] / "assets" / "steps.css"

# Until the page's CSS holds assets/steps.css (it is appended to it), the test adds it as the page would have it
WITH_STEPS_CSS = """(css) => {
  const tip = document.querySelector('.fs-term .fs-tip');
  if (tip && getComputedStyle(tip).display !== 'none') {
    const s = document.createElement('style'); s.textContent = css; document.head.appendChild(s);
  }
}"""


def test_a_chinese_phone_opens_the_picture_box_on_the_camera_and_a_term_explains_itself_on_a_tap(ui):
    u = ui(viewport=PHONE, locale="zh-CN")
    box = u.page.locator("#try-image")
    box.scroll_into_view_if_needed(timeout=60_000)
    u.page.wait_for_function("() => !!document.querySelector('#try-image video')", timeout=30_000)  # the camera
    u.page.wait_for_function("() => document.querySelector('#try-image').innerText.includes('点击打开摄像头')",
                             timeout=10_000)  # Gradio's "Click to Access Webcam", which it never translates
    words = box.inner_text()
    assert not re.search(r"Drop Image Here|Click to Upload|Webcam", words), words
    u.shots.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=u.shots / "phone-zh-try-image-camera-first.png")

    u.page.evaluate(WITH_STEPS_CSS, STEPS_CSS.read_text())
    term = u.page.locator(".fs-term").filter(has_text="多看几次").first
    tip = term.locator(".fs-tip")
    assert not tip.is_visible()  # plain words first
    term.focus()  # what a tap does on a phone (tabindex="0")
    tip.wait_for(state="visible", timeout=5_000)
    assert "测试时增强" in tip.inner_text()
    term.scroll_into_view_if_needed()
    u.page.screenshot(path=u.shots / "phone-zh-term-tip.png")


def test_gradios_own_upload_words_follow_the_pages_language_on_a_laptop(ui):
    u = ui(viewport=LAPTOP, locale="en-US")
    box = u.page.locator("#try-image")
    box.scroll_into_view_if_needed(timeout=60_000)
    assert "Drop Image Here" in box.inner_text() and not u.page.locator("#try-image video").count()  # upload first
    u.click("[data-fs-lang='zh-CN']")  # the header's 中文 switch
    u.wait_text("#train-btn", "▶ 训练", 30)
    # (the box is drawn again: a moment without it)
    u.page.wait_for_function("() => { const b = document.querySelector('#try-image'); return !!b && "
                             "!/Drop Image Here|Click to Upload/.test(b.innerText) && /拖放|上传/.test(b.innerText); }",
                             timeout=30_000)
    assert "拖放" in box.inner_text() or "上传" in box.inner_text(), box.inner_text()
    u.shots.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=u.shots / "laptop-switched-to-zh-try-image.png")
