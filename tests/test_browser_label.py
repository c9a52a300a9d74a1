"""The Label step in Chromium (issues 15 and 22): an unsorted pile made from flowers/train (copied flat under
opaque names; the test answers from a dict built from the folder names, as a person would from the photo, and
slips once a round on purpose) becomes a labelled project and a model: label the cold-start and ask-next photos;
at 48 labels the page promises no threshold and Accept takes nothing by default; review the suspects (the slips
so far, where they show); label what is asked, without slips now, until it promises one; accept the suggestions in bulk at it
(they are as right as promised, within 3 points; where none is promised by MAX_HAND_LABELS, the person types
TYPED_AT and the bound the page then states must hold: the bounds rest on the 20 check photos only, drawn at
random, which can show at most 89%, so the page promises no 95% default here); review the suspects again; train with the default settings (MobileNetV2: the
weights the test server has), and the model on flowers/val reaches what 50 random labels give.

The bound, 0.77, is issue 15's figure for 50 random labels with fewshot's default training on flowers
(bench/README.md measures 0.746 ± 0.043 for the engine's own head on 50 random labels, so 0.77 is the
stricter of the two). The time from a labelling batch to refreshed suggestions is printed, not asserted
(target 2 s; a shared machine's load is not this code's doing).
"""
from __future__ import annotations

import random
import re
import shutil
import sqlite3
import statistics
import time
from pathlib import Path


# What random labels give when trained with the defaults (bench/README.md: 20 -> 0.652, 50 -> 0.793; issue 15
# asked for 0.77 at 50). Of the 90 or more labels given here before a threshold is promised, the 20 the check set
# asks for grade the model and do not train it (issue 22), so more than 50 others train it: 0.77 is the floor.
RANDOM_50_LABELS = 0.77
HAND_LABELS = 48  # four rounds of the 12 photos "Ask me" shows
# judged on the labels "Ask me" picked, a 95% threshold came after 90-180 labels and once promised 95% where 91%
# were right; judged on the 20 random check photos alone (at most 89%, 90% sure) none comes: the person types one
MAX_HAND_LABELS = 96
TYPED_AT = 90  # what the person types when the page still promises none



def train_the_labelled(u) -> None:
    """Use the labelled photos for training and train MobileNetV2 with the defaults, as a person would."""
    u.click("#label-use")
    u.wait_text("#data-summary", "5 classes", 120)
    u.choose_backbone("MobileNetV2")
    u.click("#train-btn")
    u.wait_text("#train-progress", "Done in", 900)
    u.shot("trained")

def make_pile(flowers: Path, out: Path) -> dict[str, str]:
    """flowers/train copied into one folder under opaque names; returns {name: class}."""
    files = sorted(flowers.glob("train/*/*.jpg"))
    random.Random(0).shuffle(files)
    out.mkdir(parents=True)
    truth = {}
    for i, f in enumerate(files):
        name = f"p{i:04d}.jpg"
        shutil.copyfile(f, out / name)
        truth[name] = f.parent.name
    return truth


class Labeller:
    """Answers from the hidden folder names, through the page like a person, and times each answer."""

    def __init__(self, u, truth: dict[str, str]) -> None:
        self.u, self.truth, self.times = u, truth, []
        self.slips: list[str] = []  # photos it labels wrong on purpose: people do, and suspects should catch it
        self.rounds = 0
        self.slipping = True  # one slip a round after the first, while True

    def tiles(self) -> list[dict]:
        return self.u.page.eval_on_selector_all(
            "#label-grid .fl-tile", "els => els.map(e => ({id: e.dataset.id, name: e.title.split('/').pop(), "
                                    "cap: e.querySelector('.fl-cap').innerText, group: e.dataset.group}))")

    def labelled(self) -> int:
        return int(re.search(r"(\d+) labelled", self.u.text("#label-status")).group(1))

    def key_of(self, cls: str) -> str:
        return self.u.page.get_attribute(f'#label-grid button[data-act="label"][data-cls="{cls}"]', "data-key")

    def wait_labelled(self, n: int, timeout_s: float = 60) -> None:
        self.u.page.wait_for_function(
            "n => { const m = /(\\d+) labelled/.exec(document.querySelector('#label-status').innerText);"
            " return m && Number(m[1]) === n; }", arg=n, timeout=timeout_s * 1000)

    def label(self, ids: list[str], cls: str) -> float:
        """Select the photos (click, then shift-click for a neighbour) and press the class's key."""
        before = self.labelled()
        for i in ids:
            self.u.page.click(f'#label-grid .fl-tile[data-id="{i}"] img')
        assert self.u.page.locator("#label-grid .fl-sel").count() == len(ids)
        t0 = time.perf_counter()
        self.u.page.keyboard.press(self.key_of(cls))
        self.wait_labelled(before + len(ids))
        self.u.page.wait_for_selector(f'#label-grid .fl-tile[data-id="{ids[0]}"]', state="detached")
        took = time.perf_counter() - t0
        self.times.append(took)
        return took

    def answer_shown(self) -> int:
        """Label the photos shown; after the first round, one a round gets the wrong class (a slip)."""
        by_class: dict[str, list[str]] = {}
        classes = sorted(set(self.truth.values()))
        for i, t in enumerate(self.tiles()):
            right = self.truth[t["name"]]
            if self.slipping and self.rounds and i == 0:
                right = classes[(classes.index(right) + 1) % len(classes)]
                self.slips.append(t["name"])
            by_class.setdefault(right, []).append(t["id"])
        self.rounds += 1
        for cls, ids in sorted(by_class.items()):
            self.label(ids, cls)
        return sum(map(len, by_class.values()))


