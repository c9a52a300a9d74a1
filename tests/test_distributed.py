"""Data-parallel training: two processes with gloo on the CPU, as `torchrun` starts them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, make_class_folders

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _env(tmp_path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", FEWSHOT_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("WORLD_SIZE", None)
    return env


def test_torchrun_cli_trains_and_rank0_saves_one_model(tmp_path):
    data = make_class_folders(tmp_path / "data", {"cat": 10, "dog": 10, "fox": 10})
    out = tmp_path / "model.safetensors"
    proc = subprocess.run(TORCHRUN + ["-m", "fewshot", "train", str(data), "--out", str(out), "--scratch",
                                      "--arch", "mobilenet_v2", "--epochs", "2", "--batch-size", "8", "--json"],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1, proc.stdout  # rank 0 alone reports (and saves)
    assert reports[0]["classes"] == ["cat", "dog", "fox"]
    assert len(reports[0]["history"]) == 2
    from fewshot import Predictor, load_bundle
    tm = load_bundle(out)
    assert tm.classes == ["cat", "dog", "fox"]
    assert Predictor(tm).predict_one(data / "dog" / "000.png")[0][0] in tm.classes


WORKER = textwrap.dedent("""
    import hashlib, json, os, sys
    from fewshot import TrainConfig, load_dataset, run_to_end
    from fewshot.distributed import rank, train
    ds = load_dataset(sys.argv[1])
    done = run_to_end(train(ds, TrainConfig(arch="mobilenet_v2", pretrained=False, stage="top", epochs=2,
                                            batch_size=8)))
    h = hashlib.sha1()
    for k, v in sorted(done.model.model.state_dict().items()):
        h.update(k.encode()); h.update(v.float().numpy().tobytes())
    with open(os.path.join(sys.argv[2], f"rank{rank()}.json"), "w") as f:
        json.dump({"digest": h.hexdigest(), "history": [(r["val_acc"], r["val_loss"], r["train_loss"])
                   for r in done.history], "accuracy": done.evaluation.accuracy,
                   "scored": int(done.evaluation.confusion.values.sum()), "val_images": len(ds.val)}, f)
""")


def test_both_ranks_end_with_the_same_model_and_metrics(tmp_path):
    data = make_class_folders(tmp_path / "data", {"red": 13, "green": 9})  # 17 train, 5 val: shards padded
    (tmp_path / "worker.py").write_text(WORKER)
    proc = subprocess.run(TORCHRUN + [str(tmp_path / "worker.py"), str(data), str(tmp_path)],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["digest"] == r1["digest"]  # identical weights, BatchNorm statistics included
    assert r0["history"] == r1["history"] and len(r0["history"]) == 2
    assert r0["accuracy"] == r1["accuracy"]
    assert r0["scored"] == r0["val_images"] == 5  # every validation photo scored once, whichever rank read it
