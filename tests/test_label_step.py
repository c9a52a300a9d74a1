"""The Label step's rules, through its adapter (fewshot/ui/tab/labels.py) and its handlers' logic (step_label.act,
render): cold start, one class only, skipped photos, accept above N, reject, suspects, undo, rename and merge,
hints from folders, and labels that are in the project at once.

The pool's features here are each photo's mean colour (the test photos are coloured noise), so that the
rules are tested in milliseconds; the real features (MobileNetV2) are used by tests/test_browser_label.py.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_class_folders, make_image

from fewshot import labelling as LB
from fewshot.archive import Limits
from fewshot.errors import ProjectError
from fewshot.images import UnreadableImage, thumbnail
from fewshot.ui.tab import label_html as H
from fewshot.ui import step_label
from fewshot.ui.tab.labels import Desk, sha_of
from fewshot.ui.tab.photos import uploaded_items

LIMITS = Limits()


def colour_features(files, arch="", progress=None, **_):
    """A Pool whose features are the photos' mean colours (centred), in the shape labelling.pool_features gives."""
    rows, paths, names, skipped = [], [], [], []
    for f in files:
        try:
            img = thumbnail(f, 16)
        except UnreadableImage as exc:
            skipped.append((Path(f).name, str(exc)))
            continue
        rows.append(np.asarray(img, np.float32).reshape(-1, 3).mean(0) - 128)
        paths.append(str(f))
        names.append(Path(f).name)
    if progress:
        progress(len(files), len(files))
    return LB.Pool(None, paths, names, [""] * len(names), LB.unit_rows(np.array(rows)), skipped, arch)


def pile(root: Path, counts: dict[str, int]) -> tuple[list[tuple[Path, str]], dict[str, str]]:
    """An unsorted pile: (file, relative path) pairs with opaque names, and the truth {relative path: class}."""
    folders = make_class_folders(root / "sorted", counts)
    items, truth = [], {}
    for i, f in enumerate(sorted(folders.rglob("*.png"))):
        rel = f"pile/{i:04d}.png"
        items.append((f, rel))
        truth[rel] = f.parent.name
    return items, truth


@pytest.fixture
def desk(store):
    d = Desk(store.create("me", "pile"), features=colour_features)
    yield d
    d.wait()


def ready(desk: Desk) -> Desk:
    desk.wait()
    assert desk.error is None, desk.error
    return desk


def by_truth(desk: Desk, truth: dict[str, str]) -> dict[str, str]:
    """{sha1: true class} of the desk's photos."""
    return {p.sha1: truth[p.path] for p in desk.project.photos()}


def red_and_green(desk: Desk, tmp_path) -> tuple[list[str], list[str]]:
    """A pile of 12 red and 12 green photos on the desk, features ready; their sha1s by true colour."""
    items, truth = pile(tmp_path, {"red": 12, "green": 12})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    t = by_truth(desk, truth)
    return [s for s, c in t.items() if c == "red"], [s for s, c in t.items() if c == "green"]


def test_cold_start_asks_for_photos_covering_every_class_before_any_label(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 10, "green": 10, "blue": 10})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    picks = desk.ask()
    assert len(picks) == 12 and not desk.labels()
    assert {by_truth(desk, truth)[s] for s in picks} == {"red", "green", "blue"}
    assert "no photo has a class yet" in desk.why_no_suggestions()
    assert "cover your pool best" in H.grid(desk, str)


@pytest.mark.parametrize("drawn", ["blue", "red"])
def test_when_the_random_check_photos_are_all_of_one_class_the_other_asked_photos_still_cover_every_class(
        desk, tmp_path, drawn):
    # the check set's draw took the covering picks of one class; the 6 places left went to two classes, and
    # the suggestions (which never learn from check photos) had none of the third (CI, stop 28)
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    t = by_truth(desk, truth)
    cover = [sha_of(n) for n in desk.result.ask_next]  # what it would ask with no check set
    desk.project.mark_check_set(([s for s in cover if t[s] == drawn] + [s for s, c in t.items() if c == drawn])[:12])
    desk.invalidate()
    desk.refresh()
    picks = desk.ask()
    others = [s for s in picks if s not in desk.asked_check]
    assert len(picks) == 12 and {t[s] for s in picks if s in desk.asked_check} == {drawn}
    assert {t[s] for s in others} == {"red", "green", "blue"}
    label_truthfully(desk, truth, picks)
    assert set(desk.groups()) == {"red", "green", "blue"}


