"""The frozen trunk runs once per image: decode, forward, keep the activations.

Decoding overlaps the forward pass in a worker thread (PIL releases the GIL), and
activations are kept on disk keyed by the file's content, so a second run on the same
photos with other head settings skips the whole pass.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from .config import Preprocessing
from .data import Sample
from .images import UnreadableImage, center_view, decode_canvas
from .models import Classifier
from .runtime import Runtime


@dataclass(frozen=True)
class PassProgress:
    done: int
    total: int
    cached: int


def cache_root() -> Path:
    return Path(os.environ.get("FEWSHOT_CACHE_DIR") or Path.home() / ".cache" / "fewshot" / "features")


def cache_key(arch: str, weights_id: str, cut: int, pre: Preprocessing) -> str:
    return hashlib.sha1(f"v1|{arch}|{weights_id}|{cut}|{pre.to_dict()}".encode()).hexdigest()[:16]


class DiskCache:
    """One .npy of float16 activations per (model key, image content)."""

    def __init__(self, key: str, root: Path | None = None) -> None:
        self.dir = (root or cache_root()) / key

    def get(self, digest: str) -> torch.Tensor | None:
        path = self.dir / f"{digest}.npy"
        try:
            return torch.from_numpy(np.load(path))
        except (OSError, ValueError):
            return None

    def put(self, digest: str, value: torch.Tensor) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{digest}.{os.getpid()}.tmp.npy"
        np.save(tmp, value.numpy())
        os.replace(tmp, self.dir / f"{digest}.npy")


def to_batch(canvases: Sequence[np.ndarray], pre: Preprocessing, center: bool = True) -> torch.Tensor:
    """uint8 HWC canvases -> float NCHW in [0, 1] (the centre crop when `center`)."""
    arr = np.stack([center_view(c, pre) if center else c for c in canvases])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)


def decode_many(paths: Sequence[str], pre: Preprocessing, batch: int, pool: ThreadPoolExecutor,
                max_pixels: int) -> Iterator[list[np.ndarray | UnreadableImage]]:
    """Decode in order, one batch ahead of the consumer, so memory stays at two batches."""
    def job(p: str):
        try:
            return decode_canvas(p, pre, max_pixels)
        except UnreadableImage as exc:
            return exc
    chunks = [paths[i:i + batch] for i in range(0, len(paths), batch)]
    pending: list[Future] = [pool.submit(job, p) for p in chunks[0]] if chunks else []
    for k in range(len(chunks)):
        nxt = [pool.submit(job, p) for p in chunks[k + 1]] if k + 1 < len(chunks) else []
        yield [f.result() for f in pending]
        pending = nxt


def trunk_pass(model: Classifier, cut: int, samples: Sequence[Sample], pre: Preprocessing, rt: Runtime,
               batch_size: int, cache: DiskCache | None, stop: Callable[[], bool],
               max_pixels: int) -> Iterator[PassProgress | torch.Tensor]:
    """Yield PassProgress while working, then one float16 tensor [N, C, h, w] of trunk outputs.

    Stops early (yielding nothing more) when `stop()` turns true.
    """
    n = len(samples)
    out: list[torch.Tensor | None] = [cache.get(s.digest) if cache else None for s in samples]
    todo = [i for i in range(n) if out[i] is None]
    cached = n - len(todo)
    yield PassProgress(cached, n, cached)
    model.eval()
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = cached
        batches = decode_many([samples[i].path for i in todo], pre, batch_size, pool, max_pixels)
        for start, canvases in zip(range(0, len(todo), batch_size), batches):
            if stop():
                return
            idx = todo[start:start + batch_size]
            for i, c in zip(idx, canvases):
                if isinstance(c, UnreadableImage):  # the file changed since it was checked
                    raise UnreadableImage(f"{Path(samples[i].path).name}: {c}")
            x = to_batch(canvases, pre).to(rt.device, non_blocking=True)
            with torch.inference_mode(), rt.autocast():
                y = model.trunk(x, cut).to("cpu", torch.float16)
            for j, i in enumerate(idx):
                out[i] = y[j].clone()
                if cache:
                    cache.put(samples[i].digest, out[i])
            done += len(idx)
            yield PassProgress(done, n, cached)
    yield torch.stack(out) if n else torch.empty(0)
