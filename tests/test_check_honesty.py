"""Step 3 says how sure its numbers are: small validation sets, the split as it happened, the confusion
matrix's room for long names, and the check on other photos (handler level; the browser checks are in
tests/test_browser_check.py)."""
from __future__ import annotations

import shutil
import zipfile

import pytest
from conftest import make_class_folders

from fewshot import i18n as L
from fewshot import load_dataset
from fewshot import views as V
from fewshot.evaluate import wilson_interval


# ---------------------------------------------------------------- how sure the accuracy is

def test_twenty_photos_say_how_sure_the_figure_is_and_warn_that_they_are_few():
    text = V.accuracy_md(0.9, 20, 4)
    assert "### 90% right" in text and "90.0%" not in text  # no false precision in the headline
    assert "18 of 20" in text and "likely between 70% and 97%" in text
    assert "Only 20 validation photos" in text and "5%" in text  # one photo moves it 5 points
    assert "25% with 4 classes" in text and "cannot yet show" not in text  # 70% is well above 25%


def test_many_photos_give_a_narrow_range_and_no_warning():
    text = V.accuracy_md(0.96, 300, 5)
    low, high = wilson_interval(288, 300)
    assert f"between {low:.0%} and {high:.0%}" in text and high - low < 0.06
    assert "Only" not in text and "20% with 5 classes" in text and "(excellent)" in text


def test_two_photos_all_wrong_is_not_called_barely_better_than_guessing():
    text = V.accuracy_md(0.0, 2, 2)
    assert "barely better" not in text and "no better than random guessing" in text
    assert "Only 2 validation photos" in text and "cannot yet show that the model does better than guessing" in text


def test_chance_level_comes_from_the_class_count():
    five = V.accuracy_md(0.3, 40, 5)
    assert "20% with 5 classes" in five and "50%" not in five
    assert "only a little better than guessing" in five
    # 12 of 40 with 5 classes: the interval (18%-45%) still holds 20%
    assert "includes 20%" in five


def test_the_sureness_comes_in_chinese():
    zh = L.translate(V.accuracy_md(0.9, 20, 4), "zh-CN")
    assert "70% 到 97% 之间" in zh and "只有 20 张验证照片" in zh and "4 个类别" in zh
    assert "How sure" not in zh and "Only" not in zh


def test_each_class_figure_comes_with_its_own_wider_interval():
    import pandas as pd
    from fewshot.evaluate import per_class_table
    # 12 cats (9 found), 3 dogs (2 found); the model called 10 photos cat (9 right) and 5 dog (2 right)
    per_class = pd.DataFrame([{"class": "cat", "precision": 0.9, "recall": 0.75, "f1": 0.82, "support": 12},
                              {"class": "dog", "precision": 0.4, "recall": 2 / 3, "f1": 0.5, "support": 3}])
    confusion = [[9, 3], [1, 2]]
    rows = per_class_table(per_class, confusion).set_index("class")
    low, high = wilson_interval(2, 3)
    assert rows.loc["dog", "recall"] == f"67% ({low:.0%}–{high:.0%})" and high - low > 0.6  # 3 photos: wide
    low, high = wilson_interval(9, 10)
    assert rows.loc["cat", "precision"] == f"90% ({low:.0%}–{high:.0%})"
    assert "f1" not in rows.columns  # a figure without an interval is not shown
    # a model's stored metrics without a confusion matrix give the same counts back from its shares
    assert per_class_table(per_class).equals(per_class_table(per_class, confusion))
    never_called = per_class.assign(precision=[0.8, 0.0], recall=[1.0, 0.0])
    assert per_class_table(never_called, [[12, 0], [3, 0]]).set_index("class").loc["dog", "precision"] == "–"


def test_the_model_card_gives_each_class_its_interval(tmp_path):
    from fewshot import run_to_end, train
    from hostile_util import tiny_config
    pets = make_class_folders(tmp_path / "pets", {"cats": 8, "dogs": 8})
    tm = run_to_end(train(load_dataset(pets, val_fraction=0.5), tiny_config())).model
    card = tm.model_card()
    zh = L.translate(card, "zh-CN")  # the card as the Chinese page shows it
    assert "f1" not in card
    for row in tm.metrics["per_class"]:
        right = round(row["recall"] * row["support"])
        low, high = wilson_interval(right, row["support"])
        assert f"recall {right / row['support']:.0%} ({low:.0%}–{high:.0%}); {row['support']} images" in card
        assert f"召回率 {right / row['support']:.0%} ({low:.0%}–{high:.0%})；{row['support']} 张图片" in zh, zh


# ---------------------------------------------------------------- the split, as it happened

def test_the_split_says_how_many_of_each_class_were_kept_aside(tmp_path):
    ds = load_dataset(make_class_folders(tmp_path / "pets", {"cats": 3, "dogs": 20}))
    try:
        text = V.data_summary(ds, "pets")
        assert "random 20%" not in text
        assert "cats 1/3" in text and "dogs 4/20" in text
        assert "从每个类别中随机留出（留出/全部）：cats 1/3, dogs 4/20" in L.translate(text, "zh-CN")
    finally:
        ds.cleanup()


def test_many_classes_give_the_range_of_shares_kept_aside(tmp_path):
    ds = load_dataset(make_class_folders(tmp_path / "many", {f"c{i}": 3 + 5 * i for i in range(7)}))
    try:
        text = V.split_text(ds)
        assert text.startswith("kept aside at random, between ")
        counts = ds.counts()
        share = counts["val"] / counts["total"]
        assert f"between {share.min():.0%} and {share.max():.0%}" in text and share.min() != share.max()
        assert f"({counts['val'].sum()} of {counts['total'].sum()} photos)" in text
    finally:
        ds.cleanup()


