"""PCK (JHMDB protocol) on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from unitrack.metrics.pck import evaluate_pck, feature_to_pixels, pck_distances


def video():
    """2 joints x 4 frames; frame 0 is skipped; returns (pred, gt) as [2, J, T]."""
    gt = np.zeros((2, 2, 4))
    pred = np.zeros((2, 2, 4))
    # frame 0: garbage prediction, must be ignored
    gt[:, :, 0] = [[0, 10], [0, 10]]
    pred[:, :, 0] = [[500, 500], [500, 500]]
    # frame 1: GT box (0,0)-(30,40): diagonal 50, normaliser 30; errors 5 and 0
    gt[:, :, 1] = [[0, 30], [0, 40]]
    pred[:, :, 1] = [[3, 30], [4, 40]]
    # frame 2: GT box (0,0)-(6,8): diagonal 10, normaliser 6; errors 0.5 and 3
    gt[:, :, 2] = [[0, 6], [0, 8]]
    pred[:, :, 2] = [[0, 9], [0.5, 8]]
    # frame 3: joint 1 lost (x < 0): not counted, not in the box -> zero-size box for joint 0 (a miss, as reference)
    gt[:, :, 3] = [[0, 100], [0, 100]]
    pred[:, :, 3] = [[1, -1], [0, -1]]
    return pred, gt


def test_distances_hand_case():
    pred, gt = video()
    d = pck_distances(pred, gt)
    assert np.isnan(d[:, 0]).all()
    np.testing.assert_allclose(d[:, 1], [5 / 30, 0.0])
    np.testing.assert_allclose(d[:, 2], [0.5 / 6, 0.5])
    assert d[0, 3] == np.inf and np.isnan(d[1, 3])


def test_pck_hand_case():
    pred, gt = video()
    r = evaluate_pck([pred], [gt])
    assert r["counts"].tolist() == [3, 2]
    np.testing.assert_allclose(r["per_joint"][0.1], [100 / 3, 50])
    np.testing.assert_allclose(r["per_joint"][0.2], [200 / 3, 50])
    np.testing.assert_allclose(r["per_joint"][0.5], [200 / 3, 100])
    assert r["pck"][0.1] == pytest.approx((100 / 3 + 50) / 2)
    assert r["pck"][0.5] == pytest.approx((200 / 3 + 100) / 2)
    assert sorted(r["pck"]) == [0.1, 0.2, 0.3, 0.4, 0.5]


def test_pck_pools_videos():
    pred, gt = video()
    r1 = evaluate_pck([pred], [gt])
    r2 = evaluate_pck([pred, pred], [gt, gt])
    assert r2["counts"].tolist() == [6, 4]
    assert r2["pck"] == pytest.approx(r1["pck"])
    perfect = gt.copy()
    r3 = evaluate_pck([perfect], [gt])
    assert r3["pck"][0.1] == 100.0


def test_feature_to_pixels():
    p = np.array([[[20.0, -1.0]], [[10.0, -1.0]]])  # [2, 1, 2]
    out = feature_to_pixels(p, width=320, height=240)
    assert out[:, 0, 0].tolist() == [160.0, 60.0]
    assert out[:, 0, 1].tolist() == [-1.0, -1.0]


def test_pck_errors():
    pred, gt = video()
    with pytest.raises(ValueError, match="ground_truths"):
        evaluate_pck([pred], [gt, gt])
    with pytest.raises(ValueError, match=r"predictions\[0\]"):
        evaluate_pck([pred[:, :, :2]], [gt])
    with pytest.raises(ValueError, match="2, J, T"):
        evaluate_pck([pred[0]], [gt[0]])
