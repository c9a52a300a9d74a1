"""Runs in the page's words (issue 24): the runs table's notes and settings without command-line flags or server
paths, the active run in its first row, every word of it in Chinese on a Chinese page; "run 2" in the share
list and on the demo page in the visitor's language; counts in the singular when there is one."""
from __future__ import annotations

import re
import threading
from types import SimpleNamespace

import pytest

from fewshot import i18n as L
from fewshot.config import TrainConfig
from fewshot.errors import TrainingError
from fewshot.train import train
from fewshot.train_events import EpochEnd
from fewshot.ui import share
from fewshot.ui import step_project as SP
from fewshot.ui.demo import DemoModel, _head
from fewshot.ui.tab import photos as P
from fewshot.ui.tab import state as ST

QUICK = TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=1, batch_size=8, stage="head")
# what a crash's message may hold: written for the command line and the log, never for the page
CLI_WORDS = re.compile(r"(^|\s)--[a-z]|/tmp/|/root/|\.safetensors|Error:")
ASCII_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture
def sess(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    s = ST.Session()
    s.project_owner = "browser-token-for-tests-0123456789"
    P.load_example(s, per_class=6)
    yield s
    s.cleanup()


def _three_runs(p) -> None:
    """Run 1 finished (the active one), run 2 crashed part-way with a message for the command line, run 3
    stopped by its owner before its first epoch ended."""
    list(p.train(QUICK))

    def crashes(ds, cfg, **kw):
        for ev in train(ds, cfg, **kw):
            yield ev
            if isinstance(ev, EpochEnd):
                raise TrainingError("Weights in /root/.cache/torch/hub/x.safetensors are damaged: run again with "
                                    "--scratch or --weights FILE.")
    with pytest.raises(TrainingError):
        list(p.train(TrainConfig(arch="mobilenet_v2", pretrained=False, epochs=2, batch_size=8), trainer=crashes))
    stop = threading.Event()
    stop.set()
    list(p.train(QUICK, stop=stop))


def test_the_runs_table_shows_the_active_run_first_and_speaks_the_pages_words_in_both_languages(sess):
    p = sess.project
    _three_runs(p)
    assert [(r.number, r.status) for r in p.runs()] == [(1, "finished"), (2, "failed"), (3, "stopped")]
    df = SP.runs_frame(sess)
    assert list(df["run"]) == [1, 3, 2] and df["active"][0]  # the active run first, then the newest
    for col in ("settings", "note"):
        for text in df[col]:
            assert not CLI_WORDS.search(text), (col, text)
    assert df["note"][2] == "Failed after training had started."  # the crash's reason named flags and a path
    assert "stopped before the first epoch ended" in df["note"][1]
    assert "at most 1 epoch" in df["settings"][0] and "starts from scratch" in df["settings"][0]

    zh = L.translate_frame(df, L.ZH)
    assert {"训练", "当前", "状态", "轮数", "设置", "备注"} <= set(zh.columns)
    assert list(zh["状态"]) == ["已完成", "已停止", "失败"]
    for col in ("当前", "状态", "设置", "备注"):  # only the backbone's name stays as it is
        for text in zh[col]:
            left = [w for w in ASCII_WORD.findall(text.replace("mobilenet_v2", "")) if w != "ImageNet"]
            assert not left, (col, text)


def test_run_words_in_the_share_list_and_on_the_demo_page_follow_the_language():
    links = [SimpleNamespace(id="abcdefghijklmnop", run_number=2, revoked=None)]
    label = share._choices(links)[0][0]
    assert label.endswith("(run 2)") and "第 2 次训练" in L.translate(label, L.ZH)
    m = DemoModel("birds · run 2", SimpleNamespace(classes=["crow", "jay"]), None, threading.Lock(), False,
                  run_number=2)
    assert "<h1>birds · run 2</h1>" in _head(m, L.EN)
    assert "<h1>birds · 第 2 次训练</h1>" in _head(m, L.ZH)
    named = DemoModel("run 2 · run 2", m.tm, None, m.lock, False, run_number=2)  # a project named like a run
    assert "<h1>run 2 · 第 2 次训练</h1>" in _head(named, L.ZH)


def test_counts_of_one_are_singular_and_both_forms_are_chinese():
    assert L.plural(1, "1 run", "1 runs") == "1 run" and L.plural(3, "1 run", "3 runs") == "3 runs"
    for text in ("1 photo", "7 photos", "1 run", "4 runs", "at most 1 epoch", "at most 10 epochs",
                 "roses (1 photo, 1 run)", "roses (9 photos, 2 runs)"):
        assert re.search(r"[\u4e00-\u9fff]", L.translate(text, L.ZH)), text
    assert L.translate("roses (1 photo, 1 run)", L.ZH) == "roses（1 张照片，1 次训练）"
