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

from ..data.skeletons import POSETRACK_JOINTS, POSETRACK_MASK_LIMBS, POSETRACK_TRUNK
from ..iou import box_iou

#: The reference's box for an empty mask (x1, y1, x2, y2).
EMPTY_MASK_BOX = (-1.0, -1.0, 10.0, 10.0)

#: The pose rasterisation of ``skltn2mask`` (tables in :mod:`unitrack.data.skeletons`).
POSE_TRUNK = POSETRACK_TRUNK
POSE_LIMBS = POSETRACK_MASK_LIMBS
NUM_POSE_JOINTS = len(POSETRACK_JOINTS)


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


def _window(lo, hi, active):
    """First tap and number of taps ``[K]`` (int64) of each box's window on one axis (at least 1 cell)."""
    big = torch.iinfo(torch.int64).max
    origin = lo.masked_fill(~active, big).flatten(1).amin(1)
    origin = torch.where(origin == big, torch.zeros_like(origin), origin)
    top = hi.masked_fill(~active, -1).flatten(1).amax(1)
    return origin, (top - origin + 1).clamp_min(1)


def _window_weights(lo, hi, w_lo, w_hi, origin, L: int):
    """Dense per-bin weights ``[K, n_bins, L]`` over the windows ``[origin, origin + L)`` (taps of inactive samples
    carry weight 0)."""
    W = w_lo.new_zeros((lo.shape[0], lo.shape[1], L))
    o = origin[:, None, None]
    W.scatter_add_(2, (lo - o).clamp(0, L - 1), w_lo)
    W.scatter_add_(2, (hi - o).clamp(0, L - 1), w_hi)
    return W


