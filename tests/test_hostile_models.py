"""Hostile model files: refused with a plain reason, no payload ever runs, good models still load."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from fewshot import BundleError, Predictor, TrainedModel, load_bundle, save_bundle
from fewshot.models import build_model
from hostile_util import SMALL, encode, picture, tiny_config
from hostile_util import one_torch_thread  # noqa: F401 (autouse fixture)

CFG = tiny_config(arch="mobilenet_v2")  # the smallest bundle (about 9 MB) of the built-in backbones


class Payload:
    """Unpickling this creates `marker`: proof that a loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    tm = TrainedModel(build_model("mobilenet_v2", 2, pretrained=False, pre=SMALL).eval(), ["cat", "dog"], CFG)
    return save_bundle(tm, tmp_path_factory.mktemp("bundle") / "model.safetensors")


def _rewrite(src: Path, dst: Path, meta_changes: dict[str, str] | None = None) -> Path:
    """Copy a bundle with its metadata changed, tensors untouched."""
    data = src.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"].update(meta_changes or {})
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    dst.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])
    return dst


def test_pickle_payloads_are_refused_and_never_run(tmp_path):
    control = tmp_path / "control-ran"
    pickle.loads(pickle.dumps(Payload(control)))  # the payload is live: unpickling does create the file
    assert control.exists()
    marker = tmp_path / "payload-ran"
    files = {"model.safetensors": pickle.dumps(Payload(marker)), "model.pkl": pickle.dumps({"w": Payload(marker)}, 2)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    torch.save({"state_dict": Payload(marker)}, tmp_path / "model.pt")
    torch.save({"state_dict": Payload(marker)}, tmp_path / "renamed.safetensors")
    for name in list(files) + ["model.pt", "renamed.safetensors"]:
        with pytest.raises(BundleError, match=rf"{name} is not a fewshot model file: it looks like a pickle or "
                                              rf"PyTorch \.pt/\.pth file, which is never opened, for safety"):
            load_bundle(tmp_path / name)
    assert not marker.exists(), "a payload inside a model file ran"


@pytest.mark.parametrize("keep, words", [(0, "too short"), (5, "too short"), (60, "cut off: it ends inside its header"),
                                         (0.5, "damaged or truncated"), (-1, "damaged or truncated")])
def test_truncated_bundle(bundle, tmp_path, keep, words):
    data = bundle.read_bytes()
    n = int.from_bytes(data[:8], "little")
    cut = {0.5: len(data) // 2, -1: len(data) - 1}.get(keep, keep)
    if keep == 60:
        assert cut < 8 + n  # really inside the header
    (tmp_path / "cut.safetensors").write_bytes(data[:cut])
    with pytest.raises(BundleError, match=rf"cut.safetensors .*{words}"):
        load_bundle(tmp_path / "cut.safetensors")


def test_bundle_from_a_future_version(bundle, tmp_path):
    path = _rewrite(bundle, tmp_path / "future.safetensors", {"format_version": "99"})
    with pytest.raises(BundleError, match=r"future.safetensors was made by a newer fewshot \(format 99; this one "
                                          r"reads up to 1\)\. Update fewshot to open it\."):
        load_bundle(path)


def test_class_count_that_does_not_match_the_weights(bundle, tmp_path):
    path = _rewrite(bundle, tmp_path / "odd.safetensors", {"classes": json.dumps(["cat", "dog", "fox"])})
    with pytest.raises(BundleError, match=r"odd.safetensors names 3 classes but its weights have 2 outputs"):
        load_bundle(path)
    many = _rewrite(bundle, tmp_path / "many.safetensors", {"classes": json.dumps([f"c{i}" for i in range(10_001)])})
    with pytest.raises(BundleError, match=r"many.safetensors lists 10001 classes; a model needs between 2 and 10,000"):
        load_bundle(many)


@pytest.mark.parametrize("changes, words", [
    ({"format": "something-else"}, "not a fewshot model"),
    ({"format_version": "zero"}, "unknown format version"),
    ({"classes": "not json"}, "broken metadata"),
    ({"classes": json.dumps([1, 2])}, "class names are not a list of names"),
    ({"classes": json.dumps(["cat", "cat"])}, "a class name appears twice"),
    ({"config": json.dumps({"arch": "evil_net"})}, "broken metadata .*unknown backbone"),
    ({"config": json.dumps({"arch": "resnet18", "pretrained": False, "preprocessing": CFG.preprocessing.to_dict()})},
     "does not match the resnet18 architecture"),
    ({"config": json.dumps({**CFG.to_dict(), "preprocessing": None})}, "no preprocessing settings"),
    ({"config": json.dumps({**CFG.to_dict(), "preprocessing": {"resize": 10**6, "crop": 5, "mean": [0, 0, 0],
                                                               "std": [1, 1, 1]}})}, "impossible preprocessing"),
    ({"metrics": "[" * 100_000 + "]" * 100_000}, "broken metadata"),
    ({"history": json.dumps({"not": "a list"})}, "wrong kind"),
])
def test_inconsistent_metadata_is_refused(bundle, tmp_path, changes, words):
    path = _rewrite(bundle, tmp_path / "bad.safetensors", changes)
    with pytest.raises(BundleError, match=rf"bad.safetensors .*{words}"):
        load_bundle(path)


def test_missing_weights_and_foreign_safetensors(bundle, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(bundle, "pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys() if k != "head.1.bias"}
        meta = f.metadata()
    path = tmp_path / "holes.safetensors"
    save_file(state, path, metadata=meta)
    with pytest.raises(BundleError, match="does not match the mobilenet_v2 architecture"):
        load_bundle(path)
    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(BundleError, match="other.safetensors is a safetensors file but not a fewshot model"):
        load_bundle(tmp_path / "other.safetensors")
    with pytest.raises(BundleError, match="nowhere.safetensors could not be read"):
        load_bundle(tmp_path / "nowhere.safetensors")
    with pytest.raises(BundleError, match="could not be read"):
        load_bundle(tmp_path)


def test_a_good_bundle_still_loads_and_predicts_the_same(bundle, tmp_path):
    for bad in ("a", "b"):  # refusals leave nothing behind that would spoil the next load
        (tmp_path / f"{bad}.safetensors").write_bytes(b"\x80\x04junk")
        with pytest.raises(BundleError):
            load_bundle(tmp_path / f"{bad}.safetensors")
    tm = load_bundle(bundle)
    assert tm.classes == ["cat", "dog"] and tm.config == CFG
    image = encode(picture(30, 30), "PNG")
    again = load_bundle(bundle)
    assert Predictor(tm).predict_one(image, top_k=2) == Predictor(again).predict_one(image, top_k=2)
