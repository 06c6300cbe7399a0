"""PoseTrack multi-person pose tracking MOTA, as the official ``poseval`` (evaluateTracking.py) defines it.

Per sequence and per joint j (15 PoseTrack joints) a separate MOT accumulator is fed frame by frame with
the gt people that have joint j annotated, the predicted people that have joint j, and the distance
``||gt_j - pred_j|| / head_size`` with ``head_size = 0.6 * ||(x2 - x1, y2 - y1)||`` of the gt head box; a
pair may match only when that distance is ``<= 0.5`` (PCKh@0.5). Matching follows py-motmetrics'
``MOTAccumulator`` (the one poseval calls): a gt id keeps the hypothesis id it was last matched to when the
pair is still valid, the rest is a min-cost assignment that first maximises the number of matches; an
identity switch is a match to a different hypothesis than the last one. Counts are summed over sequences
per joint, then (in percent, as poseval prints)::

    MOTA_j = 100 * (1 - (misses_j + switches_j + false_positives_j) / objects_j)
    MOTP_j = 100 * (1 - sum_of_matched_distances_j / detections_j)
    Prec_j = 100 * detections_j / (detections_j + false_positives_j),  Rec_j = 100 * detections_j / objects_j

and ``total`` = the mean over joints (NaN joints skipped).

poseval quirks, reproduced when ``poseval_quirks=True`` (the default, for comparability with published
numbers) and fixed when False:

1. the last frame of every sequence is dropped (``imgidxs[:-1]``);
2. frames whose gt has no person are removed together with their predictions (predictions there are never
   false positives) -- kept as-is in both modes for unlabeled frames, but with ``poseval_quirks=False`` a
   *labeled* frame without gt people counts its predictions as false positives;
3. a frame where gt or predictions are empty (after removing people without joints) contributes exactly
   one miss and one false positive per joint (a dummy id 0 on both sides) instead of the real counts.

Ignore regions of the gt (polygons) remove gt and predicted joints inside them, as poseval does; people left
without joints are dropped. poseval's MOTP with py-motmetrics >= 1.2 can also include distances of extra
switch events; we sum each matched distance once.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.posetrack import POSETRACK_JOINTS, PosePerson, PoseSequence

__all__ = ["posetrack_mota", "evaluate_posetrack_dirs", "format_posetrack_table", "head_size", "JOINT_GROUPS"]

J = len(POSETRACK_JOINTS)
#: poseval's printed groups (joint ids).
JOINT_GROUPS = {"Head": (14, 12, 13), "Shou": (8, 9), "Elb": (7, 10), "Wri": (6, 11), "Hip": (2, 3),
                "Knee": (1, 4), "Ankl": (0, 5)}
_COUNTS = ("num_objects", "num_misses", "num_switches", "num_false_positives", "num_detections", "sumD")


def head_size(head_box: np.ndarray) -> float:
    """0.6 x the diagonal of the head box (x1, y1, x2, y2) -- poseval's normaliser."""
    x1, y1, x2, y2 = head_box
    return 0.6 * float(np.hypot(x2 - x1, y2 - y1))