# ---------------------------------------------------------------- the confusion matrix leaves room for names

def test_long_class_names_get_room_beside_the_really_is_title():
    short = V.confusion_figure(_matrix(["cat", "dog"]))
    names = ["a rather long class name for the first kind", "another long name", "c", "d", "e"]
    long = V.confusion_figure(_matrix(names))
    room = V.confusion_layout(names)
    # the left margin holds the longest (shortened) name, the title's standoff and the title itself
    assert long.layout.margin.l >= room["label_px"] + long.layout.yaxis.title.standoff + 13 * 1.2
    assert long.layout.margin.l > short.layout.margin.l + 100
    assert long.layout.margin.b > short.layout.margin.b  # slanted names need room under the plot too
    assert max(len(t) for t in long.layout.yaxis.ticktext) <= 24  # shortened on the axis…
    assert list(long.layout.yaxis.tickvals) == names  # …the full name stays on the cell (hover)
    chinese = V.confusion_layout(["非常长的中文类别名称"])
    assert chinese["label_px"] >= 10 * 13  # wide characters count as wide


def _matrix(names):
    import pandas as pd
    return pd.DataFrame([[1] * len(names)] * len(names), index=names, columns=names)


# ---------------------------------------------------------------- check on other photos, on the page

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A page and a session with a tiny model trained on cat/dog photos."""
    from fewshot.ui import build_app
    from fewshot.ui.tab import state as ST
    from fewshot.ui.tab import training as T
    base = tmp_path_factory.mktemp("check")
    mp = pytest.MonkeyPatch()
    mp.setenv("FEWSHOT_SESSION_DIR", str(base / "sessions"))
    mp.setenv("GRADIO_TEMP_DIR", str(base))  # the zips below are made there, as uploads land (the page reads no other)
    data = make_class_folders(base / "pets", {"cat": 10, "dog": 10})
    demo = build_app().blocks
    sess = ST.Session()
    sess.set_dataset(load_dataset(data), "pets")
    for _ in T.run_training(sess, T.make_config("resnet18", False, 1, 0.003, "head", batch_size=8)):
        pass
    yield demo, sess, data, base
    sess.cleanup()
    mp.undo()


def _evaluate(demo):
    """The page's "Check on other photos", run to its end: its last answer (it shows its progress as it goes)."""
    fn = next(f.fn for f in demo.fns.values() if f.api_name == "evaluate")

    def run(*args):
        out = None
        for out in fn(*args):
            pass
        return out
    return run


def _result(demo, out) -> str:
    box = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "eval-result")
    return out[box]


def _zip(folder, out):
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(folder.rglob("*.png")):
            zf.write(p, p.relative_to(folder))
    return str(out)


def test_other_photos_on_the_page_say_how_many_it_trained_on_and_the_accuracy_on_the_rest(trained):
    demo, sess, data, base = trained
    mixed = base / "mixed"
    shutil.copytree(data, mixed)  # every training photo, plus new ones it never saw
    new = make_class_folders(base / "new", {"cat": 6, "dog": 6}, seed=7)
    for cls in ("cat", "dog"):
        for p in (new / cls).glob("*.png"):
            shutil.copy(p, mixed / cls / f"new-{p.name}")
    text = _result(demo, _evaluate(demo)(_zip(mixed, base / "mixed.zip"), sess, None))
    n_train, n_val = len(sess.dataset.train), len(sess.dataset.val)
    assert "% right on these photos" in text and f"of {20 + 12} photos were named correctly" in text
    assert f"{n_train} of 32 photos were in this model's training set and {n_val} were its validation photos" \
        in text and "on the 12 it never saw" in text
    assert "likely between" in text and "Only" not in text  # 32 photos: a range, no small-set warning


def test_other_photos_it_never_saw_are_called_a_fair_measure_and_come_in_chinese(trained):
    demo, sess, data, base = trained
    new = make_class_folders(base / "fresh", {"cat": 5, "dog": 5}, seed=11)
    sess.lang = "zh-CN"
    try:
        zh = _result(demo, _evaluate(demo)(_zip(new, base / "fresh.zip"), sess, None))
    finally:
        sess.lang = None
    assert "这 10 张照片都没有用于训练这个模型" in zh
    assert "只有 10 张照片" in zh and "验证照片" not in zh  # few, and not called validation photos
    assert "在这些照片上答对" in zh and "Only" not in zh


def test_other_photos_without_a_model_ask_for_one_first(trained, tmp_path):
    import gradio as gr

    from fewshot.ui.tab import state as ST
    demo, _, data, base = trained
    empty = ST.Session()
    try:
        with pytest.raises(gr.Error, match="There is no model yet"):
            _evaluate(demo)(_zip(data, base / "d.zip"), empty, None)
    finally:
        empty.cleanup()


def test_the_star_on_a_finished_curve_marks_the_epoch_the_model_kept_not_the_most_accurate():
    from fewshot import views as V
    history = [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5, "val_loss": 0.5, "val_acc": a}
               for e, a in ((1, 0.9), (2, 0.8), (3, 0.85))]
    _, finished = V.curve_figures(history, 3, 2, kept=3)
    star = [t for t in finished.data if t.marker.symbol == "star"]
    assert [(t.name, list(t.x)) for t in star] == [("kept", [3])]
    _, running = V.curve_figures(history, 10, 2)
    star = [t for t in running.data if t.marker.symbol == "star"]
    assert [(t.name, list(t.x)) for t in star] == [("most accurate so far", [1])]
