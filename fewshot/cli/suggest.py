"""The `suggest` command: python -m fewshot suggest POOL --labels labels.csv [--check check.csv]
[--accepted accepted.csv] [--ask N] [--arch A] [--json].

POOL is a folder of photos in any layout; labels.csv has the header path,label with paths relative to POOL
(a missing or empty file means no labels yet): the labels a person gave, the evidence the suspects rest on.
check.csv (same form) holds a person's labels of photos drawn at random from POOL: the only evidence for the
accept threshold and its precision (the photos a person chose or was asked about are no fair sample), and never
learned by the heads that suggest. accepted.csv holds labels that came from accepted suggestions: not suggested
or asked again, never evidence. With --json the last line printed is one JSON object
(fewshot.labelling.Suggestions.to_dict): accept_threshold is null, with threshold_reason and threshold_note,
where the labels cannot support one, and each suspect says how sure it is ("strength": "likely" or "possible").
"""
from __future__ import annotations

import argparse
import json

from ..backbones import DEFAULT_ARCH
from ..config import ARCHS

__all__ = ["add_suggest_parser", "describe"]


def _cmd_suggest(a: argparse.Namespace) -> int:
    """Run `suggest` on a folder and print what it found (text, or one JSON line with --json)."""
    from ..labelling import pool_features, read_labels, suggest  # pandas (through data): loaded by the command

    pool = pool_features(a.pool, arch=a.arch, weights_file=a.weights, device=a.device)
    check = read_labels(a.check, pool) if a.check else {}
    res = suggest(pool, {**read_labels(a.labels, pool), **check}, ask=a.ask, seed=a.seed,
                  accepted=read_labels(a.accepted, pool) if a.accepted else None, held_out=check)
    if a.json:
        print(json.dumps(res.to_dict(), ensure_ascii=False))
        return 0
    print("\n".join(describe(res)))
    return 0


def describe(res) -> list[str]:
    """The text lines for a Suggestions: what to ask, what would be accepted and how sure, what looks wrong."""
    lines = [f"ask next: {p}" for p in res.ask_next]
    if res.suggestions and res.threshold_or_none() is None:
        lines.append(f"No suggestion is accepted by default. {res.threshold_note}")
    elif res.suggestions:
        accepted = res.accepted()
        lines.append(f"{len(accepted)} of {len(res.suggestions)} suggestions at or above {res.accept_threshold:.2f} "
                     f"(at least {res.accept_precision:.0%} right, {res.level:.0%} sure, from your "
                     f"{res.evidence} check photos):")
        lines += [f"  {s['path']}: {s['label']} {s['confidence']:.2f}" for s in accepted]
    lines += [f"suspect ({s['strength']}): {s['path']} is labelled {s['given']}, looks like {s['suggested']} "
              f"(chance it is wrong {s['wrong_chance']:.0%})" for s in res.suspects]
    lines += [f"accepted suggestion in doubt ({s['strength']}): {s['path']} was accepted as {s['given']}, now "
              f"looks like {s['suggested']}" for s in res.doubted_accepted]
    lines += [f"skipped {s['path']}: {s['reason']}" for s in res.skipped]
    return lines


def add_suggest_parser(sub) -> None:
    """The `suggest` subcommand's arguments."""
    s = sub.add_parser("suggest", help="label with the model's help: what to label next, suggested classes, "
                                        "labels that look wrong")
    s.add_argument("pool", help="a folder of photos, in any layout")
    s.add_argument("--labels", help="CSV with the header path,label (paths relative to POOL): the labels a person "
                                    "gave; missing = none yet")
    s.add_argument("--check", help="CSV like --labels: your labels of photos drawn at random from POOL, the only "
                                   "evidence for the accept threshold (never learned by the suggesting heads)")
    s.add_argument("--accepted", help="CSV like --labels: labels that came from accepted suggestions (not "
                                      "evidence for the threshold or the suspects)")
    s.add_argument("--ask", type=int, default=10, help="how many photos to ask for next (0 allowed)")
    s.add_argument("--arch", default=DEFAULT_ARCH, choices=ARCHS)
    s.add_argument("--weights", help="a local torchvision weights file for the backbone")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_suggest)