def snap(u, name: str) -> None:
    """The whole page, and the Label step's status and grid close up (what the full page shows too small)."""
    u.shot(name)
    scroll = u.page.evaluate("window.scrollY")  # boxes are in the viewport's coordinates, a clip in the page's
    box = u.page.locator("#label-status").bounding_box()
    grid = u.page.locator("#label-grid").bounding_box()
    box["y"] += scroll
    grid["y"] += scroll
    top = max(0, box["y"] - 220)
    u.page.screenshot(path=u.shots / f"{len(list(u.shots.iterdir())):02d}-{name}-closeup.png", full_page=True,
                      clip={"x": 0, "y": top, "width": 1280, "height": min(1400, grid["y"] + grid["height"] - top)})


def show(u, view: str) -> None:
    u.page.locator("#label-view label", has_text=view).click()
    u.page.wait_for_function(f"() => document.querySelector('#label-grid .fl-root')?.dataset.view === "
                             f"{ {'Ask me': 'ask', 'Suggestions': 'suggest', 'Suspicious labels': 'suspects'}[view]!r}")


def at_or_above(group_head: str) -> int:
    """How many suggestions a group's head counts at or above the default threshold; 0 where it names none (once
    everything above it is accepted, the page offers no threshold any more: a group then says "N suggested")."""
    found = re.search(r"(\d+) at or above", group_head)
    return int(found.group(1)) if found else 0


def accept_all(u, lab: Labeller) -> int:
    """Accept every class's suggestions at or above the page's default threshold; returns how many."""
    accepted = 0
    for _ in range(10):
        heads = u.page.eval_on_selector_all("#label-grid .fl-group", "gs => gs.map(g => g.innerText)")
        ready = [h for h in heads if at_or_above(h) > 0]
        if not ready:
            break
        cls = ready[0].split()[0]
        before = lab.labelled()
        t0 = time.perf_counter()
        u.page.click(f'#label-grid button[data-act="accept"][data-cls="{cls}"]')
        u.page.wait_for_function(
            "n => { const m = /(\\d+) labelled/.exec(document.querySelector('#label-status').innerText);"
            " return m && Number(m[1]) > n; }", arg=before, timeout=60_000)
        lab.times.append(time.perf_counter() - t0)
        accepted += lab.labelled() - before
    return accepted


def accept_typed(u, lab: Labeller, at: int) -> int:
    """Accept, group after group, the suggestions at `at`% or above, typed into the group's own box as a person
    would (only groups whose most confident suggestion reaches it); returns how many."""
    accepted = 0
    for _ in range(10):
        groups = u.page.eval_on_selector_all("#label-grid input[data-thr^='s:']", "xs => xs.map(x => x.dataset.thr)")
        tops = [(u.page.eval_on_selector_all(f'#label-grid .fl-tile[data-group="{g}"] .fl-cap',
                                             "cs => cs.map(c => c.innerText)") or ["0%"])[0] for g in groups]
        ready = [g for g, top in zip(groups, tops) if int(top.rstrip("%")) >= at]  # the most confident reaches it
        if not ready:
            break
        before = lab.labelled()
        u.page.fill(f'#label-grid input[data-thr="{ready[0]}"]', str(at))
        u.page.click(f'#label-grid button[data-act="accept"][data-group="{ready[0]}"]')
        lab.u.page.wait_for_function(
            "n => { const m = /(\\d+) labelled/.exec(document.querySelector('#label-status').innerText);"
            " return m && Number(m[1]) > n; }", arg=before, timeout=60_000)
        accepted += lab.labelled() - before
    return accepted


