"""The whole pile labelled with the model's help, the way the Label step invites, by a simulated person.

    python bench/whole_pile.py [--piles flowers hymenoptera cifar10] [--seeds 3] [--no-train]
                               [--learn-from-accepted] [--cache DIR] [--tag NAME]

Each pile (bench/_piles.py: copied flat under opaque names; the person answers from the hidden folder names)
is labelled in rounds until no photo is left: `suggest` asks for 10 photos, the person labels them, then every
suggestion at or above the default threshold is accepted as it is (errors included). Only the person's labels
are evidence (`suggest(pool, person, accepted=...)`). Per round: the threshold, the precision it states and the
truth on the photos it accepts (the rest of the pile, nobody labelled them). At the end: human labels, the share
of all labels that are right, and the model trained with the project's defaults (MobileNetV2) on those labels
against the same training on the whole pile labelled by hand, both scored on the pile's check folder.
Writes bench/results/whole_pile[-TAG].json.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ARCH, DATA, load, machine, need_data, save, table  # noqa: E402
from bench._piles import PILES, bench_env, make_pile  # noqa: E402

ROUND = 10


def label_pile(pool, hidden: dict[str, str], seed: int, learn_from_accepted: bool) -> dict:
    """Rounds of ask, label, accept until every photo has a label; what each round stated and what was true."""
    from fewshot.labelling import suggest
    person: dict[str, str] = {}
    accepted: dict[str, str] = {}
    rounds = []
    while len(person) + len(accepted) < len(pool.names):
        asked = suggest(pool, person, ask=ROUND, seed=seed, accepted=accepted,
                        learn_from_accepted=learn_from_accepted).ask_next
        person.update({n: hidden[n] for n in asked})
        res = suggest(pool, person, ask=0, seed=seed, accepted=accepted, learn_from_accepted=learn_from_accepted)
        taken = res.accepted()
        accepted.update({s["path"]: s["label"] for s in taken})
        right = sum(hidden[s["path"]] == s["label"] for s in taken)
        rounds.append({"human": len(person), "threshold": res.threshold_or_none(), "stated": res.accept_precision,
                       "accepted": len(taken), "true": right / len(taken) if taken else None,
                       "wrong": len(taken) - right, "reason": res.threshold_reason,
                       "suspects": len(res.suspects)})
    labels = {**accepted, **person}
    wrong = sum(labels[n] != hidden[n] for n in labels)
    return {"human": len(person), "photos": len(labels), "label_accuracy": 1 - wrong / len(labels),
            "accepted": len(accepted), "accepted_wrong": wrong, "rounds": rounds, "labels": labels}


def trained(pool_dir: Path, labels: dict[str, str], check: str, seed: int) -> float:
    """Accuracy on the check folder of `train` with the project's defaults (MobileNetV2) on these labels."""
    from fewshot import load_dataset
    from fewshot.config import TrainConfig
    from fewshot.train import run_to_end, train
    groups: dict[str, list[str]] = {}
    for n, c in sorted(labels.items()):
        groups.setdefault(c, []).append(str(pool_dir / n))
    data = load_dataset(groups, val_source=DATA / check)
    return float(run_to_end(train(data, TrainConfig(arch=ARCH, seed=seed))).evaluation.accuracy)


def run_pile(name: str, seeds: list[int], tmp: Path, args) -> list[dict]:
    from fewshot.labelling import pool_features
    spec = PILES[name]
    pool_dir = tmp / name
    hidden = make_pile(spec, pool_dir)
    pool = pool_features(pool_dir, arch=ARCH)
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        run = label_pile(pool, hidden, seed, args.learn_from_accepted)
        run.update(pile=name, seed=seed, seconds=round(time.perf_counter() - t0, 1))
        if not args.no_train:
            run["model"] = trained(pool_dir, run["labels"], spec.check, seed)
            run["model_by_hand"] = trained(pool_dir, hidden, spec.check, seed)
        del run["labels"]
        out.append(run)
        print(f"  {name} seed {seed}: {run['human']} human labels of {run['photos']}, labels right "
              f"{run['label_accuracy']:.3f}, model {run.get('model')} vs by hand {run.get('model_by_hand')} "
              f"({run['seconds']} s, load {load()})", flush=True)
        for r in run["rounds"]:
            if r["accepted"]:
                print(f"     after {r['human']} labels: threshold {r['threshold']}, stated {r['stated']}, "
                      f"accepted {r['accepted']}, true {r['true']:.3f}", flush=True)
    return out


def mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(statistics.mean(xs), 4) if xs else None


def report(runs: list[dict]) -> str:
    rows = []
    for r in runs:
        gaps = [x["stated"] - x["true"] for x in r["rounds"] if x["accepted"]]
        rows.append([r["pile"], r["seed"], r["photos"], r["human"], round(r["human"] / r["photos"], 3),
                     round(r["label_accuracy"], 4), r["accepted"], r["accepted_wrong"],
                     round(max(gaps), 3) if gaps else "-", r.get("model", "-"), r.get("model_by_hand", "-"),
                     round(r["model"] - r["model_by_hand"], 4) if "model" in r else "-"])
    return table(rows, ["pile", "seed", "photos", "human", "per photo", "labels right", "accepted", "wrong",
                        "worst stated-true", "model", "all by hand", "difference"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--piles", nargs="+", default=list(PILES), choices=list(PILES))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--no-train", action="store_true", help="skip the trained models (labelling figures only)")
    ap.add_argument("--learn-from-accepted", action="store_true", help="the heads also train on accepted ones")
    ap.add_argument("--cache", help="feature cache folder (default: .ci-cache/features)")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    args = ap.parse_args()
    need_data(*{PILES[p].train.split("/")[0] for p in args.piles})
    tmp = bench_env(args.cache)
    info = machine()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    runs = []
    try:
        for name in args.piles:
            runs += run_pile(name, seeds, tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + report(runs))
    path = save("whole_pile" + (f"-{args.tag}" if args.tag else ""), {"machine": info, "args": vars(args),
                                                                      "runs": runs})
    print(f"\nwritten to {path}; load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
