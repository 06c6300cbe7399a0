"""PCK for JHMDB pose propagation (SPEC §3, the reference's ``eval/eval_pck.py`` semantics).

For every video, frame ``t >= 1`` (frame 0 is the given one and is skipped) and joint ``j``:

* the joint counts only if it is *visible*: its predicted x is >= 0 (lost joints are reported as -1);
* normaliser of the frame = ``0.6 * ||(max_x, max_y) - (min_x, min_y)||`` over the GT positions of the frame's
  visible joints;
* ``d = ||pred - gt|| / normaliser``; the joint is correct at threshold ``a`` if ``d <= a``.

PCK@a of a joint = 100 * correct / counted over all videos and frames; the reported PCK@a is the mean over joints
(thresholds 0.1, 0.2, 0.3, 0.4, 0.5). Deviations (documented): the box uses the true min/max (the reference starts
``max`` at -1, so boxes of joints at negative GT coordinates are clipped), and a joint never counted gives NaN and
is left out of the mean (the reference divides by zero).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["evaluate_pck", "pck_distances", "feature_to_pixels", "THRESHOLDS"]

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


def feature_to_pixels(pred: np.ndarray, width: int, height: int, feat_res: int = 40) -> np.ndarray:
    """Feature-grid coordinates ``[2, J, T]`` (reference ``.dat`` files) -> pixels: ``x / feat_res * width`` and
    ``y / feat_res * height``; negative x (lost) stays negative."""
    p = np.asarray(pred, dtype=np.float64).copy()
    lost = p[0] < 0
    p[0] = p[0] / float(feat_res) * width
    p[1] = p[1] / float(feat_res) * height
    p[:, lost] = -1.0
    return p


def _check(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 3 or a.shape[0] != 2:
        raise ValueError(f"{name}: expected [2, J, T] (x/y, joints, frames), got shape {a.shape}")
    return a


def pck_distances(pred: np.ndarray, gt: np.ndarray, name: str = "video") -> np.ndarray:
    """Normalised distances ``[J, T]`` of one video (NaN where not counted: frame 0 or invisible joints)."""
    pred = _check(pred, f"predictions[{name}]")
    gt = _check(gt, f"ground_truths[{name}]")
    if pred.shape != gt.shape:
        raise ValueError(f"predictions[{name}]: shape {pred.shape} differs from ground_truths[{name}] {gt.shape}")
    J, T = pred.shape[1], pred.shape[2]
    out = np.full((J, T), np.nan)
    vis = pred[0] >= 0  # [J, T]
    for t in range(1, T):
        v = vis[:, t]
        if not v.any():
            continue
        g = gt[:, v, t]
        norm = 0.6 * float(np.hypot(*(g.max(axis=1) - g.min(axis=1))))
        d = np.hypot(pred[0, v, t] - gt[0, v, t], pred[1, v, t] - gt[1, v, t])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[v, t] = d / norm
        # A zero-size box (one visible joint): the reference's 0/0 = NaN fails every threshold but is counted.
        out[v, t] = np.where(np.isnan(out[v, t]), np.inf, out[v, t])
    return out


def evaluate_pck(
    predictions: Sequence[np.ndarray],
    ground_truths: Sequence[np.ndarray],
    thresholds: Sequence[float] = THRESHOLDS,
) -> dict:
    """PCK over a set of videos.

    Args:
        predictions: per video ``[2, J, T]`` predicted (x, y) in pixels; x < 0 marks a lost joint.
        ground_truths: per video ``[2, J, T]`` GT (x, y) in the same pixels (0-based).
        thresholds: PCK thresholds (fractions of the normaliser).
    Returns:
        ``{"pck": {thr: mean over joints (percent)}, "per_joint": {thr: float64 [J]}, "counts": int64 [J]}``.
    """
    if len(predictions) != len(ground_truths):
        raise ValueError(f"predictions: {len(predictions)} videos but ground_truths has {len(ground_truths)}")
    if len(predictions) == 0:
        raise ValueError("predictions: expected at least one video")
    dists = [pck_distances(p, g, name=str(i)) for i, (p, g) in enumerate(zip(predictions, ground_truths))]
    J = dists[0].shape[0]
    if any(d.shape[0] != J for d in dists):
        raise ValueError("predictions: every video must have the same number of joints")
    per_joint_d = [np.concatenate([d[j][~np.isnan(d[j])] for d in dists]) for j in range(J)]
    counts = np.array([len(x) for x in per_joint_d], dtype=np.int64)
    res = {"pck": {}, "per_joint": {}, "counts": counts}
    for thr in thresholds:
        pj = np.array([100.0 * np.mean(x <= thr) if len(x) else np.nan for x in per_joint_d])
        res["per_joint"][float(thr)] = pj
        res["pck"][float(thr)] = float(np.nanmean(pj)) if np.any(~np.isnan(pj)) else float("nan")
    return res
