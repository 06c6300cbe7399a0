"""OTB one-pass evaluation (OPE): success (IoU) and precision (centre error) curves.

Two toolkits are in use and they do **not** agree on every file; both are offered, each with its own arithmetic step
by step (so boundary cases agree with the tool to the last bit), chosen with ``convention``:

``"unitrack"`` (default) -- the pysot toolkit copy UniTrack evaluates OTB with
    (``tracker/sot/lib/eval_toolkit/pysot``): the result file is scored **as written**, first box included (UniTrack's
    trackers write the initial box there). A frame whose ground truth does not have all four values ``x, y, w, h > 0``
    in the file's 1-based coordinates gets IoU -1 (fails every threshold); the IoU is ``inter / union`` with the
    ground-truth area first, clipped with ``max(min(1, iou), 0)`` (a 0/0 stays NaN and fails). A frame whose
    ground-truth *centre* is not > 0 in both coordinates gets centre error -1, which counts as precise at every
    threshold (pysot's quirk, kept). Dataset AUC = the mean of the ``[videos, 21]`` matrix of success curves (one
    ``np.mean``), precision = the per-threshold mean over videos at 20 px.

``"got10k"`` -- got10k 0.1.3 ``ExperimentOTB.report``: the **first result box is replaced by the ground truth**
    before scoring (``boxes[0] = anno[0]``), IoU = ``inter / (union + eps)`` with ``inter = w * h`` of the intersection,
    clipped to [0, 1]; no special case for an absent target. Dataset curves = per-threshold mean over videos, AUC = the
    mean of that curve, precision = its value at 20 px, success rate = its value at 0.5.

Common to both: 21 IoU thresholds ``linspace(0, 1, 21)`` (pysot's ``arange(0, 1.05, 0.05)`` holds the same 21
doubles), success = fraction of frames with IoU **>** t; 51 centre-error thresholds 0..50 px, precision = fraction
with error **<=** t; centres ``x + (w - 1) / 2``. The two conventions give different numbers whenever the first
result box differs from the ground truth, or a ground-truth box has a non-positive coordinate or size.

Coordinates: the tools read the files, i.e. 1-based OTB pixel coordinates. The functions take ``origin`` = 0 for the
0-based boxes unitrack's readers return (``x_file - 1``; the default) or 1 for boxes as the files write them. Only
the ``unitrack`` presence tests (``> 0`` in file coordinates) use it; the last bits of an IoU can still differ from the
tool's when the boxes were shifted, so :func:`evaluate_results` (and
``unitrack.evaluation.adapters.sot.evaluate_otb``) score the files' values as written (``origin=1``),
bit-identical to the tools.
"""

from __future__ import annotations

import os
from typing import Mapping, Union

import numpy as np

__all__ = [
    "CONVENTIONS",
    "IOU_THRESHOLDS",
    "CE_THRESHOLDS",
    "rect_iou",
    "center_error",
    "success_curve",
    "precision_curve",
    "evaluate_sequence",
    "evaluate_sequences",
    "evaluate_results",
]

#: OTB scoring conventions (module docstring): UniTrack's pysot toolkit (default) and got10k's report.
CONVENTIONS = ("unitrack", "got10k")
IOU_THRESHOLDS = np.linspace(0.0, 1.0, 21)
CE_THRESHOLDS = np.arange(0, 51, dtype=np.float64)


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(
            f"convention must be one of {CONVENTIONS} ('unitrack': score the result file as written, "
            f"UniTrack's pysot toolkit; 'got10k': first box replaced by the ground truth), "
            f"got {convention!r}"
        )
    return convention


def _check_origin(origin: int) -> int:
    if origin not in (0, 1):
        raise ValueError(
            f"origin must be 0 (0-based boxes, as unitrack's readers return them) or 1 (as the OTB "
            f"files write them), got {origin!r}"
        )
    return origin


def _as_boxes(a, name: str) -> np.ndarray:
    b = np.asarray(a, dtype=np.float64)
    if b.ndim == 1:
        b = b[None]
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must be [N, 4] boxes (x, y, w, h), got shape {b.shape}")
    return b


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    p, g = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same number of boxes, got {len(p)} and {len(g)}")
    return p, g


