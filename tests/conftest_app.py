"""Fixtures for tests against the launched app: `python app.py` in a subprocess, and a Chromium browser.

Imported by tests/conftest.py (so one server serves the gradio_client and the browser tests).
The server gets its own TORCH_HOME (MobileNetV2 weights only, offline), feature cache,
session folder and Gradio upload folder, all under pytest's tmp dir.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # a synthetic webcam (a moving test pattern), allowed without a permission prompt
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
STARTUP_S = 180  # importing torch and gradio on a busy 2-core machine can take a minute


@dataclass
class AppServer:
    url: str
    sessions: Path  # FEWSHOT_SESSION_DIR: one folder per browser session
    uploads: Path  # GRADIO_TEMP_DIR
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + STARTUP_S
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"app.py did not answer at {url} within {STARTUP_S} s:\n{log.read_text()[-3000:]}")


def launch_app(base: Path, *args: str, **env_extra: str):
    """`python app.py --port N *args` with its own folders under `base`; yields (url, process, log)."""
    port = _free_port()
    env = {**os.environ, "FEWSHOT_OFFLINE": "1", "FEWSHOT_CACHE_DIR": str(base / "features"),
           "FEWSHOT_SESSION_DIR": str(base / "sessions"), "GRADIO_TEMP_DIR": str(base / "uploads"),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", **env_extra}
    env.pop("FEWSHOT_HOST", None)
    log = base / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, proc, log)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, pretrained_home) -> AppServer:
    """The real app, started the way users start it (python app.py --port N), with two training slots
    so that two sessions really train at the same time."""
    base = tmp_path_factory.mktemp("app")
    for url, log in launch_app(base, TORCH_HOME=str(pretrained_home), FEWSHOT_TRAIN_SLOTS="2"):
        yield AppServer(url, base / "sessions", base / "uploads", log)


@pytest.fixture(scope="session")
def browser():
    """Chromium from the system (apt-get install chromium); never downloaded by Playwright."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
