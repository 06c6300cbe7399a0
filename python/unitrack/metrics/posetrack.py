"""PoseTrack multi-person pose tracking MOTA, as the official ``poseval`` (evaluateTracking.py) defines it.

Per sequence and per joint j (15 PoseTrack joints) a separate MOT accumulator is fed frame by frame with
the gt people that have joint j annotated, the predicted people that have joint j, and the distance
``||gt_j - pred_j|| / head_size`` with ``head_size = 0.6 * ||(x2 - x1, y2 - y1)||`` of the gt head box; a
pair may match only when that distance is ``<= 0.5`` (PCKh@0.5). Matching and the event log follow py-motmetrics
1.4.0's ``MOTAccumulator`` (the one poseval calls): a gt id keeps the hypothesis id it was last matched to when the
pair is still valid, the rest is a min-cost assignment that first maximises the number of matches; an identity
switch is a match to a different hypothesis than the last one. Counts are summed over sequences per joint, then
(in percent, as poseval prints)::

    MOTA_j = 100 * (1 - (misses_j + switches_j + false_positives_j) / objects_j)
    MOTP_j = 100 * (1 - sumD_j / detections_j)
    Prec_j = 100 * (detections_j / (detections_j + false_positives_j)),  Rec_j = 100 * (detections_j / objects_j)

and ``total`` = the mean over the joints that are not NaN. The arithmetic is poseval's step by step (distances
through the same numpy dot kernel as its ``np.linalg.norm``, its order of operations and sums), so the numbers are
bit-identical to poseval's (tests compare with values printed by poseval run on constructed sequences). Only exact
ties between two assignments of equal total distance may resolve differently: motmetrics uses the first LAP solver
it finds installed (lapsolver, lap, scipy); we use scipy's.

**MOTP.** poseval's ``sumD`` is ``accumulator.events['D'].sum()``: motmetrics 1.4 logs a RAW row for *every*
gt/prediction pair within the threshold (matched or not) besides the MATCH/SWITCH rows (and TRANSFER / ASCEND /
MIGRATE rows that repeat a switch's distance), so its MOTP counts unmatched pairs and counts matches twice; it is not
the CLEAR MOTP (issue #12's example: 70.9 where the matched pairs alone give 87.5; the ``motp_raw`` test case: 41.4
against 85.6). ``MOTP`` reproduces poseval's number
(in the default ``poseval_quirks=True`` mode, for comparability with published results); ``MOTP_matched`` is the
textbook value from the matched distances only (``sumD_matched``), and is what ``MOTP`` holds with
``poseval_quirks=False``.

Which people count, exactly as poseval: a person with a pose record but no joints (a 2018 person whose keypoints are
all ``[0, 0, 0]``, a 2017 person with an empty point list -- trackers that zero low-confidence joints write them) is
**kept**: it adds no joint to any accumulator but makes its frame non-empty. In frames with ignore regions, joints
strictly inside a region (shapely's ``contains``: a joint on the region's edge stays) are removed from gt and
predictions, and then every person left without joints is dropped (also one that had none). 2017 people without a
point list (no ``annopoints``, or an empty first entry) are always dropped (``PosePerson.has_points``).

poseval quirks, reproduced when ``poseval_quirks=True`` (the default, for comparability with published
numbers) and fixed when False:

1. the last frame of every sequence is dropped (``imgidxs[:-1]``);
2. frames whose gt has no person (before people without a point list are dropped) are removed together with their
   predictions (predictions there are never false positives) -- kept as-is in both modes for unlabeled frames,
   but with ``poseval_quirks=False`` a *labeled* frame without gt people counts its predictions as false positives;
3. a frame where gt or predictions are empty (after the people above are dropped) contributes exactly one miss and
   one false positive per joint (a dummy id 0 on both sides) instead of the real counts;
4. ``MOTP`` counts every event row's distance (above).

Sequences are summed in the order given (:func:`evaluate_posetrack_dirs`: sorted file names; poseval: its directory
listing order, which can change the last bit of a summed MOTP).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.posetrack import POSETRACK_JOINTS, PosePerson, PoseSequence

__all__ = [
    "posetrack_mota",
    "posetrack_idf1",
    "evaluate_posetrack_dirs",
    "format_posetrack_table",
    "head_size",
    "JOINT_GROUPS",
]

J = len(POSETRACK_JOINTS)
#: poseval's printed groups (joint ids).
JOINT_GROUPS = {
    "Head": (14, 12, 13),
    "Shou": (8, 9),
    "Elb": (7, 10),
    "Wri": (6, 11),
    "Hip": (2, 3),
    "Knee": (1, 4),
    "Ankl": (0, 5),
}
_COUNTS = ("num_objects", "num_misses", "num_switches", "num_false_positives", "num_detections", "sumD", "sumD_matched")


def _norm2(v: np.ndarray) -> np.ndarray:
    """``np.linalg.norm`` of each 2-vector ``v[..., 2]`` exactly as poseval gets it: ``sqrt(dot(v, v))`` through
    numpy's dot kernel (BLAS; it may round differently from ``x*x + y*y``), batched with matmul, which calls the
    same kernel for vector-vector products."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    if v.size == 0:
        return np.zeros(v.shape[:-1])
    return np.sqrt(np.matmul(v[..., None, :], v[..., :, None])[..., 0, 0])


