"""Benchmark cases, each run alone in a fresh process: `python bench/_cases.py NAME 'JSON kwargs'`.

Times exclude interpreter start and imports (equal for every case) and include everything
a user waits for after that: reading the folder, building the model, training, checking.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if os.environ.get("FEWSHOT_BENCH_ENGINE"):  # another checkout's fewshot package (a "before" figure)
    sys.path.insert(0, os.environ["FEWSHOT_BENCH_ENGINE"])

from bench._common import ARCH, DATA, emit  # noqa: E402

SEED_MEAN, SEED_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _device() -> str:
    """The baselines run where ours does: CUDA when present (as the seed's .cuda() calls), else CPU."""
    import torch
    want = os.environ.get("FEWSHOT_DEVICE")
    return want or ("cuda" if torch.cuda.is_available() else "cpu")


def _sync() -> None:
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------- baselines
def _tv_model(num_classes: int | None):
    """torchvision MobileNetV2 with the ImageNet weights (from TORCH_HOME), new last layer if asked."""
    import torch
    from torchvision import models
    from fewshot.models import weights_cache_path
    net = models.mobilenet_v2()
    net.load_state_dict(torch.load(weights_cache_path(ARCH), map_location="cpu", weights_only=True))
    if num_classes:
        net.classifier[-1] = torch.nn.Linear(net.classifier[-1].in_features, num_classes)
    return net


def _seed_eval(net, val_dir: str) -> float:
    """The seed's evaluation: Resize(256) + CenterCrop(224), eval mode, no gradients."""
    import torch
    from torchvision import datasets, transforms
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize(SEED_MEAN, SEED_STD)])
    loader = torch.utils.data.DataLoader(datasets.ImageFolder(val_dir, transform=tf), batch_size=32)
    net.eval()
    ok = n = 0
    dev = _device()
    with torch.no_grad():
        for x, y in loader:
            ok += (net(x.to(dev)).argmax(1).cpu() == y).sum().item()
            n += len(y)
    return ok / max(n, 1)


def case_seed(data: str, epochs: int = 10, unfreeze_top: bool = False, seed: int = 0) -> dict:
    """The seed article's loop, verbatim in substance (ImageFolder, RandomResizedCrop(224) + flip,
    batch 16 shuffled, frozen backbone, new last layer, Adam 1e-3, CrossEntropyLoss, model left in
    train mode). With `unfreeze_top`: the naive fine-tune of the same layers our "top" stage trains
    (features[14:] + classifier, at lr 1e-4 and 1e-3, frozen BatchNorm kept in eval mode as ours does),
    running the whole network forward on every batch of every epoch."""
    import torch
    from torchvision import datasets, transforms
    torch.manual_seed(seed)
    root = DATA / data
    t0 = time.perf_counter()
    train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize(SEED_MEAN, SEED_STD)])
    train_data = datasets.ImageFolder(str(root / "train"), transform=train_tf)
    loader = torch.utils.data.DataLoader(train_data, batch_size=16, shuffle=True)
    dev = _device()
    net = _tv_model(len(train_data.classes)).to(dev)
    for p in net.parameters():
        p.requires_grad = False
    for p in net.classifier[-1].parameters():
        p.requires_grad = True
    if unfreeze_top:
        for p in net.features[14:].parameters():
            p.requires_grad = True
        opt = torch.optim.Adam([{"params": net.classifier[-1].parameters(), "lr": 1e-3},
                                {"params": net.features[14:].parameters(), "lr": 1e-4}])
        net.eval()
        net.features[14:].train()
        net.classifier.train()
    else:
        opt = torch.optim.Adam(net.classifier[-1].parameters(), lr=0.001)  # the seed: model stays in train mode
    criterion = torch.nn.CrossEntropyLoss()
    for _epoch in range(epochs):
        for images, labels in loader:
            images, labels = images.to(dev), labels.to(dev)  # the seed: images.cuda(), labels.cuda()
            loss = criterion(net(images), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    _sync()
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    acc = _seed_eval(net, str(root / "val"))
    return {"seconds": round(seconds, 2), "eval_s": round(time.perf_counter() - t1, 2), "accuracy": acc,
            "train_images": len(train_data), "threads": torch.get_num_threads()}


def _image_files(folders: list[str], limit: int | None) -> list[str]:
    from torchvision import datasets
    files: list[str] = []
    for f in folders:
        files += [p for p, _ in datasets.ImageFolder(str(DATA / f)).samples]
    return files[:limit] if limit else files


def case_bare(folders: list[str], limit: int | None = None, batch: int = 32) -> dict:
    """The floor: standard PIL decode + torchvision Resize/CenterCrop/ToTensor/Normalize, then one
    inference forward of the whole backbone, batched, over every image once. Nothing else."""
    import torch
    from PIL import Image
    from torchvision import transforms
    files = _image_files(folders, limit)
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize(SEED_MEAN, SEED_STD)])
    dev = _device()
    net = _tv_model(None).to(dev).eval()
    decode = forward = 0.0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(files), batch):
            t = time.perf_counter()
            x = torch.stack([tf(Image.open(p).convert("RGB")) for p in files[i:i + batch]])
            t2 = time.perf_counter()
            net(x.to(dev))
            _sync()
            decode += t2 - t
            forward += time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 2), "decode_s": round(decode, 2), "forward_s": round(forward, 2),
            "images": len(files), "images_per_s": round(len(files) / seconds, 1), "threads": torch.get_num_threads()}


