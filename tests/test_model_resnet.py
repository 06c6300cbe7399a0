"""The stride-8 ResNet backbone (SPEC §1.1): torchvision naming, stride change, sizes, eval mode, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from unitrack.model import AppearanceModel, feature_size
from unitrack.model.resnet import infer_resnet_structure, resnet_arch_for_structure

# Published parameter counts of torchvision's resnet18 / resnet50 (including the 1000-way fc).
TV_PARAMS = {"resnet18": 11_689_512, "resnet50": 25_557_032}
FC_PARAMS = {"resnet18": 512 * 1000 + 1000, "resnet50": 2048 * 1000 + 1000}


_MODELS: dict = {}


def _model(arch: str, layer: int) -> AppearanceModel:
    """Shared default (seed 0) models: construction and first forwards dominate this file's run time."""
    if (arch, layer) not in _MODELS:
        _MODELS[(arch, layer)] = AppearanceModel(arch, layer=layer)
    return _MODELS[(arch, layer)]


@pytest.fixture
def r18_l4():
    return _model("resnet18", 4)


@pytest.fixture
def r50_l4():
    return _model("resnet50", 4)


def _n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_parameter_count_matches_torchvision_without_fc(arch, r18_l4, r50_l4):
    m = r18_l4 if arch == "resnet18" else r50_l4
    assert _n_params(m) + FC_PARAMS[arch] == TV_PARAMS[arch]
    sd = m.backbone.state_dict()
    assert not any(k.startswith(("fc.", "avgpool")) for k in sd)


