"""The `serve` command: python -m fewshot serve model.safetensors [--port P] [--host H] [--share] [--auth U:P].

The demo page of a demo link (fewshot/ui/demo.py) for one saved model, with no project: a picture in (upload,
paste, the phone's camera), the top 3 classes out; its API is /predict. Feedback is off: without a project there
is nowhere to review a visitor's photo, and a stranger's uploads are not kept on disk. The page lives in
fewshot/ui (it needs gradio); this module only reads the flags.
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_serve_parser"]


def _cmd_serve(a: argparse.Namespace) -> int:
    if a.auth and ":" not in a.auth:
        print("error: --auth must look like user:password", file=sys.stderr)
        return 2
    if a.share and not a.auth:
        print("note: --share makes a PUBLIC link: anyone who has it can use this model (only predict).",
              file=sys.stderr)
    from ..ui.demo import serve  # gradio is imported only here
    serve(a.model, host=a.host, port=a.port, share=a.share,
          auth=tuple(a.auth.split(":", 1)) if a.auth else None)
    return 0


def add_serve_parser(sub) -> None:
    env = os.environ
    s = sub.add_parser("serve", help="a predict-only demo page (and /predict API) for one saved model")
    s.add_argument("model", help="a .safetensors model saved by fewshot")
    s.add_argument("--host", default=env.get("FEWSHOT_HOST") or ("0.0.0.0" if env.get("SPACE_ID") else "127.0.0.1"),
                   help="address to listen on (default %(default)s)")
    s.add_argument("--port", type=int, default=int(env.get("FEWSHOT_PORT", "7860")), help="port (default %(default)s)")
    s.add_argument("--share", action="store_true", help="also make a temporary public link (gradio.live)")
    s.add_argument("--auth", metavar="USER:PASS", default=env.get("FEWSHOT_AUTH"),
                   help="ask for this user name and password")
    s.set_defaults(fn=_cmd_serve)