# ----------------------------------------------------------------------------- ours
def _dataset(spec: dict):
    from fewshot import load_dataset
    if "per_class" in spec:  # the first N images of each class folder (sorted names), as the app's cards give
        root = DATA / spec["train"]
        mapping = {d.name: sorted(str(p) for p in d.iterdir() if p.is_file())[:spec["per_class"]]
                   for d in sorted(root.iterdir()) if d.is_dir()}
        return load_dataset(mapping, val_source=DATA / spec["val"])
    if "val" in spec:
        return load_dataset(DATA / spec["train"], val_source=DATA / spec["val"])
    return load_dataset(DATA / spec["root"])


def _timed_train(ds, cfg, feature_cache: bool) -> dict:
    """One train() run: total seconds, the frozen pass's seconds and images/s, accuracy."""
    from fewshot import Done, Progress, train
    t0 = time.perf_counter()
    marks: dict[str, float] = {}
    done = None
    for ev in train(ds, cfg, feature_cache=feature_cache):
        now = time.perf_counter()
        if isinstance(ev, Progress):
            marks.setdefault(ev.phase, now)
        if isinstance(ev, Done):
            done = ev
    seconds = time.perf_counter() - t0
    if done is None or done.evaluation is None:
        raise SystemExit("training produced no evaluated model")
    n = len(ds.train) + len(ds.val)
    pass_s = marks.get("train", t0) - marks.get("features", t0)
    return {"seconds": round(seconds, 2), "accuracy": done.evaluation.accuracy,
            "best_epoch": done.best_epoch, "feature_pass_s": round(pass_s, 2),
            "input": [done.model.config.preprocessing.resize, done.model.config.preprocessing.crop],
            "stage": done.model.config.stage,
            "feature_images_per_s": round(n / pass_s, 1) if pass_s > 0 else None,
            "after_pass_s": round(seconds - (marks.get("train", t0) - t0), 2)}


def case_ours(data: dict, stage: str = "head", epochs: int = 10, feature_cache: bool = False,
              second: dict | None = None, input: list[int] | None = None, **cfg_kw) -> dict:
    """load_dataset + train(); with `second`, a further run in the same session with other settings.

    `input` ([shorter side, crop]) fixes the input size; by default it is chosen from the photos.
    """
    import torch
    from fewshot import Preprocessing, TrainConfig
    t0 = time.perf_counter()
    ds = _dataset(data)
    load_s = time.perf_counter() - t0
    if input:
        cfg_kw["preprocessing"] = Preprocessing(*input)
    cfg = TrainConfig(arch=ARCH, stage=stage, epochs=epochs, **cfg_kw)
    run = _timed_train(ds, cfg, feature_cache)
    out = {"seconds": round(load_s + run["seconds"], 2), "load_s": round(load_s, 2), "train_s": run["seconds"],
           **{k: v for k, v in run.items() if k != "seconds"}, "train_images": len(ds.train),
           "val_images": len(ds.val), "threads": torch.get_num_threads(),
           "engine": str(Path(sys.modules["fewshot"].__file__).parents[1]),
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    if second:
        out["second"] = _timed_train(ds, cfg.with_(**second), True)
    return out


def case_fill_cache(data: dict, stage: str = "head") -> dict:
    """Fill the feature cache (a user's earlier run on the same photos)."""
    from fewshot import TrainConfig
    ds = _dataset(data)
    return _timed_train(ds, TrainConfig(arch=ARCH, stage=stage, epochs=1), True)


def _percentiles(ts: list[float]) -> dict:
    import numpy as np
    a = np.array(ts) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2)}


