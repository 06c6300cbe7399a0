"""The precision setting (issue #15 points 1-3): ``precision="fp32" | "bf16" | "fp16"`` on the appearance model, every
head, ``unitrack eval`` / ``unitrack track`` (``--precision``), recorded in results and ``item.json``; what runs in
bf16 and what stays float32; bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import unitrack.propagation.box as box_mod
import unitrack.propagation.mask as mask_mod
from unitrack.evaluation.workitems import WorkItem, config_hash, execute_item
from unitrack.heads.mot import MOTHead
from unitrack.heads.poseprop import PosePropagator
from unitrack.heads.sot import make_tracker
from unitrack.heads.vos import VOSTracker
from unitrack.model import AppearanceModel, build_model, check_precision, precision_dtype

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _frames(n=3, H=64, W=80, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    return [np.roll(base, 2 * t, axis=1) for t in range(n)]


@pytest.fixture(scope="module")
def models():
    return {p: build_model("resnet18:random", precision=p) for p in ("fp32", "bf16")}


# ------------------------------------------------------------------------------------------------ the setting


def test_check_precision_names_the_option_and_what_is_supported():
    assert check_precision("bf16", "cpu") == "bf16"
    assert check_precision("fp16", "cuda") == "fp16"
    assert precision_dtype("bf16") == torch.bfloat16
    with pytest.raises(
        ValueError, match="--precision fp16: float16 runs on CUDA only; on cpu choose one of fp32, bf16"
    ):
        check_precision("fp16", "cpu", "--precision")
    with pytest.raises(ValueError, match=r"precision: expected one of fp32, bf16 \(fp16 on CUDA only\), got 'fp8'"):
        check_precision("fp8", "cpu")
    with pytest.raises(ValueError, match="precision fp16"):
        build_model("color", precision="fp16")
    with pytest.raises(ValueError, match="precision fp16"):
        AppearanceModel("resnet18", precision="fp16")


def test_bf16_backbone_runs_under_autocast_channels_last(models):
    img = _frames(1, 96, 128)[0]
    f32 = models["fp32"].features(img)
    f16 = models["bf16"].features(img)
    assert models["bf16"].precision == "bf16" and models["bf16"].channels_last
    assert f32.dtype == torch.float32 and f16.dtype == torch.bfloat16 and f16.shape == f32.shape
    cos = torch.nn.functional.cosine_similarity(f16.float(), f32, dim=1)
    assert float(cos.min()) > 0.999  # the same features, rounded (measured 0.99997 per point at 480x864)
    assert not torch.equal(f16.float(), f32)


def test_using_precision_is_temporary(models):
    m = models["fp32"]
    img = _frames(1, 32, 40)[0]
    with m.using_precision("bf16"):
        assert m.precision == "bf16" and m.features(img).dtype == torch.bfloat16
    assert m.precision == "fp32" and m.features(img).dtype == torch.float32


def test_texture_model_computes_in_float32_at_every_precision():
    t32, t16 = build_model("texture"), build_model("texture", precision="bf16")
    img = _frames(1, 48, 64)[0]
    a, b = t32.features(img), t16.features(img)
    assert t16.precision == "bf16" and b.dtype == torch.bfloat16
    torch.testing.assert_close(a.bfloat16(), b, rtol=0, atol=0)  # float32 features, rounded once


def test_bf16_without_native_support_runs_the_backbone_in_float32(models, monkeypatch):
    """A CPU without AVX512-BF16 / AMX-BF16 would emulate bf16 convolutions (4-6x slower than float32 here): the
    backbone then runs in float32 and only its output is rounded."""
    import unitrack.model.precision as prec

    img = _frames(1, 48, 64)[0]
    native = models["bf16"].features(img)
    monkeypatch.setattr(prec, "bf16_native", lambda device="cpu": False)
    emulated = models["bf16"].features(img)
    assert emulated.dtype == torch.bfloat16
    torch.testing.assert_close(emulated, models["fp32"].features(img).bfloat16(), rtol=0, atol=0)
    assert not torch.equal(emulated, native)  # the native path really computed in bf16


# ------------------------------------------------------------------------------------------------ the heads


def _spy(monkeypatch, module, name):
    calls = []
    real = getattr(module.ext_ops if hasattr(module, "ext_ops") else module.ops, name)

    def spy(*args, **kwargs):
        calls.append([a.dtype for a in args if isinstance(a, torch.Tensor)])
        out = real(*args, **kwargs)
        calls[-1].append(out.dtype)
        return out

    monkeypatch.setattr(module.ext_ops if hasattr(module, "ext_ops") else module.ops, name, spy)
    return calls


def test_vos_head_feeds_bf16_features_and_float32_labels(models, monkeypatch):
    calls = _spy(monkeypatch, mask_mod, "topk_propagate")
    frames = _frames(3)
    mask = np.zeros(frames[0].shape[:2], np.uint8)
    mask[10:40, 20:60] = 3
    head = VOSTracker(models["bf16"])
    assert head.precision == "bf16"
    outs = head.run(frames, mask)
    assert len(outs) == 3 and set(np.unique(outs[2])) <= {0, 3}
    assert calls and all(c == [torch.bfloat16, torch.bfloat16, torch.float32, torch.float32] for c in calls)
    assert head.soft.dtype == torch.float32
    # A head's own precision overrides the model's: fp32 ops on a bf16 model, and the other way round.
    calls.clear()
    VOSTracker(models["bf16"], precision="fp32").run(frames, mask)
    assert all(c == [torch.float32] * 4 for c in calls)
    calls.clear()
    VOSTracker(models["fp32"], precision="bf16").run(frames, mask)
    assert all(c[:2] == [torch.bfloat16, torch.bfloat16] for c in calls)


def test_poseprop_head_precision(models, monkeypatch):
    calls = _spy(monkeypatch, mask_mod, "topk_propagate")
    frames = _frames(3)
    joints = np.array([[20.0, 20.0], [40.0, 30.0], [60.0, 50.0]])
    out = PosePropagator(models["bf16"]).run(frames, joints)
    assert out.shape == (3, 3, 2) and np.isfinite(out).all()
    assert calls and all(c == [torch.bfloat16, torch.bfloat16, torch.float32, torch.float32] for c in calls)


def test_xcorr_head_bf16_and_dcf_float32(models, monkeypatch):
    calls = _spy(monkeypatch, box_mod, "xcorr")
    frames = _frames(3, 96, 128)
    head = make_tracker(models["bf16"], "xcorr")
    boxes = head.run(frames, [40, 30, 30, 24], progress=False)
    assert head.precision == "bf16" and boxes.shape == (3, 4)
    assert calls and all(c == [torch.bfloat16, torch.bfloat16, torch.float32] for c in calls)
    dcf = make_tracker(models["bf16"], "dcf")
    feats = dcf._features(torch.zeros(1, 3, 520, 520))
    assert dcf.precision == "bf16" and feats.dtype == torch.float32  # the FFT filter stays float32
    assert make_tracker(models["bf16"], "xcorr", precision="fp32")._features(torch.zeros(1, 3, 520, 520)).dtype == (
        torch.float32
    )


def test_association_head_backbone_bf16_features_float32(models, monkeypatch):
    seen = []
    real = models["bf16"].forward

    def spy(x):
        out = real(x)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(models["bf16"], "forward", spy)
    head = MOTHead(models["bf16"], progress=False)
    captured = []
    real_update = head.tracker.update

    def update(feat, *a, **k):
        captured.append(feat.dtype)
        return real_update(feat, *a, **k)

    monkeypatch.setattr(head.tracker, "update", update)
    head.update(_frames(1, 120, 160)[0], np.array([[20, 20, 40, 60]]), np.array([0.9]))
    assert head.precision == "bf16" and seen == [torch.bfloat16] and captured == [torch.float32]


def test_head_precision_fp16_on_cpu_is_an_error(models):
    with pytest.raises(ValueError, match="precision fp16: float16 runs on CUDA only"):
        VOSTracker(models["fp32"], precision="fp16")
    with pytest.raises(ValueError, match="precision: expected one of fp32, bf16"):
        make_tracker(models["fp32"], "xcorr", precision="half")


# ------------------------------------------------------------------------------------------------ recorded


def test_work_item_precision_hash_folder_and_record(tmp_path):
    a = WorkItem("color", "vos", "s", str(tmp_path), "{}")
    b = WorkItem("color", "vos", "s", str(tmp_path), "{}", precision="bf16")
    # fp32 items keep the hash they had before the field existed; bf16 items are different work.
    legacy = config_hash(
        {"model": "color", "task": "vos", "data_root": os.path.abspath(tmp_path), "sequence": "s", "config": {}}
    )
    assert a.hash == legacy and b.hash != a.hash
    assert a.out_dir("R") != b.out_dir("R") and b.out_dir("R").endswith(os.path.join("color__bf16", "vos", "s"))
    rec = execute_item(b, str(tmp_path / "out"))  # no dataset: the item fails, and says so with its precision
    assert rec["status"] == "error" and rec["precision"] == "bf16"
    with open(os.path.join(b.out_dir(str(tmp_path / "out")), "item.json"), encoding="utf-8") as f:
        assert json.load(f)["precision"] == "bf16"


def test_evaluate_records_precision(tmp_path):
    from unitrack.evaluation import evaluate

    out = evaluate(
        ["color"],
        ["vos"],
        data="synthetic-tiny",
        out_root=str(tmp_path),
        progress=False,
        precision="bf16",
        max_sequences=1,
    )
    assert not out["errors"] and out["meta"]["precision"] == "bf16"
    with open(tmp_path / "config.json", encoding="utf-8") as f:
        assert json.load(f)["precision"] == "bf16"
    with open(tmp_path / "results.json", encoding="utf-8") as f:
        assert json.load(f)["meta"]["precision"] == "bf16"
    assert "- **Precision:** bf16 (backbone under autocast" in (tmp_path / "results.md").read_text()
    items = list((tmp_path / "items").glob("*/vos/*/item.json"))
    assert len(items) == 1 and "color__bf16" in str(items[0])
    assert json.loads(items[0].read_text())["precision"] == "bf16"
    with pytest.raises(ValueError, match="--precision fp16: float16 runs on CUDA only"):
        evaluate(["color"], ["vos"], data="synthetic-tiny", out_root=str(tmp_path), progress=False, precision="fp16")


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "python")]))
    return subprocess.run(
        [sys.executable, "-m", "unitrack", *args], capture_output=True, text=True, env=env, timeout=600, cwd=ROOT
    )


def test_cli_precision_fp16_on_cpu_is_a_clear_error(tmp_path):
    res = _cli("eval", "--model", "color", "--tasks", "vos", "--precision", "fp16", "--out", str(tmp_path / "e"))
    assert res.returncode == 2
    assert "unitrack eval: error: --precision fp16: float16 runs on CUDA only; on cpu choose one of fp32, bf16" in (
        res.stderr
    )
    res = _cli("eval", "--precision", "fp64")
    assert res.returncode == 2 and "invalid choice: 'fp64'" in res.stderr


def test_cli_track_reports_precision(tmp_path):
    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(_frames(3, 64, 80)):
        cv2.imwrite(str(frames / f"{i:05d}.png"), f[:, :, ::-1])
    res = _cli(
        "track",
        "sot",
        "--input",
        str(frames),
        "--box",
        "20,20,20,16",
        "--model",
        "color",
        "--precision",
        "bf16",
        "--no-vis",
        "--out",
        str(tmp_path / "o"),
        "--head",
        "xcorr",
        "--no-progress",
    )
    assert res.returncode == 0, res.stderr
    assert "unitrack track sot: 3 frames in" in res.stdout and "precision bf16" in res.stdout
    res = _cli(
        "track",
        "sot",
        "--input",
        str(frames),
        "--box",
        "20,20,20,16",
        "--model",
        "color",
        "--precision",
        "fp16",
        "--no-vis",
        "--out",
        str(tmp_path / "o2"),
    )
    assert res.returncode == 2 and "--precision fp16: float16 runs on CUDA only" in res.stderr


def test_results_md_names_the_bf16_kernels_that_ran():
    """results.md's precision line says how the fused ops computed bf16 on the machine that ran (the ISA level)."""
    from unitrack.evaluation.report import _precision_line

    assert _precision_line("fp32", {}) == "fp32"
    amx = _precision_line("bf16", {"bf16_native": True, "cpu_isa": "amx"})
    dp = _precision_line("bf16", {"bf16_native": True, "cpu_isa": "avx512bf16"})
    widened = _precision_line("bf16", {"bf16_native": False, "cpu_isa": "avx512"})
    assert "native (AMX-BF16 tiles)" in amx
    assert "native (AVX512-BF16 vdpbf16ps)" in dp
    assert "widened to float32" in widened
    assert all("RSM, DCF, softmax and top-K in float32" in line for line in (amx, dp, widened))
