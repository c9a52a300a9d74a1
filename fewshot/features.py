"""The frozen trunk runs once per image: decode, forward, keep the activations.

Decoding overlaps the forward pass in worker threads (PIL releases the GIL), the forward
pass runs on the fastest engine for the device (runtime.inference_forward), and the
activations land in a FeatureStore: in memory up to a budget, in a temporary file past
it, so memory stays bounded however many photos there are. Activations are also kept on
disk keyed by the file's content, so a second run on the same photos with other head
settings skips the whole pass.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import weakref
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from .config import Preprocessing
from .data import Sample
from .images import UnreadableImage, center_view, decode_canvas
from .models import Classifier
from .runtime import CanvasInput, Runtime, decode_workers, gpu_batch, inference_forward

__all__ = ["DiskCache", "FeatureStore", "PassProgress", "RAM_BUDGET", "cache_key", "decode_many", "trunk_pass",
           "trunk_shape"]

DEFAULT_RAM_MB = 1024  # activations kept in memory by all runs of this process together


@dataclass(frozen=True)
class PassProgress:
    done: int
    total: int
    cached: int


def _cache_root() -> Path:
    return Path(os.environ.get("FEWSHOT_CACHE_DIR") or Path.home() / ".cache" / "fewshot" / "features")


def cache_key(arch: str, weights_id: str, cut: int, pre: Preprocessing) -> str:
    # v2: rows are stored in the FeatureStore's physical layout (maps as [h, w, C])
    return hashlib.sha1(f"v2|{arch}|{weights_id}|{cut}|{pre.to_dict()}".encode()).hexdigest()[:16]


class DiskCache:
    """One .npy of float16 activations per (model key, image content), in the store's physical layout."""

    def __init__(self, key: str, root: Path | None = None) -> None:
        self.dir = (root or _cache_root()) / key

    def get(self, digest: str) -> np.ndarray | None:
        try:
            return np.load(self.dir / f"{digest}.npy")
        except (OSError, ValueError):
            return None

    def get_raw(self, digest: str, nbytes: int) -> bytes | None:
        """The array's bytes when the file holds exactly `nbytes` of data (no header parsing: 3x faster)."""
        try:
            data = (self.dir / f"{digest}.npy").read_bytes()
        except OSError:
            return None
        if data[:6] != b"\x93NUMPY":
            return None
        start = 10 + int.from_bytes(data[8:10], "little") if data[6] == 1 else 12 + int.from_bytes(data[8:12], "little")
        return data[start:] if len(data) - start == nbytes else None

    def put(self, digest: str, value: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp.npy"
        np.save(tmp, value)
        os.replace(tmp, self.dir / f"{digest}.npy")


class _RamBudget:
    """Bytes of activations this process may hold in memory (FEWSHOT_FEATURE_RAM_MB)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used = 0

    def limit(self) -> int:
        return int(float(os.environ.get("FEWSHOT_FEATURE_RAM_MB", DEFAULT_RAM_MB)) * 2**20)

    def take(self, nbytes: int) -> bool:
        with self.lock:
            if self.used + nbytes > self.limit():
                return False
            self.used += nbytes
            return True

    def give(self, nbytes: int) -> None:
        with self.lock:
            self.used -= nbytes


RAM_BUDGET = _RamBudget()


def _spill_dir() -> Path:
    d = Path(os.environ.get("FEWSHOT_SPILL_DIR") or _cache_root().parent / "spill")
    d.mkdir(parents=True, exist_ok=True)
    return d


class FeatureStore:
    """N same-shaped rows, indexed like a tensor (int, slice, index tensor) and returning tensors.

    Rows live in memory while the process-wide budget allows, else in an unlinked temporary
    file read with pread (not mmap), so resident memory stays at one batch. Maps [C, h, w]
    are laid out channels-last, so batches come out channels-last at no cost (the layout
    PyTorch's CPU convolutions run fastest on).
    """

    def __init__(self, n: int, row_shape: tuple[int, ...], dtype: torch.dtype = torch.float16,
                 device: torch.device | None = None) -> None:
        self.n, self.row_shape, self.dtype = n, tuple(row_shape), dtype
        self._np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
        # physical order of one row: [h, w, C] for maps, as given otherwise
        self._phys = (*row_shape[1:], row_shape[0]) if len(row_shape) == 3 else tuple(row_shape)
        self.row_bytes = int(np.prod(row_shape)) * self._np_dtype.itemsize
        nbytes = n * self.row_bytes
        self._ram: torch.Tensor | None = None
        self._file = None
        self._phys_ram: torch.Tensor | None = None
        if device is not None and device.type == "cuda" and nbytes <= 0.25 * torch.cuda.mem_get_info(device)[0]:
            # on a GPU with room: batches are gathered where they are used, no copies per step
            self._phys_ram = torch.empty((n, *self._phys), dtype=dtype, device=device)
        elif RAM_BUDGET.take(nbytes):
            self._phys_ram = torch.empty((n, *self._phys), dtype=dtype)
            weakref.finalize(self, RAM_BUDGET.give, nbytes)
        if self._phys_ram is not None:
            self._ram = self._logical(self._phys_ram)
        else:
            self._file = tempfile.TemporaryFile(dir=_spill_dir(), prefix="features.")
            self._file.truncate(nbytes)
            weakref.finalize(self, self._file.close)

    def _logical(self, phys: torch.Tensor) -> torch.Tensor:
        return phys.permute(0, 3, 1, 2) if len(self.row_shape) == 3 else phys

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, *self.row_shape)

    def __len__(self) -> int:
        return self.n

    def _rows(self, key) -> np.ndarray:
        if isinstance(key, slice):
            return np.arange(self.n)[key]
        if isinstance(key, int):
            return np.array([range(self.n)[key]])
        return np.asarray(torch.as_tensor(key).reshape(-1), dtype=np.int64) % max(self.n, 1)

    def __getitem__(self, key) -> torch.Tensor:
        if self._ram is not None:
            return self._ram[key]
        rows = self._rows(key)
        out = np.empty((len(rows), *self._phys), dtype=self._np_dtype)
        buf = out.reshape(len(rows), -1).view(np.uint8)
        fd = self._file.fileno()
        start = 0
        while start < len(rows):  # one read per run of consecutive rows
            end = start + 1
            while end < len(rows) and rows[end] == rows[end - 1] + 1:
                end += 1
            want = (end - start) * self.row_bytes
            got = os.preadv(fd, [memoryview(buf[start:end]).cast("B")], int(rows[start]) * self.row_bytes)
            if got != want:
                raise OSError(f"short read from the feature spill file ({got} of {want} bytes)")
            start = end
        t = self._logical(torch.from_numpy(out))
        return t[0] if isinstance(key, int) else t

    def put(self, rows: Sequence[int], values: torch.Tensor) -> None:
        """Set rows `rows` to `values` [len(rows), *row_shape]."""
        if self._ram is not None:
            values = values.to(self._ram.device, self.dtype)
            if len(rows) == 1:
                self._ram[rows[0]].copy_(values[0])
            else:
                self._ram[torch.as_tensor(list(rows), dtype=torch.long, device=self._ram.device)] = values
            return
        values = values.to("cpu", self.dtype)
        phys = values.permute(0, 2, 3, 1) if len(self.row_shape) == 3 else values
        arr = phys.contiguous().numpy().reshape(len(rows), -1).view(np.uint8)
        for r, row in zip(rows, arr):
            os.pwrite(self._file.fileno(), row.tobytes(), int(r) * self.row_bytes)

    def put_physical(self, row: int, data: bytes | np.ndarray) -> None:
        """Set one row from bytes in the physical layout (what `physical_row` gave)."""
        if self._phys_ram is not None:
            src = torch.frombuffer(bytearray(data), dtype=self.dtype) if isinstance(data, bytes) else \
                torch.from_numpy(np.ascontiguousarray(data))
            self._phys_ram[row].view(-1).copy_(src.view(-1))
        else:
            os.pwrite(self._file.fileno(), bytes(data) if isinstance(data, bytes) else data.tobytes(),
                      row * self.row_bytes)

    def physical_row(self, row: int) -> np.ndarray:
        """One row as a contiguous array in the physical layout (for the disk cache)."""
        if self._phys_ram is not None:
            return self._phys_ram[row].cpu().numpy()
        out = np.empty(self._phys, dtype=self._np_dtype)
        os.preadv(self._file.fileno(), [memoryview(out.reshape(-1).view(np.uint8))], row * self.row_bytes)
        return out

    def tensor(self) -> torch.Tensor:
        """Everything as one in-memory tensor (small stores and tests)."""
        return self[:]


def _to_batch(canvases: Sequence[np.ndarray], pre: Preprocessing, center: bool = True) -> torch.Tensor:
    """uint8 HWC canvases -> float NCHW in [0, 1] (the centre crop when `center`)."""
    arr = np.stack([center_view(c, pre) if center else c for c in canvases])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)


def _decode_job(path: str, pre: Preprocessing, max_pixels: int) -> np.ndarray | UnreadableImage:
    try:
        return decode_canvas(path, pre, max_pixels)
    except UnreadableImage as exc:
        return exc


def _prefetch(fn: Callable, items: Iterable, pool: ThreadPoolExecutor, ahead: int) -> Iterator:
    """fn(item) for each item, in order, computed by `pool` at most `ahead` items early."""
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def decode_many(paths: Sequence[str], pre: Preprocessing, batch: int, pool: ThreadPoolExecutor,
                max_pixels: int) -> Iterator[list[np.ndarray | UnreadableImage]]:
    """Decode in order, a batch ahead of the consumer, so memory stays at two batches."""
    out: list = []
    for c in _prefetch(lambda p: _decode_job(p, pre, max_pixels), paths, pool, batch):
        out.append(c)
        if len(out) == batch:
            yield out
            out = []
    if out:
        yield out


def trunk_shape(model: Classifier, cut: int, crop: int) -> tuple[int, ...]:
    """Shape of one image's trunk output, from a shape-only forward pass."""
    with torch.inference_mode():
        dev = model.mean.device
        return tuple(model.trunk(torch.zeros(1, 3, crop, crop, device=dev), cut).shape[1:])


def _cpu_batch(images: int) -> int:
    """Small batches keep a CPU's caches warm (bench/README.md: 8-16 beat 32+ per image)."""
    return 16 if images >= 16 else max(1, images)


def trunk_pass(model: Classifier, cut: int, samples: Sequence[Sample], pre: Preprocessing, rt: Runtime,
               batch_size: int, cache: DiskCache | None, stop: Callable[[], bool],
               max_pixels: int) -> Iterator[PassProgress | FeatureStore]:
    """Yield PassProgress while working, then one FeatureStore [N, C, h, w] (float16) of trunk outputs.

    Stops early (yielding nothing more) when `stop()` turns true. `batch_size` is the most
    images run at once on a GPU; a CPU uses its own, smaller batch.
    """
    n = len(samples)
    model.eval()
    first = cache.get(samples[0].digest) if cache and n else None  # its header gives the shape
    shape = trunk_shape(model, cut, pre.crop) if first is None else \
        ((first.shape[-1], *first.shape[:-1]) if first.ndim == 3 else tuple(first.shape))
    store = FeatureStore(n, shape, device=rt.device)
    todo = []
    for i, s in enumerate(samples):
        hit = (first if first is not None and first.shape == store._phys else None) if i == 0 else \
            (cache.get_raw(s.digest, store.row_bytes) if cache else None)
        if hit is not None:
            store.put_physical(i, hit)
        else:
            todo.append(i)
    cached = n - len(todo)
    yield PassProgress(cached, n, cached)
    if not todo:
        yield store
        return
    forward = inference_forward(CanvasInput(model, cut), rt, pre.crop, images=len(todo))
    # CPU: small batches stay in cache. GPU: as many as memory allows, up to 8x the batch asked
    # for (which training halves after running out of memory, so this shrinks with it)
    batch = _cpu_batch(len(todo)) if rt.device.type == "cpu" else gpu_batch(forward, rt, pre.crop, 8 * batch_size)
    done = cached
    with ThreadPoolExecutor(max_workers=decode_workers(rt)) as pool:
        crops = _prefetch(lambda i: (i, _decode_job(samples[i].path, pre, max_pixels)), todo, pool, 2 * batch)
        while True:
            if stop():
                return
            chunk = [c for _, c in zip(range(batch), crops)]
            if not chunk:
                break
            idx = [i for i, _ in chunk]
            for i, c in chunk:
                if isinstance(c, UnreadableImage):  # the file changed since it was checked
                    raise UnreadableImage(f"{Path(samples[i].path).name}: {c}")
            y = forward(np.stack([center_view(c, pre) for _, c in chunk])).to(torch.float16)
            store.put(idx, y)
            if cache:
                for i in idx:
                    cache.put(samples[i].digest, store.physical_row(i))
            done += len(idx)
            yield PassProgress(done, n, cached)
    yield store
