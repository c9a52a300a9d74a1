"""The `suggest` command: python -m fewshot suggest POOL --labels labels.csv [--ask N] [--arch A] [--json].

POOL is a folder of photos in any layout; labels.csv has the header path,label with paths relative to POOL
(a missing or empty file means no labels yet). With --json the last line printed is one JSON object
(fewshot.labelling.Suggestions.to_dict).
"""
from __future__ import annotations

import argparse
import json

from .config import ARCHS, TrainConfig


def cmd_suggest(a: argparse.Namespace) -> int:
    from .labelling import pool_features, read_labels, suggest

    pool = pool_features(a.pool, arch=a.arch, weights_file=a.weights, device=a.device)
    res = suggest(pool, read_labels(a.labels, pool), ask=a.ask, seed=a.seed)
    if a.json:
        print(json.dumps(res.to_dict(), ensure_ascii=False))
        return 0
    lines = [f"ask next: {p}" for p in res.ask_next]
    accepted = res.accepted()
    if res.suggestions:
        estimate = "not known yet" if res.accept_precision is None else f"{res.accept_precision:.0%}"
        lines.append(f"{len(accepted)} of {len(res.suggestions)} suggestions at or above {res.accept_threshold:.2f} "
                     f"(estimated right {estimate}):")
        lines += [f"  {s['path']}: {s['label']} {s['confidence']:.2f}" for s in accepted]
    lines += [f"suspect: {s['path']} is labelled {s['given']}, looks like {s['suggested']} ({s['score']:.2f})"
              for s in res.suspects]
    lines += [f"skipped {s['path']}: {s['reason']}" for s in res.skipped]
    print("\n".join(lines))
    return 0


def add_suggest_parser(sub) -> None:
    s = sub.add_parser("suggest", help="label with the model's help: what to label next, suggested classes, "
                                        "labels that look wrong")
    s.add_argument("pool", help="a folder of photos, in any layout")
    s.add_argument("--labels", help="CSV with the header path,label (paths relative to POOL); missing = none yet")
    s.add_argument("--ask", type=int, default=10, help="how many photos to ask for next (0 allowed)")
    s.add_argument("--arch", default=TrainConfig().arch, choices=ARCHS)
    s.add_argument("--weights", help="a local torchvision weights file for the backbone")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_suggest)