def rect_iou(pred, gt, convention: str = "unitrack", origin: int = 0) -> np.ndarray:
    """Per-frame IoU ``[N]`` of ``[N, 4]`` xywh boxes with the arithmetic of ``convention`` (module docstring).

    ``unitrack``: -1 where the ground truth is not all ``> 0`` in file coordinates; NaN for a 0/0 (fails every
    threshold, as in pysot). ``got10k``: ``inter / (union + eps)`` clipped to [0, 1]. The got10k first-box
    replacement is not applied here (it is part of scoring a result file: :func:`evaluate_sequence`).
    """
    _check_convention(convention)
    shift = 1 - _check_origin(origin)
    p, g = _pair(pred, gt)
    if convention == "got10k":  # got10k.utils.metrics.rect_iou(boxes, anno) step by step
        x1 = np.maximum(p[:, 0], g[:, 0])
        y1 = np.maximum(p[:, 1], g[:, 1])
        x2 = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2])
        y2 = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3])
        inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
        union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)
    # UniTrack's pysot toolkit: success_overlap / overlap_ratio(gt, result) step by step
    iou = np.ones(len(g)) * (-1)
    mask = (g[:, 0] > -shift) & (g[:, 1] > -shift) & (g[:, 2] > 0) & (g[:, 3] > 0)
    r1, r2 = g[mask], p[mask]
    left = np.maximum(r1[:, 0], r2[:, 0])
    right = np.minimum(r1[:, 0] + r1[:, 2], r2[:, 0] + r2[:, 2])
    top = np.maximum(r1[:, 1], r2[:, 1])
    bottom = np.minimum(r1[:, 1] + r1[:, 3], r2[:, 1] + r2[:, 3])
    intersect = np.maximum(0, right - left) * np.maximum(0, bottom - top)
    union = r1[:, 2] * r1[:, 3] + r2[:, 2] * r2[:, 3] - intersect
    with np.errstate(invalid="ignore", divide="ignore"):
        iou[mask] = np.maximum(np.minimum(1, intersect / union), 0)
    return iou


def center_error(pred, gt, convention: str = "unitrack", origin: int = 0) -> np.ndarray:
    """Euclidean distance ``[N]`` between box centres ``x + (w - 1) / 2, y + (h - 1) / 2`` (pixels).

    ``unitrack``: -1 where a ground-truth centre coordinate is not ``> 0`` in file coordinates (pysot counts those
    frames as precise at every threshold). ``got10k``: the distance on every frame.
    """
    _check_convention(convention)
    shift = 1 - _check_origin(origin)
    p, g = _pair(pred, gt)
    cp = p[:, :2] + (p[:, 2:] - 1) / 2
    cg = g[:, :2] + (g[:, 2:] - 1) / 2
    if convention == "got10k":
        return np.sqrt(np.sum(np.power(cp - cg, 2), axis=-1))
    dist = np.ones(len(cg)) * (-1)
    mask = (cg[:, 0] > -shift) & (cg[:, 1] > -shift)
    dist[mask] = np.sqrt(np.sum(np.power(cg[mask] - cp[mask], 2), axis=1))
    return dist


def success_curve(
    pred, gt, thresholds: np.ndarray = IOU_THRESHOLDS, convention: str = "unitrack", origin: int = 0
) -> np.ndarray:
    """Fraction of frames with IoU > t, for each threshold t (boxes scored as given; see :func:`evaluate_sequence`
    for the got10k first-box replacement)."""
    iou = rect_iou(pred, gt, convention, origin)
    return np.sum(iou[:, None] > np.asarray(thresholds)[None, :], axis=0) / float(len(iou))


def precision_curve(
    pred, gt, thresholds: np.ndarray = CE_THRESHOLDS, convention: str = "unitrack", origin: int = 0
) -> np.ndarray:
    """Fraction of frames with centre error <= t pixels, for each threshold t."""
    ce = center_error(pred, gt, convention, origin)
    return np.sum(ce[:, None] <= np.asarray(thresholds)[None, :], axis=0) / float(len(ce))


