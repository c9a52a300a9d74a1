"""Where the time goes in one head and one top training on a GPU (a diagnosis, not a benchmark).

    FEWSHOT_DEVICE=cuda python bench/gpu_profile.py

Prints the decode-only rate (1 thread and the pool the feature pass uses), then cProfile's top
functions by own time for a head run and a 3-epoch top run on hymenoptera.
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ARCH, DATA, Workspace, need_data  # noqa: E402

STAGES = (("head", 10), ("top", 3), ("top", 10)) if "--quick" not in sys.argv else (("head", 1),)


def main() -> None:
    need_data("hymenoptera")
    import os
    ws = Workspace()  # a private TORCH_HOME with the weights and a private feature cache
    os.environ.update(ws.env())
    import torch
    from fewshot import Preprocessing, TrainConfig, load_dataset, train
    from fewshot.images import decode_canvas
    from fewshot.runtime import decode_workers, pick_runtime
    print("torch", torch.__version__, "cudnn.benchmark", torch.backends.cudnn.benchmark,
          "threads", torch.get_num_threads(), "decode workers", decode_workers(pick_runtime()))
    ds = load_dataset(DATA / "hymenoptera")
    paths = [s.path for s in list(ds.train) + list(ds.val)]
    pre = Preprocessing(320, 320)
    t = time.perf_counter()
    for p in paths[:100]:
        decode_canvas(p, pre)
    print(f"decode 1 thread: {100 / (time.perf_counter() - t):.1f} img/s")
    with ThreadPoolExecutor(decode_workers(pick_runtime())) as pool:
        t = time.perf_counter()
        list(pool.map(lambda p: decode_canvas(p, pre), paths))
        print(f"decode pool: {len(paths) / (time.perf_counter() - t):.1f} img/s")
    for stage, epochs in STAGES:
        cfg = TrainConfig(arch=ARCH, stage=stage, epochs=epochs)
        prof = cProfile.Profile()
        t = time.perf_counter()
        marks = {}
        prof.enable()
        for ev in train(ds, cfg, feature_cache=False):
            marks.setdefault(type(ev).__name__ + ":" + str(getattr(ev, "phase", "")), round(time.perf_counter() - t, 2))
        prof.disable()
        acc = ev.evaluation.accuracy if getattr(ev, "evaluation", None) else None
        print(f"\n=== {stage}, {epochs} epochs: {time.perf_counter() - t:.1f} s, val acc {acc}; first events at {marks}")
        pstats.Stats(prof).sort_stats("tottime").print_stats(22)


if __name__ == "__main__":
    main()