def roi_align(
    feat_map,
    boxes,
    output_size: tuple[int, int] = (4, 10),
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
    _max_elems: int = 1 << 24,
) -> torch.Tensor:
    """RoIAlign of boxes on one feature map, with torchvision's semantics (``torchvision.ops.roi_align``).

    Each output bin averages ``gh x gw`` bilinear samples at bin-relative ``(k + 0.5) / g`` (``g = sampling_ratio``, or
    ``ceil(roi_size / bins)`` when ``sampling_ratio <= 0``); with ``aligned=False`` the RoI size is at least 1;
    samples beyond ``[-1, H]`` (resp. ``[-1, W]``) are 0, others are clamped into the map.

    Implementation: bilinear sampling is separable, so every box reduces to two small dense weight matrices
    ``Wy [4, Lh]`` and ``Wx [10, Lw]`` over the window of map cells its samples touch. Only those windows are
    read, as slices of the map (the map itself is never copied or transposed); boxes are batched in a few groups
    of similar window size (padding bounded, see :func:`_groups`) and reduced with two ``bmm`` per group.
    Work and memory are ``O(C x sum of window areas)``.

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
    ly, hy_, wly, why, acty = _axis_samples(y1, rh, ph, gy, H, max(int(gy.max()), 1))
    lx, hx_, wlx, whx, actx = _axis_samples(x1, rw, pw, gx, W, max(int(gx.max()), 1))
    oy, ey = _window(ly, hy_, acty)  # window of map rows each box's samples touch: [oy, oy + ey) within [0, H)
    ox, ex = _window(lx, hx_, actx)
    groups = list(_groups(ey.tolist(), ex.tolist(), C, _max_elems))
    lh_box, lw_box = torch.zeros(K, dtype=torch.long), torch.zeros(K, dtype=torch.long)
    for sel, lh, lw in groups:
        lh_box[sel], lw_box[sel] = lh, lw
    # A group's windows are padded to lh x lw; shift a window that would pass the map's edge back inside.
    oy = torch.minimum(oy, H - lh_box.to(oy.device))
    ox = torch.minimum(ox, W - lw_box.to(ox.device))
    Wy = _window_weights(ly, hy_, wly, why, oy, int(lh_box.max()))  # [K, ph, Lh]
    Wx = _window_weights(lx, hx_, wlx, whx, ox, int(lw_box.max()))  # [K, pw, Lw]
    oyl, oxl = oy.tolist(), ox.tolist()
    out = feat.new_empty((K, ph, pw, C))
    for sel, lh, lw in groups:
        k = len(sel)
        s = torch.as_tensor(sel, device=feat.device)
        # One pass over the map: each box's window (a view of the map) lands as [lh, C, lw] rows; the map itself
        # is never copied or transposed.
        crop = torch.stack([feat[:, oyl[i] : oyl[i] + lh, oxl[i] : oxl[i] + lw].transpose(0, 1) for i in sel])
        t = torch.bmm(Wy[s, :, :lh], crop.view(k, lh, C * lw))  # contract rows -> [k, ph, C*lw]
        r = torch.bmm(Wx[s, :, :lw], t.view(k, ph * C, lw).transpose(1, 2))  # contract columns -> [k, pw, ph*C]
        out[s] = r.view(k, pw, ph, C).transpose(1, 2)
    return out.permute(0, 3, 1, 2)


def _groups(ey: list[int], ex: list[int], C: int, max_elems: int, waste: float = 1.5, slack: int = 256):
    """Split boxes into groups padded to a common window ``lh x lw`` (fewer groups = fewer, larger kernels).

    Boxes are sorted by window area; a group grows while its padded size stays within ``waste`` x the sum of its
    boxes' own windows plus ``slack`` cells, and ``C * k * lh * lw <= max_elems`` (a single box always forms a
    group).
    Yields ``(indices, lh, lw)``.
    """
    order = sorted(range(len(ey)), key=lambda i: (ey[i] * ex[i], ey[i]), reverse=True)
    sel: list[int] = []
    lh = lw = area = 0
    for i in order:
        nh, nw, na = max(lh, ey[i]), max(lw, ex[i]), area + ey[i] * ex[i]
        padded = (len(sel) + 1) * nh * nw
        if sel and (padded > waste * na + slack or C * padded > max_elems):
            yield sel, lh, lw
            sel, nh, nw, na = [], ey[i], ex[i], ey[i] * ex[i]
        sel.append(i)
        lh, lw, area = nh, nw, na
    if sel:
        yield sel, lh, lw


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


def _nearest_index(n_in: int, n_out: int, scale: float | None = None) -> np.ndarray:
    """Source indices of ``F.interpolate(mode="nearest")`` along one axis (``[n_out]`` int64).

    Same arithmetic as PyTorch's kernel: ``min(floor(dst * r), n_in - 1)`` in float32 with ``r = float32(n_in) /
    n_out`` for a target size, ``r = float32(1 / scale)`` for a scale factor; identity when the sizes agree and
    ``dst >> 1`` at exactly twice the size.
    """
    dst = np.arange(n_out)
    if n_out == n_in:
        return dst
    if n_out == 2 * n_in:
        return dst >> 1
    r = np.float32(1.0 / scale) if scale is not None else np.float32(n_in) / np.float32(n_out)
    return np.minimum(np.floor(dst.astype(np.float32) * r).astype(np.int64), n_in - 1)


def masks_to_feature_resolution(masks, size: tuple[int, int]) -> torch.Tensor:
    """``[K, H, W]`` masks (bool/int/float, any resolution) -> ``[K, h, w]`` float {0, 1}, nearest interpolation.

    Equal to ``F.interpolate(m[:, None].float(), size, mode="nearest")`` (float masks keep their values, others
    become ``m != 0``), computed by picking the ``h x w`` source pixels instead of converting the full-resolution
    masks to float first.
    """
    m = _masks(masks, "masks")
    h, w = (int(v) for v in size)
    if m.shape[0] == 0:
        return torch.zeros((0, h, w))
    H, W = m.shape[1:]
    if (H, W) != (h, w):
        m = _pick(_pick(m, 1, _nearest_index(H, h)), 2, _nearest_index(W, w))
    return m.float() if m.is_floating_point() else (m != 0).float()


def _pick(t: torch.Tensor, dim: int, idx: np.ndarray) -> torch.Tensor:
    """``t.index_select(dim, idx)``; a strided view when ``idx`` is an arithmetic progression (e.g. an integer
    stride), so that only the picked elements are ever read."""
    if idx.size > 1:
        step = int(idx[1] - idx[0])
        if step > 0 and np.array_equal(idx, idx[0] + step * np.arange(idx.size)):
            span = t.narrow(dim, int(idx[0]), int(idx[-1] - idx[0]) + 1)
            return span[(slice(None),) * dim + (slice(None, None, step),)]
    return t.index_select(dim, torch.from_numpy(idx).to(t.device))


def _bilinear_taps(d: np.ndarray, n_in: int, scale: float, dt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Taps of ``F.interpolate(mode="bilinear", align_corners=False, scale_factor=scale)`` at output indices ``d``
    along an axis of length ``n_in``: ``(i0, i1, lam)`` with value ``(1 - lam) * x[i0] + lam * x[i1]``.

    PyTorch's arithmetic in the map's dtype ``dt``: ``src = max(r * (d + 0.5) - 0.5, 0)`` with ``r = dt(1 / scale)``,
    ``i0 = min(floor(src), n_in - 1)``, ``lam = clip(src - i0, 0, 1)``, ``i1 = i0 + (i0 < n_in - 1)``. PyTorch's
    x86 build contracts ``r * (d + 0.5) - 0.5`` into one fused multiply-add; for float32 that single rounding is
    reproduced exactly (the float32 product is exact in float64), which keeps the values bit-close to
    ``F.interpolate`` (otherwise ``lam`` could differ by one float32 ulp of ``src``, ~1e-5 relative).
    """
    r = dt(1.0 / scale)
    half = d.astype(dt) + dt(0.5)
    if dt is np.float32:
        src = (np.float64(r) * half.astype(np.float64) - 0.5).astype(np.float32)
    else:
        src = r * half - dt(0.5)
    src = np.maximum(src, dt(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(dt), dt(0.0), dt(1.0))
    return i0, i0 + (i0 < n_in - 1), lam


def mask_features(feat_map, masks, max_mask_area: int = 200) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Object feature sets of masks, as the reference's ``extract_emb`` (MOTS / PoseTrack).

    For every mask ``ob`` at feature resolution (nearest interpolation), with area ``a = sum(ob)``:
    ``s = sqrt(max_mask_area / a)`` if ``a > max_mask_area`` else 1; the set is
    ``interpolate(ob * F, scale_factor=s, bilinear, align_corners=False)`` at the positions where
    ``interpolate(ob, scale_factor=s, nearest) >= 0.5`` (row-major order).

    Implementation: nothing of size ``C x h x w`` is computed per object. The kept positions and their (at most 4)
    bilinear taps are found with integer/float index arithmetic identical to PyTorch's kernels (on the small masks);
    then one gather of the tapped feature columns for all objects together and a weighted sum
    (``O(total points x C)``).

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
    K = fm.shape[0]
    dt = np.float64 if feat.dtype == torch.float64 else np.float32  # PyTorch's index arithmetic type for the map
    fm_cpu = fm.detach().cpu()
    obs = fm_cpu.numpy()  # [K, h, w] float32: the index arithmetic runs on the small masks
    taps, wts, counts = [], [], []  # per object: [4, P] flat tap indices and weights (weight includes ob at the tap)
    for k in range(K):
        ob = obs[k]
        area = float(fm_cpu[k].sum())  # torch's float32 sum, bit-equal to the recipe's (matters for soft masks)
        if area <= 0:
            counts.append(0)
            continue
        if area > max_mask_area:
            s = math.sqrt(max_mask_area / area)
            oh, ow = math.floor(h * s), math.floor(w * s)
            m = ob[np.ix_(_nearest_index(h, oh, s), _nearest_index(w, ow, s))]
            ys, xs = np.nonzero(m >= 0.5)
            y0, y1, ly = _bilinear_taps(ys, h, s, dt)
            x0, x1, lx = _bilinear_taps(xs, w, s, dt)
            t = np.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1])
            one = dt(1.0)
            wt = np.stack([(one - ly) * (one - lx), (one - ly) * lx, ly * (one - lx), ly * lx])
        else:
            p = np.flatnonzero(ob.reshape(-1) >= 0.5)
            t = np.zeros((4, p.size), np.int64)
            t[0] = p
            wt = np.zeros((4, p.size), dt)
            wt[0] = 1.0
        wt = wt * ob.reshape(-1)[t].astype(dt)  # the features are ob * F
        taps.append(t)
        wts.append(wt)
        counts.append(t.shape[1])
    valid = torch.tensor([n > 0 for n in counts], dtype=torch.bool)
    if not taps or sum(counts) == 0:
        return [feat.new_zeros((0, C)) for _ in range(K)], fm, valid
    t = np.concatenate(taps, 1)  # [4, P]
    wt = torch.from_numpy(np.concatenate(wts, 1)).to(device=feat.device, dtype=feat.dtype)
    used = wt.ne(0).any(1).tolist()  # tap rows that carry weight (only the first one when nothing is down-scaled)
    flat = feat.reshape(C, h * w)
    P = t.shape[1]
    g = flat.index_select(1, torch.from_numpy(t.reshape(-1)).to(feat.device)).view(C, 4, P)
    acc = g[:, 0] * wt[0]
    for j in range(1, 4):
        if used[j]:
            acc.addcmul_(g[:, j], wt[j])
    pts = acc.T.contiguous()  # [P, C] point-major
    # independent tensors per object (a track keeping its set must not pin the whole frame's buffer)
    sets = [p.clone() for p in pts.split(counts, 0)]
    return sets, fm, valid


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
        raise ValueError(
            f"{name} must have shape [{NUM_POSE_JOINTS}, 2 or 3] (x, y[, score]) with NaN for missing "
            f"joints, got {tuple(p.shape)}"
        )
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