def evaluate_sequence(pred, gt, convention: str = "unitrack", origin: int = 0) -> dict:
    """One video's result file ``pred [T, 4]`` against its ground truth ``gt [T, 4]``.

    ``convention="got10k"`` first replaces ``pred[0]`` by ``gt[0]`` (got10k's report does); ``"unitrack"`` scores
    ``pred`` as written.

    Returns:
        ``{"auc", "precision", "success_rate_50", "success_curve" [21], "precision_curve" [51], "n_frames"}``.
    """
    _check_convention(convention)
    p, g = _pair(pred, gt)
    if convention == "got10k" and len(p):
        p = p.copy()
        p[0] = g[0]
    sc = success_curve(p, g, convention=convention, origin=origin)
    pc = precision_curve(p, g, convention=convention, origin=origin)
    return {
        "auc": float(np.mean(sc)),
        "precision": float(pc[20]),
        "success_rate_50": float(sc[10]),
        "success_curve": sc,
        "precision_curve": pc,
        "n_frames": int(len(g)),
    }


def evaluate_sequences(
    preds: Mapping[str, np.ndarray], gts: Mapping[str, np.ndarray], convention: str = "unitrack", origin: int = 0
) -> dict:
    """Dataset scores from per-video curves (``preds`` and ``gts`` keyed by video name; videos are taken in the order
    of ``preds``, like the tools take their dataset's order -- it can matter in the last bit of a mean).

    Returns:
        ``{"auc", "precision", "success_rate_50", "success_curve" [21], "precision_curve" [51], "per_video",
        "convention"}``: ``auc`` as the convention's tool computes it (module docstring).
    """
    _check_convention(convention)
    if set(preds) != set(gts):
        raise ValueError(f"preds and gts must name the same videos; differ on {sorted(set(preds) ^ set(gts))[:5]}")
    if not preds:
        raise ValueError("no videos to evaluate")
    per = {}
    for name in preds:
        try:
            per[name] = evaluate_sequence(preds[name], gts[name], convention, origin)
        except ValueError as e:
            raise ValueError(f"video {name!r}: {e}") from None
    curves = np.array([v["success_curve"] for v in per.values()])
    sc = np.mean(curves, axis=0)
    pc = np.mean([v["precision_curve"] for v in per.values()], axis=0)
    # got10k: mean of the mean curve; UniTrack's pysot (show_result): one mean over the [videos, 21] matrix
    auc = float(np.mean(sc)) if convention == "got10k" else float(np.mean(curves))
    return {
        "auc": auc,
        "precision": float(pc[20]),
        "success_rate_50": float(sc[10]),
        "success_curve": sc,
        "precision_curve": pc,
        "per_video": per,
        "convention": convention,
    }


def evaluate_results(
    results_dir: Union[str, os.PathLike], dataset, *, convention: str = "unitrack", allow_missing: bool = False
) -> dict:
    """OTB OPE metrics of the result files ``<results_dir>/<video>.txt`` against an OTB dataset, scored as the chosen
    tool scores them: the files' values as written (1-based) against the ground truth as written.

    Args:
        results_dir: one ``x,y,w,h`` file per video (comma, tab or space separated).
        dataset: an :class:`unitrack.data.otb.OTBDataset` or a path for :func:`unitrack.data.otb.load_otb`.
        convention: ``"unitrack"`` (default; the file as written) or ``"got10k"`` (first box := ground truth).
        allow_missing: skip videos without a result file (listed in ``"missing"``) instead of raising.

    Returns:
        :func:`evaluate_sequences`'s dict plus ``"missing"``.
    """
    from ..data.otb import OTBDataset, load_otb, read_rects

    _check_convention(convention)
    if not isinstance(dataset, OTBDataset):
        dataset = load_otb(dataset, check_files=False)
    preds, gts, missing = {}, {}, []
    for name in dataset.names:
        path = os.path.join(os.fspath(results_dir), f"{name}.txt")
        if not os.path.exists(path):
            missing.append(name)
            continue
        video = dataset[name]
        gt = video.gt_file if video.gt_file is not None else video.gt + [1, 1, 0, 0]
        pred = read_rects(path)
        if len(pred) != len(gt):
            raise ValueError(f"{path}: {len(pred)} boxes but video {name!r} has {len(gt)} frames")
        preds[name], gts[name] = pred, gt
    if missing and not allow_missing:
        raise FileNotFoundError(
            f"no results in {os.fspath(results_dir)!r} for {len(missing)} video(s): {missing[:5]}..."
        )
    if not preds:
        raise FileNotFoundError(f"no result files for any video of the dataset in {os.fspath(results_dir)!r}")
    out = evaluate_sequences(preds, gts, convention, origin=1)
    out["missing"] = missing
    return out
