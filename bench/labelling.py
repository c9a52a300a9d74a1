"""Labelling with the model's help (fewshot/labelling.py), with a simulated labeller on flowers.

flowers/train (5 classes x 60) is copied flat into a temporary folder under opaque names: an unsorted pool.
A simulated labeller answers from the hidden folder names. In rounds of 10 it labels the photos `suggest`
asks for (ask_next), or 10 photos picked uniformly at random; after 20, 50 and 100 labels the engine's head
(logistic regression on the cached features, what `suggest` trains) and the product's own training
(`train` with TrainConfig's defaults, MobileNetV2 as ResNet18's weights are not here) are scored on
flowers/val. Also: the
accept threshold's precision and coverage after 50 labels, 50 labels + every accepted suggestion (errors
included) against 100 random labels, suspects with 10% of 200 labels flipped, and suggest's latency with
the features cached for 300 and 1,250 photos (the pool and crops of it).

    python bench/labelling.py [--seeds 5] [--cache DIR]

Prints tables and writes bench/results/labelling.json.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ARCH, DATA, ROOT, WEIGHTS, load, machine, need_data, save, table  # noqa: E402

ROUND = 10
POINTS = (20, 50, 100)


def flat_pool(src: Path, dst: Path) -> dict[str, str]:
    """Copy every photo of src/<class>/ into dst under an opaque name; {name: class}, the hidden answers."""
    hidden = {}
    for cls in sorted(p for p in src.iterdir() if p.is_dir()):
        for f in sorted(cls.iterdir()):
            name = "p" + hashlib.sha1(f"{cls.name}/{f.name}".encode()).hexdigest()[:12] + f.suffix.lower()
            shutil.copy(f, dst / name)
            hidden[name] = cls.name
    return hidden


def crops(src: Path, dst: Path, n: int) -> None:
    """`n` more photos: crops (and mirror images) of the pool's photos, so features differ."""
    from PIL import Image, ImageOps
    files = sorted(src.iterdir())
    boxes = [(0, 0, 0.8, 0.8), (0.2, 0.2, 1, 1), (0.1, 0, 0.9, 0.8), (0, 0.2, 0.8, 1)]
    k = 0
    while k < n:
        f = files[k % len(files)]
        b = boxes[(k // len(files)) % len(boxes)]
        with Image.open(f) as im:
            w, h = im.size
            im = im.convert("RGB").crop((int(b[0] * w), int(b[1] * h), int(b[2] * w), int(b[3] * h)))
            if (k // (len(files) * len(boxes))) % 2:
                im = ImageOps.mirror(im)
            im.save(dst / f"c{k:05d}.jpg", quality=90)
        k += 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--cache", help="feature cache folder to reuse (default: a fresh temporary one)")
    args = ap.parse_args()
    need_data("flowers")
    tmp = Path(tempfile.mkdtemp(prefix="fewshot-bench-label-"))
    home = tmp / "torch" / "hub" / "checkpoints"
    home.mkdir(parents=True)
    shutil.copy(WEIGHTS, home / WEIGHTS.name)
    os.environ["TORCH_HOME"] = str(tmp / "torch")
    os.environ["FEWSHOT_CACHE_DIR"] = args.cache or str(tmp / "cache")
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from fewshot import load_dataset
    from fewshot.config import TrainConfig
    from fewshot.labelling import fit_head, pool_features, suggest
    from fewshot.train import run_to_end, train

    info = machine()
    pool_dir = tmp / "pool"
    pool_dir.mkdir()
    hidden = flat_pool(DATA / "flowers" / "train", pool_dir)
    t0 = time.perf_counter()
    pool = pool_features(pool_dir, arch=ARCH)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pool = pool_features(pool_dir, arch=ARCH)
    cached_s = time.perf_counter() - t0
    val = pool_features(DATA / "flowers" / "val", arch=ARCH)
    classes = sorted(set(hidden.values()))
    yva = np.array([classes.index(n.split("/")[0]) for n in val.names])
    index = pool.index()
    print(f"pool {len(pool.names)} photos: features {first_s:.1f} s first, {cached_s:.2f} s cached (load {load()})")

    def accuracy(labels: dict[str, str]) -> float:
        rows = [index[n] for n in labels]
        y = np.array([classes.index(labels[n]) for n in labels])
        clf = fit_head(pool.features[rows], y)
        return float((np.asarray(clf.classes_)[clf.predict_proba(val.features).argmax(1)] == yva).mean())

    def trained(labels: dict[str, str], seed: int) -> float:
        """What the product trains on these labels: `train` with TrainConfig's defaults (the backbone aside),
        every labelled photo training and flowers/val checking."""
        groups: dict[str, list[str]] = {}
        for n, c in sorted(labels.items()):
            groups.setdefault(c, []).append(str(pool_dir / n))
        data = load_dataset(groups, val_source=DATA / "flowers" / "val")
        return float(run_to_end(train(data, TrainConfig(arch=ARCH, seed=seed))).evaluation.accuracy)

    seeds = list(range(args.seeds))
    curves: dict[str, list[dict]] = {"ask_next": [], "random": []}
    real: dict[str, list[dict]] = {"ask_next": [], "random": []}
    at50: dict[str, list[dict]] = {"ask_next": [], "random": []}
    for strategy in curves:
        for seed in seeds:
            rng = random.Random(seed)
            labels: dict[str, str] = {}
            accs, taccs = {}, {}
            while len(labels) < max(POINTS):
                if strategy == "ask_next":
                    picks = suggest(pool, labels, ask=ROUND, seed=seed).ask_next
                else:
                    picks = rng.sample([n for n in pool.names if n not in labels], ROUND)
                labels.update({n: hidden[n] for n in picks})
                if len(labels) in POINTS:
                    accs[len(labels)] = accuracy(labels)
                    taccs[len(labels)] = trained(labels, seed)
                if len(labels) == 50:
                    res = suggest(pool, labels, ask=0, seed=seed)
                    acc_ = res.accepted()
                    right = sum(hidden[s["path"]] == s["label"] for s in acc_)
                    boosted = dict(labels, **{s["path"]: s["label"] for s in acc_})
                    at50[strategy].append({
                        "threshold": res.accept_threshold, "estimate": res.accept_precision,
                        "accepted": len(acc_), "precision": right / len(acc_) if acc_ else None,
                        "coverage": len(acc_) / len(pool.names), "acc_boosted": accuracy(boosted),
                        "trained_boosted": trained(boosted, seed)})
            curves[strategy].append(accs)
            real[strategy].append(taccs)
            print(f"  {strategy} seed {seed}: {accs} trained {taccs} at50 {at50[strategy][-1]} (load {load()})",
                  flush=True)

    def mean(xs):
        xs = [x for x in xs if x is not None]
        return round(statistics.mean(xs), 4) if xs else None

    def sd(xs):
        return round(statistics.stdev(xs), 4) if len(xs) > 1 else 0.0

    rows = []
    for strategy in curves:
        rows.append([strategy] + [f"{mean([c[p] for c in curves[strategy]]):.3f} ± {sd([c[p] for c in curves[strategy]]):.3f}"
                                  for p in POINTS])
    for strategy in real:
        rows.append([f"{strategy}, trained"] + [
            f"{mean([c[p] for c in real[strategy]]):.3f} ± {sd([c[p] for c in real[strategy]]):.3f}" for p in POINTS])
    t1 = table(rows, ["picks (head)", *[f"{p} labels" for p in POINTS]])
    rows = []
    for strategy in at50:
        a = at50[strategy]
        rows.append([strategy, mean([r["threshold"] for r in a]), mean([r["estimate"] for r in a]),
                     mean([r["precision"] for r in a]), min((r["precision"] for r in a if r["precision"] is not None),
                                                            default=None),
                     mean([r["coverage"] for r in a]), mean([r["acc_boosted"] for r in a]),
                     mean([r["trained_boosted"] for r in a])])
    t2 = table(rows, ["picks (50 labels)", "threshold", "estimated precision", "precision of accepted",
                      "worst seed", "coverage of the pool", "val acc: 50 + accepted (LR)", "(trained)"])

    # suspects: 200 labels, 10% flipped
    sus = []
    for seed in seeds:
        rng = random.Random(100 + seed)
        names = rng.sample(pool.names, 200)
        labels = {n: hidden[n] for n in names}
        flipped = set(rng.sample(names, 20))
        for n in flipped:
            labels[n] = rng.choice([c for c in classes if c != hidden[n]])
        t0 = time.perf_counter()
        res = suggest(pool, labels, ask=0, seed=seed)
        found = [s["path"] for s in res.suspects]
        top = found[:len(flipped)]
        sus.append({"suspects": len(found), "precision_at_k": sum(n in flipped for n in top) / len(flipped),
                    "recall": sum(n in flipped for n in found) / len(flipped),
                    "precision_all": sum(n in flipped for n in found) / max(len(found), 1),
                    "seconds": time.perf_counter() - t0})
        print(f"  suspects seed {seed}: {sus[-1]}", flush=True)
    t3 = table([[len(seeds), mean([s["suspects"] for s in sus]), mean([s["precision_at_k"] for s in sus]),
                 mean([s["recall"] for s in sus]), mean([s["precision_all"] for s in sus])]],
               ["seeds", "suspects listed", "precision in the top 20", "recall (all listed)", "precision (all listed)"])

    # latency: suggest in-process with the features in memory; pool_features with the disk cache warm
    big_dir = tmp / "big"
    shutil.copytree(pool_dir, big_dir)
    crops(pool_dir, big_dir, 1250 - len(pool.names))
    big = pool_features(big_dir, arch=ARCH)
    lat = []
    for label, p in (("300", pool), ("1,250", big)):
        t0 = time.perf_counter()
        pool_features(p.root, arch=ARCH)
        read_s = time.perf_counter() - t0
        rng = random.Random(7)
        chosen = rng.sample([n for n in p.names if n in hidden], 100)
        for labels, what in (({}, "no labels (cold start)"), ({n: hidden[n] for n in chosen}, "100 labels")):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                suggest(p, labels, ask=ROUND)
                times.append(time.perf_counter() - t0)
            lat.append([label, what, round(statistics.median(times), 3), round(max(times), 3), round(read_s, 2)])
            print(f"  latency {label} {what}: {lat[-1]} (load {load()})", flush=True)
    t4 = table(lat, ["photos", "labels", "suggest median s", "worst of 5 s", "pool_features, cache warm, s"])

    rnd = curves["random"]
    boosted = mean([r["acc_boosted"] for r in at50["ask_next"]])
    tboosted = mean([r["trained_boosted"] for r in at50["ask_next"]])
    t100 = mean([c[100] for c in real["random"]])
    targets = {
        "50 ask_next + accepted >= 100 random (trained)": (tboosted, t100, tboosted >= t100),
        "50 ask_next + accepted >= 100 random (head)": (boosted, mean([c[100] for c in rnd]),
                                                        boosted >= mean([c[100] for c in rnd])),
        "accepted >= 95% correct (mean; worst seed)": (mean([r["precision"] for r in at50["ask_next"]]),
                                                       min(r["precision"] or 0 for r in at50["ask_next"]),
                                                       (mean([r["precision"] for r in at50["ask_next"]]) or 0) >= 0.95),
        "coverage >= 50% after 50 labels": (mean([r["coverage"] for r in at50["ask_next"]]), None,
                                            mean([r["coverage"] for r in at50["ask_next"]]) >= 0.5),
        "suspects precision (top 20) >= 0.7": (mean([s["precision_at_k"] for s in sus]), None,
                                               mean([s["precision_at_k"] for s in sus]) >= 0.7),
        "suggest <= 1 s for 1,250 photos": (max(r[2] for r in lat if r[0] == "1,250"), None,
                                            max(r[2] for r in lat if r[0] == "1,250") <= 1.0),
    }
    t5 = table([[k, v[0], "" if v[1] is None else v[1], "met" if v[2] else "NOT met"] for k, v in targets.items()],
               ["target", "measured", "compared with", "result"])
    for t in (t1, t2, t3, t4, t5):
        print("\n" + t)
    print(f"\nload average at the end: {load()}")
    save("labelling", {"machine": info, "seeds": seeds, "curves": curves, "trained": real, "at50": at50, "suspects": sus,
                       "latency": lat, "targets": {k: list(v) for k, v in targets.items()},
                       "features_first_s": first_s, "features_cached_s": cached_s})
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
