"""Intersection over union of boxes and masks: every IoU convention of the framework in one module.

Conventions differ on purpose, each one matches the code it must agree with bit for bit:

* :func:`iou_plus1` -- boxes ``(x1, y1, x2, y2)`` in pixel indices with the **+1-pixel** convention of
  cython_bbox (``w = x2 - x1 + 1``), used by the reference's association tracker (its IoU stage, the confirmation
  of new tracks and the removal of duplicate tracks; SPEC §5.5);
* :func:`box_iou` -- ``(x1, y1, x2, y2)`` in continuous coordinates without +1 (torchvision's ``box_iou``; the
  duplicate suppression of mask detections);
* :func:`box_iou_xywh` -- ``(x, y, w, h)`` boxes with TrackEval's arithmetic (areas from the corners; the MOT
  metrics);
* :func:`mask_iou` -- COCO RLE masks with pycocotools (the MOTS metrics), or intersection over the first mask's
  area.

The overlaps that are defined by one toolkit's metric stay with that metric: OTB's per-frame ``rect_iou`` (pysot's
and got10k's conventions, :mod:`unitrack.metrics.otb`) and DAVIS's region similarity J
(:mod:`unitrack.metrics.davis`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["iou_plus1", "box_iou", "box_iou_xywh", "mask_iou"]

_EPS = float(np.finfo("float").eps)


def _boxes(x, name: str) -> np.ndarray:
    b = np.asarray(x, dtype=np.float64)
    if b.size == 0:
        return b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must have shape [K, 4] (x1, y1, x2, y2), got {tuple(b.shape)}")
    if not np.isfinite(b).all():
        raise ValueError(f"{name} contains NaN or inf values")
    bad = np.nonzero((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1]))[0]
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] = {b[bad[0]].tolist()} has x2 < x1 or y2 < y1 (negative size)")
    return b


def iou_plus1(atlbrs, btlbrs, *, validate: bool = True) -> np.ndarray:
    """Pairwise IoU of ``atlbrs [N, 4]`` and ``btlbrs [M, 4]`` (x1, y1, x2, y2) with the +1-pixel convention.

    As cython_bbox (used by the reference's ``iou_distance``): ``w = x2 - x1 + 1``, ``h = y2 - y1 + 1``, and the
    intersection ``iw = min(x2) - max(x1) + 1`` counts only if ``iw > 0`` and ``ih > 0``. The degenerate box
    ``[10, 10, 10, 10]`` therefore has area 1. Returns ``[N, M]`` float64.

    ``validate`` checks the boxes (finite, ``x2 >= x1``, ``y2 >= y1``; ValueError naming the argument). The tracker
    passes its Kalman-filtered boxes unchecked (``validate=False``): a pair whose union is not positive then has
    IoU 0. On valid boxes the union is at least 1 and both give the same numbers.
    """
    if validate:
        a, b = _boxes(atlbrs, "atlbrs"), _boxes(btlbrs, "btlbrs")
    else:
        a = np.asarray(atlbrs, dtype=np.float64).reshape(-1, 4)
        b = np.asarray(btlbrs, dtype=np.float64).reshape(-1, 4)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def box_iou(a, b) -> np.ndarray:
    """Pairwise IoU *without* the +1 convention (torchvision's ``box_iou``; used by mask duplicate removal).

    ``a [N, 4]``, ``b [M, 4]`` (x1, y1, x2, y2), validated as in :func:`iou_plus1`; 0 where the union is empty.
    Returns ``[N, M]`` float64."""
    a, b = _boxes(a, "a"), _boxes(b, "b")
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return out


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between boxes ``a [N, 4]`` and ``b [M, 4]`` in (x, y, w, h) -> float64 ``[N, M]``.

    Continuous coordinates (no +1). The arithmetic is TrackEval's ``_calculate_box_ious`` step by step, so
    boundary cases (an IoU of exactly 0.5 on decimal coordinates) round the same way: the boxes are first
    turned into corners ``x1 = x + w``, and the areas are computed from the corners, ``(x1 - x) * (y1 - y)``,
    not as ``w * h`` (the two differ by a few ulps). Zero-area boxes have IoU 0 with everything.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    a = np.stack([a[:, 0], a[:, 1], a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]], axis=1)  # x0, y0, x1, y1
    b = np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], axis=1)
    mn = np.minimum(a[:, None, :], b[None, :, :])
    mx = np.maximum(a[:, None, :], b[None, :, :])
    inter = np.maximum(mn[..., 2] - mx[..., 0], 0) * np.maximum(mn[..., 3] - mx[..., 1], 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    inter[area_a <= 0 + _EPS, :] = 0
    inter[:, area_b <= 0 + _EPS] = 0
    inter[union <= 0 + _EPS] = 0
    union[union <= 0 + _EPS] = 1
    return inter / union


def mask_iou(rles_a: Sequence[dict], rles_b: Sequence[dict], ioa: bool = False) -> np.ndarray:
    """IoU ``[len(a), len(b)]`` between pycocotools RLE dicts (or IoA over ``a``'s area with ``ioa``)."""
    from pycocotools import mask as mask_utils

    if len(rles_a) == 0 or len(rles_b) == 0:
        return np.zeros((len(rles_a), len(rles_b)))
    return np.asarray(mask_utils.iou(list(rles_a), list(rles_b), [ioa] * len(rles_b)), dtype=np.float64).reshape(
        len(rles_a), len(rles_b)
    )
