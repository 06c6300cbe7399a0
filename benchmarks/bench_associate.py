"""Latency of the association primitive (CPU, or CUDA if the features are there).

Target (association issue): ``unitrack.associate`` at N = M = 30 with box features 4x10x256 and Kalman fusion on
under 15 ms median. The RSM dominates: until the fused ``unitrack_ext.ops.rsm`` kernel is merged this runs the
(correct but slow) dense reference and the assertion fails. Also timed: the RSM alone, everything but the RSM, and
a full ``AssociationTracker.update`` (RoIAlign + 3 stages + bookkeeping) with 30 tracks on a 76x136x256 map.

    PYTHONPATH=.:python python -m pytest benchmarks/bench_associate.py --benchmark-only
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import unitrack
from unitrack.association import AssociationTracker, KalmanFilter, fuse_motion, linear_assignment, mot_config, \
    tlwh_to_xyah
from unitrack.association.api import rsm_cost

N = M = 30
C, P = 256, 40
TARGET_S = 0.015


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
    benchmark.pedantic(lambda: unitrack.associate(tf, df, track_means=means, track_covs=covs, det_boxes=det),
                       rounds=15, iterations=1, warmup_rounds=2)
    assert benchmark.stats.stats.median < TARGET_S, (
        f"associate median {benchmark.stats.stats.median * 1e3:.1f} ms >= {TARGET_S * 1e3:.0f} ms "
        "(is the fused rsm kernel merged?)")


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
    assert benchmark.stats.stats.median < 0.005


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
