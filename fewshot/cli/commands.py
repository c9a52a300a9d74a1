"""The commands that work on photo folders and model files: inspect, train, evaluate, predict, export and weights,
each with its parser (`add_model_parsers` adds them, in the order --help lists them).

Each command imports the engine modules it runs inside its function, so that torch and pandas load when a
command needs them, not to build the parser (--help, a usage error).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from ..config import ARCHS, AUGMENTATIONS, STAGE_CHOICES, TrainConfig
from .console import emit as _emit, val_fields, val_text
from .project import cmd_train_project
from .space import cmd_export_space

__all__ = ["add_model_parsers"]


def _cmd_inspect(a: argparse.Namespace) -> int:
    from ..data import load_dataset  # pandas: loaded by the command, not the parser
    ds = load_dataset(a.data, a.val, seed=a.seed)
    rep = ds.report()
    lines = [ds.counts().to_string(index=False)]
    lines += [f"skipped {f}: {r}" for f, r in ds.skipped]
    lines += [f"warning: {n.message}" for n in ds.notices]
    _emit(rep, a.json, "\n".join(lines))
    ds.cleanup()
    return 0


def _config(a: argparse.Namespace) -> TrainConfig:
    return TrainConfig(arch=a.arch, stage=a.stage, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size, seed=a.seed,
                       augmentation=a.augmentation, label_smoothing=a.label_smoothing, balanced_loss=a.balanced,
                       early_stop=a.early_stop, pretrained=not a.scratch, weights_file=a.weights)


def _cmd_train(a: argparse.Namespace) -> int:
    # torch and pandas: loaded by the command, not the parser
    from ..bundle import save_bundle
    from ..check_set import measured
    from ..data import load_dataset
    from ..distributed import is_distributed, rank
    from ..distributed import train as train_parallel
    from ..labelling import labelled_groups
    from ..progress import print_events
    from ..train import train

    cfg = _config(a)
    if a.project is not None:  # a saved project's labelled photos; the run is recorded in it
        return cmd_train_project(a, cfg)
    if a.data is None or a.out is None:
        print("error: train needs DATA and --out (or --project NAME)", file=sys.stderr)
        return 2
    source = labelled_groups(a.data, a.labels) if a.labels else a.data  # --labels: a path,label CSV of photos in DATA
    ds = load_dataset(source, a.val, val_fraction=cfg.val_fraction, seed=cfg.seed)
    for f, r in ds.skipped:
        print(f"skipped {f}: {r}", file=sys.stderr)
    for n in ds.notices:
        print(f"warning: {n.message}", file=sys.stderr)
    try:
        run = train_parallel if is_distributed() else train  # torchrun --nproc_per_node N: data-parallel
        done = print_events(run(ds, cfg, device=a.device, feature_cache=not a.no_cache),
                            quiet=a.json and not sys.stderr.isatty())
    finally:
        ds.cleanup()
    if done is None or done.model is None:
        print("No model was produced (training stopped before the first epoch ended).", file=sys.stderr)
        return 1
    if rank() != 0:
        return 0  # every rank holds the same model; rank 0 saves and reports
    save_bundle(done.model, a.out)
    m = measured(done.evaluation.accuracy if done.evaluation else None, len(ds.val))
    out = {"out": str(a.out), "classes": done.model.classes, "best_epoch": done.best_epoch, "reason": done.reason,
           "kept": done.kept_note, "seconds": round(done.seconds, 3), **val_fields(m), "history": done.history}
    kept = done.kept_note or f"kept epoch {done.best_epoch}"
    _emit(out, a.json, f"saved {a.out}: {val_text(m)} ({kept}), {done.seconds:.1f}s")
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    # torch: loaded by the command, not the parser
    from ..bundle import load_bundle
    from ..evaluate import per_class_table, wilson_interval
    from ..predict import evaluate_photos

    ev = evaluate_photos(load_bundle(a.model), a.data, a.device, a.tta)
    rep = ev.report
    low, high = wilson_interval(round(rep.accuracy * ev.images), ev.images)
    text = (f"accuracy {rep.accuracy:.4f} on {ev.images} images (95% interval {low:.2f}-{high:.2f})\n"
            f"{ev.summary()}\n"
            f"{per_class_table(rep.per_class, rep.confusion).to_string(index=False)}\n"
            f"confusion (rows true, columns predicted):\n{rep.confusion.to_string()}")
    _emit(ev.to_dict(), a.json, text)
    return 0


def _cmd_predict(a: argparse.Namespace) -> int:
    # torch: loaded by the command, not the parser
    from ..bundle import load_bundle
    from ..data import images_in
    from ..predict import Predictor

    tm = load_bundle(a.model)
    paths: list[str] = []
    for p in a.images:
        paths += sorted(images_in(p)) if Path(p).is_dir() else [p]
    preds = Predictor(tm, a.device).predict_files(paths, a.top_k, a.tta)
    rows = [{"file": p.name, "label": p.top[0][0] if p.top else "", "confidence": round(p.top[0][1], 4) if p.top else "",
             "top": [{"label": c, "probability": round(v, 6)} for c, v in p.top], "error": p.error or ""} for p in preds]
    if a.csv:
        with open(a.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "label", "confidence", "top_k", "error"])
            for r in rows:
                w.writerow([r["file"], r["label"], r["confidence"],
                            "; ".join(f"{t['label']}={t['probability']:.4f}" for t in r["top"]), r["error"]])
    text = "\n".join(f"{r['file']}: " + (f"error: {r['error']}" if r["error"] else
                     ", ".join(f"{t['label']} {t['probability']:.1%}" for t in r["top"])) for r in rows)
    _emit({"predictions": rows}, a.json, text)
    return 2 if rows and all(r["error"] for r in rows) else 0


def _cmd_export(a: argparse.Namespace) -> int:
    if a.format == "space":  # a folder, not a file: fewshot/cli/space.py
        return cmd_export_space(a)
    # torch: loaded by the command, not the parser
    from ..bundle import load_bundle
    from ..export import export_files

    files = export_files(load_bundle(a.model), a.format, a.out)
    out, extras = files[0], files[1:]
    note = " (keep the two model files together: the model is over 2 GB)" if len(files) > 3 else ""
    _emit({"out": str(out), "files": [str(f) for f in files]}, a.json,
          f"wrote {out} (+ {', '.join(f.name for f in extras)}){note}")
    return 0


def _cmd_weights(a: argparse.Namespace) -> int:
    from ..weights import download, install_from_file, status  # torch: loaded by the command, not the parser

    if a.from_file:
        path = install_from_file(a.from_file, a.arch)
        _emit({"installed": str(path)}, a.json, f"checksum ok; installed {path}")
    elif a.download:
        path = download(a.download)
        _emit({"installed": str(path)}, a.json, f"downloaded {path}")
    else:
        rows = status()
        _emit({"weights": rows}, a.json, "\n".join(f"{r['arch']:<20} {'present' if r['present'] else 'missing':<8} "
                                                   f"{r['path']}" for r in rows))
    return 0


def add_model_parsers(sub) -> None:
    """inspect, train, evaluate, predict, export and weights, in that order."""
    for add_parser in (_add_inspect_parser, _add_train_parser, _add_evaluate_parser, _add_predict_parser,
                       _add_export_parser, _add_weights_parser):
        add_parser(sub)


def _add_inspect_parser(sub) -> None:
    s = sub.add_parser("inspect", help="check a dataset and print its report")
    s.add_argument("data")
    s.add_argument("--val")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_inspect)


def _add_train_parser(sub) -> None:
    d = TrainConfig()  # the defaults, written once (fewshot/config.py)
    s = sub.add_parser("train", help="train a classifier and save it as a bundle")
    s.add_argument("data", nargs="?", help="folder of class folders, folder with train/ and val/, or a .zip")
    s.add_argument("--project", metavar="NAME", help="train on a saved project's labelled photos (see: project)")
    s.add_argument("--val", help="validate on every image of this folder instead of a split")
    s.add_argument("--labels", metavar="CSV", help="path,label CSV naming photos in DATA (any layout); they train")
    s.add_argument("--arch", default=d.arch, choices=ARCHS)
    s.add_argument("--stage", default=d.stage, choices=STAGE_CHOICES)
    s.add_argument("--epochs", type=int, default=d.epochs)
    s.add_argument("--lr", type=float, default=d.lr)
    s.add_argument("--batch-size", type=int, default=d.batch_size)
    s.add_argument("--seed", type=int, default=d.seed)
    s.add_argument("--augmentation", default=d.augmentation, choices=AUGMENTATIONS)
    s.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    s.add_argument("--balanced", action=argparse.BooleanOptionalAction, default=d.balanced_loss,
                   help="class-balanced loss: each class counts the same, however many photos it has")
    s.add_argument("--early-stop", type=int, default=d.early_stop, metavar="EPOCHS")
    s.add_argument("--scratch", action="store_true", help="no pretrained weights (weak with few photos)")
    s.add_argument("--weights", help="a local torchvision weights file for the backbone")
    s.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    s.add_argument("--no-cache", action="store_true", help="do not reuse or store cached features")
    s.add_argument("--out", help="where to save the model (required without --project)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_train)


def _add_evaluate_parser(sub) -> None:
    s = sub.add_parser("evaluate", help="accuracy, per-class scores and confusion on labelled images")
    s.add_argument("model")
    s.add_argument("data")
    s.add_argument("--tta", action="store_true")
    s.add_argument("--device")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_evaluate)


def _add_predict_parser(sub) -> None:
    s = sub.add_parser("predict", help="top-k labels for images (files or folders)")
    s.add_argument("model")
    s.add_argument("images", nargs="+")
    s.add_argument("--top-k", type=int, default=3)
    s.add_argument("--tta", action="store_true")
    s.add_argument("--csv")
    s.add_argument("--device")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_predict)


def _add_export_parser(sub) -> None:
    s = sub.add_parser("export", help="TorchScript or ONNX with softmax included, or a Hugging Face Space folder")
    s.add_argument("model")
    s.add_argument("--format", required=True, choices=("torchscript", "onnx", "space"))
    s.add_argument("--out", required=True, help="the file; for space, a new (or empty) folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_export)


def _add_weights_parser(sub) -> None:
    s = sub.add_parser("weights", help="list, download or install pretrained backbone weights")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--download", choices=ARCHS, metavar="ARCH")
    g.add_argument("--from", dest="from_file", metavar="FILE")
    s.add_argument("--arch", choices=ARCHS, help="with --from: which backbone the file is for")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_cmd_weights)
