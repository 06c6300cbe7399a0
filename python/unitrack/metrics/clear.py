"""CLEAR MOT metrics (MOTA, MOTP, MODA, sMOTA, IDSW, Frag, MT/PT/ML, CLR_Re/Pr).

Semantics follow TrackEval 1.3.0 (``trackeval.metrics.CLEAR``) exactly, so numbers agree with the official
MOTChallenge tool: a gt/tracker pair is a true positive when its similarity (box or mask IoU) is
``>= threshold`` (0.5); in each frame the assignment first keeps the tracker id that covered a gt id in the
*previous* frame (score bonus 1000) and then maximises the total similarity (Hungarian,
``scipy.optimize.linear_sum_assignment``). An identity switch is counted when a gt id is matched to a
tracker id different from the one it was *last* matched to (any number of frames before).
MOTP is the mean IoU of the matches (TrackEval convention, higher is better; py-motmetrics reports
``1 - IoU`` instead).

TrackEval details kept for exact parity (documented deviations from a textbook reading): a frame where the
tracker outputs nothing (or the gt is empty) does not interrupt "currently tracked", so it adds no Frag and
the previous-frame bonus survives it; a sequence without any gt or any tracker output returns only the
counts (MOTA, MOTP, ... stay 0 and MLR = 1 in the per-sequence dict; combined results recompute all ratios
from the summed counts).

Input convention shared by :mod:`clear`, :mod:`identity` and :mod:`hota`: three lists with one entry per
frame: ``gt_ids[t]`` int array ``[G_t]``, ``tracker_ids[t]`` int array ``[T_t]`` and ``similarity[t]``
float array ``[G_t, T_t]`` (values in [0, 1]). Ids may be any non-negative or negative integers; they are
relabelled to contiguous indices internally (sorted order, as TrackEval does).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

_EPS = float(np.finfo("float").eps)

CLEAR_INT_FIELDS = ("CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "CLR_Frames")
CLEAR_FLOAT_FIELDS = (
    "MOTA",
    "MOTP",
    "MODA",
    "CLR_Re",
    "CLR_Pr",
    "MTR",
    "PTR",
    "MLR",
    "sMOTA",
    "CLR_F1",
    "FP_per_frame",
    "MOTAL",
    "MOTP_sum",
)


def _first_duplicate(ids: Sequence[np.ndarray]) -> tuple[int, int] | None:
    """(frame index, id) of the first id repeated inside a frame, or None. Vectorised over all frames."""
    lens = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    if lens.sum() == 0:
        return None
    cat = np.concatenate([np.asarray(i, dtype=np.int64).reshape(-1) for i in ids])
    fr = np.repeat(np.arange(len(ids)), lens)
    order = np.lexsort((cat, fr))
    c, f = cat[order], fr[order]
    dup = np.flatnonzero((c[1:] == c[:-1]) & (f[1:] == f[:-1]))
    if len(dup) == 0:
        return None
    return int(f[dup[0]]), int(c[dup[0]])


def check_frames(
    gt_ids: Sequence[np.ndarray], tracker_ids: Sequence[np.ndarray], similarity: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Validate the per-frame input lists and return them as numpy arrays (int64 ids, float64 similarity).

    Raises ValueError naming the frame (1-based) when lengths or shapes disagree, ids repeat inside a frame,
    ids are not integers, or similarities are not finite / outside [0, 1] (a small tolerance is allowed).
    """
    if not (len(gt_ids) == len(tracker_ids) == len(similarity)):
        raise ValueError(
            f"gt_ids, tracker_ids and similarity must have one entry per frame; got lengths "
            f"{len(gt_ids)}, {len(tracker_ids)}, {len(similarity)}"
        )
    g_out, t_out, s_out = [], [], []
    for t, (g, tr, s) in enumerate(zip(gt_ids, tracker_ids, similarity)):
        g = np.asarray(g).reshape(-1)
        tr = np.asarray(tr).reshape(-1)
        for name, arr in (("gt_ids", g), ("tracker_ids", tr)):
            if arr.size and not np.issubdtype(arr.dtype, np.integer) and not np.all(np.mod(arr, 1) == 0):
                raise ValueError(f"{name}[{t}] (frame {t + 1}) must be integers, got {arr.dtype}")
        s = np.asarray(s, dtype=np.float64)
        if s.size == 0:
            s = s.reshape(len(g), len(tr))
        if s.shape != (len(g), len(tr)):
            raise ValueError(
                f"similarity[{t}] (frame {t + 1}) must have shape [{len(g)}, {len(tr)}] "
                f"(gt x tracker), got {list(s.shape)}"
            )
        g_out.append(g.astype(np.int64, copy=False))
        t_out.append(tr.astype(np.int64, copy=False))
        s_out.append(s)
    flat = np.concatenate([s.reshape(-1) for s in s_out]) if s_out else np.zeros(0)
    if flat.size and (not np.all(np.isfinite(flat)) or flat.min() < -1e-9 or flat.max() > 1 + 1e-9):
        bad = next(
            t
            for t, s in enumerate(s_out)
            if s.size and (not np.all(np.isfinite(s)) or s.min() < -1e-9 or s.max() > 1 + 1e-9)
        )
        raise ValueError(f"similarity[{bad}] (frame {bad + 1}) must be finite and in [0, 1]")
    for name, ids in (("gt_ids", g_out), ("tracker_ids", t_out)):
        d = _first_duplicate(ids)
        if d is not None:
            raise ValueError(f"{name}[{d[0]}]: id {d[1]} appears more than once in frame {d[0] + 1}")
    return g_out, t_out, s_out


