"""Unsorted piles for the labelling benchmarks: a data set's training photos copied flat under opaque names.

A simulated person answers from the hidden folder names. Three piles: flowers/train (300 photos, the pile the
labelling work was built on), hymenoptera/train (2 classes, never tuned on) and 500 photos of cifar10/train
(50 a class, 32 px, never tuned on). Each pile has its own check folder for the trained model's accuracy.
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import DATA, ROOT, WEIGHTS  # noqa: E402


@dataclass(frozen=True)
class PileSpec:
    name: str
    train: str  # folder of class folders under DATA
    check: str  # where the trained model is scored
    per_class: int | None = None  # a seeded subset of each class (None: all)


PILES = {
    "flowers": PileSpec("flowers", "flowers/train", "flowers/val"),
    "hymenoptera": PileSpec("hymenoptera", "hymenoptera/train", "hymenoptera/val"),
    "cifar10": PileSpec("cifar10", "cifar10/train", "cifar10/test", per_class=50),
}
DEFAULT_CACHE = ROOT / ".ci-cache" / "features"


def make_pile(spec: PileSpec, dst: Path, seed: int = 0) -> dict[str, str]:
    """Copy the pile's photos into `dst` under opaque names; {name: class}, the hidden answers."""
    dst.mkdir(parents=True, exist_ok=True)
    hidden = {}
    rng = random.Random(seed)
    for cls in sorted(p for p in (DATA / spec.train).iterdir() if p.is_dir()):
        files = sorted(f for f in cls.iterdir() if f.is_file())
        if spec.per_class:
            files = sorted(rng.sample(files, spec.per_class))
        for f in files:
            name = "p" + hashlib.sha1(f"{cls.name}/{f.name}".encode()).hexdigest()[:12] + f.suffix.lower()
            shutil.copy(f, dst / name)
            hidden[name] = cls.name
    return hidden


def bench_env(cache: str | None) -> Path:
    """A temporary folder holding TORCH_HOME (a copy of the MobileNetV2 weights); the feature cache is `cache`,
    or .ci-cache/features (git-ignored) so that later runs read the features back. Set before fewshot loads."""
    tmp = Path(tempfile.mkdtemp(prefix="fewshot-bench-pile-"))
    home = tmp / "torch" / "hub" / "checkpoints"
    home.mkdir(parents=True)
    shutil.copy(WEIGHTS, home / WEIGHTS.name)
    os.environ["TORCH_HOME"] = str(tmp / "torch")
    os.environ["FEWSHOT_CACHE_DIR"] = str(cache or DEFAULT_CACHE)
    return tmp
