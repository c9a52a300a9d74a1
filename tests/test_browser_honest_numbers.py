"""Numbers a person can trust when the model helped label, in Chromium (the issue's acceptance for item 2): the
trial that made the page say "100% right … likely between 93% and 100%" while the model got 82% on photos
nobody labelled, run again. flowers/train becomes an unsorted pile (copied flat under opaque names; the test
answers from the folder names, as a person would from the photo, without slips), about 48 photos are labelled
from "Ask me" (which now includes the check set: photos drawn at random, marked 🎲), every suggestion at 55% or
above is accepted (typed into each class's box: the trial accepted most of the pool), and a model is trained
with the default settings (MobileNetV2, the weights the test server has). The Check step, the project bar, the
runs table and the demo page must then state an interval that contains the model's accuracy on flowers/val,
which nobody labelled in the project.

The interval is a 95% one: about one trial in twenty may honestly miss (the check set is drawn afresh each
run). Skips, saying why, where /work/shared (../shared) is absent; in CI a missing ../shared is a failure
(tests/conftest.py), never a skip.
"""
from __future__ import annotations

import re
import sqlite3

from test_browser_label import (HAND_LABELS, Labeller, make_pile, pile_project, project_labels, show, snap,
                                train_the_labelled)

INTERVAL = re.compile(r"likely between (\d+)% and (\d+)%")
ACCEPT_AT = 55  # the trial accepted most of the pool (212 of 252): a threshold set here, not the page's default


class Person(Labeller):
    """Labels every photo shown with its right class: the trial of the issue had no slips."""

    def answer_shown(self) -> int:
        by_class: dict[str, list[str]] = {}
        for t in self.tiles():
            by_class.setdefault(self.truth[t["name"]], []).append(t["id"])
        self.rounds += 1
        for cls, ids in sorted(by_class.items()):
            self.label(ids, cls)
        return sum(map(len, by_class.values()))


def accept_at(u, person: Person, at: int = ACCEPT_AT) -> int:
    """Accept, class after class, every suggestion at `at`% or above, typed into the class's own box as a
    person would; returns how many were accepted."""
    accepted = 0
    for _ in range(20):
        ready = []
        for g in u.page.eval_on_selector_all("#label-grid input[data-thr^='s:']", "xs => xs.map(x => x.dataset.thr)"):
            caps = u.page.eval_on_selector_all(f'#label-grid .fl-tile[data-group="{g}"] .fl-cap',
                                               "cs => cs.map(c => c.innerText)")
            if caps and int(caps[0].strip().rstrip("%")) >= at:  # the most confident first
                ready.append(g)
        if not ready:
            break
        before = person.labelled()
        u.page.fill(f'#label-grid input[data-thr="{ready[0]}"]', str(at))
        u.page.click(f'#label-grid button[data-act="accept"][data-group="{ready[0]}"]')
        u.page.wait_for_function(
            "n => { const m = /(\\d+) labelled/.exec(document.querySelector('#label-status').innerText);"
            " return m && Number(m[1]) > n; }", arg=before, timeout=60_000)
        accepted += person.labelled() - before
    return accepted


def stated(text: str) -> tuple[float, float]:
    """The interval a text states, as fractions."""
    found = INTERVAL.search(text)
    assert found, text[:600]
    return int(found.group(1)) / 100, int(found.group(2)) / 100


def check_set_rows(app_server, truth: dict[str, str]) -> list[tuple]:
    """(name, label, label_source, checkset) of the pile's photos in the project this test made."""
    db = sqlite3.connect(app_server.sessions.parent / "projects" / "projects.db")
    try:
        pid = pile_project(db, truth)
        rows = db.execute("SELECT path, label, label_source, checkset FROM photos WHERE project_id = ?",
                          (pid,)).fetchall()
    finally:
        db.close()
    return [(p.split("/")[-1], lab, src, chk) for p, lab, src, chk in rows]


def demo_card(u, browser) -> str:
    """Step 5's Share block makes a demo link; a visitor opens it and reads About this model."""
    u.page.locator("#step-share").get_by_text("Share a demo link").click()
    u.click("#share-make")
    u.wait_text("#share-links", r"/m/", 60)
    href = u.page.locator("#share-links a").first.get_attribute("href")
    visitor = browser.new_context()
    try:
        v = visitor.new_page()
        v.goto(href)
        v.wait_for_function("() => /daisy/.test(document.querySelector('#demo-head')?.innerText || '')",
                            timeout=60_000)
        v.get_by_text("About this model").click()
        v.wait_for_function("() => /likely between/.test(document.querySelector('#demo-card')?.innerText || '')",
                            timeout=30_000)
        v.screenshot(path=u.shots / "demo-page-card.png", full_page=True)
        return v.inner_text("#demo-card")
    finally:
        visitor.close()


