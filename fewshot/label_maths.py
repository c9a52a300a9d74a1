"""The maths of labelling with the model's help, on L2-normalised pooled features (labelling.py reads the
pool and the labels and puts these together in `suggest`; label_trust.py holds the threshold and the suspects).

- `fit_head` / `head_probs`: a logistic regression on the labelled photos (sklearn);
- `fold_heads` / `out_of_fold_probs`: StratifiedKFold heads, each labelled photo's probabilities from the
  heads that did not see it, and the same heads' average for the photos nobody labelled;
- `cold_start`: TypiClust (Hacohen et al. 2022), the most typical photo of each cluster nobody labelled;
- `ask_next_picks`: a few random photos among the confident suggestions (to check them), then half typical
  photos of unlabelled clusters, half the least sure (margin), spread out;
- `find_suspects`: cleanlab's confident learning (what `suggest` used before label_trust.judge_labels; kept for
  the benchmarks' comparison).
"""
from __future__ import annotations

import hashlib
import threading
import warnings
from typing import Sequence

import numpy as np

# scikit-learn and cleanlab take seconds to import, so each function below imports what it uses: importing
# this module (the CLI and the page do, through labelling) stays quick.

__all__ = ["BIG_POOL", "COLD_LABELS", "REPEATS_UNDER", "SUSPECT_REPEATS", "ask_next_picks", "cluster_space",
           "cold_start", "find_suspects", "fit_head", "fold_heads", "head_probs", "heads_probs", "out_of_fold_probs",
           "suspect_probs", "typicality", "uncertain_picks"]

COLD_LABELS = 10  # with fewer labels than this (or fewer than two classes) ask_next covers the pool
TYPICAL_AFTER_COLD = False  # see ask_next_picks
AUDIT_SHARE = 0.3  # of each ask_next batch: random photos among the confident suggestions (see ask_next_picks)
FOLDS = 10
MANY_LABELS = 200  # from this many labels, 5 folds (each fold's head still sees 160 or more)
HEAD_C = 30.0  # inverse regularisation of the logistic regression on unit-length features
# Suspects are judged by a more regularised head, on three shufflings of the folds: a head at C = 30 learns
# the wrong labels of the other folds too. 200 labels, 20 flipped, 40 seeds: precision of the top 20 listed
# 0.714 -> 0.744, of all listed 0.575 -> 0.669 (fewer right labels called wrong) (bench/README.md)
SUSPECT_C = 3.0
SUSPECT_REPEATS = 3  # 1 from REPEATS_UNDER labels on: those folds are steadier, and 3 x 5 fits on 500 labels
REPEATS_UNDER = 300  # took 0.67 s of a 20,000-photo suggest against 0.22 s for one shuffling
TYPICAL_NEIGHBOURS = 20  # TypiClust's k for typicality
BIG_POOL = 1000  # photos past which clustering runs on a few principal axes (k-means++ seeding of 105
# clusters on the full 1,280 dimensions took 1.4 s of suggest's 2.2 s at 1,250 photos on a busy core)
MINIBATCH_FROM = 5000  # photos past which k-means runs in mini-batches
MAX_CLUSTERS = 256  # and the cold start's clusters are at most this many
BIG_POOL_DIMS = 64
TYPICAL_SAMPLE = 1000  # photos of a cluster its typicality is judged on

# cleanlab.filter.find_label_issues puts each call's arrays in module globals (pred_probs_by_class,
# prune_count_matrix_cols, meant for its worker processes) even with n_jobs=1, so two threads in it at once read
# each other's: two tabs refreshing suggestions together failed 9 calls in 300 (ValueError, KeyError), or could
# answer with another pool's rows. One call at a time; it takes milliseconds. The rest of suggest is thread-safe
# (each call fits its own sklearn estimators and folds; _SPACE is swapped in one assignment) and runs unlocked.
_CLEANLAB_LOCK = threading.Lock()


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
        z = np.asarray(X, np.float32) @ self.weights + self.bias
        if z.shape[1] == 1:  # two classes: sklearn's binary model is one logistic, softmax of (0, z)
            z = np.c_[np.zeros_like(z), z]
        z = np.exp(z - z.max(axis=1, keepdims=True))  # shifted: no overflow
        return z / z.sum(axis=1, keepdims=True)


