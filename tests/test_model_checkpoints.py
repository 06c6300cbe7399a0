"""Checkpoint formats of SPEC §1.2: round trips, detection, partial-load semantics, errors, torch.load policy, hub
cache."""

from __future__ import annotations

import argparse
import fractions
import warnings

import numpy as np
import pytest
import torch

from unitrack.model import AppearanceModel, build_model, detect_format, find_imagenet_weights, read_checkpoint

_SOURCES: dict = {}


def _source_state(arch: str = "resnet18", layer: int = 3, seed: int = 11) -> dict[str, torch.Tensor]:
    """torchvision-keyed state dict of a random model whose weights differ from the default seed-0 init."""
    key = (arch, layer, seed)
    if key not in _SOURCES:
        m = AppearanceModel(arch, layer=layer, seed=seed, channels_last=False)
        g = torch.Generator().manual_seed(seed)
        sd = {k: v.clone() for k, v in m.backbone.state_dict().items()}
        for k, v in sd.items():  # random BN statistics too, so every tensor is checked
            if v.is_floating_point() and v.dim() == 1:
                sd[k] = torch.rand(v.shape, generator=g) + 0.5
        _SOURCES[key] = sd
    return _SOURCES[key]


def _assert_loaded(model: AppearanceModel, src: dict[str, torch.Tensor], keys=None):
    sd = model.backbone.state_dict()
    keys = keys if keys is not None else [k for k in src if not k.endswith("num_batches_tracked")]
    assert keys
    for k in keys:
        torch.testing.assert_close(sd[k].contiguous(), src[k].reshape(sd[k].shape), rtol=0, atol=0, msg=k)


def _quiet(**kw) -> AppearanceModel:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a full round trip must not warn about missing keys
        return AppearanceModel(**kw)


def test_torchvision_round_trip_with_fc_and_layer4_skipped(tmp_path):
    src = _source_state("resnet18", 4)
    ckpt = dict(src)
    ckpt["fc.weight"] = torch.randn(1000, 512)
    ckpt["fc.bias"] = torch.randn(1000)
    path = tmp_path / "tv.pth"
    torch.save(ckpt, path)
    m = _quiet(arch="resnet18", layer=3, weights=path)
    rep = m.load_report
    assert (rep.format, rep.detected, rep.prefix, rep.container) == ("torchvision", True, "", None)
    assert sorted(rep.skipped) == sorted(k for k in ckpt if k.startswith(("fc.", "layer4.")))
    assert rep.missing == [] and rep.unexpected == []
    _assert_loaded(m, src, [k for k in src if not k.startswith("layer4") and "num_batches" not in k])
    assert m.normalization == "imagenet"
    assert "torchvision(tv.pth)" in m.name
    text = str(rep)
    assert "torchvision (detected)" in text and f"skipped {len(rep.skipped)} (layer4.*: 30, fc.*: 2)" in text
    assert f"loaded {len(rep.loaded)} tensors" in text and "missing 0" in text

    m4 = _quiet(arch="resnet18", layer=4, weights=path, weights_format="torchvision")
    assert not m4.load_report.detected and m4.load_report.missing == []
    _assert_loaded(m4, src)


def test_dataparallel_prefix_accepted(tmp_path):
    src = _source_state()
    torch.save({"state_dict": {"module." + k: v for k, v in src.items()}}, tmp_path / "dp.pth")
    m = _quiet(arch="resnet18", weights=tmp_path / "dp.pth")
    assert (m.load_report.format, m.load_report.prefix, m.load_report.container) == (
        "torchvision",
        "module.",
        "state_dict",
    )
    _assert_loaded(m, src)


def test_crw_round_trip_with_namespace_and_head(tmp_path):
    src = _source_state()
    model = {"encoder.model." + k: v for k, v in src.items()}
    model["head.0.weight"] = torch.randn(128, 256)
    model["selfsim_fc.0.weight"] = torch.randn(128, 128)
    ckpt = {
        "model": model,
        "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]},
        "epoch": 3,
        "args": argparse.Namespace(lr=1e-4, model_type="scratch", remove_layers=["layer4"]),
    }
    path = tmp_path / "crw.pth"
    torch.save(ckpt, path)
    m = _quiet(arch="resnet18", weights=path)
    rep = m.load_report
    assert (rep.format, rep.container, rep.prefix) == ("crw", "model", "encoder.model.")
    assert set(rep.skipped) == {"head.0.weight", "selfsim_fc.0.weight"}
    assert m.normalization == "crw"  # CRW was trained with CIFAR statistics (SPEC §1.3)
    torch.testing.assert_close(m.mean.flatten(), torch.tensor([0.4914, 0.4822, 0.4465]))
    _assert_loaded(m, src)
    # explicit normalisation wins over the format's default
    assert AppearanceModel("resnet18", weights=path, normalization="imagenet").normalization == "imagenet"


