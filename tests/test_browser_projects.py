"""Projects that last, as a new user meets them in Chromium: a dropped folder becomes a project; a training is
recorded as a run; a reload brings back the same project, photos, runs and model; a second, worse run
stopped early does not replace the better model; deleting the project (asked first) removes its folder.
"""
from __future__ import annotations

import re

from conftest import make_class_folders


def _project_dirs(app_server):
    root = app_server.sessions.parent / "projects" / "projects"
    return {d.name for d in root.iterdir() if d.is_dir()} if root.is_dir() else set()


def test_project_survives_a_reload_keeps_the_better_model_and_deletes_cleanly(ui, app_server, tmp_path):
    birds = make_class_folders(tmp_path / "birds", {"robins": 12, "wrens": 12})
    before = _project_dirs(app_server)
    u = ui()
    u.page.set_input_files("#folder-drop input[type=file]", str(birds))
    u.wait_text("#data-summary", "2 classes")
    status = u.wait_text("#project-status", r"Project “birds”: 24 photos \(24 labelled\), 0 runs")
    mine = _project_dirs(app_server) - before
    assert len(mine) == 1, (status, mine)
    folder = app_server.sessions.parent / "projects" / "projects" / mine.pop()
    u.shot("project-from-folder")

    u.choose_backbone("MobileNetV2")
    u.set_number("epochs", 8)
    u.click("#train-btn")
    u.wait_text("#train-progress", "Done in", 180)
    status = u.wait_text("#project-status", r"1 run; the active model is run \d+ \(\d+%\)")
    run1 = int(re.search(r"active model is run (\d+)", status).group(1))
    acc1 = int(re.search(r"active model is run \d+ \((\d+)%\)", status).group(1))
    u.shot("trained-run-1")

    u.page.reload()
    u.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)
    u.wait_text("#project-status", rf"Project “birds”: 24 photos.*1 run; the active model is run {run1}", 60)
    assert re.search(r"2 classes", u.wait_text("#data-summary", "2 classes"))
    assert u.page.locator("#data-thumbs img").count() > 0
    u.wait_text("#try-status", "Model ready")
    assert "birds" in u.page.input_value("#project-pick input")
    u.page.get_by_text("Runs of this project").click()
    runs = u.wait_text("#runs-table", "finished")
    assert f"{acc1}%" in runs
    u.shot("after-reload")

    # a second run, from scratch and stopped after its first epoch: worse, so the better model stays active
    u.page.locator("#step-train").get_by_label("Start from ImageNet knowledge (recommended)").uncheck()
    u.set_number("epochs", 100)
    u.click("#train-btn")
    u.wait_text("#train-progress", r"training · epoch \d+/100", 180)  # (the curves shown were run 1's)
    u.click("#stop-btn")
    u.wait_text("#train-progress", r"Stopped", 60)
    status = u.wait_text("#project-status", rf"2 runs; the active model is run {run1} \({acc1}%\)", 60)
    assert re.search(rf"This run \(\d+%\) is kept in the list; the active model is still run {run1} \({acc1}%\)",
                     status + u.text("#train-progress")), status
    runs = u.wait_text("#runs-table", "stopped")
    assert "finished" in runs
    u.shot("stopped-worse-run")
    u.click("#run-compare")  # the two runs, curves overlaid and the settings that differ in bold
    table = u.wait_text("#cmp-settings", "pretrained", 30)
    assert re.search(r"pretrained\s+True\s+False", table), table
    assert u.page.locator("#cmp-settings strong", has_text="pretrained").count() == 1
    u.page.locator("#cmp-plot .js-plotly-plot").wait_for(timeout=30_000)
    u.shot("compare-runs")

    u.click("#project-delete")
    u.page.wait_for_selector("#project-delete-yes", state="visible")
    u.shot("delete-asks-first")
    assert folder.is_dir()
    u.click("#project-delete-yes")
    u.wait_text("#project-status", "No project yet", 30)
    assert not folder.exists()
    u.wait_text("#data-summary", "Nothing loaded yet")
    u.shot("deleted")
