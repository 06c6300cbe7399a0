"""Synthetic moving-square sequences shared by the VOS / pose-propagation tests (not a test module)."""

from __future__ import annotations

import numpy as np

H, W = 64, 96


def background(rng: np.random.Generator) -> np.ndarray:
    """Textured blue-green background ``uint8 [H, W, 3]``."""
    bg = np.empty((H, W, 3), dtype=np.uint8)
    bg[..., 0] = rng.integers(10, 50, size=(H, W))
    bg[..., 1] = rng.integers(90, 200, size=(H, W))
    bg[..., 2] = rng.integers(110, 220, size=(H, W))
    return bg


def square_sequence(n_frames: int = 6, seed: int = 0, ids=(3, 7), step=(3, 2), size: int = 20):
    """Frames with two textured squares (red id ``ids[0]``, yellow id ``ids[1]``) moving by ``step`` px per frame.

    Returns ``(frames, masks)``: lists of ``uint8 [H, W, 3]`` and ``uint8 [H, W]`` id maps.
    """
    rng = np.random.default_rng(seed)
    bg = background(rng)
    tex_a = rng.integers(0, 40, size=(size, size, 3))
    tex_b = rng.integers(0, 40, size=(size, size, 3))
    frames, masks = [], []
    for t in range(n_frames):
        f = bg.copy()
        m = np.zeros((H, W), dtype=np.uint8)
        ya, xa = 10 + step[1] * t, 8 + step[0] * t
        yb, xb = 34 - step[1] * t, 60 - step[0] * t
        f[ya : ya + size, xa : xa + size] = np.clip(tex_a + [200, 10, 10], 0, 255)
        m[ya : ya + size, xa : xa + size] = ids[0]
        if len(ids) > 1:
            f[yb : yb + size, xb : xb + size] = np.clip(tex_b + [200, 200, 0], 0, 255)
            m[yb : yb + size, xb : xb + size] = ids[1]
        frames.append(f)
        masks.append(m)
    return frames, masks


def iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return 1.0 if u == 0 else float(np.logical_and(a, b).sum() / u)