def test_torchvision_key_names_and_shapes(r18_l4, r50_l4):
    sd18 = r18_l4.backbone.state_dict()
    assert tuple(sd18["conv1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(sd18["bn1.running_var"].shape) == (64,)
    assert tuple(sd18["layer1.0.conv1.weight"].shape) == (64, 64, 3, 3)
    assert tuple(sd18["layer3.0.downsample.0.weight"].shape) == (256, 128, 1, 1)
    assert tuple(sd18["layer3.0.downsample.1.running_mean"].shape) == (256,)
    assert tuple(sd18["layer4.1.conv2.weight"].shape) == (512, 512, 3, 3)
    assert "layer1.0.downsample.0.weight" not in sd18  # torchvision R18 has no downsample in layer1
    sd50 = r50_l4.backbone.state_dict()
    assert tuple(sd50["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd50["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd50["layer3.5.conv2.weight"].shape) == (256, 256, 3, 3)
    assert tuple(sd50["layer4.0.downsample.0.weight"].shape) == (2048, 1024, 1, 1)
    assert "layer3.6.conv1.weight" not in sd50
    # 4 stages of [2,2,2,2] BasicBlocks / [3,4,6,3] Bottlenecks, as torchvision
    assert infer_resnet_structure(sd18) == ("basic", (2, 2, 2, 2))
    assert infer_resnet_structure(sd50) == ("bottleneck", (3, 4, 6, 3))
    assert resnet_arch_for_structure(("bottleneck", (3, 4, 6, 3))) == "resnet50"


def test_layer3_model_does_not_build_layer4():
    m = AppearanceModel("resnet18", layer="layer3")
    assert m.layer == 3
    assert m.channels_last  # default on CPU
    assert m.backbone.layer4 is None
    assert not any(k.startswith("layer4") for k in m.backbone.state_dict())


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_stride_change_without_dilation(arch, r18_l4, r50_l4):
    m = r18_l4 if arch == "resnet18" else r50_l4
    n = 0
    for stage in (m.backbone.layer3, m.backbone.layer4):
        for conv in (c for c in stage.modules() if isinstance(c, nn.Conv2d)):
            assert conv.stride == (1, 1)
            assert conv.dilation == (1, 1)
            assert conv.padding == ((1, 1) if conv.kernel_size == (3, 3) else (0, 0))
            n += 1
    assert n > 0
    # the stage-1 downsample conv of layer2 keeps stride 2; conv1 keeps stride 2
    assert m.backbone.conv1.stride == (2, 2)
    assert m.backbone.layer2[0].downsample[0].stride == (2, 2)


@pytest.mark.parametrize(
    "arch,layer,channels", [("resnet18", 3, 256), ("resnet18", 4, 512), ("resnet50", 3, 1024), ("resnet50", 4, 2048)]
)
def test_channels_and_feature_sizes(arch, layer, channels):
    m = _model(arch, layer)
    assert m.out_channels == channels
    for h, w in [(1, 1), (9, 17), (31, 7)]:
        with torch.no_grad():
            out = m(torch.zeros(1, 3, h, w))
        assert tuple(out.shape) == (1, channels, -(-h // 8), -(-w // 8)), (h, w)


@pytest.mark.parametrize("hw,expected", [((480, 854), (60, 107)), ((608, 1088), (76, 136))])
def test_issue_feature_sizes(hw, expected):
    m = _model("resnet18", 3)
    with torch.no_grad():
        out = m(torch.zeros(1, 3, *hw))
    assert tuple(out.shape) == (1, 256, *expected)
    assert feature_size(*hw) == expected


def _ref_forward(sd: dict, x: torch.Tensor, bottleneck: bool, layers, out_layer: int) -> torch.Tensor:
    """Independent functional forward of torchvision's ResNet with layer3/4 strides set to 1."""

    def bn(t, p):
        return F.batch_norm(
            t, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, 1e-5
        )

    def conv(t, p, stride, pad):
        return F.conv2d(t, sd[p + ".weight"], stride=stride, padding=pad)

    x = F.max_pool2d(F.relu(bn(conv(x, "conv1", 2, 3), "bn1")), 3, 2, 1)
    for s in range(1, out_layer + 1):
        for b in range(layers[s - 1]):
            p = f"layer{s}.{b}"
            stride = 2 if (s == 2 and b == 0) else 1
            if bottleneck:
                out = F.relu(bn(conv(x, p + ".conv1", 1, 0), p + ".bn1"))
                out = F.relu(bn(conv(out, p + ".conv2", stride, 1), p + ".bn2"))
                out = bn(conv(out, p + ".conv3", 1, 0), p + ".bn3")
            else:
                out = F.relu(bn(conv(x, p + ".conv1", stride, 1), p + ".bn1"))
                out = bn(conv(out, p + ".conv2", 1, 1), p + ".bn2")
            if p + ".downsample.0.weight" in sd:
                idn = bn(conv(x, p + ".downsample.0", stride, 0), p + ".downsample.1")
            else:
                idn = x
            x = F.relu(out + idn)
    return x


@pytest.mark.parametrize(
    "arch,layer,channels_last", [("resnet18", 3, True), ("resnet18", 4, False), ("resnet50", 3, True)]
)
def test_forward_matches_functional_reference(arch, layer, channels_last):
    m = AppearanceModel(arch, layer=layer, seed=3, channels_last=channels_last)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial BN statistics so that BN placement matters
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(n, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(n, generator=g) * 0.1)
    x = torch.randn(2, 3, 19, 29, generator=g)
    sd = {k: v.contiguous() for k, v in m.backbone.state_dict().items()}
    layers = (2, 2, 2, 2) if arch == "resnet18" else (3, 4, 6, 3)
    with torch.no_grad():
        out = m(x)
        ref = _ref_forward(sd, x, arch == "resnet50", layers, layer)
    assert out.is_contiguous()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4 * float(ref.abs().max()))


def test_eval_mode_batch_independent():
    m = _model("resnet18", 3)
    assert not m.training and not any(mod.training for mod in m.modules())
    x = torch.randn(3, 3, 24, 32)
    with torch.no_grad():
        batched = m(x)
        single = torch.cat([m(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5)
    m.train()
    try:
        m.features(torch.rand(1, 3, 16, 16))  # features() always runs in eval mode
        assert not m.training and not any(mod.training for mod in m.modules())
    finally:
        m.eval()


def test_features_from_uint8_frames():
    m = _model("resnet18", 3)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (21, 30, 3), dtype=np.uint8) for _ in range(3)]
    f = m.features(frames, batch_size=2)
    assert tuple(f.shape) == (3, 256, 3, 4)
    assert not f.requires_grad
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(f, m((x - mean) / std), rtol=1e-4, atol=1e-5)


def test_random_init_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a = AppearanceModel("resnet18", layer=3, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = AppearanceModel("resnet18", layer=3, seed=7)
    c = AppearanceModel("resnet18", layer=3, seed=8)
    sa, sb, sc = (m.backbone.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["conv1.weight"], sc["conv1.weight"])
    assert "random-init" in a.name and "seed=7" in a.name
    # Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (64 * 7 * 7)) for conv1
    assert abs(float(sa["conv1.weight"].std()) - (2 / (64 * 49)) ** 0.5) < 0.003
    assert torch.equal(sa["bn1.weight"], torch.ones(64)) and torch.equal(sa["bn1.running_var"], torch.ones(64))


def test_normalization_presets():
    m = AppearanceModel("resnet18", normalization="crw")
    torch.testing.assert_close(m.mean.flatten(), torch.tensor([0.4914, 0.4822, 0.4465]))
    torch.testing.assert_close(m.std.flatten(), torch.tensor([0.2023, 0.1994, 0.2010]))
    m = AppearanceModel("resnet18")
    torch.testing.assert_close(m.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    m = AppearanceModel("resnet18", normalization=((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))
    torch.testing.assert_close(m.std.flatten(), torch.full((3,), 0.25))
    with pytest.raises(ValueError, match="normalization"):
        AppearanceModel("resnet18", normalization="cifar")
    with pytest.raises(ValueError, match="normalization"):
        AppearanceModel("resnet18", normalization=((0.5, 0.5), (1.0, 1.0)))


def test_argument_errors():
    with pytest.raises(ValueError, match="arch"):
        AppearanceModel("resnet19")
    with pytest.raises(ValueError, match="layer"):
        AppearanceModel("resnet18", layer=2)
    with pytest.raises(ValueError, match="weights_format"):
        AppearanceModel("resnet18", weights_format="vince")
    with pytest.raises(ValueError, match="arch='auto'"):
        AppearanceModel("auto")
    with pytest.raises(ValueError, match="mutually exclusive"):
        AppearanceModel("resnet18", weights="x.pth", pretrained=True)
    m = _model("resnet18", 3)
    with pytest.raises(ValueError, match=r"x: expected normalised images \[B, 3, H, W\]"):
        m(torch.zeros(1, 4, 8, 8))


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_matches_torchvision_when_installed(arch, tmp_path, device):
    """Parity with torchvision's ResNet modified as the reference does (skipped where torchvision is absent)."""
    torchvision = pytest.importorskip("torchvision")
    tv = getattr(torchvision.models, arch)(weights=None)
    for stage in (tv.layer3, tv.layer4):
        for conv in (c for c in stage.modules() if isinstance(c, nn.Conv2d)):
            conv.stride = (1, 1)
    tv.eval()
    torch.save(tv.state_dict(), tmp_path / "tv.pth")
    m = AppearanceModel(arch, layer=4, weights=tmp_path / "tv.pth", device=device)
    assert set(m.backbone.state_dict()) == {k for k in tv.state_dict() if not k.startswith("fc.")}
    assert m.load_report.missing == [] and m.load_report.unexpected == []
    x = torch.randn(1, 3, 45, 61)
    with torch.no_grad():
        ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
        out = m(x.to(device)).cpu()
    tol = 1e-3 if device.type == "cpu" else 1e-2  # cuDNN may use TF32 for float32 convolutions
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol * float(ref.abs().max()))
