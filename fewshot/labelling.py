"""Labelling with the model's help: a head that learns while you label, on features computed once.

The frozen network's pooled features of every photo of a pool come from the same disk cache training uses
(features.trunk_pass, keyed by backbone, cut and input size), so a second call reads them back instead of
running the network. On those features (L2-normalised), with the maths in `label_maths.py`:

- `cold_start` / ask_next before the model can guess: the most typical photo of each cluster nobody has
  labelled yet (TypiClust, Hacohen et al. 2022: with few labels, covering the data beats asking about
  what the model is unsure of);
- suggestions: logistic regressions trained on the labelled photos (the folds of a StratifiedKFold, so that
  an unlabelled photo's confidence means what a labelled photo's out-of-fold confidence means) give every other
  photo a class and a confidence;
- the accept threshold (label_trust.py): the lowest confidence whose suggestions are, with BOUND_LEVEL
  confidence, TARGET_PRECISION right on the photos nobody labelled, judged only on the labels a person gave to
  photos drawn at random (the check set): the photos "Ask me" picks are typical or uncertain ones, and judged
  on them a flowers trial promised 95% where 91% of the accepted suggestions were right. None, with a reason,
  when they cannot show one (nothing is accepted by default);
- ask_next after that: a few random photos among the confident suggestions (they teach the heads where the
  threshold would be), then half the typical photos of clusters nobody has labelled, half the photos the model is
  least sure of (margin), spread over the suggested classes and, within each, one per cluster so that they are
  not near-copies of each other;
- suspects (label_trust.py): each label's chance of being wrong under a model of the labels fitted to them
  (calibrated out-of-fold probabilities and a share of slips); "likely" and "possible" ones are listed.

Everything after the features takes well under a second for a thousand photos and a few seconds for
20,000 (bench/README.md): the frozen pass streams in chunks, and past BIG_POOL photos the clustering runs
on a few principal axes (in mini-batches past MINIBATCH_FROM).
"""
from __future__ import annotations

import csv
import io
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Collection, Iterator, Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from .archive import Limits
from .backbones import DEFAULT_ARCH
from .config import TrainConfig
from .data import Dataset, Sample, images_in
from .errors import DataError
from .images import UnreadableImage, read_checked, thumbnail
# the maths, used here by `suggest` and by its callers through this module (the page, the CLI, the benches)
from .label_maths import (BIG_POOL, COLD_LABELS, REPEATS_UNDER, SUSPECT_REPEATS, ask_next_picks,  # noqa: F401
                          cluster_space, cold_start, find_suspects, fit_head, fold_heads, head_probs, heads_probs,
                          out_of_fold_probs, suspect_probs, typicality, uncertain_picks)
from .label_trust import (BOUND_LEVEL, FALLBACK_THRESHOLD, MIN_ABOVE, NO_THRESHOLD, TARGET_PRECISION,  # noqa: F401
                          ThresholdChoice, candidate_threshold, choose_threshold, judge_labels, precision_bound)

__all__ = ["BIG_POOL", "COLD_LABELS", "MIN_ABOVE", "POOL_CHUNK", "Pool", "Suggestions", "ask_next_picks",
           "cold_start", "find_suspects", "fit_head", "head_probs", "labelled_groups", "out_of_fold_probs",
           "pool_features", "read_labels", "suggest", "suspect_probs", "unit_rows"]

DEFAULT_ASK = 10
POOL_CHUNK = 512  # photos per streamed frozen pass: their maps (about 128 MB at 320 px) are pooled, then dropped
POOLED_SUFFIX = "-pooled"  # beside the maps cache: one [D] float32 row per photo, what a pool's next call reads


# ---------------------------------------------------------------------------------------------- the pool

@dataclass
class Pool:
    """The readable photos of a pool and their features, one row per photo, in `names` order."""

    root: str | None
    paths: list[str]  # as read
    names: list[str]  # relative to root (posix), what labels.csv and the results name them by
    digests: list[str]  # sha1 of each file's bytes
    features: np.ndarray  # [N, D] float32, each row of unit length
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    arch: str = ""

    def index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}


