"""A real Label Studio on loopback for tests/test_labelstudio_roundtrip.py, from a venv of its own.

Where it is: $FEWSHOT_LABEL_STUDIO (the `label-studio` program), else .ci-cache/lsvenv/bin/label-studio in the
repository (what .ci/run installs, in the background, pinned to 1.23.2), else /work/lsvenv/bin/label-studio.

Its first start on an empty data folder runs every database migration (1.5-3 minutes on two busy cores); a
restart takes 15-30 s. So the first start is made once, into .ci-cache/lsdata-template (gitignored), and every
test run starts on a copy of it. `python tests/labelstudio_server.py --prime` makes that template (.ci/run calls it
right after installing).

Label Studio is started with local-files serving on (LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED and
LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT), a user with a legacy API token (`Authorization: Token ...`, which needs
--enable-legacy-api-token on the first start), no version check and no analytics; `--internal-host 127.0.0.1` is
its bind address (its `--host` is only a URL prefix). tests/fixtures/labelstudio/README.md has the details.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CI_VENV = ROOT / ".ci-cache" / "lsvenv"
TOKEN = "fewshotroundtriptoken"
USER, PASSWORD = "fewshot@example.com", "fewshot-test-1"
READY = ".fewshot-ready"  # written in a template once its first start has finished


def program() -> Path | None:
    """The `label-studio` program to test against, or None when none is installed."""
    named = os.environ.get("FEWSHOT_LABEL_STUDIO")
    for candidate in ([Path(named)] if named else []) + [CI_VENV / "bin" / "label-studio",
                                                          Path("/work/lsvenv/bin/label-studio")]:
        if candidate.is_file():
            return candidate
    return None


def wait_for_ci_install(limit_s: float = 600) -> str | None:
    """While .ci/run's background install (.ci/labelstudio, its process id in .ci-cache/lsvenv.installing) runs,
    wait for it; what went wrong (with its log's tail) when it failed or outlasted `limit_s`, else None."""
    flag, start = CI_VENV.with_name("lsvenv.installing"), time.monotonic()
    while _alive(flag) and time.monotonic() - start < limit_s:
        time.sleep(2)
    running, failed = _alive(flag), CI_VENV.with_name("lsvenv.failed").exists()
    if not (running or failed):
        return None
    log = CI_VENV.with_name("labelstudio-install.log")
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    return f"the Label Studio install of .ci/run {'is still running' if running else 'failed'}; its log ends:\n{tail}"


def _alive(flag: Path) -> bool:
    try:
        os.kill(int(flag.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Label Studio process started here, its URL, and a session that sends the token."""

    def __init__(self, exe: Path, data: Path, document_root: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
               "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(document_root), "LATEST_VERSION_CHECK": "false",
               "COLLECT_ANALYTICS": "false", "HOME": str(data.parent / "home"), "PYTHONUNBUFFERED": "1"}
        Path(env["HOME"]).mkdir(exist_ok=True)  # Label Studio also makes folders under ~/.local/share
        self.log = log
        cmd = [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(self.port),
               "--data-dir", str(data), "--username", USER, "--password", PASSWORD, "--user-token", TOKEN,
               "--enable-legacy-api-token"]
        with open(log, "wb") as out:  # its own process group, so that stop() ends it and only it
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {TOKEN}"

    def wait_up(self, limit_s: float) -> float:
        """Seconds until /health answered 200; RuntimeError with the log's tail when it did not in time."""
        start = time.monotonic()
        while time.monotonic() - start < limit_s:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return time.monotonic() - start
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Label Studio did not answer in {limit_s:.0f} s; its log ends:\n"
                           f"{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def api(self, method: str, path: str, raw: bool = False, **kw):
        """A call with the token: the answer's JSON, or with `raw` the answer itself (RuntimeError naming the call
        and the answer when it is not 2xx)."""
        r = self.http.request(method, self.url + path, timeout=120, **kw)
        if not r.ok:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:1000]}")
        return r if raw else r.json()


def prime(exe: Path, limit_s: float = 600) -> tuple[Path, float | None]:
    """The template data folder (.ci-cache/lsdata-template), made by a first start of `exe` when missing or made
    by another Label Studio; (folder, seconds that first start took, None when it was ready)."""
    template = ROOT / ".ci-cache" / "lsdata-template"
    if (template / READY).is_file() and (template / READY).read_text().strip() == str(exe):
        return template, None
    shutil.rmtree(template, ignore_errors=True)
    (template / "root").mkdir(parents=True)
    server = Server(exe, template / "data", template / "root", template / "first-start.log")
    took = server.wait_up(limit_s)
    server.stop()
    (template / READY).write_text(f"{exe}\n")
    return template, took


def start(exe: Path, folder: Path, document_root: Path, limit_s: float = 300) -> tuple[Server, float]:
    """Label Studio on a copy of the template's data under `folder`, serving local files from `document_root`."""
    template, _ = prime(exe)
    shutil.copytree(template / "data", folder / "data")
    server = Server(exe, folder / "data", document_root, folder / "labelstudio.log")
    return server, server.wait_up(limit_s)


if __name__ == "__main__":
    if sys.argv[1:] != ["--prime"]:
        sys.exit("usage: python tests/labelstudio_server.py --prime")
    exe = program()
    if exe is None:
        sys.exit("no Label Studio found ($FEWSHOT_LABEL_STUDIO, .ci-cache/lsvenv)")
    where, took = prime(exe)
    print(f"Label Studio template: {where} ({'ready' if took is None else f'first start {took:.0f} s'})")
