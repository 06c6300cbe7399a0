"""The DAVIS / PASCAL-VOC colour palette used by indexed (mode ``P``) mask PNGs.

Colour ``i`` is built from the bits of ``i``: bit ``3j`` of the index feeds red bit ``7-j``, bit ``3j+1`` green and
bit ``3j+2`` blue (j = 0..7). Index 0 is black, 1 dark red ``(128, 0, 0)``, 2 dark green ``(0, 128, 0)``, ...
This is the palette the DAVIS-2017 annotations carry and the official evaluation writes.
"""
from __future__ import annotations

import numpy as np

__all__ = ["davis_palette", "palette_bytes", "colorize"]


def davis_palette(n: int = 256) -> np.ndarray:
    """``uint8 [n, 3]`` RGB colours of indices ``0..n-1``."""
    if not 1 <= n <= 256:
        raise ValueError(f"n: expected 1..256 colours, got {n}")
    idx = np.arange(n)
    pal = np.zeros((n, 3), dtype=np.int64)
    for j in range(8):
        for ch in range(3):
            bit = (idx >> (3 * j + ch)) & 1
            pal[:, ch] |= bit << (7 - j)
    return pal.astype(np.uint8)


def palette_bytes() -> list[int]:
    """The 256-colour palette flattened to ``[r0, g0, b0, r1, ...]`` (768 ints), for ``PIL.Image.putpalette``."""
    return davis_palette(256).reshape(-1).tolist()


def colorize(mask: np.ndarray) -> np.ndarray:
    """Id map ``[H, W]`` (0..255) -> RGB ``uint8 [H, W, 3]`` with the DAVIS palette."""
    mask = np.asarray(mask)
    if mask.min(initial=0) < 0 or mask.max(initial=0) > 255:
        raise ValueError("mask: ids must be in 0..255 to be coloured with the DAVIS palette")
    return davis_palette(256)[mask.astype(np.int64)]
