"""The class-balanced loss (TrainConfig.balanced_loss, on by default) on uneven training photos.

Each case keeps a share of each class's training photos (seeded), trains with TrainConfig's defaults
(MobileNetV2) with and without the balanced loss, and scores the model three ways: accuracy on the
dataset's check folder (even classes: flowers/val, hymenoptera/val nearly so), balanced accuracy (mean of
the classes' recalls), and the accuracy expected on a check set as uneven as the training photos (each
class's recall weighted by its training share): the case where the uneven counts are the truth.

    python bench/balanced_loss.py [--seeds 4]

Prints a table and writes bench/results/balanced_loss.json.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ARCH, DATA, ROOT, WEIGHTS, load, machine, need_data, save, table  # noqa: E402

CASES = {  # name: (dataset, check folder, share of each class's training photos kept, classes in name order)
    "flowers 60/40/25/15/10": ("flowers", "val", [1, 0.67, 0.42, 0.25, 0.17]),
    "flowers 10/15/25/40/60": ("flowers", "val", [0.17, 0.25, 0.42, 0.67, 1]),
    "hymenoptera, 30% of the bees": ("hymenoptera", "val", [1, 0.3]),
    "hymenoptera, 30% of the ants": ("hymenoptera", "val", [0.3, 1]),
    "cifar10 100 down to 10 a class": ("cifar10", "test", [0.2, 0.18, 0.16, 0.14, 0.12, 0.1, 0.08, 0.06, 0.04, 0.02]),
    "flowers even (20 a class)": ("flowers", "val", [0.34] * 5),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    for ds in {c[0] for c in CASES.values()}:
        need_data(ds)
    tmp = Path(tempfile.mkdtemp(prefix="fewshot-bench-balanced-"))
    home = tmp / "torch" / "hub" / "checkpoints"
    home.mkdir(parents=True)
    shutil.copy(WEIGHTS, home / WEIGHTS.name)
    os.environ["TORCH_HOME"] = str(tmp / "torch")
    os.environ.setdefault("FEWSHOT_CACHE_DIR", str(tmp / "cache"))
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from fewshot import load_dataset
    from fewshot.config import TrainConfig
    from fewshot.train import run_to_end, train

    def one(ds: str, check: str, shares: list[float], seed: int, balanced: bool) -> list[float]:
        rng = random.Random(seed)
        folders = sorted(p for p in (DATA / ds / "train").iterdir() if p.is_dir())
        groups = {c.name: rng.sample(sorted(c.iterdir()), max(2, round(len(list(c.iterdir())) * s)))
                  for c, s in zip(folders, shares)}
        data = load_dataset(groups, val_source=DATA / ds / check)
        ev = run_to_end(train(data, TrainConfig(arch=ARCH, seed=seed, balanced_loss=balanced))).evaluation
        cm = ev.confusion.values.astype(float)
        recall = cm.diagonal() / cm.sum(1)
        w = np.array([len(groups[c.name]) for c in folders], float)
        return [ev.accuracy, float(recall.mean()), float((recall * w / w.sum()).sum())]

    rows, out = [], {}
    for name, (ds, check, shares) in CASES.items():
        res = {b: np.mean([one(ds, check, shares, s, b) for s in range(args.seeds)], axis=0) for b in (False, True)}
        out[name] = {str(b): res[b].round(4).tolist() for b in res}
        rows.append([name] + [f"{res[False][i]:.3f} → {res[True][i]:.3f}" for i in range(3)])
        print(f"  {name}: off {res[False].round(3)} on {res[True].round(3)} (load {load()})", flush=True)
    print("\n" + table(rows, ["training photos", "accuracy on the check folder", "balanced accuracy",
                              "accuracy at the training shares"]))
    save("balanced_loss", {"machine": machine(), "seeds": args.seeds, "cases": out})
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
