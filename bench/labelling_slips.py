"""Suggestions when a few labels are wrong: accepted precision and coverage after 50 ask_next labels.

    python bench/labelling_slips.py [--seeds 5] [--slips 0 3]

flowers/train as an unsorted pool (labels hidden, answered from the folder names, as bench/labelling.py);
for each seed, 5 rounds of 10 ask_next photos, then `--slips` of the 50 labels are given the next class,
and every suggestion above the accept threshold is accepted as suggested. Prints precision and coverage.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ARCH, DATA, WEIGHTS, need_data  # noqa: E402
from bench.labelling import ROUND, flat_pool  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--slips", type=int, nargs="+", default=[0, 3])
    ap.add_argument("--cache", help="feature cache folder to reuse (default: a fresh temporary one)")
    args = ap.parse_args()
    need_data("flowers")
    tmp = Path(tempfile.mkdtemp(prefix="fewshot-bench-slips-"))
    (tmp / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    shutil.copy(WEIGHTS, tmp / "torch" / "hub" / "checkpoints" / WEIGHTS.name)
    os.environ["TORCH_HOME"] = str(tmp / "torch")
    os.environ["FEWSHOT_CACHE_DIR"] = args.cache or str(tmp / "cache")
    from fewshot.labelling import pool_features, suggest
    try:
        pool_dir = tmp / "pool"
        pool_dir.mkdir()
        hidden = flat_pool(DATA / "flowers" / "train", pool_dir)
        pool = pool_features(pool_dir, arch=ARCH)
        classes = sorted(set(hidden.values()))
        for slips in args.slips:
            precision, coverage = [], []
            for seed in range(args.seeds):
                labels: dict[str, str] = {}
                while len(labels) < 50:
                    labels.update({n: hidden[n] for n in suggest(pool, labels, ask=ROUND, seed=seed).ask_next})
                for n in sorted(labels)[:slips]:
                    labels[n] = classes[(classes.index(labels[n]) + 1) % len(classes)]
                res = suggest(pool, labels, ask=0, seed=seed)
                accepted = res.accepted()
                precision.append(sum(hidden[s["path"]] == s["label"] for s in accepted) / max(1, len(accepted)))
                coverage.append(len(accepted) / len(pool.names))
                print(f"slips {slips} seed {seed}: threshold {res.accept_threshold}, accepted {len(accepted)}, "
                      f"precision {precision[-1]:.3f}")
            print(f"slips {slips}: precision mean {sum(precision) / len(precision):.3f} (worst {min(precision):.3f}), "
                  f"coverage {sum(coverage) / len(coverage):.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
