"""What `suggest` states against the truth, on three piles and several seeds (bench/_piles.py).

    python bench/honest_labels.py [--piles flowers hymenoptera cifar10] [--seeds 5] [--part threshold suspects]

threshold: after 50, 100 and 150 labels asked by ask_next (answered from the truth, nothing accepted), the
default threshold, the precision it states and the truth on every photo nobody labelled at or above it.
suspects: (a) 50 clean labels asked by ask_next: how many are flagged (all flags are wrong there); (b) 200
random labels with 20 of them (10%) given another class: how many of the top 20 listed are really wrong, of 20
and of those listed, and how many are listed; beside it the cleanlab ranking `suggest` used before.
Writes bench/results/honest_labels.json.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ARCH, load, machine, need_data, save, table  # noqa: E402
from bench._piles import PILES, bench_env, make_pile  # noqa: E402

POINTS = (50, 100, 150)


def asked(pool, hidden: dict[str, str], upto: int, seed: int):
    """The labels ask_next asks for, 10 at a time, answered from the truth; yields them at each of POINTS."""
    from fewshot.labelling import suggest
    labels: dict[str, str] = {}
    while len(labels) < min(upto, len(pool.names)):
        labels.update({n: hidden[n] for n in suggest(pool, labels, ask=10, seed=seed).ask_next})
        if len(labels) in POINTS:
            yield dict(labels)


def threshold_rows(name: str, pool, hidden: dict[str, str], seeds: list[int]) -> list[dict]:
    from fewshot.labelling import suggest
    rows = []
    for seed in seeds:
        for labels in asked(pool, hidden, max(POINTS), seed):
            res = suggest(pool, labels, ask=0, seed=seed)
            taken = res.accepted()
            true = sum(hidden[s["path"]] == s["label"] for s in taken) / len(taken) if taken else None
            rows.append({"pile": name, "seed": seed, "labels": len(labels), "threshold": res.threshold_or_none(),
                         "stated": res.accept_precision, "accepted": len(taken), "true": true,
                         "rest": len(res.suggestions), "reason": res.threshold_reason})
            print(f"  {name} seed {seed}, {len(labels)} labels: {rows[-1]} (load {load()})", flush=True)
    return rows


def flipped_labels(pool, hidden: dict[str, str], seed: int, count: int = 200, share: float = 0.1):
    rng = random.Random(100 + seed)
    names = rng.sample(pool.names, min(count, len(pool.names)))
    labels = {n: hidden[n] for n in names}
    classes = sorted(set(hidden.values()))
    flipped = set(rng.sample(names, round(share * len(names))))
    for n in flipped:
        labels[n] = rng.choice([c for c in classes if c != hidden[n]])
    return labels, flipped


def cleanlab_ranking(pool, labels: dict[str, str], seed: int) -> list[str]:
    """The suspects `suggest` listed before: cleanlab's confident learning on a C = 3 head's out-of-fold
    probabilities (three shufflings), most suspicious first."""
    import numpy as np
    from fewshot.labelling import find_suspects, suspect_probs
    index, classes = pool.index(), sorted(set(labels.values()))
    rows = np.array([index[n] for n in labels])
    y = np.array([classes.index(c) for c in labels.values()])
    found = find_suspects(suspect_probs(pool.features[rows], y, len(classes), seed=seed), y)
    return [pool.names[rows[i]] for i, _, _ in found]


def suspect_rows(name: str, pool, hidden: dict[str, str], seeds: list[int]) -> list[dict]:
    from fewshot.labelling import suggest
    rows = []
    for seed in seeds:
        clean = next(asked(pool, hidden, 50, seed))
        res = suggest(pool, clean, ask=0, seed=seed)
        before = cleanlab_ranking(pool, clean, seed)
        labels, flipped = flipped_labels(pool, hidden, seed)
        found = suggest(pool, labels, ask=0, seed=seed).suspects
        top = [s["path"] for s in found[:20]]
        old = cleanlab_ranking(pool, labels, seed)[:20]
        likely = [s["path"] for s in found if s["strength"] == "likely"]
        rows.append({"pile": name, "seed": seed, "clean_flags": len(res.suspects),
                     "clean_likely": sum(s["strength"] == "likely" for s in res.suspects),
                     "clean_flags_before": len(before), "listed": len(found),
                     "top20_of_20": sum(n in flipped for n in top) / 20,
                     "top20_of_listed": sum(n in flipped for n in top) / len(top) if top else None,
                     "likely": len(likely), "likely_right": sum(n in flipped for n in likely),
                     "top20_of_20_before": sum(n in flipped for n in old) / 20})
        print(f"  {name} seed {seed}: {rows[-1]} (load {load()})", flush=True)
    return rows


def mean(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(statistics.mean(xs), 3) if xs else None


def tables(thresholds: list[dict], suspects: list[dict]) -> str:
    out = []
    if thresholds:
        out.append(table([[r["pile"], r["seed"], r["labels"], r["threshold"] or "none", r["stated"] or "-",
                           r["accepted"], "-" if r["true"] is None else round(r["true"], 3),
                           "-" if r["true"] is None else round(r["stated"] - r["true"], 3)] for r in thresholds],
                         ["pile", "seed", "labels", "threshold", "stated", "accepted", "true", "stated - true"]))
    if suspects:
        piles = sorted({r["pile"] for r in suspects}, key=list(PILES).index)
        out.append(table([[p, len([r for r in suspects if r["pile"] == p]),
                           mean([r["clean_flags"] for r in suspects if r["pile"] == p]),
                           max(r["clean_flags"] for r in suspects if r["pile"] == p),
                           mean([r["clean_flags_before"] for r in suspects if r["pile"] == p]),
                           mean([r["listed"] for r in suspects if r["pile"] == p]),
                           mean([r["top20_of_20"] for r in suspects if r["pile"] == p]),
                           mean([r["top20_of_listed"] for r in suspects if r["pile"] == p]),
                           mean([r["top20_of_20_before"] for r in suspects if r["pile"] == p])] for p in piles],
                         ["pile", "seeds", "flags on 50 clean", "most", "before", "listed (10% wrong)",
                          "top 20 wrong / 20", "/ listed", "before / 20"]))
    return "\n\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--piles", nargs="+", default=list(PILES), choices=list(PILES))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--part", nargs="+", default=["threshold", "suspects"], choices=["threshold", "suspects"])
    ap.add_argument("--cache", help="feature cache folder (default: .ci-cache/features)")
    args = ap.parse_args()
    need_data(*{PILES[p].train.split("/")[0] for p in args.piles})
    tmp = bench_env(args.cache)
    from fewshot.labelling import pool_features
    info, thresholds, suspects = machine(), [], []
    try:
        for name in args.piles:
            hidden = make_pile(PILES[name], tmp / name)
            pool = pool_features(tmp / name, arch=ARCH)
            if "threshold" in args.part:
                thresholds += threshold_rows(name, pool, hidden, list(range(args.seeds)))
            if "suspects" in args.part:
                suspects += suspect_rows(name, pool, hidden, list(range(args.seeds)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + tables(thresholds, suspects))
    path = save("honest_labels", {"machine": info, "args": vars(args), "threshold": thresholds,
                                  "suspects": suspects})
    print(f"\nwritten to {path}; load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