def test_one_class_only_gives_no_suggestions_and_says_why(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 6, "green": 6})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    reds = [s for s, c in by_truth(desk, truth).items() if c == "red"][:3]
    desk.assign(reds, "red")
    desk.refresh()
    assert desk.groups() == {}
    assert desk.why_no_suggestions() == "Suggestions start once two classes have labels: so far only 'red' has."
    desk.view = "suggest"
    assert "so far only &#x27;red&#x27; has" in H.grid(desk, str)
    assert "so far only 'red' has" in step_label.status_text(desk)


def test_unreadable_photos_are_listed_as_skipped_and_the_rest_are_added(desk, tmp_path):
    items, _ = pile(tmp_path, {"red": 3, "green": 3})
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = desk.add_uploaded(items + [(broken, "pile/broken.jpg")], LIMITS)
    ready(desk)
    assert result.added == 6
    assert [n for n, _ in desk.skipped] == ["pile/broken.jpg"]
    text = step_label.status_text(desk)
    assert "Skipped 1 file:" in text and "pile/broken.jpg" in text  # one file, not "1 files"


def test_uploads_that_are_not_the_servers_or_not_photos_are_skipped(tmp_path):
    up = tmp_path / "uploads"
    good = make_image(up / "a" / "1.png", (200, 0, 0), 1)
    outside = make_image(tmp_path / "elsewhere.png", (0, 200, 0), 2)
    from fewshot.ui.tab.state import is_upload
    payload = {"items": [{"path": str(good), "rel": "pile/1.png"}, {"path": str(outside), "rel": "pile/2.png"},
                         {"path": str(good), "rel": "../up.png"}], "others": ["pile/notes.txt"]}
    items, skipped = uploaded_items(payload, up, is_upload)
    assert items == [(good.resolve(), "pile/1.png")]
    assert {n for n, _ in skipped} == {"pile/2.png", "../up.png", "pile/notes.txt"}


def label_truthfully(desk: Desk, truth: dict[str, str], sha1s) -> None:
    t = by_truth(desk, truth)
    for cls in sorted({t[s] for s in sha1s}):
        desk.assign([s for s in sha1s if t[s] == cls], cls)
    desk.refresh()


