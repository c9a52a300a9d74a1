"""Every backbone in the table (fewshot/backbones.py) trains, freezes and exports the way the app promises.

Random weights throughout (weights=None: no download) and 64 px inputs, so that even VGG16 stays quick.
"""
from __future__ import annotations

import numpy as np
import pytest

# fewshot before torch: importing fewshot sets OMP_WAIT_POLICY, which torch reads when it loads
from fewshot import Predictor, Preprocessing, TrainConfig, TrainedModel, export  # isort: skip
import torch  # isort: skip
from torchvision import models as tvm

from fewshot.backbones import BACKBONES, Backbone, backbone, fallback_order
from fewshot.budget import estimate_training
from fewshot.config import ARCHS, STAGES
from fewshot.errors import TrainingError
from fewshot.i18n import ZH, translate
from fewshot.images import center_view, decode_canvas
from fewshot.models import (build_model, cut_for_stage, freeze_for_stage, param_groups, set_train_mode,
                            split_backbone)
from tests.conftest import make_class_folders

PRE = Preprocessing(resize=72, crop=64)
CLASSES = ["cat", "dog", "fox"]


def _model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(arch, len(CLASSES), pretrained=False, pre=PRE)


def _photos(n: int = 2) -> torch.Tensor:
    return torch.rand(n, 3, PRE.crop, PRE.crop, generator=torch.Generator().manual_seed(1))


def test_the_table_lists_the_six_backbones_the_app_and_cli_offer():
    assert ARCHS == tuple(BACKBONES) == ("resnet18", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0",
                                         "resnet50", "vgg16")  # the page's list: the default, then by size
    assert all(isinstance(b, Backbone) and b.name == a for a, b in BACKBONES.items())
    # a missing backbone's stand-in is the smallest download whose weights are here, VGG16's 528 MB last
    assert fallback_order() == ("mobilenet_v2", "resnet18", "efficientnet_b0", "mobilenet_v3_large", "resnet50",
                                "vgg16")
    assert sorted(b.fallback_rank for b in BACKBONES.values()) == list(range(len(BACKBONES)))
    assert backbone("resnet18").label == "ResNet18" and backbone("vgg16").download_mb == 528
    # the GPU-time estimate (ZeroGPU) reads each row's cost: a slower network asks for more time
    cost = {a: estimate_training(1000, 200, a, "all").seconds for a in BACKBONES}
    assert cost["vgg16"] > cost["resnet50"] > cost["resnet18"]
    assert all(cost[a] < cost[b] for a in BACKBONES for b in BACKBONES
               if BACKBONES[a].forward_s < BACKBONES[b].forward_s)
    with pytest.raises(TrainingError, match="unknown backbone 'alexnet'; choose one of resnet18, mobilenet_v2"):
        backbone("alexnet")
    with pytest.raises(ValueError):  # what build_model raised for an unknown name before the table
        build_model("alexnet", 2, pretrained=False)


@pytest.mark.parametrize("arch", BACKBONES)
def test_each_backbone_has_page_text_in_both_languages_and_a_gpu_cost(arch):
    b = BACKBONES[arch]
    assert b.label and b.hint and b.download_mb > 0 and b.input_px == 224
    assert translate(b.hint, ZH) != b.hint  # the Chinese page translates the hint, keyed by this English
    assert 0 < b.forward_s < 0.01