def label_the_pile(u, app_server, truth: dict[str, str]) -> tuple[int, int, list[tuple], list[tuple]]:
    """The person's part: name the classes, label what "Ask me" shows until HAND_LABELS, accept the suggestions
    at ACCEPT_AT%. Returns (labels by hand, accepted, the pile's rows, the check set's rows)."""
    for cls in sorted(set(truth.values())):
        u.page.fill("#label-class-name input, #label-class-name textarea", cls)
        u.page.press("#label-class-name input, #label-class-name textarea", "Enter")
        u.page.wait_for_selector(f'#label-grid button[data-act="label"][data-cls="{cls}"]', timeout=30_000)
    assert "picked at random" in u.text("#label-grid")  # the check set is asked for, in plain words
    snap(u, "asked-with-the-check-set")
    person = Person(u, truth)
    given = 0
    while given < HAND_LABELS:
        given += person.answer_shown()
    show(u, "Suggestions")
    accepted = accept_at(u, person)
    rows = check_set_rows(app_server, truth)
    check = [r for r in rows if r[3]]
    assert len(check) >= 20 and all(src == "person" and lab == truth[name] for name, lab, src, _ in check)
    return given, accepted, rows, check


def check_step(u, n_check: int) -> tuple[str, float, float]:
    """After training: the Check step's words and interval, and the same in the project bar and runs table."""
    checked = u.text("#accuracy")
    low, high = stated(checked)
    assert "check photos" in checked and "picked at random" in checked
    if (high - low) / 2 > 0.1:  # too wide: the page says how many more photos to label, and for what
        assert re.search(r"Label \d+ more photos at random to know it within ±10 points", checked), checked
    u.page.locator("#accuracy").screenshot(path=u.shots / "check-step-accuracy.png")
    bar = u.text("#project-status")  # the project bar and its runs table say the same, with the photos behind it
    assert f"Checked on {n_check} photos picked at random" in bar and f"likely between {low:.0%} and {high:.0%}" in bar
    u.page.get_by_text("Runs of this project").click()
    u.page.wait_for_selector("#runs-table table", timeout=30_000)
    runs = u.text("#runs-table")
    assert f"{low:.0%}–{high:.0%}" in runs and f"{n_check} 🎲" in runs, runs
    u.page.locator("#runs-box").screenshot(path=u.shots / "runs-table.png")
    return checked, low, high


def test_after_the_model_helped_label_the_check_step_and_the_demo_page_state_an_interval_that_holds(
        ui, app_server, browser, tmp_path, shared_data):
    from fewshot.bundle import load_bundle
    from fewshot.predict import evaluate_photos
    flowers = shared_data("flowers")  # skips, saying why, where ../shared is absent
    truth = make_pile(flowers, tmp_path / "pile")
    u = ui()
    u.page.set_input_files("#pool-drop input[type=file]", str(tmp_path / "pile"))
    u.wait_text("#label-progress", r"features of 300 photos are ready", 900)
    given, accepted, rows, check = label_the_pile(u, app_server, truth)
    wrong = sum(1 for name, lab, src, _ in rows if src == "suggestion" and lab != truth[name])
    train_the_labelled(u)
    checked, low, high = check_step(u, len(check))
    tm = load_bundle(project_labels(app_server, truth)[1])
    assert tm.metrics["validation"] == "checkset" and tm.metrics["val_photos"] == len(check)
    true_acc = evaluate_photos(tm, flowers / "val").report.accuracy
    card = demo_card(u, browser)
    print(f"\nlabelled by hand: {given} ({len(check)} of them the check set), suggestions accepted: {accepted} "
          f"({wrong} wrong); trained on {len(rows) - sum(r[1] is None for r in rows) - len(check)} photos")
    print("Check step: " + " | ".join(line for line in checked.splitlines()
                                      if re.search(r"right$|likely between|more photos", line)))
    print(f"demo page: {next(line for line in card.splitlines() if 'likely between' in line)}")
    print(f"accuracy on flowers/val (300 photos nobody labelled here): {true_acc:.3f}; stated interval "
          f"{low:.0%}-{high:.0%}")
    assert stated(card) == (low, high)
    # the page rounds to whole per cents: the true figure is inside within that rounding
    assert low - 0.005 <= true_acc <= high + 0.005, (low, true_acc, high)
    assert "100% right" not in checked or high - low > 0.1  # never the confident 100% the issue measured
