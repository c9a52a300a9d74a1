"""fewshot in the browser: from a few folders of photos to an image classifier you can trust and take away.

    python app.py [--host H] [--port P] [--share] [--auth user:pass] [--many-users]

Env vars do the same: FEWSHOT_HOST, FEWSHOT_PORT, FEWSHOT_SHARE=1, FEWSHOT_AUTH=user:pass, FEWSHOT_MANY_USERS=1; FEWSHOT_TRAIN_SLOTS
is how many trainings may run at once (default 1 per machine); FEWSHOT_MAX_UPLOAD_MB (default 500) is the largest
upload, FEWSHOT_UPLOAD_MB_PER_MIN and FEWSHOT_UPLOADS_PER_MIN what one client address may upload per minute. This
file parses, builds and launches; the page is fewshot/ui/, the work is the fewshot engine.

Serving one person (listening on this machine only, no --auth, no --share, not a Space, no --many-users) the
page works in the command line's projects (`python -m fewshot project ...`, same FEWSHOT_DATA_DIR); otherwise
each browser's or logged-in user's projects are its own.
"""
from __future__ import annotations

import argparse
import functools
import os
import signal
import sys

try:  # Hugging Face's package, present on Spaces: ZeroGPU needs it imported before torch (which fewshot imports)
    import spaces  # noqa: F401
except ImportError:
    pass

import gradio as gr

from fewshot import gpu_jobs as J
from fewshot.ui import Backends, ProjectOwners, build_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def zero_gpu():
    """spaces.GPU on a ZeroGPU Space; None anywhere else, where every job runs in this process as it is."""
    if not os.environ.get("SPACE_ID"):
        return None
    try:
        import spaces
    except ImportError:
        return None
    on = getattr(getattr(getattr(spaces, "config", None), "Config", None), "zero_gpu", None)
    if on is None:  # a `spaces` without that setting: ask the variable it reads
        on = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
    return spaces.GPU if on else None


def gpu_task(fn, duration_fn, gpu=None):
    """`fn` under gpu(duration=duration_fn), i.e. spaces.GPU asking for the seconds its job needs; else `fn`."""
    return gpu(duration=duration_fn)(fn) if gpu is not None else fn


def zero_gpu_backends(gpu) -> Backends | None:
    """Training and prediction as GPU jobs sized from their work (fewshot/gpu_jobs.py), and a training that
    would not fit the GPU time one call may use refused before it asks for any; None without `gpu`."""
    if gpu is None:
        return None

    def fit_check(dataset, cfg) -> None:
        fit = J.training_fit(dataset, cfg)
        if not fit.fits:
            raise gr.Error(fit.message, duration=30, title="Too long for this Space's GPU")

    return Backends(trainer=J.across_processes(gpu_task(J.train_job, J.train_seconds, gpu)),
                    predictor=functools.partial(J.RemotePredictor, job=gpu_task(J.predict_job, J.predict_seconds, gpu)),
                    fit_check=fit_check)


BACKENDS = zero_gpu_backends(zero_gpu())  # at import: ZeroGPU wants its functions decorated before the app starts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags, each defaulting to its FEWSHOT_* environment variable."""
    env = os.environ
    default_host = env.get("FEWSHOT_HOST") or ("0.0.0.0" if env.get("SPACE_ID") else "127.0.0.1")
    p = argparse.ArgumentParser(description="fewshot: train an image classifier from a few photos, in the browser")
    p.add_argument("--host", default=default_host, help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=int(env.get("FEWSHOT_PORT", "7860")), help="port (default %(default)s)")
    p.add_argument("--share", action="store_true", default=env.get("FEWSHOT_SHARE", "").lower() in ("1", "true", "yes"),
                   help="also make a temporary public link (gradio.live)")
    p.add_argument("--auth", action="append", metavar="USER:PASS",
                   help="ask for this user name and password (give it again for each further user)")
    p.add_argument("--many-users", action="store_true",
                   default=env.get("FEWSHOT_MANY_USERS", "").lower() in ("1", "true", "yes"),
                   help="several people use this server although it listens on this machine only (e.g. behind a "
                        "reverse proxy): each browser keeps its own projects")
    args = p.parse_args(argv)
    if args.auth is None:
        args.auth = env.get("FEWSHOT_AUTH") or None
    elif len(args.auth) == 1:
        args.auth = args.auth[0]  # one user: a string, as FEWSHOT_AUTH gives it
    if any(":" not in a for a in _users(args.auth)):
        p.error("--auth must look like user:password")
    if args.share and not args.auth:
        print("WARNING: --share makes a PUBLIC link: anyone who has it can use this app and this machine. "
              "Add --auth user:password (or set FEWSHOT_AUTH).", file=sys.stderr)
    return args


def project_owners(args: argparse.Namespace) -> ProjectOwners:
    """One person at their own machine (loopback, no --auth, no --share, not a Space, no --many-users, no trusted
    proxy in front): the page and the command line share the "local" projects. Anything else may be reached by
    several people, whose projects must stay apart, so that is the default whenever in doubt."""
    env = os.environ
    behind_proxy = bool(env.get("FEWSHOT_TRUSTED_PROXIES", "").strip())  # others reach it through the proxy
    one = (args.host.strip().strip("[]").lower() in LOOPBACK and not args.auth and not args.share
           and not env.get("SPACE_ID") and not args.many_users and not behind_proxy)
    return ProjectOwners(one_person=one)


def _users(auth: str | list[str] | None) -> list[str]:
    return [auth] if isinstance(auth, str) else list(auth or [])


def _stop_on_sigterm() -> None:
    """`kill`, `docker stop` and a Space's restart send SIGTERM: end the way Ctrl+C does, so that launch()
    returns and the sessions' files are deleted (Python's default for SIGTERM exits on the spot)."""
    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM (e.g. from `timeout`) must not cut
        raise KeyboardInterrupt                        # the shutdown, and its clean-up, short
    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (e.g. imported by a test): leave it
        pass


def main(argv: list[str] | None = None) -> None:
    """Parse, build, launch; when the server stops (Ctrl+C, SIGTERM) every session's files go."""
    args = parse_args(argv)
    users = [tuple(a.split(":", 1)) for a in _users(args.auth)]
    auth = (users[0] if len(users) == 1 else users) if users else None  # each user's projects are their own
    # the page, its routes (thumbnails, demo links) and the Guard (fewshot/ui/app.py); whose projects a tab sees
    app = build_app(BACKENDS, owners=project_owners(args))
    _stop_on_sigterm()
    try:
        app.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth)
    finally:
        app.close()


if __name__ == "__main__":
    main()
