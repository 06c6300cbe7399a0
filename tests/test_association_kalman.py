"""Kalman filter constants and vectorisation (SPEC §5.7 / appendix c), checked on a hand-computable box."""

import numpy as np
import pytest

from unitrack.association import KalmanFilter, chi2inv95, tlwh_to_xyah, xyah_to_tlwh
from unitrack.association.kalman import check_covariance

BOX = np.array([100.0, 200.0, 50.0, 100.0])  # tlwh; h = 100 -> sp*h = 5, sv*h = 0.625


def test_tlwh_xyah_roundtrip_and_epsilon():
    z = tlwh_to_xyah(BOX)
    assert z[0] == 125 and z[1] == 250 and z[3] == 100
    assert z[2] == 50 / (100 + 1e-6)  # the +1e-6 of the reference
    back = xyah_to_tlwh(z)  # w = a*h loses 50e-6/100 to the epsilon, as in the reference
    np.testing.assert_allclose(back, BOX, rtol=0, atol=1e-6)
    assert back[2] < 50


def test_initiate_constants():
    mean, cov = KalmanFilter().initiate(tlwh_to_xyah(BOX))
    np.testing.assert_array_equal(mean[4:], 0)
    # std = (2*5, 2*5, 1e-2, 2*5, 10*0.625, 10*0.625, 1e-5, 10*0.625)
    np.testing.assert_allclose(np.diag(cov), [100, 100, 1e-4, 100, 39.0625, 39.0625, 1e-10, 39.0625], rtol=1e-12)
    assert np.count_nonzero(cov - np.diag(np.diag(cov))) == 0


def test_predict_project_constants():
    kf = KalmanFilter()
    mean, cov = kf.initiate(tlwh_to_xyah(BOX))
    mean[4:] = [2.0, -1.0, 0.0, 0.5]
    m1, P1 = kf.predict(mean, cov)
    np.testing.assert_allclose(m1[:4], mean[:4] + mean[4:])
    # P' = F P F^T + Q, Q = diag(5^2, 5^2, 1e-4, 5^2, 0.625^2, ..., 1e-10, 0.625^2)
    assert P1[0, 0] == pytest.approx(100 + 39.0625 + 25)
    assert P1[0, 4] == pytest.approx(39.0625)
    assert P1[4, 4] == pytest.approx(39.0625 + 0.390625)
    assert P1[2, 2] == pytest.approx(1e-4 + 1e-10 + 1e-4, rel=1e-12)
    assert P1[6, 6] == pytest.approx(2e-10, rel=1e-12)
    pm, S = kf.project(m1, P1)
    np.testing.assert_allclose(pm, m1[:4])
    # R uses the *current* height (100.5 after the step): sp*h = 5.025
    assert S[0, 0] == pytest.approx(164.0625 + 5.025**2)
    assert S[2, 2] == pytest.approx(2.000001e-4 + 1e-2, rel=1e-9)


def test_update_and_gating_hand_values():
    kf = KalmanFilter()
    mean, cov = kf.predict(*kf.initiate(tlwh_to_xyah(BOX)))
    # S[0,0] = 164.0625 + 25 = 189.0625 = 13.75^2 and x is uncorrelated with y, a, h
    z = mean[:4].copy()
    z[0] += 13.75
    d2 = kf.gating_distance(mean, cov, z[None])
    assert d2.shape == (1,) and d2[0] == pytest.approx(1.0, rel=1e-9)
    assert kf.gating_distance(mean, cov, z[None], metric="gaussian")[0] == pytest.approx(13.75**2)
    z2 = mean[:4].copy()
    z2[1] += 13.75 * 2
    assert kf.gating_distance(mean, cov, z2[None], only_position=True)[0] == pytest.approx(4.0, rel=1e-9)
    m2, P2 = kf.update(mean, cov, z)
    assert m2[0] == pytest.approx(125 + 13.75 * 164.0625 / 189.0625)
    assert m2[4] == pytest.approx(13.75 * 39.0625 / 189.0625)
    np.testing.assert_allclose(m2[[1, 2, 3, 5, 6, 7]], mean[[1, 2, 3, 5, 6, 7]], atol=1e-9)
    assert P2[0, 0] == pytest.approx(164.0625 - 164.0625**2 / 189.0625)


def test_chi2_table():
    assert chi2inv95[4] == 9.4877 and chi2inv95[2] == 5.9915 and len(chi2inv95) == 9


def test_vectorised_equals_single():
    rng = np.random.default_rng(0)
    kf = KalmanFilter()
    boxes = np.c_[rng.uniform(0, 500, (6, 2)), rng.uniform(20, 80, (6, 1)), rng.uniform(50, 200, (6, 1))]
    M, P = kf.initiate(tlwh_to_xyah(boxes))
    M[:, 4:] = rng.normal(size=(6, 4))
    Mb, Pb = kf.predict(M, P)
    Z = tlwh_to_xyah(boxes + rng.normal(0, 3, boxes.shape))
    Mu, Pu = kf.update(Mb, Pb, Z)
    dets = tlwh_to_xyah(boxes[:4] + 5)
    G = kf.gating_distance(Mu, Pu, dets)
    for i in range(6):
        m, p = kf.predict(M[i], P[i])
        np.testing.assert_allclose(m, Mb[i])
        np.testing.assert_allclose(p, Pb[i])
        mu, pu = kf.update(m, p, Z[i])
        np.testing.assert_allclose(mu, Mu[i])
        np.testing.assert_allclose(pu, Pu[i], atol=1e-9)
        # literal formulas: K = P H^T S^-1, d2 = d^T S^-1 d
        pm, S = kf.project(m, p)
        K = p[:, :4] @ np.linalg.inv(S)
        np.testing.assert_allclose(mu, m + K @ (Z[i] - pm), rtol=1e-9)
        pm, S = kf.project(mu, pu)
        d = dets - pm
        np.testing.assert_allclose(G[i], np.einsum("mi,ij,mj->m", d, np.linalg.inv(S), d), rtol=1e-7)


def test_empty_batches():
    kf = KalmanFilter()
    m, p = kf.initiate(np.zeros((0, 4)))
    assert m.shape == (0, 8) and p.shape == (0, 8, 8)
    m, p = kf.predict(m, p)
    assert kf.gating_distance(m, p, np.zeros((3, 4))).shape == (0, 3)
    mean, cov = kf.initiate(tlwh_to_xyah(BOX))
    assert kf.gating_distance(mean[None], cov[None], np.zeros((0, 4))).shape == (1, 0)


def test_bad_covariances():
    kf = KalmanFilter()
    mean, cov = kf.initiate(tlwh_to_xyah(BOX))
    bad = cov.copy()
    bad[0, 0] = -1000.0
    with pytest.raises(ValueError, match="not positive definite"):
        kf.update(mean, bad, mean[:4])
    with pytest.raises(ValueError, match=r"track_covs\[0\] is not positive definite"):
        check_covariance(bad[None], "track_covs")
    asym = cov.copy()
    asym[0, 1] = 5.0
    with pytest.raises(ValueError, match="not symmetric"):
        check_covariance(asym[None], "track_covs")
    with pytest.raises(ValueError, match="measurement"):
        kf.initiate(np.zeros(3))
    with pytest.raises(ValueError, match="metric"):
        kf.gating_distance(mean, cov, mean[None, :4], metric="cosine")
