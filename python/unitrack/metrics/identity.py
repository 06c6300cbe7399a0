"""Identity metrics (IDF1, IDP, IDR; Ristani et al. 2016) with TrackEval 1.3.0 semantics.

A gt id and a tracker id are bipartitely matched *once per sequence* so that the number of frames in
which they overlap with similarity ``>= threshold`` (0.5) is maximised (equivalently IDFN + IDFP is
minimised, solved with ``scipy.optimize.linear_sum_assignment`` on the (G+T)x(G+T) augmented cost
matrix). Input convention: see :mod:`unitrack.metrics.clear`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .clear import check_frames, relabel

IDENTITY_INT_FIELDS = ("IDTP", "IDFN", "IDFP")
IDENTITY_FLOAT_FIELDS = ("IDF1", "IDR", "IDP")


def _final_fields(res: dict) -> dict:
    idtp, idfn, idfp = res["IDTP"], res["IDFN"], res["IDFP"]
    res["IDR"] = float(idtp / np.maximum(1.0, idtp + idfn))
    res["IDP"] = float(idtp / np.maximum(1.0, idtp + idfp))
    res["IDF1"] = float(idtp / np.maximum(1.0, idtp + 0.5 * idfp + 0.5 * idfn))
    for k in IDENTITY_INT_FIELDS:
        res[k] = int(res[k])
    return res


def identity_metrics(
    gt_ids: Sequence[np.ndarray],
    tracker_ids: Sequence[np.ndarray],
    similarity: Sequence[np.ndarray],
    threshold: float = 0.5,
    validate: bool = True,
) -> dict:
    """IDF1/IDP/IDR (+ IDTP/IDFN/IDFP counts) of one sequence.

    Args:
        gt_ids: per frame, int array [G_t].
        tracker_ids: per frame, int array [T_t].
        similarity: per frame, float array [G_t, T_t].
        threshold: minimum similarity for two detections to count as the same object (0.5).
    """
    if validate:
        gt_ids, tracker_ids, similarity = check_frames(gt_ids, tracker_ids, similarity)
    gt_ids, n_g = relabel(gt_ids)
    tracker_ids, n_t = relabel(tracker_ids)
    res: dict = {k: 0 for k in IDENTITY_INT_FIELDS + IDENTITY_FLOAT_FIELDS}
    num_gt = sum(len(g) for g in gt_ids)
    num_tr = sum(len(t) for t in tracker_ids)
    if num_tr == 0 or num_gt == 0:
        # TrackEval returns the counts only (IDF1/IDR/IDP stay 0).
        res["IDFN"] = num_gt if num_tr == 0 else 0
        res["IDFP"] = num_tr if num_tr > 0 and num_gt == 0 else 0
        return {k: (int(v) if k in IDENTITY_INT_FIELDS else float(v)) for k, v in res.items()}

    # Vectorised accumulation of the per-(gt id, tracker id) overlap counts over all frames.
    rows_all, cols_all = [], []
    for g, tr, s in zip(gt_ids, tracker_ids, similarity):
        if s.size:
            r, c = np.nonzero(s >= threshold)
            rows_all.append(g[r])
            cols_all.append(tr[c])
    potential = np.zeros((n_g, n_t))
    if rows_all:
        flat = np.concatenate(rows_all) * n_t + np.concatenate(cols_all)
        potential = np.bincount(flat, minlength=n_g * n_t).reshape(n_g, n_t).astype(np.float64)
    gt_count = np.bincount(np.concatenate(gt_ids), minlength=n_g).astype(np.float64)
    tr_count = np.bincount(np.concatenate(tracker_ids), minlength=n_t).astype(np.float64)

    n = n_g + n_t
    fp_mat = np.zeros((n, n))
    fn_mat = np.zeros((n, n))
    fp_mat[n_g:, :n_t] = 1e10
    fn_mat[:n_g, n_t:] = 1e10
    fn_mat[:n_g, :n_t] = gt_count[:, None]
    fn_mat[np.arange(n_g), n_t + np.arange(n_g)] = gt_count
    fp_mat[:n_g, :n_t] = tr_count[None, :]
    fp_mat[n_g + np.arange(n_t), np.arange(n_t)] = tr_count
    fn_mat[:n_g, :n_t] -= potential
    fp_mat[:n_g, :n_t] -= potential
    rows, cols = linear_sum_assignment(fn_mat + fp_mat)
    res["IDFN"] = int(fn_mat[rows, cols].sum())
    res["IDFP"] = int(fp_mat[rows, cols].sum())
    res["IDTP"] = int(gt_count.sum() - res["IDFN"])
    return _final_fields(res)


def combine_identity(per_sequence: Mapping[str, dict] | Sequence[dict]) -> dict:
    """Combine Identity results over sequences as TrackEval does (sum counts, recompute ratios)."""
    items = list(per_sequence.values()) if isinstance(per_sequence, Mapping) else list(per_sequence)
    res = {k: sum(r[k] for r in items) if items else 0 for k in IDENTITY_INT_FIELDS}
    return _final_fields(res)
