"""The app in Simplified Chinese: every English word has a Chinese one, and real messages come out in Chinese.

Browser checks (the page in a zh-CN browser, the switch) are in tests/test_browser.py.
"""
from __future__ import annotations

import re
import shutil
import textwrap
import zipfile
from pathlib import Path

import gradio as gr
import pytest
from conftest import make_class_folders
from i18n_scan import engine_templates, module_templates

from fewshot import i18n as L
from fewshot import load_dataset
from fewshot.errors import DataError
from fewshot.evaluate import diagnose
from fewshot.locales.zh_CN import MESSAGES, UI

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\d+)(?:!t)?\}")
# Words that are the same in Chinese (names of formats and products).
SAME_IN_CHINESE = {"ONNX", "TorchScript", "fewshot", "F1"}


@pytest.fixture(scope="module")
def app_module():
    from fewshot.ui import page
    return page


@pytest.fixture(scope="module")
def demo():
    from fewshot.ui import build_app
    return build_app().blocks


def fn_named(demo, name: str):
    """A callback of the built page, by its Python name (as the browser would call it)."""
    return next(f.fn for f in demo.fns.values() if f.name == name)


def by_id(out: dict) -> dict:
    """A callback's outputs keyed by each component's elem_id ("state" for the tab's state)."""
    return {("state" if isinstance(c, gr.State) else c.elem_id): v for c, v in out.items()}


def request(lang: str) -> gr.Request:
    return gr.Request(headers={"accept-language": lang}, cookies={}, session_hash=f"test-{lang}")


# ---------------------------------------------------------------- every English word has a Chinese one

def test_every_fixed_word_of_the_page_has_chinese(app_module, demo):
    en, zh = app_module.I18N.translations[L.EN], app_module.I18N.translations[L.ZH]
    assert len(en) > 90 and set(en) == set(zh)
    for key, english in en.items():
        chinese = zh[key]
        assert chinese.strip() and english == key
        assert sorted(re.findall(r"\{\d*\}", chinese)) == sorted(re.findall(r"\{\d*\}", english)), key
        if key not in SAME_IN_CHINESE:
            assert chinese != english and CJK.search(chinese), f"no Chinese for {key!r}: {chinese!r}"
    # nothing English was left out of the tables: every label, hint, button and text block is keyed
    plain = []
    for block in demo.blocks.values():
        names = ["label", "info", "placeholder"] + (["value"] if isinstance(block, app_module.TEXT_VALUE) else [])
        plain += [getattr(block, n) for n in names if isinstance(getattr(block, n, None), str)]
        plain += [c[0] for c in getattr(block, "choices", None) or [] if isinstance(c[0], str)]
    words = [p for p in plain if re.search(r"[A-Za-z]{3,}", p)]
    assert set(words) <= {"Class 1", "Class 2", "lang"}, words  # default class names are data, not words


def test_every_engine_message_has_chinese():
    """Every message the engine or app.py can show (exceptions, notices, diagnostics, skipped reasons,
    progress, report text), found in the source, has a Chinese template that uses only its values."""
    keys = {k.replace("{#}", "{}").strip() for k in {**MESSAGES, **UI}}
    found = engine_templates()
    assert len(found) > 250
    missing = {t: where for t, where in found.items() if t.strip() not in keys}
    assert not missing, "no Chinese for:\n" + "\n".join(f"  {w}: {t!r}" for t, w in sorted(missing.items()))
    for english, chinese in {**MESSAGES, **UI}.items():
        values = english.count("{}") + english.count("{#}")
        used = [int(i) for i in PLACEHOLDER.findall(chinese)]
        assert all(i < values for i in used), f"{english!r} has {values} values, {chinese!r} uses {used}"
        assert CJK.search(chinese) or chinese.strip("{}0123456789!t ：；*-⛔") == "", english


def test_a_new_message_without_chinese_is_caught(tmp_path):
    module = tmp_path / "new.py"
    module.write_text(textwrap.dedent('''
        from fewshot.errors import DataError
        def check(name):
            """Docstrings are not messages."""
            if name == "x":
                raise DataError(f"The photo {name} is upside down; turn it around first.")
            return {"train_loss": 1}
    '''))
    found = module_templates(module)
    assert list(found) == ["The photo {} is upside down; turn it around first."]
    assert "The photo {} is upside down; turn it around first." not in MESSAGES


# ---------------------------------------------------------------- real messages, translated

@pytest.fixture
def messy_data(tmp_path) -> Path:
    """cats: 25 photos, dogs: 5 (few, and 5x fewer), a broken file, and a cat picture also among the dogs."""
    root = make_class_folders(tmp_path / "pets", {"cats": 25, "dogs": 5})
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "dogs" / "empty.png").write_bytes(b"")
    shutil.copy(root / "cats" / "000.png", root / "dogs" / "cat-among-dogs.png")
    return root


