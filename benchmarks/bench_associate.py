"""Latency of the association primitive (CPU, or CUDA if the features are there).

Budgets (ratios in the same run, see ``benchmarks/common.py``): ``unitrack.associate`` at N = M = 30 with box
features 4x10x256 and Kalman fusion on takes at most half the time of the pure-PyTorch reference RSM alone (the RSM
dominates; with the fused ``unitrack_ext.ops.rsm`` kernel it is about 3.5x faster), and everything but the RSM
(gating, fusion, lapjv) at most 0.1 of the fused RSM. Recorded beside them: one ``torch.mm`` of the same affinity
(sumP x sumQ x C) as a yardstick. Also timed: the RSM alone and a full ``AssociationTracker.update`` (RoIAlign +
3 stages + bookkeeping) with 30 tracks on a 76x136x256 map.

    PYTHONPATH=.:python python -m pytest benchmarks/bench_associate.py --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unitrack
from common import check_ratio, gemm_workload, interleaved_medians
from unitrack.association import (
    AssociationTracker,
    KalmanFilter,
    fuse_motion,
    linear_assignment,
    mot_config,
    tlwh_to_xyah,
)
from unitrack.association.api import rsm_cost
from unitrack_ext import reference

N = M = 30
C, P = 256, 40
#: associate (fused RSM + motion) / the reference RSM alone, same run
ASSOC_VS_REFERENCE_RSM = 0.5
#: gating + fusion + lapjv / the fused RSM of the same 30 x 30 problem
MOTION_VS_RSM = 0.1


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    protos = torch.rand(N, C, generator=g)
    perm = torch.randperm(N, generator=g)
    tf = torch.relu(protos[:, None, :] + 0.3 * torch.randn(N, P, C, generator=g))
    df = torch.relu(protos[perm][:, None, :] + 0.3 * torch.randn(M, P, C, generator=g))
    boxes = np.c_[rng.uniform(0, 1000, (N, 2)), rng.uniform(30, 80, (N, 1)), rng.uniform(80, 250, (N, 1))]
    kf = KalmanFilter()
    means, covs = kf.predict(*kf.initiate(tlwh_to_xyah(boxes)))
    det = boxes[perm.numpy()] + rng.normal(0, 2, boxes.shape)
    return tf, df, means, covs, det


@pytest.mark.benchmark(group="associate-30x30")
def test_associate_30x30_motion(benchmark):
    tf, df, means, covs, det = _problem()
    m, *_ = unitrack.associate(tf, df, track_means=means, track_covs=covs, det_boxes=det)
    assert len(m) == N
    run = lambda: unitrack.associate(tf, df, track_means=means, track_covs=covs, det_boxes=det)  # noqa: E731
    benchmark.pedantic(run, rounds=15, iterations=1, warmup_rounds=2)
    mm, scale = gemm_workload(N * P * M * P * C)
    cand, ref, gemm = interleaved_medians(
        [run, lambda: reference.rsm(list(tf), list(df), temperature=0.01), mm], rounds=5
    )
    benchmark.extra_info["associate_over_affinity_gemm"] = round(cand["median_s"] / (gemm["median_s"] * scale), 3)
    check_ratio(
        benchmark,
        "associate-vs-reference-rsm",
        cand["median_s"],
        ref["median_s"],
        max_ratio=ASSOC_VS_REFERENCE_RSM,
        candidate="associate",
        baseline="reference_rsm",
    )


@pytest.mark.benchmark(group="associate-30x30")
def test_rsm_cost_only_30x30(benchmark):
    tf, df, *_ = _problem()
    benchmark.pedantic(lambda: rsm_cost(tf, df), rounds=15, iterations=1, warmup_rounds=2)


@pytest.mark.benchmark(group="associate-30x30")
def test_motion_and_assignment_only_30x30(benchmark):
    """Everything of associate except the RSM: gating, fusion, lapjv (budget for the non-kernel part)."""
    tf, df, means, covs, det = _problem()
    cost = rsm_cost(tf, df)
    xyah = tlwh_to_xyah(det)

    def run():
        fused = fuse_motion(cost, means, covs, xyah, motion_lambda=0.98, gate=True)
        return linear_assignment(fused, 0.7)

    benchmark.pedantic(run, rounds=30, iterations=1, warmup_rounds=2)
    cand, rsm = interleaved_medians([run, lambda: rsm_cost(tf, df)], rounds=15)
    check_ratio(
        benchmark,
        "motion-vs-rsm",
        cand["median_s"],
        rsm["median_s"],
        max_ratio=MOTION_VS_RSM,
        candidate="motion_and_lapjv",
        baseline="fused_rsm",
    )


@pytest.mark.benchmark(group="tracker-update")
def test_tracker_update_30_tracks(benchmark):
    """Full AssociationTracker.update with 30 confirmed tracks and 30 detections on a 76x136x256 map (MOT size)."""
    g = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(1)
    feat = torch.relu(torch.randn(C, 76, 136, generator=g))
    xy = np.c_[rng.uniform(0, 1000, N), rng.uniform(0, 400, N)]
    boxes = np.c_[xy, rng.uniform(30, 70, N), rng.uniform(90, 200, N)]
    scores = np.full(N, 0.9)
    tr = AssociationTracker(mot_config())
    for _ in range(3):
        tr.update(feat, boxes, scores)
    assert len(tr.update(feat, boxes, scores)) == N
    benchmark.pedantic(lambda: tr.update(feat, boxes, scores), rounds=8, iterations=1, warmup_rounds=1)
