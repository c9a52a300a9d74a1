"""Device, mixed precision, seeding and fast inference: decided once per run.

The frozen part of a network only ever runs forward, so it can run on whatever executes
a fixed graph fastest: onnxruntime on a CPU (2-4x faster than eager PyTorch for
MobileNet/ResNet on small CPUs), channels-last eager PyTorch with batch norm folded into
the convolutions otherwise, and autocast on a GPU. Every engine takes the same input
(uint8 HWC pixel crops) and returns the same numbers to within float rounding.
"""
from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import random
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision.models.resnet import BasicBlock, Bottleneck

__all__ = ["CanvasInput", "OnnxForward", "Runtime", "TorchForward", "cpu_count", "decode_workers", "fold_batchnorm",
           "free_memory", "gpu_batch", "inference_forward", "is_out_of_memory", "maths_threads", "model_forward",
           "onnx_dir", "pick_runtime", "seed_everything"]

ENGINES = ("auto", "onnx", "torch")
ONNX_MIN_IMAGES = 96  # below this a first-time export costs more than it saves


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    amp: bool
    amp_dtype: torch.dtype

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp)


def pick_runtime(device: str | None = None) -> Runtime:
    """CUDA (with AMP) > MPS > CPU, unless `device` or FEWSHOT_DEVICE names one."""
    name = device or os.environ.get("FEWSHOT_DEVICE")
    if not name:
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    dev = torch.device(name)
    if dev.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return Runtime(dev, True, torch.bfloat16 if bf16 else torch.float16)
    # bf16 autocast on a CPU without avx512_bf16/AMX is emulated and slower than fp32 (bench/README.md)
    return Runtime(dev, False, torch.bfloat16)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; returns a generator for data order and augmentation."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` says the device ran out of memory: CUDA, MPS and the CPU allocator each say it their own way."""
    text = str(exc).lower()
    return (isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError))
            or "out of memory" in text or "can't allocate memory" in text)


def free_memory(runtime: Runtime) -> None:
    """Give the memory of freed tensors back to the device, before retrying with a smaller batch."""
    if runtime.device.type == "cuda":
        torch.cuda.empty_cache()


def cpu_count() -> int:
    """Cores this process may use: a container's limit, not the host's, shared with the other
    processes torchrun started on this machine."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, n // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))


def maths_threads() -> int:
    """Threads for one network's maths on the CPU: PyTorch's own setting (OMP_NUM_THREADS, or
    torch.set_num_threads) at most the cores this process may use, so that onnxruntime follows the
    same limit as PyTorch when an operator shares the machine."""
    return max(1, min(cpu_count(), torch.get_num_threads()))


def decode_workers(rt: Runtime) -> int:
    """Threads decoding JPEGs beside the network: one on a small CPU, more when a GPU does the maths."""
    n = cpu_count()
    return max(1, min(8, n - 1)) if rt.device.type != "cpu" else max(1, n // 2)


class CanvasInput(nn.Module):
    """uint8 NHWC pixels in, `fn(float NCHW in [0, 1])` out: the one input every engine takes.

    Converting inside the graph keeps the host-to-device copy at one byte per pixel.
    """

    def __init__(self, net: nn.Module, cut: int | None = None) -> None:
        super().__init__()
        self.net, self.cut = net, cut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).float() / 255.0  # NHWC memory read as NCHW: channels-last for free
        return self.net(x) if self.cut is None else self.net.trunk(x, self.cut)

    def digest(self, extra: str = "") -> str:
        """Content key of the weights this module uses (for a trunk: the stages before the cut)."""
        used = self.net if self.cut is None else nn.ModuleList(list(self.net.stages[:self.cut]))
        h = hashlib.sha1(f"v2|{torch.__version__}|{type(self.net).__name__}|{self.cut}|{extra}".encode())
        for src in (used.state_dict(), {k: v for k, v in self.net.named_buffers() if k in ("mean", "std")}):
            for name, t in src.items():
                h.update(name.encode())
                h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        return h.hexdigest()[:20]


def _bn_pairs(parent: nn.Module) -> list[tuple[str, str]]:
    """(conv, bn) child names where the forward pass runs bn right after conv.

    Holds for nn.Sequential, and for torchvision's ResNet blocks (conv1/bn1, conv2/bn2, conv3/bn3).
    """
    if isinstance(parent, nn.Sequential):
        names = [n for n, _ in parent.named_children()]
        return [(a, b) for a, b in zip(names, names[1:])]
    if isinstance(parent, (BasicBlock, Bottleneck)):
        return [(f"conv{i}", f"bn{i}") for i in (1, 2, 3) if hasattr(parent, f"conv{i}")]
    return []


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An eval-mode copy with each BatchNorm folded into the convolution before it.

    Done by walking the module tree, not with torch.fx: fx tracing patches nn.Module.__call__
    for the whole process, which breaks any other thread running a model at that moment
    (two sessions of the app training at once, or predicting while another trains).
    """
    module = copy.deepcopy(module).eval()
    for parent in list(module.modules()):
        for conv_name, bn_name in _bn_pairs(parent):
            conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
            if type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and bn.track_running_stats:
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(parent, bn_name, nn.Identity())
    return module


def _onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def _export_onnx(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Export once, atomically. The TorchScript exporter takes seconds where torch.export takes half a minute."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".trunk.", suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), tmp, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False, opset_version=17)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class OnnxForward:
    """A frozen module run by onnxruntime on the CPU; the .onnx file is kept by weight content."""

    def __init__(self, module: CanvasInput, crop: int, path: Path, threads: int) -> None:
        import onnxruntime as ort  # optional (_onnx_available), and a third of a second: only when it runs
        if not path.is_file():
            _export_onnx(module.eval(), torch.zeros(2, crop, crop, 3, dtype=torch.uint8), path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # a decoding thread shares the cores: idle workers must sleep, not spin
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"x": np.ascontiguousarray(x)})[0])


