"""Numbers a person can trust when the model helped label (fewshot/labelling.suggest, fewshot/label_trust.py).

Synthetic pools with known structure: classes as overlapping clusters of unit vectors (numpy), so the truth on
the photos nobody labelled is known and every test runs in seconds. The labels are the ones the Label step asks
for (ask_next, 10 at a time), answered from the truth.
"""
from __future__ import annotations

import numpy as np
import pytest

from fewshot.labelling import Pool, suggest, unit_rows

CLASSES = ["ant", "bee", "cat", "dog", "eel"]


def overlapping_pool(seed: int, per_class: int = 120, spread: float = 1.3, dim: int = 24) -> tuple[Pool, dict]:
    """Five classes whose clusters overlap (a head trained on all of them gets about 90% right; at spread 1.6,
    79%; at 1.0, 96%) and the truth."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(CLASSES), dim)) * 0.9
    X = np.concatenate([c + spread * rng.normal(size=(per_class, dim)) for c in centres])
    names = [f"p{i:04d}.jpg" for i in range(len(X))]
    truth = {n: CLASSES[i // per_class] for i, n in enumerate(names)}
    order = rng.permutation(len(X))  # the pile is unsorted
    names = [names[i] for i in order]
    return Pool("pile", names, names, ["0" * 40] * len(X), unit_rows(X[order]), [], "synthetic"), truth


def asked_labels(pool: Pool, truth: dict, count: int, seed: int) -> dict[str, str]:
    """`count` labels, 10 at a time, on the photos ask_next picks, answered from the truth."""
    labels: dict[str, str] = {}
    while len(labels) < count:
        labels.update({n: truth[n] for n in suggest(pool, labels, ask=10, seed=seed).ask_next})
    return labels


def with_check_set(pool: Pool, truth: dict, labels: dict[str, str], count: int, seed: int) -> tuple[dict, set]:
    """`labels` and `count` more on photos drawn at random from the rest of the pile (a check set), and the
    check photos' names: the only labels a threshold may rest on."""
    rng = np.random.default_rng(1000 + seed)
    rest = [n for n in pool.names if n not in labels]
    check = set(rng.choice(rest, count, replace=False).tolist())
    return {**labels, **{n: truth[n] for n in check}}, check


def precision_of(accepted: list[dict], truth: dict) -> float:
    return sum(truth[s["path"]] == s["label"] for s in accepted) / len(accepted)


def test_the_stated_precision_is_not_above_the_truth_on_the_photos_nobody_labelled():
    # before: stated 0.985 where 0.929 were right, 0.971 for 0.922, 0.957 for 0.900 (these pools, 60-120 labels)
    stated = []
    for seed in range(5):
        pool, truth = overlapping_pool(seed)
        for count in (60, 120):
            labels, check = with_check_set(pool, truth, asked_labels(pool, truth, count, seed), 80, seed)
            res = suggest(pool, labels, ask=0, seed=seed, held_out=check)
            if res.threshold_or_none() is None:
                assert res.accepted() == [] and res.accept_precision is None and res.threshold_note
                continue
            true = precision_of(res.accepted(), truth)
            assert res.accept_precision <= true + 0.03, (seed, count, res.accept_threshold, res.accept_precision, true)
            assert true >= 0.95, (seed, count, true)
            # the figure the page shows for a threshold the person picks is a bound too
            for t in (0.6, 0.8, 0.9):
                said, above = res.precision_at(t), [s for s in res.suggestions if s["confidence"] >= t]
                if said is not None and len(above) >= 20:
                    assert said <= precision_of(above, truth) + 0.03, (seed, count, t)
            stated.append(res.accept_precision)
    assert len(stated) >= 2 and all(0.95 <= p <= 1 for p in stated)  # it does promise, where it can


def test_when_the_labels_cannot_support_a_threshold_nothing_is_accepted_and_the_reason_is_given():
    pool, truth = overlapping_pool(7, spread=1.6)  # more overlap: 20 check photos cannot show 95% anywhere
    labels, check = with_check_set(pool, truth, asked_labels(pool, truth, 50, 7), 20, 7)
    res = suggest(pool, labels, ask=0, seed=7, held_out=check)
    assert res.threshold_or_none() is None and res.threshold_reason == "not-shown"
    assert res.accepted() == [] and res.accept_precision is None
    assert "20 check photos" in res.threshold_note and "Nothing is accepted by default" in res.threshold_note
    out = res.to_dict()
    assert out["accept_threshold"] is None and out["threshold_reason"] == "not-shown"
    from fewshot.cli.suggest import describe  # what `python -m fewshot suggest` prints
    assert any(line.startswith("No suggestion is accepted by default.") for line in describe(res))
    assert res.suggestions and all(s["confidence"] < res.accept_threshold for s in res.suggestions)


def test_without_photos_picked_at_random_nothing_is_promised_however_many_labels():
    # the photos a person chose or was asked about flatter the model: on flowers, a threshold judged on them
    # promised 95% where 91% of the 118 suggestions it accepted were right (tests/test_browser_label.py)
    pool, truth = overlapping_pool(2, spread=1.0)  # clean clusters: 200 chosen labels would have shown one
    res = suggest(pool, asked_labels(pool, truth, 200, 2), ask=0, seed=2)
    assert res.threshold_or_none() is None and res.threshold_reason == "no-random" and res.evidence == 0
    assert res.accepted() == [] and res.precision_at(0.5) is None
    assert "picked at random" in res.threshold_note and "Nothing is accepted by default" in res.threshold_note


