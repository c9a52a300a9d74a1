"""What a person notices of steps 2-5 through the built page's own callbacks (issue 24): a reopened project's
step 2 shows its active run after a switch of language, the Share list agrees with itself in Chinese and counts
a visitor's photo without a reload, the check on other photos says how far it is, and terms have their plain
words first with the term in a tip, in both languages."""
from __future__ import annotations

import re

import gradio as gr
import pytest
from conftest import make_class_folders, make_image

from fewshot import i18n as L
from fewshot.config import TrainConfig

QUICK = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8, stage="head")
OWNER = "browser-token-for-tests-0123456789"


@pytest.fixture
def page(tmp_path, monkeypatch):
    """The built page's callbacks by name, and a session with a trained project open (as after a reload)."""
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    from fewshot.ui import Backends, build_app
    from fewshot.ui.tab import projects as PJ
    from fewshot.ui.tab.state import Session
    p = PJ.store().create(OWNER, "pets")
    p.add_photos(make_class_folders(tmp_path / "pets", {"cat": 6, "dog": 6}, size=24))
    for _ in p.train(QUICK):
        pass
    demo = build_app(Backends()).blocks
    fns = {}
    for b in demo.fns.values():
        fns.setdefault(b.api_name or b.name, []).append(b.fn)
    sess = Session()
    sess.project_owner = OWNER
    yield fns, sess, p
    sess.cleanup()


def by_id(out: dict) -> dict:
    return {getattr(c, "elem_id", None) or type(c).__name__: v for c, v in out.items()}


def test_step_2_shows_the_active_runs_curves_after_a_reload_and_a_switch_of_language(page):
    # after a reload step 2 said "Not started." with empty curves although run 2 existed: Gradio draws a
    # component's first words again when the language switches, and step 2's render wrote only empty curves
    fns, sess, p = page
    out = by_id(fns["project_pick"][0](p.id, sess, None))  # the project reopened, as on a page load
    assert "The active model: run 1 of this project, finished after 2 epochs:" in out["train-progress"]
    assert "right on the validation photos" in out["train-progress"]
    out = by_id(fns["on_lang"][0]("zh-CN", sess, None))
    assert "当前模型：本项目的第 1 次训练，训练 2 轮后已完成" in out["train-progress"], out["train-progress"]
    assert len(out["loss-plot"].data[0].x) == 2 and len(out["history"]) == 2  # the run's curves, not empty ones
    out = by_id(fns["on_lang"][0]("en", sess, None))
    assert "run 1 of this project" in out["train-progress"] and "Not started" not in out["train-progress"]


def test_the_share_list_comes_back_in_chinese_and_counts_a_visitors_photo_without_a_reload(page, tmp_path):
    # after the switch to 中文 the box said "还没有演示链接。" over its list; "photos sent back 0" stayed until a reload
    from fewshot.demo_links import DemoLinks
    from fewshot.ui.tab import projects as PJ
    fns, sess, p = page
    fns["project_pick"][0](p.id, sess, None)
    request = gr.Request(headers={"host": "127.0.0.1:7860"})
    out = by_id(fns["share"][0](True, sess, request))
    assert "| 1 | on | 0 |" in out["share-links"] and "Timer" not in out  # the API answers as it always did
    out = by_id(fns["tick"][0](sess, request))  # what the page runs after it
    assert "| 1 | on | 0 |" in out["share-links"] and out["Timer"].active  # a live link: the list is read again
    sess.lang = L.ZH
    said = by_id(fns["retell"][0]("zh-CN", sess, request))
    assert "还没有演示链接" not in said["share-links"] and "| 链接 | 训练 | 反馈 | 发回的照片 | 创建时间 |" in said["share-links"]
    assert "/m/" in said["share-links"]
    links = DemoLinks(PJ.store())
    link_id = links.of(p)[0].id
    target = links.resolve(link_id)
    links.add_feedback(target, make_image(tmp_path / "visitor" / "snap.png", (10, 200, 10), 5, 40), "dog",
                       ["cat", "dog"])
    ticked = by_id(fns["tick"][0](sess, request))
    assert "| 1 | 开 | 1 |" in ticked["share-links"], ticked["share-links"]  # in the page's language, counted
    links.revoke(p, link_id)
    assert not by_id(fns["tick"][0](sess, request))["Timer"].active  # no live link: the polling stops


def test_the_check_on_other_photos_says_how_many_photos_are_checked_while_it_runs(page, tmp_path, monkeypatch):
    import zipfile
    from fewshot.ui import step_check
    fns, sess, p = page
    fns["project_pick"][0](p.id, sess, None)
    other = make_class_folders(tmp_path / "other", {"cat": 20, "dog": 20}, size=24, seed=3)
    up = tmp_path / "uploads" / "other.zip"
    up.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(up, "w") as zf:
        for f in other.rglob("*.png"):
            zf.write(f, f.relative_to(other.parent))
    monkeypatch.setattr(step_check, "TICK_S", 0.001)  # every moment shows (a real check shows a line each 0.5 s)
    steps = [by_id(o)["eval-result"] for o in fns["evaluate"][0](str(up), sess, None)]
    assert any(re.fullmatch(r"⏳ \d+ of 40 photos checked\.", s) for s in steps), steps
    assert "right on these photos" in steps[-1] and "40 photos were named correctly" not in steps[0]
    said = []
    counting = step_check.Counting(sess.predictor, lambda d, t: said.append((d, t)))
    counting.predict_files([str(f) for f in sorted(other.rglob("*.png"))])
    assert said == [(0, 40), (16, 40), (32, 40), (40, 40)]
    assert L.translate(step_check.checking_text(16, 40), L.ZH) == "⏳ 已检查 40 张照片中的 16 张。"


def test_a_term_is_plain_words_first_with_its_meaning_in_a_tip_in_both_languages():
    from fewshot.ui.terms import TERMS, term
    html = term("Several looks, one answer", "tta")
    assert html.startswith('<span class="fs-term" tabindex="0">Several looks, one answer<span class="fs-tip"')
    assert "Test-time augmentation: the model looks at several versions" in html
    zh = L.translate(html, L.ZH, label=True)
    assert "多看几次，给出一个答案" in zh and "测试时增强：" in zh and 'class="fs-tip"' in zh
    for key, tip in TERMS.items():  # every explanation has its Chinese
        assert re.search(r"[\u4e00-\u9fff]", L.translate(tip, L.ZH)), key
    with pytest.raises(KeyError):
        term("words", "no such term")
