"""Bundles round-trip without pickle; exports predict what the app's Predictor predicts."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from fewshot import (BundleError, Predictor, Preprocessing, TrainConfig, export, load_bundle, load_dataset,
                     run_to_end, save_bundle, train)
from fewshot.images import decode_canvas, center_view
from tests.conftest import make_class_folders


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = make_class_folders(tmp_path_factory.mktemp("d") / "data", {"红": 8, "green 🍏": 8, "blue": 8})
    ds = load_dataset(root)
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=2, batch_size=8,
                      preprocessing=Preprocessing(resize=80, crop=64))
    done = run_to_end(train(ds, cfg))
    return done.model, ds


def test_bundle_round_trip_same_predictions(trained, tmp_path):
    tm, ds = trained
    path = save_bundle(tm, tmp_path / "m.safetensors")
    back = load_bundle(path)
    assert back.classes == tm.classes == sorted(["红", "green 🍏", "blue"])
    assert back.config == tm.config
    assert back.metrics["best_epoch"] == tm.metrics["best_epoch"]
    paths = [s.path for s in ds.val]
    a = Predictor(tm).probabilities(paths)
    b = Predictor(back).probabilities(paths)
    assert torch.equal(a, b)
    assert "green 🍏" in back.model_card()
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:  # the card travels inside the file, readable by any tool
        card = f.metadata()["model_card"]
    assert card.startswith("# Image classifier") and "validation accuracy" in card


def test_save_is_atomic_and_leaves_no_temp_files(trained, tmp_path):
    tm, _ = trained
    save_bundle(tm, tmp_path / "m.safetensors")
    save_bundle(tm, tmp_path / "m.safetensors")  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_malformed_and_foreign_files_refused(tmp_path, trained):
    tm, _ = trained
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 5)
    with pytest.raises(BundleError, match="too short"):
        load_bundle(junk)
    pk = tmp_path / "model.pt"
    pk.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(BundleError, match="not a fewshot model"):
        load_bundle(pk)
    good = save_bundle(tm, tmp_path / "good.safetensors").read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good[: len(good) - 1000])
    with pytest.raises(BundleError):
        load_bundle(cut)


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_export_matches_predictor(trained, tmp_path, fmt):
    tm, ds = trained
    out = export(tm, fmt, tmp_path / ("m.pt" if fmt == "torchscript" else "m.onnx"))
    assert out.exists() and out.with_suffix(out.suffix + ".json").exists() and out.with_suffix(".md").exists()
    pre = tm.config.preprocessing
    paths = [s.path for s in ds.val + ds.train[:4]]
    x = np.stack([center_view(decode_canvas(p, pre), pre) for p in paths]).transpose(0, 3, 1, 2)
    x = np.ascontiguousarray(x, dtype=np.float32) / 255.0
    ref = Predictor(tm).probabilities(paths).numpy()
    if fmt == "torchscript":
        got = torch.jit.load(str(out))(torch.from_numpy(x)).detach().numpy()
    else:
        import onnxruntime as ort
        sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"image": x})[0]
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert (got.argmax(1) == ref.argmax(1)).all()
