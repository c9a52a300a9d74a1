"""Command line: python -m fewshot inspect|train|evaluate|predict|export|publish|weights|project|serve ...

Exit codes: 0 ok, 2 bad input (the message names the problem), 1 anything else.
With --json, the last line printed is one JSON object.

- commands.py: inspect, train, evaluate, predict, export, weights (photo folders and model files);
- project.py: `project ...` and `train --project NAME`;
- suggest.py: `suggest` (labelling with the model's help, on a folder);
- serve.py: `serve` (a demo page of its own); space.py: `export --format space` and `publish`;
- console.py: how results are printed (text, or one JSON line).

Building the parser loads none of torch or pandas: each command imports what it runs when it runs.
"""
from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import FewshotError
from ..images import UnreadableImage
from .commands import add_model_parsers
from .project import add_project_parser
from .serve import add_serve_parser
from .space import add_publish_parser
from .suggest import add_suggest_parser

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one subcommand per job, in the order --help lists them."""
    p = argparse.ArgumentParser(prog="python -m fewshot", description="Few-shot image classifiers from a few photos.")
    p.add_argument("--version", action="version", version=f"fewshot {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    for add_parser in (add_model_parsers, add_project_parser, add_suggest_parser, add_serve_parser,
                       add_publish_parser):
        add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (FewshotError, UnreadableImage, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unexpected: still one clear line, exit 1
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
