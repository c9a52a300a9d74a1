"""The project bar's import drop zone follows the page's language both ways (issue 24): Gradio draws a drop zone's
own words once, in the language of the moment it appeared, so after 中文 → English it still said "将文件拖放到此处".
Chromium against `python app.py`."""
from __future__ import annotations

import re


def test_the_project_import_drop_zone_follows_the_language_switch_both_ways(ui):
    u = ui(locale="zh-CN")
    u.wait_text("#train-btn", "训练", 60)
    u.page.locator("#runs-box").get_by_text(re.compile("本项目的训练记录")).first.click()
    zone = "#project-import"
    assert "将文件拖放到此处" in u.wait_text(zone, "将文件拖放到此处", 30)
    u.click("[data-fs-lang=en]")
    shown = u.wait_text(zone, "Drop File Here", 30)
    assert "Import a project archive" in shown and not re.search(r"[\u4e00-\u9fff]", shown), shown
    u.click("[data-fs-lang='zh-CN']")
    shown = u.wait_text(zone, "将文件拖放到此处", 30)
    assert "导入项目归档" in shown and "Drop File" not in shown, shown