def test_accept_above_n_labels_only_that_groups_confident_suggestions_and_undo_takes_them_back(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    groups = desk.groups()
    assert set(groups) == {"red", "green", "blue"}
    reds = groups["red"]
    assert [c for _, c in reds] == sorted((c for _, c in reds), reverse=True)  # most confident first
    before = dict(desk.labels())
    cut = reds[len(reds) // 2][1]
    n = desk.accept("red", cut)
    assert n == sum(c >= cut for _, c in reds) and 0 < n < len(reds) + 1
    after = desk.labels()
    newly = {s for s in after if s not in before}
    assert newly == {s for s, c in reds if c >= cut} and {after[s] for s in newly} == {"red"}
    assert all(by_truth(desk, truth)[s] == "red" for s in newly)
    assert "Undone" in desk.undo()
    assert desk.labels() == before


def reject_the_surest_green(desk, tmp_path) -> str:
    """A red-and-green pile labelled as asked; the surest 'green' suggestion rejected in the grid; its sha1."""
    items, truth = pile(tmp_path, {"red": 10, "green": 10})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    first, _ = desk.groups()["green"][0]
    step_label.act(desk, {"act": "reject", "ids": [first], "cls": "green"})
    return first


def test_a_rejected_suggestion_leaves_its_group_and_comes_back_with_undo(desk, tmp_path):
    first = reject_the_surest_green(desk, tmp_path)
    assert first not in [s for s, _ in desk.groups()["green"]]
    assert first not in desk.labels()
    desk.undo()
    assert first in [s for s, _ in desk.groups()["green"]]


def test_what_accepting_did_stays_in_the_status_line_instead_of_a_pile_of_toasts(desk, tmp_path, monkeypatch):
    # each accepted group used to pop a 10-second toast of four lines; five groups covered the grid's right half
    toasts = []
    monkeypatch.setattr(step_label, "inform", toasts.append, raising=False)  # (it toasts nothing today)
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    for cls in ("red", "green"):
        step_label.act(desk, {"act": "accept", "cls": cls, "threshold": 50})
    status = step_label.status_text(desk)
    assert "suggestions accepted as 'green'" in status and "accepted as 'red'" not in status  # the last one only
    step_label.act(desk, {"act": "page", "page": 0})  # paging says nothing new: the note stays
    assert "accepted as 'green'" in step_label.status_text(desk)
    desk.last_note = desk.undo()
    assert "Undone" in step_label.status_text(desk) and "accepted as 'green'" not in step_label.status_text(desk)
    assert toasts == []


CHECKED = 50  # photos drawn at random and labelled: 50 of 50 right shows 95% (90% sure), 20 of 20 only 89%


def enough_labels_for_a_threshold(desk: Desk, tmp_path) -> dict[str, str]:
    """90 of 240 clearly coloured photos labelled by a person, CHECKED of them drawn at random for the check
    set: enough for the page to promise a threshold."""
    from fewshot import check_set as CS
    items, truth = pile(tmp_path, {"red": 80, "green": 80, "blue": 80})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    check = CS.top_up(desk.project, wanted=CHECKED, seed=0)  # as "Ask me" draws them, more of them
    others = [s for s in by_truth(desk, truth) if s not in check][::4][:40]  # of every class
    desk.invalidate()
    label_truthfully(desk, truth, check + others)
    return truth


def test_the_tiles_reading_n_percent_or_more_are_the_ones_accept_at_n_counts_and_takes(desk, tmp_path):
    # a 0.556 suggestion read "56%" while "0 at or above 56%" stood beside it
    import re
    enough_labels_for_a_threshold(desk, tmp_path)
    desk.view = "suggest"
    t = round(desk.risk()[0] * 100)
    page = H.grid(desk, str)
    for label, items_ in desk.groups().items():
        block = page.split(f"<b>{label}</b>")[1].split('<div class="fl-group">')[0]
        said = int(re.search(r"(\d+) at or above", block).group(1))
        shown = [int(p) for p in re.findall(r'<span class="fl-pct">(\d+)%</span>', block)]
        assert len(shown) == min(len(items_), H.PER_GROUP) and said == sum(c >= t / 100 for _, c in items_)
        assert sum(p >= t for p in shown) == min(said, H.PER_GROUP), (label, shown, said)
    assert H.pct(0.5599) == "55%" and H.pct(0.56) == "56%" and H.pct(1.0) == "100%"


def test_with_few_labels_the_page_promises_no_threshold_and_accepts_nothing_by_default(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 15, "green": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    assert desk.risk() == (None, None) and desk.groups()
    desk.view = "suggest"
    page = H.grid(desk, str)
    assert desk.threshold_note() and H.esc(desk.threshold_note()) in page and "Nothing is accepted by default" in page
    assert 'data-act="accept"' in page and "fl-primary" not in page.split('data-act="accept"')[0].rsplit("<", 1)[1]
    assert 'data-thr="s:red">' in page  # the threshold box starts empty
    before = dict(desk.labels())
    with pytest.raises(ProjectError, match="Nothing is accepted by default"):
        step_label.act(desk, {"act": "accept", "cls": "red"})
    assert desk.labels() == before
    said = step_label.act(desk, {"act": "accept", "cls": "red", "threshold": 60})  # the person chose one
    assert "accepted as 'red'" in said and len(desk.labels()) > len(before)


def test_the_default_threshold_states_how_many_accepted_suggestions_are_at_least_right(desk, tmp_path):
    truth = enough_labels_for_a_threshold(desk, tmp_path)
    t, right = desk.risk()
    assert t is not None and right >= 0.95 and desk.evidence() == CHECKED
    line = H.risk_line(desk, str)
    assert f"Accepting at or above {t:.0%}: at least {right:.0%}" in line and f"your {CHECKED} check photos" in line
    t_ = by_truth(desk, truth)
    for cls in ("red", "green", "blue"):
        step_label.act(desk, {"act": "accept", "cls": cls})
    accepted = {s: c for s, c in desk.labels().items() if s not in desk.taught()}
    assert accepted and all(t_[s] == c for s, c in accepted.items())
    assert desk.evidence() == CHECKED  # accepted suggestions never become the evidence of the next threshold


def test_suspect_labels_are_listed_and_fixed_or_kept_in_one_click(desk, tmp_path):
    reds, greens = red_and_green(desk, tmp_path)
    desk.assign(reds[1:], "red")
    desk.assign(greens, "green")
    desk.assign(reds[:1], "green")  # one wrong label
    desk.refresh()
    found = desk.suspects()
    assert found and found[0]["sha1"] == reds[0] and found[0]["given"] == "green" and found[0]["suggested"] == "red"
    desk.view = "suspects"
    assert "Fix: red" in H.grid(desk, str)
    step_label.act(desk, {"act": "fix", "ids": [reds[0]], "cls": "red"})
    assert desk.labels()[reds[0]] == "red" and (reds[0], "red") in desk.kept  # reviewed: not asked again
    assert reds[0] not in [s["sha1"] for s in desk.suspects()]
    desk.assign(reds[:1], "green")
    desk.refresh()
    step_label.act(desk, {"act": "keep", "id": reds[0], "cls": "green"})
    assert reds[0] not in [s["sha1"] for s in desk.suspects()] and desk.labels()[reds[0]] == "green"


def test_classes_are_made_renamed_and_merged_and_undo_splits_a_merge(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 4, "green": 4})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    t = by_truth(desk, truth)
    desk.create_class("crimson")
    desk.assign([s for s, c in t.items() if c == "red"][:2], "red")
    desk.assign([s for s, c in t.items() if c == "red"][2:], "crimson")
    assert set(desk.classes()) == {"red", "crimson"}
    desk.rename_class("crimson", "scarlet")
    assert set(desk.classes()) == {"red", "scarlet"}
    desk.rename_class("scarlet", "red")  # a taken name: the two merge
    assert desk.classes() == ["red"] and sorted(set(desk.labels().values())) == ["red"]
    assert len(desk.labels()) == 4
    desk.undo()
    assert set(desk.classes()) == {"red", "scarlet"}
    assert sorted(desk.labels().values()).count("scarlet") == 2
    desk.undo()
    assert set(desk.classes()) == {"red", "crimson"}
    with pytest.raises(ProjectError, match="cannot be empty"):
        desk.rename_class("red", "  ")


def test_labels_are_in_the_project_at_once_and_a_new_desk_sees_them(desk, store, tmp_path):
    items, truth = pile(tmp_path, {"red": 4, "green": 4})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    some = list(by_truth(desk, truth))[:3]
    step_label.act(desk, {"act": "label", "ids": some, "cls": "red"})
    again = store.open("me", desk.project.id)
    assert {p.sha1 for p in again.photos(label="red")} == set(some)
    assert Desk(again, features=colour_features).labels() == desk.labels()


def test_folders_in_a_zip_become_hints_to_review_not_labels(desk, tmp_path):
    make_class_folders(tmp_path / "z" / "trip", {"beach": 3, "city": 2})
    archive = tmp_path / "trip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((tmp_path / "z").rglob("*.png")):
            zf.write(f, f.relative_to(tmp_path / "z"))
    desk.add_archive(archive, LIMITS, tmp_path / "unpack")
    ready(desk)
    assert desk.labels() == {}
    assert {h: len(s) for h, s in desk.hints().items()} == {"beach": 3, "city": 2}
    desk.view = "suggest"
    assert "Accept the hint" in H.grid(desk, str)
    step_label.act(desk, {"act": "accept-hint", "cls": "beach", "ids": []})
    assert sorted(desk.labels().values()) == ["beach"] * 3


def test_the_grid_pages_a_big_pool_and_labels_selected_photos(desk, tmp_path):
    items, _ = pile(tmp_path, {"red": 70, "green": 5})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    desk.create_class("red")
    desk.view = "all"
    page1 = H.grid(desk, str)
    assert page1.count('class="fl-tile"') == 60 and "Page 1 of 2" in page1
    step_label.act(desk, {"act": "page", "page": 1})
    assert H.grid(desk, str).count('class="fl-tile"') == 15
    ids = [p.sha1 for p in desk.project.photos()][:5]
    step_label.act(desk, {"act": "label", "ids": ids, "cls": "red"})
    assert set(desk.labels()) == set(ids)
    assert 'data-key="1"' in page1  # the class's key


def test_the_page_handlers_add_a_dropped_pile_and_label_from_the_grid(tmp_path, monkeypatch):
    """Through the built page's own callbacks, as the browser calls them."""
    import gradio as gr
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    monkeypatch.setattr(step_label, "Desk", lambda project: Desk(project, features=colour_features))
    from fewshot.ui import build_app
    demo = build_app().blocks
    fn = {f.name: f.fn for f in demo.fns.values()}
    items, truth = pile(tmp_path / "uploads" / "x", {"red": 3, "green": 3})
    payload = json.dumps({"items": [{"path": str(f), "rel": rel} for f, rel in items], "others": ["pile/notes.txt"]})
    request = gr.Request(headers={}, cookies={}, session_hash="test-label")
    by_id = lambda out: {getattr(c, "elem_id", None) or type(c).__name__: v for c, v in out.items()}  # noqa: E731
    out = by_id(fn["on_folder"](payload, None, request))
    sess = out["State"]
    sess.label.desk.wait()
    out = by_id(fn["on_add_class"]("red", sess, request))
    assert "6 photos" in out["label-status"] and "Skipped 1 file:" in out["label-status"]
    assert "Class 'red' made" in out["label-status"]  # what the click did, in the status line
    grid = out["label-grid"].constructor_args["grid"]
    ids = [p.sha1 for p in sess.project.photos()][:2]
    assert grid.count('class="fl-tile"') == 6 and 'data-key="1"' in grid
    out = by_id(fn["on_act"](json.dumps({"act": "label", "ids": ids, "cls": "red", "nonce": 1}), sess, request))
    assert "2 labelled in 1 class," in out["label-status"] and "so far only 'red' has" in out["label-status"]
    assert "2 photos are now 'red'." in out["label-status"]
    assert {p.sha1 for p in sess.project.photos(label="red")} == set(ids)
    out = by_id(fn["on_undo"](sess, request))
    assert "0 labelled" in out["label-status"] and not sess.project.photos(label="red")
    # the hand-over to training answers beside its button, in words: the photos per class step 2 trains on
    for cls, group in (("red", ids), ("green", [p.sha1 for p in sess.project.photos()][2:5])):
        fn["on_act"](json.dumps({"act": "label", "ids": group, "cls": cls, "nonce": 2}), sess, request)
    assert by_id(fn["on_view"]("ask", sess, request))["label-used"] == ""  # nothing handed over yet
    out = by_id(fn["on_use"](sess, request))
    used = out["label-used"]
    assert used.startswith("✅ The Train step will train on 5 photos in 2 classes:"), used
    assert "- green: 3 photos" in used and "- red: 2 photos" in used
    from fewshot import i18n as L
    assert "“训练”步骤将用 2 个类别的 5 张照片训练" in L.translate(used, L.ZH) and "- red：2 张照片" in L.translate(used, L.ZH)



def test_the_photos_asked_for_stay_put_until_each_is_labelled_then_the_next_ones_come(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    first = desk.ask()
    t = by_truth(desk, truth)
    reds = [s for s in first if t[s] == "red"]
    label_truthfully(desk, truth, reds)
    assert desk.ask() == [s for s in first if s not in reds]  # the rest, in the same order
    label_truthfully(desk, truth, desk.ask())
    second = desk.ask()
    assert second and not set(second) & set(first)
    assert not desk.asked_cold and "teach the model most" in H.grid(desk, str)


def test_photos_loaded_from_class_folders_get_the_wrong_folder_list(store, tmp_path):
    root = make_class_folders(tmp_path / "sorted", {"red": 10, "green": 10})
    shutil_move = (root / "red" / "000.png").rename
    shutil_move(root / "green" / "misplaced.png")  # a red photo in the green folder
    p = store.create("me", "folders")
    p.add_photos(root)
    desk = Desk(p, features=colour_features)
    desk.start_features()
    ready(desk)
    note = step_label.folder_note(desk)
    assert note.startswith("⚠️ These") and "may be in the wrong folder" in note
    assert "- green/misplaced.png: in 'green', looks like 'red'" in note.splitlines()[1]


def test_accepted_suggestions_are_labels_for_training_but_the_suggestions_learn_only_from_the_users(desk, tmp_path):
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    mine = dict(desk.taught())
    reds = desk.groups()["red"]
    desk.accept("red", reds[-1][1])
    desk.refresh()
    assert desk.taught() == mine  # the head did not learn from its own guesses
    accepted = {s for s, _ in reds}
    assert accepted <= set(desk.labels()) and "accepted suggestions" in step_label.status_text(desk)
    one = sorted(accepted)[0]
    desk.assign([one], "red")  # confirmed by hand: now the user's own label
    assert desk.taught()[one] == "red"
    desk.undo()
    desk.undo()
    assert desk.labels() == mine and desk.taught() == mine


def test_a_wrong_accepted_suggestion_is_among_the_suspects(desk, tmp_path):
    reds, greens = red_and_green(desk, tmp_path)
    desk.assign(reds[1:8], "red")
    desk.assign(greens[:8], "green")
    desk.assign(greens[8:], "green", by_model=True)
    desk.assign(reds[:1], "green", by_model=True)  # a suggestion accepted by mistake
    desk.refresh()
    assert reds[0] not in desk.taught()
    assert reds[0] in [s["sha1"] for s in desk.suspects()]


def test_the_grid_and_status_come_in_chinese(desk, tmp_path):
    from fewshot import i18n as L
    items, truth = pile(tmp_path, {"red": 6, "green": 6})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    desk.create_class("red")
    zh = lambda t: L.translate(t, L.ZH, label=True)  # noqa: E731
    html = H.grid(desk, zh)
    assert "给选中的照片指定类别" in html and "最能代表你的照片集" in html and "1 red" in html
    status = L.translate(step_label.status_text(desk), L.ZH)
    assert "12 张照片" in status and "目前还没有照片有类别" in status


def test_step_1s_report_lists_photos_that_may_be_in_the_wrong_folder(tmp_path, monkeypatch):
    """Photos loaded from class folders: once the features are ready, the page's tick writes the list into
    step 1's warnings."""
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setattr(step_label, "Desk", lambda project: Desk(project, features=colour_features))
    from fewshot.ui import build_app
    from fewshot.ui.tab import projects
    from fewshot.ui.tab.state import Session
    demo = build_app().blocks
    on_tick = next(f.fn for f in demo.fns.values() if f.name == "on_tick")
    root = make_class_folders(tmp_path / "sorted", {"red": 10, "green": 10})
    (root / "red" / "000.png").rename(root / "green" / "misplaced.png")
    sess = Session()
    sess.project_owner = "me"
    p = projects.new_project(sess, "folders")
    p.add_photos(root)
    projects.attach(sess, p)
    step_label.desk_of(sess).wait()
    out = {getattr(c, "elem_id", None): v for c, v in on_tick(sess).items()}
    assert "may be in the wrong folder" in out["data-warnings"]
    assert "green/misplaced.png: in 'green', looks like 'red'" in out["data-warnings"]
    sess.cleanup()


def test_the_random_check_photos_say_how_often_suggestions_that_sure_were_right(desk, tmp_path):
    enough_labels_for_a_threshold(desk, tmp_path)
    check = {p.sha1 for p in desk.project.photos() if p.checkset}
    t, _ = desk.risk()
    right, of = desk.check_record(t)
    sure = [s for s, c in zip(desk._evidence, desk.result.oof_confidence) if s in check and c >= t]
    assert of == len(sure) > 0 and right == of  # clear colours: every such suggestion was right
    assert f"suggestions this sure were right {right} times of {of}" in H.risk_line(desk, str)


def test_a_weak_suspect_says_so_and_does_not_make_fix_the_button_to_press(desk, tmp_path, monkeypatch):
    reds, greens = red_and_green(desk, tmp_path)
    desk.assign(reds, "red")
    desk.assign(greens, "green")
    doubts = [{"sha1": reds[0], "path": "", "given": "red", "suggested": "green", "score": 0.1, "strength": "likely"},
              {"sha1": reds[1], "path": "", "given": "red", "suggested": "green", "score": 0.4,
               "strength": "possible"}]
    monkeypatch.setattr(desk, "suspects", lambda: doubts)
    desk.view = "suspects"
    page = H.grid(desk, str)
    likely, possible = page.split(f'data-id="{reds[0]}"')[1], page.split(f'data-id="{reds[1]}"')[1]
    assert "likely wrong" in likely.split("fl-tile")[0] and "maybe wrong" in possible.split("fl-tile")[0]
    assert 'fl-btn fl-fix"' in likely.split("fl-tile")[0] and 'fl-btn fl-fix"' not in possible.split("fl-tile")[0]
    assert "1 of them are likely wrong" in page


def test_a_grid_page_of_60_photos_is_a_few_kb_of_links_not_inline_pictures(desk, tmp_path):
    """Every re-render (a key press, a labelling batch, a page change) sends the grid again: links, which the
    browser fetches once and caches, keep it small on a remote server."""
    items, _ = pile(tmp_path, {"red": 40, "green": 30})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    desk.view = "all"
    page1 = H.grid(desk, str)
    assert page1.count('class="fl-tile"') == 60 and page1.count(f'src="thumb/{desk.thumb_token}/') == 60
    assert "data:image" not in page1 and len(page1.encode()) < 30_000, len(page1.encode())


def test_a_thumbnail_is_a_small_jpeg_made_once_and_only_for_the_projects_own_photos(desk, store, tmp_path):
    from PIL import Image
    items, _ = pile(tmp_path, {"red": 2, "green": 1})
    desk.add_uploaded(items, LIMITS)
    photos = desk.project.photos()
    first = desk.thumb_jpeg(photos[0].sha1)
    with Image.open(io.BytesIO(first)) as img:
        assert img.format == "JPEG" and max(img.size) <= 96
    kept = list((desk.project.dir / "thumbs").rglob("*.jpg"))
    assert [k.stem for k in kept] == [photos[0].sha1]  # made once, kept with the project (deleted with it)
    photos[0].file.unlink()  # (the original gone: the kept thumbnail still answers)
    assert desk.thumb_jpeg(photos[0].sha1) == first
    other = store.create("me", "another pile")
    other.add_items([(make_image(tmp_path / "blue.png", (0, 0, 255), 7), "blue.png", None, None)], LIMITS)
    assert desk.thumb_jpeg(other.photos()[0].sha1) is None  # another project's photo: not this desk's to show
    assert desk.thumb_jpeg("0" * 40) is None
    photos[1].file.write_bytes(b"not a picture any more")
    assert desk.thumb_jpeg(photos[1].sha1) == b""  # unreadable: the route shows a question mark instead


def test_the_status_line_always_says_what_the_last_action_did(desk, tmp_path):
    # after "39 suggestions accepted as 'tulips'" seven Keep clicks left that line as it was
    items, truth = pile(tmp_path, {"red": 15, "green": 15, "blue": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    step_label.act(desk, {"act": "accept", "cls": "red", "threshold": 50})
    assert "accepted as 'red'" in step_label.status_text(desk)
    some = [p.sha1 for p in desk.project.photos(label=None)][:2]
    step_label.act(desk, {"act": "reject", "ids": some, "cls": "green"})
    status = step_label.status_text(desk)
    assert "2 suggestions of 'green' rejected" in status and "accepted as 'red'" not in status
    red = next(p.sha1 for p in desk.project.photos(label="red"))
    step_label.act(desk, {"act": "keep", "id": red, "cls": "red"})
    status = step_label.status_text(desk)
    assert "Kept: the photo stays 'red'" in status and "rejected" not in status
    step_label.act(desk, {"act": "fix", "ids": [red], "cls": "blue"})
    assert "Fixed: 1 photo is now 'blue'." in step_label.status_text(desk)
    step_label.act(desk, {"act": "unlabel", "ids": [red]})
    assert "1 photo has no class now." in step_label.status_text(desk)  # one photo: "photo", "has"


def test_counts_say_one_photo_and_one_class_and_the_count_line_comes_in_chinese(desk, tmp_path):
    from fewshot import i18n as L
    assert step_label.count_line(1, 1, 1) == "**1 photo**: 1 labelled in 1 class, 0 without a class."
    assert step_label.count_line(501, 260, 5) == "**501 photos**: 260 labelled in 5 classes, 241 without a class."
    items, truth = pile(tmp_path, {"red": 15, "green": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    label_truthfully(desk, truth, desk.ask())
    step_label.act(desk, {"act": "accept", "cls": "red", "threshold": 50})
    status = step_label.status_text(desk)
    assert "of the labels are accepted suggestions" in status  # the line that kept the count line English
    first = L.translate(status, L.ZH).split("\n")[0]
    assert first.startswith("**30 张照片**：") and "without" not in first, first
    for n in (1, 2):
        assert L.translate(step_label.count_line(n, 1, 1), L.ZH).startswith(f"**{n} 张照片**：")
    zh = lambda t: L.translate(t, L.ZH, label=True)  # noqa: E731
    assert H.photos_word(1, str) == "1 photo" and H.photos_word(3, str) == "3 photos"
    assert H.photos_word(1, zh) == "1 张照片"


def test_a_long_class_name_gives_way_to_its_percentage_in_a_tile_caption(desk, tmp_path):
    # "sunflowers …", "dandelion 7…": the name and the percentage were one ellipsised line
    import re
    items, truth = pile(tmp_path, {"red": 15, "green": 15})
    desk.add_uploaded(items, LIMITS)
    ready(desk)
    long = "a-very-long-class-name-that-never-fits-under-a-thumbnail"
    t = by_truth(desk, truth)
    asked = desk.ask()
    for cls in ("red", "green"):
        desk.assign([s for s in asked if t[s] == cls], long if cls == "red" else cls)
    desk.refresh()
    desk.asked = []  # the next photos to ask, now with suggestions
    caps = re.findall(r'<div class="fl-cap" title="([^"]*)">(.*?)</div>', H.grid(desk, str))
    guessed = [(title, cap) for title, cap in caps if "fl-pct" in cap]
    assert guessed, caps
    for title, cap in guessed:  # the percentage in its own span, which the CSS never cuts; the tooltip says all
        name, pct = re.fullmatch(r'<span class="fl-name">(.*)</span><span class="fl-pct">(\d+%)</span>', cap).groups()
        assert title == f"{name} {pct}"
    css = (Path(__file__).resolve().parents[1] / "assets" / "steps.css").read_text()
    assert re.search(r"\.fl-cap \.fl-pct \{[^}]*flex: 0 0 auto", css)
    assert re.search(r"\.fl-cap \.fl-name \{[^}]*text-overflow: ellipsis", css)
