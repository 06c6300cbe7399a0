"""``unitrack.associate``: the stateless stage-1 association of UniTrack, for any tracker.

Cost = 1 - RSM(track feature sets, detection feature sets) (SPEC §6), optionally fused with Kalman motion and gated
(appendix c), then solved by a linear assignment with a cost limit (appendix d).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .config import FIRST_STAGE_THRESH, RSM_TEMPERATURE
from .kalman import check_covariance, tlwh_to_xyah
from .matching import fuse_motion, linear_assignment


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except Exception as e:  # noqa: BLE001
            raise TypeError(f"{name} must be a tensor or array, got {type(x).__name__}") from e
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point (float32/float64), got {t.dtype}")
    return t


def feature_sets(x, name: str) -> list[torch.Tensor]:
    """Normalise object feature sets to a list of point-major ``[P_i, C]`` tensors.

    Accepted: ``[N, P, C]`` (points, channels); ``[N, C, h, w]`` per-object grids (as :func:`roi_align` returns;
    points in row-major order); a sequence of ``[P_i, C]``; or a packed ``(points [sum P_i, C], sizes [N])`` tuple.
    """
    if isinstance(x, tuple) and len(x) == 2 and np.ndim(x[1]) == 1 and np.ndim(x[0]) == 2:
        pts = _as_tensor(x[0], f"{name}[0] (points)")
        sizes = torch.as_tensor(np.asarray(x[1].cpu() if isinstance(x[1], torch.Tensor) else x[1]))
        if sizes.is_floating_point() or sizes.dtype == torch.bool:
            raise TypeError(f"{name}[1] (sizes) must be integers, got {sizes.dtype}")
        if bool((sizes < 0).any()):
            raise ValueError(f"{name}[1] (sizes) must be >= 0, got {sizes.tolist()}")
        if int(sizes.sum()) != pts.shape[0]:
            raise ValueError(f"{name}: sizes sum to {int(sizes.sum())} but points has {pts.shape[0]} rows")
        sets = list(torch.split(pts, [int(s) for s in sizes.tolist()], dim=0))
    elif isinstance(x, (torch.Tensor, np.ndarray)):
        t = _as_tensor(x, name)
        if t.dim() == 4:
            t = t.flatten(2).transpose(1, 2)
        elif t.dim() != 3:
            raise ValueError(
                f"{name} must be [N, P, C], [N, C, h, w], a list of [P_i, C] or (points, sizes), "
                f"got shape {tuple(t.shape)}"
            )
        sets = list(t.unbind(0))
    elif isinstance(x, Sequence):
        sets = []
        for i, s in enumerate(x):
            s = _as_tensor(s, f"{name}[{i}]")
            if s.dim() != 2:
                raise ValueError(f"{name}[{i}] must be a [P, C] feature set, got shape {tuple(s.shape)}")
            sets.append(s)
    else:
        raise TypeError(f"{name} must be a tensor, array, list of [P_i, C] or (points, sizes), got {type(x).__name__}")
    return sets


def _check_sets(ts: list[torch.Tensor], ds: list[torch.Tensor]) -> tuple[int, torch.device, torch.dtype]:
    all_sets = [("track_feats", i, s) for i, s in enumerate(ts)] + [("det_feats", j, s) for j, s in enumerate(ds)]
    if not all_sets:
        return 0, torch.device("cpu"), torch.float32
    n0, i0, s0 = all_sets[0]
    C = s0.shape[1]
    for n, i, s in all_sets:
        if s.shape[1] != C:
            raise ValueError(
                f"{n}[{i}] has C={s.shape[1]} channels but {n0}[{i0}] has C={C}: all feature sets "
                "must have the same number of channels"
            )
        if s.device != s0.device:
            raise ValueError(f"{n}[{i}] is on {s.device} but {n0}[{i0}] is on {s0.device}")
    # One cheap test for the common case (NaN/inf propagate into a sum), then locate the culprit.
    total = torch.stack([s.double().sum() for _, _, s in all_sets]).sum()
    if not bool(torch.isfinite(total)):
        for n, i, s in all_sets:
            if s.numel() and not bool(torch.isfinite(s).all()):
                raise ValueError(f"{n}[{i}] contains NaN or inf values")
    dtype = torch.float64 if any(s.dtype == torch.float64 for _, _, s in all_sets) else torch.float32
    return C, s0.device, dtype


def _pad(sets: list[torch.Tensor], C: int, dtype, device) -> list[torch.Tensor]:
    P = max(s.shape[0] for s in sets)
    out = torch.zeros((len(sets), P, C), dtype=dtype, device=device)
    for i, s in enumerate(sets):
        out[i, : s.shape[0]] = s
    return list(out.unbind(0))


def rsm_cost(
    track_feats, det_feats, *, temperature: float = RSM_TEMPERATURE, pad_like_reference: bool = False
) -> np.ndarray:
    """Appearance cost ``1 - unitrack_ext.ops.rsm(track_sets, det_sets)`` as a numpy ``[N, M]`` array.

    Args:
        track_feats, det_feats: object feature sets (see :func:`feature_sets`).
        temperature: RSM softmax temperature (0.01 = the reference's factor 100).
        pad_like_reference: zero-pad each side to its largest set; the zero points then take part in the softmaxes
            (the reference's behaviour for variable-size mask sets). False: the sets are used as they are. No effect
            when all sets of a side have the same size.
    Returns:
        ``[N, M]`` cost in the features' dtype (float32 unless any set is float64). An object with no points has
        similarity 0 (cost 1) to everything.
    """
    if not (isinstance(temperature, (int, float)) and np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite positive number, got {temperature}")
    ts, ds = feature_sets(track_feats, "track_feats"), feature_sets(det_feats, "det_feats")
    C, device, dtype = _check_sets(ts, ds)
    N, M = len(ts), len(ds)
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    if N == 0 or M == 0:
        return np.zeros((N, M), np_dtype)
    ts = [s.to(dtype) for s in ts]
    ds = [s.to(dtype) for s in ds]
    if pad_like_reference:
        if max(s.shape[0] for s in ts) > 0:
            ts = _pad(ts, C, dtype, device)
        if max(s.shape[0] for s in ds) > 0:
            ds = _pad(ds, C, dtype, device)
    ti = [i for i, s in enumerate(ts) if s.shape[0] > 0]
    di = [j for j, s in enumerate(ds) if s.shape[0] > 0]
    sim = np.zeros((N, M), np.float64)
    if ti and di:
        from unitrack_ext import ops

        s = ops.rsm([ts[i] for i in ti], [ds[j] for j in di], temperature=float(temperature))
        sim[np.ix_(ti, di)] = s.detach().to("cpu", torch.float64).numpy()
    return (1.0 - sim).astype(np_dtype)


def _motion_inputs(track_means, track_covs, det_boxes, N: int, M: int):
    given = {
        "track_means": track_means is not None,
        "track_covs": track_covs is not None,
        "det_boxes": det_boxes is not None,
    }
    if not any(given.values()):
        return None
    if not all(given.values()):
        missing = [k for k, v in given.items() if not v]
        raise ValueError(f"motion fusion needs track_means, track_covs and det_boxes together; missing {missing}")

    def arr(x, name):
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        a = np.asarray(x, dtype=np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf values")
        return a

    means = arr(track_means, "track_means")
    means = means.reshape(0, 8) if means.size == 0 else means
    if means.ndim != 2 or means.shape != (N, 8):
        raise ValueError(f"track_means must have shape [N={N}, 8] (x, y, a, h + velocities), got {means.shape}")
    covs = arr(track_covs, "track_covs")
    covs = covs.reshape(0, 8, 8) if covs.size == 0 else covs
    if covs.shape != (N, 8, 8):
        raise ValueError(f"track_covs must have shape [N={N}, 8, 8], got {covs.shape}")
    check_covariance(covs, "track_covs")
    if N and np.any(means[:, 3] <= 0):
        i = int(np.nonzero(means[:, 3] <= 0)[0][0])
        raise ValueError(f"track_means[{i}] has non-positive height h={means[i, 3]}")
    boxes = arr(det_boxes, "det_boxes")
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    if boxes.shape != (M, 4):
        raise ValueError(f"det_boxes must have shape [M={M}, 4] (tlwh pixels), got {boxes.shape}")
    bad = np.nonzero((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))[0]
    if bad.size:
        raise ValueError(f"det_boxes[{int(bad[0])}] = {boxes[bad[0]].tolist()} has non-positive width or height")
    return means, covs, tlwh_to_xyah(boxes)


def associate(
    track_feats,
    det_feats,
    *,
    track_means=None,
    track_covs=None,
    det_boxes=None,
    motion_lambda: float = 0.98,
    gate: bool = True,
    threshold: float = FIRST_STAGE_THRESH,
    temperature: float = RSM_TEMPERATURE,
    pad_like_reference: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """UniTrack's stage-1 association of N tracks and M detections (appearance RSM + optional Kalman motion).

    1. ``cost = 1 - rsm(track_feats, det_feats)`` (SPEC §6; global two-way softmax at ``temperature``).
    2. If the Kalman inputs are given: ``d2`` = squared Mahalanobis distance of each detection's (x, y, a, h) to each
       projected track; with ``gate``, ``cost = inf`` where ``d2 > 9.4877`` (chi2 95 %, 4 dof); then
       ``cost = motion_lambda * cost + (1 - motion_lambda) * d2``.
    3. Assignment with a cost limit ``threshold`` (lap.lapjv ``extend_cost`` / ``cost_limit``: a pair is kept only
       if its cost is below what leaving its row and column unmatched costs; not "Hungarian then threshold").

    Args:
        track_feats: the tracks' feature sets (the reference uses each track's latest, ``curr_feat``):
            ``[N, P, C]`` points x channels, ``[N, C, h, w]`` grids (e.g. ``roi_align`` output ``[N, C, 4, 10]``),
            a list of ``[P_i, C]`` (ragged), or a packed ``(points [sum P_i, C], sizes [N])``. numpy or torch,
            CPU or CUDA (the RSM runs where the features are).
        det_feats: the detections' feature sets, same forms, ``M`` objects, the same ``C``.
        track_means: ``[N, 8]`` Kalman means (x, y, a, h, vx, vy, va, vh) **already predicted** to this frame.
        track_covs: ``[N, 8, 8]`` the matching covariances (symmetric positive definite).
        det_boxes: ``[M, 4]`` detections as tlwh pixels (w, h > 0), in the same units as the Kalman states.
        motion_lambda: weight of the appearance cost (0.98 MOT/MOTS, 0.9999 PoseTrack; 1 = appearance only).
        gate: gate with chi2inv95[4].
        threshold: cost limit of the assignment (0.7 in the reference).
        temperature: RSM temperature (0.01).
        pad_like_reference: for ragged sets, zero-pad each side to its largest set with the zero points taking part
            in the softmax, as the reference's mask/pose trackers do (default False: ragged sets as given).
    Returns:
        ``(matches, unmatched_tracks, unmatched_dets, cost)``: ``matches`` int64 ``[K, 2]`` (track, detection) in
        ascending track order; ``unmatched_tracks`` int64 ``[N-K]``; ``unmatched_dets`` int64 ``[M-K]``; ``cost``
        numpy ``[N, M]`` (float32 for float32 features), the fused cost that went into the assignment, ``inf``
        where gated. All numpy on the CPU.

    Example (a SORT/ByteTrack-style tracker, per frame)::

        kf = unitrack.association.KalmanFilter()
        means, covs = kf.predict(means, covs)                        # tracks' states -> this frame
        m, ut, ud, cost = unitrack.associate(trk_feats, det_feats, track_means=means, track_covs=covs,
                                             det_boxes=det_tlwh)
        for t, d in m:                                               # correct matched tracks
            means[t], covs[t] = kf.update(means[t], covs[t], tlwh_to_xyah(det_tlwh[d]))
    """
    if not (0.0 <= motion_lambda <= 1.0):
        raise ValueError(f"motion_lambda must be in [0, 1], got {motion_lambda}")
    if not (isinstance(threshold, (int, float)) and np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite positive number, got {threshold}")
    ts, ds = feature_sets(track_feats, "track_feats"), feature_sets(det_feats, "det_feats")
    N, M = len(ts), len(ds)
    motion = _motion_inputs(track_means, track_covs, det_boxes, N, M)
    cost = rsm_cost(ts, ds, temperature=temperature, pad_like_reference=pad_like_reference)
    if motion is not None and N and M:
        means, covs, det_xyah = motion
        cost = fuse_motion(cost, means, covs, det_xyah, motion_lambda=motion_lambda, gate=gate)
    matches, ut, ud = linear_assignment(cost, threshold)
    return matches, ut, ud, cost