def head_size(head_box: np.ndarray) -> float:
    """0.6 x the diagonal of the head box (x1, y1, x2, y2) -- poseval's normaliser (``0.6 * np.linalg.norm``)."""
    x1, y1, x2, y2 = (float(v) for v in head_box)
    return float(0.6 * _norm2(np.subtract([x2, y2], [x1, y1])))


def _solve(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """motmetrics' scipy LAP path: NaN = forbidden, replaced by a cost that maximises the number of valid pairs
    first (``add_expensive_edges``); pairs returned in row order."""
    valid = np.isfinite(costs)
    if not valid.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if valid.all():
        r, k = linear_sum_assignment(costs)
        return r, k
    c = np.abs(costs[valid]).max() + 1
    big = 2 * min(costs.shape) * c + 1
    r, k = linear_sum_assignment(np.where(valid, costs, big))
    ok = valid[r, k]
    return r[ok], k[ok]


class _Accumulator:
    """py-motmetrics 1.4.0 ``MOTAccumulator`` (``max_switch_time = inf``), reduced to the counts poseval reads and
    the ``D`` column of its event log (every row, in order, NaN where an event has no distance)."""

    def __init__(self) -> None:
        self.m: dict[int, int] = {}  # oid -> hid of its last match
        self.res_m: dict[int, int] = {}  # hid -> oid of its last match (set in step 2 only, as motmetrics)
        self.last_match: dict[int, int] = {}  # oid -> frame
        self.hyp_history: dict[int, int] = {}  # hid -> frame
        self.frame = -1
        self.d: list[float] = []
        self.c = dict.fromkeys(_COUNTS, 0.0)

    def update(self, oids: np.ndarray, hids: np.ndarray, dist: np.ndarray) -> None:
        self.frame += 1
        fid = self.frame
        oids = [int(o) for o in oids]
        hids_a = np.asarray(hids, dtype=np.int64)
        hids = hids_a.tolist()
        n_o, n_h = len(oids), len(hids)
        dists = np.asarray(dist, dtype=float).reshape(n_o, n_h).copy()
        om = np.zeros(n_o, bool)
        hm = np.zeros(n_h, bool)
        d = self.d
        # 0. RAW rows: one empty row, every finite pair (row-major), then unpaired objects and hypotheses
        d.append(np.nan)
        vi, vj = np.where(np.isfinite(dists))
        d.extend(dists[vi, vj].tolist())
        d.extend([np.nan] * (n_o - len(np.unique(vi)) + n_h - len(np.unique(vj))))
        matched_d = []
        if n_o * n_h > 0:
            # 1. re-establish previous correspondences
            for i, o in enumerate(oids):
                if o not in self.m:
                    continue
                js = np.flatnonzero(~hm & (hids_a == self.m[o]))
                if len(js) == 0:
                    continue
                j = int(js[0])
                if np.isfinite(dists[i, j]):
                    om[i] = hm[j] = True
                    self.m[o] = hids[j]
                    d.append(dists[i, j])
                    matched_d.append(dists[i, j])
                    self.last_match[o] = fid
                    self.hyp_history[hids[j]] = fid
                    self.c["num_detections"] += 1
            # 2. assign the rest
            dists[om, :] = np.nan
            dists[:, hm] = np.nan
            rows, cols = _solve(dists)
            for i, j in zip(rows.tolist(), cols.tolist()):
                o, h, dij = oids[i], hids[j], dists[i, j]
                is_switch = o in self.m and self.m[o] != h
                if is_switch and h not in self.hyp_history:
                    d.append(dij)  # ASCEND
                if h in self.res_m and self.res_m[h] != o:
                    if o not in self.last_match:
                        d.append(dij)  # MIGRATE
                    d.append(dij)  # TRANSFER
                self.hyp_history[h] = fid
                self.last_match[o] = fid
                d.append(dij)  # SWITCH or MATCH
                matched_d.append(dij)
                if is_switch:
                    self.c["num_switches"] += 1
                om[i] = hm[j] = True
                self.m[o] = h
                self.res_m[h] = o
                self.c["num_detections"] += 1
        n_miss, n_fp = int((~om).sum()), int((~hm).sum())
        d.extend([np.nan] * (n_miss + n_fp))  # MISS and FP rows
        self.c["num_objects"] += n_o
        self.c["num_misses"] += n_miss
        self.c["num_false_positives"] += n_fp
        for v in matched_d:
            self.c["sumD_matched"] += v

    def finish(self) -> None:
        """poseval: ``s = acc.events['D'].sum()`` (pandas skips NaN: numpy's pairwise sum with NaN as 0)."""
        d = np.asarray(self.d, dtype=np.float64)
        s = float(np.sum(np.where(np.isnan(d), 0.0, d)))
        self.c["sumD"] = 0.0 if np.isnan(s) else s


def _orient_sign(ax, ay, bx, by, px, py) -> np.ndarray:
    """Exact sign of the orientation of (a, b, p) (cross((b - a), (p - a))) for float inputs: a float evaluation
    with Shewchuk's error bound, exact rational arithmetic where that bound does not decide."""
    left = (bx - ax) * (py - ay)
    right = (by - ay) * (px - ax)
    det = left - right
    bound = (3.0 + 16.0 * 2.0**-53) * 2.0**-53 * (np.abs(left) + np.abs(right))
    sign = np.sign(det)
    unsure = np.flatnonzero(~(np.abs(det) > bound))
    if len(unsure):
        flat = [np.broadcast_to(a, det.shape).reshape(-1) for a in (ax, ay, bx, by, px, py)]
        out = sign.reshape(-1)
        for k in unsure:
            a_x, a_y, b_x, b_y, p_x, p_y = (Fraction(float(f[k])) for f in flat)
            e = (b_x - a_x) * (p_y - a_y) - (b_y - a_y) * (p_x - a_x)
            out[k] = (e > 0) - (e < 0)
        sign = out.reshape(det.shape)
    return sign


def _inside(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Which of ``points [N, 2]`` lie strictly inside polygon ``poly [K, 2]`` (shapely ``Polygon.contains``, what
    poseval calls: a point on an edge or vertex is not inside). Even-odd rule with exact orientation tests."""
    if len(poly) < 3 or len(points) == 0:
        return np.zeros(len(points), bool)
    px, py = points[:, 0:1], points[:, 1:2]  # [N, 1]
    ax, ay = poly[:, 0][None], poly[:, 1][None]  # [1, K]
    bx, by = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    o = _orient_sign(ax, ay, bx, by, px, py)  # [N, K]
    on_edge = (
        (o == 0)
        & (np.minimum(ax, bx) <= px)
        & (px <= np.maximum(ax, bx))
        & (np.minimum(ay, by) <= py)
        & (py <= np.maximum(ay, by))
    )
    up = (ay <= py) & (by > py)  # edge crossing the ray's line upwards
    down = (by <= py) & (ay > py)
    cross = (up & (o > 0)) | (down & (o < 0))  # the crossing lies to the right of p
    return (cross.sum(1) % 2 == 1) & ~on_edge.any(1)


def _apply_ignore(people: list[PosePerson], regions: list[np.ndarray]) -> list[PosePerson]:
    """poseval's removeIgnoredPointsRects: joints inside a region go; people left without joints go (also those
    that had none)."""
    out = []
    for p in people:
        pres = p.present
        pts = p.joints[:, :2]
        drop = np.zeros(J, bool)
        for reg in regions:
            drop[pres] |= _inside(pts[pres], np.asarray(reg, dtype=np.float64).reshape(-1, 2))
        if not (pres & ~drop).any():
            continue
        if drop.any():
            j = p.joints.copy()
            j[drop, :2] = np.nan
            p = PosePerson(j, p.track_id, p.scores, p.head_box, p.box, p.score, p.has_points)
        out.append(p)
    return out


def _frame_people(people: list[PosePerson], regions: list[np.ndarray], quirks: bool) -> list[PosePerson]:
    """The people poseval evaluates in a frame: those with a point list; in frames with ignore regions those with a
    joint outside the regions. (The corrected mode drops people without joints everywhere: they change nothing but
    the quirky empty-frame rule.)"""
    people = [q for q in people if q.has_points]
    if regions:
        return _apply_ignore(people, regions)
    return people if quirks else [q for q in people if q.present.any()]


def _frame_updates(gt: list[PosePerson], pr: list[PosePerson], thr: float, quirks: bool, where: str):
    """Per joint (oids, hids, dist) for one frame."""
    if quirks and (len(gt) == 0 or len(pr) == 0):
        d = np.full((1, 1), np.nan)
        return [(np.zeros(1, np.int64), np.zeros(1, np.int64), d)] * J
    for k, p in enumerate(gt):
        if p.track_id is None:
            raise ValueError(f"{where}: gt person {k} has no track_id")
        if p.head_box is None:
            raise ValueError(
                f"{where}: gt person {k} has no head box (x1, y1, x2, y2 / bbox_head), needed for "
                f"the head-size normalisation"
            )
    for k, p in enumerate(pr):
        if p.track_id is None:
            raise ValueError(f"{where}: predicted person {k} has no track_id")
    g_xy = np.stack([p.joints[:, :2] for p in gt]) if gt else np.zeros((0, J, 2))  # [G, J, 2]
    p_xy = np.stack([p.joints[:, :2] for p in pr]) if pr else np.zeros((0, J, 2))  # [P, J, 2]
    hs = np.array([head_size(p.head_box) for p in gt])  # [G]
    g_has = np.isfinite(g_xy).all(-1)
    p_has = np.isfinite(p_xy).all(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where((g_has[:, None] & p_has[None])[..., None], g_xy[:, None] - p_xy[None], 0.0)
        d = _norm2(diff) / hs[:, None, None]  # [G, P, J]
    d[~(g_has[:, None] & p_has[None])] = np.inf
    d[~(d <= thr)] = np.nan  # no match: beyond the threshold, missing joint, zero head size
    g_tid = np.array([p.track_id for p in gt], np.int64)
    p_tid = np.array([p.track_id for p in pr], np.int64)
    out = []
    for j in range(J):
        gi, pi = np.flatnonzero(g_has[:, j]), np.flatnonzero(p_has[:, j])
        out.append((g_tid[gi], p_tid[pi], d[np.ix_(gi, pi, [j])][..., 0]))
    return out


def _mean_not_nan(v: np.ndarray) -> float:
    """poseval: ``v[0, idxs].mean()`` with ``idxs = np.argwhere(~np.isnan(v[0, :15]))``."""
    idxs = np.argwhere(~np.isnan(v[:J]))
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        return float(v[idxs].mean())


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def _finalise(c: dict, quirks: bool = True) -> dict:
    """poseval's computeMetrics arithmetic on the summed counts (per joint, then the mean over non-NaN joints)."""
    mota, motp, motp_m, pre, rec = (np.zeros(J) for _ in range(5))
    for i in range(J):
        num_obj = c["num_objects"][i] if c["num_objects"][i] > 0 else np.nan
        num_fp = c["num_false_positives"][i]
        mota[i] = 100 * (1.0 - (c["num_misses"][i] + c["num_switches"][i] + num_fp) / num_obj)
        num_det = c["num_detections"][i]
        for arr, s in ((motp, c["sumD"][i]), (motp_m, c["sumD_matched"][i])):
            arr[i] = 0.0 if (num_det == 0 or np.isnan(s)) else 100 * (1.0 - (s / num_det))
        total_det = num_fp + num_det if num_fp + num_det > 0 else np.nan
        pre[i] = 100 * (1.0 * num_det / total_det)
        rec[i] = 100 * (1.0 * num_det / num_obj)
    if not quirks:
        motp = motp_m
    res = {}
    for name, v in (("MOTA", mota), ("MOTP", motp), ("MOTP_matched", motp_m), ("Precision", pre), ("Recall", rec)):
        v = np.append(v, _mean_not_nan(v))
        res[name] = v
        with _quiet():
            res[name + "_groups"] = {g: float(v[list(ids)].mean()) for g, ids in JOINT_GROUPS.items()}
        res[name + "_groups"]["Total"] = float(v[-1])
    res.update({k: np.asarray(c[k]).copy() for k in _COUNTS})
    res["joint_names"] = POSETRACK_JOINTS + ("total",)
    return res


def posetrack_mota(
    gt: Mapping[str, PoseSequence] | Sequence[PoseSequence],
    pred: Mapping[str, PoseSequence] | Sequence[PoseSequence],
    dist_thresh: float = 0.5,
    poseval_quirks: bool = True,
    progress: bool = False,
) -> dict:
    """PoseTrack MOTA / MOTP / precision / recall per joint and in total (poseval definition).

    Args:
        gt: gt sequences (dict name -> :class:`PoseSequence`, or a list paired by position with ``pred``).
        pred: predicted sequences with ``track_id`` on every person; same number of frames as the gt.
        dist_thresh: PCKh threshold (0.5).
        poseval_quirks: reproduce poseval's quirks (module docstring); False gives the corrected counts.
        progress: show a tqdm progress bar over sequences.

    Returns:
        dict with arrays ``[16]`` (15 joints + total) ``MOTA``, ``MOTP`` (poseval's, with ``poseval_quirks``),
        ``MOTP_matched`` (matched distances only), ``Precision``, ``Recall`` (percent), ``<name>_groups`` (poseval's
        Head/Shou/.../Total), the summed counts ``[15]`` (``num_*``, ``sumD`` = poseval's event-log sum,
        ``sumD_matched``), ``joint_names`` and ``per_sequence``: {name: the same dict for that sequence}.
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
            gp = _frame_people(gf.people, gf.ignore_regions, poseval_quirks)
            pp = _frame_people(pf.people, gf.ignore_regions, poseval_quirks)
            frames.append((t, gp, pp))
        if poseval_quirks:
            frames = frames[:-1]
        accs = [_Accumulator() for _ in range(J)]
        for t, gp, pp in frames:
            for j, (o, h, d) in enumerate(
                _frame_updates(gp, pp, dist_thresh, poseval_quirks, f"sequence {name!r} frame {t}")
            ):
                accs[j].update(o, h, d)
        for a in accs:
            a.finish()
        c = {k: np.array([a.c[k] for a in accs]) for k in _COUNTS}
        for k in _COUNTS:
            total[k] += c[k]
        per_seq[name] = _finalise(c, poseval_quirks)
    res = _finalise(total, poseval_quirks)
    res["per_sequence"] = per_seq
    return res


def _frame_excluded(gt_frame, quirks: bool) -> bool:
    """Whether a frame is excluded: poseval drops every frame whose gt has no person; the corrected mode
    drops only unlabeled frames without gt people."""
    if quirks:
        return len(gt_frame.people) == 0
    return len(gt_frame.people) == 0 and not gt_frame.is_labeled


def evaluate_posetrack_dirs(
    gt_dir: str | os.PathLike,
    pred_dir: str | os.PathLike,
    dist_thresh: float = 0.5,
    poseval_quirks: bool = True,
    progress: bool = True,
) -> dict:
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


def posetrack_idf1(gt, pred, dist_thresh: float = 0.5) -> dict[str, Any]:
    """Per-joint IDF1 of PoseTrack sequences, summed over sequences per joint.

    poseval has no IDF1: this is the mean over the 15 joints of the TrackEval IDF1 of that joint's points, a gt and a
    predicted joint being a candidate match when their distance is at most half the gt head size (similarity
    ``1 - d / head_size`` >= 0.5, the PCKh@0.5 criterion poseval's MOTA uses). ``dist_thresh`` is not used (the
    threshold is that fixed 0.5; the argument is kept for its callers).

    Args:
        gt, pred: dicts name -> :class:`~unitrack.data.posetrack.PoseSequence` (gt people without ``head_box`` are
            skipped).
    Returns:
        ``{"IDF1": [15] fractions (NaN for joints never annotated), "mean": float fraction}``.
    """
    from .families import evaluate_frames
    from .identity import combine_identity

    per_joint: list[list[dict]] = [[] for _ in range(15)]
    for name, g in gt.items():
        p = pred[name]
        if len(g.frames) != len(p.frames):
            raise ValueError(f"sequence {name!r}: prediction has {len(p.frames)} frames, gt has {len(g.frames)}")
        for j in range(15):
            gids, tids, sims = [], [], []
            for gf, pf in zip(g.frames, p.frames):
                gp = [q for q in gf.people if q.present[j] and q.head_box is not None]
                pp = [q for q in pf.people if q.present[j] and q.track_id is not None]
                gi = np.array([q.track_id if q.track_id is not None else 10**9 + k for k, q in enumerate(gp)], np.int64)
                ti = np.array([q.track_id for q in pp], np.int64)
                s = np.zeros((len(gp), len(pp)))
                for a, q in enumerate(gp):
                    hs = head_size(q.head_box)
                    for b, r in enumerate(pp):
                        d = np.linalg.norm(q.joints[j, :2] - r.joints[j, :2]) / max(hs, 1e-12)
                        s[a, b] = max(0.0, 1.0 - d)
                gids.append(gi)
                tids.append(ti)
                sims.append(s)
            per_joint[j].append(evaluate_frames(gids, tids, sims, ("Identity",), 0.5)["Identity"])
    idf1 = np.array([combine_identity(v)["IDF1"] if v else np.nan for v in per_joint], dtype=np.float64)
    # joints never annotated in any gt have IDTP + IDFN = 0: report NaN, not 0
    for j, v in enumerate(per_joint):
        if v and sum(x["IDTP"] + x["IDFN"] for x in v) == 0:
            idf1[j] = np.nan
    return {"IDF1": idf1, "mean": float(np.nanmean(idf1)) if np.isfinite(idf1).any() else 0.0}
