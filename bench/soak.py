"""A long-running server, soaked: one `python app.py`, N sessions in turn, memory and disk after each.

    python bench/soak.py [--sessions 30] [--photos 6] [--size 32] [--scratch] [--auth]

Each session (a gradio_client Client, the way an API user or a browser tab talks to the app) loads a zip,
trains three times (stage head, top, all: the whole network), predicts, exports the bundle and closes.
After each session closes, the table prints the server's resident memory (VmRSS of the app's process)
and the bytes left in the session folder (FEWSHOT_SESSION_DIR), Gradio's upload folder (GRADIO_TEMP_DIR)
and the server's temp folder (its own TMPDIR). Targets (issue 13): RSS after the 8th whole-network
training at most 300 MB above that after the 2nd; after all sessions close, at most 20 MB left on disk.

Uses MobileNetV2 with torchvision's ImageNet weights from TORCH_HOME (.ci-cache/torch by default), or
random weights with --scratch. Writes bench/results/soak.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest_app import launch_app  # noqa: E402  (the same launcher the tests use)

COLOURS = [(220, 40, 40), (40, 160, 60), (40, 70, 220)]


def make_zip(out: Path, photos: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(out, "w") as zf:
        for k, cls in enumerate(["red", "green", "blue"]):
            for i in range(photos):
                arr = np.clip(np.array(COLOURS[k], np.float32) + rng.normal(0, 25, (size, size, 3)), 0, 255)
                p = out.parent / f"{cls}-{i}.png"
                Image.fromarray(arr.astype(np.uint8)).save(p)
                zf.write(p, f"soak/{cls}/{i}.png")
                p.unlink()
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def du(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) if root.exists() else 0


def server_pid(port: int) -> int:
    """The process listening on `port` (the app), found through /proc/net/tcp and its sockets."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].split(":")[1], 16) == port and f[3] == "0A":
                inodes.add(f[9])
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(d.name)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on port {port}")


def session(url: str, z: Path, args) -> dict:
    from gradio_client import Client, handle_file
    auth = ("soak", "soak") if args.auth else None
    c = Client(url, verbose=False, auth=auth)
    t0 = time.time()
    summary, *_ = c.predict(handle_file(str(z)), api_name="/load_zip")
    assert "3 classes" in summary, summary
    common = dict(backbone="mobilenet_v2", pretrained=not args.scratch, epochs=args.epochs, learning_rate=0.001,
                  batch_size=8)
    for stage in ("head", "top", "all"):
        final = c.predict(**common, stage=stage, api_name="/train")
        assert "Done in" in final[0], final[0]
    picture = Image.fromarray(np.full((args.size, args.size, 3), COLOURS[0], np.uint8))
    pic = Path(tempfile.gettempdir()) / "soak-red.png"
    picture.save(pic)
    out = c.predict(handle_file(str(pic)), False, api_name="/predict")
    assert out["confidences"], out
    files = c.predict("bundle", api_name="/export")
    assert any(str(f).endswith(".safetensors") for f in (files if isinstance(files, list) else [files]))
    c.close()
    return {"seconds": round(time.time() - t0, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--photos", type=int, default=6, help="photos per class (3 classes, half for validation)")
    p.add_argument("--size", type=int, default=32, help="photo side in pixels")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--scratch", action="store_true", help="random weights instead of the ImageNet file")
    p.add_argument("--auth", action="store_true", help="launch with --auth soak:soak")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to wait after a close before measuring")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    args = p.parse_args()

    base = Path(tempfile.mkdtemp(prefix="fewshot-soak-"))
    tmp = base / "tmp"
    tmp.mkdir()
    z = make_zip(base / "soak.zip", args.photos, args.size)
    torch_home = os.environ.get("TORCH_HOME") or str(ROOT / ".ci-cache" / "torch")
    extra = dict(TORCH_HOME=torch_home, TMPDIR=str(tmp), GRADIO_HEARTBEAT_INTERVAL="1")
    launch = ("--auth", "soak:soak") if args.auth else ()
    rows = []
    gen = launch_app(base, *launch, **extra)
    url, _log = next(gen)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    pid = server_pid(port)
    try:
        start = rss_mb(pid)
        print(f"server pid {pid}, RSS at start {start:.0f} MB; folders under {base}", flush=True)
        print(f"{'session':>7} {'RSS MB':>7} {'sessions MB':>11} {'uploads MB':>10} {'tmp MB':>7} {'s':>5}", flush=True)
        for i in range(1, args.sessions + 1):
            info = session(url, z, args)
            time.sleep(args.settle)
            row = {"session": i, "rss_mb": round(rss_mb(pid), 1), "sessions_mb": round(du(base / "sessions") / 1e6, 2),
                   "uploads_mb": round(du(base / "uploads") / 1e6, 2), "tmp_mb": round(du(tmp) / 1e6, 2), **info}
            rows.append(row)
            print(f"{i:>7} {row['rss_mb']:>7.0f} {row['sessions_mb']:>11.2f} {row['uploads_mb']:>10.2f} "
                  f"{row['tmp_mb']:>7.2f} {row['seconds']:>5.0f}", flush=True)
    finally:
        try:
            next(gen)
        except StopIteration:
            pass
    left = {k: du(base / k) for k in ("sessions", "uploads", "tmp")}
    result = {"start_rss_mb": round(start, 1), "rows": rows, "after_shutdown_bytes": left, "args": vars(args)}
    if len(rows) >= 8:
        result["growth_2_to_8_mb"] = round(rows[7]["rss_mb"] - rows[1]["rss_mb"], 1)
    if rows:
        last = rows[-1]
        result["disk_left_mb"] = round(last["sessions_mb"] + last["uploads_mb"] + last["tmp_mb"], 2)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