def assert_chinese(english: str, names: tuple[str, ...] = ()) -> str:
    chinese = L.translate(english, "zh-CN")
    assert CJK.search(chinese) and chinese != english, english
    leftover = re.sub(r"\b(ImageNet|NaN|MB|px|zip|JPEG|HEIC|PDF|HTML|pickle|PyTorch|[\w.-]+\.(png|jpg|pth|zip))\b",
                      "", chinese)
    for name in names:  # class and file names stay as they are
        assert (name in chinese) == (name in english), (name, chinese)
        leftover = leftover.replace(name, "")
    assert not re.search(r"[A-Za-z]{4,}", leftover), f"English left in {chinese!r}"
    assert L.translate(english, "en") == english and L.translate(english, None) == english
    return chinese


def test_dataset_report_and_skipped_reasons_come_in_chinese(messy_data):
    ds = load_dataset(messy_data)
    codes = {n.code for n in ds.notices}
    assert {"few_images", "imbalance", "cross_class_duplicate"} <= codes
    for n in ds.notices:
        assert_chinese(n.message, names=("cats", "dogs", "cat-among-dogs.png", "000.png"))
    dup = next(n for n in ds.notices if n.code == "cross_class_duplicate")
    assert "“cats”和“dogs”中" in L.translate(dup.message, "zh-CN")
    reasons = dict(ds.skipped)
    assert len(reasons) == 2
    for reason in reasons.values():
        assert_chinese(reason)
    frame = L.translate_frame(ds.skipped_frame(), "zh-CN")
    assert list(frame.columns) == ["文件", "原因"] and set(frame["文件"]) == set(reasons)
    assert all(CJK.search(r) for r in frame["原因"])


def test_errors_and_training_diagnostics_come_in_chinese(tmp_path):
    one = make_class_folders(tmp_path / "one", {"only cats": 4})
    with pytest.raises(DataError) as err:
        load_dataset(one)
    assert_chinese(str(err.value), names=("only cats",))
    history = [{"epoch": i + 1, "train_loss": 1.0 + i, "train_acc": 0.5, "val_loss": 1.0 + i, "val_acc": 0.33}
               for i in range(4)]
    diags = diagnose(history, 3)
    assert {d.code for d in diags} >= {"stuck_at_chance", "diverging"}
    for d in diags:
        assert_chinese(d.message)
        assert_chinese(d.advice)
    line = f"- ⚠️ **{diags[0].message}** {diags[0].advice}"  # as the diagnostics box shows them
    assert line.startswith(L.translate(line, "zh-CN")[:5]) and "**" in L.translate(line, "zh-CN")


