"""Latency of the association primitive's object-feature extraction (CPU, or CUDA if available: add --device).

Budgets (ratios in the same run, see ``benchmarks/common.py``), one frame, everything except the backbone and
the RSM:
* ``roi_align`` of 30 boxes (4 x 10 bins) on a [1, 256, 76, 136] map (MOT, letterbox 1088x608) takes at most half
  the time ATen's ``F.grid_sample`` needs for the same bilinear samples (then averaged per bin): the same work done
  by a general kernel (:func:`grid_sample_roi_align`);
* ``mask_features`` of 30 masks at 1080p -> 135 x 240 (C = 256, max_mask_area 200) takes at most a quarter of the
  SPEC recipe (``F.interpolate`` of every masked map, :func:`recipe_mask_features`), the reference's method.
Also timed: 100 boxes, and the 135 x 240 map. Boxes are pedestrian-like (20-100 x 50-250 image pixels at
1088 x 608, scaled with the map), masks are ellipses of pedestrian size.

    PYTHONPATH=.:python python -m pytest benchmarks/bench_features.py --benchmark-only

``UNITRACK_BENCH_THREADS=1`` pins torch's intra-op threads (``benchmarks/conftest.py``); on a shared,
oversubscribed machine one thread gives far more stable (and lower) numbers for these few-ms ops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from common import check_ratio, interleaved_medians
from unitrack.association import mask_features, roi_align

C = 256
#: roi_align / F.grid_sample of the same samples, same run
ROI_VS_GRID_SAMPLE = 0.5
#: mask_features / the SPEC recipe with F.interpolate, same run
MASK_VS_RECIPE = 0.25


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


def grid_sample_roi_align(feat: torch.Tensor, boxes: torch.Tensor, ph: int = 4, pw: int = 10) -> torch.Tensor:
    """Baseline: RoIAlign's bilinear samples (aligned=False, the adaptive sampling ratio of the largest box for all)
    gathered by ``F.grid_sample`` in one call, then averaged per bin. ``feat [1, C, H, W]`` -> ``[K, C, ph, pw]``."""
    C_, H, W = feat.shape[-3:]
    x1, y1, x2, y2 = boxes.unbind(1)
    rw, rh = (x2 - x1).clamp_min(1.0), (y2 - y1).clamp_min(1.0)
    gh, gw = int(torch.ceil(rh / ph).max()), int(torch.ceil(rw / pw).max())
    ys = y1[:, None] + rh[:, None] * ((torch.arange(ph * gh) + 0.5) / (ph * gh))[None]
    xs = x1[:, None] + rw[:, None] * ((torch.arange(pw * gw) + 0.5) / (pw * gw))[None]
    grid = torch.stack(
        torch.broadcast_tensors((2 * xs / (W - 1) - 1)[:, None, :], (2 * ys / (H - 1) - 1)[:, :, None]), -1
    )
    s = F.grid_sample(
        feat.expand(len(boxes), -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )
    return s.reshape(len(boxes), C_, ph, gh, pw, gw).mean((3, 5))


def recipe_mask_features(feat: torch.Tensor, masks: torch.Tensor, max_area: int) -> list[torch.Tensor]:
    """Baseline: the SPEC recipe -- nearest mask at feature resolution; the whole masked map resized by ``s`` with
    ``F.interpolate``; keep the positions where the resized mask is >= 0.5."""
    C_, h, w = feat.shape[-3:]
    feat = feat.reshape(C_, h, w)
    obs = F.interpolate((masks != 0).float()[:, None], size=(h, w), mode="nearest")
    out = []
    for ob in obs:
        a = float(ob.sum())
        s = math.sqrt(max_area / a) if a > max_area else 1.0
        f = F.interpolate((ob * feat)[None], scale_factor=s, mode="bilinear", align_corners=False)
        m = F.interpolate(ob[None], scale_factor=s, mode="nearest")
        out.append(f[0][:, m[0, 0] >= 0.5].T)
    return out


@pytest.mark.benchmark(group="roi_align")
@pytest.mark.parametrize("n", [30, 100])
@pytest.mark.parametrize("hw", [(76, 136), (135, 240)], ids=["76x136", "135x240"])
def test_roi_align(benchmark, n, hw):
    feat, boxes = _map(*hw), _boxes(n, *hw)
    out = roi_align(feat, boxes, (4, 10))
    assert out.shape == (n, C, 4, 10)
    benchmark.pedantic(lambda: roi_align(feat, boxes, (4, 10)), rounds=30, iterations=1, warmup_rounds=3)
    if n == 30 and hw == (76, 136):
        cand, base = interleaved_medians(
            [lambda: roi_align(feat, boxes, (4, 10)), lambda: grid_sample_roi_align(feat, boxes)], rounds=20, warmup=2
        )
        check_ratio(
            benchmark,
            "roi_align-vs-grid_sample",
            cand["median_s"],
            base["median_s"],
            max_ratio=ROI_VS_GRID_SAMPLE,
            candidate="roi_align",
            baseline="grid_sample",
        )


@pytest.mark.benchmark(group="mask_features")
def test_mask_features_30_masks_1080p(benchmark):
    feat, masks = _map(135, 240), _masks(30)
    sets, fm, valid = mask_features(feat, masks, 200)
    assert valid.all() and all(s.shape[0] <= 260 for s in sets)
    benchmark.pedantic(lambda: mask_features(feat, masks, 200), rounds=15, iterations=1, warmup_rounds=2)
    cand, base = interleaved_medians(
        [lambda: mask_features(feat, masks, 200), lambda: recipe_mask_features(feat, masks, 200)], rounds=5
    )
    check_ratio(
        benchmark,
        "mask_features-vs-recipe",
        cand["median_s"],
        base["median_s"],
        max_ratio=MASK_VS_RECIPE,
        candidate="mask_features",
        baseline="spec_recipe",
    )
