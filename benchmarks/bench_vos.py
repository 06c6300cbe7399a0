"""Whole-frame VOS step at DAVIS 480x854 (and 240x427): backbone + label propagation (memory full: frame 0 + 5
recent frames).

Groups ``vos-step-<model>``; CPU always, CUDA when available. ``resnet18-layer3`` is
``unitrack.model.AppearanceModel("resnet18", layer=3)`` (random weights: speed does not depend on them); it is skipped
when that class is not importable. ``colorstats`` (3 channels) isolates the propagation cost.

Budget (ratio in the same run, see ``benchmarks/common.py``), for ResNet-18 at 240p on every device and at 480p on
CUDA: a step is at least as fast as the reference method doing the same work -- one backbone forward of the frame
plus the dense pure-PyTorch ``topk_propagate`` (the reference's (HW)x(T*HW) affinity) over the same memory
(``unitrack_ext.reference``). The reference implementation reported ~2 FPS for ResNet-18 on a Titan Xp (SPEC §2.9).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from common import check_ratio, interleaved_medians
from unitrack.heads.vos import VOSTracker
from unitrack.propagation.mask import propagate_step

SIZES = {"480p": (480, 854), "240p": (240, 427)}
#: VOS step / (backbone forward + dense reference propagation of the same memory), same run
STEP_VS_REFERENCE_METHOD = 1.0
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
    if model_name == "resnet18-layer3" and (device == "cuda" or size == "240p"):
        keys, labels, n_global = tr.memory.memory()

        def reference_method():
            feats = tr._features([frame])[0]
            with _force_reference():
                return propagate_step(feats, keys, labels, tr.config, n_global=n_global)

        fused, ref = interleaved_medians([step, reference_method], rounds=3, device=device)
        check_ratio(
            benchmark,
            f"vos-step-vs-reference-method-{size}",
            fused["median_s"],
            ref["median_s"],
            max_ratio=STEP_VS_REFERENCE_METHOD,
            candidate="step",
            baseline="forward_plus_dense_reference",
        )


class _force_reference:
    """Route ``unitrack_ext.ops.topk_propagate`` to the pure-PyTorch reference inside the block."""

    def __enter__(self):
        from unitrack_ext import ops, reference

        self._ops, self._orig = ops, ops.topk_propagate
        ops.topk_propagate = reference.topk_propagate
        return self

    def __exit__(self, *exc):
        self._ops.topk_propagate = self._orig
        return False
