"""DAVIS-2017 semi-supervised J&F, written here with the semantics of the official ``davis2017-evaluation``
(ECOSYSTEM §2.1).

* **J** (region similarity): per object and frame, IoU of the binary masks; an empty union scores 1. Optional void
  pixels are excluded from both intersection and union.
* **F** (boundary measure): 1-pixel boundaries (``seg2bmap``: a pixel is a boundary pixel if it differs from its
  east, south or south-east neighbour), each dilated with a disk of radius ``ceil(0.008 * ||(H, W)||)`` (8 px at
  480x854); precision = matched predicted boundary pixels / predicted boundary pixels, recall likewise for GT;
  ``F = 2PR / (P + R)`` (0 if P + R = 0); no predicted and no GT boundary -> P = R = 1; only GT -> P=1, R=0; only
  prediction -> P=0, R=1.
* Per object: Mean, Recall = mean(value > 0.5), Decay = mean of the first quarter - mean of the last quarter (four
  bins from ``round(linspace(1, N, 5)) - 1``, inclusive ends). The official tool casts those bin indices to
  ``uint8``: the last index is ``N - 1`` and the bin end ``ids[4] + 1`` stays ``uint8`` under numpy 2 (NEP 50), so
  it wraps to 0 already at **exactly 256** evaluated frames (the last bin is empty and the decay is NaN; numpy 1's
  value-based casting promoted the sum and broke only from 257 frames on). We use int64 (documented deviation:
  identical values up to 255 evaluated frames, the correct decay from 256 on).
* Per frame, J and F follow the official arithmetic step by step (``inters / union`` of pixel counts, the boundary
  tolerance ``np.ceil(bound_th * np.linalg.norm((H, W)))`` and skimage's disk), so values are bit-identical.
* Semi-supervised protocol: the first and last frames are excluded; objects are ``1..max(id in the first GT
  frame)``; GT value 255 is void and becomes background (the official semi-supervised path passes no void mask to
  the measures, so void pixels count as background); we also treat 254 as void. A result PNG with an id above the
  number of GT objects is an error; objects missing from the results score as empty masks.
* ``J&F-Mean = (mean_objects J-Mean + mean_objects F-Mean) / 2``, means over all objects of all sequences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np

__all__ = [
    "db_eval_iou",
    "db_eval_boundary",
    "f_measure",
    "seg2bmap",
    "disk",
    "db_statistics",
    "evaluate_sequence",
    "evaluate_davis",
    "DavisResult",
    "VOID_IDS",
]

VOID_IDS = (255, 254)


def db_eval_iou(annotation: np.ndarray, segmentation: np.ndarray, void_pixels: Optional[np.ndarray] = None):
    """Region similarity J. ``annotation``/``segmentation``: boolean ``[H, W]`` or ``[T, H, W]``.

    Returns a float (2-D input) or ``float64 [T]``; 1 where the union is empty.
    """
    annotation = np.asarray(annotation).astype(bool)
    segmentation = np.asarray(segmentation).astype(bool)
    if annotation.shape != segmentation.shape:
        raise ValueError(f"segmentation: shape {segmentation.shape} differs from annotation {annotation.shape}")
    keep = np.ones_like(annotation) if void_pixels is None else ~np.asarray(void_pixels).astype(bool)
    inters = np.sum((segmentation & annotation) & keep, axis=(-2, -1)).astype(np.float64)
    union = np.sum((segmentation | annotation) & keep, axis=(-2, -1)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        j = np.where(union == 0, 1.0, inters / np.where(union == 0, 1.0, union))
    return float(j) if j.ndim == 0 else j


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """1-pixel boundary map of a binary mask ``[H, W]`` -> bool ``[H, W]``.

    A pixel is on the boundary when it differs from its east, south or south-east neighbour (outside the image the
    neighbour is 0); in the last row only the east neighbour counts, in the last column only the south one, and the
    bottom-right pixel is never a boundary.
    """
    seg = np.asarray(seg).astype(bool)
    if seg.ndim != 2:
        raise ValueError(f"seg: expected a 2-D mask, got shape {seg.shape}")
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: float) -> np.ndarray:
    """Disk structuring element ``uint8``, exactly ``skimage.morphology.disk(radius)`` (what the official tool
    dilates with): ``L = arange(-radius, radius + 1)``, ``X**2 + Y**2 <= radius**2`` on ``meshgrid(L, L)``. For an
    integer radius r that is ``[2r+1, 2r+1]``; a fractional radius (``bound_th >= 1`` given as e.g. 2.5) gives the
    same grid shifted by the fraction, as in skimage."""
    if not radius >= 0:
        raise ValueError(f"radius: expected >= 0, got {radius}")
    L = np.arange(-radius, radius + 1)
    X, Y = np.meshgrid(L, L)
    return np.array((X**2 + Y**2) <= radius**2, dtype=np.uint8)


def _dilate(b: np.ndarray, se: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.dilate(b.astype(np.uint8), se) > 0


def bound_pixels(shape: tuple[int, int], bound_th: float = 0.008) -> float:
    """Boundary tolerance in pixels: ``bound_th`` if >= 1 else ``ceil(bound_th * ||(H, W)||)``, computed as the
    official tool does (``np.ceil(bound_th * np.linalg.norm(shape))``)."""
    return bound_th if bound_th >= 1 else float(np.ceil(bound_th * np.linalg.norm(shape)))


def f_measure(
    foreground_mask: np.ndarray, gt_mask: np.ndarray, void_pixels: Optional[np.ndarray] = None, bound_th: float = 0.008
) -> float:
    """Boundary F-measure of one frame (binary ``[H, W]`` prediction vs GT)."""
    fg = np.asarray(foreground_mask).astype(bool)
    gt = np.asarray(gt_mask).astype(bool)
    if fg.ndim != 2 or fg.shape != gt.shape:
        raise ValueError(f"foreground_mask/gt_mask: expected equal 2-D shapes, got {fg.shape} and {gt.shape}")
    if void_pixels is not None:
        keep = ~np.asarray(void_pixels).astype(bool)
        fg, gt = fg & keep, gt & keep
    se = disk(bound_pixels(fg.shape, bound_th))
    fg_b = seg2bmap(fg)
    gt_b = seg2bmap(gt)
    n_fg = int(fg_b.sum())
    n_gt = int(gt_b.sum())
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = float((fg_b & _dilate(gt_b, se)).sum()) / n_fg
        recall = float((gt_b & _dilate(fg_b, se)).sum()) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def db_eval_boundary(
    annotation: np.ndarray, segmentation: np.ndarray, void_pixels: Optional[np.ndarray] = None, bound_th: float = 0.008
):
    """Boundary measure F for ``[H, W]`` (float) or ``[T, H, W]`` (``float64 [T]``) binary masks."""
    annotation = np.asarray(annotation)
    segmentation = np.asarray(segmentation)
    if annotation.shape != segmentation.shape:
        raise ValueError(f"segmentation: shape {segmentation.shape} differs from annotation {annotation.shape}")
    if annotation.ndim == 2:
        return f_measure(segmentation, annotation, void_pixels, bound_th)
    if annotation.ndim != 3:
        raise ValueError(f"annotation: expected [H, W] or [T, H, W], got shape {annotation.shape}")
    out = np.zeros(annotation.shape[0])
    for t in range(annotation.shape[0]):
        v = None if void_pixels is None else void_pixels[t]
        out[t] = f_measure(segmentation[t], annotation[t], v, bound_th)
    return out


def db_statistics(per_frame_values: np.ndarray) -> tuple[float, float, float]:
    """(Mean, Recall = mean(v > 0.5), Decay) of one object's per-frame values (NaNs ignored in the means)."""
    v = np.asarray(per_frame_values, dtype=np.float64)
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    with np.errstate(invalid="ignore"), _quiet():
        M = float(np.nanmean(v))
        R = float(np.nanmean(v > 0.5))  # recall
        # official code: uint8, whose ids[4] + 1 wraps to 0 at n = 256 under numpy 2 (module docstring)
        ids = (np.round(np.linspace(1, n, 5) + 1e-10) - 1).astype(np.int64)
        bins = [v[ids[i] : ids[i + 1] + 1] for i in range(4)]
        D = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return M, R, D


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def _split_objects(masks: np.ndarray, n_objects: int) -> np.ndarray:
    """Id maps ``[T, H, W]`` -> bool ``[n_objects, T, H, W]`` (object ``k`` = id ``k + 1``)."""
    ids = np.arange(1, n_objects + 1).reshape(-1, 1, 1, 1)
    return masks[None] == ids


