"""Numbers a person can trust when the model helped label (fewshot/check_set.py): accepted suggestions never
grade the model, a labelling project validates on a check set drawn at random and labelled by the person, a
project of class folders keeps its hash split, and every place that states the accuracy states its 95%
interval, the photos behind it, and how many more photos would narrow it."""
from __future__ import annotations

import json
import random

import pytest
from conftest import make_class_folders

from fewshot import check_set as CS
from fewshot import views as V
from fewshot.card import model_card
from fewshot.config import TrainConfig
from fewshot.evaluate import more_photos_for_margin, photos_for_margin, wilson_interval
from fewshot.project import default_split
from fewshot.train_events import Done

FAST = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8)


def trained(project, cfg: TrainConfig = FAST) -> Done:
    return next(ev for ev in project.train(cfg) if isinstance(ev, Done))


@pytest.fixture
def pool(store, tmp_path):
    """A labelling project: 90 loose photos (cat, dog, fox: 30 each, the truth kept apart as a person knows it)."""
    root = make_class_folders(tmp_path / "pile", {"cat": 30, "dog": 30, "fox": 30}, size=24)
    files = sorted(root.glob("*/*.png"))
    truth = {}
    p = store.create("ana", "pile")
    for f in files:
        flat = tmp_path / "flat" / f"{f.parent.name}-{f.name}"
        flat.parent.mkdir(exist_ok=True)
        flat.write_bytes(f.read_bytes())
    p.add_photos(tmp_path / "flat")
    for ph in p.photos():
        truth[ph.sha1] = ph.path.split("-")[0]
    return p, truth


# ---------------------------------------------------------------- who grades the model

def test_accepted_suggestions_never_grade_the_model_and_validation_is_the_check_set(pool):
    p, truth = pool
    drawn = CS.top_up(p, seed=1)  # asked what to label next: the check set is drawn first, at random
    assert len(drawn) == CS.CHECK_FIRST and all(ph.checkset for ph in p.photos() if ph.sha1 in drawn)
    assert CS.top_up(p, seed=2) == []  # drawn once: 20 wait to be labelled
    free = [s for s in truth if s not in drawn]
    by_hand = free[:10]
    p.set_labels({s: truth[s] for s in by_hand})  # a person's labels from "Ask me"
    p.set_labels({s: truth[s] for s in drawn[:12]})  # 12 of the 20 check photos labelled so far
    accepted = free[10:30]  # 10 photos stay unlabelled
    p.set_labels({s: truth[s] for s in accepted}, source="suggestion", confidence={s: 0.97 for s in accepted})
    p.set_labels({drawn[12]: truth[drawn[12]]}, source="suggestion", confidence={drawn[12]: 0.99})
    ds = p.dataset()
    val = {s.digest for s in ds.val}
    train = {s.digest for s in ds.train}
    assert val == set(drawn[:12])  # the check photos a person labelled, and nothing else
    assert not val & set(accepted) and drawn[12] not in val  # no accepted suggestion grades, not even a check photo
    assert train == set(by_hand) | set(accepted) | {drawn[12]}  # every other labelled photo trains
    assert "validation: the check set: photos picked at random from your pool" in V.data_summary(ds, "pile")
    status = CS.check_status(p.photos())
    assert (status.labelled, len(status.waiting)) == (12, 7)  # the suggested check photo counts for neither
    assert len(CS.top_up(p, seed=3)) == 1  # so another is drawn in its place


def test_a_project_of_class_folders_keeps_its_hash_split(store, photos):
    p = store.create("ana", "pets")
    p.add_photos(photos)  # cat/ and dog/ (8 each) and one loose photo
    labelled = [ph for ph in p.photos() if ph.label is not None]
    split, kind = CS.validation_split(p.photos())
    assert kind == CS.SPLIT and split == {ph.sha1: ph.split for ph in labelled}
    assert sum(ph.split == default_split(ph.sha1) for ph in labelled) >= len(labelled) - 2  # by hash
    ds = p.dataset()
    assert {s.digest for s in ds.val} == {ph.sha1 for ph in labelled if ph.split == "val"}
    assert "check set" not in V.data_summary(ds, "pets")
    whole = store.create("ana", "whole")
    whole.add_photos(photos / "cat")
    whole.add_photos(photos / "dog")
    assert CS.top_up(whole) == [] and not any(ph.checkset for ph in whole.photos())  # nothing to ask: no check set


