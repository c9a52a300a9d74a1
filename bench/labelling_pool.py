"""A 20,000-photo unsorted pool for labelling with the model's help (fewshot/labelling.py) at scale.

The pool is made from flowers/train (300 photos, 5 classes) by cropping: each photo gives about 67 crops of
random position and size (40-90% of each side), half of them mirrored, saved at 240 px on the shorter side
under opaque names, so that no two photos have the same content or features. The hidden class of each crop
is its source photo's folder. Generated once under /tmp (never in the repository).

Measured, each in its own process so that peak resident memory (getrusage) is that step's alone:
  features  pool_features on the whole pool with an empty feature cache (the frozen pass, streamed to disk)
  cached    pool_features again, the features read back from the cache
  engine    suggest with no labels (cold start), with 100 labels, with 500 labels (ask next, suggestions,
            suspects), cold_start and ask_next and find_suspects on their own, precision and coverage

    python bench/labelling_pool.py [--photos 20000] [--dir /tmp/fewshot-pool20k] [--cache DIR]

Prints a table and writes bench/results/labelling_pool.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ARCH, DATA, ROOT, WEIGHTS, load, machine, need_data, save, table  # noqa: E402

SIDE = 240


def make_pool(src: Path, dst: Path, n: int, seed: int = 0) -> dict[str, str]:
    """`n` crops of the photos of src/<class>/ in dst under opaque names; {name: class}, the hidden answers.

    Written once: a folder that already holds its answers file is reused."""
    answers = dst / "answers.json"
    if answers.is_file():
        hidden = json.loads(answers.read_text())
        if len(hidden) == n:
            return hidden
    from PIL import Image, ImageOps
    dst.mkdir(parents=True, exist_ok=True)
    files = [(f, c.name) for c in sorted(p for p in src.iterdir() if p.is_dir()) for f in sorted(c.iterdir())]
    rng = random.Random(seed)
    hidden: dict[str, str] = {}
    for k in range(n):
        f, cls = files[k % len(files)]
        with Image.open(f) as im:
            im = im.convert("RGB")
            w, h = im.size
            fw, fh = rng.uniform(0.4, 0.9), rng.uniform(0.4, 0.9)
            x0, y0 = rng.uniform(0, 1 - fw) * w, rng.uniform(0, 1 - fh) * h
            im = im.crop((int(x0), int(y0), int(x0 + fw * w), int(y0 + fh * h)))
            if rng.random() < 0.5:
                im = ImageOps.mirror(im)
            scale = SIDE / min(im.size)
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
            name = "t" + hashlib.sha1(f"{seed}/{k}".encode()).hexdigest()[:12] + ".jpg"
            im.save(dst / name, quality=88)
        hidden[name] = cls
        if k % 2000 == 0:
            print(f"  made {k:,} of {n:,} photos (load {load()})", flush=True)
    answers.write_text(json.dumps(hidden))
    return hidden


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def du_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1) if folder.is_dir() else 0.0


def step_features(pool_dir: Path, cache: Path) -> dict:
    """pool_features over the whole pool (cold when the cache is empty, else what a later call pays)."""
    from fewshot.labelling import pool_features
    t0 = time.perf_counter()
    marks = []

    def progress(done: int, total: int) -> None:
        marks.append((round(time.perf_counter() - t0, 1), done, rss_mb()))
        if len(marks) % 5 == 1:
            print(f"    {done:,} of {total:,} photos, {marks[-1][0]} s, peak RSS {marks[-1][2]} MB (load {load()})",
                  flush=True)

    pool = pool_features(pool_dir, arch=ARCH, progress=progress)
    seconds = time.perf_counter() - t0
    return {"photos": len(pool.names), "skipped": len(pool.skipped), "seconds": round(seconds, 1),
            "dim": int(pool.features.shape[1]), "peak_rss_mb": rss_mb(),
            "cache_mb": {p.name: du_mb(p) for p in sorted(cache.iterdir()) if p.is_dir()} if cache.is_dir() else {},
            "marks": marks[:: max(1, len(marks) // 20)]}


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - t0, 3)


def step_engine(pool_dir: Path, hidden: dict[str, str]) -> dict:
    """suggest and its parts on the cached pool, with 0, 100 and 500 labels (random, answered truly)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from fewshot import labelling as L
    pool, read_s = timed(L.pool_features, pool_dir, arch=ARCH)
    rss_after_read = rss_mb()
    out: dict = {"photos": len(pool.names), "pool_features_cached_s": read_s, "rss_after_read_mb": rss_after_read,
                 "runs": []}
    rng = random.Random(0)
    order = rng.sample(pool.names, len(pool.names))
    for n in (0, 100, 500):
        labels = {p: hidden[p] for p in order[:n]}
        times = []
        for _ in range(3):
            res, s = timed(L.suggest, pool, labels, ask=10)
            times.append(s)
        accepted = res.accepted()
        right = sum(hidden[a["path"]] == a["label"] for a in accepted)
        out["runs"].append({"labels": n, "suggest_s": times, "threshold": res.accept_threshold,
                            "accepted": len(accepted), "precision": round(right / len(accepted), 4) if accepted else None,
                            "coverage": round(len(accepted) / len(pool.names), 4), "suspects": len(res.suspects)})
        print(f"    {out['runs'][-1]} (load {load()})", flush=True)
    # the parts on their own, at 500 labels with 10% of them flipped (suspects)
    classes = sorted(set(hidden.values()))
    names = order[:500]
    flipped = set(rng.sample(names, 50))
    given = {p: (rng.choice([c for c in classes if c != hidden[p]]) if p in flipped else hidden[p]) for p in names}
    index = pool.index()
    rows = np.array([index[p] for p in names])
    y = np.array([classes.index(given[p]) for p in names])
    free = np.setdiff1d(np.arange(len(pool.names)), rows)
    X = pool.features
    with threadpool_limits(1):
        _, out["cold_start_0_s"] = timed(L.cold_start, X, 10, [], 0)
        _, out["cold_start_500_s"] = timed(L.cold_start, X, 10, rows, 0)
        clf, out["fit_head_500_s"] = timed(L.fit_head, X[rows], y)
        probs, out["head_probs_s"] = timed(L.head_probs, clf, X[free], len(classes))
        _, out["ask_next_500_s"] = timed(L.ask_next_picks, X, rows, free, probs, 10, 0)
        oof, out["out_of_fold_500_s"] = timed(L.out_of_fold_probs, X[rows], y, len(classes))
        sus, out["find_suspects_500_s"] = timed(L.find_suspects, oof, y)
    top = [names[i] for i, _, _ in sus[:len(flipped)]]
    out["suspects_precision_at_k"] = sum(p in flipped for p in top) / len(flipped)
    out["peak_rss_mb"] = rss_mb()
    return out


