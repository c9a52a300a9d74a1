"""Export to TorchScript and ONNX: same model, softmax included, same numbers as Predictor."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from .bundle import TrainedModel, atomic_write
from .errors import FewshotError

FORMATS = ("torchscript", "onnx")


class WithSoftmax(nn.Module):
    """Input: RGB floats in [0, 1], NCHW, centre crop. Output: class probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).softmax(1)


def _sidecar(tm: TrainedModel, out: Path, fmt: str) -> None:
    pre = tm.config.preprocessing
    info = {"classes": tm.classes, "format": fmt, "input": "float32 RGB in [0,1], NCHW",
            "preprocessing": {**pre.to_dict(), "note": "resize shorter side to `resize` (bilinear), centre-crop "
                              "`crop`; mean/std are applied inside the model"},
            "arch": tm.config.arch, "metrics": {k: v for k, v in tm.metrics.items() if not isinstance(v, list)}}
    atomic_write(out.with_suffix(out.suffix + ".json"), json.dumps(info, indent=2, ensure_ascii=False).encode())
    atomic_write(out.with_suffix(".md"), tm.model_card().encode())


def export(tm: TrainedModel, fmt: str, out: str | os.PathLike) -> Path:
    """Write `out` (atomically) plus `out.json` (classes, preprocessing) and a model card `.md`."""
    if fmt not in FORMATS:
        raise FewshotError(f"unknown export format {fmt!r}; choose torchscript or onnx")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    crop = tm.config.preprocessing.crop
    net = WithSoftmax(tm.model.cpu().eval()).eval()
    example = torch.rand(2, 3, crop, crop)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        with torch.no_grad():
            if fmt == "torchscript":
                torch.jit.save(torch.jit.trace(net, example), tmp)
            else:
                # the torch.export-based exporter (the default since torch 2.9), any batch size
                torch.onnx.export(net, (example,), tmp, input_names=["image"], output_names=["probabilities"],
                                  dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    _sidecar(tm, out, fmt)
    return out
