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

__all__ = ["export", "export_files", "exported_files"]

FORMATS = ("torchscript", "onnx")
# Weights over this go to a separate file: one protobuf file cannot hold more than 2 GB (torch splits at 1.5 GiB).
ONNX_SINGLE_FILE_BYTES = 1536 * 1024**2


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
    if fmt == "onnx" and weights_file(out).is_file():  # only a model over 2 GB: keep this file beside the .onnx
        info["weights_file"] = weights_file(out).name
    atomic_write(out.with_suffix(out.suffix + ".json"), json.dumps(info, indent=2, ensure_ascii=False).encode())
    atomic_write(out.with_suffix(".md"), tm.model_card().encode())


def _weight_bytes(program) -> int:
    """Bytes of the weights an ONNX program would write (what decides one file or two)."""
    return sum(v.const_value.nbytes for v in program.model.graph.initializers.values() if v.const_value is not None)


def _stage(fmt: str, net: nn.Module, example: torch.Tensor, staged: Path) -> None:
    """Write the model to `staged`, a path that already has its final file name (it is written into the
    file, e.g. as an ONNX external-data reference, so a temp name must never be used here)."""
    with torch.no_grad():
        if fmt == "torchscript":
            torch.jit.save(torch.jit.trace(net, example), str(staged))
            return
        # the torch.export-based exporter (the default since torch 2.9), any batch size; weights inside the
        # .onnx (torch's default puts them in a separate .data file, which users lose)
        program = torch.onnx.export(net, (example,), None, input_names=["image"], output_names=["probabilities"],
                                    dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False)
    program.save(staged, external_data=_weight_bytes(program) > ONNX_SINGLE_FILE_BYTES)


def weights_file(model_path: str | os.PathLike) -> Path:
    """Where an ONNX model too big for one file keeps its weights: `<name>.onnx.data` beside it."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".data")


def exported_files(model_path: str | os.PathLike) -> list[Path]:
    """Every file of an export, model first: the model, its weights file if it has one, `.json`, `.md`.
    These are the files to hand over; together (usually the model file alone) they run anywhere."""
    model_path = Path(model_path)
    extras = [weights_file(model_path), model_path.with_suffix(model_path.suffix + ".json"),
              model_path.with_suffix(".md")]
    return [model_path] + [p for p in extras if p.is_file()]


def export(tm: TrainedModel, fmt: str, out: str | os.PathLike) -> Path:
    """Write `out` (atomically) plus `out.json` (classes, preprocessing) and a model card `.md`.

    The model file is complete on its own: ONNX weights are inside the .onnx unless the model is over
    protobuf's 2 GB limit, and then they are in `out.data` (see weights_file; exported_files lists both).
    """
    if fmt not in FORMATS:
        raise FewshotError(f"unknown export format {fmt!r}; choose torchscript or onnx")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    crop = tm.config.preprocessing.crop
    net = WithSoftmax(tm.model.cpu().eval()).eval()
    example = torch.rand(2, 3, crop, crop)
    # atomic: written under its final name inside a private temp folder beside `out`, then moved
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        staged = Path(tmp) / out.name
        _stage(fmt, net, example, staged)
        data, old_data = weights_file(staged), weights_file(out)
        if data.exists():  # weights first, so the model never names a file that is not there yet
            os.replace(data, old_data)
        elif fmt == "onnx":
            old_data.unlink(missing_ok=True)  # an earlier, bigger export's weights would only mislead
        os.replace(staged, out)
    _sidecar(tm, out, fmt)
    return out


def export_files(tm: TrainedModel, fmt: str, out: str | os.PathLike) -> list[Path]:
    """export(), returning every file to hand over (exported_files), model first."""
    return exported_files(export(tm, fmt, out))
