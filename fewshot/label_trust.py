"""What a person's labels can vouch for: the accept threshold with the precision it can promise, and which of
the labels are probably wrong (and how sure that is). `labelling.suggest` puts these together.

Only labels a person gave are evidence here. Accepted suggestions never are: judged on them, the model would
grade itself (a whole pile labelled that way ended with 26% of its labels wrong, bench/README.md).

- `choose_threshold`: the lowest confidence whose suggestions are, with BOUND_LEVEL confidence, at least
  TARGET_PRECISION right: the stated figure is a lower bound (Clopper-Pearson) of the out-of-fold precision of
  the person's labels at or above it, never a point estimate. The unlabelled photos are scored by the same fold
  heads, so that their confidence means what the out-of-fold one means. When no threshold qualifies there is
  none, with a reason: nothing is accepted by default.
- `judge_labels`: each label's chance of being wrong, from a two-part model of the labels: the out-of-fold
  probabilities (temperature-calibrated) and a share of slips, both fitted to the labels by maximum likelihood.
  Labels are listed only where the fit shows slips at all (a likelihood-ratio test against none): on clean
  labels the hard photos are explained by the temperature, not by slips, and nothing is flagged.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# scipy takes a second to import, so the two functions that use it import it: importing this module (the CLI and
# the page do, through labelling) stays quick.

__all__ = ["BOUND_LEVEL", "FALLBACK_THRESHOLD", "MIN_ABOVE", "NO_THRESHOLD", "TARGET_PRECISION", "ThresholdChoice",
           "candidate_threshold", "choose_threshold", "judge_labels", "precision_bound"]

TARGET_PRECISION = 0.95  # what the default accept threshold promises on the photos nobody labelled
BOUND_LEVEL = 0.9  # how sure that promise is: the stated precision is a lower bound at this level
THRESHOLDS = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))  # 0.50 ... 0.99
MIN_ABOVE = 5  # out-of-fold predictions a threshold's precision must rest on at the least
NO_THRESHOLD = 1.0  # the threshold shown where none is supported: suggestions' confidences stay below it
FALLBACK_THRESHOLD = NO_THRESHOLD  # the old name, for callers that read it before any suggestion exists
LIKELY = 0.5  # chance of being wrong from which a label is a "likely" slip (else "possible")
POSSIBLE = 0.3  # and from which it is listed at all
SLIP_EVIDENCE = 3.84  # the labels show slips at all: likelihood ratio against none (chi-squared, 1 df, 5%). On 50
# clean labels asked by ask_next a few extreme ones fitted a small share of slips: 0.7 flags on flowers, up to 7
# on cifar10; with the test, none on 6 seeds of flowers and cifar10, at most 1 on hymenoptera (bench/README.md)
SURE_ALONE = 0.9  # without that evidence, a label is still listed from this chance: one plain slip among 45 labels
# (the model 99% sure of another class) made a ratio of only 1.6, a softer temperature explaining it nearly as well
MIN_CLASS_LABELS = 5  # a class needs this many labels before any of them is doubted: a head that saw 3 of
# them says little about the 4th (cifar10, 50 clean labels, a class with 1 and one with 2 labels: 5 flags)


@dataclass
class ThresholdChoice:
    """The default accept threshold, or None with a reason; `precision` is its lower bound at BOUND_LEVEL."""

    threshold: float | None
    precision: float | None
    reason: str | None = None  # "few-labels" or "not-shown" when threshold is None
    best: tuple[float, float] | None = None  # (threshold, bound) of the best one tried, when none qualified


def _clopper_pearson_lower(right: int, n: int, level: float = BOUND_LEVEL) -> float:
    """The one-sided Clopper-Pearson lower bound, at `level`, of a share seen as `right` of `n`."""
    from scipy.special import betaincinv
    return 0.0 if right == 0 else float(betaincinv(right, n - right + 1, 1 - level))


def precision_bound(conf: np.ndarray, right: np.ndarray, pool_conf: np.ndarray, threshold: float,
                    level: float = BOUND_LEVEL) -> float | None:
    """A lower bound, at `level`, of the share right among suggestions at or above `threshold`: Clopper-Pearson
    on the person's labelled photos whose out-of-fold confidence reaches it (`conf`, `right`); None when fewer
    than MIN_ABOVE of them do, or none of the unlabelled photos (`pool_conf`) does: nothing to promise.

    Measured, and kept simple on purpose: weighting bands of confidence by where the unlabelled photos lie
    (a tighter bound in theory) stated 4-10 points more than the truth on synthetic pools whose labels came from
    ask_next, as it trusted the few labelled photos of the top bands; this bound, over every labelled photo
    above the threshold, stayed within 3 points (bench/README.md)."""
    above = conf >= threshold
    if above.sum() < MIN_ABOVE or not (pool_conf >= threshold).any():
        return None
    return _clopper_pearson_lower(int(right[above].sum()), int(above.sum()), level)


def choose_threshold(conf: np.ndarray | None, right: np.ndarray | None, pool_conf: np.ndarray,
                     target: float = TARGET_PRECISION, level: float = BOUND_LEVEL) -> ThresholdChoice:
    """The lowest of THRESHOLDS whose precision bound on the unlabelled photos reaches `target`; None with the
    reason "few-labels" (no out-of-fold predictions yet) or "not-shown" (none of them qualifies)."""
    if conf is None or right is None:
        return ThresholdChoice(None, None, "few-labels")
    chosen, best = None, None
    for t in THRESHOLDS:
        bound = precision_bound(conf, right, pool_conf, t, level)
        if bound is None:
            continue
        if best is None or bound > best[1]:
            best = (t, bound)
        if bound >= target:
            chosen = (t, bound)
            break
    if chosen is None:
        return ThresholdChoice(None, None, "not-shown", best)
    return ThresholdChoice(chosen[0], chosen[1])


def candidate_threshold(conf: np.ndarray | None, right: np.ndarray | None,
                        target: float = TARGET_PRECISION) -> float:
    """Where the point estimate alone would put the threshold: the lowest confidence at which, and at every
    higher one with MIN_ABOVE predictions, the out-of-fold predictions are `target` right (NO_THRESHOLD if
    none). Not a promise: it only aims the photos asked to check the suggestions (ask_next's audit)."""
    if conf is None or right is None:
        return NO_THRESHOLD
    chosen = NO_THRESHOLD
    for t in reversed(THRESHOLDS):
        above = conf >= t
        if above.sum() < MIN_ABOVE:
            continue
        if right[above].mean() < target:
            break
        chosen = t
    return chosen


# ---------------------------------------------------------------------------------------------- suspects

def _calibrated(probs: np.ndarray, temperature: float) -> np.ndarray:
    """`probs` sharpened (temperature < 1) or softened (> 1): softmax(log p / T)."""
    z = np.log(np.clip(probs, 1e-9, 1.0)) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


SLIP_GRID = np.linspace(0.0, 0.5, 51)  # shares of slips tried (the likelihood is flat near 0: no local search)


def _slip_fit(probs: np.ndarray, y: np.ndarray, slips: float) -> tuple[float, float]:
    """(negative log-likelihood, temperature) of the labels under the slip model with this share of slips, at
    the best temperature (bounded 1-D search)."""
    from scipy.optimize import minimize_scalar
    k, rows = probs.shape[1], np.arange(len(y))

    def loss(log_t: float) -> float:
        given = _calibrated(probs, float(np.exp(log_t)))[rows, y]
        return -float(np.log(given * (1 - slips) + (1 - given) * slips / (k - 1) + 1e-12).sum())

    fit = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-3})
    return float(fit.fun), float(np.exp(fit.x))


