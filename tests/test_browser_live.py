"""Step 2 in Chromium while a fast training runs: the page keeps up, Stop answers at once and ends where the
curve was; the preset says Custom once the settings are one's own; a reload leaves no connection error.

Screenshots are saved under the test's tmp dir (printed at the end of each test).
"""
from __future__ import annotations

import re
import time

from conftest import make_class_folders
from conftest_app import zip_of


def checked_preset(u) -> str:
    return u.page.evaluate("() => { const r = document.querySelector('#preset input:checked'); "
                           "return r ? r.value : ''; }")


def test_stop_during_a_fast_run_is_answered_promptly_and_ends_where_the_curve_was(ui, tmp_path):
    photos = make_class_folders(tmp_path / "tiny", {"red": 8, "green": 8, "blue": 8}, size=24)
    u = ui()
    u.upload_zip(zip_of(photos, tmp_path / "tiny.zip"))
    u.wait_text("#data-summary", r"tiny\.zip: 3 classes")
    u.choose_backbone("MobileNetV2")
    assert checked_preset(u) == "Balanced"
    u.set_number("epochs", 100)
    u.page.get_by_text(re.compile("^Only the last layer")).click()  # a fraction of a second an epoch on a CPU
    u.page.wait_for_function("() => document.querySelector('#preset input:checked')?.value === 'Custom'")
    u.shot("custom-preset")
    u.click("#train-btn")
    deadline, first = time.time() + 120, None
    while time.time() < deadline and u.points() < 15:
        if first is None and u.points() > 0:
            first = (time.perf_counter(), u.points())
        time.sleep(0.05)
    shown = u.points()
    rate = (shown - first[1]) / (time.perf_counter() - first[0])  # epochs a second, as the page saw them
    assert 15 <= shown < 95, (shown, u.text("#train-progress"))
    clicked = time.perf_counter()
    u.click("#stop-btn")
    u.page.get_by_text("Stopping after this batch").wait_for(timeout=5000)
    answered = time.perf_counter() - clicked
    progress = u.wait_text("#train-progress", r"Stopped after \d+ epochs", 30)
    ended = int(re.search(r"Stopped after (\d+)", progress).group(1))
    u.shot("stopped")
    print(f"Stop answered in {answered:.2f} s; the curve showed {shown} epochs, training ended after {ended}; "
          f"{rate:.1f} epochs a second")
    # Timing targets are measured, not asserted to the tenth (a busy 2-core machine answers every click later):
    # the answer comes at all and promptly, and the page is never far behind the engine. The page is sent a
    # snapshot at most every 0.15 s, so it shows up to ~0.3 s less than the engine has done, plus what the click
    # itself took to arrive; before the throttle it was 3.7 s behind at 10 epochs a second (41 shown, 78 ended).
    assert answered <= 5.0, answered
    assert shown <= ended <= shown + max(2, round((0.3 + answered) * rate)), (shown, ended, rate, answered)
    assert u.points() == ended
    # choosing a preset again fills the settings, and the preset says which one they are
    u.page.get_by_text("Quick", exact=True).click()
    u.page.wait_for_function("() => document.querySelector('#epochs input[type=number]').value === '5'")
    assert checked_preset(u) == "Quick"


def test_reloading_the_page_while_training_logs_no_connection_error(ui, tmp_path):
    photos = make_class_folders(tmp_path / "tiny", {"red": 8, "green": 8, "blue": 8}, size=24)
    u = ui()
    messages = []
    u.page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    u.upload_zip(zip_of(photos, tmp_path / "tiny.zip"))
    u.wait_text("#data-summary", r"tiny\.zip: 3 classes")
    u.choose_backbone("MobileNetV2")
    u.set_number("epochs", 100)
    u.click("#train-btn")
    u.wait_text("#train-progress", r"Step 2 of 2")  # its live updates stream in while the page reloads
    u.page.reload()
    u.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)
    u.page.wait_for_timeout(1500)
    u.page.reload()  # and at rest
    u.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)
    u.page.wait_for_timeout(1500)
    u.shot("reloaded")
    # the same project comes back: the reload stopped its training, recorded as a stopped run with the best epoch's
    # model when one epoch had ended (else there is no model yet: nothing to show)
    assert re.search(r"Not started|The active model: run \d+ of this project \(\d+%, stopped\)",
                     u.text("#train-progress")), u.text("#train-progress")
    assert not [m for m in messages if "errored" in m.lower() or "abort" in m.lower()], messages
