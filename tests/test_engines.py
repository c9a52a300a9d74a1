"""The speed machinery must not change a single prediction: engines, feature store, augmentation."""
from __future__ import annotations

import numpy as np
import pytest

# fewshot before torch: importing fewshot sets OMP_WAIT_POLICY, which torch reads when it loads
from fewshot import Predictor, TrainConfig, TrainedModel, load_dataset, run_to_end, train  # isort: skip
import torch  # isort: skip
from fewshot.augment import _crops, _window_means, augment_maps, pools_globally
from fewshot.features import RAM_BUDGET, FeatureStore
from fewshot.models import build_model
from fewshot.runtime import (CanvasInput, OnnxForward, TorchForward, cpu_count, model_forward, onnx_dir,
                             pick_runtime)
from tests.conftest import make_class_folders


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return build_model("mobilenet_v2", 3, pretrained=False).eval()


def _crops_u8(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)


def test_engines_compute_what_the_model_computes(net, tmp_path):
    x = _crops_u8(3)
    with torch.inference_mode():
        ref_trunk = CanvasInput(net, 2)(torch.from_numpy(x))
        ref_logits = CanvasInput(net)(torch.from_numpy(x))
    rt = pick_runtime("cpu")
    torch_trunk = TorchForward(CanvasInput(net, 2), rt)(x)
    onnx_trunk = OnnxForward(CanvasInput(net, 2), 224, tmp_path / "t.onnx", threads=1)(x)
    scale = ref_trunk.abs().max().item()
    assert (torch_trunk - ref_trunk).abs().max().item() < 1e-4 * scale
    assert (onnx_trunk - ref_trunk).abs().max().item() < 1e-4 * scale
    assert (TorchForward(CanvasInput(net), rt)(x) - ref_logits).abs().max().item() < 1e-4 * ref_logits.abs().max()


def test_predictor_reuses_the_trunk_training_exported_and_agrees(net, monkeypatch, tmp_path):
    monkeypatch.setenv("FEWSHOT_CACHE_DIR", str(tmp_path))
    rt = pick_runtime("cpu")
    assert type(model_forward(net, rt, 224)).__name__ == "TorchForward"  # nothing exported yet: no export now
    module = CanvasInput(net, len(net.stages))
    OnnxForward(module, 224, onnx_dir() / f"{module.digest('224')}.onnx", threads=1)  # what training leaves
    fast = model_forward(net, rt, 224)
    assert type(fast).__name__ == "_TrunkThenTail"
    x = _crops_u8(2, seed=1)
    with torch.inference_mode():
        ref = CanvasInput(net)(torch.from_numpy(x)).softmax(1)
    assert (fast(x).softmax(1) - ref).abs().max().item() < 1e-4


def test_onnxruntime_keeps_to_the_thread_limit_an_operator_set_for_pytorch(net, monkeypatch, tmp_path):
    # OMP_NUM_THREADS=1 (or torch.set_num_threads) used to hold for PyTorch only: onnxruntime took every core
    monkeypatch.setenv("FEWSHOT_CACHE_DIR", str(tmp_path))
    module = CanvasInput(net, len(net.stages))
    OnnxForward(module, 224, onnx_dir() / f"{module.digest('224')}.onnx", threads=1)  # what training leaves
    before = torch.get_num_threads()
    try:
        for limit in (1, 2):
            torch.set_num_threads(limit)
            fast = model_forward(net, pick_runtime("cpu"), 224)
            assert fast.trunk.session.get_session_options().intra_op_num_threads == min(limit, cpu_count())
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("ram_mb", ["1024", "0"])
def test_feature_store_in_memory_and_spilled_to_disk_read_back_the_same(monkeypatch, tmp_path, ram_mb):
    monkeypatch.setenv("FEWSHOT_FEATURE_RAM_MB", ram_mb)
    monkeypatch.setenv("FEWSHOT_SPILL_DIR", str(tmp_path))
    used = RAM_BUDGET.used
    x = torch.randn(23, 16, 5, 5).half()
    store = FeatureStore(23, (16, 5, 5))
    assert store.on_disk == (ram_mb == "0")
    store.put(list(range(10)), x[:10])
    store.put([10], x[10:11])
    store.put(list(range(11, 23)), x[11:])
    idx = torch.tensor([22, 3, 4, 5, 0, 17])
    assert torch.equal(store[idx], x[idx]) and torch.equal(store[4:9], x[4:9]) and torch.equal(store[7], x[7])
    assert store[idx].is_contiguous(memory_format=torch.channels_last)  # the layout the tail trains fastest on
    del store
    assert RAM_BUDGET.used == used  # memory given back when the store goes


