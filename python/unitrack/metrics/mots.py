"""MOTS evaluation: sMOTSA / MOTSA / MOTSP and mask-IoU HOTA, CLEAR and Identity.

Semantics follow TrackEval 1.3.0 ``MOTSChallenge`` (tested live against it):

* similarity = mask IoU (pycocotools RLE IoU);
* only pedestrians (class 2) are evaluated; gt lines of class 10 form the frame's ignore region;
* unmatched tracker masks (Hungarian on IoU >= 0.5) lying more than 50 % inside the ignore region
  (intersection over the tracker mask's area) are removed;
* masks of one frame (gt incl. ignore region, or tracker) must not overlap: ValueError (TrackEval raises
  too) -- use :func:`unitrack.data.mots.make_disjoint` before writing;
* sMOTSA (Voigtlaender et al. 2019) = (sum of matched mask IoUs - FP - IDSW) / num_gt, i.e. TrackEval's
  CLEAR ``sMOTA`` on masks; MOTSA = CLEAR ``MOTA`` and MOTSP = ``MOTP`` on masks.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Iterable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.mots import IGNORE_CLASS, PEDESTRIAN, MOTSObject, mots_by_frame, read_mots_txt
from ..iou import mask_iou
from .families import DEFAULT_METRICS, evaluate_frames, mots_fields
from .mot import _evaluate_split

__all__ = ["mask_iou", "evaluate_mots_sequence", "evaluate_mots_benchmark"]

_EPS = float(np.finfo("float").eps)


def _check_frame(objs: list[MOTSObject], name: str, frame: int, merge_ignore: bool = False) -> None:
    from pycocotools import mask as mask_utils

    if not objs:
        return
    sizes = {(o.height, o.width) for o in objs}
    if len(sizes) > 1:
        raise ValueError(f"{name}: frame {frame}: masks of different sizes {sorted(sizes)} in one frame")
    items = [(o.obj_id, o.to_coco()) for o in objs if not (merge_ignore and o.class_id == IGNORE_CLASS)]
    ign = [o.to_coco() for o in objs if merge_ignore and o.class_id == IGNORE_CLASS]
    if ign:
        items.append(("ignore region", mask_utils.merge(ign, intersect=False)))
    merged = None
    for oid, r in items:
        if merged is not None and mask_utils.area(mask_utils.merge([merged, r], intersect=True)) != 0:
            raise ValueError(
                f"{name}: frame {frame}: mask of id {oid} overlaps another mask (masks must "
                f"be disjoint; see unitrack.data.mots.make_disjoint)"
            )
        merged = r if merged is None else mask_utils.merge([merged, r], intersect=False)


def _as_objects(x, what: str, im_size=None) -> tuple[list[MOTSObject], str]:
    if isinstance(x, (str, os.PathLike)):
        return read_mots_txt(x, im_size=im_size), str(x)
    objs = list(x)
    for i, o in enumerate(objs):
        if not isinstance(o, MOTSObject):
            raise TypeError(f"{what}[{i}] must be a MOTSObject, got {type(o).__name__}")
    return objs, what


def evaluate_mots_sequence(
    gt: str | os.PathLike | Sequence[MOTSObject],
    results: str | os.PathLike | Sequence[MOTSObject],
    num_frames: int | None = None,
    first_frame: int = 1,
    metrics: Iterable[str] = DEFAULT_METRICS,
    im_size: tuple[int, int] | None = None,
) -> dict:
    """Evaluate one MOTS sequence.

    Args:
        gt: MOTS txt path or list of :class:`MOTSObject` (class 2 evaluated, class 10 = ignore region).
        results: tracker txt path or list of objects (class 2 evaluated, other classes dropped).
        num_frames: sequence length (default: the largest frame present).
        first_frame: number of the first frame (1 for MOTS20, 0 for KITTI-MOTS).
        metrics: metric families (HOTA, CLEAR, Identity, Count).
        im_size: expected (height, width) of every mask.

    Returns:
        ``{"HOTA":..., "CLEAR":..., "Identity":..., "Count":..., "MOTS": {sMOTSA, MOTSA, MOTSP}}``.
    """
    g_objs, g_name = _as_objects(gt, "gt", im_size)
    r_objs, r_name = _as_objects(results, "results", im_size)
    if num_frames is None:
        num_frames = max([o.frame for o in g_objs + r_objs], default=first_frame - 1) - first_frame + 1
    g_frames = mots_by_frame(g_objs, num_frames, first_frame, g_name)
    r_frames = mots_by_frame(r_objs, num_frames, first_frame, r_name)
    gt_ids, tr_ids, sims = [], [], []
    for t, (gf, rf) in enumerate(zip(g_frames, r_frames)):
        fr = t + first_frame
        for is_gt, name, objs in ((True, g_name, gf), (False, r_name, rf)):
            ids = [o.obj_id for o in objs if not (is_gt and o.class_id == IGNORE_CLASS)]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name}: frame {fr}: the same id appears more than once")
        _check_frame(gf, g_name, fr, merge_ignore=True)
        _check_frame(rf, r_name, fr)
        if gf and rf and (gf[0].height, gf[0].width) != (rf[0].height, rf[0].width):
            raise ValueError(
                f"{r_name}: frame {fr}: mask size {rf[0].height}x{rf[0].width} differs from the gt "
                f"size {gf[0].height}x{gf[0].width}"
            )
        g_ped = [o for o in gf if o.class_id == PEDESTRIAN]
        ign = [o for o in gf if o.class_id == IGNORE_CLASS]
        r_ped = [o for o in rf if o.class_id == PEDESTRIAN]
        g_rle = [o.to_coco() for o in g_ped]
        r_rle = [o.to_coco() for o in r_ped]
        sim = mask_iou(g_rle, r_rle)
        unmatched = np.arange(len(r_ped))
        if len(g_ped) and len(r_ped):
            ms = sim.copy()
            ms[ms < 0.5 - _EPS] = -10000
            rows, cols = linear_sum_assignment(-ms)
            cols = cols[ms[rows, cols] > 0 + _EPS]
            unmatched = np.delete(unmatched, cols)
        keep = np.ones(len(r_ped), bool)
        if ign and len(unmatched):
            from pycocotools import mask as mask_utils

            region = mask_utils.merge([o.to_coco() for o in ign], intersect=False)
            ioa = mask_iou([r_rle[i] for i in unmatched], [region], ioa=True)
            keep[unmatched[np.any(ioa > 0.5 + _EPS, axis=1)]] = False
        gt_ids.append(np.asarray([o.obj_id for o in g_ped], np.int64))
        tr_ids.append(np.asarray([o.obj_id for i, o in enumerate(r_ped) if keep[i]], np.int64))
        sims.append(sim[:, keep])
    out = evaluate_frames(gt_ids, tr_ids, sims, metrics)
    if "CLEAR" in out:
        out["MOTS"] = mots_fields(out["CLEAR"])
    return out


def evaluate_mots_benchmark(
    gt_root: str | os.PathLike,
    results_dir: str | os.PathLike,
    split: str | None = "train",
    seqs: Sequence[str] | None = None,
    metrics: Iterable[str] = DEFAULT_METRICS,
    first_frame: int = 1,
    progress: bool = True,
) -> dict:
    """Evaluate a MOTS split: ``gt_root/<split>/<seq>/{seqinfo.ini, gt/gt.txt}`` against
    ``results_dir/<seq>.txt``. Returns ``{seq: {...}, "COMBINED_SEQ": {...}}`` (combined like TrackEval;
    MOTS fields recomputed from the combined CLEAR counts)."""
    return _evaluate_split(
        gt_root,
        results_dir,
        "MOTS",
        split,
        seqs,
        progress,
        partial(evaluate_mots_sequence, first_frame=first_frame, metrics=metrics),
    )
