"""Labelling with the model's help (fewshot/labelling.py, `python -m fewshot suggest`, `train --labels`).

Pure maths on synthetic feature vectors; the pool, the CLI and training from a labels file on tiny generated
photos with MobileNetV2's ImageNet features (skipped with a reason where ../shared/weights is absent).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_class_folders
from tests.cli_inproc import run_cli

from fewshot.cli import main
from fewshot.errors import DataError
from fewshot import labelling
from fewshot.labelling import Pool, cold_start, pool_features, read_labels, suggest, unit_rows


def blobs(sizes: list[int], dim: int = 32, spread: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length vectors in well separated clusters of the given sizes, and each one's cluster."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[: len(sizes)] * 3
    X = np.concatenate([c + spread * rng.normal(size=(n, dim)) for c, n in zip(centres, sizes)])
    return unit_rows(X), np.repeat(np.arange(len(sizes)), sizes)


def synthetic_pool(X: np.ndarray) -> Pool:
    names = [f"p{i:03d}.jpg" for i in range(len(X))]
    return Pool("pool", names, names, ["0" * 40] * len(X), X, [], "synthetic")


@pytest.fixture
def pool_dir(tmp_path) -> Path:
    """Tiny photos of three colours in class folders (the folders are only a layout: suggest ignores them)."""
    return make_class_folders(tmp_path / "pool", {"red": 8, "green": 8, "blue": 8})


def write_labels(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("path,label\n" + "".join(f"{p},{label}\n" for p, label in rows))
    return path


# ------------------------------------------------------------------------------------ pure maths

def test_cold_start_with_no_labels_covers_every_cluster():
    X, cluster = blobs([30, 12, 8, 5])
    picks = cold_start(X, 4)
    assert sorted(cluster[picks]) == [0, 1, 2, 3]  # one typical photo of each, the small ones too
    # with one cluster already labelled, the next picks go to the clusters nobody has labelled
    labelled = list(np.flatnonzero(cluster == 0)[:3])
    picks = cold_start(X, 3, labelled)
    assert sorted(cluster[picks]) == [1, 2, 3] and not set(picks) & set(labelled)


def test_cold_start_on_a_pool_too_big_for_full_clustering_still_covers_every_cluster():
    X, cluster = blobs([600, 400, 200, 60], dim=128, spread=0.3, seed=3)  # past BIG_POOL: PCA + mini-batches
    assert len(X) > labelling.BIG_POOL
    picks = cold_start(X, 4)
    assert sorted(cluster[picks]) == [0, 1, 2, 3]


def test_ask_next_after_the_cold_start_still_asks_about_a_kind_of_photo_nobody_labelled():
    # cats and dogs overlap (the head is unsure between them); a third kind, never labelled, sits on the cats'
    # side, so the head calls it "cat" confidently: asking only where the head is unsure would never show it
    rng = np.random.default_rng(0)
    centres = np.zeros((3, 32))
    centres[0, 0], centres[1, :2], centres[2, [0, 2]] = 3, 2, 3
    X = unit_rows(np.concatenate([c + s * rng.normal(size=(n, 32))
                                  for c, s, n in zip(centres, (0.35, 0.35, 0.1), (40, 40, 25))]))
    kind = np.repeat([0, 1, 2], [40, 40, 25])
    pool = synthetic_pool(X)
    labels = {pool.names[i]: ["cat", "dog"][kind[i]] for k in (0, 1) for i in np.flatnonzero(kind == k)[:8]}
    res = suggest(pool, labels, ask=4)
    by_name = dict(zip(pool.names, kind))
    assert min(s["confidence"] for s in res.suggestions if by_name[s["path"]] == 2) > 0.8  # confidently "cat"
    asked = [by_name[n] for n in res.ask_next]
    assert len(asked) == 4 and 2 in asked and {0, 1} & set(asked) and not set(res.ask_next) & set(labels)


def test_one_class_only_gives_no_suggestions_but_ask_next_still_works():
    X, _ = blobs([20, 20, 20])
    pool = synthetic_pool(X)
    labels = {pool.names[0]: "cat", pool.names[1]: "cat"}
    res = suggest(pool, labels, ask=5)
    assert res.suggestions == [] and res.suspects == []
    assert len(res.ask_next) == 5 and not set(res.ask_next) & set(labels)


def test_five_classes_of_one_label_each_besides_the_check_photos_still_get_suggestions():
    # found by the first-user walk: 2 labels a class, one of them a check photo, left each class one label to
    # learn from, and the folds could not be drawn (the page's Label step failed on the next label)
    X, truth = blobs([12] * 5)
    pool = synthetic_pool(X)
    firsts = [int(np.flatnonzero(truth == c)[i]) for c in range(5) for i in (0, 1)]
    labels = {pool.names[i]: f"class {truth[i]}" for i in firsts}
    check = {pool.names[i] for i in firsts[1::2]}  # one of each class's two is a check photo
    res = suggest(pool, labels, ask=5, held_out=check)
    assert len(res.suggestions) == len(X) - len(labels)  # the one head suggests for every other photo
    assert res.threshold_or_none() is None  # and nothing is promised on so few


def test_a_flipped_label_shows_up_among_the_suspects():
    X, cluster = blobs([15, 15, 15], seed=1)
    pool = synthetic_pool(X)
    names = ["cat", "dog", "fox"]
    labels = {n: names[c] for n, c in zip(pool.names, cluster)}
    wrong = pool.names[3]  # a cat labelled dog
    labels[wrong] = "dog"
    res = suggest(pool, labels, ask=0)
    assert res.suspects and res.suspects[0]["path"] == wrong
    assert res.suspects[0]["given"] == "dog" and res.suspects[0]["suggested"] == "cat"
    assert res.ask_next == [] and res.suggestions == []  # everything is labelled


def test_suggestions_above_the_threshold_on_easy_data_are_right_and_ask_next_spreads_over_classes():
    X, cluster = blobs([40, 40, 40], spread=0.3, seed=2)
    pool = synthetic_pool(X)
    names = ["cat", "dog", "fox"]
    truth = dict(zip(pool.names, (names[c] for c in cluster)))
    labels = {pool.names[i]: names[cluster[i]] for c in range(3) for i in np.flatnonzero(cluster == c)[:10]}
    rest = [n for n in pool.names if n not in labels]
    check = {n: truth[n] for n in np.random.default_rng(2).choice(rest, 50, replace=False)}  # drawn at random
    labels.update(check)
    res = suggest(pool, labels, ask=6, held_out=check)
    assert len(res.suggestions) == len(X) - len(labels) and res.evidence == 50
    assert 0.5 <= res.accept_threshold <= 0.99 and res.threshold_reason is None
    assert res.accepted() and all(s["label"] == truth[s["path"]] for s in res.accepted())
    assert 0.95 <= res.accept_precision <= 1
    assert len(res.ask_next) == 6 and not set(res.ask_next) & set(labels)
    # 15 check photos, all right, cannot show 95% (15 of 15 right is compatible with 86%, 90% sure): no
    # threshold, and nothing accepted by default (before, the threshold was claimed from 15 labels)
    few = {pool.names[i]: names[cluster[i]] for c in range(3) for i in np.flatnonzero(cluster == c)[:5]}
    check = dict(list(check.items())[:15])
    res = suggest(pool, {**few, **check}, ask=6, held_out=check)
    assert res.threshold_reason == "not-shown" and res.threshold_or_none() is None and res.accepted() == []
    assert "15 check photos" in res.threshold_note and len(res.suggestions) == len(X) - 30


# ------------------------------------------------------------------------------------ photos and the CLI

def test_suggestions_for_every_unlabelled_photo_once_two_classes_are_labelled(with_weights, pool_dir):
    pool = pool_features(pool_dir, arch="mobilenet_v2")
    assert len(pool.names) == 24 and pool.features.shape[0] == 24
    assert np.allclose(np.linalg.norm(pool.features, axis=1), 1, atol=1e-4)
    labels = {"red/000.png": "red", "red/001.png": "red", "green/000.png": "green"}
    res = suggest(pool, labels, ask=4)
    assert {s["path"] for s in res.suggestions} == set(pool.names) - set(labels)
    assert all(s["label"] in ("red", "green") and 0 <= s["confidence"] <= 1 for s in res.suggestions)
    assert len(res.ask_next) == 4 and not set(res.ask_next) & set(labels)


def test_features_streamed_in_chunks_equal_one_pass_and_come_back_from_the_cache(with_weights, pool_dir,
                                                                                  monkeypatch, tmp_path):
    monkeypatch.setenv("FEWSHOT_CACHE_DIR", str(tmp_path / "one"))
    whole = pool_features(pool_dir, arch="mobilenet_v2")  # 24 photos, one chunk
    monkeypatch.setenv("FEWSHOT_CACHE_DIR", str(tmp_path / "streamed"))
    monkeypatch.setattr(labelling, "POOL_CHUNK", 5)  # 5 chunks: 5, 5, 5, 5, 4
    seen = []
    streamed = pool_features(pool_dir, arch="mobilenet_v2", progress=lambda done, total: seen.append((done, total)))
    assert streamed.names == whole.names
    assert np.allclose(streamed.features, whole.features, atol=1e-5)
    assert seen[0] == (0, 24) and seen[-1] == (24, 24) and len(seen) == 6
    # the next call reads each photo's pooled row back instead of its maps or running the network
    pooled_dirs = list((tmp_path / "streamed").glob("*-pooled"))
    assert len(pooled_dirs) == 1 and len(list(pooled_dirs[0].glob("*.npy"))) == 24
    seen.clear()
    again = pool_features(pool_dir, arch="mobilenet_v2", progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(again.features, streamed.features) and seen == [(24, 24)]


def test_unreadable_photos_are_listed_as_skipped(with_weights, pool_dir):
    (pool_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (pool_dir / "green" / "empty.png").write_bytes(b"")
    pool = pool_features(pool_dir, arch="mobilenet_v2")
    skipped = dict(pool.skipped)
    assert set(skipped) == {"broken.jpg", "green/empty.png"} and all(skipped.values())
    res = suggest(pool, {}, ask=3)
    assert {s["path"] for s in res.skipped} == {"broken.jpg", "green/empty.png"}
    assert not {"broken.jpg", "green/empty.png"} & set(res.ask_next)


def test_labels_naming_photos_not_in_the_pool_are_a_clear_error(with_weights, pool_dir, tmp_path, capsys):
    csv = write_labels(tmp_path / "labels.csv", [("red/000.png", "red"), ("red/nope.png", "red")])
    assert main(["suggest", str(pool_dir), "--labels", str(csv), "--arch", "mobilenet_v2"]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "red/nope.png" in err and "not a photo in" in err
    pool = synthetic_pool(np.eye(4, dtype=np.float32))
    with pytest.raises(DataError, match="row 2"):
        read_labels(write_labels(tmp_path / "other.csv", [("../escape.jpg", "x")]), pool)


def test_ask_zero_asks_for_nothing(with_weights, pool_dir, tmp_path, capsys):
    csv = write_labels(tmp_path / "labels.csv", [("red/000.png", "red"), ("blue/003.png", "blue")])
    assert main(["suggest", str(pool_dir), "--labels", str(csv), "--ask", "0", "--arch", "mobilenet_v2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["ask_next"] == [] and len(out["suggestions"]) == 22


def test_suggest_json_shape_from_the_command_line(pretrained_home, pool_dir, tmp_path):
    cache = tmp_path / "cache"
    env = dict(TORCH_HOME=str(pretrained_home), FEWSHOT_CACHE_DIR=str(cache))
    csv = write_labels(tmp_path / "labels.csv", [("red/000.png", "red"), ("red/001.png", "red"),
                                                  ("green/000.png", "green"), ("green/001.png", "green")])
    (pool_dir / "broken.png").write_bytes(b"nope")

    def run(*extra: str) -> dict:  # python -m fewshot suggest, called in this process (tests/cli_inproc.py)
        p = run_cli("suggest", str(pool_dir), "--arch", "mobilenet_v2", "--json", *extra, env=env)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])

    first = run("--labels", str(tmp_path / "missing.csv"))  # no labels yet: a cold start
    assert set(first) == {"ask_next", "suggestions", "suspects", "accept_threshold", "accept_precision", "skipped",
                          "precision_level", "threshold_reason", "threshold_note", "evidence_labels",
                          "doubted_accepted"}
    assert first["accept_threshold"] is None and first["threshold_reason"] == "two-classes"
    assert len(first["ask_next"]) == 10 and first["suggestions"] == [] and first["suspects"] == []
    assert first["skipped"] == [{"path": "broken.png", "reason": first["skipped"][0]["reason"]}]
    assert any(cache.rglob("*.npy"))  # the features are cached for the next call, as training caches them
    check = write_labels(tmp_path / "check.csv", [("red/002.png", "red"), ("green/002.png", "green")])
    out = run("--labels", str(csv), "--check", str(check), "--ask", "3")
    assert len(out["ask_next"]) == 3 and len(out["suggestions"]) == 24 - 6
    assert set(out["suggestions"][0]) == {"path", "label", "confidence"}
    # 2 photos picked at random cannot support a threshold: none, with the reason in words
    assert out["accept_threshold"] is None and out["accept_precision"] is None and out["threshold_note"]
    assert out["evidence_labels"] == 2 and out["precision_level"] == 0.9
    assert all(set(s) == {"path", "given", "suggested", "score", "wrong_chance", "strength"} for s in out["suspects"])


def test_train_from_a_labels_file(with_weights, pool_dir, tmp_path, capsys):
    rows = [(f"{c}/{i:03d}.png", c) for c in ("red", "blue") for i in range(6)]
    csv = write_labels(tmp_path / "labels.csv", rows)
    out = tmp_path / "m.safetensors"
    assert main(["train", str(pool_dir), "--labels", str(csv), "--arch", "mobilenet_v2", "--epochs", "1",
                 "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["classes"] == ["blue", "red"] and out.is_file()  # green photos were not labelled: not a class


def test_the_risk_of_accepting_is_estimated_at_whatever_threshold_the_user_picks():
    import numpy as np
    from fewshot.labelling import MIN_ABOVE, Suggestions
    conf = np.array([0.55, 0.6, 0.65, 0.7, 0.8, 0.85, 0.9, 0.92, 0.95, 0.99])
    right = np.array([False, False, True, True, True, True, False, True, True, True])
    s = Suggestions([], [], [], 0.6, None, [], ["a", "b"], conf, right, at_random=np.ones(len(conf), bool))
    # a lower bound at 90%, never the point estimate (7 of 10 right at 0.5, 6 of 7 at 0.7): 10 labels say little
    assert 0.4 < s.precision_at(0.5) < 0.7 and 0.5 < s.precision_at(0.7) < 6 / 7
    assert (conf >= 0.91).sum() < MIN_ABOVE and s.precision_at(0.91) is None  # 3 above it: too few to say
    assert Suggestions([], [], [], 0.6, None, []).precision_at(0.7) is None  # nothing labelled: no estimate
    chosen = Suggestions([], [], [], 0.6, None, [], ["a", "b"], conf, right, at_random=np.zeros(len(conf), bool))
    assert chosen.precision_at(0.5) is None  # none of them picked at random: no estimate either