def test_training_with_spilled_features_matches_training_in_memory(monkeypatch, tmp_path):
    data = make_class_folders(tmp_path / "data", {"a": 8, "b": 8})
    ds = load_dataset(data)
    cfg = TrainConfig(arch="mobilenet_v2", pretrained=False, stage="top", epochs=2, batch_size=4)
    runs = []
    for ram_mb in ("1024", "0"):
        monkeypatch.setenv("FEWSHOT_FEATURE_RAM_MB", ram_mb)
        done = run_to_end(train(ds, cfg))
        runs.append(done)
    a, b = (d.model.model.state_dict() for d in runs)
    assert all(torch.allclose(a[k].float(), b[k].float()) for k in a)
    assert [h["val_loss"] for h in runs[0].history] == pytest.approx([h["val_loss"] for h in runs[1].history])


def test_pooled_window_means_are_crop_then_global_pool():
    x = torch.randn(6, 8, 7, 7)
    g = torch.Generator().manual_seed(3)
    y = _window_means(x, 0.5, g).view(6, 8)
    # the same draws, replayed
    g = torch.Generator().manual_seed(3)
    frac = 0.5 + 0.5 * torch.rand(6, 2, generator=g)
    kh, kw = (7 * frac[:, 0]).round().clamp(1, 7).long(), (7 * frac[:, 1]).round().clamp(1, 7).long()
    ys = (torch.rand(6, generator=g) * (7 - kh + 1)).long()
    xs = (torch.rand(6, generator=g) * (7 - kw + 1)).long()
    ref = torch.stack([x[i, :, ys[i]:ys[i] + kh[i], xs[i]:xs[i] + kw[i]].mean((1, 2)) for i in range(6)])
    assert torch.allclose(y, ref, atol=1e-6)
    assert len({(int(h), int(w)) for h, w in zip(kh, kw)}) > 1  # windows really vary


def test_crops_gather_the_same_in_either_memory_layout():
    x = torch.randn(5, 12, 9, 9)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = _crops(x, 0.6, g1, None)
    b = _crops(x.contiguous(memory_format=torch.channels_last), 0.6, g2, None)
    assert torch.equal(a, b) and a.shape[-1] < 9
    out = augment_maps(x, "light", torch.Generator().manual_seed(0))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_head_stage_pools_globally_and_top_does_not(net):
    assert pools_globally(net, len(net.stages))
    assert not pools_globally(net, len(net.stages) - 1)
    vgg_like = build_model("vgg16", 2, pretrained=False)
    assert not pools_globally(vgg_like, len(vgg_like.stages))  # a 7x7 pool: window means would be wrong


def test_predictor_answers_match_the_plain_model(net, tmp_path):
    img = tmp_path / "x.png"
    from PIL import Image
    Image.fromarray(_crops_u8(1, seed=5)[0]).save(img)
    tm = TrainedModel(net, ["a", "b", "c"], TrainConfig(arch="mobilenet_v2", pretrained=False))
    got = dict(Predictor(tm).predict_one(img, top_k=3))
    from fewshot.images import decode_canvas, center_view
    c = center_view(decode_canvas(str(img), tm.config.preprocessing), tm.config.preprocessing)
    with torch.inference_mode():
        ref = net(torch.from_numpy(np.ascontiguousarray(c))[None].permute(0, 3, 1, 2).float() / 255).softmax(1)[0]
    assert all(abs(got[k] - ref[i].item()) < 1e-4 for i, k in enumerate(["a", "b", "c"]))


def test_a_run_from_the_disk_cache_trains_exactly_like_a_run_without_it(with_weights, tiny_data):
    ds = load_dataset(tiny_data)
    cfg = TrainConfig(arch="mobilenet_v2", stage="top", epochs=2, batch_size=8)
    fresh = run_to_end(train(ds, cfg, feature_cache=False))
    run_to_end(train(ds, cfg.with_(epochs=1)))  # fills the cache
    cached = run_to_end(train(ds, cfg))
    a, b = fresh.model.model.state_dict(), cached.model.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["val_loss"] for h in fresh.history] == [h["val_loss"] for h in cached.history]
