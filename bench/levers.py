"""The CPU levers, one at a time, in one process (interleaved and repeated; medians).

    python bench/levers.py              # about 2 minutes on a quiet 2-core CPU
    python bench/levers.py --compile    # also torch.compile (its compile alone takes minutes here)

Forward pass of MobileNetV2 per image for each engine and batch size, JPEG decode with and
without draft mode, and a training step of the "top" tail under each OpenMP wait policy (in
subprocesses: the policy is read when torch loads). Writes bench/results/levers.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ["FEWSHOT_CACHE_DIR"] = tempfile.mkdtemp(prefix="fewshot-levers-")  # never the user's cache
warnings.filterwarnings("ignore")

from bench._common import DATA, ROOT, load, machine, save, table  # noqa: E402


def timeit(fn, n: int = 5) -> float:
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def forward_levers(batches: list[int], compile_too: bool) -> list[dict]:
    import numpy as np
    import torch
    from torchvision import models
    from fewshot.runtime import CanvasInput, OnnxForward, TorchForward, fold_batchnorm, onnx_dir, pick_runtime
    from fewshot.models import build_model
    rt = pick_runtime("cpu")
    tv = models.mobilenet_v2().eval()  # weights do not change speed
    ours = build_model("mobilenet_v2", 2, pretrained=False).eval()
    engines: dict = {}
    tv_cl = models.mobilenet_v2().eval().to(memory_format=torch.channels_last)
    engines["torch NCHW (plain)"] = lambda x: tv(x)
    engines["torch channels_last"] = lambda x: tv_cl(x.contiguous(memory_format=torch.channels_last))
    folded = fold_batchnorm(tv).to(memory_format=torch.channels_last)
    engines["torch folded BN + channels_last"] = lambda x: folded(x.contiguous(memory_format=torch.channels_last))

    def bf16(x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return tv_cl(x.contiguous(memory_format=torch.channels_last))
    engines["torch bf16 autocast + channels_last"] = bf16
    t = time.perf_counter()
    jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(tv)))
    jit_setup = time.perf_counter() - t
    engines["torch.jit freeze + optimize_for_inference"] = lambda x: jit(x)
    setup = {"torch.jit freeze + optimize_for_inference": jit_setup}
    if compile_too:
        comp = torch.compile(tv)
        t = time.perf_counter()
        with torch.inference_mode():
            comp(torch.rand(8, 3, 224, 224))
        setup["torch.compile (inductor)"] = time.perf_counter() - t
        engines["torch.compile (inductor)"] = lambda x: comp(x)
    for threads in (2, 1):
        t = time.perf_counter()
        path = onnx_dir() / "levers-trunk.onnx"
        ort = OnnxForward(CanvasInput(ours), 224, path, threads)
        setup[f"onnxruntime, {threads} thread(s)"] = time.perf_counter() - t
        engines[f"onnxruntime, {threads} thread(s)"] = ("u8", ort)
    tf = TorchForward(CanvasInput(ours), rt)
    engines["fewshot TorchForward (uint8 in)"] = ("u8", tf)
    rows = []
    for b in batches:
        x = torch.rand(b, 3, 224, 224)
        u8 = np.random.randint(0, 255, (b, 224, 224, 3), np.uint8)
        res = {}
        for rep in range(2):  # interleaved: load changes hit every engine alike
            for name, fn in engines.items():
                with torch.inference_mode():
                    if isinstance(fn, tuple):
                        s = timeit(lambda: fn[1](u8), 3)
                    else:
                        s = timeit(lambda: fn(x), 3)
                res.setdefault(name, []).append(s / b * 1000)
        base = min(res["torch NCHW (plain)"])
        for name, v in res.items():
            rows.append({"lever": name, "batch": b, "ms_per_image": round(min(v), 2),
                         "x_plain": round(min(v) / base, 2), "setup_s": round(setup.get(name, 0.0), 2)})
        print(f"  . forward levers at batch {b} done, load {load()}", flush=True)
    return rows


def decode_levers() -> list[dict]:
    """PIL decode + resize to the 256 canvas; draft mode only helps photos twice the size or more."""
    from PIL import Image
    from fewshot.config import Preprocessing
    from fewshot.images import decode_canvas
    pre = Preprocessing()
    rows = []
    for name in ("hymenoptera", "flowers", "cifar10"):
        files = sorted((DATA / name).rglob("*.jpg"))[::7][:120]
        if not files:
            continue

        def plain():
            for p in files:
                img = Image.open(p).convert("RGB")
                w, h = img.size
                s = 256 / min(w, h)
                img.resize((max(256, round(w * s)), max(256, round(h * s))), Image.BILINEAR)

        big = []
        for p in files:  # the same files upscaled 4x as JPEG, to show what draft mode does for phone photos
            im = Image.open(p).convert("RGB")
            big_path = Path("/tmp") / f"fewshot-lever-{name}-{p.stem}.jpg"
            im.resize((im.width * 4, im.height * 4)).save(big_path, quality=90)
            big.append(big_path)

        def ours(paths):
            return lambda: [decode_canvas(p, pre) for p in paths]

        def no_draft(paths):
            def run():
                for p in paths:
                    img = Image.open(p).convert("RGB")
                    w, h = img.size
                    s = 256 / min(w, h)
                    img.resize((max(256, round(w * s)), max(256, round(h * s))), Image.BILINEAR, reducing_gap=None)
            return run
        t_plain, t_ours = timeit(plain, 2), timeit(ours(files), 2)
        t_big_nd, t_big_d = timeit(no_draft(big), 2), timeit(ours(big), 2)
        n = len(files)
        rows += [{"set": name, "case": "plain PIL decode + resize", "ms_per_image": round(t_plain / n * 1000, 2)},
                 {"set": name, "case": "decode_canvas (draft when >= 2x)", "ms_per_image": round(t_ours / n * 1000, 2)},
                 {"set": name, "case": "4x upscaled files, no draft", "ms_per_image": round(t_big_nd / n * 1000, 2)},
                 {"set": name, "case": "4x upscaled files, draft mode", "ms_per_image": round(t_big_d / n * 1000, 2)}]
        for p in big:
            p.unlink(missing_ok=True)
    return rows


STEP = r"""
import time, json, torch, statistics, torch.nn.functional as F
from fewshot.models import build_model, freeze_for_stage, set_train_mode
from fewshot.augment import augment_maps
out = {}
for stage, shape in (("top", (32, 96, 14, 14)), ("head", (32, 1280, 7, 7))):
    m = build_model("mobilenet_v2", 2, pretrained=False); freeze_for_stage(m, stage); set_train_mode(m, stage)
    cut = {"top": 2, "head": 3}[stage]
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
    x = torch.randn(*shape).half().contiguous(memory_format=torch.channels_last); y = torch.randint(0, 2, (32,))
    g = torch.Generator().manual_seed(0)
    def step():
        xb = augment_maps(x.float(), "light", g, pooled=stage == "head")
        loss = F.cross_entropy(m.tail(xb, cut), y); opt.zero_grad(); loss.backward(); opt.step()
    step(); ts = []
    for _ in range(7):
        t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
    out[stage] = statistics.median(ts) * 1000