def test_accepted_suggestions_without_a_check_set_measure_nothing_and_say_what_to_label(pool):
    p, truth = pool
    shas = list(truth)
    p.set_labels({s: truth[s] for s in shas[:12]})
    p.set_labels({s: truth[s] for s in shas[12:40]}, source="suggestion")
    done = trained(p)
    run = p.runs()[-1]
    assert done.evaluation is None and run.val_accuracy is None and run.metrics["validation"] == CS.CHECK
    text = V.accuracy_md(None, 0, 3, check=True)
    assert "Not measured yet" in text and f"label the {CS.CHECK_FIRST} check photos" in text
    assert "Not measured yet: label the check photos" in V.checked_line(CS.of_metrics(run.metrics))


def test_a_run_graded_on_the_check_set_records_its_interval_for_the_card_and_the_demo(pool):
    from fewshot.ui.demo import short_card
    p, truth = pool
    drawn = CS.top_up(p, seed=4)
    p.set_labels({s: truth[s] for s in drawn})
    rest = [s for s in truth if s not in drawn]
    p.set_labels({s: truth[s] for s in rest[:15]})
    p.set_labels({s: truth[s] for s in rest[15:]}, source="suggestion")
    done = trained(p)
    run = p.runs()[-1]
    m = run.metrics
    assert m["validation"] == CS.CHECK and m["val_photos"] == CS.CHECK_FIRST
    low, high = wilson_interval(round(run.val_accuracy * 20), 20)
    assert m["val_interval"] == [round(low, 4), round(high, 4)]
    assert done.model.metrics["validation"] == CS.CHECK and done.model.metrics["val_photos"] == 20
    from fewshot.bundle import load_bundle
    tm = load_bundle(run.bundle)  # what the card and the demo page read
    assert tm.metrics["val_interval"] == m["val_interval"]
    card = model_card(tm)
    assert f"likely between {low:.0%} and {high:.0%} (95% interval), measured on 20 photos picked at random" in card
    demo = short_card(tm)
    assert (f"Right on {run.val_accuracy:.0%} of 20 photos picked at random that it did not train on "
            f"(likely between {low:.0%} and {high:.0%})") in demo


# ---------------------------------------------------------------- asking for the check set

def test_the_check_photos_take_up_to_half_of_what_is_asked_marked():
    picks = [f"a{i}" for i in range(12)]
    check = [f"c{i}" for i in range(20)]
    asked = CS.with_check_photos(picks + ["c3"], check, 12)
    assert len(asked) == 12 and sum(c for _, c in asked) == 6
    assert [s for s, c in asked if c] == check[:6] and [s for s, c in asked if not c] == picks[:6]
    assert CS.with_check_photos(picks, check[:2], 12) == [
        ("a0", False), ("c0", True), ("a1", False), ("c1", True)] + [(s, False) for s in picks[2:10]]
    assert CS.with_check_photos(picks, [], 5) == [(s, False) for s in picks[:5]]
    few = CS.with_check_photos(picks[:2] + check[:8], check, 12)  # ask_next's picks were mostly check photos
    assert len(few) == 12 and [s for s, c in few if not c] == picks[:2]


def test_a_small_pool_keeps_most_of_its_photos_to_learn_from_and_a_stray_photo_makes_no_check_set(store, tmp_path,
                                                                                                   photos):
    p = store.create("ana", "small")
    p.add_photos(make_class_folders(tmp_path / "s", {"a": 15, "b": 15}, size=24) / "a")  # loose: unlabelled
    p.add_photos(tmp_path / "s" / "b")
    assert len(CS.top_up(p, seed=1)) == int(CS.CHECK_SHARE * 30) == 7  # a quarter of the pool, not 20 of 30
    pets = store.create("ana", "pets")
    pets.add_photos(photos)  # class folders and one loose photo
    assert CS.top_up(pets) == [] and CS.validation_split(pets.photos())[1] == CS.SPLIT


