"""Several tabs refreshing their suggestions at once (security issue, item 6).

cleanlab's find_label_issues keeps each call's arrays in module globals (for its worker processes), even with
n_jobs=1, so two threads in it at once read each other's arrays: 9 exceptions in 300 calls over two threads,
and "Something unexpected went wrong (ValueError...)" on the page. Pure maths on small random features.
"""
from __future__ import annotations

import sys
import threading

import numpy as np

from fewshot.label_maths import find_suspects, suspect_probs
from fewshot.labelling import Pool, suggest, unit_rows

THREADS = 4
CALLS = 300  # in all, over THREADS threads


def _noisy_task(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and labels of n photos in k classes, a tenth of them labelled wrongly.
    Every thread gets its own sizes, so a call that reads another's arrays fails or answers wrongly."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = unit_rows(np.eye(k, 16)[y] * 2 + 0.6 * rng.normal(size=(n, 16)))
    flip = rng.choice(n, n // 10, replace=False)
    y[flip] = (y[flip] + 1) % k
    return suspect_probs(X, y, k, seed=seed), y


def _hammer(work, threads: int = THREADS, switch_often: bool = True) -> list[BaseException]:
    """Run work(thread index) in `threads` threads started together; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run(t: int) -> None:
        start.wait()
        try:
            work(t)
        except BaseException as exc:  # noqa: BLE001 (every failure counts, whatever its kind)
            errors.append(exc)

    old = sys.getswitchinterval()
    # switching threads as often as possible, the race shows in a few calls rather than in thousands
    sys.setswitchinterval(1e-6 if switch_often else old)
    try:
        pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
    finally:
        sys.setswitchinterval(old)
    return errors


def test_300_suspect_computations_in_4_threads_raise_nothing_and_agree_with_one_thread():
    tasks = [_noisy_task(40 + 23 * t, 2 + t, seed=t) for t in range(THREADS)]
    expected = [find_suspects(oof, y) for oof, y in tasks]
    assert all(expected), "each task has suspects to find (else the test would prove little)"
    raised: list[BaseException] = []
    wrong: list[int] = []

    def work(t: int) -> None:
        oof, y = tasks[t]
        for _ in range(CALLS // THREADS):
            try:
                got = find_suspects(oof, y)
            except Exception as exc:  # counted, and the thread goes on: how many calls fail, not whether one does
                raised.append(exc)
                continue
            if got != expected[t]:
                wrong.append(t)

    assert _hammer(work) == []
    assert raised == [], f"{len(raised)} of {CALLS} concurrent calls raised, e.g. {raised[0]!r}"
    assert wrong == [], f"{len(wrong)} of {CALLS} concurrent calls found another call's suspects"


def _threads_per_library() -> dict[str, int]:
    from threadpoolctl import threadpool_info
    return {i["filepath"]: i["num_threads"] for i in threadpool_info()}


def test_suggestions_refreshed_in_several_tabs_at_once_all_come_back_and_leave_thread_counts_alone():
    """The page's whole refresh (head, folds, suspects, threshold, picks), four tabs, different pools. Each
    refresh runs its maths on one BLAS thread; the limit is process-wide (torch's OpenMP included), and
    overlapping refreshes once left the whole process on one thread for good (torch's training included)."""
    rng = np.random.default_rng(0)
    pools, labels = [], []
    for t in range(THREADS):
        k, n = 2 + t % 3, 60 + 10 * t
        X = unit_rows(np.eye(k, 16)[np.arange(n) % k] * 2 + 0.6 * rng.normal(size=(n, 16)))
        names = [f"p{i:03d}.jpg" for i in range(n)]
        pools.append(Pool("pool", names, names, ["0" * 40] * n, X.astype(np.float32), [], "synthetic"))
        given = {names[i]: f"c{i % k}" for i in range(0, n, 2)}
        for name in list(given)[:3]:  # a few wrong labels, so there are suspects to find
            given[name] = f"c{(int(given[name][1:]) + 1) % k}"
        labels.append(given)
    results: dict[int, list] = {t: [] for t in range(THREADS)}
    suggest(pools[0], labels[0], ask=5)  # every library it uses loaded before the count

    def work(t: int) -> None:
        for _ in range(2):
            results[t].append(suggest(pools[t], labels[t], ask=5, seed=0))

    from threadpoolctl import threadpool_limits
    with threadpool_limits(2):  # two threads, as on a user's 2-core machine (a test worker may run on one)
        before = _threads_per_library()
        assert set(before.values()) == {2}
        assert _hammer(work, switch_often=False) == []
        after = _threads_per_library()
    assert after == before
    for t in range(THREADS):
        assert len(results[t]) == 2
        assert results[t][0].suspects == results[t][1].suspects
