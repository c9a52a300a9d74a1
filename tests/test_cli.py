"""The command line as a user runs it: exit codes, --json, CSV.

`run` is the entry point called in this process (tests/cli_inproc.py: the same exit code, stdout and stderr,
without a torch import per call); `run_process` is a real `python -m fewshot`, kept for the training (exit 0,
--json on the real stdout) and for a bad input (exit 2 from the real process).
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from tests.cli_inproc import run_cli as run
from tests.conftest import ROOT, make_class_folders


def run_process(*args, env=None):
    e = {**os.environ, **(env or {})}
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "fewshot", *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=ROOT, timeout=600)


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    data = make_class_folders(tmp / "data", {"circle": 10, "square": 10})
    with zipfile.ZipFile(tmp / "data.zip", "w") as zf:
        for p in data.rglob("*.png"):
            zf.write(p, "data/" + str(p.relative_to(data)))
    r = run_process("train", tmp / "data.zip", "--scratch", "--arch", "mobilenet_v2", "--epochs", "2",
                    "--batch-size", "8", "--no-balanced", "--out", tmp / "m.safetensors", "--json")
    assert r.returncode == 0, r.stderr
    return tmp, last_json(r.stdout)


def test_inspect_json(tmp_path):
    data = make_class_folders(tmp_path / "d", {"a": 3, "b": 25})
    (data / "a" / "bad.jpg").write_bytes(b"")
    r = run("inspect", data, "--json")
    assert r.returncode == 0, r.stderr
    rep = last_json(r.stdout)
    assert rep["classes"] == ["a", "b"]
    assert rep["skipped"] == [{"file": "a/bad.jpg", "reason": "the file is empty (0 bytes)"}]
    assert any(w["code"] == "few_images" for w in rep["warnings"])


def test_train_from_zip_then_evaluate_predict_export(cli_model):
    tmp, out = cli_model
    assert out["classes"] == ["circle", "square"] and len(out["history"]) == 2
    from fewshot.bundle import load_bundle
    assert load_bundle(tmp / "m.safetensors").config.balanced_loss is False  # --no-balanced (on by default)
    r = run("evaluate", tmp / "m.safetensors", tmp / "data", "--json")
    assert r.returncode == 0, r.stderr
    ev = last_json(r.stdout)
    assert ev["images"] == 20 and 0 <= ev["accuracy"] <= 1
    assert ev["confusion"]["labels"] == ["circle", "square"] and len(ev["per_class"]) == 2
    r = run("evaluate", tmp / "m.safetensors", tmp / "data")  # for a person: every figure with its interval
    assert r.returncode == 0, r.stderr
    assert re.search(r"^accuracy [\d.]+ on 20 images \(95% interval [\d.]+-[\d.]+\)$", r.stdout, re.M), r.stdout
    assert len(re.findall(r"^ *(circle|square) +(\d+% \(\d+%–\d+%\)|–) +\d+% \(\d+%–\d+%\) +10$", r.stdout,
                          re.M)) == 2, r.stdout
    r = run("predict", tmp / "m.safetensors", tmp / "data" / "circle", "--top-k", "2", "--csv", tmp / "p.csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp / "p.csv", encoding="utf-8")))
    assert len(rows) == 10 and all(row["label"] in ("circle", "square") for row in rows)
    r = run("export", tmp / "m.safetensors", "--format", "torchscript", "--out", tmp / "m.pt")
    assert r.returncode == 0 and (tmp / "m.pt").exists(), r.stderr


def test_bad_input_exit_code_2_names_problem(cli_model, tmp_path):
    tmp, _ = cli_model
    r = run_process("train", tmp_path / "missing", "--out", tmp_path / "x.safetensors")
    assert r.returncode == 2 and "missing does not exist" in r.stderr
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not a model at all, just text")
    r = run("predict", fake, tmp / "data" / "circle" / "000.png")
    assert r.returncode == 2 and "not a fewshot model" in r.stderr
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    r = run("predict", tmp / "m.safetensors", bad, "--json")
    assert r.returncode == 2 and "not a picture" in last_json(r.stdout)["predictions"][0]["error"]


def test_offline_weights_message_and_weights_install(tmp_path, pretrained_home):
    home = tmp_path / "home"
    data = make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    r = run("train", data, "--epochs", "1", "--out", tmp_path / "m.safetensors",
            env={"TORCH_HOME": str(home), "FEWSHOT_OFFLINE": "1"})
    assert r.returncode == 2 and "resnet18-f37072fd.pth" in r.stderr and "weights --from" in r.stderr
    src = pretrained_home / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    r = run("weights", "--from", src, env={"TORCH_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert (home / "hub" / "checkpoints" / src.name).exists()
    wrong = tmp_path / "mobilenet_v2-b0353104.pth"
    wrong.write_bytes(b"x" * 100)
    r = run("weights", "--from", wrong, env={"TORCH_HOME": str(tmp_path / "home2")})
    assert r.returncode == 2 and "sha256" in r.stderr


def test_help_and_the_parser_do_not_load_torch():
    """`import fewshot` and the parser stay light: the package's names load with their modules, on first use."""
    code = ("import runpy, sys\nsys.argv = ['fewshot', '--help']\ntry:\n    runpy.run_module('fewshot', "
            "run_name='__main__')\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'torch' not in sys.modules and 'pandas' not in sys.modules, 'loaded by --help'\n"
            "import fewshot\nassert fewshot.train.__module__ == 'fewshot.train' and callable(fewshot.export)\n"
            "assert [n for n in fewshot.__all__ if getattr(fewshot, n, None) is None] == []\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
