"""Step 3's "Check on other photos": it predicts through the session's predictor (on ZeroGPU that runs each call
in the GPU worker, never in the web process), and its result goes when another model arrives."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from fewshot import Preprocessing, TrainConfig, load_dataset, run_to_end, save_bundle, train
from fewshot.gpu_jobs import RemotePredictor
from fewshot.predict import evaluate_photos
from tests.conftest import make_class_folders


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("other-photos")
    data = make_class_folders(tmp / "data", {"circle": 8, "square": 8})
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=1, batch_size=8,
                      preprocessing=Preprocessing(resize=40, crop=32))
    tm = run_to_end(train(load_dataset(data), cfg)).model
    other = make_class_folders(tmp / "other", {"circle": 4, "square": 4}, seed=7)
    with zipfile.ZipFile(tmp / "other.zip", "w") as zf:
        for p in other.rglob("*.png"):
            zf.write(p, p.relative_to(other.parent))
    return tmp, tm, tmp / "other.zip", save_bundle(tm, tmp / "m.safetensors")


def test_a_given_predictor_measures_the_same_as_the_default_one(trained):
    _, tm, other, _ = trained
    calls = []

    def job(tm_, paths, top_k, tta):  # what ZeroGPU runs in its worker
        calls.append(len(paths))
        from fewshot.gpu_jobs import predict_job
        return predict_job(tm_, paths, top_k, tta)
    mine = evaluate_photos(tm, other, predictor=RemotePredictor(tm, job=job))
    plain = evaluate_photos(tm, other)
    assert calls == [8]  # every photo went through the given predictor, in one call
    assert mine.images == plain.images == 8 and mine.report.accuracy == plain.report.accuracy
    assert mine.summary() == plain.summary()


def _fn(demo, api_name: str):
    return next(b.fn for b in demo.fns.values() if b.api_name == api_name)


def test_the_page_checks_through_the_session_predictor_and_clears_the_result_for_a_new_model(trained, tmp_path,
                                                                                              monkeypatch):
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))  # the handlers read uploads only
    from fewshot.ui import Backends, build_app
    from fewshot.ui.tab.state import Session
    _, tm, other, bundle = trained
    (tmp_path / "uploads").mkdir()
    other, bundle = (Path(shutil.copy(f, tmp_path / "uploads" / f.name)) for f in (other, bundle))  # as uploaded
    made = []

    def predictor(model):  # the session's backends.predictor: the page must use it
        made.append(model)
        return RemotePredictor(model)
    demo = build_app(Backends(predictor=predictor)).blocks
    out = _fn(demo, "load_model")(str(bundle), None, None)
    sess = next(v for v in out.values() if isinstance(v, Session))
    box = next(c for c in out if getattr(c, "elem_id", None) == "eval-result")
    assert out[box] == ""
    *_, out = _fn(demo, "evaluate")(str(other), sess, None)  # its last answer (the ones before say how far it is)
    assert "right on these photos" in out[box] and len(made) == 1
    out = _fn(demo, "load_model")(str(bundle), sess, None)  # another model (the same file, loaded again)
    assert out[box] == ""
    sess.cleanup()
