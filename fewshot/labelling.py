"""Labelling with the model's help: a head that learns while you label, on features computed once.

The frozen network's pooled features of every photo of a pool come from the same disk cache training uses
(features.trunk_pass, keyed by backbone, cut and input size), so a second call reads them back instead of
running the network. On those features (L2-normalised):

- `cold_start` / ask_next before the model can guess: the most typical photo of each cluster nobody has
  labelled yet (TypiClust, Hacohen et al. 2022: with few labels, covering the data beats asking about
  what the model is unsure of);
- suggestions: a logistic regression trained on the labelled photos gives every other photo a class and a
  confidence; the accept threshold is the lowest confidence whose out-of-fold precision on the labelled
  photos stays at TARGET_PRECISION or more (StratifiedKFold out-of-fold probabilities);
- ask_next after that: half still the typical photos of clusters nobody has labelled, half the photos the
  model is least sure of (margin), spread over the suggested classes and, within each, one per cluster so
  that they are not near-copies of each other;
- suspects: cleanlab's confident learning on the same out-of-fold probabilities ranks labels that are
  probably wrong.

Everything after the features takes well under a second for a thousand photos and a few seconds for
20,000 (bench/README.md): the frozen pass streams in chunks, and past BIG_POOL photos the clustering runs
on a few principal axes (in mini-batches past MINIBATCH_FROM).
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Mapping, Sequence

import numpy as np

from .archive import Limits
from .config import TrainConfig
from .data import Dataset, Sample, images_in
from .errors import DataError
from .images import UnreadableImage, read_checked, thumbnail

DEFAULT_ASK = 10
COLD_LABELS = 10  # with fewer labels than this (or fewer than two classes) ask_next covers the pool
TARGET_PRECISION = 0.95  # what the default accept threshold aims at, from out-of-fold predictions
THRESHOLDS = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))  # 0.50 ... 0.99
FALLBACK_THRESHOLD = 0.99  # when no threshold is shown to reach TARGET_PRECISION yet
MIN_ABOVE = 5  # out-of-fold predictions a threshold's precision must rest on
FOLDS = 10
MANY_LABELS = 200  # from this many labels, 5 folds (each fold's head still sees 160 or more)
HEAD_C = 30.0  # inverse regularisation of the logistic regression on unit-length features
TYPICAL_NEIGHBOURS = 20  # TypiClust's k for typicality
BIG_POOL = 1000  # photos past which clustering runs on a few principal axes (k-means++ seeding of 105
# clusters on the full 1,280 dimensions took 1.4 s of suggest's 2.2 s at 1,250 photos on a busy core)
MINIBATCH_FROM = 5000  # photos past which k-means runs in mini-batches
MAX_CLUSTERS = 256  # and the cold start's clusters are at most this many
BIG_POOL_DIMS = 64
TYPICAL_SAMPLE = 1000  # photos of a cluster its typicality is judged on
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


def pool_features(source: str | os.PathLike | Sequence[str | os.PathLike], *, arch: str = "resnet18",
                  weights_file: str | None = None, device: str | None = None, feature_cache: bool = True,
                  limits: Limits | None = None, stop: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Pool:
    """Every photo under a folder (any layout) or in a list, read once, with its pooled frozen features.

    The input size is the one training would choose for these photos (train.resolve_config) and the features
    are the head stage's, from the same disk cache: photos seen before (by content) cost one small file read.
    The frozen pass streams: POOL_CHUNK photos at a time, their maps pooled and written to the disk caches
    before the next chunk, so memory stays at one chunk's maps plus the [N, D] pooled rows however large the
    pool. `progress(done, total)` is called after each chunk. Unreadable photos are listed in `skipped`.
    """
    from .features import DiskCache, trunk_shape
    from .runtime import pick_runtime
    from .train import build_for_stage, feature_cache_for, resolve_config

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
    from .features import trunk_pass
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


# ---------------------------------------------------------------------------------------------- the maths

class Head:
    """A multinomial logistic regression (sklearn) on unit-length features, fitted in the span of its
    training rows: an L2-regularised solution lies there anyway (representer theorem), so the result is the
    same as on all D dimensions while the solver works on at most N of them (a few ms instead of ~0.2 s)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, c: float = HEAD_C) -> None:
        from sklearn.linear_model import LogisticRegression
        X = np.asarray(X, np.float64)
        lam, u = np.linalg.eigh(X @ X.T)  # the row space from the small N x N Gram matrix
        keep = lam > 1e-10 * max(lam.max(initial=0), 1e-12)
        self.basis = (X.T @ u[:, keep]) / np.sqrt(lam[keep])  # [D, rank], orthonormal columns
        self.model = LogisticRegression(C=c, max_iter=2000).fit(X @ self.basis, y)
        self.classes_ = self.model.classes_
        # the weights back in feature space [D, classes]: scoring 20,000 photos is then X @ [D, 5], not
        # X @ [D, rank] (rank = the labels, up to hundreds)
        self.weights = (self.basis @ self.model.coef_.T).astype(np.float32)
        self.bias = self.model.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """What the fitted LogisticRegression's predict_proba gives for the projected rows (to rounding)."""
        from scipy.special import expit, softmax
        z = np.asarray(X, np.float32) @ self.weights + self.bias
        if z.shape[1] == 1:  # two classes: sklearn's binary model is one logistic
            p = expit(z[:, 0])
            return np.c_[1 - p, p]
        return softmax(z, axis=1)