def test_languages_from_browsers():
    assert [L.normalize_lang(t) for t in ("zh", "zh-CN", "zh_CN", "zh-Hans-CN", "zh-SG", "ZH-cn")] == ["zh-CN"] * 6
    assert [L.normalize_lang(t) for t in ("zh-TW", "zh-Hant", "en-US", "zhx", "", None, "fr")] == ["en"] * 7
    assert L.lang_from_header("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert L.lang_from_header("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert L.lang_from_header("zh;q=0.5,fr-FR") == "en" and L.lang_from_header("zh-TW,zh;q=0.9") == "en"
    assert L.lang_from_header("en;q=0.5, zh-Hans-CN") == "zh-CN" and L.lang_from_header(None) == "en"


def test_untranslatable_text_stays_english_and_names_stay_as_they_are():
    assert L.translate("Something nobody wrote a translation for.", "zh-CN") == \
        "Something nobody wrote a translation for."
    # a class called like a word the app uses is not translated
    assert L.translate("good", "zh-CN") == "good" and L.translate("Train", "zh-CN") == "Train"
    strip = '<div class="fs-strip-name"><b>training</b><span>3 photos</span></div>'  # a class named "training"
    assert L.translate(strip, "zh-CN") == '<div class="fs-strip-name"><b>training</b><span>3 张照片</span></div>'
    assert L.translate("Train", "zh-CN", label=True) == "训练"
    mixed = L.translate("Class 'Train' has only 3 images; aim for at least 20 per class, taken in different "
                        "scenes, angles and light. Something new.", "zh-CN")
    assert "“Train”" in mixed and mixed.endswith("Something new.")
    assert L.translate("Step 2 of 2 · training · epoch 3/10 · about 5 s left", "zh-CN") == \
        "第 2 步（共 2 步） · 训练中 · 第 3/10 轮 · 还剩约 5 秒"


# ---------------------------------------------------------------- the app's callbacks, called directly

def test_callbacks_answer_in_the_language_of_the_browser(demo, messy_data, tmp_path):
    zipped = tmp_path / "pets.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for p in sorted(messy_data.rglob("*")):
            zf.write(p, p.relative_to(messy_data.parent))
    on_zip = fn_named(demo, "on_zip")
    with pytest.warns(UserWarning, match="跳过了 2 个文件；下方的报告说明了每个文件的原因。"):  # gr.Warning's words
        summary, warnings, thumbs, counts, skipped, box, sess = on_zip(str(zipped), None,
                                                                       request("zh-CN,zh;q=0.9")).values()
    try:
        assert sess.lang == "zh-CN"
        assert summary.startswith("**已加载pets.zip：2 个类别**") and "张照片用于学习" in summary
        assert "“dogs”" in warnings and "跳过了 2 个文件" in warnings
        assert "张照片" in thumbs and list(counts.columns) == ["类别", "训练", "验证", "合计"]
        assert list(skipped.columns) == ["文件", "原因"] and box.label == "跳过的文件（2）"
        # the language switch: the same report again, in English, and the session keeps English
        on_lang = fn_named(demo, "on_lang")
        out = by_id(on_lang("en", sess))
        assert out["data-summary"].startswith("**Loaded pets.zip: 2 classes**")
        assert list(out["data-counts"].columns)[0] == "class"
        assert sess.lang == "en"
        again = by_id(on_zip(str(zipped), sess, request("zh-CN")))
        assert again["data-summary"].startswith("**Loaded pets.zip")
        assert CJK.search(by_id(on_lang("zh", sess))["data-summary"])
    finally:
        sess.cleanup()
    with pytest.raises(gr.Error) as err:  # an error in plain words, in Chinese
        on_zip(str(messy_data / "cats" / "000.png"), None, request("zh-CN"))
    assert "不是 .zip 文件" in err.value.message and err.value.title == "抱歉"
    en = by_id(on_zip(str(zipped), None, request("en-US,en")))
    assert en["data-summary"].startswith("**Loaded pets.zip") and list(en["data-skipped"].columns) == ["file", "reason"]
    en["state"].cleanup()


def test_a_switch_the_browser_cannot_pass_on_is_kept_by_the_session(demo):
    """An English browser switched to 中文 where the language cookie is blocked (a Space embedded in another
    site): the switch makes a session that remembers Chinese; where the browser says it, nothing is made."""
    on_lang = fn_named(demo, "on_lang")
    out = by_id(on_lang("zh-CN", None, request("en-US,en")))
    sess = out["state"]
    try:
        assert sess.lang == "zh-CN" and "每轮的准确率" in out["acc-plot"].layout.title.text  # empty curves, in Chinese
        on_example = fn_named(demo, "on_example")
        assert by_id(on_example(sess, request("en-US,en")))["data-summary"].startswith("**已加载形状示例")
    finally:
        sess.cleanup()
    assert "state" not in by_id(on_lang("zh-CN", None, request("zh-CN")))  # the browser says it: no session made


def test_training_callback_reports_in_chinese(demo, tmp_path):
    """The train callback, as the page calls it, from a Chinese browser: progress, curves, diagnostics, the
    check and the model card in Chinese (tiny photos, a network from scratch: mechanics, not accuracy)."""
    zipped = tmp_path / "few.zip"
    folder = make_class_folders(tmp_path / "few", {"ants": 6, "bees": 6})
    with zipfile.ZipFile(zipped, "w") as zf:
        for p in sorted(folder.rglob("*.png")):
            zf.write(p, p.relative_to(folder.parent))
    zh = request("zh-CN")
    sess = by_id(fn_named(demo, "on_zip")(str(zipped), None, zh))["state"]
    try:
        train = fn_named(demo, "train")
        updates = [by_id(u) for u in train("mobilenet_v2", False, 1, 0.001, "head", 4, "none", 0.1, False, 0, 0,
                                           sess, zh)]
        last = updates[-1]
        state, progress, acc = last["state"], last["train-progress"], last["acc-plot"]
        assert state is sess and "用时" in progress and "已完成" in progress and "请在“试用”步骤试用" in progress
        assert acc.layout.title.text == "每轮的准确率（越高越好）" and acc.data[0].name == "训练照片"
        assert "有些类别的照片少于 20 张：ants (6), bees (6)" in last["diagnostics"]
        assert list(last["history"].columns)[:3] == ["轮次", "训练损失", "训练准确率"]
        accuracy, card, status = last["accuracy"], last["model-card"], last["try-status"]
        assert "答对" in accuracy and "张验证照片中有" in accuracy
        assert card.startswith("# 图像分类器：ants, bees") and "## 局限与适用范围" in card
        assert status.startswith("✅ 模型已就绪。它认识：**ants, bees**")
    finally:
        sess.cleanup()