def evaluate_sequence(
    gt_masks: np.ndarray, res_masks: np.ndarray, name: str = "sequence", exclude_first_last: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-object, per-frame J and F of one sequence.

    Args:
        gt_masks: ``[T, H, W]`` GT id maps (255/254 = void -> background).
        res_masks: ``[T, H, W]`` result id maps (same frames).
        exclude_first_last: semi-supervised protocol (drop frames 0 and T-1).
    Returns:
        ``(J, F)``, each ``float64 [n_objects, T']`` with ``n_objects = max id of the first GT frame``.
    """
    gt = np.asarray(gt_masks).astype(np.int64)
    res = np.asarray(res_masks).astype(np.int64)
    if gt.ndim != 3:
        raise ValueError(f"{name}: gt_masks must be [T, H, W], got shape {gt.shape}")
    if res.shape != gt.shape:
        raise ValueError(
            f"{name}: results have shape {res.shape}, ground truth {gt.shape} (same frames and size needed)"
        )
    gt = np.where(np.isin(gt, VOID_IDS), 0, gt)
    n_obj = int(gt[0].max())
    if exclude_first_last:
        gt, res = gt[1:-1], res[1:-1]
    n_res = int(res.max()) if res.size else 0
    if n_res > n_obj:
        raise ValueError(f"{name}: results contain object id {n_res}, but the first GT frame has only {n_obj} objects")
    gt_o = _split_objects(gt, n_obj)
    res_o = _split_objects(res, n_obj)
    J = np.zeros((n_obj, gt.shape[0]))
    F = np.zeros((n_obj, gt.shape[0]))
    for k in range(n_obj):
        J[k] = db_eval_iou(gt_o[k], res_o[k]) if gt.shape[0] else J[k]
        F[k] = db_eval_boundary(gt_o[k], res_o[k]) if gt.shape[0] else F[k]
    return J, F


@dataclass
class DavisResult:
    """J&F over a split. ``per_object[name_k] = {"J-Mean", "F-Mean", ...}`` with ``name_k = f"{seq}_{k}"``."""

    per_object: dict = field(default_factory=dict)
    per_frame: dict = field(default_factory=dict)

    def _col(self, key: str) -> np.ndarray:
        return np.array([v[key] for v in self.per_object.values()], dtype=np.float64)

    @property
    def summary(self) -> dict:
        """``{"J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"}`` (means over objects)."""
        if not self.per_object:
            return {
                k: float("nan") for k in ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")
            }
        out = {
            k: float(np.mean(self._col(k))) for k in ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")
        }
        return {"J&F-Mean": (out["J-Mean"] + out["F-Mean"]) / 2.0, **out}

    def table(self) -> str:
        s = self.summary
        head = " ".join(f"{k:>9s}" for k in s)
        vals = " ".join(f"{v:9.3f}" for v in s.values())
        lines = [head, vals, "", f"{'Sequence':<24s} {'J&F-Mean':>9s} {'J-Mean':>9s} {'F-Mean':>9s}"]
        for name, v in self.per_object.items():
            lines.append(f"{name:<24s} {(v['J-Mean'] + v['F-Mean']) / 2:9.3f} {v['J-Mean']:9.3f} {v['F-Mean']:9.3f}")
        return "\n".join(lines)


def evaluate_davis(
    results_dir: str,
    davis_root: str,
    split: str = "val",
    sequences: Optional[Iterable[str]] = None,
    year: str = "2017",
    resolution: str = "480p",
    progress: bool = True,
) -> DavisResult:
    """Semi-supervised DAVIS evaluation of ``results_dir/<seq>/<frame>.png`` against ``davis_root``.

    Result PNGs are matched to the GT annotation file names (``00000.png`` ...); only frames 1..T-2 are read.
    Raises ``FileNotFoundError`` naming a missing result file and ``ValueError`` for ids above the object count.
    """
    from tqdm import tqdm

    from ..data.davis import DavisDataset, read_mask

    ds = DavisDataset(davis_root, split=split, year=year, resolution=resolution, sequences=sequences)
    out = DavisResult()
    for name in tqdm(ds.sequence_names, desc="J&F", disable=not progress):
        seq = ds[name]
        gt = np.stack([read_mask(p) for p in seq.annotation_paths])
        res = np.zeros_like(gt)
        for t in range(1, len(seq.annotation_paths) - 1):
            fn = os.path.basename(seq.annotation_paths[t])
            p = os.path.join(results_dir, name, fn)
            if not os.path.isfile(p):
                raise FileNotFoundError(f"result mask not found: {p} (sequence {name}, frame {fn})")
            r = read_mask(p)
            if r.shape != gt.shape[1:]:
                raise ValueError(f"{p}: size {r.shape[0]}x{r.shape[1]} differs from the GT {gt.shape[1]}x{gt.shape[2]}")
            res[t] = r
        J, F = evaluate_sequence(gt, res, name=name)
        for k in range(J.shape[0]):
            jm, jr, jd = db_statistics(J[k])
            fm, fr, fd = db_statistics(F[k])
            key = f"{name}_{k + 1}"
            out.per_object[key] = {
                "J-Mean": jm,
                "J-Recall": jr,
                "J-Decay": jd,
                "F-Mean": fm,
                "F-Recall": fr,
                "F-Decay": fd,
            }
            out.per_frame[key] = {"J": J[k], "F": F[k]}
    return out
