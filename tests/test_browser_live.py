"""Step 2 in Chromium while a fast training runs: the page keeps up, Stop answers at once and ends where the
curve was; the preset says Custom once the settings are one's own; a training goes on through a reload, and the
reloaded page follows it (curves continuing) and stops it, with no connection error.

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


# Stop as a user presses it, and what the page had drawn at that moment (in one step, so nothing is drawn between)
STOP_COUNTING = """() => { const p = document.querySelector('#acc-plot .js-plotly-plot');
    const n = p && p.data && p.data.length ? p.data[0].x.length : 0;
    document.querySelector('#stop-btn').click(); return n; }"""


def test_stop_during_a_fast_run_is_answered_promptly_and_ends_where_the_curve_was(ui, tmp_path):
    photos = make_class_folders(tmp_path / "tiny", {"red": 8, "green": 8, "blue": 8}, size=24)
    u = ui()
    u.upload_zip(zip_of(photos, tmp_path / "tiny.zip"))
    u.wait_text("#data-summary", r"tiny\.zip: 3 classes")
    u.choose_backbone("MobileNetV2")
    assert checked_preset(u) == "Balanced"
    u.set_number("epochs", 100)
    u.page.locator("#step-train").get_by_text(re.compile("^Only the last layer")).click()  # a fraction of a second an epoch on a CPU
    u.page.wait_for_function("() => document.querySelector('#preset input:checked')?.value === 'Custom'")
    u.shot("custom-preset")
    u.click("#train-btn")
    deadline, first = time.time() + 120, None
    while time.time() < deadline and u.points() < 15:
        if first is None and u.points() > 0:
            first = (time.perf_counter(), u.points())
        time.sleep(0.05)
    clicked = time.perf_counter()
    shown = u.page.evaluate(STOP_COUNTING)
    rate = (shown - first[1]) / (clicked - first[0])  # epochs a second, as the page saw them
    assert 15 <= shown < 95, (shown, u.text("#train-progress"))
    u.raw.get_by_text("Stopping after this batch").wait_for(timeout=5000)  # a toast, whichever step is open
    answered = time.perf_counter() - clicked
    progress = u.wait_text("#train-progress", r"Stopped after \d+ epochs?", 30)
    ended = int(re.search(r"Stopped after (\d+)", progress).group(1))
    u.shot("stopped")
    u.page.get_by_text("Runs of this project").click()
    runs = u.wait_text("#runs-table", "stopped", 30)
    print(f"Stop answered in {answered:.2f} s; the curve showed {shown} epochs, the model and the run ended with "
          f"{ended}; {rate:.1f} epochs a second")
    # Timing targets are measured, not asserted to the tenth (a busy 2-core machine answers every click later).
    # Whatever the lag, the Stop carries the epochs drawn when it was clicked and the training goes back to them
    # (before: 17 shown, 26 ended at 22 epochs a second; 41 shown, 78 ended before the throttle).
    assert answered <= 5.0, answered
    assert shown <= ended <= shown + 1 and "as the curve showed" in progress, (shown, ended, progress)
    assert u.points() == ended
    stopped = [row for row in u.table("#runs-table") if row.get("status") == "stopped"]
    assert [row["epochs"] for row in stopped] == [str(ended)], runs  # the run recorded is what the curve showed
    # choosing a preset again fills the settings, and the preset says which one they are
    u.page.locator("#step-train").get_by_text("Quick", exact=True).click()
    u.page.wait_for_function("() => document.querySelector('#epochs input[type=number]').value === '5'")
    assert checked_preset(u) == "Quick"


def test_a_training_goes_on_through_a_reload_and_the_page_follows_it_again(ui, tmp_path):
    photos = make_class_folders(tmp_path / "tiny", {"red": 20, "green": 20, "blue": 20}, size=24)
    u = ui()
    messages = []
    u.page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    u.upload_zip(zip_of(photos, tmp_path / "tiny.zip"))
    u.wait_text("#data-summary", r"tiny\.zip: 3 classes")
    u.choose_backbone("MobileNetV2")
    u.set_number("epochs", 100)
    u.page.locator("#step-train").get_by_text(re.compile("^The last block too")).click()  # slower epochs: a run that lasts a while
    u.page.locator("#step-train").get_by_text("Advanced", exact=True).click()
    u.set_number("train-batch", 4)  # (12 steps an epoch instead of 2)
    u.click("#train-btn")
    deadline = time.time() + 180
    while time.time() < deadline and u.points() < 3:
        time.sleep(0.1)
    before = u.points()
    assert before >= 3, u.text("#train-progress")
    u.shot("before-reload")
    u.page.reload()
    u.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)
    # the same project comes back, and its training with it: the curves continue past where they were
    u.wait_text("#project-status", r"Project “tiny”", 60)
    u.step("train")  # the person opens the Train step again: its curves go on
    deadline = time.time() + 120
    while time.time() < deadline and u.points() <= before + 2:
        time.sleep(0.1)
    after = u.points()
    assert after > before + 2, (before, after, u.text("#train-progress"))
    assert re.search(r"training · epoch \d+/100", u.text("#train-progress")), u.text("#train-progress")
    assert "MobileNetV2" in u.page.input_value("#backbone input")  # the form shows the running training's settings
    assert u.page.input_value("#epochs input[type=number]") == "100"
    u.shot("after-reload")
    shown = u.page.evaluate(STOP_COUNTING)  # Stop works on the reloaded page
    progress = u.wait_text("#train-progress", r"Stopped after \d+ epochs?", 60)
    ended = int(re.search(r"Stopped after (\d+)", progress).group(1))
    assert shown <= ended <= shown + 1, (shown, ended, progress)
    u.wait_text("#project-status", r"1 run; the active model is run \d+", 30)
    u.page.get_by_text("Runs of this project").click()
    runs = u.wait_text("#runs-table", "stopped", 30)
    u.shot("stopped-after-reload")
    print(f"before the reload the curve showed {before} epochs, after it {after}; stopped at {shown}, the run "
          f"ended with {ended}")
    stopped = [row for row in u.table("#runs-table") if row.get("status") == "stopped"]
    assert [row["epochs"] for row in stopped] == [str(ended)], runs
    assert not [m for m in messages if "errored" in m.lower() or "abort" in m.lower()], messages