def test_crw_conv1_dot_1_suffix_fixed_after_prefix_strip(tmp_path):
    # SPEC §9.1: the reference renames 'conv1.1.weight' -> 'conv1.weight' only on un-prefixed keys (never matches).
    src = _source_state()
    model = {"encoder.model." + k: v for k, v in src.items() if k != "conv1.weight"}
    model["encoder.model.conv1.1.weight"] = src["conv1.weight"]
    torch.save({"model": model}, tmp_path / "crw.pth")
    m = _quiet(arch="resnet18", weights=tmp_path / "crw.pth", weights_format="crw")
    assert "conv1.weight" in m.load_report.loaded
    _assert_loaded(m, src)


def test_mocov2_round_trip_resnet50(tmp_path):
    src = _source_state("resnet50", 3)
    sd = {"module.encoder_q." + k: v for k, v in src.items()}
    sd["module.encoder_q.fc.0.weight"] = torch.randn(8, 8)
    sd["module.encoder_q.fc.2.weight"] = torch.randn(4, 8)
    sd["module.encoder_k.conv1.weight"] = torch.zeros(64, 3, 7, 7)
    sd["module.encoder_k.layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    sd["module.queue"] = torch.randn(128, 16)
    torch.save({"state_dict": sd, "arch": "resnet50", "epoch": 200}, tmp_path / "moco.pth")
    m = _quiet(arch="resnet50", weights=tmp_path / "moco.pth")
    rep = m.load_report
    assert (rep.format, rep.prefix) == ("mocov2", "module.encoder_q.")
    assert {"fc.0.weight", "fc.2.weight", "module.queue", "module.encoder_k.conv1.weight"} <= set(rep.skipped)
    assert rep.unexpected == [] and rep.missing == []
    _assert_loaded(m, src)
    assert m.out_channels == 1024


@pytest.mark.parametrize(
    "fmt,prefix,container",
    [("ssib", "module.encoder.", None), ("uvc", "module.gray_encoder.", "state_dict"), ("ssl", "", None)],
)
def test_prefix_formats_round_trip(tmp_path, fmt, prefix, container):
    src = _source_state()
    sd = {prefix + k: v for k, v in src.items()}
    sd["module.other_head.weight"] = torch.randn(3, 3)
    ckpt = sd if container is None else {container: sd, "epoch": 1}
    torch.save(ckpt, tmp_path / f"{fmt}.pth")
    m = _quiet(arch="resnet18", weights=tmp_path / f"{fmt}.pth", weights_format=fmt)
    assert m.load_report.format == fmt and m.load_report.missing == []
    _assert_loaded(m, src)
    if fmt != "ssl":  # 'ssl' and 'torchvision' share a layout: auto reports 'torchvision'
        auto = _quiet(arch="resnet18", weights=tmp_path / f"{fmt}.pth")
        assert auto.load_report.format == fmt and auto.load_report.detected
        assert "module.other_head.weight" in auto.load_report.skipped


def test_timecycle_5d_weights_squeezed(tmp_path):
    src = _source_state()
    sd = {"module.encoderVideo." + k: (v.unsqueeze(2) if v.dim() == 4 else v) for k, v in src.items()}
    sd["module.afterconv1.weight"] = torch.randn(8, 8, 1, 1, 1)
    torch.save({"state_dict": sd}, tmp_path / "tc.pth")
    m = _quiet(arch="resnet18", weights=tmp_path / "tc.pth")
    rep = m.load_report
    assert rep.format == "timecycle"
    n_conv = sum(1 for v in src.values() if v.dim() == 4)
    assert len(rep.squeezed) == n_conv > 0
    _assert_loaded(m, src)
    # a real temporal kernel (size 3) cannot be squeezed
    sd["module.encoderVideo.conv1.weight"] = torch.randn(64, 3, 3, 7, 7)
    torch.save({"state_dict": sd}, tmp_path / "tc3.pth")
    with pytest.raises(ValueError, match="temporal size 3"):
        AppearanceModel("resnet18", weights=tmp_path / "tc3.pth")


def test_partial_load_missing_and_skip_keys(tmp_path):
    src = _source_state()
    torch.save({k: v for k, v in src.items() if not k.startswith("layer3.1.")}, tmp_path / "part.pth")
    fresh = AppearanceModel("resnet18", seed=0).backbone.state_dict()
    with pytest.warns(UserWarning, match="keep their seeded random init"):
        m = AppearanceModel("resnet18", weights=tmp_path / "part.pth")
    rep = m.load_report
    assert rep.missing and all(k.startswith("layer3.1.") for k in rep.missing)
    assert not any(k.endswith("num_batches_tracked") for k in rep.missing)
    sd = m.backbone.state_dict()
    assert all(torch.equal(sd[k], fresh[k]) for k in rep.missing)  # missing keys keep the seed-0 init
    _assert_loaded(m, src, [k for k in src if not k.startswith("layer3.1.") and "num_batches" not in k])
    with pytest.raises(ValueError, match="strict load failed"):
        AppearanceModel("resnet18", weights=tmp_path / "part.pth", strict=True)

    torch.save(src, tmp_path / "full.pth")
    with pytest.warns(UserWarning):
        m = AppearanceModel("resnet18", weights=tmp_path / "full.pth", skip_keys=["layer2"])
    assert m.load_report.skipped and all("layer2" in k for k in m.load_report.skipped)
    assert set(m.load_report.missing) == {k for k in fresh if k.startswith("layer2") and "num_batches" not in k}
    assert torch.equal(m.backbone.state_dict()["layer2.0.conv1.weight"], fresh["layer2.0.conv1.weight"])


def test_unexpected_keys_reported(tmp_path):
    src = dict(_source_state())
    src["layer3.0.se.fc.weight"] = torch.randn(4, 4)
    torch.save(src, tmp_path / "x.pth")
    m = _quiet(arch="resnet18", weights=tmp_path / "x.pth")
    assert m.load_report.unexpected == ["layer3.0.se.fc.weight"]
    with pytest.raises(ValueError, match="strict"):
        AppearanceModel("resnet18", weights=tmp_path / "x.pth", strict=True)


def test_error_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        AppearanceModel("resnet18", weights=tmp_path / "nope.pth")
    with pytest.raises(ValueError, match="is a directory"):
        AppearanceModel("resnet18", weights=tmp_path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint" * 20])
def test_error_unreadable_file(tmp_path, content):
    p = tmp_path / "bad.pth"
    p.write_bytes(content)
    with pytest.raises(RuntimeError, match="could not read checkpoint .*bad.pth"):
        AppearanceModel("resnet18", weights=p)


def test_error_truncated_file(tmp_path):
    torch.save(_source_state(), tmp_path / "ok.pth")
    data = (tmp_path / "ok.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="cut.pth"):
        read_checkpoint(tmp_path / "cut.pth")


def test_error_unknown_layout_lists_keys(tmp_path):
    torch.save({"net": {"backbone.stem.weight": torch.zeros(2)}, "step": 5}, tmp_path / "odd.pth")
    with pytest.raises(ValueError, match=r"unrecognised checkpoint layout.*'net'.*'step'"):
        AppearanceModel("resnet18", weights=tmp_path / "odd.pth")
    src = _source_state()
    torch.save({"weird.prefix." + k: v for k, v in src.items()}, tmp_path / "odd2.pth")
    with pytest.raises(ValueError, match=r"prefix 'weird.prefix.'.*weird\.prefix\.conv1\.weight"):
        AppearanceModel("resnet18", weights=tmp_path / "odd2.pth")
    with pytest.raises(ValueError, match="unrecognised"):
        detect_format([1, 2, 3])


def test_error_explicit_format_mismatch(tmp_path):
    src = _source_state()
    torch.save({"model": {"encoder.model." + k: v for k, v in src.items()}}, tmp_path / "crw.pth")
    with pytest.raises(
        ValueError, match=r"weights_format='mocov2'.*module\.encoder_q\..*looks like weights_format='crw'"
    ):
        AppearanceModel("resnet18", weights=tmp_path / "crw.pth", weights_format="mocov2")


def test_error_shape_mismatch_names_key(tmp_path):
    src = dict(_source_state())
    src["layer2.0.conv1.weight"] = torch.randn(128, 64, 5, 5)
    torch.save(src, tmp_path / "shape.pth")
    with pytest.raises(
        ValueError, match=r"'layer2.0.conv1.weight': checkpoint \[128, 64, 5, 5\] vs model \[128, 64, 3, 3\]"
    ):
        AppearanceModel("resnet18", weights=tmp_path / "shape.pth")


def test_error_wrong_arch(tmp_path):
    torch.save(_source_state("resnet50", 3), tmp_path / "r50.pth")
    with pytest.raises(ValueError, match="holds a resnet50 backbone.*arch='resnet18'.*pass arch='resnet50'"):
        AppearanceModel("resnet18", weights=tmp_path / "r50.pth")
    m = _quiet(arch="auto", weights=tmp_path / "r50.pth")  # or let the file decide
    assert m.arch == "resnet50" and m.out_channels == 1024
    torch.save(_source_state("resnet18", 3), tmp_path / "r18.pth")
    with pytest.raises(ValueError, match="holds a resnet18 backbone.*arch='resnet50'"):
        AppearanceModel("resnet50", weights=tmp_path / "r18.pth")
    with pytest.raises(ValueError, match="holds a resnet18 backbone.*arch='resnet34'"):  # same blocks, fewer
        AppearanceModel("resnet34", weights=tmp_path / "r18.pth")


def test_error_nothing_matches(tmp_path):
    # only parts a layer3 model does not build, plus a key naming nothing: nothing to load is an error
    torch.save(
        {
            "fc.weight": torch.zeros(1000, 512),
            "layer4.0.conv1.weight": torch.zeros(512, 256, 3, 3),
            "layer1.extra": torch.zeros(1),
        },
        tmp_path / "nothing.pth",
    )
    with pytest.raises(ValueError, match="no tensor of checkpoint .*nothing.pth.* matched"):
        AppearanceModel("resnet18", layer=3, weights=tmp_path / "nothing.pth", weights_format="torchvision")


def test_load_policy_allow_list_and_trust(tmp_path):
    src = _source_state()
    torch.save({"state_dict": src, "best": np.float64(0.5), "args": argparse.Namespace(a=1)}, tmp_path / "np.pth")
    ckpt = read_checkpoint(tmp_path / "np.pth")  # numpy scalar + Namespace are on the allow-list
    assert float(ckpt["best"]) == 0.5 and ckpt["args"].a == 1
    torch.save({"state_dict": src, "ratio": fractions.Fraction(1, 3)}, tmp_path / "obj.pth")
    with pytest.raises(RuntimeError, match=r"fractions\.Fraction.*trust_checkpoint=True"):
        AppearanceModel("resnet18", weights=tmp_path / "obj.pth")
    m = _quiet(arch="resnet18", weights=tmp_path / "obj.pth", trust_checkpoint=True)
    _assert_loaded(m, src)


def test_hub_cache_discovery(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    with pytest.raises(FileNotFoundError, match=r"resnet18-5c106cde\.pth, resnet18-f37072fd\.pth") as exc:
        AppearanceModel("resnet18", pretrained=True)
    assert str(folder) in str(exc.value)
    with pytest.raises(FileNotFoundError, match="hub"):
        build_model("resnet18")
    folder.mkdir(parents=True)
    src = _source_state("resnet18", 4)
    torch.save(
        {**src, "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}, folder / "resnet18-f37072fd.pth"
    )
    assert find_imagenet_weights("resnet18") == folder / "resnet18-f37072fd.pth"
    m = _quiet(arch="resnet18", pretrained=True)
    assert m.load_report.format == "torchvision" and "imagenet(resnet18-f37072fd.pth)" in m.name
    _assert_loaded(m, src, [k for k in src if not k.startswith("layer4") and "num_batches" not in k])
    assert build_model("resnet18").name == m.name
    # the V1 file the reference uses is preferred when both are present
    torch.save(src, folder / "resnet18-5c106cde.pth")
    assert find_imagenet_weights("resnet18").name == "resnet18-5c106cde.pth"
    with pytest.raises(FileNotFoundError, match=r"resnet50-19c8e357\.pth"):
        find_imagenet_weights("resnet50")
