"""Shared plumbing for the benchmarks: isolated cases in subprocesses, weights, tables, JSON.

Each case runs in a fresh Python process so its peak memory is its own and no warm state
(page cache aside, which every case gets: the photos are read once before timing) leaks
from one case into the next. A case prints one JSON line that the parent collects.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the repo; FEWSHOT_BENCH_DATA / FEWSHOT_BENCH_WEIGHTS point elsewhere (a GPU machine)
DATA = Path(os.environ.get("FEWSHOT_BENCH_DATA") or ROOT.parent / "shared" / "data")
WEIGHTS = Path(os.environ.get("FEWSHOT_BENCH_WEIGHTS")
               or ROOT.parent / "shared" / "weights" / "mobilenet_v2-b0353104.pth")
RESULTS = ROOT / "bench" / "results"
ARCH = "mobilenet_v2"
MARK = "@@BENCH@@"


def load() -> float:
    return round(os.getloadavg()[0], 2)


def machine() -> dict[str, Any]:
    """What the figures were measured on (the load average matters on a shared machine)."""
    import torch
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "platform": platform.platform(), "load_at_start": load()}
    try:
        info["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
        info["avx512_bf16"] = "avx512_bf16" in flags
        info["amx"] = any(f.startswith("amx") for f in flags)
    except (OSError, StopIteration):
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def need_data(*names: str) -> None:
    missing = [n for n in names if not (DATA / n).is_dir()]
    if missing or not WEIGHTS.is_file():
        sys.exit(f"benchmark data missing: {', '.join(missing) or WEIGHTS} (expected ../shared beside the repo)")


def make_env(cache_dir: Path, torch_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TORCH_HOME": str(torch_home), "FEWSHOT_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1"})
    # fewshot sets this itself when imported; the baselines get it too, so they are not slowed by
    # spinning OpenMP workers on a shared machine and only the engine differs
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.update(extra or {})
    return env


class Workspace:
    """A temp TORCH_HOME holding a copy of the MobileNetV2 weights, and a fresh feature cache."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fewshot-bench-"))
        self.torch_home = self.tmp / "torch"
        ckpt = self.torch_home / "hub" / "checkpoints"
        ckpt.mkdir(parents=True)
        shutil.copy(WEIGHTS, ckpt / WEIGHTS.name)
        self.cache = self.tmp / "cache"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return make_env(self.cache, self.torch_home, extra)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def warm_page_cache(*folders: Path) -> None:
    """Read every file once so no case pays the first disk read and the others do not."""
    for folder in folders:
        for p in folder.rglob("*"):
            if p.is_file():
                p.read_bytes()


def run_case(ws: Workspace, name: str, timeout: float = 900, env: dict[str, str] | None = None,
             **kwargs: Any) -> dict[str, Any]:
    """Run bench/_cases.py NAME in a fresh process; returns its JSON result (plus peak RSS)."""
    cmd = [sys.executable, str(ROOT / "bench" / "_cases.py"), name, json.dumps(kwargs)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=ws.env(env), capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    lines = [l for l in proc.stdout.splitlines() if l.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"benchmark case {name} failed (exit {proc.returncode})")
    out = json.loads(lines[-1][len(MARK):])
    out["process_wall_s"] = round(wall, 2)
    print(f"  . {name} {json.dumps(kwargs)}: {out.get('seconds', '')} s, load {load()}", flush=True)
    return out


def emit(result: dict[str, Any]) -> None:
    """Called inside a case: report the result and this process's peak resident memory."""
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["load_at_end"] = load()
    print(MARK + json.dumps(result), flush=True)


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) for c in header]] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))
    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def check(label: str, ok: bool, detail: str) -> dict[str, Any]:
    print(f"  [{'PASS' if ok else 'MISS'}] {label}: {detail}")
    return {"target": label, "met": bool(ok), "detail": detail}