def test_a_draw_is_random_from_the_unlabelled_photos_and_repeatable_with_a_seed(pool):
    p, truth = pool
    shas = sorted(truth)
    p.set_labels({s: truth[s] for s in shas[:30]})
    first = CS.draw_check_set(p, 10, seed=7)
    assert len(first) == 10 and not set(first) & set(shas[:30])  # only photos nobody labelled
    assert first == random.Random(7).sample(shas[30:], 10)
    more = CS.draw_check_set(p, 100, seed=7)  # fewer are left than asked: all of them
    assert sorted(more + first) == shas[30:]


def test_after_a_wide_interval_the_label_step_asks_for_what_narrows_it(pool):
    p, truth = pool
    drawn = CS.top_up(p, seed=5)
    p.set_labels({s: truth[s] for s in drawn})
    p.set_labels({s: truth[s] for s in truth if s not in drawn})
    trained(p)
    m = CS.of_metrics({**p.active_run().metrics, "val_accuracy": p.active_run().val_accuracy})
    assert CS.check_goal(p) == max(CS.CHECK_FIRST, m.photos + m.more)
    # everything is labelled: nothing is left to draw, so nothing is asked
    assert CS.top_up(p) == []


# ---------------------------------------------------------------- the interval and its words

def test_the_interval_and_how_many_more_photos_would_narrow_it():
    assert more_photos_for_margin(10, 12) == 41 and photos_for_margin(10 / 12) == 53
    assert more_photos_for_margin(20, 20) == 0  # 100% of 20: within ±10 points already
    assert photos_for_margin(0.5) == 93  # the widest: a coin
    low, high = wilson_interval(45, 53)
    assert (high - low) / 2 <= 0.10
    line = V.checked_line(CS.measured(10 / 12, 12, CS.CHECK))
    assert line.startswith("Checked on 12 photos picked at random: 83%, likely between 55% and 95%.")
    assert "Label 41 more photos at random to know it within ±10 points" in line
    text = V.accuracy_md(0.85, 20, 5, check=True)
    assert "17 of 20 check photos" in text and "no accepted suggestion grades the model" in text
    assert "likely between 64% and 95%" in text and "Label 29 more photos at random" in text
    assert "within ±10" not in V.accuracy_md(0.96, 300, 5)  # narrow already: nothing to add


def test_the_new_words_come_in_chinese():
    from fewshot import i18n as L
    zh = L.translate(V.accuracy_md(0.85, 20, 5, check=True), "zh-CN")
    assert "64% 到 95% 之间" in zh and "再随机标注 29 张照片" in zh and "检查照片" in zh
    assert "Label" not in zh and "check photos" not in zh
    zh = L.translate(V.checked_line(CS.measured(10 / 12, 12, CS.CHECK)), "zh-CN")
    assert "55% 到 95% 之间" in zh and "Checked" not in zh


# ---------------------------------------------------------------- the best run

def score(i: int, acc: float | None, n: int, kind: str = CS.CHECK, finished: bool = True) -> CS.RunScore:
    return CS.RunScore(i, finished, CS.measured(acc, n, kind))


def test_the_best_run_does_not_change_for_a_lead_within_noise():
    runs = [score(1, 0.85, 20), score(2, 0.95, 20)]  # two photos of 20: noise
    assert CS.pick_run(runs, current=1) == 1
    assert CS.pick_run(runs, current=None) == 2  # asked for the best afresh: the most accurate
    clear = [score(1, 0.70, 100), score(2, 0.90, 100)]
    assert CS.pick_run(clear, current=1) == 2
    # a run graded on accepted suggestions (100%, before the check set) never outranks one graded honestly
    mixed = [score(1, 1.0, 53, CS.SPLIT), score(2, 0.82, 20)]
    assert CS.pick_run(mixed, current=1) == 2
    assert CS.pick_run([score(1, None, 0), score(2, None, 0, finished=False)]) == 1


