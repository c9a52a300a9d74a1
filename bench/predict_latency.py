"""Single-image predict latency (p50/p95) against a bare forward of one image, and batch throughput.

    python bench/predict_latency.py          # under a minute

"Bare forward of one image" is torchvision's MobileNetV2 in eval/inference mode on one ready
1x3x224x224 tensor: no file reading, no decoding, no resizing. Ours is Predictor.predict_one on
the file: read, decode, resize, forward, softmax, top-k. Writes bench/results/predict_latency.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (DATA, Workspace, check, load, machine, need_data, run_case, save,  # noqa: E402
                           table, warm_page_cache)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="passes over the 153 validation photos")
    args = ap.parse_args()
    need_data("hymenoptera")
    warm_page_cache(DATA / "hymenoptera")
    info = machine()
    print(f"fewshot predict latency: hymenoptera/val, {info.get('cpu', '?')}, {info['cpus']} CPUs, load {load()}")
    ws = Workspace()
    try:
        # training leaves the frozen trunk's onnxruntime graph on disk; the Predictor reuses it
        run_case(ws, "fill_cache", data={"root": "hymenoptera"})
        r = run_case(ws, "predict", repeats=args.repeats)
    finally:
        ws.close()
    one, bare, bare_dec = r["predict_one"], r["bare_forward_one"], r["bare_decode_forward_one"]
    rows = [["Predictor.predict_one (file in)", one["p50_ms"], one["p95_ms"], one["p50_ms"] / bare["p50_ms"]],
            ["bare forward, ready tensor", bare["p50_ms"], bare["p95_ms"], 1.0],
            ["bare decode + forward", bare_dec["p50_ms"], bare_dec["p95_ms"], bare_dec["p50_ms"] / bare["p50_ms"]]]
    print()
    print(table(rows, ["single image", "p50 ms", "p95 ms", "p50 x bare"]))
    print()
    print(table([["Predictor.predict_files", r["predict_files_images_per_s"]],
                 ["bare batched decode + forward (32)", r["bare_batched_images_per_s"]]],
                ["batch of %d" % r["images"], "images/s"]))
    print(f"\n  engine {r['engine']}, predictor setup {r['predictor_setup_s']} s, peak RSS {r['peak_rss_mb']} MB, "
          f"load {load()}\n")
    checks = [check("issue 5: predict p50 <= 1.2x bare forward of one image", one["p50_ms"] <= 1.2 * bare["p50_ms"],
                    f"{one['p50_ms']} ms vs {bare['p50_ms']} ms = {one['p50_ms'] / bare['p50_ms']:.2f}x")]
    print(f"\nwrote {save('predict_latency', {'machine': info, 'result': r, 'checks': checks})}")


if __name__ == "__main__":
    main()
