"""DAVIS-2017 reader and indexed-PNG mask writer (ECOSYSTEM §5 "DAVIS", SPEC §2.2 / §7).

Layout read::

    <root>/ImageSets/2017/{train,val,...}.txt       one sequence name per line
    <root>/JPEGImages/480p/<seq>/00000.jpg ...      RGB frames
    <root>/Annotations/480p/<seq>/00000.png ...     indexed (mode "P") PNGs: 0 background, 1..K objects, 255 void

Masks are read as palette *indices* with Pillow (:mod:`unitrack.data.images`; never as colours, unlike the
reference's OpenCV BGR reading and its colour-matching step). Results are written as ``<out>/<seq>/%05d.png``,
8-bit indexed PNGs with the DAVIS palette, the format the official ``davis2017-evaluation`` reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np
from PIL import Image

from .images import read_id_mask, read_image
from .skeletons import palette_bytes

__all__ = [
    "DavisDataset",
    "DavisSequence",
    "read_frame",
    "read_mask",
    "write_mask",
    "write_sequence_masks",
    "read_split",
]


def read_split(root: str, split: str = "val", year: str = "2017") -> list[str]:
    """Sequence names of ``<root>/ImageSets/<year>/<split>.txt`` (blank lines ignored)."""
    path = os.path.join(root, "ImageSets", str(year), f"{split}.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"DAVIS split file not found: {path} (expected ImageSets/{year}/{split}.txt)")
    with open(path) as f:
        names = [ln.strip() for ln in f]
    return [n for n in names if n]


def read_frame(path: str) -> np.ndarray:
    """RGB frame as ``uint8 [H, W, 3]`` (:func:`unitrack.data.images.read_image`)."""
    return read_image(path)


def read_mask(path: str) -> np.ndarray:
    """Indexed mask PNG -> ``uint8 [H, W]`` of palette indices (object ids). Raises for colour (RGB) PNGs
    (:func:`unitrack.data.images.read_id_mask`)."""
    return read_id_mask(path)


def write_mask(path: str, mask: np.ndarray) -> None:
    """Write an id map ``[H, W]`` (ids 0..255) as an indexed PNG with the DAVIS palette."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask: expected an id map [H, W], got shape {mask.shape} (for {path})")
    if mask.dtype == bool:
        mask = mask.astype(np.uint8)
    if not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(f"mask: expected integer ids, got dtype {mask.dtype} (for {path})")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(
            f"mask: ids must be in 0..255 for an 8-bit indexed PNG, got {mask.min()}..{mask.max()} ({path})"
        )
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    im = Image.fromarray(np.ascontiguousarray(mask.astype(np.uint8)))
    im.putpalette(palette_bytes())  # turns the L image into mode P with the DAVIS colours
    im.save(path)


def write_sequence_masks(out_dir: str, seq_name: str, masks: Sequence[np.ndarray], start: int = 0) -> list[str]:
    """Write ``<out_dir>/<seq_name>/%05d.png`` for ``masks`` (frame ``start + i``). Returns the paths."""
    paths = []
    for i, m in enumerate(masks):
        p = os.path.join(out_dir, seq_name, f"{start + i:05d}.png")
        write_mask(p, m)
        paths.append(p)
    return paths


@dataclass
class DavisSequence:
    """One DAVIS sequence: sorted frame and annotation paths (annotations may be fewer, e.g. test splits)."""

    name: str
    frame_paths: list[str]
    annotation_paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame_paths)

    def load_frames(self) -> list[np.ndarray]:
        """All frames as ``uint8 [H, W, 3]``; raises if a frame's size differs from the first one's."""
        frames = []
        for p in self.frame_paths:
            f = read_frame(p)
            if frames and f.shape != frames[0].shape:
                raise ValueError(
                    f"{p}: frame size {f.shape[0]}x{f.shape[1]} differs from the sequence's first frame "
                    f"{frames[0].shape[0]}x{frames[0].shape[1]}"
                )
            frames.append(f)
        return frames

    def load_mask(self, i: int = 0) -> np.ndarray:
        """Annotation ``i`` as an id map ``uint8 [H, W]``."""
        if not 0 <= i < len(self.annotation_paths):
            raise IndexError(f"sequence {self.name}: no annotation {i} ({len(self.annotation_paths)} available)")
        return read_mask(self.annotation_paths[i])

    def load_masks(self) -> list[np.ndarray]:
        return [read_mask(p) for p in self.annotation_paths]


class DavisDataset:
    """DAVIS-2017 split reader.

    Args:
        root: DAVIS folder.
        split: ``ImageSets/<year>/<split>.txt`` name (``"val"``, ``"train"``, ...).
        year: ImageSets year folder (``"2017"``).
        resolution: ``"480p"`` or ``"Full-Resolution"``.
        sequences: optional subset (names must be in the split).
    """

    def __init__(
        self,
        root: str,
        split: str = "val",
        year: str = "2017",
        resolution: str = "480p",
        sequences: Optional[Iterable[str]] = None,
    ):
        if not os.path.isdir(root):
            raise FileNotFoundError(f"davis_root: folder not found: {root}")
        self.root = root
        self.split = split
        self.resolution = resolution
        names = read_split(root, split, year)
        if sequences is not None:
            wanted = list(sequences)
            missing = [s for s in wanted if s not in names]
            if missing:
                raise ValueError(f"sequences: {missing} are not in ImageSets/{year}/{split}.txt")
            names = wanted
        self.sequence_names = names

    def __len__(self) -> int:
        return len(self.sequence_names)

    def __iter__(self):
        for n in self.sequence_names:
            yield self[n]

    def __getitem__(self, name: str) -> DavisSequence:
        img_dir = os.path.join(self.root, "JPEGImages", self.resolution, name)
        ann_dir = os.path.join(self.root, "Annotations", self.resolution, name)
        if not os.path.isdir(img_dir):
            raise FileNotFoundError(f"sequence {name}: frame folder not found: {img_dir}")
        frames = sorted(
            os.path.join(img_dir, f) for f in os.listdir(img_dir) if f.lower().endswith((".jpg", ".jpeg", ".png"))
        )
        if not frames:
            raise FileNotFoundError(f"sequence {name}: no .jpg frames in {img_dir}")
        anns = []
        if os.path.isdir(ann_dir):
            anns = sorted(os.path.join(ann_dir, f) for f in os.listdir(ann_dir) if f.lower().endswith(".png"))
        if not anns:
            raise FileNotFoundError(f"sequence {name}: no annotation PNGs in {ann_dir}")
        return DavisSequence(name, frames, anns)
