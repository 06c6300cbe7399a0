"""Object-level appearance features on a stride-8 feature map, and the observation -> box conversions.

* :func:`roi_align` -- torchvision-compatible RoIAlign (``aligned=False``, adaptive sampling), vectorised torch; the
  box tracker samples every box on 4 rows x 10 columns (SPEC appendix "Box embedding extraction").
* :func:`mask_features` -- the MOTS/PoseTrack object feature sets: the mask at feature resolution, down-scaled so
  that at most ~``max_mask_area`` points remain (SPEC appendix "Mask and pose observation").
* :func:`mask2box`, :func:`remove_duplicated_box`, :func:`pose_to_mask`, :func:`pose_to_box`.

Feature sets are returned **point-major**: ``[P, C]`` per object (the layout ``unitrack_ext.ops.rsm`` takes).

Deterministic empty objects (a documented deviation): the reference gives an empty mask/skeleton a *random*
``randn(C, 40)`` embedding (and an empty skeleton a random box). Here an empty mask yields an empty ``[0, C]`` set,
``valid = False`` and the sentinel box; the tracker drops such observations before association.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .matching import box_iou

#: The reference's box for an empty mask (x1, y1, x2, y2).
EMPTY_MASK_BOX = (-1.0, -1.0, 10.0, 10.0)

#: PoseTrack joints (0-based) whose convex polygon is filled: right hip, left hip, left shoulder, upper neck,
#: right shoulder.
POSE_TRUNK = (2, 3, 9, 12, 8)
#: The 13 limbs drawn as thick lines (0-based joint pairs).
POSE_LIMBS = ((9, 10), (10, 11), (8, 7), (7, 6), (9, 12), (8, 12), (12, 14), (9, 3), (3, 4), (4, 5), (8, 2),
              (2, 1), (1, 0))
NUM_POSE_JOINTS = 15


def _feature_map(feat, name: str = "feat_map") -> torch.Tensor:
    if not isinstance(feat, torch.Tensor):
        feat = torch.as_tensor(np.asarray(feat))
    if feat.dim() == 4:
        if feat.shape[0] != 1:
            raise ValueError(f"{name} must be [C, H, W] or [1, C, H, W], got shape {tuple(feat.shape)}")
        feat = feat[0]
    if feat.dim() != 3:
        raise ValueError(f"{name} must be [C, H, W] or [1, C, H, W], got shape {tuple(feat.shape)}")
    if not feat.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {feat.dtype}")
    if min(feat.shape) <= 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(feat.shape)}")
    return feat


# ----------------------------------------------------------------------------------------------------- RoIAlign
def _axis_samples(start, size, n_bins: int, grid, length: int, max_grid: int):
    """Per-axis bilinear taps of RoIAlign. ``start, size [K]`` float, ``grid [K]`` int.

    Returns ``lo, hi [K, n_bins, G]`` (int64) and the weights ``w_lo, w_hi`` (already divided by the grid count and
    zero for padded or out-of-range samples).
    """
    dev, dt = start.device, start.dtype
    i = torch.arange(max_grid, device=dev, dtype=dt)
    p = torch.arange(n_bins, device=dev, dtype=dt)
    bin_size = (size / n_bins)[:, None, None]
    g = grid.to(dt)[:, None, None]
    coord = start[:, None, None] + p[None, :, None] * bin_size + (i[None, None, :] + 0.5) * bin_size / g.clamp_min(1)
    active = torch.arange(max_grid, device=dev)[None, None, :] < grid[:, None, None]
    valid = active & (coord >= -1.0) & (coord <= float(length))
    c = coord.clamp_min(0.0)
    lo = c.floor().long()
    at_end = lo >= length - 1
    lo = torch.where(at_end, torch.full_like(lo, length - 1), lo)
    hi = torch.where(at_end, lo, lo + 1)
    c = torch.where(at_end, lo.to(dt), c)
    frac = c - lo.to(dt)
    scale = valid.to(dt) / g.clamp_min(1)
    lo = torch.where(active, lo, torch.zeros_like(lo))
    hi = torch.where(active, hi, torch.zeros_like(hi))
    return lo, hi, (1.0 - frac) * scale, frac * scale, active


def _local_weights(lo, hi, w_lo, w_hi, active, length: int):
    """Dense per-bin weights over a window ``[origin, origin + L)`` of the axis: ``W [K, n_bins, L]``, origin ``[K]``."""
    K = lo.shape[0]
    big = torch.iinfo(torch.int64).max
    origin = lo.masked_fill(~active, big).flatten(1).amin(1)
    origin = torch.where(origin == big, torch.zeros_like(origin), origin)
    top = hi.masked_fill(~active, -1).flatten(1).amax(1)
    L = int(max((top - origin).max().item() + 1, 1)) if K else 1
    W = lo.new_zeros((K, lo.shape[1], L), dtype=w_lo.dtype)
    o = origin[:, None, None]
    W.scatter_add_(2, (lo - o).clamp(0, L - 1), w_lo)
    W.scatter_add_(2, (hi - o).clamp(0, L - 1), w_hi)
    idx = (origin[:, None] + torch.arange(L, device=lo.device)[None, :]).clamp(max=length - 1)
    return W, idx


def roi_align(feat_map, boxes, output_size: tuple[int, int] = (4, 10), spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False, _max_elems: int = 1 << 24) -> torch.Tensor:
    """RoIAlign of boxes on one feature map, with torchvision's semantics (``torchvision.ops.roi_align``).

    Each output bin averages ``gh x gw`` bilinear samples at bin-relative ``(k + 0.5) / g`` (``g = sampling_ratio``, or
    ``ceil(roi_size / bins)`` when ``sampling_ratio <= 0``); with ``aligned=False`` the RoI size is at least 1;
    samples beyond ``[-1, H]`` (resp. ``[-1, W]``) are 0, others are clamped into the map.

    Implementation: bilinear sampling is separable, so every box reduces to two small dense weight matrices
    ``Wy [4, Lh]`` and ``Wx [10, Lw]`` over a crop of the box; all boxes are processed at once (crops padded to the
    largest, chunked to bound memory).

    Args:
        feat_map: ``[C, H, W]`` or ``[1, C, H, W]`` float tensor (any device).
        boxes: ``[K, 4]`` (x1, y1, x2, y2) in input units (multiplied by ``spatial_scale``).
        output_size: ``(height, width)`` bins; the reference uses ``(4, 10)`` (4 rows x 10 columns).
    Returns:
        ``[K, C, out_h, out_w]`` on ``feat_map``'s device and dtype.
    """
    feat = _feature_map(feat_map)
    C, H, W = feat.shape
    b = torch.as_tensor(np.asarray(boxes) if not isinstance(boxes, torch.Tensor) else boxes)
    b = b.to(device=feat.device, dtype=feat.dtype)
    if b.numel() == 0:
        return feat.new_zeros((0, C) + tuple(output_size))
    if b.dim() != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must have shape [K, 4] (x1, y1, x2, y2), got {tuple(b.shape)}")
    if not bool(torch.isfinite(b).all()):
        raise ValueError("boxes contains NaN or inf values")
    ph, pw = (int(v) for v in output_size)
    if ph <= 0 or pw <= 0:
        raise ValueError(f"output_size must be positive, got {output_size}")
    off = 0.5 if aligned else 0.0
    x1, y1 = b[:, 0] * spatial_scale - off, b[:, 1] * spatial_scale - off
    rw, rh = b[:, 2] * spatial_scale - off - x1, b[:, 3] * spatial_scale - off - y1
    if not aligned:
        rw, rh = rw.clamp_min(1.0), rh.clamp_min(1.0)
    if sampling_ratio > 0:
        gy = torch.full_like(rh, sampling_ratio, dtype=torch.long)
        gx = torch.full_like(rw, sampling_ratio, dtype=torch.long)
    else:
        gy, gx = torch.ceil(rh / ph).long(), torch.ceil(rw / pw).long()
    K = b.shape[0]
    out = feat.new_empty((K, ph, pw, C))
    table = feat.permute(1, 2, 0).contiguous().reshape(H * W, C)  # channel-last: every gathered point is one contiguous row
    _roi_align_chunk(table, H, W, torch.arange(K, device=feat.device), x1, y1, rw, rh, gx, gy, ph, pw, out,
                     _max_elems)
    return out.permute(0, 3, 1, 2)


def _roi_align_chunk(table, H, W, sel, x1, y1, rw, rh, gx, gy, ph, pw, out, max_elems):
    C = table.shape[1]
    ly, hy_, wly, why, acty = _axis_samples(y1[sel], rh[sel], ph, gy[sel], H, max(int(gy[sel].max()), 1))
    lx, hx_, wlx, whx, actx = _axis_samples(x1[sel], rw[sel], pw, gx[sel], W, max(int(gx[sel].max()), 1))
    Wy, rows = _local_weights(ly, hy_, wly, why, acty, H)  # [k, ph, Lh], [k, Lh]
    Wx, cols = _local_weights(lx, hx_, wlx, whx, actx, W)  # [k, pw, Lw], [k, Lw]
    k, Lh, Lw = sel.numel(), rows.shape[1], cols.shape[1]
    if k > 1 and k * C * Lh * Lw > max_elems:
        half = k // 2
        _roi_align_chunk(table, H, W, sel[:half], x1, y1, rw, rh, gx, gy, ph, pw, out, max_elems)
        _roi_align_chunk(table, H, W, sel[half:], x1, y1, rw, rh, gx, gy, ph, pw, out, max_elems)
        return
    idx = rows[:, :, None] * W + cols[:, None, :]  # [k, Lh, Lw]
    crop = table.index_select(0, idx.reshape(-1)).reshape(k, Lh, Lw * C)
    t = torch.bmm(Wy, crop).reshape(k, ph, Lw, C)  # contract rows -> [k, ph, Lw, C]
    t = t.transpose(1, 2).reshape(k, Lw, ph * C)
    r = torch.bmm(Wx, t).reshape(k, pw, ph, C)  # contract columns -> [k, pw, ph, C]
    out[sel] = r.transpose(1, 2)


# ----------------------------------------------------------------------------------------------------- masks
def _masks(masks, name: str) -> torch.Tensor:
    m = masks if isinstance(masks, torch.Tensor) else torch.as_tensor(np.asarray(masks))
    if m.dim() == 2:
        m = m[None]
    if m.dim() != 3:
        raise ValueError(f"{name} must have shape [K, H, W], got {tuple(m.shape)}")
    if m.is_floating_point() and not bool(torch.isfinite(m).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return m


def masks_to_feature_resolution(masks, size: tuple[int, int]) -> torch.Tensor:
    """``[K, H, W]`` masks (bool/int/float, any resolution) -> ``[K, h, w]`` float {0, 1}, nearest interpolation."""
    m = _masks(masks, "masks")
    if m.shape[0] == 0:
        return torch.zeros((0,) + tuple(size))
    m = (m != 0).float() if not m.is_floating_point() else m.float()
    if tuple(m.shape[1:]) == tuple(size):
        return m
    return F.interpolate(m[:, None], size=tuple(size), mode="nearest")[:, 0]


def mask_features(feat_map, masks, max_mask_area: int = 200) -> tuple[list[torch.Tensor], torch.Tensor,
                                                                       torch.Tensor]:
    """Object feature sets of masks, as the reference's ``extract_emb`` (MOTS / PoseTrack).

    For every mask ``ob`` at feature resolution (nearest interpolation), with area ``a = sum(ob)``:
    ``s = sqrt(max_mask_area / a)`` if ``a > max_mask_area`` else 1; the set is
    ``interpolate(ob * F, scale_factor=s, bilinear, align_corners=False)`` at the positions where
    ``interpolate(ob, scale_factor=s, nearest) >= 0.5`` (row-major order). Instead of resampling the whole map per
    object, the bilinear taps are evaluated only at the kept positions (same values; O(points x C) per object).

    Args:
        feat_map: ``[C, h, w]`` or ``[1, C, h, w]``.
        masks: ``[K, H, W]`` at any resolution (nonzero = inside).
        max_mask_area: area (feature cells) above which a mask is down-scaled.
    Returns:
        ``(sets, fmasks, valid)``: ``sets`` a list of K tensors ``[P_k, C]`` (``[0, C]`` for an empty object),
        ``fmasks [K, h, w]`` float feature-resolution masks, ``valid [K]`` bool (non-empty set).
    """
    feat = _feature_map(feat_map)
    C, h, w = feat.shape
    if max_mask_area <= 0:
        raise ValueError(f"max_mask_area must be positive, got {max_mask_area}")
    fm = masks_to_feature_resolution(masks, (h, w)).to(feat.device)
    sets: list[torch.Tensor] = []
    valid = torch.zeros(fm.shape[0], dtype=torch.bool)
    flat = feat.reshape(C, h * w)
    for k in range(fm.shape[0]):
        ob = fm[k]
        area = float(ob.sum())
        if area <= 0:
            sets.append(feat.new_zeros((0, C)))
            continue
        if area > max_mask_area:
            s = math.sqrt(max_mask_area / area)
            m = F.interpolate(ob[None, None], scale_factor=s, mode="nearest")[0, 0]
            ys, xs = torch.nonzero(m >= 0.5, as_tuple=True)
            emb = _bilinear_at(flat, ob, h, w, ys, xs, s, feat.dtype)
        else:
            idx = torch.nonzero(ob.reshape(-1) >= 0.5, as_tuple=True)[0]
            emb = (flat[:, idx] * ob.reshape(-1)[idx].to(feat.dtype)).T
        sets.append(emb.contiguous())
        valid[k] = emb.shape[0] > 0
    return sets, fm, valid


def _bilinear_at(flat, ob, h, w, ys, xs, s, dtype):
    """Values of ``interpolate((ob*F)[None], scale_factor=s, mode='bilinear', align_corners=False)`` at (ys, xs)."""
    inv = 1.0 / s

    def taps(d, n):
        src = ((d.to(torch.float64) + 0.5) * inv - 0.5).clamp_min(0.0)
        i0 = src.floor().long().clamp(max=n - 1)
        step = (i0 < n - 1).long()
        lam = (src - i0.to(torch.float64)).to(dtype)
        return i0, i0 + step, 1 - lam, lam

    y0, y1, hy0, hy1 = taps(ys, h)
    x0, x1, wx0, wx1 = taps(xs, w)
    g = flat * ob.reshape(1, -1).to(dtype)  # masked features [C, h*w]
    v = (hy0 * (wx0 * g[:, y0 * w + x0] + wx1 * g[:, y0 * w + x1])
         + hy1 * (wx0 * g[:, y1 * w + x0] + wx1 * g[:, y1 * w + x1]))
    return v.T


def mask2box(fmasks) -> np.ndarray:
    """Boxes of feature-resolution masks ``[K, h, w]`` -> ``[K, 4]`` (x1, y1, x2, y2) in feature units.

    Centre = mean of the mask pixel coordinates; half extents = ``2 * max(mean|coord - centre|, 1)`` per axis (not a
    tight box). An empty mask gives :data:`EMPTY_MASK_BOX`.
    """
    m = torch.as_tensor(np.asarray(fmasks)) if not isinstance(fmasks, torch.Tensor) else fmasks
    m = (m.detach().to("cpu", torch.float64) >= 0.5).to(torch.float64)
    if m.dim() != 3:
        raise ValueError(f"fmasks must have shape [K, h, w], got {tuple(m.shape)}")
    K, h, w = m.shape
    if K == 0:
        return np.zeros((0, 4))
    r = torch.arange(h, dtype=torch.float64)[None, :, None]
    c = torch.arange(w, dtype=torch.float64)[None, None, :]
    a = m.sum((1, 2))
    safe = a.clamp_min(1)
    cr = (m * r).sum((1, 2)) / safe
    cc = (m * c).sum((1, 2)) / safe
    dr = ((m * (r - cr[:, None, None]).abs()).sum((1, 2)) / safe).clamp_min(1)
    dc = ((m * (c - cc[:, None, None]).abs()).sum((1, 2)) / safe).clamp_min(1)
    out = torch.stack([cc - 2 * dc, cr - 2 * dr, cc + 2 * dc, cr + 2 * dr], 1)
    out[a == 0] = torch.tensor(EMPTY_MASK_BOX, dtype=torch.float64)
    return out.numpy()


def remove_duplicated_box(boxes, iou_th: float = 0.7) -> np.ndarray:
    """Indices kept by the reference's mask duplicate suppression.

    Sentinel boxes (:data:`EMPTY_MASK_BOX`) are dropped; then in **index order** (not score order) each kept box
    discards every later box whose IoU with it (torchvision convention, no +1) exceeds ``iou_th``.
    Returns ``[K']`` int64 ascending.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    keep = ~np.all(b == np.asarray(EMPTY_MASK_BOX), axis=1)
    if b.shape[0] == 0:
        return np.zeros(0, np.int64)
    ious = box_iou(b, b)
    for i in range(b.shape[0]):
        if not keep[i]:
            continue
        later = np.arange(b.shape[0]) > i
        keep &= ~(later & (ious[i] > iou_th))
    return np.nonzero(keep)[0].astype(np.int64)


# ----------------------------------------------------------------------------------------------------- poses
def _pose(pose, name: str = "pose") -> np.ndarray:
    p = np.asarray(pose, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != NUM_POSE_JOINTS or p.shape[1] < 2:
        raise ValueError(f"{name} must have shape [{NUM_POSE_JOINTS}, 2 or 3] (x, y[, score]) with NaN for missing "
                         f"joints, got {tuple(p.shape)}")
    xy = p[:, :2]
    if np.isinf(xy).any():
        raise ValueError(f"{name} contains inf coordinates (use NaN for a missing joint)")
    return p


def _joints(p: np.ndarray) -> dict[int, tuple[int, int]]:
    present = np.isfinite(p[:, 0]) & np.isfinite(p[:, 1])
    return {j: (int(p[j, 0]), int(p[j, 1])) for j in np.nonzero(present)[0].tolist()}


def pose_to_mask(pose, image_size: tuple[int, int]) -> np.ndarray:
    """Rasterise a skeleton into a {0, 1} ``uint8 [H, W]`` mask (the reference's ``skltn2mask``, OpenCV drawing).

    ``pose [15, 2+]``: PoseTrack joints in image pixels, NaN for a missing joint; coordinates are truncated with
    ``int()``. The trunk polygon (joints 2, 3, 9, 12, 8 that exist) is filled when it has at least 3 points; the 13
    limbs are drawn with ``cv2.line`` (LINE_8) of thickness ``max(int(max(x-range, y-range) / 20), 8)``.
    """
    import cv2

    p = _pose(pose)
    H, W = (int(v) for v in image_size)
    if H <= 0 or W <= 0:
        raise ValueError(f"image_size must be positive (H, W), got {image_size}")
    mask = np.zeros((H, W), np.uint8)
    j = _joints(p)
    if not j:
        return mask
    trunk = [j[i] for i in POSE_TRUNK if i in j]
    if len(trunk) > 2:
        cv2.fillConvexPoly(mask, np.asarray(trunk, np.int32), 1)
    xs = [v[0] for v in j.values()]
    ys = [v[1] for v in j.values()]
    thick = max(int(max(max(xs) - min(xs), max(ys) - min(ys), 0) / 20), 8)
    for a, b in POSE_LIMBS:
        if a in j and b in j:
            cv2.line(mask, j[a], j[b], 1, thick)
    return mask


def pose_to_box(pose) -> np.ndarray | None:
    """``[xmin, ymin, xmax, ymax]`` of the (int-truncated) joints, +10 on an axis whose max equals its min.

    Returns ``None`` for a skeleton without joints (the reference returns a random box).
    """
    j = _joints(_pose(pose))
    if not j:
        return None
    xs = [v[0] for v in j.values()]
    ys = [v[1] for v in j.values()]
    x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
    if x2 == x1:
        x2 += 10
    if y2 == y1:
        y2 += 10
    return np.array([x1, y1, x2, y2], dtype=np.float64)


def poses_to_masks(poses: Sequence, image_size: tuple[int, int]) -> np.ndarray:
    """``[K, 15, 2+]`` skeletons -> ``uint8 [K, H, W]`` masks (see :func:`pose_to_mask`)."""
    H, W = (int(v) for v in image_size)
    return np.stack([pose_to_mask(p, (H, W)) for p in poses]) if len(poses) else np.zeros((0, H, W), np.uint8)
