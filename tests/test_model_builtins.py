"""Model specs (build_model / parse_model_spec), the built-in training-free models, wrap_module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from unitrack.model import (
    AppearanceModel,
    ColorStatsModel,
    FeatureExtractor,
    TextureModel,
    build_model,
    list_builtin_models,
    parse_model_spec,
)
from unitrack.model.texture import rgb_to_lab


def test_parse_specs():
    assert parse_model_spec("resnet18").kwargs == {"arch": "resnet18", "pretrained": True}
    assert parse_model_spec("imagenet50").kwargs == {"arch": "resnet50", "pretrained": True}
    assert parse_model_spec("resnet18:random").kwargs == {"arch": "resnet18"}
    assert parse_model_spec("random50@layer4,seed=3").kwargs == {"arch": "resnet50", "layer": 4, "seed": 3}
    k = parse_model_spec("resnet50:/ckpt/swav.pth@l4,format=ssl,norm=imagenet,trust").kwargs
    assert k == {
        "arch": "resnet50",
        "weights": "/ckpt/swav.pth",
        "layer": 4,
        "weights_format": "ssl",
        "normalization": "imagenet",
        "trust_checkpoint": True,
    }
    assert parse_model_spec("crw:/c/crw.pth").kwargs == {
        "arch": "resnet18",
        "weights": "/c/crw.pth",
        "weights_format": "crw",
    }
    assert parse_model_spec("ssib:/c/s.pth@layer4").kwargs["layer"] == 4
    assert parse_model_spec("mocov2:/c/m.pth").kwargs["arch"] == "resnet50"
    # an '@' that is not an option list belongs to the path
    assert parse_model_spec("resnet18:/data/run@2021/ckpt.pth").kwargs["weights"] == "/data/run@2021/ckpt.pth"
    assert parse_model_spec("color").kind == "color" and parse_model_spec("texture").kind == "texture"


@pytest.mark.parametrize(
    "bad,match",
    [
        ("", "non-empty"),
        ("resnet19", "unknown model"),
        ("crw", "needs a checkpoint path"),
        ("crw:random", "needs a checkpoint path"),
        ("color:x", "takes no source"),
        ("imagenet18:x", "alias"),
        ("resnet18:/x.pth@format=vince", "format='vince'"),
    ],
)
def test_parse_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        parse_model_spec(bad)


def test_build_builtins_and_paths(tmp_path):
    m = build_model("resnet18:random")
    assert isinstance(m, AppearanceModel) and "random-init" in m.name and m.out_channels == 256
    assert isinstance(build_model("color"), ColorStatsModel)
    assert isinstance(build_model("texture"), TextureModel)
    src = AppearanceModel("resnet18", seed=5, layer=4)
    torch.save(src.backbone.state_dict(), tmp_path / "ck.pth")
    m = build_model(f"{tmp_path / 'ck.pth'}@layer4")  # bare path: arch and format from the file
    assert m.arch == "resnet18" and m.layer == 4 and m.load_report.format == "torchvision"
    assert torch.equal(
        m.backbone.state_dict()["layer4.1.conv2.weight"], src.backbone.state_dict()["layer4.1.conv2.weight"]
    )
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        build_model(f"resnet18:{tmp_path / 'missing.pth'}")
    specs = list_builtin_models()
    assert {"resnet18:random", "resnet50:random", "color", "texture", "resnet18", "resnet50"} <= set(specs)


def test_wrap_any_stride8_module():
    net = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.AvgPool2d(8, 8, ceil_mode=True))
    m = build_model(net)
    assert isinstance(m, FeatureExtractor)
    f = m.features(np.zeros((17, 20, 3), np.uint8))
    assert tuple(f.shape) == (1, 5, 3, 3)
    assert build_model(m) is m


def test_rgb_to_lab_known_values():
    # CIE Lab (D65) of sRGB primaries / white / black from standard colour tables
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    lab = rgb_to_lab(rgb.view(5, 3, 1, 1)).view(5, 3)
    expected = torch.tensor(
        [[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [53.24, 80.09, 67.20], [87.73, -86.18, 83.18], [32.30, 79.19, -107.86]]
    )
    torch.testing.assert_close(lab, expected, atol=0.1, rtol=0)


@pytest.fixture(scope="module")
def texture():
    return TextureModel()


def test_texture_shapes_and_determinism(texture):
    assert texture.out_channels == 32 and len(list(texture.parameters())) == 0
    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (8, 8), (9, 17), (61, 90)]:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        f = texture.features(img)
        assert tuple(f.shape) == (1, 32, -(-h // 8), -(-w // 8))
        assert torch.isfinite(f).all()
        assert torch.equal(f, TextureModel().features(img))


def test_texture_flat_image(texture):
    img = np.full((32, 40, 3), 255, np.uint8)
    f = texture.features(img)[0]
    torch.testing.assert_close(
        f[0:3], torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1).expand(3, 4, 5), atol=2e-3, rtol=0
    )  # white: L = 100, a = b = 0
    assert float(f[3:].abs().max()) < 1e-3  # no colour spread, no texture, no gradients


def _stripes(vertical: bool, period: int = 4, size: int = 64) -> np.ndarray:
    coord = np.arange(size)
    wave = ((coord % period) < period // 2).astype(np.uint8) * 255
    img = np.tile(wave[None, :], (size, 1)) if vertical else np.tile(wave[:, None], (1, size))
    return np.repeat(img[:, :, None], 3, axis=2)


def test_texture_orientation_selectivity(texture):
    fv = texture.features(_stripes(True))[0, :, 2:6, 2:6].mean((1, 2))  # interior cells
    fh = texture.features(_stripes(False))[0, :, 2:6, 2:6].mean((1, 2))
    gabor_v, gabor_h = fv[6:12], fh[6:12]  # octave 0 (wavelength 4 px), orientations 0, 30, ..., 150 deg
    # vertical stripes vary along x: the 0-deg filter responds most; horizontal stripes: the 90-deg filter
    assert int(gabor_v.argmax()) == 0 and int(gabor_h.argmax()) == 3
    hog_v, hog_h = fv[24:32], fh[24:32]
    assert int(hog_v.argmax()) == 0 and int(hog_h.argmax()) == 4  # gradient orientation 0 vs 90 deg
    assert float(hog_v.norm()) > 0.5


def test_cli_models(tmp_path, capsys):
    import argparse

    from unitrack.model.cli import add_parser

    parser = argparse.ArgumentParser(prog="unitrack")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models"])
    assert args.func(args) == 0
    assert "resnet18:random" in capsys.readouterr().out
    src = AppearanceModel("resnet18", seed=2)
    torch.save({"model": {"encoder.model." + k: v for k, v in src.backbone.state_dict().items()}}, tmp_path / "crw.pth")
    args = parser.parse_args(["models", f"crw:{tmp_path / 'crw.pth'}", "--size", "20x30"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "format crw (given)" in out and "(1, 256, 3, 4)" in out and "0.4914" in out
    with pytest.raises(SystemExit):
        parser.parse_args(["models", "texture", "--size", "20by30"])


def test_compose_spec_and_availability(tmp_path, monkeypatch):
    from unitrack.model import compose_spec, imagenet_weights_available

    assert compose_spec("resnet50", weights="/c/swav.pth", layer=4) == "resnet50:/c/swav.pth@layer4"
    assert compose_spec("resnet18", weights="/c/x.pth", weights_format="crw") == "resnet18:/c/x.pth@format=crw"
    assert compose_spec("resnet18:random@layer4", layer=3) == "resnet18:random@layer3"
    assert compose_spec("texture") == "texture"
    assert parse_model_spec(compose_spec("ssib", weights="/c/s.pth", layer=4)).kwargs["layer"] == 4
    with pytest.raises(ValueError, match="already names its weights"):
        compose_spec("resnet18:/a.pth", weights="/b.pth")
    with pytest.raises(ValueError, match="takes no source"):
        compose_spec("texture", layer=4)
    with pytest.raises(ValueError, match="format="):
        compose_spec("resnet18", weights="/a.pth", weights_format="vince")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert not imagenet_weights_available("resnet18")
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth").write_bytes(b"x")
    assert imagenet_weights_available("resnet50") and not imagenet_weights_available("resnet18")