def child(step: str, pool_dir: Path, cache: Path) -> int:
    sys.path.insert(0, str(ROOT))
    hidden = json.loads((pool_dir / "answers.json").read_text())
    result = step_features(pool_dir, cache) if step in ("features", "cached") else step_engine(pool_dir, hidden)
    print("@@RESULT@@" + json.dumps(result), flush=True)
    return 0


def run_step(step: str, args, env: dict) -> dict:
    print(f"  step {step} (load {load()})", flush=True)
    proc = subprocess.Popen([sys.executable, __file__, "--step", step, "--dir", str(args.dir), "--cache",
                             str(args.cache)], env=env, stdout=subprocess.PIPE, text=True)
    result = None
    for line in proc.stdout:
        if line.startswith("@@RESULT@@"):
            result = json.loads(line[len("@@RESULT@@"):])
        else:
            print(line, end="", flush=True)
    if proc.wait() != 0 or result is None:
        raise SystemExit(f"step {step} failed (exit {proc.returncode})")
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=20000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fewshot-pool20k"))
    ap.add_argument("--cache", type=Path, help="feature cache (default: a new one beside --dir, emptied first)")
    ap.add_argument("--keep-cache", action="store_true", help="do not empty the cache first (skip the cold pass)")
    ap.add_argument("--step", choices=("features", "cached", "engine"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.cache = args.cache or args.dir.with_name(args.dir.name + "-cache")
    if args.step:
        return child(args.step, args.dir, args.cache)
    need_data("flowers")
    t0 = time.perf_counter()
    hidden = make_pool(DATA / "flowers" / "train", args.dir, args.photos)
    print(f"pool: {len(hidden):,} photos in {args.dir} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if not args.keep_cache:
        shutil.rmtree(args.cache, ignore_errors=True)
    torch_home = args.cache.with_name(args.cache.name + "-torch")
    (torch_home / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copy(WEIGHTS, torch_home / "hub" / "checkpoints" / WEIGHTS.name)
    env = dict(os.environ, TORCH_HOME=str(torch_home), FEWSHOT_CACHE_DIR=str(args.cache), PYTHONPATH=str(ROOT),
               PYTHONUNBUFFERED="1")
    info = machine()
    results = {step: run_step(step, args, env) for step in ("features", "cached", "engine")}
    f, c, e = results["features"], results["cached"], results["engine"]
    rows = [["features, cache empty" if not args.keep_cache else "features (cache kept)", f["seconds"],
             f["peak_rss_mb"]],
            ["features, cached", c["seconds"], c["peak_rss_mb"]]]
    rows += [[f"suggest, {r['labels']} labels (median of 3)", sorted(r["suggest_s"])[1], e["peak_rss_mb"]]
             for r in e["runs"]]
    rows += [[k[:-2].replace("_", " "), e[k], ""] for k in e if k.endswith("_s") and k not in ("pool_features_cached_s",)]
    t1 = table(rows, ["step", "seconds", "peak RSS MB"])
    t2 = table([[r["labels"], r["threshold"], r["accepted"], r["precision"], r["coverage"], r["suspects"]]
                for r in e["runs"]], ["labels", "threshold", "accepted", "precision", "coverage", "suspects"])
    print("\n" + t1 + "\n\n" + t2)
    print(f"\ncache on disk: {c['cache_mb']} MB; suspects precision at k=50 (500 labels, 50 flipped): "
          f"{e['suspects_precision_at_k']}; load at the end {load()}")
    save("labelling_pool", {"machine": info, "photos": len(hidden), **results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
