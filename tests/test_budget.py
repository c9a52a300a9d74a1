"""GPU-time estimates for ZeroGPU Spaces (fewshot/budget.py): they grow with the job, and advice really fits."""
from __future__ import annotations

import pytest

from fewshot import budget as B


def test_estimate_grows_with_photos_epochs_and_what_learns():
    base = B.estimate_training(245, 153, "resnet18", "head", 10).seconds
    assert B.estimate_training(2450, 1530, "resnet18", "head", 10).seconds > base
    assert B.estimate_training(245, 153, "resnet18", "head", 30).seconds > base
    top = B.estimate_training(245, 153, "resnet18", "top", 10).seconds
    every = B.estimate_training(245, 153, "resnet18", "all", 10).seconds
    assert base < top < every
    assert B.estimate_training(245, 153, "resnet50", "top", 10).seconds > top  # a bigger network costs more
    assert B.estimate_training(245, 153, "resnet18", "top", 10, input_px=320).seconds > top  # so does a bigger input
    assert B.estimate_training(245, 153, photo_mb=3.0).seconds > B.estimate_training(245, 153, photo_mb=0.001).seconds
    # the fixed start-up is there even for a handful of photos, and one picture is quick to predict
    assert B.estimate_training(4, 2, epochs=1).seconds >= B.TRAIN_STARTUP_S
    assert B.estimate_predict(1) < B.estimate_predict(1, tta=True) < B.estimate_predict(100, tta=True)
    assert B.request_s(B.estimate_predict(1)) <= 15
    with pytest.raises(ValueError):
        B.estimate_training(10, 10, "alexnet")


def test_a_small_job_fits_with_no_message():
    fit = B.training_fit(245, 153, "resnet18", "head", 10, limit_s=120)
    assert fit.fits and fit.message == "" and fit.estimate_s <= 120


def test_a_big_job_does_not_fit_and_each_piece_of_advice_really_fits():
    n_train, n_val, epochs = 5000, 2000, 30
    fit = B.training_fit(n_train, n_val, "resnet18", "top", epochs, photo_mb=0.001, limit_s=120)
    assert not fit.fits and fit.estimate_s > 120
    assert f"about {B.request_s(fit.estimate_s)} s" in fit.message and "at most 120 s" in fit.message
    # fewer epochs, everything else the same
    assert 1 <= fit.epochs_that_fit < epochs
    assert f"Set Epochs to {fit.epochs_that_fit} instead of {epochs}." in fit.message
    assert B.estimate_training(n_train, n_val, "resnet18", "top", fit.epochs_that_fit, photo_mb=0.001).seconds <= 120
    assert B.estimate_training(n_train, n_val, "resnet18", "top", fit.epochs_that_fit + 1,
                               photo_mb=0.001).seconds > 120  # and it is the most that fits
    # fewer photos, same settings
    n = fit.photos_that_fit
    assert 2 <= n < n_train + n_val and f"Use about {n} photos instead of {n_train + n_val}." in fit.message
    tr = round(n_train * n / (n_train + n_val))
    assert B.estimate_training(tr, n - tr, "resnet18", "top", epochs, photo_mb=0.001).seconds <= 120
    # only the last layer learning
    assert fit.head_fits and "Let only the last layer learn" in fit.message
    assert B.estimate_training(n_train, n_val, "resnet18", "head", epochs, photo_mb=0.001).seconds <= 120
    # and at 60 epochs even the last layer alone would not fit: not offered
    longer = B.training_fit(n_train, n_val, "resnet18", "top", 60, photo_mb=0.001, limit_s=120)
    assert not longer.head_fits and "only the last layer" not in longer.message
    assert "Any one of these changes would make it fit." in longer.message


def test_when_nothing_fits_the_advice_says_where_it_does():
    fit = B.training_fit(20000, 5000, "vgg16", "all", 50, photo_mb=2.0, limit_s=30)
    assert not fit.fits and fit.epochs_that_fit == 0 and not fit.head_fits
    assert "own computer" in fit.message and "makes it fit" not in fit.message


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("FEWSHOT_GPU_MAX_S", raising=False)
    assert B.gpu_limit_s() == B.DEFAULT_GPU_MAX_S == 120
    monkeypatch.setenv("FEWSHOT_GPU_MAX_S", "300")
    assert B.gpu_limit_s() == 300
    assert B.training_fit(5000, 2000, "resnet18", "top", 30, photo_mb=0.001).limit_s == 300
    monkeypatch.setenv("FEWSHOT_GPU_MAX_S", "lots")
    assert B.gpu_limit_s() == 120  # nonsense falls back to the free tier rather than crash the app


def test_mean_photo_size_from_the_files(tmp_path):
    small, big = tmp_path / "a.jpg", tmp_path / "b.jpg"
    small.write_bytes(b"x" * 1000)
    big.write_bytes(b"x" * 3000)
    assert B.mean_photo_mb([small, big]) == pytest.approx(0.002)
    assert B.mean_photo_mb([tmp_path / "gone.jpg"]) == 0 and B.mean_photo_mb([]) == 0