def fit_head(X: np.ndarray, y: np.ndarray, c: float = HEAD_C) -> Head:
    """The head `suggest` trains: logistic regression on the labelled photos' unit-length features."""
    return Head(X, y, c)


def head_probs(clf, X: np.ndarray, n_classes: int) -> np.ndarray:
    """[N, n_classes] probabilities, zero for classes the head never saw."""
    out = np.zeros((len(X), n_classes), np.float64)
    if len(X):
        out[:, clf.classes_] = clf.predict_proba(X)
    return out


class OneClass:
    """What a fold whose training labels are all one class predicts: that class, sure of it."""

    def __init__(self, cls: int) -> None:
        self.classes_ = np.array([cls])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability 1 for the one class, for every row."""
        return np.ones((len(X), 1))


def fold_heads(X: np.ndarray, y: np.ndarray, n_classes: int, folds: int = FOLDS, seed: int = 0,
               c: float = HEAD_C, extra: tuple[np.ndarray, np.ndarray] | None = None,
               held: np.ndarray | None = None) -> tuple[np.ndarray, list] | None:
    """(each labelled row's probabilities from heads that did not see it, the fold heads), or None when there
    are too few labels (under four, fewer than two classes, or no class with two). StratifiedKFold, shuffled by `seed`;
    `extra` (rows, classes) joins every head's training and is never scored: labels that are not evidence.
    `held` (a mask over the rows) marks labels that are evidence only: no head learns them, and each is scored
    by the average of all the heads (the check set: a label that grades must not shape what it grades)."""
    from sklearn.model_selection import StratifiedKFold
    held = np.zeros(len(y), bool) if held is None else np.asarray(held, bool)
    learn = np.flatnonzero(~held)
    counts = np.bincount(y[learn], minlength=n_classes)
    if len(learn) < 4 or (counts > 0).sum() < 2 or counts.max() < 2:
        return None  # (no class with two labels to learn from: no folds can be drawn, e.g. five classes of one)
    # 5 folds from MANY_LABELS labels: 10 fits on 450 labels took 4.7 s of a 20,000-photo suggest
    k = int(min(folds if len(learn) < MANY_LABELS else min(folds, 5), max(2, counts.max())))
    out, heads = np.zeros((len(y), n_classes)), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the least populated class has only 1 member": expected early on
        for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(X[learn], y[learn]):
            tr, te = learn[tr], learn[te]
            Xt, yt = (X[tr], y[tr]) if extra is None else (np.r_[X[tr], extra[0]], np.r_[y[tr], extra[1]])
            head = OneClass(int(yt[0])) if len(np.unique(yt)) < 2 else fit_head(Xt, yt, c)
            out[te] = head_probs(head, X[te], n_classes)
            heads.append(head)
    if held.any():
        out[held] = heads_probs(heads, X[held], n_classes)
    return out, heads


def heads_probs(heads: Sequence, X: np.ndarray, n_classes: int) -> np.ndarray:
    """[N, n_classes]: the average of the heads' probabilities (the fold heads scoring unlabelled photos, so that
    their confidences mean what the out-of-fold ones mean: heads trained on the same share of the labels)."""
    return sum(head_probs(h, X, n_classes) for h in heads) / len(heads)


def out_of_fold_probs(X: np.ndarray, y: np.ndarray, n_classes: int, folds: int = FOLDS,
                      seed: int = 0, c: float = HEAD_C, repeats: int = 1) -> np.ndarray | None:
    """Each labelled photo's probabilities from heads (inverse regularisation `c`) that did not see it
    (StratifiedKFold, averaged over `repeats` shufflings); None when there are too few labels (under four,
    or fewer than two classes)."""
    runs = [fold_heads(X, y, n_classes, folds, seed + 1000 * r, c) for r in range(repeats)]
    return None if runs[0] is None else sum(r[0] for r in runs) / repeats


def suspect_probs(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> np.ndarray | None:
    """The out-of-fold probabilities suspects are judged on (SUSPECT_C; see out_of_fold_probs)."""
    return out_of_fold_probs(X, y, n_classes, seed=seed, c=SUSPECT_C,
                             repeats=SUSPECT_REPEATS if len(y) < REPEATS_UNDER else 1)


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


def cold_start(features: np.ndarray, n: int, labelled: Sequence[int] = (), seed: int = 0,
               typical: bool = True, skip: Sequence[int] = ()) -> list[int]:
    """`n` photos that cover the pool (TypiClust): cluster everything into len(labelled) + n clusters and take
    the most typical unlabelled photo of each cluster no labelled photo is in, largest clusters first; with
    `typical` False a random member of each instead (see ask_next_picks). Rows in `skip` are never picked
    (they cover nothing either)."""
    labelled = set(int(i) for i in labelled)
    taken = labelled | set(int(i) for i in skip)
    n = min(n, len(features) - len(taken))
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
        members = _typical_first(features, by_cluster[c], rng) if typical else rng.permutation(by_cluster[c])
        ranked[c] = [int(i) for i in members if int(i) not in taken]
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


def _audit_picks(probs: np.ndarray, free: np.ndarray, n: int, level: float, seed: int, done: int) -> list[int]:
    """`n` photos of `free` picked at random among those whose suggestion (`probs`, same order) is at least as
    sure as `level` (or as the median suggestion, if that is lower): a person's answers on them are what tells
    how often such suggestions are right. Random, because the other picks are chosen for being typical or
    hard, and a threshold judged only on those was 3-7 points off on the photos left (bench/README.md)."""
    if n <= 0 or len(free) == 0:
        return []
    conf = probs.max(1)
    region = np.flatnonzero(conf >= min(level, float(np.median(conf))))
    n = min(n, len(region))
    rng = np.random.default_rng([seed, done])  # the same labels, the same picks
    return [int(free[j]) for j in rng.choice(region, n, replace=False)]


def ask_next_picks(features: np.ndarray, labelled: Sequence[int], free: Sequence[int], probs: np.ndarray | None,
                   n: int, seed: int = 0, audit_level: float | None = None) -> list[int]:
    """The `n` photos to label next (rows of `features`; `probs` the head's probabilities for `free`, or None),
    all of them among `free`: a row neither labelled nor free is never picked and covers nothing.

    Before COLD_LABELS labels, or while the head cannot guess, all cover the pool (cold_start). After that, with
    `audit_level`, AUDIT_SHARE of them are random photos among the suggestions at least that sure (_audit_picks);
    half the rest still cover the pool: the most typical photos of clusters no label is in yet, because a model
    that has only seen some kinds of photo is confidently wrong about the others, which no uncertainty measures;
    the other half are the photos the head is least sure of (uncertain_picks). Measured on flowers, 50 labels:
    all uncertain 0.794, all typical 0.795, half and half 0.822 (bench/README.md)."""
    free = np.asarray(free, int)
    unasked = np.setdiff1d(np.arange(len(features)), np.r_[np.asarray(labelled, int), free])  # neither: skip
    if probs is None or len(labelled) < COLD_LABELS:
        return cold_start(features, n, labelled, seed, skip=unasked)
    audited = [] if audit_level is None else _audit_picks(probs, free, round(n * AUDIT_SHARE), audit_level,
                                                         seed, len(labelled))
    keep = ~np.isin(free, audited)
    free, probs = free[keep], probs[keep]
    covered = list(labelled) + audited
    typical = cold_start(features, (n - len(audited)) // 2, covered, seed, typical=TYPICAL_AFTER_COLD,
                         skip=unasked)
    keep = ~np.isin(free, typical)
    return audited + typical + uncertain_picks(features, probs[keep], free[keep], n - len(audited) - len(typical),
                                               seed)


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
    with _CLEANLAB_LOCK, warnings.catch_warnings():  # (the warning filters are process-wide too)
        warnings.simplefilter("ignore")
        # n_jobs=1: cleanlab otherwise forks worker processes, and a fork of a server (or test) process that
        # runs threads (torch, gradio, the browser driver) can deadlock; for a few thousand photos one is enough
        issues = find_label_issues(ys, sub, return_indices_ranked_by="self_confidence", n_jobs=1)
        quality = get_label_quality_scores(ys, sub, method="self_confidence")
    return [(int(judged[i]), int(present[sub[i].argmax()]), float(quality[i])) for i in issues]