def fix_suspects(u, lab: Labeller) -> tuple[int, int, int]:
    """Each suspect: Fix when the suggestion is right, Keep when the given label is, else the right key."""
    fixed = kept = relabelled = 0
    for _ in range(60):
        shown = lab.tiles()
        if not shown:
            break
        t = shown[0]
        given, suggested = [s.strip() for s in t["cap"].split("→")]
        right = lab.truth[t["name"]]
        tile = f'#label-grid .fl-tile[data-id="{t["id"]}"]'
        if right == suggested:
            u.page.click(f"{tile} button[data-act=fix]")
            fixed += 1
        elif right == given:
            u.page.click(f"{tile} button[data-act=keep]")
            kept += 1
        else:
            u.page.click(f"{tile} img")
            u.page.keyboard.press(lab.key_of(right))
            relabelled += 1
        u.page.wait_for_selector(tile, state="detached", timeout=60_000)
    return fixed, kept, relabelled


def pile_project(db: sqlite3.Connection, truth: dict[str, str]) -> str:
    """The id of the newest project whose photos are this pile: the one this test made (the two Label-step
    trials drop the same pile on the same server)."""
    rows = db.execute("SELECT ph.path, ph.project_id FROM photos ph JOIN projects p ON p.id = ph.project_id "
                      "WHERE ph.path LIKE 'pile/%' ORDER BY p.created DESC, p.rowid DESC").fetchall()
    names: dict[str, set] = {}
    for path, pid in rows:
        names.setdefault(pid, set()).add(Path(path).name)
    return next(pid for pid in dict.fromkeys(pid for _, pid in rows) if names[pid] == set(truth))


def project_labels(app_server, truth: dict[str, str]) -> tuple[dict[str, str], Path | None]:
    """{photo name: label} of the project this test made from the pile, and its active run's model file."""
    db = sqlite3.connect(app_server.sessions.parent / "projects" / "projects.db")
    try:
        pid = pile_project(db, truth)
        rows = db.execute("SELECT path, label FROM photos WHERE project_id = ?", (pid,)).fetchall()
        run = db.execute("SELECT r.bundle FROM projects p JOIN runs r ON r.id = p.active_run WHERE p.id = ?",
                         (pid,)).fetchone()
    finally:
        db.close()
    runs = app_server.sessions.parent / "projects" / "projects" / pid / "runs"
    return {Path(p).name: lab for p, lab in rows}, (runs / run[0] if run and run[0] else None)


