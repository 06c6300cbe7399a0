"""Constant-velocity Kalman filter in (x, y, a, h) box space (JDE / DeepSORT style), vectorised over tracks.

State ``[x, y, a, h, vx, vy, va, vh]``: box centre, aspect ratio ``a = w / (h + 1e-6)``, height and their velocities;
``dt = 1``; the measurement is the first four components. Constants are those of SPEC §5.7 / appendix c:
``std_weight_position = 1/20``, ``std_weight_velocity = 1/160`` (relative to the *current* height ``mean[..., 3]``),
fixed ``1e-2`` / ``1e-5`` / ``1e-1`` terms for the aspect ratio.

Everything is float64 numpy (the reference runs numpy too). Every method accepts one track (``mean [8]``,
``cov [8, 8]``) or a batch (``mean [N, 8]``, ``cov [N, 8, 8]``) and returns the same leading shape.
"""

from __future__ import annotations

import numpy as np

#: 0.95 quantile of the chi-square distribution with ``k`` degrees of freedom (k = 1..9), as in the reference.
chi2inv95: dict[int, float] = {
    1: 3.8415,
    2: 5.9915,
    3: 7.8147,
    4: 9.4877,
    5: 11.070,
    6: 12.592,
    7: 14.067,
    8: 15.507,
    9: 16.919,
}

STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160

_MOTION = np.eye(8)
_MOTION[:4, 4:] = np.eye(4)
_UPDATE = np.eye(4, 8)


def tlwh_to_xyah(tlwh) -> np.ndarray:
    """``[..., 4]`` (top-left x, top-left y, w, h) -> ``[..., 4]`` (centre x, centre y, w / (h + 1e-6), h)."""
    b = np.asarray(tlwh, dtype=np.float64)
    out = b.copy()
    out[..., :2] = b[..., :2] + b[..., 2:4] / 2
    out[..., 2] = b[..., 2] / (b[..., 3] + 1e-6)
    return out


def xyah_to_tlwh(xyah) -> np.ndarray:
    """``[..., >=4]`` (x, y, a, h, ...) -> ``[..., 4]`` tlwh (``w = a * h``), the reference's ``STrack.tlwh``."""
    m = np.asarray(xyah, dtype=np.float64)[..., :4]
    out = m.copy()
    out[..., 2] = m[..., 2] * m[..., 3]
    out[..., :2] = m[..., :2] - out[..., 2:4] / 2
    return out


def tlwh_to_tlbr(tlwh) -> np.ndarray:
    """``[..., 4]`` tlwh -> ``[..., 4]`` (x1, y1, x2 = x1 + w, y2 = y1 + h)."""
    b = np.asarray(tlwh, dtype=np.float64).copy()
    b[..., 2:4] += b[..., :2]
    return b


def tlbr_to_tlwh(tlbr) -> np.ndarray:
    """``[..., 4]`` (x1, y1, x2, y2) -> ``[..., 4]`` tlwh."""
    b = np.asarray(tlbr, dtype=np.float64).copy()
    b[..., 2:4] -= b[..., :2]
    return b


def _batch(mean, cov):
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    single = mean.ndim == 1
    if single:
        mean, cov = mean[None], cov[None]
    if mean.ndim != 2 or mean.shape[1] != 8:
        raise ValueError(f"mean must have shape [8] or [N, 8], got {tuple(np.shape(mean))}")
    if cov.shape != (mean.shape[0], 8, 8):
        raise ValueError(f"covariance must have shape [8, 8] or [N, 8, 8] matching mean, got {tuple(cov.shape)}")
    return mean, cov, single