class TorchForward:
    """Eager PyTorch: folded batch norm and channels-last on a CPU, autocast on a GPU.

    On a GPU, batches go through one reused page-locked buffer, so the host-to-device copy
    is asynchronous and no pinned memory is allocated per batch.
    """

    def __init__(self, module: CanvasInput, rt: Runtime) -> None:
        self.rt = rt
        if rt.device.type == "cpu":
            module = fold_batchnorm(module)
        self.module = module.to(rt.device).eval()
        if rt.device.type != "mps":
            self.module = self.module.to(memory_format=torch.channels_last)
        self._staging: torch.Tensor | None = None
        self._copied = None

    def _to_device(self, x: np.ndarray) -> torch.Tensor:
        src = torch.from_numpy(np.ascontiguousarray(x))
        if self.rt.device.type != "cuda":
            return src.to(self.rt.device)
        if self._staging is None or self._staging.numel() < src.numel():
            self._staging = torch.empty(src.numel(), dtype=torch.uint8).pin_memory()
        elif self._copied is not None:
            self._copied.synchronize()  # the last batch's copy has left the buffer
        buf = self._staging[:src.numel()].view(src.shape)
        buf.copy_(src)
        out = buf.to(self.rt.device, non_blocking=True)
        self._copied = torch.cuda.Event()
        self._copied.record()
        return out

    @torch.inference_mode()
    def __call__(self, x: np.ndarray) -> torch.Tensor:
        xb = self._to_device(x)
        with self.rt.autocast():
            return self.module(xb).float()


def gpu_batch(forward: Callable[[np.ndarray], torch.Tensor], rt: Runtime, crop: int, cap: int) -> int:
    """Images per forward pass that fit in half the free GPU memory (at most `cap`), measured
    from one small batch; `cap` elsewhere."""
    if rt.device.type != "cuda":
        return cap
    probe = min(8, cap)
    torch.cuda.synchronize(rt.device)
    base = torch.cuda.memory_allocated(rt.device)
    torch.cuda.reset_peak_memory_stats(rt.device)
    forward(np.zeros((probe, crop, crop, 3), np.uint8))
    per = max(1.0, (torch.cuda.max_memory_allocated(rt.device) - base) / probe)
    free, _ = torch.cuda.mem_get_info(rt.device)
    return int(max(1, min(cap, free * 0.5 // per)))


def onnx_dir() -> Path:
    root = os.environ.get("FEWSHOT_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "fewshot" / "features") / "onnx"


def inference_forward(module: CanvasInput, rt: Runtime, crop: int, images: int = 0,
                      threads: int | None = None) -> Callable[[np.ndarray], torch.Tensor]:
    """The fastest engine for running `module` forward over about `images` images.

    FEWSHOT_ENGINE=onnx|torch forces one. onnxruntime is used on a CPU when its exported
    graph is already on disk, or when there are enough images to repay the export.
    """
    choice = os.environ.get("FEWSHOT_ENGINE", "auto")
    if choice not in ENGINES:
        choice = "auto"
    if rt.device.type == "cpu" and choice != "torch" and _onnx_available():
        path = onnx_dir() / f"{module.digest(str(crop))}.onnx"
        if choice == "onnx" or path.is_file() or images >= ONNX_MIN_IMAGES:
            try:
                return OnnxForward(module, crop, path, threads or maths_threads())
            except Exception as exc:  # an op the exporter lacks: eager PyTorch gives the same numbers
                warnings.warn(f"onnxruntime unavailable for this network ({type(exc).__name__}); using PyTorch")
    return TorchForward(module, rt)


class _TrunkThenTail:
    """A cached onnxruntime graph for the frozen trunk, then the trained tail in PyTorch."""

    def __init__(self, trunk: Callable[[np.ndarray], torch.Tensor], model: nn.Module, cut: int, rt: Runtime) -> None:
        self.trunk, self.model, self.cut, self.rt = trunk, model, cut, rt

    @torch.inference_mode()
    def __call__(self, x: np.ndarray) -> torch.Tensor:
        with self.rt.autocast():
            return self.model.tail(self.trunk(x).to(self.rt.device), self.cut).float()


def model_forward(model: nn.Module, rt: Runtime, crop: int) -> Callable[[np.ndarray], torch.Tensor]:
    """Logits for uint8 NHWC crops, as fast as this device allows without a new export.

    On a CPU, the longest frozen trunk whose onnxruntime graph training already left on
    disk runs there (same weights, same numbers to ~1e-5); the rest runs in PyTorch with
    batch norm folded and channels-last.
    """
    model = model.eval()
    if (rt.device.type == "cpu" and os.environ.get("FEWSHOT_ENGINE", "auto") != "torch" and _onnx_available()
            and hasattr(model, "stages")):
        for cut in range(len(model.stages), 0, -1):
            module = CanvasInput(model, cut)
            if (onnx_dir() / f"{module.digest(str(crop))}.onnx").is_file():
                try:
                    return _TrunkThenTail(OnnxForward(module, crop, onnx_dir() / f"{module.digest(str(crop))}.onnx",
                                                      maths_threads()), model, cut, rt)
                except Exception:
                    break
    return TorchForward(CanvasInput(model), rt)