@pytest.mark.parametrize("arch", BACKBONES)
def test_each_backbone_splits_into_a_cached_trunk_and_a_top_that_compute_the_whole_network(arch):
    model = _model(arch).eval()
    with torch.device("meta"):  # shapes only: VGG16's 138 M random numbers would take seconds to draw
        net = tvm.get_model(arch, weights=None)
    stages, _, neck, dim = split_backbone(arch, net)
    assert len(stages) == len(model.stages) == 3
    # nothing of torchvision's network is lost but the ImageNet classifier's last layer (fewshot's new head)
    last = [m for m in getattr(net, BACKBONES[arch].classifier).modules() if isinstance(m, torch.nn.Linear)][-1]
    n_params = lambda m: sum(p.numel() for p in m.parameters())
    assert n_params(model) - n_params(model.head) == n_params(net) - n_params(last)
    assert model.head[1].in_features == dim
    x = _photos()
    with torch.no_grad():
        whole = model(x)
        # the three stages end at 1/8, 1/16 and 1/32 of the photo's side, so "top" is the same part everywhere
        sides = [model.trunk(x, cut).shape[-1] for cut in (1, 2, 3)]
        assert sides == [PRE.crop // 8, PRE.crop // 16, PRE.crop // 32]
        assert whole.shape == (2, len(CLASSES))
        for stage in STAGES:  # what training caches (trunk), then what it trains (tail): the same logits
            cut = cut_for_stage(model, stage)
            trunk = model.trunk(x, cut)
            assert trunk.dim() == 4 and trunk.shape[0] == 2
            torch.testing.assert_close(model.tail(trunk, cut), whole, rtol=1e-4, atol=1e-5)
    assert [cut_for_stage(model, s) for s in STAGES] == [3, 2, 1, 0]


# The first weight of the penultimate and the last stage, as bundles saved before the table name them.
SAVED_NAMES = {
    "resnet18": ("stages.1.0.conv1.weight", "stages.2.0.conv1.weight"),
    "resnet50": ("stages.1.0.conv1.weight", "stages.2.0.conv1.weight"),
    "mobilenet_v2": ("stages.1.7.conv.0.0.weight", "stages.2.14.conv.0.0.weight"),
    "mobilenet_v3_large": ("stages.1.7.block.0.0.weight", "stages.2.13.block.0.0.weight"),
    "efficientnet_b0": ("stages.1.4.0.block.0.0.weight", "stages.2.6.0.block.0.0.weight"),
    "vgg16": ("stages.1.17.weight", "stages.2.24.weight"),
}


@pytest.mark.parametrize("arch", BACKBONES)
def test_models_saved_before_the_table_still_find_their_weights(arch):
    names = [n for n, _ in _model(arch).named_parameters()]
    firsts = tuple(next(n for n in names if n.startswith(f"stages.{i}.")) for i in (1, 2))
    assert firsts == SAVED_NAMES[arch]


@pytest.mark.parametrize("arch", BACKBONES)
def test_each_stage_unfreezes_exactly_the_layers_it_names(arch):
    model = _model(arch)
    parts = {"head": ["head"], "top": ["head", "neck", "stages.2"], "top2": ["head", "neck", "stages.1", "stages.2"],
             "all": ["head", "neck", "stages.0", "stages.1", "stages.2"]}
    for stage in STAGES:
        freeze_for_stage(model, stage)
        set_train_mode(model, stage)
        for name, p in model.named_parameters():
            assert p.requires_grad == name.startswith(tuple(f"{part}." for part in parts[stage])), (stage, name)
        frozen = list(model.stages[:cut_for_stage(model, stage)])
        # frozen BatchNorm keeps ImageNet's statistics: it stays in evaluation mode while the rest trains
        assert not any(m.training for s in frozen for m in s.modules())
        assert all(m.training for s in model.stages[cut_for_stage(model, stage):] for m in s.modules())


@pytest.mark.parametrize("arch", BACKBONES)
def test_a_training_step_changes_the_top_and_leaves_the_frozen_layers_as_they_were(arch):
    model = _model(arch)
    freeze_for_stage(model, "top")
    set_train_mode(model, "top")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(param_groups(model, "top", 0.1, 0.1, 1e-4), lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(_photos(4)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    opt.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert not [k for k in changed if not k.startswith(("head.", "neck.", "stages.2."))]
    assert {"head.1.weight", "head.1.bias"} <= changed
    assert any(k.startswith("stages.2.") and k.endswith("weight") for k in changed)  # the last block learned


@pytest.fixture(scope="module")
def photo_paths(tmp_path_factory) -> list[str]:
    root = make_class_folders(tmp_path_factory.mktemp("photos"), {c: 2 for c in CLASSES}, size=80)
    return sorted(str(p) for p in root.rglob("*.png"))


# TorchScript for all six; ONNX for ResNet18 only, the default backbone: ONNX for all six passed too but
# took 67 s on 2 cores (VGG16 alone 20 s), more than the rest of this file together. tests/test_bundle_export.py
# exports a trained MobileNetV2 both ways.
@pytest.mark.parametrize("arch, fmt", [(a, "torchscript") for a in BACKBONES] + [("resnet18", "onnx")])
def test_each_backbone_exports_a_model_that_gives_the_apps_probabilities(arch, fmt, photo_paths, tmp_path):
    model = _model(arch).eval()
    with torch.no_grad():  # a random head gives near-uniform answers; a sharper one tests more digits
        model.head[1].weight.mul_(20.0)
    tm = TrainedModel(model, CLASSES, TrainConfig(arch=arch, pretrained=False, preprocessing=PRE))
    out = export(tm, fmt, tmp_path / ("m.pt" if fmt == "torchscript" else "m.onnx"))
    x = np.stack([center_view(decode_canvas(p, PRE), PRE) for p in photo_paths]).transpose(0, 3, 1, 2)
    x = np.ascontiguousarray(x, dtype=np.float32) / 255.0
    ref = Predictor(tm).probabilities(photo_paths).numpy()
    if fmt == "torchscript":
        got = torch.jit.load(str(out))(torch.from_numpy(x)).detach().numpy()
    else:
        import onnxruntime as ort
        got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    assert got.shape == ref.shape == (len(photo_paths), len(CLASSES))
    np.testing.assert_allclose(got, ref, atol=1e-4)
