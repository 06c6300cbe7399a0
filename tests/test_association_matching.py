"""IoU (+1 convention), motion fusion and the cost-limited assignment (SPEC appendix c, d)."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from unitrack.association import KalmanFilter, fuse_motion, iou, iou_distance, linear_assignment, tlwh_to_xyah


# ------------------------------------------------------------------------------------------------ IoU
def test_iou_plus_one_convention():
    a = np.array([[0, 0, 9, 9], [10, 10, 10, 10]], float)
    b = np.array([[0, 0, 9, 9], [5, 5, 14, 14], [10, 10, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], float)
    got = iou(a, b)
    # [0,0,9,9] is 10x10 = 100 pixels; the overlap with [5,5,14,14] is 5x5 = 25 -> 25 / 175
    assert got[0, 0] == 1.0 and got[0, 1] == pytest.approx(25 / 175)
    # the degenerate [10,10,10,10] has area 1: IoU with itself is 1, with [0,0,10,10] (121 px) 1/121
    assert got[1, 2] == 1.0 and got[1, 3] == pytest.approx(1 / 121)
    # touching boxes [0,0,9,9] and [10,10,10,10]: iw = 9 - 10 + 1 = 0 -> no intersection
    assert got[0, 2] == 0.0 and got[0, 4] == 0.0 and got[1, 4] == 0.0
    np.testing.assert_allclose(iou_distance(a, b), 1 - got)


def test_iou_empty_and_bad():
    assert iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert iou_distance(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)
    with pytest.raises(ValueError, match="btlbrs"):
        iou(np.zeros((1, 4)), np.array([[5, 5, 4, 9]]))
    with pytest.raises(ValueError, match="atlbrs"):
        iou(np.zeros((1, 3)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="NaN"):
        iou(np.array([[0, 0, np.nan, 1]]), np.zeros((1, 4)))


# ------------------------------------------------------------------------------------------------ assignment
def augmented_oracle(cost, thresh):
    """Appendix d: the square (n+m) problem with thresh/2 off-diagonal blocks, solved by scipy."""
    n, m = cost.shape
    big = 1e6
    E = np.full((n + m, n + m), thresh / 2)
    E[n:, m:] = 0
    E[:n, :m] = np.where(np.isfinite(cost), cost, big)
    r, c = linear_sum_assignment(E)
    pairs = sorted((i, j) for i, j in zip(r, c) if i < n and j < m)
    return pairs, E[r, c].sum()


def total(cost, pairs, thresh):
    n, m = cost.shape
    return sum(cost[i, j] for i, j in pairs) + thresh / 2 * ((n - len(pairs)) + (m - len(pairs)))


def test_cost_limit_differs_from_hungarian_then_threshold():
    cost = np.array([[0.1, 0.65], [0.65, 5.0]])
    # Hungarian on the full matrix takes the two 0.65 pairs (total 1.3 < 5.1), both under 0.7 -> kept.
    r, c = linear_sum_assignment(cost)
    assert sorted(zip(r.tolist(), c.tolist())) == [(0, 1), (1, 0)]
    # With the cost limit, (0,0) alone gains 0.7 - 0.1 = 0.6 > 2 * (0.7 - 0.65): track 1 and det 1 stay unmatched.
    m, ua, ub = linear_assignment(cost, 0.7)
    assert m.tolist() == [[0, 0]] and ua.tolist() == [1] and ub.tolist() == [1]
    assert m.dtype == np.int64


def test_pair_above_limit_never_matched():
    m, ua, ub = linear_assignment(np.array([[0.69, 0.71]]), 0.7)
    assert m.tolist() == [[0, 0]] and ub.tolist() == [1]
    m, ua, ub = linear_assignment(np.array([[0.71]]), 0.7)
    assert m.shape == (0, 2) and ua.tolist() == [0] and ub.tolist() == [0]


@pytest.mark.parametrize(
    "shape,thresh,inf_frac",
    [
        ((8, 11), 0.7, 0),
        ((12, 7), 0.5, 0),
        ((10, 10), 0.7, 0.4),
        ((9, 9), 0.3, 0),
        ((1, 6), 0.7, 0.5),
        ((15, 15), 0.7, 0.9),
    ],
)
def test_matches_augmented_scipy(shape, thresh, inf_frac):
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        cost = rng.uniform(0, 1, shape)
        cost[rng.uniform(size=shape) < inf_frac] = np.inf
        m, ua, ub = linear_assignment(cost, thresh)
        pairs, opt = augmented_oracle(cost, thresh)
        assert np.isfinite(cost[m[:, 0], m[:, 1]]).all()
        assert total(cost, m.tolist(), thresh) == pytest.approx(opt)
        assert [tuple(p) for p in m.tolist()] == pairs  # continuous costs: the optimum is unique
        assert list(m[:, 0]) == sorted(m[:, 0])
        assert sorted(ua.tolist() + m[:, 0].tolist()) == list(range(shape[0]))
        assert sorted(ub.tolist() + m[:, 1].tolist()) == list(range(shape[1]))


def test_all_inf_and_empty():
    m, ua, ub = linear_assignment(np.full((3, 2), np.inf), 0.7)
    assert m.shape == (0, 2) and ua.tolist() == [0, 1, 2] and ub.tolist() == [0, 1]
    m, ua, ub = linear_assignment(np.zeros((0, 5)), 0.7)
    assert m.shape == (0, 2) and ua.shape == (0,) and ub.tolist() == [0, 1, 2, 3, 4]
    m, ua, ub = linear_assignment(np.zeros((4, 0)), 0.7)
    assert m.shape == (0, 2) and ua.tolist() == [0, 1, 2, 3] and ub.shape == (0,)


def test_assignment_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        linear_assignment(np.array([[np.nan]]), 0.7)
    with pytest.raises(ValueError, match="thresh"):
        linear_assignment(np.zeros((1, 1)), 0.0)
    with pytest.raises(ValueError, match="2-D"):
        linear_assignment(np.zeros(3), 0.7)


# ------------------------------------------------------------------------------------------------ fuse_motion
def _track():
    kf = KalmanFilter()
    mean, cov = kf.predict(*kf.initiate(tlwh_to_xyah([100.0, 200.0, 50.0, 100.0])))
    return mean, cov  # S[0,0] = 13.75^2, x uncorrelated with the rest


def test_fuse_motion_hand_values():
    mean, cov = _track()
    dets = np.repeat(mean[None, :4], 3, 0)
    dets[1, 0] += 13.75  # d2 = 1
    dets[2, 0] += 55.0  # d2 = 16 > 9.4877
    cost = np.full((1, 3), 0.5, np.float32)
    g = fuse_motion(cost, mean[None], cov[None], dets, motion_lambda=0.98, gate=True)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g[0, :2], [0.98 * 0.5, 0.98 * 0.5 + 0.02 * 1.0], rtol=1e-6)
    assert np.isinf(g[0, 2])
    u = fuse_motion(cost, mean[None], cov[None], dets, motion_lambda=0.98, gate=False)
    assert u[0, 2] == pytest.approx(0.98 * 0.5 + 0.02 * 16, rel=1e-6)
    p = fuse_motion(cost, mean[None], cov[None], dets, motion_lambda=0.9999, gate=False)
    assert p[0, 2] == pytest.approx(0.9999 * 0.5 + 0.0001 * 16, rel=1e-6)
    assert np.array_equal(fuse_motion(cost, mean[None], cov[None], dets, motion_lambda=1.0, gate=False), cost)
    assert fuse_motion(np.zeros((0, 3)), np.zeros((0, 8)), np.zeros((0, 8, 8)), dets).shape == (0, 3)


def test_scipy_fallback_equals_lap(monkeypatch):
    import unitrack.association.matching as mt

    rng = np.random.default_rng(5)
    costs = [rng.uniform(0, 1, (7, 9)) for _ in range(5)]
    for c in costs:
        c[rng.uniform(size=c.shape) < 0.3] = np.inf
    with_lap = [linear_assignment(c, 0.7) for c in costs]
    monkeypatch.setattr(mt, "lap", None)
    for c, ref in zip(costs, with_lap):
        for a, b in zip(linear_assignment(c, 0.7), ref):
            np.testing.assert_array_equal(a, b)
