"""Shared fixtures: tiny generated photos, a temporary TORCH_HOME with real weights, shared data."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def _share_the_cores() -> None:
    """Under pytest-xdist each worker's maths (PyTorch's OpenMP, OpenBLAS, onnxruntime, which follows
    PyTorch), and the app servers and command lines it starts, take the worker's share of the cores: two
    workers each running a thread per core on a 2-core machine wait on each other's spinning threads
    (tests/test_accuracy.py run twice at once: 78 s each, 69 s with one thread each). Set before numpy and
    torch are imported: they read it once. An explicit setting is kept."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        share = str(max(1, cores // workers))
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, share)


_share_the_cores()

import numpy as np  # noqa: E402 (after the thread settings above)
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MOBILENET_FILE = "mobilenet_v2-b0353104.pth"

# Palette of clearly different class colours so a network trained from scratch can learn them.
COLOURS = [(220, 40, 40), (40, 160, 60), (40, 70, 220), (230, 200, 30), (150, 50, 180), (30, 190, 200)]


def make_image(path: Path, colour, seed: int, size: int = 40, fmt: str | None = None) -> Path:
    """A noisy picture dominated by `colour`, with a random brighter square."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(colour, np.float32) + rng.normal(0, 25, (size, size, 3)), 0, 255)
    x, y = rng.integers(0, size // 2, 2)
    arr[y:y + size // 3, x:x + size // 3] += 40
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(path, fmt)
    return path


def make_class_folders(root: Path, classes: dict[str, int], size: int = 40, seed: int = 0) -> Path:
    """root/<class>/<i>.png for {class: count}; returns root."""
    for k, (name, n) in enumerate(classes.items()):
        for i in range(n):
            make_image(root / name / f"{i:03d}.png", COLOURS[k % len(COLOURS)], seed * 1000 + k * 100 + i, size)
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own feature cache so runs never leak into each other or the user's home."""
    monkeypatch.setenv("FEWSHOT_CACHE_DIR", str(tmp_path_factory.mktemp("feature-cache")))


@pytest.fixture
def sess(tmp_path, monkeypatch):
    """A page session (fewshot.ui.tab.state.Session) with its folder under tmp; cleaned up after the test."""
    from fewshot.ui.tab.state import Session
    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    s = Session()
    yield s
    s.cleanup()


@pytest.fixture
def store(tmp_path):
    """A project store of its own under tmp."""
    from fewshot.project import ProjectStore
    return ProjectStore(tmp_path / "store")


@pytest.fixture
def photos(tmp_path) -> Path:
    """Two classes of 8 small photos, and one loose photo beside the class folders."""
    root = make_class_folders(tmp_path / "photos", {"cat": 8, "dog": 8}, size=24)
    make_image(root / "loose.png", (0, 0, 0), 77, 24)
    return root


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    return make_class_folders(tmp_path / "data", {"cat": 12, "dog": 12, "fox": 12})


def _shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI: .ci/run must run beside ../shared")
        pytest.skip(f"{path} not present (a user's clone has no ../shared)")
    return path


@pytest.fixture(scope="session")
def pretrained_home(tmp_path_factory) -> Path:
    """A TORCH_HOME whose hub cache holds torchvision's real MobileNetV2 ImageNet weights."""
    src = _shared_or_skip("weights", MOBILENET_FILE)
    home = tmp_path_factory.mktemp("torch-home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    shutil.copy(src, home / "hub" / "checkpoints" / MOBILENET_FILE)
    return home


@pytest.fixture
def with_weights(pretrained_home, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(pretrained_home))
    return pretrained_home


@pytest.fixture
def no_weights(tmp_path, monkeypatch) -> Path:
    """An empty TORCH_HOME and offline mode: what a fresh machine without internet sees."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.setenv("FEWSHOT_OFFLINE", "1")
    return tmp_path / "empty-torch-home"


@pytest.fixture(scope="session")
def shared_data():
    return lambda *parts: _shared_or_skip("data", *parts)


# ---- app fixtures (issue 3, owned by the app engineer) -------------------------------------------
# One launched app and one Chromium, shared by tests/test_app_client.py and tests/test_browser.py.
from conftest_app import app_server, browser, ui  # noqa: E402,F401
# ---- end of app fixtures ---------------------------------------------------------------------------