def fit_head(X: np.ndarray, y: np.ndarray, c: float = HEAD_C) -> Head:
    """The head `suggest` trains: logistic regression on the labelled photos' unit-length features."""
    return Head(X, y, c)


def head_probs(clf, X: np.ndarray, n_classes: int) -> np.ndarray:
    """[N, n_classes] probabilities, zero for classes the head never saw."""
    out = np.zeros((len(X), n_classes), np.float64)
    if len(X):
        out[:, clf.classes_] = clf.predict_proba(X)
    return out


def out_of_fold_probs(X: np.ndarray, y: np.ndarray, n_classes: int, folds: int = FOLDS,
                      seed: int = 0) -> np.ndarray | None:
    """Each labelled photo's probabilities from a head that did not see it (StratifiedKFold); None when
    there are too few labels (under four, or fewer than two classes)."""
    from sklearn.model_selection import StratifiedKFold
    counts = np.bincount(y, minlength=n_classes)
    if len(y) < 4 or (counts > 0).sum() < 2:
        return None
    # 5 folds from MANY_LABELS labels: 10 fits on 450 labels took 4.7 s of a 20,000-photo suggest
    k = int(min(folds if len(y) < MANY_LABELS else min(folds, 5), max(2, counts.max())))
    out = np.zeros((len(y), n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the least populated class has only 1 member": expected early on
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y)
        for tr, te in splits:
            if len(np.unique(y[tr])) < 2:
                out[te, y[tr][0]] = 1.0
            else:
                out[te] = head_probs(fit_head(X[tr], y[tr]), X[te], n_classes)
    return out


def accept_threshold(oof: np.ndarray | None, y: np.ndarray,
                     target: float = TARGET_PRECISION) -> tuple[float, float | None]:
    """(threshold, its estimated precision): the lowest confidence such that, at it and at every higher
    threshold with at least MIN_ABOVE out-of-fold predictions above it, those predictions are right
    `target` of the time. FALLBACK_THRESHOLD (with its estimate, or None) when none qualifies."""
    if oof is None:
        return FALLBACK_THRESHOLD, None
    conf, right = oof.max(1), oof.argmax(1) == y

    def precision(t: float) -> tuple[int, float | None]:
        above = conf >= t
        return int(above.sum()), (float(right[above].mean()) if above.any() else None)

    chosen = None
    for t in reversed(THRESHOLDS):  # from the top down, while precision holds
        n, p = precision(t)
        if n < MIN_ABOVE:  # too few to judge: one confident mistake alone says little
            continue
        if p < target:
            break
        chosen = t
    if chosen is None:
        return FALLBACK_THRESHOLD, precision(FALLBACK_THRESHOLD)[1]
    return chosen, precision(chosen)[1]


def _kmeans(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster of each row: KMeans, or MiniBatchKMeans past MINIBATCH_FROM rows (full KMeans of 20,000 rows
    into 500 clusters takes tens of seconds; picking typical photos needs no exact centres)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans
    k = max(1, min(k, len(X)))
    if k == 1:
        return np.zeros(len(X), int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer distinct points than clusters: fine for picking
        if len(X) > MINIBATCH_FROM:
            return MiniBatchKMeans(k, n_init=1, batch_size=2048, random_state=seed).fit_predict(X)
        return KMeans(k, n_init=1, random_state=seed).fit_predict(X)


def typicality(X: np.ndarray, neighbours: int = TYPICAL_NEIGHBOURS) -> np.ndarray:
    """TypiClust's typicality of each row among the others: 1 / mean distance to its nearest neighbours."""
    if len(X) < 2:
        return np.ones(len(X))
    sq = (X * X).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0))
    np.fill_diagonal(d, np.inf)
    k = min(neighbours, len(X) - 1)
    near = np.partition(d, k - 1, axis=1)[:, :k]
    return 1.0 / (near.mean(1) + 1e-8)


def cluster_space(X: np.ndarray, seed: int = 0, dims: int = BIG_POOL_DIMS) -> np.ndarray:
    """The rows to cluster and judge typicality on: `X` itself, or past BIG_POOL rows its projection on the
    first `dims` principal axes of a random 2,000 of them (20,000 x 1,280 features, 110 clusters: mini-batch
    k-means on the full rows took 7 s on one busy core, on 64 dimensions 0.4 s)."""
    if len(X) <= BIG_POOL or X.shape[1] <= dims:
        return X
    probe = np.ascontiguousarray(X[:: max(1, len(X) // 64)])
    key = (X.shape, X.__array_interface__["data"][0], seed, dims, hashlib.sha1(probe).digest())
    last = _SPACE.get("last")
    if last is not None and last[0] == key:  # the same pool asked again (each labelling batch): reuse it
        return last[1]
    value = _project(X, seed, dims)
    _SPACE["last"] = (key, value)  # one assignment: another thread sees the old pair or the new one
    return value


_SPACE: dict = {}  # the last pool's projection: one pool at a time is being labelled


def _project(X: np.ndarray, seed: int, dims: int) -> np.ndarray:
    from sklearn.utils.extmath import randomized_svd
    rng = np.random.default_rng(seed)
    sample = np.asarray(X[rng.choice(len(X), min(len(X), 2000), replace=False)], np.float32)
    mean = sample.mean(0)
    _, _, vt = randomized_svd(sample - mean, dims, n_iter=2, random_state=seed)  # 2 power steps: enough here
    return np.asarray(X, np.float32) @ vt.T - mean @ vt.T


def _typical_first(features: np.ndarray, members: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`members` (rows of `features`) most typical first; a cluster larger than TYPICAL_SAMPLE is judged on a
    random sample of that many (its typicality costs the square of its size)."""
    if len(members) > TYPICAL_SAMPLE:
        members = np.sort(rng.choice(members, TYPICAL_SAMPLE, replace=False))
    return members[np.argsort(-typicality(features[members]), kind="stable")]


def cold_start(features: np.ndarray, n: int, labelled: Sequence[int] = (), seed: int = 0) -> list[int]:
    """`n` photos that cover the pool (TypiClust): cluster everything into len(labelled) + n clusters and take
    the most typical unlabelled photo of each cluster no labelled photo is in, largest clusters first."""
    labelled = set(int(i) for i in labelled)
    n = min(n, len(features) - len(labelled))
    if n <= 0:
        return []
    features = cluster_space(features, seed)
    k = len(labelled) + n
    if len(features) > MINIBATCH_FROM:  # as TypiClust's own code caps them: 505 clusters of 20,000 took 2-3 s
        k = min(k, MAX_CLUSTERS)
    assign = _kmeans(features, k, seed)
    covered = {assign[i] for i in labelled}
    sizes = np.bincount(assign)
    order = sorted(range(len(sizes)), key=lambda c: (c in covered, -sizes[c], c))
    ranked: dict[int, list[int]] = {}
    rng = np.random.default_rng(seed)
    by_cluster = np.split(np.argsort(assign, kind="stable"), np.cumsum(sizes)[:-1])
    for c in order:
        ranked[c] = [int(i) for i in _typical_first(features, by_cluster[c], rng) if int(i) not in labelled]
    picks: list[int] = []
    while len(picks) < n:  # one per cluster, uncovered and large first; again round if clusters run out
        before = len(picks)
        for c in order:
            if ranked[c] and len(picks) < n:
                picks.append(ranked[c].pop(0))
        if len(picks) == before:
            break
    return picks


def uncertain_picks(features: np.ndarray, probs: np.ndarray, candidates: Sequence[int], n: int,
                    seed: int = 0) -> list[int]:
    """`n` of `candidates` (rows of `features`; `probs` their probabilities, same order) the head is least
    sure of (smallest margin between its two likeliest classes), spread evenly over the suggested classes
    and, within a class, one per cluster of its most uncertain photos."""
    candidates = np.asarray(candidates, int)
    n = min(n, len(candidates))
    if n <= 0:
        return []
    top2 = np.sort(probs, axis=1)[:, -2:] if probs.shape[1] > 1 else np.c_[np.zeros(len(probs)), probs]
    margin = top2[:, 1] - top2[:, 0]
    pool_size = min(len(candidates), max(5 * n, 20))
    shortlist = np.argsort(margin, kind="stable")[:pool_size]
    by_class: dict[int, list[int]] = {}
    for j in shortlist:
        by_class.setdefault(int(probs[j].argmax()), []).append(int(j))
    quota = {c: 0 for c in by_class}
    while sum(quota.values()) < n:  # round-robin: balanced over suggested classes
        for c in sorted(by_class, key=lambda c: -len(by_class[c])):
            if quota[c] < len(by_class[c]) and sum(quota.values()) < n:
                quota[c] += 1
    picks = []
    for c, rows in by_class.items():
        if not quota[c]:
            continue
        rows = np.asarray(rows)
        assign = _kmeans(features[candidates[rows]], quota[c], seed)
        for k in range(quota[c]):
            members = rows[assign == k]
            if len(members):
                picks.append(int(members[np.argmin(margin[members])]))
        for j in rows[np.argsort(margin[rows], kind="stable")]:  # empty clusters: the next most uncertain
            if sum(1 for p in picks if probs[p].argmax() == c) >= quota[c]:
                break
            if int(j) not in picks:
                picks.append(int(j))
    picks.sort(key=lambda j: margin[j])
    return [int(candidates[j]) for j in picks[:n]]


def ask_next_picks(features: np.ndarray, labelled: Sequence[int], free: Sequence[int], probs: np.ndarray | None,
                   n: int, seed: int = 0) -> list[int]:
    """The `n` photos to label next (rows of `features`; `probs` the head's probabilities for `free`, or None).

    Before COLD_LABELS labels, or while the head cannot guess, all cover the pool (cold_start). After that, half
    still do: the most typical photos of clusters no label is in yet, because a model that has only seen some
    kinds of photo is confidently wrong about the others, which no uncertainty measures; the other half are the
    photos the head is least sure of (uncertain_picks). Measured on flowers, 50 labels: all uncertain 0.794,
    all typical 0.795, half and half 0.822 (bench/README.md)."""
    free = np.asarray(free, int)
    if probs is None or len(labelled) < COLD_LABELS:
        return cold_start(features, n, labelled, seed)
    typical = cold_start(features, n // 2, labelled, seed)
    keep = ~np.isin(free, typical)
    return typical + uncertain_picks(features, probs[keep], free[keep], n - len(typical), seed)


def find_suspects(oof: np.ndarray, y: np.ndarray) -> list[tuple[int, int, float]]:
    """(row, suggested class, label quality) of the labels cleanlab finds probably wrong, most suspicious
    first (lowest label quality: the out-of-fold probability of the given class). Photos whose class has
    fewer than two labels are never suspects: no head ever saw their class without them."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    counts = np.bincount(y, minlength=oof.shape[1])
    judged = np.flatnonzero(counts[y] >= 2)
    if len(judged) < 2 or len(np.unique(y[judged])) < 2:
        return []
    present = np.unique(y[judged])
    remap = {c: i for i, c in enumerate(present)}
    sub = oof[np.ix_(judged, present)]
    sub = sub / np.maximum(sub.sum(1, keepdims=True), 1e-12)
    ys = np.array([remap[c] for c in y[judged]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # n_jobs=1: cleanlab otherwise forks worker processes, and a fork of a server (or test) process that
        # runs threads (torch, gradio, the browser driver) can deadlock; for a few thousand photos one is enough
        issues = find_label_issues(ys, sub, return_indices_ranked_by="self_confidence", n_jobs=1)
        quality = get_label_quality_scores(ys, sub, method="self_confidence")
    return [(int(judged[i]), int(present[sub[i].argmax()]), float(quality[i])) for i in issues]


# ---------------------------------------------------------------------------------------------- together

@dataclass
class Suggestions:
    """What `suggest` found; `to_dict()` is the CLI's JSON."""

    ask_next: list[str]
    suggestions: list[dict]  # {"path", "label", "confidence"} for every unlabelled photo, most confident first
    suspects: list[dict]  # {"path", "given", "suggested", "score"}: score is cleanlab's label quality, lowest first
    accept_threshold: float
    accept_precision: float | None
    skipped: list[dict]
    classes: list[str] = field(default_factory=list)
    # the labelled photos' out-of-fold (confidence, right) pairs, which every estimate rests on
    oof_confidence: np.ndarray | None = None
    oof_right: np.ndarray | None = None

    def precision_at(self, threshold: float) -> float | None:
        """The share of suggestions at or above `threshold` expected right (out-of-fold on the labelled
        photos), or None when fewer than MIN_ABOVE of them reach it: too few to say."""
        if self.oof_confidence is None:
            return None
        above = self.oof_confidence >= threshold
        return float(self.oof_right[above].mean()) if above.sum() >= MIN_ABOVE else None

    def to_dict(self) -> dict:
        return {"ask_next": self.ask_next, "suggestions": self.suggestions, "suspects": self.suspects,
                "accept_threshold": self.accept_threshold, "accept_precision": self.accept_precision,
                "skipped": self.skipped}

    def accepted(self) -> list[dict]:
        """The suggestions at or above the accept threshold."""
        return [s for s in self.suggestions if s["confidence"] >= self.accept_threshold]


def suggest(pool: Pool, labels: Mapping[str, str], ask: int = DEFAULT_ASK, seed: int = 0) -> Suggestions:
    """Ask-next photos, a suggested class for every unlabelled photo, suspicious labels and the accept
    threshold, from the pool's features and the labels so far ({photo name: class}).

    The maths runs on one BLAS thread: these matrices are small, and OpenBLAS's threads spinning beside other
    work made it 10-15x slower on a busy 2-core machine (bench/README.md)."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        return _suggest(pool, labels, ask, seed)


def _suggest(pool: Pool, labels: Mapping[str, str], ask: int, seed: int) -> Suggestions:
    if ask < 0:
        raise DataError(f"the number of photos to ask for must be 0 or more, not {ask}")
    index = pool.index()
    unknown = [n for n in labels if n not in index]
    if unknown:
        raise DataError(f"{unknown[0]} is not a photo in {pool.root or 'the pool'}")
    X = pool.features
    classes = sorted(set(labels.values()))
    rows = np.array([index[n] for n in labels], int)
    y = np.array([classes.index(labels[n]) for n in labels], int)
    is_labelled = np.zeros(len(X), bool)
    is_labelled[rows] = True
    free = np.flatnonzero(~is_labelled)
    skipped = [{"path": n, "reason": r} for n, r in pool.skipped]
    suggestions, suspects, probs, oof = [], [], None, None
    threshold, precision = FALLBACK_THRESHOLD, None
    if len(classes) >= 2:
        clf = fit_head(X[rows], y)
        probs = head_probs(clf, X[free], len(classes))
        for j in np.argsort(-probs.max(1), kind="stable"):
            suggestions.append({"path": pool.names[free[j]], "label": classes[int(probs[j].argmax())],
                                "confidence": round(float(probs[j].max()), 4)})
        oof = out_of_fold_probs(X[rows], y, len(classes), seed=seed)
        threshold, precision = accept_threshold(oof, y)
        if oof is not None:
            suspects = [{"path": pool.names[rows[i]], "given": classes[y[i]], "suggested": classes[s],
                         "score": round(q, 4)} for i, s, q in find_suspects(oof, y)]
    picks = ask_next_picks(X, rows, free, probs, ask, seed)
    return Suggestions([pool.names[i] for i in picks], suggestions, suspects, threshold,
                       None if precision is None else round(precision, 4), skipped, classes,
                       None if oof is None else oof.max(1), None if oof is None else oof.argmax(1) == y)
