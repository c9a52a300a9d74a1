"""A demo link as its owner makes it and a visitor opens it on a phone (issue 16), in Chromium: from a trained
model, step 5's Share gives a link; at 390×844 the link's page takes a photo and answers with the top classes,
without horizontal scrolling; "Wrong?" sends the photo back into the owner's project; Revoke makes it a 404.
Prints the click path's clicks and seconds (a figure, not a test: the machine may be busy).
"""
from __future__ import annotations

import re
import time

from conftest import make_class_folders
from conftest_app import PHONE

from fewshot.project import ProjectStore


# what the page asks the browser's camera for (getUserMedia's constraints), kept for the test to read
RECORD_CAMERA_ASKS = """(() => {
  const md = navigator.mediaDevices; if (!md) return;
  const ask = md.getUserMedia.bind(md); window.__camera_asks = [];
  md.getUserMedia = (c) => { window.__camera_asks.push(JSON.parse(JSON.stringify(c))); return ask(c); };
})()"""


def _answered(page) -> None:
    """Wait for the answer: percentages in the label, and no prediction pending (Gradio fades a pending one)."""
    page.wait_for_function("""() => { const l = document.querySelector('#demo-label');
        return l && /\\d+%/.test(l.innerText) && !l.classList.contains('pending') && !l.querySelector('.pending'); }""",
                           timeout=60_000)
    # and its fade-in over (a screenshot taken during it shows the answer greyed out)
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')", timeout=10_000)


def _no_sideways_scroll(page) -> tuple[int, int]:
    return page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")


def test_a_demo_link_made_in_step_5_works_on_a_phone_and_its_feedback_comes_home(ui, app_server, browser, tmp_path):
    birds = make_class_folders(tmp_path / "birds", {"robins": 12, "wrens": 12})
    u = ui()
    u.page.set_input_files("#folder-drop input[type=file]", str(birds))
    u.wait_text("#project-status", r"Project “birds”: 24 photos")
    u.choose_backbone("MobileNetV2")
    u.set_number("epochs", 3)
    u.click("#train-btn")
    u.wait_text("#train-progress", "Done in", 240)

    # the click path, from a trained model to its link opened on a phone
    clicks, t0 = u.clicks, time.perf_counter()
    u.page.locator("#step-share").get_by_text("Share a demo link").click()
    u.clicks += 1
    u.click("#share-make")
    u.wait_text("#share-links", r"/m/", 60)
    t_link = time.perf_counter()
    href = u.page.locator("#share-links a").first.get_attribute("href")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/m/[A-Za-z0-9_-]{32}", href), href
    u.shot("owner-made-a-link")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, permissions=["camera"])
    phone.add_init_script(RECORD_CAMERA_ASKS)
    errors: list[str] = []
    v = phone.new_page()
    v.on("pageerror", lambda e: errors.append(str(e)))
    v.goto(href)
    v.wait_for_function("() => /robins, wrens/.test(document.querySelector('#demo-head')?.innerText || '')",
                        timeout=60_000)
    t_open = time.perf_counter()
    assert "birds · run" in v.inner_text("#demo-head")
    fresh = make_class_folders(tmp_path / "new", {"robins": 1}, seed=9) / "robins" / "000.png"  # not a training photo
    v.set_input_files("#demo-image input[type=file]", str(fresh))
    _answered(v)
    t_answer = time.perf_counter()
    answer = v.inner_text("#demo-label")
    assert "robins" in answer and "wrens" in answer, answer
    width, inner = _no_sideways_scroll(v)
    assert width <= inner, f"the phone page scrolls sideways: {width} > {inner}"
    shots = tmp_path / "screens"
    v.screenshot(path=shots / "phone-demo-answer.png", full_page=True)
    print(f"\nclick path: trained model -> link on a phone: {u.clicks - clicks} clicks on the owner's page, "
          f"link made in {t_link - t0:.1f} s, page open on the phone {t_open - t_link:.1f} s later, "
          f"answer {t_answer - t_open:.1f} s after the upload; {t_answer - t0:.1f} s in all")

    # "Wrong?": the visitor says it is a wren; the photo lands unlabelled in the owner's project with that hint
    v.get_by_text("Wrong? Tell us the right class").click()
    v.locator("#demo-right input").click()
    v.get_by_role("option", name="wrens").click()
    v.click("#demo-send")
    v.wait_for_function("() => /Thank you/.test(document.querySelector('#demo-sent')?.innerText || '')",
                        timeout=60_000)
    assert _no_sideways_scroll(v)[0] <= _no_sideways_scroll(v)[1]
    v.screenshot(path=shots / "phone-demo-feedback.png", full_page=True)
    store = ProjectStore(app_server.sessions.parent / "projects")
    owner_projects = [p for p in store.projects_dir.iterdir() if p.is_dir()]
    sent = []
    for pdir in owner_projects:  # (the owner is this browser's token: read the database itself)
        with store.db.reading() as db:
            sent += db.execute("SELECT hint, label FROM photos WHERE project_id=? AND path LIKE 'feedback/%'",
                               (pdir.name,)).fetchall()
    assert [tuple(r) for r in sent] == [("wrens", None)]

    # the phone's camera: the rear one is asked for (the fake camera here has no sides), and a shot is answered
    v.locator("#demo-image button[aria-label='Capture from camera']").click()
    v.wait_for_function("() => !/%/.test(document.querySelector('#demo-label')?.innerText || '')")  # cleared
    v.locator("#demo-image button:not([aria-label]):not(.icon)").click()  # "Click to access webcam"
    v.locator("#demo-image button[aria-label='capture photo']").wait_for(state="visible", timeout=20_000)
    v.wait_for_function("() => { const c = document.querySelector('#demo-image video'); "
                        "return c && c.readyState >= 2 && c.videoWidth > 0 && !c.paused; }", timeout=20_000)
    asks = v.evaluate("() => window.__camera_asks || []")
    assert asks and all(a["video"]["facingMode"] == {"ideal": "environment"} for a in asks), asks
    v.locator("#demo-image button[aria-label='capture photo']").click()
    _answered(v)
    v.screenshot(path=shots / "phone-demo-camera.png", full_page=True)

    # the owner revokes it: the visitor's next visit is a 404
    u.click("#share-revoke")
    table = u.wait_text("#share-links", "revoked", 30)
    assert re.search(r"revoked\s+\d+\s+on\s+1", table), table  # its run, feedback on, 1 photo sent back
    u.shot("owner-revoked-the-link")
    assert v.goto(href).status == 404
    assert not errors, errors
    phone.close()
