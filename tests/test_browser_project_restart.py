"""Issue 14's acceptance step "restart the server: all still there", in Chromium: a project from a dropped folder,
trained; the server process stopped (SIGTERM, as `kill`, `docker stop` and a Space's restart do) and a new one
started on the same FEWSHOT_DATA_DIR and port; the page reloaded shows the same project, photos, runs and
active model, and a prediction works.
"""
from __future__ import annotations

import re

from conftest import make_class_folders
from conftest_app import LAPTOP, Ui, _free_port, restartable_app


def test_a_restarted_server_brings_back_the_project_its_runs_and_model(browser, pretrained_home, tmp_path):
    base, port = tmp_path / "server", _free_port()
    base.mkdir()
    owls = make_class_folders(tmp_path / "owls", {"barn": 10, "snowy": 10})

    def start():
        return restartable_app(base, port, TORCH_HOME=str(pretrained_home))

    first, server = start()
    u = Ui(browser, server, tmp_path / "screens", LAPTOP)
    try:
        u.page.set_input_files("#folder-drop input[type=file]", str(owls))
        u.wait_text("#project-status", r"Project “owls”: 20 photos \(20 labelled\), 0 runs")
        u.choose_backbone("MobileNetV2")
        u.set_number("epochs", 3)
        u.click("#train-btn")
        u.wait_text("#train-progress", "Done in", 180)
        status = u.wait_text("#project-status", r"1 run; the active model is run \d+ \(\d+%\)")
        active = re.search(r"the active model is run \d+ \(\d+%\)", status).group(0)
        u.shot("before-restart")

        first.close()  # SIGTERM to app.py, then wait for it to end
        second, server = start()
        try:
            u.page.reload()
            u.page.wait_for_selector("#folder-drop input[type=file]", state="attached", timeout=60_000)
            after = u.wait_text("#project-status", r"Project “owls”: 20 photos \(20 labelled\), 1 run;", 60)
            assert active in after, after  # the same run is the active model
            assert "owls" in u.page.input_value("#project-pick input")
            u.wait_text("#data-summary", "2 classes")
            assert u.page.locator("#data-thumbs img").count() > 0
            u.wait_text("#try-status", "Model ready. It knows: barn, snowy")
            u.page.get_by_text("Runs of this project").click()
            runs = u.wait_text("#runs-table", "finished")
            assert re.search(r"\d+%", runs)
            u.page.set_input_files("#try-image input[type=file]", str(next((owls / "snowy").glob("*.png"))))
            label = u.wait_text("#try-label", r"\d+%", 60)
            assert "barn" in label and "snowy" in label
            u.shot("after-restart")
        finally:
            second.close()
        assert not u.errors, u.errors
    finally:
        u.close()
