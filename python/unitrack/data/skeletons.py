"""Skeleton and colour tables shared by the readers, the heads, the synthetic benchmark and the visualisation.

Joints (0-based index = position in the tuple):

* :data:`JHMDB_JOINTS` -- the 15 JHMDB puppet joints (``pos_img`` order); :data:`JHMDB_LIMBS` their limbs.
* :data:`POSETRACK_JOINTS` -- the 15 PoseTrack joints, index = joint id of the 2017 format and of poseval;
  :data:`POSETRACK_MASK_LIMBS` the 13 limbs and :data:`POSETRACK_TRUNK` the trunk polygon that the reference's
  ``skltn2mask`` rasterises (SPEC §5.3); :data:`POSETRACK_LIMBS` the drawn skeleton (those limbs plus head_bottom --
  nose).
* :data:`POSETRACK18_KEYPOINTS` -- the 17 PoseTrack-18 keypoints (COCO order; eyes replaced by head_bottom /
  head_top, ears unused); :data:`POSETRACK18_LIMBS` the drawn limbs mapped to that order;
  :data:`POSETRACK18_SKELETON` the 1-based COCO skeleton of the PoseTrack-18 ``categories`` entry.
* :data:`SKELETONS` -- name -> ``(joint names, limbs)`` for drawing (``"jhmdb"``, ``"posetrack"``,
  ``"posetrack18"``).

Colours: the DAVIS / PASCAL-VOC palette of indexed (mode ``P``) mask PNGs (:func:`davis_palette`,
:func:`palette_bytes`, :func:`colorize`). Colour ``i`` is built from the bits of ``i``: bit ``3j`` of the index feeds
red bit ``7-j``, bit ``3j+1`` green and bit ``3j+2`` blue (j = 0..7). Index 0 is black, 1 dark red ``(128, 0, 0)``,
2 dark green ``(0, 128, 0)``, ... This is the palette the DAVIS-2017 annotations carry and the official evaluation
writes.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "JHMDB_JOINTS",
    "JHMDB_LIMBS",
    "POSETRACK_JOINTS",
    "POSETRACK_MASK_LIMBS",
    "POSETRACK_TRUNK",
    "POSETRACK_LIMBS",
    "POSETRACK18_KEYPOINTS",
    "POSETRACK18_LIMBS",
    "POSETRACK18_SKELETON",
    "SKELETONS",
    "davis_palette",
    "palette_bytes",
    "colorize",
]

# ----------------------------------------------------------------------------------------------------------- JHMDB
#: JHMDB puppet joints (``pos_img`` order, 0-based). "right" is the person's right.
JHMDB_JOINTS = (
    "neck",
    "belly",
    "face",
    "right_shoulder",
    "left_shoulder",
    "right_hip",
    "left_hip",
    "right_elbow",
    "left_elbow",
    "right_knee",
    "left_knee",
    "right_wrist",
    "left_wrist",
    "right_ankle",
    "left_ankle",
)
JHMDB_LIMBS = (
    (0, 2),
    (0, 1),
    (0, 3),
    (0, 4),
    (3, 7),
    (7, 11),
    (4, 8),
    (8, 12),
    (1, 5),
    (1, 6),
    (5, 9),
    (9, 13),
    (6, 10),
    (10, 14),
)

# ------------------------------------------------------------------------------------------------------- PoseTrack
#: The 15 PoseTrack joints, index = joint id of the 2017 format / poseval.
POSETRACK_JOINTS = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "head_bottom",
    "nose",
    "head_top",
)
#: PoseTrack joints (0-based) whose convex polygon ``skltn2mask`` fills: right hip, left hip, left shoulder,
#: upper neck, right shoulder.
POSETRACK_TRUNK = (2, 3, 9, 12, 8)
#: The 13 limbs ``skltn2mask`` draws as thick lines (0-based joint pairs; SPEC §5.3).
POSETRACK_MASK_LIMBS = (
    (9, 10),
    (10, 11),
    (8, 7),
    (7, 6),
    (9, 12),
    (8, 12),
    (12, 14),
    (9, 3),
    (3, 4),
    (4, 5),
    (8, 2),
    (2, 1),
    (1, 0),
)
#: The drawn PoseTrack skeleton: SPEC's limb list plus head_bottom -- nose.
POSETRACK_LIMBS = POSETRACK_MASK_LIMBS + ((12, 13),)
#: PoseTrack 2018 keypoint order (COCO order; eyes replaced by head_bottom/head_top, ears unused).
POSETRACK18_KEYPOINTS = (
    "nose",
    "head_bottom",
    "head_top",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
_PT15_TO_18 = [POSETRACK18_KEYPOINTS.index(n) for n in POSETRACK_JOINTS]
#: :data:`POSETRACK_LIMBS` in the PoseTrack-18 keypoint order (the unused ears are not connected).
POSETRACK18_LIMBS = tuple((_PT15_TO_18[a], _PT15_TO_18[b]) for a, b in POSETRACK_LIMBS)
#: The PoseTrack-18 / COCO skeleton (1-based keypoint indices), as in the PoseTrack-18 ``categories`` entry.
POSETRACK18_SKELETON = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)

#: name -> (joint names, limbs as 0-based joint pairs), for drawing.
SKELETONS = {
    "jhmdb": (JHMDB_JOINTS, JHMDB_LIMBS),
    "posetrack": (POSETRACK_JOINTS, POSETRACK_LIMBS),
    "posetrack18": (POSETRACK18_KEYPOINTS, POSETRACK18_LIMBS),
}


# --------------------------------------------------------------------------------------------------------- palette
def davis_palette(n: int = 256) -> np.ndarray:
    """``uint8 [n, 3]`` RGB colours of indices ``0..n-1`` (the DAVIS palette, module docstring)."""
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
