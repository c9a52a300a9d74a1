"""An exported model is what a user downloads and takes elsewhere: the offered files alone must run there.

Issue 12 item 1: the page's .onnx kept its weights in a hidden, temp-named .data file that stayed on the
server, so onnxruntime on the user's machine failed with "External data path does not exist".
Here only the offered files are copied to an empty folder and run from there, in a fresh Python that
cannot import fewshot, and must give fewshot's own probabilities.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fewshot import Predictor, Preprocessing, TrainConfig, load_dataset, run_to_end, save_bundle, train
from fewshot.export import export, exported_files
from fewshot.images import center_view, decode_canvas
from tests.cli_inproc import run_cli
from tests.conftest import make_class_folders

export_module = sys.modules["fewshot.export"]  # `fewshot.export` the attribute is the function

SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}  # what the page names them

# Runs in the user's folder, knowing only the file's name: no fewshot, nothing from the server.
RUNNER = """
import sys
import numpy as np
fmt, model, inputs, result = sys.argv[1:]
x = np.load(inputs)
if fmt == "onnx":
    import onnxruntime as ort
    y = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
else:
    import torch
    y = torch.jit.load(model)(torch.from_numpy(x)).detach().numpy()
np.save(result, y)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("travel")
    root = make_class_folders(tmp / "data", {"red": 6, "green": 6, "blue": 6})
    ds = load_dataset(root)
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=1, batch_size=8,
                      preprocessing=Preprocessing(resize=72, crop=64))
    tm = run_to_end(train(ds, cfg)).model
    bundle = save_bundle(tm, tmp / "model.safetensors")
    return tm, [s.path for s in ds.train[:4] + ds.val], bundle


def _run_elsewhere(files: list[Path], fmt: str, photos: list[str], tmp: Path) -> tuple[np.ndarray, Path]:
    """Copy exactly `files` into an empty folder, feed the photos as the .json sidecar says, run there."""
    user = tmp / "users-machine"
    user.mkdir()
    for f in files:
        shutil.copy(f, user / f.name)
    sidecar = json.loads((user / (files[0].name + ".json")).read_text(encoding="utf-8"))
    pre = sidecar["preprocessing"]
    pre = Preprocessing(resize=pre["resize"], crop=pre["crop"])
    x = np.stack([center_view(decode_canvas(p, pre), pre) for p in photos]).transpose(0, 3, 1, 2)
    work = tmp / "scratch"  # inputs and outputs live outside the user's folder
    work.mkdir()
    np.save(work / "x.npy", np.ascontiguousarray(x, dtype=np.float32) / 255.0)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", RUNNER, fmt, files[0].name, str(work / "x.npy"), str(work / "y.npy")],
                       capture_output=True, text=True, cwd=user, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return np.load(work / "y.npy"), user


def _assert_fewshot_numbers(got: np.ndarray, tm, photos: list[str]) -> None:
    ref = Predictor(tm).probabilities(photos).numpy()
    assert got.shape == ref.shape == (len(photos), len(tm.classes))
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert (got.argmax(1) == ref.argmax(1)).all()


def _assert_onnx_is_whole(path: Path) -> None:
    import onnx
    from onnx.external_data_helper import uses_external_data
    model = onnx.load(str(path), load_external_data=False)
    assert model.graph.initializer and not any(uses_external_data(t) for t in model.graph.initializer)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_exported_onnx_or_torchscript_file_runs_alone_in_an_empty_folder(trained, tmp_path, fmt):
    tm, photos, _ = trained
    server = tmp_path / "server"
    path = export(tm, fmt, server / f"fewshot-red-green-blue{SUFFIX[fmt]}")
    offered = [path, path.with_suffix(path.suffix + ".json"), path.with_suffix(".md")]  # what the page offers
    assert exported_files(path) == offered
    # nothing else was written beside them: no hidden weights file, no temp leftovers
    assert sorted(p.name for p in server.iterdir()) == sorted(p.name for p in offered)
    if fmt == "onnx":
        _assert_onnx_is_whole(path)
        assert path.stat().st_size > 1_000_000  # mobilenet_v2's 2.2M weights are in it (was ~280 KB without)
    got, user = _run_elsewhere(offered, fmt, photos, tmp_path)
    _assert_fewshot_numbers(got, tm, photos)
    assert sorted(p.name for p in user.iterdir()) == sorted(p.name for p in offered)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_the_cli_export_runs_alone_in_an_empty_folder(trained, tmp_path, fmt):
    tm, photos, bundle = trained
    out = tmp_path / "cli-out" / f"model{SUFFIX[fmt]}"
    r = run_cli("export", str(bundle), "--format", fmt, "--out", str(out), "--json")  # tests/cli_inproc.py
    assert r.returncode == 0, r.stderr
    files = [Path(f) for f in json.loads(r.stdout.strip().splitlines()[-1])["files"]]
    assert files == [out, out.with_suffix(out.suffix + ".json"), out.with_suffix(".md")]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(f.name for f in files)
    got, _ = _run_elsewhere(files, fmt, photos, tmp_path)
    _assert_fewshot_numbers(got, tm, photos)


def test_an_onnx_model_too_big_for_one_file_hands_over_a_correctly_named_weights_file(trained, tmp_path,
                                                                                      monkeypatch):
    """Over protobuf's 2 GB the weights must go beside the model: then under the model's own name, and
    listed among the files to hand over (page and CLI), so the pair still runs elsewhere."""
    tm, photos, bundle = trained
    monkeypatch.setattr(export_module, "ONNX_SINGLE_FILE_BYTES", 0)  # pretend this small model is huge
    server = tmp_path / "server"
    path = export(tm, "onnx", server / "big.onnx")
    files = exported_files(path)
    assert [f.name for f in files] == ["big.onnx", "big.onnx.data", "big.onnx.json", "big.md"]
    assert sorted(p.name for p in server.iterdir()) == sorted(f.name for f in files)
    assert json.loads(files[2].read_text())["weights_file"] == "big.onnx.data"
    got, _ = _run_elsewhere(files, "onnx", photos, tmp_path)
    _assert_fewshot_numbers(got, tm, photos)
    # exported again small over the same name: the old weights file goes, it would only mislead
    monkeypatch.undo()
    export(tm, "onnx", path)
    assert sorted(p.name for p in server.iterdir()) == ["big.md", "big.onnx", "big.onnx.json"]
    _assert_onnx_is_whole(path)
    # the CLI hands over the weights file too
    out = tmp_path / "cli" / "big.onnx"
    monkeypatch.setattr(export_module, "ONNX_SINGLE_FILE_BYTES", 0)
    r = run_cli("export", str(bundle), "--format", "onnx", "--out", str(out))  # in this process: tests/cli_inproc.py
    assert r.returncode == 0, r.stderr
    assert "big.onnx.data" in r.stdout and "keep the two model files together" in r.stdout
