"""Association costs and assignment: IoU (+1-pixel convention, :mod:`unitrack.iou`), Kalman motion fusion, lap
with a cost limit.

All functions take numpy arrays (or anything ``np.asarray`` accepts) and return numpy arrays.
"""

from __future__ import annotations

import numpy as np

try:  # lap's lapjv is the reference's solver; scipy on the augmented matrix is the same problem (slower)
    import lap
except ImportError:  # pragma: no cover - lap is a dependency; this keeps exotic platforms working
    lap = None

from ..iou import box_iou, iou_plus1  # noqa: F401  (box_iou: re-exported, it lived here)
from .kalman import KalmanFilter, chi2inv95


def iou(atlbrs, btlbrs) -> np.ndarray:
    """Pairwise IoU ``[N, M]`` of ``atlbrs [N, 4]`` and ``btlbrs [M, 4]`` (x1, y1, x2, y2) with the +1-pixel
    convention of the reference (cython_bbox), boxes validated: :func:`unitrack.iou.iou_plus1`."""
    return iou_plus1(atlbrs, btlbrs)


def iou_distance(atlbrs, btlbrs) -> np.ndarray:
    """``1 - iou(atlbrs, btlbrs)`` ``[N, M]`` (the cost of the IoU and confirmation stages)."""
    return 1.0 - iou(atlbrs, btlbrs)


def fuse_motion(
    cost,
    track_means,
    track_covs,
    det_xyah,
    *,
    motion_lambda: float = 0.98,
    gate: bool = True,
    only_position: bool = False,
    kf: KalmanFilter | None = None,
) -> np.ndarray:
    """Fuse an appearance cost with Kalman motion (appendix c), returning a new array of ``cost``'s dtype.

    For every track ``i`` the squared Mahalanobis distances ``d2[i, j]`` of the detections' ``(x, y, a, h)`` to the
    projected track are computed (4 dof, or 2 with ``only_position``); if ``gate``, ``cost[i, j] = inf`` where
    ``d2 > chi2inv95[dof]`` (9.4877 for 4 dof); then ``cost = motion_lambda * cost + (1 - motion_lambda) * d2``.

    Args:
        cost: ``[N, M]`` appearance cost.
        track_means: ``[N, 8]``; track_covs: ``[N, 8, 8]``: Kalman states already predicted to this frame.
        det_xyah: ``[M, 4]`` detections as (centre x, centre y, w/(h+1e-6), h).
    """
    c = np.asarray(cost)
    dtype = c.dtype if np.issubdtype(c.dtype, np.floating) else np.float64
    c = c.astype(np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be 2-D [N, M], got shape {tuple(c.shape)}")
    if c.size == 0:
        return c.astype(dtype)
    kf = kf or KalmanFilter()
    d2 = kf.gating_distance(track_means, track_covs, det_xyah, only_position=only_position, metric="maha")
    d2 = np.asarray(d2).reshape(c.shape)
    if gate:
        c = np.where(d2 > chi2inv95[2 if only_position else 4], np.inf, c)
    out = motion_lambda * c + (1.0 - motion_lambda) * d2
    return out.astype(dtype)


def linear_assignment(cost, thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optimal assignment with a cost limit, exactly ``lap.lapjv(cost, extend_cost=True, cost_limit=thresh)``.

    Semantics (appendix d): the solution of the square ``(N+M) x (N+M)`` problem with ``cost`` top-left, ``thresh/2``
    in the two off-diagonal blocks and 0 bottom-right; i.e. a pair ``(i, j)`` is kept only if it lowers the total
    compared with leaving both unmatched (which costs ``thresh``). This is *not* "Hungarian, then drop pairs above
    ``thresh``". ``inf`` entries (gated) are never chosen; lapjv gets them as a finite value larger than any
    achievable total so no lap version can reject or choose them.

    Args:
        cost: ``[N, M]`` float, ``+inf`` allowed, NaN not.
        thresh: the cost limit (> 0).
    Returns:
        ``matches [K, 2]`` int64 (row, col) in ascending row order, ``unmatched_rows [N-K]`` and
        ``unmatched_cols [M-K]`` int64 (ascending).
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be 2-D [N, M], got shape {tuple(c.shape)}")
    if not np.isfinite(thresh) or thresh <= 0:
        raise ValueError(f"thresh must be a finite positive number, got {thresh}")
    n, m = c.shape
    if n == 0 or m == 0:
        return np.zeros((0, 2), np.int64), np.arange(n, dtype=np.int64), np.arange(m, dtype=np.int64)
    if np.isnan(c).any():
        raise ValueError("cost contains NaN values")
    if np.isneginf(c).any():
        raise ValueError("cost contains -inf values")
    blocked = ~np.isfinite(c)
    if blocked.any():
        finite = c[~blocked]
        span = (np.abs(finite).max() if finite.size else 0.0) + thresh
        # Any solution using a blocked entry costs more than leaving that row and column unmatched.
        c = np.where(blocked, (n + m + 1) * (span + 1.0), c)
    if lap is not None:
        _, x, _ = lap.lapjv(np.ascontiguousarray(c), extend_cost=True, cost_limit=float(thresh))
        x = np.asarray(x, dtype=np.int64)
    else:
        x = _augmented_scipy(c, float(thresh))
    rows = np.nonzero(x >= 0)[0]
    cols = x[rows]
    keep = ~blocked[rows, cols]  # defensive: never report a blocked pair
    rows, cols = rows[keep], cols[keep]
    matches = np.stack([rows, cols], axis=1).astype(np.int64) if rows.size else np.zeros((0, 2), np.int64)
    matched_c = np.zeros(m, bool)
    matched_c[cols] = True
    matched_r = np.zeros(n, bool)
    matched_r[rows] = True
    return matches, np.nonzero(~matched_r)[0].astype(np.int64), np.nonzero(~matched_c)[0].astype(np.int64)


def _augmented_scipy(c: np.ndarray, thresh: float) -> np.ndarray:
    """Row -> column (-1 unmatched) of the ``(N+M)^2`` augmented problem, solved by scipy."""
    from scipy.optimize import linear_sum_assignment

    n, m = c.shape
    E = np.full((n + m, n + m), thresh / 2.0)
    E[n:, m:] = 0.0
    E[:n, :m] = c
    r, k = linear_sum_assignment(E)
    x = np.full(n, -1, np.int64)
    sel = (r < n) & (k < m)
    x[r[sel]] = k[sel]
    return x
