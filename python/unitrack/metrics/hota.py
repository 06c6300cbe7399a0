"""HOTA family (Luiten et al., IJCV 2020) with TrackEval 1.3.0 semantics.

HOTA, DetA, AssA, DetRe, DetPr, AssRe, AssPr, LocA and OWTA are arrays over the 19 localisation thresholds
``ALPHAS = np.arange(0.05, 0.99, 0.05)``; the reported scalar is their mean (``HOTA(0)``/``LocA(0)`` are
the values at alpha = 0.05). Matching per frame maximises ``global_alignment(gt_id, tr_id) * similarity``
(Hungarian), where the global alignment is the soft Jaccard of the two ids over the whole sequence; a match
counts at threshold alpha when its similarity is ``>= alpha`` (``- eps``, as TrackEval). Sums are taken in TrackEval's
order (LocA frame by frame, the association scores over dense [G, T] matrices), so results are bit-identical.
Input convention: see :mod:`unitrack.metrics.clear`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .clear import check_frames, relabel

_EPS = float(np.finfo("float").eps)
ALPHAS = np.arange(0.05, 0.99, 0.05)  # 19 thresholds, exactly as TrackEval
HOTA_INT_ARRAY_FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
HOTA_FLOAT_ARRAY_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA")
HOTA_FLOAT_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)")


def _final_fields(res: dict) -> dict:
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fp)
    res["DetA"] = tp / np.maximum(1, tp + fn + fp)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["OWTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["HOTA(0)"] = float(res["HOTA"][0])
    res["LocA(0)"] = float(res["LocA"][0])
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    return res


def hota_metrics(
    gt_ids: Sequence[np.ndarray],
    tracker_ids: Sequence[np.ndarray],
    similarity: Sequence[np.ndarray],
    validate: bool = True,
) -> dict:
    """HOTA metrics of one sequence.

    Args:
        gt_ids: per frame, int array [G_t].
        tracker_ids: per frame, int array [T_t].
        similarity: per frame, float array [G_t, T_t].

    Returns:
        dict: float arrays [19] for HOTA, DetA, AssA, DetRe, DetPr, AssRe, AssPr, LocA, OWTA and the counts
        HOTA_TP/FN/FP (float arrays [19], as TrackEval), floats HOTA(0), LocA(0), HOTALocA(0).
    """
    if validate:
        gt_ids, tracker_ids, similarity = check_frames(gt_ids, tracker_ids, similarity)
    gt_ids, n_g = relabel(gt_ids)
    tracker_ids, n_t = relabel(tracker_ids)
    n_a = len(ALPHAS)
    res: dict = {k: np.zeros(n_a) for k in HOTA_FLOAT_ARRAY_FIELDS + HOTA_INT_ARRAY_FIELDS}
    for k in HOTA_FLOAT_FIELDS:
        res[k] = 0.0
    num_gt = sum(len(g) for g in gt_ids)
    num_tr = sum(len(t) for t in tracker_ids)
    if num_tr == 0 or num_gt == 0:
        if num_tr == 0:
            res["HOTA_FN"] = float(num_gt) * np.ones(n_a)
        else:
            res["HOTA_FP"] = float(num_tr) * np.ones(n_a)
        res["LocA"] = np.ones(n_a)
        res["LocA(0)"] = 1.0
        return res

    # Pass 1: soft id-to-id alignment over the whole sequence.
    potential = np.zeros((n_g, n_t))
    for g, tr, sim in zip(gt_ids, tracker_ids, similarity):
        if sim.size == 0:
            continue
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        sim_iou = np.zeros_like(sim)
        mask = denom > 0 + _EPS
        sim_iou[mask] = sim[mask] / denom[mask]
        potential[g[:, None], tr[None, :]] += sim_iou
    gt_count = np.bincount(np.concatenate(gt_ids), minlength=n_g).astype(np.float64)[:, None]
    tr_count = np.bincount(np.concatenate(tracker_ids), minlength=n_t).astype(np.float64)[None, :]
    global_alignment = potential / (gt_count + tr_count - potential)

    # Pass 2: per-frame matching. The float sums follow TrackEval's order exactly (bit-identical results): LocA
    # adds, per alpha, the frame's matched similarities one by one (Python ``sum``) to a running total, and the
    # association scores sum a dense [G, T] matrix per alpha (numpy's pairwise sum depends on the layout).
    tp = np.zeros(n_a)
    loc = np.zeros(n_a)
    m_g, m_t, m_ok = [], [], []
    for g, tr, sim in zip(gt_ids, tracker_ids, similarity):
        if len(g) == 0 or len(tr) == 0:
            continue
        score = global_alignment[g[:, None], tr[None, :]] * sim
        rows, cols = linear_sum_assignment(-score)
        ms = sim[rows, cols]
        ok = ms[None, :] >= ALPHAS[:, None] - _EPS  # [A, K]: matched at each alpha
        tp += ok.sum(1)
        if len(ms):
            # per alpha: 0 + s_0 + s_1 + ... over the kept matches, in match order (zeros change nothing)
            loc += np.cumsum(np.where(ok, ms[None, :], 0.0), axis=1)[:, -1]
        m_g.append(g[rows])
        m_t.append(tr[cols])
        m_ok.append(ok)
    res["HOTA_TP"] = tp
    res["HOTA_FN"] = float(num_gt) - tp
    res["HOTA_FP"] = float(num_tr) - tp
    mg = np.concatenate(m_g) if m_g else np.zeros(0, np.int64)
    mt = np.concatenate(m_t) if m_t else np.zeros(0, np.int64)
    ok_all = np.concatenate(m_ok, axis=1) if m_ok else np.zeros((n_a, 0), bool)
    pair_key = mg * n_t + mt
    denom_tp = np.maximum(1, tp)
    for a in range(n_a):
        matches_count = np.bincount(pair_key[ok_all[a]], minlength=n_g * n_t).reshape(n_g, n_t).astype(np.float64)
        ass_a = matches_count / np.maximum(1, gt_count + tr_count - matches_count)
        res["AssA"][a] = np.sum(matches_count * ass_a) / denom_tp[a]
        ass_re = matches_count / np.maximum(1, gt_count)
        res["AssRe"][a] = np.sum(matches_count * ass_re) / denom_tp[a]
        ass_pr = matches_count / np.maximum(1, tr_count)
        res["AssPr"][a] = np.sum(matches_count * ass_pr) / denom_tp[a]
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    return _final_fields(res)


def combine_hota(per_sequence: Mapping[str, dict] | Sequence[dict]) -> dict:
    """Combine HOTA results over sequences as TrackEval does (sum counts; AssA/AssRe/AssPr and LocA are
    HOTA_TP-weighted averages; then recompute the derived fields)."""
    items = list(per_sequence.values()) if isinstance(per_sequence, Mapping) else list(per_sequence)
    n_a = len(ALPHAS)
    res: dict = {}
    for k in HOTA_INT_ARRAY_FIELDS:
        res[k] = sum((r[k] for r in items), np.zeros(n_a))
    for k in ("AssRe", "AssPr", "AssA"):
        res[k] = sum((r[k] * r["HOTA_TP"] for r in items), np.zeros(n_a)) / np.maximum(1.0, res["HOTA_TP"])
    loc = sum((r["LocA"] * r["HOTA_TP"] for r in items), np.zeros(n_a))
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, res["HOTA_TP"])
    return _final_fields(res)
