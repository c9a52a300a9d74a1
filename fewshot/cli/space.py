"""`python -m fewshot export MODEL --format space --out DIR` and `python -m fewshot publish MODEL --space USER/NAME`.

The token for publishing comes from HF_TOKEN, else from `hf auth login`'s saved token, else it is asked for
without echo; it is never a command-line argument (shells keep those in their history and `ps` shows them),
and never printed. With --json the last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from ..errors import FewshotError

__all__ = ["add_publish_parser", "cmd_export_space"]


def _emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if as_json else text)


def cmd_export_space(a: argparse.Namespace) -> int:
    """The Space folder for a saved model (called by `export --format space`)."""
    # torch (through bundle and space): loaded by the command, not by the parser
    from ..bundle import load_bundle
    from ..space import build_space, space_files

    folder = build_space(load_bundle(a.model), a.out)
    files = space_files(folder)
    _emit({"out": str(folder), "files": [str(f) for f in files]}, a.json,
          f"wrote the Space folder {folder} ({', '.join(f.name for f in files)}); try it with "
          f"`cd {folder} && pip install -r requirements.txt && python app.py`, or publish it with "
          f"`python -m fewshot publish {a.model} --space USER/NAME`")
    return 0


def _hub_token() -> str:
    """HF_TOKEN, else the token `hf auth login` saved, else asked for (no echo) when someone is at a terminal."""
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        try:
            from huggingface_hub import get_token  # loads its HTTP stack (0.2 s): only to publish
            token = (get_token() or "").strip()
        except Exception:  # noqa: BLE001 - an unreadable saved token is the same as none
            token = ""
    if not token and sys.stdin.isatty():
        token = getpass.getpass("Hugging Face token with write access (not shown, not stored): ").strip()
    return token


def _cmd_publish(a: argparse.Namespace) -> int:
    """Create the Space (or reuse it) and upload the model's Space folder."""
    # torch (through bundle and hub): loaded by the command, not by the parser
    from ..bundle import load_bundle
    from ..hub import publish_space

    tm = load_bundle(a.model)
    token = _hub_token()
    if not token:
        raise FewshotError("publishing needs a Hugging Face token with write access: set HF_TOKEN, or run "
                           "`hf auth login` once (https://huggingface.co/settings/tokens)")
    url = publish_space(tm, a.space, token, private=a.private)
    _emit({"space": a.space, "url": url, "private": bool(a.private)}, a.json,
          f"published {a.space}: {url} (the Space builds for a minute or two before it answers)")
    return 0


def add_publish_parser(sub) -> None:
    """The `publish` command, on the CLI's subparsers."""
    s = sub.add_parser("publish", help="publish a saved model as a Hugging Face Space (token: HF_TOKEN or "
                                       "`hf auth login`, else asked for)")
    s.add_argument("model")
    s.add_argument("--space", required=True, metavar="USER/NAME", help="the Space to create or update")
    s.add_argument("--private", action="store_true", help="only you (and your organisation) can see it")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_publish)