def case_predict(data: str = "hymenoptera/val", repeats: int = 1, warm: int = 5) -> dict:
    """Single-image latency of Predictor.predict_one (file -> top-k) and of a bare forward of one
    ready tensor through torchvision's MobileNetV2; then batch throughput of both."""
    import torch
    from PIL import Image
    from torchvision import transforms
    from fewshot import Predictor, TrainConfig, TrainedModel
    from fewshot.models import build_model
    from fewshot.config import Preprocessing
    from fewshot.images import short_sides
    files = _image_files([data], None)
    classes = sorted({Path(f).parent.name for f in files})
    # the input size a model trained on these photos with the defaults has (320 for hymenoptera)
    cfg = TrainConfig(arch=ARCH, stage="head", preprocessing=Preprocessing.for_photos(short_sides(files)))
    t = time.perf_counter()
    pred = Predictor(TrainedModel(build_model(ARCH, len(classes)).eval(), classes, cfg))
    setup_s = time.perf_counter() - t
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize(SEED_MEAN, SEED_STD)])
    dev = _device()
    net = _tv_model(len(classes)).to(dev).eval()
    x1 = tf(Image.open(files[0]).convert("RGB"))[None].to(dev)
    ours, bare, bare_dec = [], [], []
    with torch.inference_mode():
        for f in files[:warm]:
            pred.predict_one(f)
            net(x1)
        for _ in range(repeats):  # interleaved, so load changes hit all three alike
            for f in files:
                a = time.perf_counter()
                pred.predict_one(f)
                b = time.perf_counter()
                net(x1).cpu()
                c = time.perf_counter()
                net(tf(Image.open(f).convert("RGB"))[None].to(dev)).cpu()
                d = time.perf_counter()
                ours.append(b - a)
                bare.append(c - b)
                bare_dec.append(d - c)
        t = time.perf_counter()
        pred.predict_files(files)
        ours_batch = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(0, len(files), 32):
            net(torch.stack([tf(Image.open(p).convert("RGB")) for p in files[i:i + 32]]).to(dev)).cpu()
        bare_batch = time.perf_counter() - t
    return {"images": len(files), "predictor_setup_s": round(setup_s, 2),
            "predict_one": _percentiles(ours), "bare_forward_one": _percentiles(bare),
            "bare_decode_forward_one": _percentiles(bare_dec),
            "predict_files_images_per_s": round(len(files) / ours_batch, 1),
            "bare_batched_images_per_s": round(len(files) / bare_batch, 1),
            "engine": type(getattr(pred, "_forward", pred.model)).__name__, "threads": torch.get_num_threads(),
            "input": [cfg.preprocessing.resize, cfg.preprocessing.crop]}


def case_export_trunk(stage: str = "head", crop: int = 224) -> dict:
    """Export the frozen trunk for onnxruntime (once per machine, backbone, stage and input size), timed alone."""
    from fewshot.models import build_model, cut_for_stage
    from fewshot.runtime import CanvasInput, inference_forward, pick_runtime
    model = build_model(ARCH, 2).eval()
    t = time.perf_counter()
    fwd = inference_forward(CanvasInput(model, cut_for_stage(model, stage)), pick_runtime(), crop, images=10**6)
    return {"seconds": round(time.perf_counter() - t, 2), "engine": type(fwd).__name__}


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    import warnings
    warnings.filterwarnings("ignore")
    name, kwargs = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = CASES[name](**kwargs)
    after = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds of every thread: far less sensitive than wall time to other work on the machine
    result["cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    emit(result)