def test_a_project_keeps_its_active_run_when_a_new_one_is_only_noise_better(pool):
    from fewshot.project.runs import _pick_active
    p, truth = pool
    drawn = CS.top_up(p, seed=6)
    p.set_labels({s: truth[s] for s in truth})
    trained(p)
    trained(p)
    first, second = p.runs()
    with p._tx() as db:  # rigged: run 2 one check photo ahead of run 1, then clearly ahead
        db.execute("UPDATE runs SET val_accuracy=0.80 WHERE id=?", (first.id,))
        db.execute("UPDATE runs SET val_accuracy=0.85 WHERE id=?", (second.id,))
        db.execute("UPDATE projects SET active_run=? WHERE id=?", (first.id, p.id))
        _pick_active(db, p.id)
    assert p.active_run().id == first.id and len(drawn) == 20
    with p._tx() as db:
        db.execute("UPDATE runs SET val_accuracy=1.0, metrics=? WHERE id=?",
                   (json.dumps({**second.metrics, "val_photos": 60}), second.id))
        db.execute("UPDATE runs SET metrics=? WHERE id=?", (json.dumps({**first.metrics, "val_photos": 60}),
                                                           first.id))
        _pick_active(db, p.id)
    assert p.active_run().id == second.id


# ---------------------------------------------------------------- the command line

def test_the_cli_asks_for_the_check_set_accepts_suggestions_as_suggestions_and_states_the_interval(
        tmp_path, with_weights, monkeypatch):
    from test_cli import last_json, run
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    root = make_class_folders(tmp_path / "pile", {"cat": 30, "dog": 30, "fox": 30}, size=24)
    flat = tmp_path / "flat"
    flat.mkdir()
    for f in sorted(root.glob("*/*.png")):
        (flat / f"{f.parent.name}-{f.name}").write_bytes(f.read_bytes())
    assert run("project", "new", "pile").returncode == 0
    assert run("project", "add", "pile", flat).returncode == 0
    given = 0
    for _ in range(3):  # a person answers what is asked, three rounds of 12
        r = run("project", "suggest", "pile", "--json")
        assert r.returncode == 0, r.stderr
        out = last_json(r.stdout)
        asked = out["ask_next"]
        assert len(asked) == 12 and sum(a["check_set"] for a in asked) == 6  # half of them the check set
        rows = "path,label\n" + "".join(f"{a['path']},{a['path'].split('-')[0]}\n" for a in asked)
        (tmp_path / "answers.csv").write_text(rows)
        assert run("project", "label", "pile", "--csv", tmp_path / "answers.csv").returncode == 0
        given += len(asked)
    assert out["check_set"]["drawn"] == 20 and {"suggestions", "accept_threshold", "accept_precision",
                                                 "suspects", "accepted"} <= set(out)
    r = run("project", "suggest", "pile", "--accept", "--at", "0", "--ask", "4", "--json")
    assert r.returncode == 0, r.stderr
    out = last_json(r.stdout)
    assert out["accepted"] == 90 - given - 2  # every unlabelled photo but the 2 check photos still to label
    assert all(a["check_set"] for a in out["ask_next"][1::2])
    from fewshot.project import ProjectStore
    p = ProjectStore().open_by_name("local", "pile")
    assert sum(ph.label_source == "suggestion" for ph in p.photos()) == out["accepted"]
    assert not any(ph.checkset and ph.label_source == "suggestion" for ph in p.photos())
    r = run("train", "--project", "pile", "--arch", "mobilenet_v2", "--epochs", "2", "--batch-size", "8", "--json")
    assert r.returncode == 0, r.stderr
    trained = last_json(r.stdout)
    assert trained["validation"] == "checkset" and trained["val_photos"] == 18  # the check photos labelled so far
    low, high = wilson_interval(round(trained["val_accuracy"] * 18), 18)
    assert trained["val_interval"] == [round(low, 4), round(high, 4)]
    shown = last_json(run("project", "show", "pile", "--json").stdout)
    assert shown["runs"][0]["val_interval"] == trained["val_interval"] and shown["runs"][0]["val_photos"] == 18