def relabel(ids: Sequence[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Map ids to contiguous 0..K-1 in sorted order (as TrackEval does). Returns (per-frame arrays, K)."""
    if len(ids) == 0:
        return [], 0
    cat = np.concatenate([np.asarray(i, dtype=np.int64).reshape(-1) for i in ids])
    if cat.size == 0:
        return [np.zeros(0, dtype=np.int64) for _ in ids], 0
    uniq, inv = np.unique(cat, return_inverse=True)
    out, start = [], 0
    for i in ids:
        n = len(i)
        out.append(inv[start : start + n].astype(np.int64))
        start += n
    return out, len(uniq)


def _final_fields(res: dict) -> dict:
    num_gt_ids = res["MT"] + res["ML"] + res["PT"]
    tp, fn, fp, idsw = res["CLR_TP"], res["CLR_FN"], res["CLR_FP"], res["IDSW"]
    res["MTR"] = res["MT"] / np.maximum(1.0, num_gt_ids)
    res["MLR"] = res["ML"] / np.maximum(1.0, num_gt_ids)
    res["PTR"] = res["PT"] / np.maximum(1.0, num_gt_ids)
    res["CLR_Re"] = tp / np.maximum(1.0, tp + fn)
    res["CLR_Pr"] = tp / np.maximum(1.0, tp + fp)
    res["MODA"] = (tp - fp) / np.maximum(1.0, tp + fn)
    res["MOTA"] = (tp - fp - idsw) / np.maximum(1.0, tp + fn)
    res["MOTP"] = res["MOTP_sum"] / np.maximum(1.0, tp)
    res["sMOTA"] = (res["MOTP_sum"] - fp - idsw) / np.maximum(1.0, tp + fn)
    res["CLR_F1"] = tp / np.maximum(1.0, tp + 0.5 * fn + 0.5 * fp)
    res["FP_per_frame"] = fp / np.maximum(1.0, res["CLR_Frames"])
    safe_log_idsw = np.log10(idsw) if idsw > 0 else idsw
    res["MOTAL"] = (tp - fp - safe_log_idsw) / np.maximum(1.0, tp + fn)
    for k in CLEAR_FLOAT_FIELDS:
        res[k] = float(res[k])
    for k in CLEAR_INT_FIELDS:
        res[k] = int(res[k])
    return res


def clear_metrics(
    gt_ids: Sequence[np.ndarray],
    tracker_ids: Sequence[np.ndarray],
    similarity: Sequence[np.ndarray],
    threshold: float = 0.5,
    validate: bool = True,
) -> dict:
    """CLEAR metrics of one sequence.

    Args:
        gt_ids: per frame, int array [G_t] of gt track ids.
        tracker_ids: per frame, int array [T_t] of tracker ids.
        similarity: per frame, float array [G_t, T_t] (IoU) between gt and tracker objects.
        threshold: minimum similarity of a true positive (TrackEval default 0.5).
        validate: check the inputs (:func:`check_frames`); False only for inputs already checked.

    Returns:
        dict with the TrackEval CLEAR fields (ints: CLR_TP, CLR_FN, CLR_FP, IDSW, MT, PT, ML, Frag,
        CLR_Frames; floats: MOTA, MOTP, MODA, CLR_Re, CLR_Pr, MTR, PTR, MLR, sMOTA, CLR_F1, FP_per_frame,
        MOTAL, MOTP_sum).
    """
    if validate:
        gt_ids, tracker_ids, similarity = check_frames(gt_ids, tracker_ids, similarity)
    gt_ids, num_gt_ids = relabel(gt_ids)
    tracker_ids, _ = relabel(tracker_ids)
    res: dict = {k: 0 for k in CLEAR_INT_FIELDS + CLEAR_FLOAT_FIELDS}
    num_gt_dets = sum(len(g) for g in gt_ids)
    num_tr_dets = sum(len(t) for t in tracker_ids)
    if num_tr_dets == 0 or num_gt_dets == 0:
        # TrackEval returns early here without computing the derived fields (they stay 0, MLR = 1 and
        # CLR_Frames = 0); keep that for exact parity. Combined results recompute everything from counts.
        res["CLR_FN"] = num_gt_dets if num_tr_dets == 0 else 0
        res["CLR_FP"] = num_tr_dets if num_tr_dets > 0 else 0
        res["ML"] = num_gt_ids if num_tr_dets == 0 else 0
        res["MLR"] = 1.0
        return {k: (int(v) if k in CLEAR_INT_FIELDS else float(v)) for k, v in res.items()}

    gt_id_count = np.zeros(num_gt_ids)
    gt_matched_count = np.zeros(num_gt_ids)
    gt_frag_count = np.zeros(num_gt_ids)
    prev_tracker_id = np.full(num_gt_ids, np.nan)
    prev_timestep_tracker_id = np.full(num_gt_ids, np.nan)
    tp = fn = fp = idsw = 0
    motp_sum = 0.0
    for g, tr, sim in zip(gt_ids, tracker_ids, similarity):
        if len(g) == 0:
            fp += len(tr)
            continue
        if len(tr) == 0:
            fn += len(g)
            gt_id_count[g] += 1
            continue
        score = 1000.0 * (tr[None, :] == prev_timestep_tracker_id[g][:, None]) + sim
        score[sim < threshold - _EPS] = 0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > 0 + _EPS
        rows, cols = rows[ok], cols[ok]
        mg, mt = g[rows], tr[cols]
        prev = prev_tracker_id[mg]
        idsw += int(np.sum(~np.isnan(prev) & (mt != prev)))
        gt_id_count[g] += 1
        gt_matched_count[mg] += 1
        not_prev = np.isnan(prev_timestep_tracker_id)
        prev_tracker_id[mg] = mt
        prev_timestep_tracker_id[:] = np.nan
        prev_timestep_tracker_id[mg] = mt
        gt_frag_count += not_prev & ~np.isnan(prev_timestep_tracker_id)
        n = len(mg)
        tp += n
        fn += len(g) - n
        fp += len(tr) - n
        if n:
            motp_sum += float(sum(sim[rows, cols]))
    present = gt_id_count > 0
    ratio = gt_matched_count[present] / gt_id_count[present]
    res.update(CLR_TP=tp, CLR_FN=fn, CLR_FP=fp, IDSW=idsw, MOTP_sum=motp_sum, CLR_Frames=len(gt_ids))
    res["MT"] = int(np.sum(ratio > 0.8))
    res["PT"] = int(np.sum(ratio >= 0.2)) - res["MT"]
    res["ML"] = num_gt_ids - res["MT"] - res["PT"]
    res["Frag"] = int(np.sum(gt_frag_count[gt_frag_count > 0] - 1))
    return _final_fields(res)


def combine_clear(per_sequence: Mapping[str, dict] | Sequence[dict]) -> dict:
    """Combine CLEAR results of several sequences as TrackEval does (sum the counts, recompute ratios)."""
    items = list(per_sequence.values()) if isinstance(per_sequence, Mapping) else list(per_sequence)
    res: dict = {}
    for k in CLEAR_INT_FIELDS + ("MOTP_sum",):
        res[k] = sum(r[k] for r in items) if items else 0
    return _final_fields(res)