def test_an_unsorted_pile_becomes_a_labelled_project_and_a_model_with_the_models_help(ui, app_server, tmp_path,
                                                                                       shared_data):
    flowers = shared_data("flowers")  # skips, saying why, where ../shared is absent
    truth = make_pile(flowers, tmp_path / "pile")
    classes = sorted(set(truth.values()))
    u = ui()
    u.page.set_input_files("#folder-drop input[type=file]:not(.fs-files)", str(tmp_path / "pile"))
    u.wait_text("#label-progress", r"features of 300 photos are ready", 900)
    u.wait_text("#label-status", r"300 photos\*?\*?: 0 labelled")
    assert "cover your pool best" in u.text("#label-grid")
    assert u.page.locator("#label-grid .fl-tile").count() == 12
    for cls in classes:  # the classes, named as they turn up
        u.page.fill("#label-class-name input, #label-class-name textarea", cls)
        u.page.press("#label-class-name input, #label-class-name textarea", "Enter")
        u.page.wait_for_selector(f'#label-grid button[data-act="label"][data-cls="{cls}"]', timeout=30_000)
    snap(u, "cold-start")
    lab = Labeller(u, truth)

    given = lab.answer_shown()  # the cold start: photos that cover the pool
    snap(u, "after-cold-start")
    while given < HAND_LABELS:  # then the photos that teach the model most
        assert "teach the model most" in u.text("#label-grid")
        given += lab.answer_shown()
    snap(u, "ask-next")

    show(u, "Suggestions")  # 48 labels, 20 of them the random check set: too few to promise a threshold
    grid = u.text("#label-grid")
    assert "Nothing is accepted by default" in grid and "at or above" not in grid.split("accept all")[0], grid[:400]
    snap(u, "suggestions-no-threshold")
    first = u.page.locator('#label-grid button[data-act="accept"]').first
    assert "fl-primary" not in (first.get_attribute("class") or "")  # Accept is no button to press without one
    before = lab.labelled()
    first.click()  # a click on Accept with the box empty accepts nothing, and says why
    u.page.get_by_text(re.compile("your labels do not show a safe threshold")).first.wait_for(timeout=30_000)
    assert lab.labelled() == before

    show(u, "Suspicious labels")  # the person's slips so far, before more labels are judged against them
    snap(u, "suspects")
    listed = len(lab.tiles())  # few labels are little evidence: the slips may not show yet
    fixed, kept, relabelled = fix_suspects(u, lab)
    snap(u, "after-suspects")

    show(u, "Ask me")  # the person labels what is asked, carefully now, until the page can promise a threshold
    lab.slipping = False
    promised = None
    while given < MAX_HAND_LABELS and promised is None:
        given += lab.answer_shown()
        show(u, "Suggestions")
        promised = re.search(r"Accepting at or above (\d+)%: at least (\d+)% of those suggestions should be right",
                             u.text("#label-grid"))
        show(u, "Ask me")
    show(u, "Suggestions")
    snap(u, "suggestions")
    labels, _ = project_labels(app_server, truth)
    by_hand = {n for n, lab_ in labels.items() if lab_ is not None}
    if promised:  # accept at the page's default
        accepted = accept_all(u, lab)
        stated, said = int(promised.group(2)) / 100, f"threshold {promised.group(1)}% promised"
    else:  # the check photos show no safe threshold: the person types one
        assert "Nothing is accepted by default" in u.text("#label-grid")
        accepted = accept_typed(u, lab, TYPED_AT)
        note = re.search(r"At \d+% and above, at least (\d+)% of such suggestions should be right",
                         u.text("#label-status"))
        stated, said = (int(note.group(1)) / 100 if note else None), f"no threshold; {TYPED_AT}% typed"
    labels, _ = project_labels(app_server, truth)
    taken = {n: lab_ for n, lab_ in labels.items() if lab_ is not None and n not in by_hand}
    right = sum(lab_ == truth[n] for n, lab_ in taken.items()) / max(1, len(taken))
    snap(u, "after-accepting")
    print(f"\nafter {given} labels by hand: {said}, at least {stated} right; {len(taken)} accepted, {right:.3f} of "
          f"them right")
    assert taken and (stated is None or right >= stated - 0.03)  # the promise holds on photos nobody labelled

    show(u, "Suspicious labels")  # again before training: more labels now, and the accepted suggestions in doubt
    snap(u, "suspects-before-training")
    listed += len(lab.tiles())
    more = fix_suspects(u, lab)
    fixed, kept, relabelled = fixed + more[0], kept + more[1], relabelled + more[2]
    slips_left = sum(1 for n in lab.slips if project_labels(app_server, truth)[0][n] != truth[n])

    train_the_labelled(u)
    _, bundle = project_labels(app_server, truth)
    assert bundle is not None and bundle.is_file()

    from fewshot.bundle import load_bundle
    from fewshot.predict import evaluate_photos
    acc = evaluate_photos(load_bundle(bundle), flowers / "val").report.accuracy
    n = sum(v is not None for v in labels.values())
    print(f"\nlabels by hand: {given}, {len(lab.slips)} of them slips on purpose (in the first {HAND_LABELS}); "
          f"suspects listed in the two reviews: {listed}, fixed {fixed}, kept {kept}, relabelled {relabelled}; slips "
          f"still wrong after them: {slips_left}")
    print(f"suggestions accepted: {accepted}; {n} labelled photos trained on")
    print(f"labelling batch -> refreshed suggestions in the browser: median {statistics.median(lab.times):.2f} s, "
          f"max {max(lab.times):.2f} s over {len(lab.times)} batches (target 2 s)")
    print(f"accuracy on flowers/val: {acc:.3f} (50 random labels: about {RANDOM_50_LABELS})")
    # How many of the person's slips the reviews catch is printed, not asserted: suspects are listed only on real
    # evidence (at most 1 flag among 50 clean labels, tests/test_honest_threshold.py), and 3 slips among 48-150
    # labels were listed in one run, not in another (the list is judged again after every label).
    assert acc >= RANDOM_50_LABELS
