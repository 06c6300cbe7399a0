"""Pose belief maps and their read-out for pose propagation (SPEC §3, appendix f).

* :func:`draw_labelmap` -- an unnormalised Gaussian (peak 1) written **in place, overwriting** (not max) a
  ``(6s+1)``-wide window whose corners are truncated toward zero (``int()``), as the reference's
  ``draw_labelmap_np``.
* :func:`belief_maps` -- one channel per joint, sigma ``max(0.5, 0.015 * max(x-extent, y-extent))`` of the frame's
  joints (all joints, in feature cells), plus a background channel prepended that is 1 where every joint channel is
  exactly 0: ``[h, w, J + 1]``.
* :func:`readout_topk` -- drop the background channel; per joint the top-3 values over space, normalised to sum 1,
  give the weighted mean of their ``(x = idx % w, y = idx // w)`` positions (feature-grid units); a joint whose map
  is all zero gets ``(-1, -1)``. Ties among equal values are broken by the lower flat index (the reference uses
  ``torch.topk``, whose tie order is unspecified).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["draw_labelmap", "belief_sigma", "belief_maps", "readout_topk"]


def draw_labelmap(img: np.ndarray, pt, sigma: float) -> np.ndarray:
    """Write a Gaussian of std ``sigma`` centred near ``pt = (x, y)`` into ``img [H, W]`` in place; returns ``img``.

    Window: ``ul = (int(x - 3s), int(y - 3s))``, ``br = (int(x + 3s + 1), int(y + 3s + 1))`` (``int`` truncates
    toward 0); nothing is drawn when the window lies outside the image. Kernel: ``g[i, j] = exp(-((j - c)^2 +
    (i - c)^2) / (2 s^2))`` on ``ceil(6s + 1)`` samples with ``c = floor((6s + 1) / 2)``; the clipped window is
    overwritten with the matching part of ``g``.
    """
    if img.ndim != 2:
        raise ValueError(f"img: expected a 2-D map [H, W], got shape {img.shape}")
    H, W = img.shape
    s = float(sigma)
    px, py = float(pt[0]), float(pt[1])
    if not (math.isfinite(px) and math.isfinite(py)):
        return img
    ul = (int(px - 3 * s), int(py - 3 * s))
    br = (int(px + 3 * s + 1), int(py + 3 * s + 1))
    if ul[0] >= W or ul[1] >= H or br[0] < 0 or br[1] < 0:
        return img
    size = 6 * s + 1
    x = np.arange(0, size, 1.0)
    y = x[:, None]
    c = size // 2
    g = np.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * s * s))
    gx = (max(0, -ul[0]), min(br[0], W) - ul[0])
    gy = (max(0, -ul[1]), min(br[1], H) - ul[1])
    ix = (max(0, ul[0]), min(br[0], W))
    iy = (max(0, ul[1]), min(br[1], H))
    img[iy[0] : iy[1], ix[0] : ix[1]] = g[gy[0] : gy[1], gx[0] : gx[1]]
    return img


def belief_sigma(coords: np.ndarray) -> float:
    """``max(0.5, 0.015 * max(x-extent, y-extent))`` over all joints of ``coords [2, J]`` (feature cells)."""
    coords = np.asarray(coords, dtype=np.float64)
    ext = (coords.max(axis=1) - coords.min(axis=1)).max()
    return max(0.5, 0.015 * float(ext))


def belief_maps(coords: np.ndarray, h: int, w: int, sigma: float | None = None) -> np.ndarray:
    """Per-frame label maps ``float32 [h, w, J + 1]`` from joint coordinates ``coords [2, J]`` = (x, y) in feature
    cells. Channel 0 is the background (1 where all joint channels are exactly 0), channel ``j + 1`` joint ``j``.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[0] != 2:
        raise ValueError(f"coords: expected [2, J] (x row, y row), got shape {coords.shape}")
    J = coords.shape[1]
    s = belief_sigma(coords) if sigma is None else float(sigma)
    maps = np.zeros((h, w, J + 1), dtype=np.float64)
    for j in range(J):
        ch = np.zeros((h, w), dtype=np.float64)
        draw_labelmap(ch, coords[:, j], s)
        maps[:, :, j + 1] = ch
    maps[:, :, 0] = (maps[:, :, 1:].sum(axis=2) == 0).astype(np.float64)
    return maps.astype(np.float32)


def readout_topk(pred: torch.Tensor, topk: int = 3) -> torch.Tensor:
    """Joint positions from soft maps ``pred [J + 1, h, w]`` (channel 0 = background) -> ``float32 [2, J]`` (x; y)
    in feature-grid units; all-zero joints get -1."""
    if pred.dim() != 3:
        raise ValueError(f"pred: expected [J + 1, h, w], got shape {tuple(pred.shape)}")
    _, h, w = pred.shape
    flat = pred[1:].reshape(pred.shape[0] - 1, h * w).double()
    k = min(int(topk), h * w)
    order = torch.sort(flat, dim=1, descending=True, stable=True)
    vals, idx = order.values[:, :k], order.indices[:, :k]
    total = vals.sum(dim=1, keepdim=True)
    wts = vals / torch.where(total > 0, total, torch.ones_like(total))
    xs = (idx % w).double()
    ys = torch.div(idx, w, rounding_mode="floor").double()
    out = torch.stack([(wts * xs).sum(dim=1), (wts * ys).sum(dim=1)])
    valid = flat.sum(dim=1) > 0
    out[:, ~valid] = -1.0
    return out.float()