def _solve(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost assignment where NaN = forbidden; maximises the number of valid pairs first."""
    valid = np.isfinite(costs)
    if not valid.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    c = np.abs(costs[valid]).max() + 1
    big = 2 * min(costs.shape) * c + 1
    r, k = linear_sum_assignment(np.where(valid, costs, big))
    ok = valid[r, k]
    return r[ok], k[ok]


class _Accumulator:
    """py-motmetrics MOTAccumulator semantics, reduced to the counts MOTA/MOTP need."""

    def __init__(self) -> None:
        self.last: dict[int, int] = {}
        self.c = dict.fromkeys(_COUNTS, 0.0)

    def update(self, oids: np.ndarray, hids: np.ndarray, dist: np.ndarray) -> None:
        n_o, n_h = len(oids), len(hids)
        om = np.zeros(n_o, bool)
        hm = np.zeros(n_h, bool)
        for i, o in enumerate(oids.tolist()):
            h = self.last.get(o)
            if h is None:
                continue
            js = np.flatnonzero(~hm & (hids == h))
            if len(js) and np.isfinite(dist[i, js[0]]):
                om[i] = hm[js[0]] = True
                self.c["num_detections"] += 1
                self.c["sumD"] += dist[i, js[0]]
        if n_o and n_h:
            d = dist.copy()
            d[om, :] = np.nan
            d[:, hm] = np.nan
            rows, cols = _solve(d)
            for i, j in zip(rows.tolist(), cols.tolist()):
                o, h = int(oids[i]), int(hids[j])
                if o in self.last and self.last[o] != h:
                    self.c["num_switches"] += 1
                self.last[o] = h
                om[i] = hm[j] = True
                self.c["num_detections"] += 1
                self.c["sumD"] += d[i, j]
        self.c["num_objects"] += n_o
        self.c["num_misses"] += int((~om).sum())
        self.c["num_false_positives"] += int((~hm).sum())


def _inside(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule: which of ``points [N, 2]`` lie strictly inside polygon ``poly [K, 2]``."""
    if len(poly) < 3 or len(points) == 0:
        return np.zeros(len(points), bool)
    x, y = points[:, 0:1], points[:, 1:2]
    x1, y1 = poly[:, 0][None], poly[:, 1][None]
    x2, y2 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = (y1 > y) != (y2 > y)
        xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        cross = cond & (x < xint)
    return (cross.sum(1) % 2) == 1


def _apply_ignore(people: list[PosePerson], regions: list[np.ndarray]) -> list[PosePerson]:
    if not regions:
        return people
    out = []
    for p in people:
        pres = p.present
        pts = p.joints[:, :2]
        drop = np.zeros(J, bool)
        for reg in regions:
            drop[pres] |= _inside(pts[pres], np.asarray(reg, dtype=np.float64))
        if drop.any():
            j = p.joints.copy()
            j[drop, :2] = np.nan
            p = PosePerson(j, p.track_id, p.scores, p.head_box, p.box, p.score)
        out.append(p)
    return out


def _frame_updates(gt: list[PosePerson], pr: list[PosePerson], thr: float, quirks: bool, where: str):
    """Per joint (oids, hids, dist) for one frame."""
    if quirks and (len(gt) == 0 or len(pr) == 0):
        d = np.full((1, 1), np.nan)
        return [(np.zeros(1, np.int64), np.zeros(1, np.int64), d)] * J
    for k, p in enumerate(gt):
        if p.track_id is None:
            raise ValueError(f"{where}: gt person {k} has no track_id")
        if p.head_box is None:
            raise ValueError(f"{where}: gt person {k} has no head box (x1, y1, x2, y2 / bbox_head), needed for "
                             f"the head-size normalisation")
    for k, p in enumerate(pr):
        if p.track_id is None:
            raise ValueError(f"{where}: predicted person {k} has no track_id")
    g_xy = np.stack([p.joints[:, :2] for p in gt]) if gt else np.zeros((0, J, 2))      # [G, J, 2]
    p_xy = np.stack([p.joints[:, :2] for p in pr]) if pr else np.zeros((0, J, 2))      # [P, J, 2]
    hs = np.array([head_size(p.head_box) for p in gt])                                # [G]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.linalg.norm(g_xy[:, None] - p_xy[None], axis=-1) / hs[:, None, None]   # [G, P, J]
    d[~(d <= thr)] = np.nan   # NaN from missing joints / zero head size -> no match
    g_has = np.isfinite(g_xy).all(-1)
    p_has = np.isfinite(p_xy).all(-1)
    g_tid = np.array([p.track_id for p in gt], np.int64)
    p_tid = np.array([p.track_id for p in pr], np.int64)
    out = []
    for j in range(J):
        gi, pi = np.flatnonzero(g_has[:, j]), np.flatnonzero(p_has[:, j])
        out.append((g_tid[gi], p_tid[pi], d[np.ix_(gi, pi, [j])][..., 0]))
    return out


def _finalise(c: dict) -> dict:
    n_obj, n_det, n_fp = c["num_objects"], c["num_detections"], c["num_false_positives"]
    with np.errstate(divide="ignore", invalid="ignore"):
        obj = np.where(n_obj > 0, n_obj, np.nan)
        mota = 100 * (1.0 - (c["num_misses"] + c["num_switches"] + n_fp) / obj)
        motp = np.where(n_det > 0, 100 * (1.0 - c["sumD"] / np.where(n_det > 0, n_det, 1)), 0.0)
        tot = np.where(n_fp + n_det > 0, n_fp + n_det, np.nan)
        pre = 100 * n_det / tot
        rec = 100 * n_det / obj
    res = {}
    for name, v in (("MOTA", mota), ("MOTP", motp), ("Precision", pre), ("Recall", rec)):
        v = np.asarray(v, dtype=np.float64)
        res[name] = np.append(v, np.nanmean(v) if np.any(np.isfinite(v)) else np.nan)
        res[name + "_groups"] = {g: float(np.mean(v[list(ids)])) for g, ids in JOINT_GROUPS.items()}
        res[name + "_groups"]["Total"] = float(res[name][-1])
    res.update({k: np.asarray(c[k]).copy() for k in _COUNTS})
    res["joint_names"] = POSETRACK_JOINTS + ("total",)
    return res


def posetrack_mota(gt: Mapping[str, PoseSequence] | Sequence[PoseSequence],
                   pred: Mapping[str, PoseSequence] | Sequence[PoseSequence], dist_thresh: float = 0.5,
                   poseval_quirks: bool = True, progress: bool = False) -> dict:
    """PoseTrack MOTA / MOTP / precision / recall per joint and in total (poseval definition).

    Args:
        gt: gt sequences (dict name -> :class:`PoseSequence`, or a list paired by position with ``pred``).
        pred: predicted sequences with ``track_id`` on every person; same number of frames as the gt.
        dist_thresh: PCKh threshold (0.5).
        poseval_quirks: reproduce poseval's quirks (module docstring); False gives the corrected counts.
        progress: show a tqdm progress bar over sequences.

    Returns:
        dict with arrays ``[16]`` (15 joints + total) ``MOTA``, ``MOTP``, ``Precision``, ``Recall`` (percent),
        ``<name>_groups`` (poseval's Head/Shou/.../Total), the summed counts ``[15]``, ``joint_names`` and
        ``per_sequence``: {name: the same dict for that sequence}.
    """
    if isinstance(gt, Mapping):
        if not isinstance(pred, Mapping):
            raise TypeError("pred must be a dict name -> PoseSequence when gt is a dict")
        missing = [k for k in gt if k not in pred]
        if missing:
            raise ValueError(f"pred lacks the sequences {missing}")
        pairs = [(k, gt[k], pred[k]) for k in gt]
    else:
        gt, pred = list(gt), list(pred)
        if len(gt) != len(pred):
            raise ValueError(f"gt and pred must have the same number of sequences, got {len(gt)} and {len(pred)}")
        pairs = [(g.name or str(i), g, p) for i, (g, p) in enumerate(zip(gt, pred))]
    if not dist_thresh > 0:
        raise ValueError(f"dist_thresh must be > 0, got {dist_thresh}")
    total = {k: np.zeros(J) for k in _COUNTS}
    per_seq = {}
    from tqdm import tqdm

    for name, g, p in tqdm(pairs, desc="PoseTrack MOTA", disable=not progress):
        if len(g.frames) != len(p.frames):
            raise ValueError(f"sequence {name!r}: prediction has {len(p.frames)} frames, gt has {len(g.frames)}")
        frames = []
        for t, (gf, pf) in enumerate(zip(g.frames, p.frames)):
            if _frame_excluded(gf, poseval_quirks):
                continue
            gp = [q for q in _apply_ignore(gf.people, gf.ignore_regions) if q.present.any()]
            pp = [q for q in _apply_ignore(pf.people, gf.ignore_regions) if q.present.any()]
            frames.append((t, gp, pp))
        if poseval_quirks:
            frames = frames[:-1]
        accs = [_Accumulator() for _ in range(J)]
        for t, gp, pp in frames:
            for j, (o, h, d) in enumerate(_frame_updates(gp, pp, dist_thresh, poseval_quirks,
                                                         f"sequence {name!r} frame {t}")):
                accs[j].update(o, h, d)
        c = {k: np.array([a.c[k] for a in accs]) for k in _COUNTS}
        for k in _COUNTS:
            total[k] += c[k]
        per_seq[name] = _finalise(c)
    res = _finalise(total)
    res["per_sequence"] = per_seq
    return res


def _frame_excluded(gt_frame, quirks: bool) -> bool:
    """Whether a frame is excluded: poseval drops every frame whose gt has no person; the corrected mode
    drops only unlabeled frames without gt people."""
    if quirks:
        return len(gt_frame.people) == 0
    return len(gt_frame.people) == 0 and not gt_frame.is_labeled


def evaluate_posetrack_dirs(gt_dir: str | os.PathLike, pred_dir: str | os.PathLike, dist_thresh: float = 0.5,
                            poseval_quirks: bool = True, progress: bool = True) -> dict:
    """poseval-style evaluation of folders: every ``gt_dir/*.json`` needs ``pred_dir/<same name>`` (2017 or
    2018 format, detected per file). Returns :func:`posetrack_mota`'s dict."""
    from ..data.posetrack import read_posetrack

    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    for d in (gt_dir, pred_dir):
        if not d.is_dir():
            raise FileNotFoundError(f"folder not found: {d}")
    files = sorted(gt_dir.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no *.json ground-truth files in {gt_dir}")
    gt, pr = {}, {}
    for f in files:
        pf = pred_dir / f.name
        if not pf.is_file():
            raise FileNotFoundError(f"prediction file {pf} does not exist (one per gt file, same name)")
        gt[f.stem] = read_posetrack(f)
        pr[f.stem] = read_posetrack(pf)
    return posetrack_mota(gt, pr, dist_thresh, poseval_quirks, progress)


def format_posetrack_table(res: dict) -> str:
    """poseval's tracking table: MOTA per joint group + total MOTA, MOTP, precision, recall (percent)."""
    groups = list(JOINT_GROUPS) + ["Total"]
    head = "".join(f"{'MOTA ' + g:>11}" for g in groups) + f"{'MOTP':>9}{'Prec':>9}{'Rec':>9}"
    vals = "".join(f"{res['MOTA_groups'][g]:11.1f}" for g in groups)
    vals += "".join(f"{res[k][-1]:9.1f}" for k in ("MOTP", "Precision", "Recall"))
    return head + "\n" + vals
