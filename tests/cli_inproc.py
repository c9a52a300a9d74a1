"""`python -m fewshot ARGS` run inside the test process: fewshot.cli.main(ARGS), its stdout and stderr captured.

A new Python per call costs a torch import (5-15 s on a busy CI machine); most command line tests check what a
command prints, writes and returns, not the process around it, so they call the entry point here. The answer is
a subprocess.CompletedProcess as `subprocess.run(..., capture_output=True, text=True)` gives: returncode is
what `sys.exit(main())` in fewshot/__main__.py would exit with (argparse's SystemExit included), stdout and
stderr what the process would have printed. `env` is set for the call only (as the subprocess's environment
was) and the call runs in `cwd` (the repository root, as the subprocesses did).

Tests about the process itself (its real exit status, stdout of the real entry point, modules a fresh Python
loads, signals) still start one: see the `subprocess.run([sys.executable, "-m", "fewshot", ...])` calls kept in
tests/test_cli.py, tests/test_space.py, tests/test_live_training.py, tests/test_demo_server.py and others.
"""
from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    from fewshot.cli import main
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in (env or {}).items():
            mp.setenv(k, str(v))
        mp.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: --help (0), a usage error (2)
                code = exc.code
        if code is None:
            code = 0
        elif not isinstance(code, int):  # sys.exit("message"): Python prints it and exits with 1
            err.write(f"{code}\n")
            code = 1
    return subprocess.CompletedProcess(["python", "-m", "fewshot", *argv], code, out.getvalue(), err.getvalue())
