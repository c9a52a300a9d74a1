"""The runs table as a person sees it (issue 24), in Chromium against `python app.py` serving one person: a project
the command line's owner made (six runs that failed with command-line wording, then one that trained) opens in the
page, and its active run is the first row, in sight without scrolling inside the table at 1280 px and on a 390 px
phone, with notes in the page's words (no flags, no server paths) and, in 中文, its words in Chinese."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from conftest import make_class_folders
from conftest_app import LAPTOP, PHONE, Ui, launch_app

from fewshot.config import TrainConfig

CLI_NOTE = ("WeightsUnavailable: The ImageNet weights are not in /root/.cache/torch/hub/checkpoints. Train with "
            "--scratch, or give --weights FILE.")
ROW_IN_SIGHT = """() => {
  const table = document.querySelector('#runs-table');
  const row = [...table.querySelectorAll('[role=row]')].find(r => /in use|使用中/.test(r.innerText));
  if (!row) return null;
  const r = row.getBoundingClientRect();
  let box = row.parentElement;  // the nearest box that scrolls: the row must be inside what it shows
  while (box && box !== table && !(box.scrollHeight > box.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
  const b = (box || table).getBoundingClientRect();
  return {first: row.querySelector('[role=gridcell]').innerText.trim(), top: r.top, bottom: r.bottom,
          boxTop: b.top, boxBottom: b.bottom, scrolled: box ? box.scrollTop : 0, vh: innerHeight};
}"""


@pytest.fixture(scope="module")
def one_person(tmp_path_factory, pretrained_home):
    base = tmp_path_factory.mktemp("laptop")
    mp = pytest.MonkeyPatch()
    mp.setenv("FEWSHOT_DATA_DIR", str(base / "projects"))
    from fewshot.project import ProjectStore
    p = ProjectStore(base / "projects").create("local", "flowers")  # as `python -m fewshot project new` does
    p.add_photos(make_class_folders(base / "photos", {"roses": 8, "tulips": 8}, size=32))
    for _ in range(6):
        p.finish_run(p.start_run({"arch": "resnet18", "pretrained": True}), "failed", message=CLI_NOTE)
    list(p.train(TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8, stage="head")))
    assert p.active_run().number == 7
    mp.undo()
    for url, _log in launch_app(base, TORCH_HOME=str(pretrained_home), FEWSHOT_MANY_USERS=""):
        yield SimpleNamespace(url=url)


@pytest.mark.parametrize("viewport,locale", [(LAPTOP, "en-US"), (PHONE, "zh-CN")], ids=["1280px-en", "390px-zh"])
def test_the_active_run_is_the_first_row_in_sight_and_in_the_pages_words(one_person, browser, tmp_path, viewport,
                                                                         locale):
    u = Ui(browser, one_person, tmp_path / "screens", viewport, locale)
    try:
        u.page.click("#project-pick input")
        u.page.get_by_role("option", name=re.compile("flowers")).first.click()  # the command line's project
        u.page.locator("#runs-box").get_by_text(re.compile("Runs of this project|本项目的训练记录")).first.click()
        text = u.wait_text("#runs-table", "in use|使用中", 60)
        u.page.locator("#runs-table").scroll_into_view_if_needed()
        u.shot(f"runs-{viewport['width']}")
        seen = u.page.evaluate(ROW_IN_SIGHT)
        assert seen["first"] == "7" and seen["scrolled"] == 0, seen
        assert seen["boxTop"] <= seen["top"] and seen["bottom"] <= seen["boxBottom"], seen  # no scrolling inside
        assert "--scratch" not in text and "/root" not in text and "WeightsUnavailable" not in text
        if locale == "zh-CN":
            assert "使用中" in text and "失败" in text and "已完成" in text
            assert not re.search(r"\b(failed|finished|epochs|in use)\b", text), text
        else:
            assert "Failed after training had started." in text
    finally:
        u.close()
