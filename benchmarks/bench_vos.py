"""Whole-frame VOS step at DAVIS 480x854 (and 240x427): backbone + label propagation (memory full: frame 0 + 5 recent frames).

Groups ``vos-step-<model>``; CPU always, CUDA when available. ``resnet18-layer3`` is
``unitrack.model.AppearanceModel("resnet18", layer=3)`` (random weights: speed does not depend on them); it is skipped
when that class is not importable. ``colorstats`` (3 channels) isolates the propagation cost.

Target (asserted on CUDA only): a step at least as fast as the reference's reported ~2 FPS for ResNet-18 on a
Titan Xp (SPEC §2.9), i.e. < 0.5 s per frame.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unitrack.heads.vos import VOSTracker

SIZES = {"480p": (480, 854), "240p": (240, 427)}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _model(name: str, device: str):
    if name == "colorstats":
        from unitrack.model import ColorStatsModel

        return ColorStatsModel().to(device)
    try:
        from unitrack.model import AppearanceModel
    except ImportError:
        pytest.skip("unitrack.model.AppearanceModel is not available yet")
    torch.manual_seed(0)
    return AppearanceModel("resnet18", layer=3).to(device)


def _has_fused_kernel(device: str) -> bool:
    try:
        from unitrack_ext import _registry

        return bool(_registry.compiled_kernels.get("topk_propagate", {}).get(device, False))
    except Exception:
        return False


def _frames(n: int, H: int, W: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(H, W, 3), dtype=np.uint8)
    return [np.roll(base, shift=4 * i, axis=1) for i in range(n)]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("model_name", ["resnet18-layer3", "colorstats"])
def test_vos_step(benchmark, device, model_name, size):
    if size == "480p" and device == "cpu" and not _has_fused_kernel("cpu"):
        pytest.skip("no compiled CPU topk_propagate: the reference fallback materialises a ~1 GB affinity per step")
    H, W = SIZES[size]
    benchmark.group = f"vos-step-{model_name}-{size}"
    model = _model(model_name, device)
    frames = _frames(8, H, W)
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[H // 5 : H // 2, W // 4 : W // 2] = 1
    mask[H // 2 : (7 * H) // 8, (3 * W) // 5 : (4 * W) // 5] = 2
    tr = VOSTracker(model)
    tr.init(frames[0], mask)
    for f in frames[1:7]:  # fill the short-term memory
        tr.track(f)
    frame = frames[7]

    def step():
        out = tr.track(frame)  # includes the device->host copy of the mask, which synchronises
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    out = benchmark.pedantic(step, rounds=5 if device == "cuda" else 2, iterations=1, warmup_rounds=1)
    assert out.shape == (H, W)
    if device == "cuda" and model_name == "resnet18-layer3" and size == "480p":
        assert benchmark.stats.stats.mean < 0.5