def _slip_model(probs: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(temperature, share of slips, likelihood-ratio statistic against no slips at all) making the given labels
    likeliest: a label is the photo's class (with the calibrated probability) with chance 1 - slips, else any
    other class alike. Each share on SLIP_GRID gets its best temperature, then the best pair wins: a local
    search from a few starts found different optima with the threads' rounding (5 or 28 suspects, same labels)."""
    none, _ = _slip_fit(probs, y, 0.0)
    best = (none, 1.0, 0.0)
    for slips in SLIP_GRID[1:]:
        loss, temperature = _slip_fit(probs, y, float(slips))
        if loss < best[0] - 1e-9:
            best = (loss, temperature, float(slips))
    if best[2] == 0.0:
        best = (none, _slip_fit(probs, y, 0.0)[1], 0.0)
    return best[1], best[2], 2 * (none - best[0])


def wrong_chance(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """(each label's chance of being wrong, the likelihood-ratio statistic of any slips at all) under the slip
    model fitted to these labels (`probs`: out-of-fold probabilities, `y`: the given classes)."""
    temperature, slips, evidence = _slip_model(probs, y)
    given = _calibrated(probs, temperature)[np.arange(len(y)), y]
    other = (1 - given) * slips / (probs.shape[1] - 1)
    return other / (given * (1 - slips) + other + 1e-12), evidence


def judge_labels(probs: np.ndarray | None, y: np.ndarray,
                 rank_probs: np.ndarray | None = None) -> list[tuple[int, int, float, float, str]]:
    """(row, suggested class, score, chance the label is wrong, "likely" or "possible") for the labels whose
    chance of being wrong (under the slip model on `rank_probs`, the more regularised heads', if given: fitted on
    `probs`, heads that had learned the other folds' slips let a softer temperature explain 20 wrong labels of
    200 and listed none of them; else on `probs`) is POSSIBLE or more where the labels show slips at all
    (likelihood ratio against none of at least SLIP_EVIDENCE), SURE_ALONE or more where they do not. Most doubtful
    first by `score`:
    the probability `rank_probs` (a more regularised head's, if given; else `probs`) gives the given class over
    the likeliest class. Only labels of classes with MIN_CLASS_LABELS labels are judged (and fitted on); none
    when fewer than two such classes."""
    if probs is None:
        return []
    counts = np.bincount(y, minlength=probs.shape[1])
    judged = np.flatnonzero(counts[y] >= MIN_CLASS_LABELS)
    present = np.unique(y[judged])
    if len(present) < 2:
        return []
    fitted = probs if rank_probs is None else rank_probs
    sub = fitted[np.ix_(judged, present)]
    sub = sub / np.maximum(sub.sum(1, keepdims=True), 1e-12)
    chance, evidence = wrong_chance(sub, np.searchsorted(present, y[judged]))
    # one blatant slip among clean labels is weak evidence of slips overall, but strong evidence about itself
    floor = POSSIBLE if evidence >= SLIP_EVIDENCE else SURE_ALONE
    ranker = probs if rank_probs is None else rank_probs
    out = []
    for j in np.flatnonzero(chance >= floor):
        row = int(judged[j])
        others = probs[row].copy()
        others[y[row]] = -1
        score = float(ranker[row, y[row]] / max(ranker[row].max(), 1e-12))
        strength = "likely" if chance[j] >= LIKELY else "possible"
        out.append((row, int(others.argmax()), score, float(chance[j]), strength))
    return sorted(out, key=lambda o: (o[2], -o[3]))
