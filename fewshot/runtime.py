"""Device, mixed precision and seeding: decided once per run."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch


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
    return Runtime(dev, False, torch.bfloat16)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; returns a generator for data order and augmentation."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g