def test_slips_among_the_labels_are_never_left_out_of_the_estimate():
    # 3 of 50 labels wrong: before, no threshold qualified on all labels and the estimate was made again on the
    # labels cleanlab did not doubt, which on clean labels are simply the easy ones (stated 1.0, true 0.92)
    for seed in range(3):
        pool, truth = overlapping_pool(seed)
        labels = asked_labels(pool, truth, 50, seed)
        for n in sorted(labels)[:3]:
            labels[n] = CLASSES[(CLASSES.index(labels[n]) + 1) % len(CLASSES)]
        labels, check = with_check_set(pool, truth, labels, 30, seed)
        res = suggest(pool, labels, ask=0, seed=seed, held_out=check)
        assert res.left_out == 0 and res.evidence == 30
        if res.accepted():
            assert res.accept_precision <= precision_of(res.accepted(), truth) + 0.03


def test_accepted_suggestions_change_neither_the_threshold_evidence_nor_the_suspects():
    pool, truth = overlapping_pool(3, spread=1.0)
    labels, check = with_check_set(pool, truth, asked_labels(pool, truth, 80, 3), 60, 3)
    alone = suggest(pool, labels, ask=10, seed=3, held_out=check)
    taken = {s["path"]: s["label"] for s in alone.suggestions[:150]}
    wrongly = {n: CLASSES[(CLASSES.index(c) + 1) % len(CLASSES)] for n, c in taken.items()}  # all of them wrong
    both = [suggest(pool, labels, ask=10, seed=3, accepted=a, held_out=check) for a in (taken, wrongly)]
    for res in both:
        assert res.evidence == 60
        assert np.array_equal(res.oof_confidence, alone.oof_confidence)
        assert np.array_equal(res.oof_right, alone.oof_right)
        assert res.suspects == alone.suspects
        assert not {s["path"] for s in res.suggestions} & set(taken)  # not suggested again
        assert not set(res.ask_next) & set(taken) and len(res.ask_next) == 10
    # their labels, right or wrong, move nothing: only which photos are left to accept
    assert (both[0].accept_threshold, both[0].accept_precision) == (both[1].accept_threshold, both[1].accept_precision)
    assert both[0].suggestions == both[1].suggestions
    # the model's doubts about accepted labels are listed apart, never among the person's suspects
    assert both[0].doubted_accepted == [] and len(both[1].doubted_accepted) >= 140


@pytest.mark.parametrize("seed", range(4))
def test_fifty_clean_labels_give_at_most_one_suspect(seed):
    pool, truth = overlapping_pool(seed)
    res = suggest(pool, asked_labels(pool, truth, 50, seed), ask=0, seed=seed)
    assert len(res.suspects) <= 1, res.suspects
    assert all(s["strength"] in ("likely", "possible") for s in res.suspects)


def test_a_plain_slip_is_a_likely_suspect_and_says_how_sure():
    pool, truth = overlapping_pool(1, spread=0.6)
    labels = asked_labels(pool, truth, 60, 1)
    clear = sorted(labels)[0]  # the clusters barely overlap here: any photo is a clear one
    labels[clear] = CLASSES[(CLASSES.index(truth[clear]) + 2) % len(CLASSES)]
    res = suggest(pool, labels, ask=0, seed=1)
    assert res.suspects[0]["path"] == clear and res.suspects[0]["strength"] == "likely"
    assert res.suspects[0]["suggested"] == truth[clear] and res.suspects[0]["wrong_chance"] >= 0.5


def test_among_200_labels_with_20_wrong_the_top_20_suspects_are_mostly_the_wrong_ones():
    found = []
    for seed in range(3):
        pool, truth = overlapping_pool(seed, spread=1.0)
        rng = np.random.default_rng(seed)
        names = list(rng.choice(pool.names, 200, replace=False))
        labels = {n: truth[n] for n in names}
        flipped = names[:20]  # a list: a set's order (string hashing) drew other wrong classes in each process
        for n in flipped:
            labels[n] = CLASSES[(CLASSES.index(truth[n]) + int(rng.integers(1, 5))) % len(CLASSES)]
        suspects = suggest(pool, labels, ask=0, seed=seed).suspects
        found.append(sum(s["path"] in flipped for s in suspects[:20]) / 20)
        print(f"seed {seed}: {len(suspects)} suspects, {found[-1]:.0%} of the top 20 wrong")
    assert np.mean(found) >= 0.7, found


def test_a_check_photos_label_never_shapes_a_suggestion_but_still_counts_as_evidence():
    # the check set grades the model that trains on accepted suggestions; heads that learned its labels made
    # suggestions near the check photos agree with them (bench/check_interval.py: stated 0.95-1.00 on the check
    # set where 0.81-0.87 were right on a held-out quarter of the pile)
    pool, truth = overlapping_pool(3)
    labels = asked_labels(pool, truth, 60, seed=3)
    check = set(list(labels)[:20])
    res = suggest(pool, labels, ask=0, seed=3, held_out=check)
    flipped = {n: (CLASSES[(CLASSES.index(c) + 1) % len(CLASSES)] if n in check else c) for n, c in labels.items()}
    again = suggest(pool, flipped, ask=0, seed=3, held_out=check)
    assert [(s["path"], s["label"], s["confidence"]) for s in res.suggestions] == \
        [(s["path"], s["label"], s["confidence"]) for s in again.suggestions]  # the check labels taught nothing
    assert res.evidence == again.evidence == 20  # and they are the evidence the threshold rests on
    right = {n: r for n, r in zip(labels, res.oof_right)}
    assert sum(not right[n] for n in check) < sum(not r for n, r in zip(flipped, again.oof_right) if n in check)
    learnt = suggest(pool, flipped, ask=0, seed=3)  # without held_out they would have
    assert [s["label"] for s in learnt.suggestions] != [s["label"] for s in again.suggestions]
