"""OTB one-pass evaluation (OPE): success (IoU) and precision (centre error) curves.

Definitions follow the OTB toolkits (ECOSYSTEM.md §2; got10k ``ExperimentOTB`` and pysot ``OPEBenchmark`` agree):

* IoU of continuous ``[x, y, w, h]`` boxes (no +1), ``inter / (union + eps)`` clipped to [0, 1]; a frame whose
  ground truth has ``w <= 0`` or ``h <= 0`` (absent target) gets IoU -1, i.e. it fails at every threshold (pysot;
  got10k's IoU is 0 or NaN there, which also fails every strict threshold).
* success curve: fraction of frames with IoU **>** t for the 21 thresholds ``linspace(0, 1, 21)``; **AUC = mean of the
  curve**; ``success_rate_50`` = the curve at 0.5.
* precision curve: fraction of frames with centre error **<=** t pixels for ``t = 0..50``; precision = value at 20 px.
  Centres are ``x + (w-1)/2`` (the choice cancels in the difference of two boxes).
* dataset scores average the per-video curves (every video weighs the same).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = [
    "IOU_THRESHOLDS",
    "CE_THRESHOLDS",
    "rect_iou",
    "center_error",
    "success_curve",
    "precision_curve",
    "evaluate_sequence",
    "evaluate_sequences",
]

IOU_THRESHOLDS = np.linspace(0.0, 1.0, 21)
CE_THRESHOLDS = np.arange(0, 51, dtype=np.float64)


def _as_boxes(a, name: str) -> np.ndarray:
    b = np.asarray(a, dtype=np.float64)
    if b.ndim == 1:
        b = b[None]
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must be [N, 4] boxes (x, y, w, h), got shape {b.shape}")
    return b


def rect_iou(pred, gt) -> np.ndarray:
    """IoU of ``[N, 4]`` xywh boxes; ``-1`` where the ground truth has a non-positive width or height."""
    p, g = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same number of boxes, got {len(p)} and {len(g)}")
    x1 = np.maximum(p[:, 0], g[:, 0])
    y1 = np.maximum(p[:, 1], g[:, 1])
    x2 = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2])
    y2 = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.clip(inter / (union + np.finfo(np.float64).eps), 0.0, 1.0)
    iou = np.nan_to_num(iou, nan=0.0)
    iou[(g[:, 2] <= 0) | (g[:, 3] <= 0)] = -1.0
    return iou


def center_error(pred, gt) -> np.ndarray:
    """Euclidean distance between box centres ``x + (w-1)/2, y + (h-1)/2`` (pixels), ``[N]``."""
    p, g = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same number of boxes, got {len(p)} and {len(g)}")
    cp = p[:, :2] + (p[:, 2:] - 1) / 2
    cg = g[:, :2] + (g[:, 2:] - 1) / 2
    return np.sqrt(((cp - cg) ** 2).sum(1))


def success_curve(pred, gt, thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with IoU > t, for each threshold t."""
    iou = rect_iou(pred, gt)
    return (iou[:, None] > np.asarray(thresholds)[None, :]).mean(0)


def precision_curve(pred, gt, thresholds: np.ndarray = CE_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with centre error <= t pixels, for each threshold t."""
    ce = center_error(pred, gt)
    return (ce[:, None] <= np.asarray(thresholds)[None, :]).mean(0)


def evaluate_sequence(pred, gt) -> dict:
    """One video: ``{"auc", "precision", "success_rate_50", "success_curve", "precision_curve", "n_frames"}``."""
    sc, pc = success_curve(pred, gt), precision_curve(pred, gt)
    return {
        "auc": float(sc.mean()),
        "precision": float(pc[20]),
        "success_rate_50": float(sc[10]),
        "success_curve": sc,
        "precision_curve": pc,
        "n_frames": int(_as_boxes(gt, "gt").shape[0]),
    }


def evaluate_sequences(preds: Mapping[str, np.ndarray], gts: Mapping[str, np.ndarray]) -> dict:
    """Average the per-video curves over videos (``preds`` and ``gts`` keyed by video name).

    Returns:
        ``{"auc", "precision", "success_rate_50", "success_curve" [21], "precision_curve" [51], "per_video"}``.
    """
    if set(preds) != set(gts):
        raise ValueError(f"preds and gts must name the same videos; differ on {sorted(set(preds) ^ set(gts))[:5]}")
    if not preds:
        raise ValueError("no videos to evaluate")
    per = {}
    for name in sorted(preds):
        try:
            per[name] = evaluate_sequence(preds[name], gts[name])
        except ValueError as e:
            raise ValueError(f"video {name!r}: {e}") from None
    sc = np.mean([v["success_curve"] for v in per.values()], axis=0)
    pc = np.mean([v["precision_curve"] for v in per.values()], axis=0)
    return {
        "auc": float(sc.mean()),
        "precision": float(pc[20]),
        "success_rate_50": float(sc[10]),
        "success_curve": sc,
        "precision_curve": pc,
        "per_video": per,
    }
