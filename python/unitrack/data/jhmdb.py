"""JHMDB reader for pose propagation (SPEC §3).

* File list: one line per video, ``<joint_positions .mat> <frames folder>`` (whitespace separated; blank lines and
  lines starting with ``#`` are skipped). Relative paths are taken relative to the current directory, or to the
  list's folder when they do not exist there.
* Joints: ``pos_img`` of the .mat file (``scipy.io.loadmat``), ``float [2, 15, T]`` in MATLAB 1-based pixels; we
  subtract 1 (0-based), as the reference does.
* Frames: the folder's ``*.png`` files in sorted order, resized to ``crop_size x crop_size`` (320 by default, as
  implied by the reference's ``feat_res = 40``; aspect ratio **not** preserved, bilinear ``cv2.resize``), with the
  joints scaled by ``crop_size / W`` and ``crop_size / H``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .images import read_image

__all__ = ["JhmdbEntry", "JhmdbVideo", "read_filelist", "load_joints", "list_frames", "load_video"]


@dataclass
class JhmdbEntry:
    mat_path: str
    frames_dir: str
    line: int


def _resolve(p: str, base: str) -> str:
    if os.path.isabs(p) or os.path.exists(p):
        return p
    alt = os.path.join(base, p)
    return alt if os.path.exists(alt) else p


def read_filelist(path: str) -> list[JhmdbEntry]:
    """Parse a JHMDB file list (``<mat> <frames dir>`` per line). Errors name the file and line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"JHMDB file list not found: {path}")
    base = os.path.dirname(os.path.abspath(path))
    out = []
    with open(path) as f:
        for n, raw in enumerate(f, start=1):
            ln = raw.strip()
            if not ln or ln.startswith("#"):
                continue
            parts = ln.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{n}: expected '<joint_positions .mat> <frames folder>', got {ln!r}")
            out.append(JhmdbEntry(_resolve(parts[0], base), _resolve(parts[1], base), n))
    return out


def load_joints(mat_path: str) -> np.ndarray:
    """``pos_img`` of a JHMDB ``joint_positions.mat`` as 0-based ``float64 [2, J, T]``."""
    import scipy.io

    if not os.path.isfile(mat_path):
        raise FileNotFoundError(f"joint file not found: {mat_path}")
    try:
        m = scipy.io.loadmat(mat_path)
    except Exception as exc:  # scipy raises several types for corrupt files
        raise ValueError(f"{mat_path}: cannot read as a MATLAB .mat file ({exc})") from exc
    if "pos_img" not in m:
        raise ValueError(f"{mat_path}: no 'pos_img' variable (keys: {sorted(k for k in m if not k.startswith('__'))})")
    pos = np.asarray(m["pos_img"], dtype=np.float64)
    if pos.ndim == 2:
        pos = pos[:, :, None]
    if pos.ndim != 3 or pos.shape[0] != 2:
        raise ValueError(f"{mat_path}: 'pos_img' must be [2, J, T], got shape {pos.shape}")
    return pos - 1.0


def list_frames(frames_dir: str) -> list[str]:
    """Sorted ``*.png`` paths of a frame folder."""
    if not os.path.isdir(frames_dir):
        raise FileNotFoundError(f"frame folder not found: {frames_dir}")
    files = sorted(f for f in os.listdir(frames_dir) if f.lower().endswith(".png"))
    if not files:
        raise FileNotFoundError(f"no .png frames in {frames_dir}")
    return [os.path.join(frames_dir, f) for f in files]


@dataclass
class JhmdbVideo:
    """A loaded video. ``frames``: ``uint8 [S, S, 3]`` crops; ``joints``: ``[2, J, T]`` in crop pixels;
    ``joints_original``: ``[2, J, T]`` 0-based original pixels; ``orig_size`` = (H, W)."""

    frames: list
    joints: np.ndarray
    joints_original: np.ndarray
    orig_size: tuple[int, int]
    crop_size: Optional[int]

    def scale(self) -> tuple[float, float]:
        """(sx, sy): crop pixels per original pixel."""
        if not self.crop_size:
            return 1.0, 1.0
        return self.crop_size / self.orig_size[1], self.crop_size / self.orig_size[0]

    def to_original(self, coords: np.ndarray) -> np.ndarray:
        """Crop-pixel coordinates ``[2, J, T]`` -> original pixels; joints with x < 0 (lost) stay ``-1``."""
        sx, sy = self.scale()
        c = np.asarray(coords, dtype=np.float64).copy()
        lost = c[0] < 0
        c[0] /= sx
        c[1] /= sy
        c[:, lost] = -1.0
        return c


def load_video(mat_path: str, frames_dir: str, crop_size: Optional[int] = 320) -> JhmdbVideo:
    """Load a JHMDB video's frames (resized to ``crop_size`` square unless ``None``/0) and joints."""
    import cv2

    joints0 = load_joints(mat_path)
    frames = []
    size = None
    for p in list_frames(frames_dir):
        f = read_image(p)
        if size is None:
            size = f.shape[:2]
        elif f.shape[:2] != size:
            raise ValueError(
                f"{p}: frame size {f.shape[0]}x{f.shape[1]} differs from the video's first frame {size[0]}x{size[1]}"
            )
        if crop_size:
            f = cv2.resize(f, (int(crop_size), int(crop_size)), interpolation=cv2.INTER_LINEAR)
        frames.append(np.ascontiguousarray(f))
    H, W = size
    joints = joints0.copy()
    if crop_size:
        joints[0] *= crop_size / W
        joints[1] *= crop_size / H
    return JhmdbVideo(frames, joints, joints0, (H, W), crop_size)
