"""Hymenoptera, one run: the seed article's loop vs a bare forward pass vs fewshot.

    python bench/seed_vs_ours.py            # about 4-6 minutes on a quiet 2-core CPU
    python bench/seed_vs_ours.py --quick    # 2 epochs of the slow baselines (a smoke test)

Prints a table and the acceptance checks of issues 2 and 5; writes bench/results/seed_vs_ours.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (DATA, Workspace, check, load, machine, need_data, run_case, save, table,  # noqa: E402
                           warm_page_cache)

HYM = {"root": "hymenoptera"}
SEED_INPUT = [256, 224]  # the seed's Resize(256) + CenterCrop(224); ours defaults to the whole photo at 320


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 epochs for the slow baselines (not comparable)")
    ap.add_argument("--before", metavar="DIR", help="also time this checkout's fewshot (e.g. an older commit, "
                    "from `git archive COMMIT | tar -x -C DIR`) in the same run")
    args = ap.parse_args()
    need_data("hymenoptera")
    warm_page_cache(DATA / "hymenoptera")
    base_epochs = 2 if args.quick else 10
    info = machine()
    print(f"fewshot benchmark: hymenoptera, {info.get('cpu', '?')}, {info['cpus']} CPUs, load {load()}")
    ws = Workspace()
    try:
        r = {}
        # ours first, on a cold cache: the very first run also exports the frozen trunk for onnxruntime
        r["ours_cold"] = run_case(ws, "ours", data=HYM, stage="head", feature_cache=False)
        r["bare"] = run_case(ws, "bare", folders=["hymenoptera/train", "hymenoptera/val"])
        r["ours"] = run_case(ws, "ours", data=HYM, stage="head", feature_cache=False)
        r["seed"] = run_case(ws, "seed", data="hymenoptera", epochs=base_epochs)
        # one-time, like the head's in ours_cold
        r["export_top"] = run_case(ws, "export_trunk", stage="top", crop=SEED_INPUT[1])
        # the top stage at the naive loop's input (256/224), with our default loss and with the naive loop's
        # (no label smoothing): the same job, so time and accuracy compare directly
        r["ours_top"] = run_case(ws, "ours", data=HYM, stage="top", feature_cache=False, input=SEED_INPUT)
        r["ours_top_ls0"] = run_case(ws, "ours", data=HYM, stage="top", feature_cache=False, input=SEED_INPUT,
                                     label_smoothing=0.0)
        r["naive_top"] = run_case(ws, "seed", data="hymenoptera", epochs=base_epochs, unfreeze_top=True)
        r["bare_2"] = run_case(ws, "bare", folders=["hymenoptera/train", "hymenoptera/val"])
        r["ours_2"] = run_case(ws, "ours", data=HYM, stage="head", feature_cache=False)
        r["ours_224"] = run_case(ws, "ours", data=HYM, stage="head", feature_cache=False, input=SEED_INPUT)
        # a second run on the same photos with other head settings, cache warm (filled by an earlier run)
        if args.before:
            before = {"FEWSHOT_BENCH_ENGINE": str(Path(args.before).resolve())}
            r["before_head"] = run_case(ws, "ours", env=before, data=HYM, stage="head", feature_cache=False)
            r["before_top"] = run_case(ws, "ours", env=before, data=HYM, stage="top", feature_cache=False)
        r["fill"] = run_case(ws, "fill_cache", data=HYM)
        r["warm"] = run_case(ws, "ours", data=HYM, stage="head", feature_cache=False,
                             second={"lr": 3e-3, "label_smoothing": 0.0, "augmentation": "strong", "seed": 1})
    finally:
        ws.close()
    report(r, info, args.quick)


def _acc(res: dict) -> str:
    return f"{res['accuracy']:.4f}"


def report(r: dict, info: dict, quick: bool) -> None:
    best = lambda *keys: min((r[k] for k in keys), key=lambda x: x["seconds"])
    bare, ours = best("bare", "bare_2"), best("ours", "ours_2")
    seed, top, naive, top0 = r["seed"], r["ours_top"], r["naive_top"], r["ours_top_ls0"]
    first, second = r["warm"], r["warm"]["second"]
    n_val = ours["val_images"]
    b = bare["seconds"]
    row = lambda name, res, s, img_s="-": [name, s, res.get("cpu_s", "-"), _acc(res) if "accuracy" in res else "-",
                                           round(s / b, 3), img_s]
    rows = [
        row("seed loop, head" + (" (2 ep)" if quick else ""), seed, seed["seconds"]),
        row("bare forward pass (decode + 1 fwd)", bare, b, bare["images_per_s"]),
        row("ours head, very first run (exports trunk)", r["ours_cold"], r["ours_cold"]["seconds"],
            r["ours_cold"]["feature_images_per_s"]),
        row("ours head (feature cache off; input 320)", ours, ours["seconds"], ours["feature_images_per_s"]),
        row("ours head at the seed's 256/224 input", r["ours_224"], r["ours_224"]["seconds"],
            r["ours_224"]["feature_images_per_s"]),
        row("naive fine-tune, top stage" + (" (2 ep)" if quick else ""), naive, naive["seconds"]),
        row("ours top (cache off; 256/224 like naive)", top, top["seconds"], top["feature_images_per_s"]),
        row("ours top, naive's loss (no label smoothing)", top0, top0["seconds"], top0["feature_images_per_s"]),
        ["  one-time trunk export for top", r["export_top"]["seconds"], r["export_top"]["cpu_s"], "-",
         round(r["export_top"]["seconds"] / b, 3), "-"],
        *([row("BEFORE: head (" + r["before_head"].get("engine", "?") + ")", r["before_head"],
               r["before_head"]["seconds"], r["before_head"]["feature_images_per_s"]),
           row("BEFORE: top", r["before_top"], r["before_top"]["seconds"], r["before_top"]["feature_images_per_s"])]
          if "before_head" in r else []),
        ["ours head, same session, 1st train()", first["train_s"], "-", _acc(first),
         round(first["train_s"] / b, 3), "-"],
        ["ours head, 2nd train(), other settings", second["seconds"], "-", _acc(second),
         round(second["seconds"] / b, 3), "-"],
    ]
    print()
    print(table(rows, ["case", "wall s", "cpu s", "val acc", "x bare", "feature img/s"]))
    print(f"\n  bare pass: decode {bare['decode_s']} s + forward {bare['forward_s']} s over {bare['images']} images; "
          f"ours: load_dataset {ours['load_s']} s, frozen pass {ours['feature_pass_s']} s, after the pass "
          f"{ours['after_pass_s']} s. Load average now {load()} on {info['cpus']} CPUs.")
    print(f"  wall ratios: seed/ours {seed['seconds'] / ours['seconds']:.1f}x, naive top/ours top "
          f"{naive['seconds'] / top['seconds']:.1f}x, ours/bare {ours['seconds'] / b:.2f}, "
          f"2nd/1st train() {second['seconds'] / first['train_s']:.3f}")
    print(f"  cpu-second ratios: seed/ours {seed['cpu_s'] / ours['cpu_s']:.1f}x, naive top/ours top "
          f"{naive['cpu_s'] / top['cpu_s']:.1f}x, ours/bare {ours['cpu_s'] / bare['cpu_s']:.2f}\n")
    right = lambda res: round(res["accuracy"] * res.get("val_images", n_val))  # photos right, not rounded rates
    checks = [
        check("issue 5: head time <= 1.3x bare pass", ours["seconds"] <= 1.3 * b,
              f"{ours['seconds']:.1f} s vs {b:.1f} s = {ours['seconds'] / b:.2f}x"),
        check("issue 5: >= 6x faster than seed loop", seed["seconds"] >= 6 * ours["seconds"],
              f"{seed['seconds'] / ours['seconds']:.1f}x"),
        check("issue 2: >= 4x faster than seed loop", seed["seconds"] >= 4 * ours["seconds"],
              f"{seed['seconds'] / ours['seconds']:.1f}x"),
        check("accuracy >= seed's", right(ours) >= right(seed),
              f"{right(ours)}/{n_val} vs {right(seed)}/{n_val} right"),
        check("issue 2: hymenoptera val acc >= 0.95", ours["accuracy"] >= 0.95, _acc(ours)),
        check("issue 5: top >= 3x faster than naive", naive["seconds"] >= 3 * top["seconds"],
              f"{naive['seconds'] / top['seconds']:.1f}x"),
        check("issue 5: top with naive's loss >= 3x faster", naive["seconds"] >= 3 * top0["seconds"],
              f"{naive['seconds'] / top0['seconds']:.1f}x"),
        check("issue 5: top with naive's loss, accuracy equal or better", right(top0) >= right(naive),
              f"{right(top0)}/{n_val} vs naive {right(naive)}/{n_val} right"),
        check("top with our default loss: accuracy within one photo", right(top) >= right(naive) - 1,
              f"{right(top)}/{n_val} vs naive {right(naive)}/{n_val} right"),
        check("issue 5: 2nd run, other settings <= 0.2x first", second["seconds"] <= 0.2 * first["train_s"],
              f"{second['seconds']:.2f} s vs {first['train_s']:.2f} s = {second['seconds'] / first['train_s']:.3f}"),
    ]
    path = save("seed_vs_ours", {"machine": info, "quick": quick, "runs": r, "checks": checks})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
