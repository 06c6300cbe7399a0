"""Latency of the association primitive's object-feature extraction (CPU, or CUDA if available: add --device).

Targets (featperf issue), one frame, everything except the backbone and the RSM:
* ``roi_align`` of 30 boxes (4 x 10 bins) on a [1, 256, 76, 136] map (MOT, letterbox 1088x608): median < 5 ms;
* ``mask_features`` of 30 masks at 1080p -> 135 x 240 (C = 256, max_mask_area 200): median < 20 ms.
Also timed: 100 boxes, and the 135 x 240 map. Boxes are pedestrian-like (20-100 x 50-250 image pixels at
1088 x 608, scaled with the map), masks are ellipses of pedestrian size.

    PYTHONPATH=.:python python -m pytest benchmarks/bench_features.py --benchmark-only

``UNITRACK_BENCH_THREADS=1`` pins torch's intra-op threads for the module (restored afterwards); on a shared,
oversubscribed machine one thread gives far more stable (and lower) numbers for these few-ms ops.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from unitrack.association import mask_features, roi_align

C = 256
ROI_TARGET_S = 0.005
MASK_TARGET_S = 0.020


@pytest.fixture(autouse=True, scope="module")
def _threads():
    n = torch.get_num_threads()
    want = os.environ.get("UNITRACK_BENCH_THREADS")
    if want:
        torch.set_num_threads(int(want))
    yield
    torch.set_num_threads(n)


def _map(H: int, W: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.relu(torch.randn(1, C, H, W, generator=g))


def _boxes(n: int, H: int, W: int, seed: int = 0) -> torch.Tensor:
    """Pedestrian-like boxes in map units (x1, y1, x2, y2); some cross the border."""
    rng = np.random.default_rng(seed)
    s = H / 76.0  # sizes relative to a 76-row map (608 px letterbox)
    xy = np.c_[rng.uniform(-2, W * 8, n), rng.uniform(-2, H * 8, n)]
    wh = np.c_[rng.uniform(20, 100, n), rng.uniform(50, 250, n)] * s
    return torch.from_numpy(np.c_[xy, xy + wh] / 8).float()


def _masks(n: int, H: int = 1080, W: int = 1920, seed: int = 0) -> torch.Tensor:
    """Pedestrian-size elliptical masks, uint8 [n, H, W]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    out = np.zeros((n, H, W), np.uint8)
    for k in range(n):
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        ry, rx = rng.uniform(60, 260), rng.uniform(25, 105)
        out[k] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
    return torch.from_numpy(out)


@pytest.mark.benchmark(group="roi_align")
@pytest.mark.parametrize("n", [30, 100])
@pytest.mark.parametrize("hw", [(76, 136), (135, 240)], ids=["76x136", "135x240"])
def test_roi_align(benchmark, n, hw):
    feat, boxes = _map(*hw), _boxes(n, *hw)
    out = roi_align(feat, boxes, (4, 10))
    assert out.shape == (n, C, 4, 10)
    benchmark.pedantic(lambda: roi_align(feat, boxes, (4, 10)), rounds=30, iterations=1, warmup_rounds=3)
    if n == 30 and hw == (76, 136):
        med = benchmark.stats.stats.median
        assert med < ROI_TARGET_S, f"roi_align 30 boxes on 76x136: median {med * 1e3:.2f} ms >= 5 ms"


@pytest.mark.benchmark(group="mask_features")
def test_mask_features_30_masks_1080p(benchmark):
    feat, masks = _map(135, 240), _masks(30)
    sets, fm, valid = mask_features(feat, masks, 200)
    assert valid.all() and all(s.shape[0] <= 260 for s in sets)
    benchmark.pedantic(lambda: mask_features(feat, masks, 200), rounds=15, iterations=1, warmup_rounds=2)
    med = benchmark.stats.stats.median
    assert med < MASK_TARGET_S, f"mask_features 30 masks 1080p -> 135x240: median {med * 1e3:.2f} ms >= 20 ms"
