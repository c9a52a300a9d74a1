"""Step 3 in Chromium: every caption of the photos it got wrong is in view, the confusion matrix's axis
titles keep clear of long class names, and other photos are checked on the page."""
from __future__ import annotations

import math

from conftest import make_class_folders
from conftest_app import zip_of

# three classes of the same colour: a model cannot tell them apart, so it makes mistakes
NAMES = ["a rather long class name number one", "another quite long class name", "third"]


def _boxes(page, selector: str) -> list[dict]:
    return page.evaluate(f"""() => [...document.querySelectorAll({selector!r})].map(e => {{
        const r = e.getBoundingClientRect(); return {{x: r.left, y: r.top, r: r.right, b: r.bottom,
        cut: e.scrollWidth > e.clientWidth + 1, text: e.textContent}}; }})""")


def _inside(inner: dict, outer: dict) -> bool:
    return inner["x"] >= outer["x"] - 1 and inner["r"] <= outer["r"] + 1 and \
        inner["y"] >= outer["y"] - 1 and inner["b"] <= outer["b"] + 1


def _apart(a: dict, b: dict) -> bool:
    return a["r"] <= b["x"] or b["r"] <= a["x"] or a["b"] <= b["y"] or b["b"] <= a["y"]


def test_mistake_captions_are_in_view_and_axis_titles_clear_long_names(ui, tmp_path):
    root = tmp_path / "look-alike"
    for i, name in enumerate(NAMES):
        make_class_folders(root, {name: 10}, seed=i)  # the same colour for each class (the first one)
    u = ui()
    u.upload_zip(zip_of(root, tmp_path / "look-alike.zip"))
    u.wait_text("#data-summary", r"3 classes")
    assert "random 20%" not in u.text("#data-summary") and "third 2/10" in u.text("#data-summary")
    u.choose_backbone("MobileNetV2")
    u.set_number("epochs", 1)
    u.click("#train-btn")
    acc = u.wait_text("#accuracy", r"% right", 180)
    assert "likely between" in acc and "Only 6 validation photos" in acc and "33% with 3 classes" in acc
    u.page.wait_for_selector("#mistakes .caption-label", timeout=30_000)
    u.page.locator("#mistakes").scroll_into_view_if_needed()
    gallery = u.page.evaluate("""() => { const g = document.querySelector('#mistakes .grid-wrap')
        || document.querySelector('#mistakes'); const r = g.getBoundingClientRect();
        return {x: r.left, y: r.top, r: r.right, b: r.bottom}; }""")
    captions = _boxes(u.page, "#mistakes .caption-label")
    tiles = _boxes(u.page, "#mistakes .thumbnail-item")
    assert gallery["b"] - max(t["b"] for t in tiles) < 60  # no empty band under the photos
    label = _boxes(u.page, "#mistakes label, #mistakes .label-wrap, #mistakes [data-testid=block-label]")
    for t in tiles:  # the gallery's title does not cover the photos
        assert all(_apart(t, lb) for lb in label), (t, label)
    u.shot("mistakes")
    assert captions and all("→" in c["text"] for c in captions)
    for c in captions:  # each caption whole and in the gallery's visible box, without scrolling inside it
        assert _inside(c, gallery), (c, gallery)
        assert not c["cut"], c
    u.page.locator("#confusion").scroll_into_view_if_needed()
    y_title = _boxes(u.page, "#confusion .ytitle")[0]
    x_title = _boxes(u.page, "#confusion .xtitle")[0]
    for t in _boxes(u.page, "#confusion .ytick text"):
        assert _apart(t, y_title) and t["x"] >= 0, (t, y_title)
    ticks = _boxes(u.page, "#confusion .xtick text")
    for t in ticks:
        assert _apart(t, x_title), (t, x_title)
    angle = u.page.evaluate("() => document.querySelector('#confusion .js-plotly-plot')._fullLayout.xaxis"
                            "._tickAngles?.xtick ?? document.querySelector('#confusion .js-plotly-plot')"
                            "._fullLayout.xaxis.tickangle")
    for a, b in zip(ticks, ticks[1:]):  # long names under the columns do not run into each other:
        if not _apart(a, b):  # slanted, their lines lie (gap between columns) x sin(angle) apart
            assert angle not in (0, None, "auto") and (b["r"] - a["r"]) * abs(math.sin(math.radians(angle))) > 16, \
                (a, b, angle)
    u.shot("confusion")