print(json.dumps(out))
"""


def thread_levers() -> list[dict]:
    rows = []
    for rep in range(2):
        for policy in ("PASSIVE", "ACTIVE"):
            for threads in ("2", "1"):
                env = dict(os.environ, OMP_WAIT_POLICY=policy, OMP_NUM_THREADS=threads, PYTHONPATH=str(ROOT))
                out = subprocess.run([sys.executable, "-c", STEP], env=env, capture_output=True, text=True, timeout=600)
                res = json.loads(out.stdout.strip().splitlines()[-1])
                for stage, ms in res.items():
                    rows.append({"policy": policy, "threads": int(threads), "stage": stage, "rep": rep,
                                 "ms_per_step": round(ms, 1), "load": load()})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--batches", default="1,16,32")
    args = ap.parse_args()
    info = machine()
    print(f"fewshot levers: {info.get('cpu', '?')}, {info['cpus']} CPUs, avx512_bf16 {info.get('avx512_bf16')}, "
          f"amx {info.get('amx')}, load {load()}")
    fwd = forward_levers([int(b) for b in args.batches.split(",")], args.compile)
    print()
    print(table([[r["lever"], r["batch"], r["ms_per_image"], r["x_plain"], r["setup_s"] or ""] for r in fwd],
                ["forward engine", "batch", "ms/img", "x plain", "setup s"]))
    dec = decode_levers()
    print()
    print(table([[r["set"], r["case"], r["ms_per_image"]] for r in dec], ["set", "decode", "ms/img"]))
    thr = thread_levers()
    agg: dict = {}
    for r in thr:
        agg.setdefault((r["stage"], r["policy"], r["threads"]), []).append(r["ms_per_step"])
    print()
    print(table([[s, p, t, min(v)] for (s, p, t), v in sorted(agg.items())],
                ["train step (batch 32)", "OMP_WAIT_POLICY", "threads", "ms/step (best of 2)"]))
    print(f"\n  load now {load()}")
    print(f"wrote {save('levers', {'machine': info, 'forward': fwd, 'decode': dec, 'threads': thr})}")


if __name__ == "__main__":
    main()
