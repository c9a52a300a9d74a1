"""Undo in the Label step after the server restarts, in Chromium: a pile dropped, photos labelled by mistake,
the server stopped (SIGTERM) and a new one started on the same data folder, the page reloaded: "↶ Undo" takes
the labels back (the history is the project's, fewshot/project/undo.py), instead of "nothing to undo".
"""
from __future__ import annotations

import shutil

from conftest import make_class_folders
from conftest_app import LAPTOP, Ui, _free_port, restartable_app
from test_browser_label import Labeller, snap


def test_undo_after_a_server_restart_and_a_reload_takes_back_the_labels_just_given(browser, pretrained_home,
                                                                                  tmp_path):
    base, port = tmp_path / "server", _free_port()
    base.mkdir()
    sorted_ = make_class_folders(tmp_path / "sorted", {"red": 6, "green": 6})
    pile, truth = tmp_path / "pile", {}
    pile.mkdir()
    for i, f in enumerate(sorted(sorted_.rglob("*.png"))):  # flat, opaque names: an unsorted pile
        shutil.copyfile(f, pile / f"p{i:02d}.png")
        truth[f"p{i:02d}.png"] = f.parent.name

    def start():
        return restartable_app(base, port, TORCH_HOME=str(pretrained_home))

    first, server = start()
    u = Ui(browser, server, tmp_path / "screens", LAPTOP)
    try:
        u.page.set_input_files("#folder-drop input[type=file]:not(.fs-files)", str(pile))
        u.wait_text("#label-progress", r"features of 12 photos are ready", 300)
        u.page.fill("#label-class-name input, #label-class-name textarea", "red")
        u.page.press("#label-class-name input, #label-class-name textarea", "Enter")
        u.page.wait_for_selector('#label-grid button[data-act="label"][data-cls="red"]', timeout=30_000)
        lab = Labeller(u, truth)
        ids = [t["id"] for t in lab.tiles()][:5]
        lab.label(ids, "red")  # five photos, say by mistake
        snap(u, "labelled-by-mistake")

        first.close()  # SIGTERM to app.py, then wait for it to end
        second, server = start()
        try:
            u.page.reload()
            u.page.wait_for_selector("#label-undo", timeout=60_000)
            u.wait_text("#project-status", r"Project “pile”: 12 photos \(5 labelled\)", 60)
            u.click("#label-undo")
            u.wait_text("#label-status", r"12 photos\*?\*?: 0 labelled", 60)
            u.wait_text("#project-status", r"Project “pile”: 12 photos \(0 labelled\)", 60)
            snap(u, "after-restart-undone")
            u.click("#label-undo")  # the history is used up: said in plain words
            u.page.get_by_text("There is nothing to undo.").first.wait_for(timeout=30_000)
            u.shot("nothing-left-to-undo")
        finally:
            second.close()
        assert not u.errors, u.errors
    finally:
        u.close()