def _cholesky(S: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        bad = [i for i in range(S.shape[0]) if not _is_pd(S[i])]
        raise ValueError(
            f"{name}: the projected covariance of track(s) {bad} is not positive definite "
            "(expected symmetric positive-definite Kalman covariances)"
        ) from None


def _is_pd(m: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(m)
        return True
    except np.linalg.LinAlgError:
        return False


def check_covariance(cov, name: str = "covariance") -> np.ndarray:
    """Validate ``[N, 8, 8]`` (or ``[8, 8]``) Kalman covariances: finite, symmetric, positive (semi-)definite.

    Raises ``ValueError`` naming ``name`` and the offending rows. The tolerance is relative to each matrix's largest
    eigenvalue (covariances legitimately span ~1e-10 (aspect velocity) to ~1e3 (position)).
    """
    c = np.asarray(cov, dtype=np.float64)
    c3 = c[None] if c.ndim == 2 else c
    if c3.ndim != 3 or c3.shape[1:] != (8, 8):
        raise ValueError(f"{name} must have shape [N, 8, 8], got {tuple(c.shape)}")
    if c3.size == 0:
        return c
    if not np.isfinite(c3).all():
        raise ValueError(f"{name} contains NaN or inf values")
    scale = np.abs(c3).max(axis=(1, 2)) + 1e-300
    asym = np.abs(c3 - c3.transpose(0, 2, 1)).max(axis=(1, 2))
    bad = np.nonzero(asym > 1e-8 * scale)[0]
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] is not symmetric (max |P - P^T| = {asym[bad[0]]:.3g})")
    ev = np.linalg.eigvalsh((c3 + c3.transpose(0, 2, 1)) / 2)
    bad = np.nonzero((ev[:, -1] <= 0) | (ev[:, 0] < -1e-9 * ev[:, -1]))[0]
    if bad.size:
        raise ValueError(
            f"{name}[{int(bad[0])}] is not positive definite (smallest eigenvalue {ev[bad[0], 0]:.3g}); "
            "expected Kalman covariances such as KalmanFilter.initiate/predict return"
        )
    return c


class KalmanFilter:
    """The reference's Kalman filter (SPEC §5.7), stateless and vectorised over tracks.

    Example::

        kf = KalmanFilter()
        mean, cov = kf.initiate(tlwh_to_xyah([[100, 200, 50, 100]]))   # [1, 8], [1, 8, 8]
        mean, cov = kf.predict(mean, cov)
        d2 = kf.gating_distance(mean, cov, tlwh_to_xyah(det_tlwh))     # [1, M] squared Mahalanobis
    """

    std_weight_position = STD_WEIGHT_POSITION
    std_weight_velocity = STD_WEIGHT_VELOCITY

    def initiate(self, measurement) -> tuple[np.ndarray, np.ndarray]:
        """``measurement [4]`` or ``[N, 4]`` (x, y, a, h) -> ``mean [.., 8]`` (zero velocity), ``cov [.., 8, 8]``."""
        z = np.asarray(measurement, dtype=np.float64)
        single = z.ndim == 1
        z2 = z[None] if single else z
        if z2.ndim != 2 or z2.shape[1] != 4:
            raise ValueError(f"measurement must have shape [4] or [N, 4] (x, y, a, h), got {tuple(z.shape)}")
        h = z2[:, 3]
        sp, sv = self.std_weight_position, self.std_weight_velocity
        one = np.ones_like(h)
        std = np.stack(
            [2 * sp * h, 2 * sp * h, 1e-2 * one, 2 * sp * h, 10 * sv * h, 10 * sv * h, 1e-5 * one, 10 * sv * h], axis=1
        )
        mean = np.concatenate([z2, np.zeros_like(z2)], axis=1)
        cov = _diag(std**2)
        return (mean[0], cov[0]) if single else (mean, cov)

    def predict(self, mean, covariance) -> tuple[np.ndarray, np.ndarray]:
        """One constant-velocity step: ``mean <- F mean``, ``P <- F P F^T + Q(h)`` (h = height before the step)."""
        m, P, single = _batch(mean, covariance)
        h = m[:, 3]
        sp, sv = self.std_weight_position, self.std_weight_velocity
        one = np.ones_like(h)
        std = np.stack([sp * h, sp * h, 1e-2 * one, sp * h, sv * h, sv * h, 1e-5 * one, sv * h], axis=1)
        m2 = m @ _MOTION.T
        P2 = _MOTION @ P @ _MOTION.T + _diag(std**2)
        return (m2[0], P2[0]) if single else (m2, P2)

    multi_predict = predict

    def project(self, mean, covariance) -> tuple[np.ndarray, np.ndarray]:
        """State -> measurement space: ``H mean`` ``[.., 4]`` and ``S = H P H^T + R(h)`` ``[.., 4, 4]``."""
        m, P, single = _batch(mean, covariance)
        h = m[:, 3]
        sp = self.std_weight_position
        std = np.stack([sp * h, sp * h, 1e-1 * np.ones_like(h), sp * h], axis=1)
        pm = m[:, :4].copy()
        S = P[:, :4, :4] + _diag(std**2)
        return (pm[0], S[0]) if single else (pm, S)

    def update(self, mean, covariance, measurement) -> tuple[np.ndarray, np.ndarray]:
        """Kalman correction with ``measurement [.., 4]`` (x, y, a, h); gain via Cholesky of ``S``."""
        m, P, single = _batch(mean, covariance)
        z = np.asarray(measurement, dtype=np.float64).reshape(m.shape[0], -1)
        if z.shape[1] != 4:
            raise ValueError(f"measurement must have shape [N, 4] (x, y, a, h), got {tuple(np.shape(measurement))}")
        pm, S = self.project(m, P)
        L = _cholesky(S, "covariance")
        PHt = P[:, :, :4]  # P H^T  [N, 8, 4]
        # K^T = S^-1 (P H^T)^T, solved through the Cholesky factor (two triangular systems).
        Kt = np.linalg.solve(L.transpose(0, 2, 1), np.linalg.solve(L, PHt.transpose(0, 2, 1)))
        K = Kt.transpose(0, 2, 1)  # [N, 8, 4]
        innov = z - pm
        m2 = m + np.einsum("nij,nj->ni", K, innov)
        P2 = P - K @ S @ Kt
        return (m2[0], P2[0]) if single else (m2, P2)

    def gating_distance(
        self, mean, covariance, measurements, only_position: bool = False, metric: str = "maha"
    ) -> np.ndarray:
        """Squared distances between projected tracks and ``measurements [M, 4]`` (x, y, a, h).

        Args:
            mean, covariance: one track (``[8]``, ``[8, 8]``) -> returns ``[M]``; or ``[N, 8]``, ``[N, 8, 8]`` ->
                ``[N, M]``.
            only_position: use only (x, y) (2 dof; the reference never does).
            metric: ``'maha'`` (squared Mahalanobis with ``S`` incl. ``R``) or ``'gaussian'`` (squared Euclidean).
        """
        m, P, single = _batch(mean, covariance)
        Z = np.asarray(measurements, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != 4:
            raise ValueError(f"measurements must have shape [M, 4] (x, y, a, h), got {tuple(Z.shape)}")
        pm, S = self.project(m, P)
        k = 2 if only_position else 4
        pm, S, Z = pm[:, :k], S[:, :k, :k], Z[:, :k]
        d = Z[None, :, :] - pm[:, None, :]  # [N, M, k]
        if metric == "gaussian":
            out = (d * d).sum(-1)
        elif metric == "maha":
            if m.shape[0] == 0 or Z.shape[0] == 0:
                out = np.zeros((m.shape[0], Z.shape[0]))
            else:
                L = _cholesky(S, "covariance")
                z = np.linalg.solve(L, d.transpose(0, 2, 1))  # [N, k, M]
                out = (z * z).sum(1)
        else:
            raise ValueError(f"metric must be 'maha' or 'gaussian', got {metric!r}")
        return out[0] if single else out


def _diag(v: np.ndarray) -> np.ndarray:
    """``[N, k]`` -> ``[N, k, k]`` diagonal matrices."""
    out = np.zeros(v.shape + (v.shape[-1],), dtype=v.dtype)
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out