def _name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def pooled(store, chunk: int = 256) -> np.ndarray:
    """[N, D] float32 means over each cached map's positions (what the head stage's global pool computes)."""
    rows = [store[i:i + chunk].float() for i in range(0, len(store), chunk)]
    rows = [r.mean((2, 3)) if r.ndim == 4 else r.reshape(len(r), -1) for r in rows]
    return np.concatenate([r.numpy() for r in rows]) if rows else np.zeros((0, 0), np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _pool_files(source, limits: Limits) -> tuple[Path | None, list[Path]]:
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if not root.is_dir():
            raise DataError(f"{root} is not a folder of photos")
        files = sorted(Path(p) for p in images_in(root, limits))
    else:
        root, files = None, [Path(p) for p in source]
    if len(files) > limits.max_images:
        raise DataError(f"{len(files):,} images is over the limit of {limits.max_images:,} (limit: max images)")
    return root, files


def pool_features(source: str | os.PathLike | Sequence[str | os.PathLike], *, arch: str = DEFAULT_ARCH,
                  weights_file: str | None = None, device: str | None = None, feature_cache: bool = True,
                  limits: Limits | None = None, stop: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Pool:
    """Every photo under a folder (any layout) or in a list, read once, with its pooled frozen features.

    The input size is the one training would choose for these photos (trunk_inputs.resolve_config) and the features
    are the head stage's, from the same disk cache: photos seen before (by content) cost one small file read.
    The frozen pass streams: POOL_CHUNK photos at a time, their maps pooled and written to the disk caches
    before the next chunk, so memory stays at one chunk's maps plus the [N, D] pooled rows however large the
    pool. `progress(done, total)` is called after each chunk. Unreadable photos are listed in `skipped`.
    """
    # torch: loaded when photos are read, so importing labelling (the CLI's train --labels, the page) stays light
    from .features import DiskCache, trunk_shape
    from .runtime import pick_runtime
    from .trunk_inputs import build_for_stage, feature_cache_for, resolve_config

    limits = limits or Limits()
    root, files = _pool_files(source, limits)
    probe = Dataset(["pool"], [Sample(str(p), 0, "") for p in files], [])
    cfg = resolve_config(TrainConfig(arch=arch, stage="head", weights_file=weights_file), probe)
    rt = pick_runtime(device)
    model, cut, _ = build_for_stage(cfg, 2, rt)
    maps = feature_cache_for(cfg, cut) if feature_cache else None
    small = DiskCache(maps.dir.name + POOLED_SUFFIX, maps.dir.parent) if maps else None
    shape = trunk_shape(model, cut, cfg.preprocessing.crop)
    dim = shape[0] if len(shape) == 3 else int(np.prod(shape))
    samples, names, skipped, rows = [], [], [], []
    for p in files:
        name = _name(p, root)
        try:
            data, digest = read_checked(p, limits.max_pixels, decode=False)
            row = small.get_raw(digest, dim * 4) if small else None
            if row is None and not (maps and (maps.dir / f"{digest}.npy").is_file()):
                thumbnail(data, 32, limits.max_pixels)  # not seen before: prove it decodes
        except UnreadableImage as exc:
            skipped.append((name, str(exc)))
            continue
        samples.append(Sample(str(p), 0, digest))
        names.append(name)
        rows.append(row)
    feats = np.zeros((len(samples), dim), np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            feats[i] = np.frombuffer(row, np.float32)
    todo = [i for i, row in enumerate(rows) if row is None]
    del rows
    _stream_pass(model, cut, cfg, rt, [samples[i] for i in todo], maps, small, feats, todo, limits,
                 stop or (lambda: False), progress, len(samples))
    return Pool(str(root) if root else None, [s.path for s in samples], names, [s.digest for s in samples],
                unit_rows(feats) if len(samples) else np.zeros((0, 0), np.float32), skipped, arch)


def _stream_pass(model, cut, cfg, rt, samples, maps, small, out: np.ndarray, where: list[int], limits: Limits,
                 stop: Callable[[], bool], progress, total: int) -> None:
    """The frozen pass over `samples`, POOL_CHUNK at a time: each chunk's pooled rows land in out[where]."""
    from .features import trunk_pass  # torch: see pool_features
    done = total - len(samples)
    if progress:
        progress(done, total)
    for start in range(0, len(samples), POOL_CHUNK):
        chunk = samples[start:start + POOL_CHUNK]
        store = None
        try:
            for item in trunk_pass(model, cut, chunk, cfg.preprocessing, rt, cfg.batch_size, maps, stop,
                                   limits.max_pixels):
                if progress and hasattr(item, "done") and 0 < item.done < len(chunk):  # within a chunk too
                    progress(done + item.done, total)
                store = item
        except UnreadableImage as exc:
            raise DataError(f"{exc}. The photo changed or disappeared after it was checked; try again.") from None
        if stop() or not hasattr(store, "n"):
            raise DataError("stopped before the photos' features were ready")
        rows = pooled(store)
        del store
        for j, s in enumerate(chunk):
            out[where[start + j]] = rows[j]
            if small:
                small.put(s.digest, rows[j].astype(np.float32))
        done += len(chunk)
        if progress:
            progress(done, total)


# ---------------------------------------------------------------------------------------------- labels

def _clean(path: str) -> str:
    p = path.strip().replace("\\", "/")
    return str(PurePosixPath(os.path.normpath(p)).as_posix()) if p else ""


def read_label_rows(csv_path: str | os.PathLike | None) -> list[tuple[int, str, str]]:
    """(row number, path, label) of a `path,label` CSV; a missing or empty file has none.

    Row numbers count the header as row 1. Rows with an empty label are unlabelled and left out.
    """
    if csv_path is None or not Path(csv_path).is_file():
        return []
    text = Path(csv_path).read_text(encoding="utf-8-sig")
    if not text.strip():
        return []
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader)]
    if "path" not in header or "label" not in header:
        raise DataError(f"{csv_path}: the first row must be the header path,label (it is {','.join(header)})")
    ip, il = header.index("path"), header.index("label")
    rows = []
    for number, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        path = row[ip] if ip < len(row) else ""
        label = (row[il] if il < len(row) else "").strip()
        if label:
            rows.append((number, _clean(path), label))
    return rows


def _check_known(rows, known: set[str], ignored: set[str], csv_path, where: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for number, path, label in rows:
        if path in ignored:
            continue
        if path not in known:
            raise DataError(f"{csv_path}, row {number}: {path or '(empty path)'} is not a photo in {where}; "
                            f"paths are relative to that folder")
        labels[path] = label  # a later row wins
    return labels


def read_labels(csv_path: str | os.PathLike | None, pool: Pool) -> dict[str, str]:
    """{photo name: label} from a `path,label` CSV whose paths are relative to the pool's folder.

    A row naming a photo the pool does not have is an error naming the row; rows naming photos that were
    skipped as unreadable are left out (they are in `pool.skipped`).
    """
    rows = read_label_rows(csv_path)
    return _check_known(rows, set(pool.names), {n for n, _ in pool.skipped}, csv_path, pool.root or "the pool")


def labelled_groups(pool_dir: str | os.PathLike, csv_path: str | os.PathLike) -> dict[str, list[str]]:
    """{label: [photo paths]} for training from a labels file (data.load_dataset takes this mapping)."""
    root = Path(pool_dir)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of photos")
    if csv_path is None or not Path(csv_path).is_file():
        raise DataError(f"{csv_path} does not exist")
    known = {_name(Path(p), root) for p in images_in(root)}
    labels = _check_known(read_label_rows(csv_path), known, set(), csv_path, str(root))
    groups: dict[str, list[str]] = {}
    for name, label in sorted(labels.items()):
        groups.setdefault(label, []).append(str(root / name))
    return groups


# ---------------------------------------------------------------------------------------------- together

@dataclass
class Suggestions:
    """What `suggest` found; `to_dict()` is the CLI's JSON. Every estimate rests on the labels a person gave
    (`evidence` of them), never on accepted suggestions."""

    ask_next: list[str]
    suggestions: list[dict]  # {"path", "label", "confidence"} for every photo without a label, most confident first
    # the person's labels that look wrong, most doubtful first: {"path", "given", "suggested", "score" (how well
    # the given class fits, 0-1, the order), "wrong_chance", "strength": "likely" or "possible"}
    suspects: list[dict]
    # the default threshold; NO_THRESHOLD (1.0, above every confidence: nothing is accepted) when the labels
    # cannot support one, and then threshold_reason says why (to_dict() gives null)
    accept_threshold: float
    accept_precision: float | None  # a lower bound, at `level`, of the share right at or above the threshold
    skipped: list[dict]
    classes: list[str] = field(default_factory=list)
    # the person's labels' out-of-fold (confidence, right) pairs, in the order of `labels`
    oof_confidence: np.ndarray | None = None
    oof_right: np.ndarray | None = None
    # which of them are photos drawn at random (the check set, `held_out`): the only evidence for the threshold
    # and every precision stated, since the others were picked (typical, uncertain) and flatter the model
    at_random: np.ndarray | None = None
    left_out: int = 0  # labels left out of the estimates: always 0 now (none is; kept for the page)
    # "two-classes", "few-labels", "no-random", "not-shown", "nothing-left"; None: supported
    threshold_reason: str | None = None
    threshold_note: str | None = None  # the reason in plain words
    evidence: int = 0  # labels a person gave on photos drawn at random (the check set): what the bounds rest on
    doubted_accepted: list[dict] = field(default_factory=list)  # accepted suggestions now doubted (as suspects)
    pool_confidence: np.ndarray | None = None  # the confidences of the photos without a label (for precision_at)
    level: float = BOUND_LEVEL

    def precision_at(self, threshold: float) -> float | None:
        """A lower bound (at `level`) of the share right among the suggestions at or above `threshold`, judged on
        the person's labels of photos drawn at random; None when fewer than MIN_ABOVE of them reach it."""
        if self.oof_confidence is None or self.at_random is None:
            return None
        waiting = self.oof_confidence if self.pool_confidence is None else self.pool_confidence
        return precision_bound(self.oof_confidence[self.at_random], self.oof_right[self.at_random], waiting,
                               threshold, self.level)

    def record_at(self, threshold: float) -> tuple[int, int] | None:
        """(right, of): the person's labels of photos drawn at random whose out-of-fold suggestion was at least
        `threshold` sure, and how many of those suggestions were right; None before there are any."""
        if self.oof_confidence is None or self.at_random is None:
            return None
        sure = self.at_random & (self.oof_confidence >= threshold)
        return int(self.oof_right[sure].sum()), int(sure.sum())

    def to_dict(self) -> dict:
        """The JSON `python -m fewshot suggest --json` prints."""
        return {"ask_next": self.ask_next, "suggestions": self.suggestions, "suspects": self.suspects,
                "accept_threshold": self.threshold_or_none(), "accept_precision": self.accept_precision,
                "precision_level": self.level, "threshold_reason": self.threshold_reason,
                "threshold_note": self.threshold_note, "evidence_labels": self.evidence,
                "doubted_accepted": self.doubted_accepted, "skipped": self.skipped}

    def threshold_or_none(self) -> float | None:
        """The default threshold, or None where the labels cannot support one."""
        return None if self.threshold_reason else self.accept_threshold

    def accepted(self) -> list[dict]:
        """The suggestions at or above the default threshold: none where there is no threshold."""
        t = self.threshold_or_none()
        return [] if t is None else [s for s in self.suggestions if s["confidence"] >= t]


def suggest(pool: Pool, labels: Mapping[str, str], ask: int = DEFAULT_ASK, seed: int = 0,
            accepted: Mapping[str, str] | None = None, learn_from_accepted: bool = False,
            held_out: Collection[str] = (), not_asked: Collection[str] = ()) -> Suggestions:
    """Ask-next photos, a suggested class for every photo without a label, suspicious labels and the accept
    threshold, from the pool's features and the labels so far ({photo name: class}).

    `labels` are the labels a person gave: the only evidence for the suspects; and among them, those of
    `held_out` (photos drawn at random) the only evidence for the threshold and its precision.
    `accepted` are labels that came from accepted suggestions: they are not suggested or asked again and count as
    covered for ask_next, but are never evidence (judged on them, the model grades itself); with
    `learn_from_accepted` the heads also train on them (measured in bench/whole_pile.py: off by default).
    A photo in both counts as the person's. `held_out` names labels (among `labels`) that are evidence only, the
    project's check set: no head that suggests learns them, so that the photos that grade a model never shaped
    the suggestions it trained on (bench/check_interval.py). `not_asked` names unlabelled photos a person is
    asked about anyway (the check set's, still waiting): never among ask_next, whose picks then cover the pool
    without them (a covering pick that the check set's random draw took left a class out of what the head learns).

    The maths runs on one BLAS thread: these matrices are small, and OpenBLAS's threads spinning beside other
    work made it 10-15x slower on a busy 2-core machine (bench/README.md)."""
    with _one_blas_thread():
        return _suggest(pool, labels, ask, seed, accepted or {}, learn_from_accepted, set(held_out), set(not_asked))


_BLAS = {"lock": threading.Lock(), "users": 0, "limiter": None}


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """threadpool_limits(1) while any suggest runs, set by the first in and undone by the last out. The limits
    are process-wide (torch's OpenMP too): two overlapping threadpool_limits blocks undo in the wrong order, the
    second having saved the first's 1 as the original, and four tabs refreshing at once left the whole server
    on one thread for good (torch.get_num_threads() 2 -> 1: CPU training after it on one core)."""
    with _BLAS["lock"]:
        if _BLAS["users"] == 0:
            _BLAS["limiter"] = threadpool_limits(1)
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS["lock"]:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0:
                _BLAS["limiter"].restore_original_limits()
                _BLAS["limiter"] = None


def _rows_of(pool: Pool, index: dict[str, int], named: Mapping[str, str]) -> np.ndarray:
    """The pool rows of the named photos; a name the pool does not have is an error naming it."""
    unknown = [n for n in named if n not in index]
    if unknown:
        raise DataError(f"{unknown[0]} is not a photo in {pool.root or 'the pool'}")
    return np.array([index[n] for n in named], int)


def _suggest(pool: Pool, labels: Mapping[str, str], ask: int, seed: int, accepted: Mapping[str, str],
             learn_from_accepted: bool, held_out: set[str], not_asked: set[str]) -> Suggestions:
    if ask < 0:
        raise DataError(f"the number of photos to ask for must be 0 or more, not {ask}")
    index = pool.index()
    rows = _rows_of(pool, index, labels)
    classes = sorted(set(labels.values()))
    accepted = {n: c for n, c in accepted.items() if n not in labels}
    acc_rows = _rows_of(pool, index, accepted)
    taken = np.zeros(len(pool.features), bool)
    taken[rows], taken[acc_rows] = True, True
    free = np.flatnonzero(~taken)
    out = Suggestions([], [], [], NO_THRESHOLD, None, [{"path": n, "reason": r} for n, r in pool.skipped],
                      classes, evidence=sum(n in held_out for n in labels))
    probs = None
    if len(classes) >= 2:
        y = np.array([classes.index(c) for c in labels.values()], int)
        known = [i for i, c in enumerate(accepted.values()) if c in classes]  # the head can judge only these
        acc_y = np.array([classes.index(c) for c in accepted.values() if c in classes], int)
        extra = (pool.features[acc_rows[known]], acc_y) if learn_from_accepted and known else None
        held = np.array([n in held_out for n in labels], bool)
        probs = _judge(out, pool, rows, y, held, free, acc_rows[known], acc_y, extra, seed)
    else:
        out.threshold_reason = "two-classes"
        out.threshold_note = "Suggestions start once two classes have labels."
    audit = out.threshold_or_none() or candidate_threshold(out.oof_confidence, out.oof_right)
    askable = np.array([pool.names[i] not in not_asked for i in free], bool)
    picks = ask_next_picks(pool.features, np.r_[rows, acc_rows], free[askable],
                           None if probs is None else probs[askable], ask, seed, audit_level=audit)
    out.ask_next = [pool.names[i] for i in picks]
    return out


def _judge(out: Suggestions, pool: Pool, rows: np.ndarray, y: np.ndarray, held: np.ndarray, free: np.ndarray,
           acc_rows: np.ndarray, acc_y: np.ndarray, extra, seed: int) -> np.ndarray:
    """Fill `out` from the person's labels (rows, y; `held` marks those that are evidence only): suggestions for
    the `free` photos, the threshold, the suspects, the doubted accepted ones; returns the free photos'
    probabilities (for ask_next)."""
    X, k = pool.features, len(out.classes)
    repeats = SUSPECT_REPEATS if len(y) < REPEATS_UNDER else 1
    runs = [fold_heads(X[rows], y, k, seed=seed + 1000 * r, extra=extra, held=held) for r in range(repeats)]
    if runs[0] is None:  # too few labels for folds: the one head suggests, nothing is promised
        learn = ~held if len(np.unique(y[~held])) >= 2 else np.ones(len(y), bool)  # held out too, where it can
        Xt, yt = (X[rows[learn]], y[learn]) if extra is None else (np.r_[X[rows[learn]], extra[0]],
                                                                     np.r_[y[learn], extra[1]])
        head = fit_head(Xt, yt)
        score = lambda Z: head_probs(head, Z, k)  # noqa: E731
        choice = choose_threshold(None, None, np.zeros(0))
    else:
        oof, heads = runs[0]
        score = lambda Z: heads_probs(heads, Z, k)  # noqa: E731
        out.oof_confidence, out.oof_right, out.at_random = oof.max(1), oof.argmax(1) == y, held.copy()
        rank = suspect_probs(X[rows], y, k, seed=seed)  # a more regularised head ranks the doubtful ones better
        for i, s, q, chance, strength in judge_labels(sum(r[0] for r in runs) / repeats, y, rank):
            out.suspects.append({"path": pool.names[rows[i]], "given": out.classes[y[i]], "suggested": out.classes[s],
                                 "score": round(q, 4), "wrong_chance": round(chance, 4), "strength": strength})
    probs = score(X[free])
    conf = np.minimum(probs.max(1), 0.9999)  # below NO_THRESHOLD, whatever the rounding
    out.pool_confidence = conf
    for j in np.argsort(-conf, kind="stable"):
        out.suggestions.append({"path": pool.names[free[j]], "label": out.classes[int(probs[j].argmax())],
                                "confidence": round(float(conf[j]), 4)})
    if out.oof_confidence is not None:
        choice = ThresholdChoice(None, None, "nothing-left") if not len(free) else \
            ThresholdChoice(None, None, "no-random") if not held.any() else \
            choose_threshold(out.oof_confidence[held], out.oof_right[held], conf)
    _state_threshold(out, choice)
    out.doubted_accepted = _doubts(pool, acc_rows, acc_y, score(X[acc_rows]), out)
    return probs


def _state_threshold(out: Suggestions, choice: ThresholdChoice) -> None:
    """The threshold and its bound into `out`, or the reason there is none, in plain words."""
    if choice.threshold is not None:
        out.accept_threshold, out.accept_precision = choice.threshold, round(choice.precision, 4)
        return
    out.threshold_reason = choice.reason
    if choice.reason == "nothing-left":
        out.threshold_note = "Every photo has a label."
    elif choice.reason == "few-labels":
        out.threshold_note = ("Too few labels to check suggestions against yet: that takes labels you gave, at "
                              "least 4 in two classes. Nothing is accepted by default.")
    elif choice.reason == "no-random":
        out.threshold_note = ("None of your labels is on a photo picked at random (the check set), and only those "
                              "show how often suggestions are right on the photos nobody labelled. Nothing is "
                              "accepted by default.")
    elif choice.best is None:
        out.threshold_note = (f"Your {out.evidence} check photos, picked at random, do not show yet that any "
                              f"threshold gives {TARGET_PRECISION:.0%} right suggestions ({out.level:.0%} sure). "
                              f"Nothing is accepted by default: type the lowest confidence you accept beside Accept.")
    else:
        out.threshold_note = (f"Your {out.evidence} check photos, picked at random, do not show yet that any "
                              f"threshold gives {TARGET_PRECISION:.0%} right suggestions ({out.level:.0%} sure); "
                              f"the best so far, {choice.best[0]:.0%} and above, is at least {choice.best[1]:.0%} "
                              f"right. Nothing is accepted by default: type the lowest confidence you accept beside Accept.")


def _doubts(pool: Pool, acc_rows: np.ndarray, acc_y: np.ndarray, probs: np.ndarray, out: Suggestions) -> list[dict]:
    """Accepted suggestions the person's labels now put in another class, least likely first; "likely" where
    that class is as sure as the accept threshold, "possible" otherwise."""
    doubts = []
    for j in np.flatnonzero(probs.argmax(1) != acc_y) if len(acc_y) else []:
        other = int(probs[j].argmax())
        sure = out.threshold_or_none() is not None and probs[j, other] >= out.accept_threshold
        doubts.append({"path": pool.names[acc_rows[j]], "given": out.classes[acc_y[j]],
                       "suggested": out.classes[other], "score": round(float(probs[j, acc_y[j]]), 4),
                       "strength": "likely" if sure else "possible"})
    return sorted(doubts, key=lambda d: d["score"])
