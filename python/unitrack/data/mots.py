"""MOTS / KITTI-MOTS txt (COCO run-length encoded masks): read, write, validate.

One object per line, space separated::

    time_frame object_id class_id img_height img_width rle

``rle`` is the pycocotools *compressed* RLE string (column-major counts). MOTS20 / KITTI-MOTS use
``object_id = class_id * 1000 + instance``; class 2 = pedestrian (1 = car in KITTI), class 10 / id 10000 =
ignore region. Masks of one frame must not overlap (TrackEval rejects overlaps): :func:`make_disjoint`
resolves them. RLE strings are validated without trusting pycocotools (which silently decodes some invalid
strings into garbage): every count must decode, be non-negative and the counts must sum to h*w.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ._atomic import atomic_open

__all__ = [
    "MOTSObject",
    "MOTSSequence",
    "read_mots_sequence",
    "read_mots_txt",
    "write_mots_txt",
    "encode_mask",
    "decode_rle",
    "check_rle",
    "rle_counts",
    "mots_by_frame",
    "make_disjoint",
    "PEDESTRIAN",
    "IGNORE_CLASS",
]

PEDESTRIAN = 2
IGNORE_CLASS = 10


def rle_counts(counts: str | bytes) -> np.ndarray:
    """Decode a compressed COCO RLE string into its run lengths (int64 ``[K]``), vectorised.

    Raises ValueError when a character is outside the alphabet ('0'..'o') or the string ends inside a
    multi-character number.
    """
    b = np.frombuffer(
        counts.encode("ascii", "replace") if isinstance(counts, str) else bytes(counts), dtype=np.uint8
    ).astype(np.int64)
    if b.size == 0:
        return np.zeros(0, np.int64)
    c = b - 48
    if c.min() < 0 or c.max() > 63:
        raise ValueError("RLE string contains characters outside '0'..'o'")
    more = (c & 0x20) != 0
    if more[-1]:
        raise ValueError("RLE string ends in the middle of a number")
    ends = np.flatnonzero(~more)
    starts = np.concatenate([[0], ends[:-1] + 1])
    glen = ends - starts + 1
    if glen.max() > 7:
        raise ValueError("RLE string contains a number that is too long")
    group = np.repeat(np.arange(len(ends)), glen)
    k = np.arange(len(c)) - starts[group]
    x = np.zeros(len(ends), np.int64)
    np.add.at(x, group, (c & 0x1F) << (5 * k))
    neg = (c[ends] & 0x10) != 0
    x[neg] -= np.left_shift(np.int64(1), 5 * glen[neg])
    cnt = x.copy()
    if len(cnt) > 2:
        cnt[2::2] = np.cumsum(x[2::2])
        cnt[3::2] = x[1] + np.cumsum(x[3::2])
    return cnt


def check_rle(counts: str | bytes, height: int, width: int) -> None:
    """Raise ValueError unless ``counts`` is a valid compressed RLE of an ``height x width`` mask."""
    if height <= 0 or width <= 0:
        raise ValueError(f"mask size must be positive, got {height}x{width}")
    cnt = rle_counts(counts)
    if cnt.size and cnt.min() < 0:
        raise ValueError("RLE decodes to a negative run length")
    total = int(cnt.sum())
    if total != height * width:
        raise ValueError(f"RLE run lengths sum to {total}, expected height*width = {height * width}")


def encode_mask(mask: np.ndarray) -> str:
    """Compressed COCO RLE string of a 2-D mask ``[H, W]`` (bool or 0/1)."""
    from pycocotools import mask as mask_utils

    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D [H, W], got shape {list(m.shape)}")
    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8) != 0, dtype=np.uint8))
    return rle["counts"].decode("ascii")


def decode_rle(counts: str | bytes, height: int, width: int, validate: bool = True) -> np.ndarray:
    """Decode a compressed RLE string into a bool mask ``[height, width]``."""
    from pycocotools import mask as mask_utils

    if validate:
        check_rle(counts, height, width)
    c = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    with warnings.catch_warnings():  # pycocotools' numpy-2 copy-keyword DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode({"size": [int(height), int(width)], "counts": c}).astype(bool)


@dataclass
class MOTSObject:
    """One mask of one frame.

    Attributes:
        frame: 1-based frame number (KITTI-MOTS files use 0-based frames; keep them as read).
        obj_id: object id (``class_id * 1000 + instance`` in MOTS20; 10000 = ignore).
        class_id: 2 pedestrian, 1 car (KITTI), 10 ignore region.
        height, width: image size of the mask.
        rle: compressed COCO RLE string.
    """

    frame: int
    obj_id: int
    class_id: int
    height: int
    width: int
    rle: str

    def to_coco(self) -> dict:
        """pycocotools RLE dict ``{'size': [h, w], 'counts': bytes}``."""
        return {"size": [int(self.height), int(self.width)], "counts": self.rle.encode("ascii")}

    def mask(self) -> np.ndarray:
        """Decoded bool mask ``[height, width]``."""
        return decode_rle(self.rle, self.height, self.width, validate=False)

    @classmethod
    def from_mask(cls, frame: int, obj_id: int, class_id: int, mask: np.ndarray) -> "MOTSObject":
        m = np.asarray(mask)
        if m.ndim != 2:
            raise ValueError(f"mask must be 2-D [H, W], got shape {list(m.shape)}")
        return cls(int(frame), int(obj_id), int(class_id), int(m.shape[0]), int(m.shape[1]), encode_mask(m))


def read_mots_txt(
    path: str | os.PathLike, im_size: tuple[int, int] | None = None, validate: bool = True
) -> list[MOTSObject]:
    """Read a MOTS txt file.

    Args:
        path: the txt file.
        im_size: expected (height, width); a mask of another size is an error.
        validate: check each RLE string decodes to exactly height*width pixels.

    Raises:
        FileNotFoundError, or ValueError naming the file, the line and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MOTS txt file not found: {path}")
    out: list[MOTSObject] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            parts = s.split(" ")
            if len(parts) != 6:
                raise ValueError(
                    f"{path}:{lineno}: expected 6 space-separated fields 'frame id class height "
                    f"width rle', got {len(parts)}"
                )
            try:
                frame, oid, cid, h, w = (int(p) for p in parts[:5])
            except ValueError:
                raise ValueError(
                    f"{path}:{lineno}: expected integers for frame, id, class, height, width, got "
                    f"{' '.join(parts[:5])!r}"
                ) from None
            if frame < 0 or h <= 0 or w <= 0:
                raise ValueError(
                    f"{path}:{lineno}: expected frame >= 0 and positive height/width, got frame={frame}, size={h}x{w}"
                )
            if im_size is not None and (h, w) != tuple(im_size):
                raise ValueError(
                    f"{path}:{lineno}: mask size {h}x{w} does not match the image size {im_size[0]}x{im_size[1]}"
                )
            if validate:
                try:
                    check_rle(parts[5], h, w)
                except ValueError as exc:
                    raise ValueError(f"{path}:{lineno}: invalid RLE string for a {h}x{w} mask: {exc}") from None
            out.append(MOTSObject(frame, oid, cid, h, w, parts[5]))
    return out


def write_mots_txt(
    path: str | os.PathLike, objects: Iterable[MOTSObject], im_size: tuple[int, int] | None = None
) -> None:
    """Write MOTS objects (``frame id class h w rle`` lines, sorted by frame) atomically.

    ``im_size`` (height, width), when given, must match every object's size.
    """
    objs = list(objects)
    for i, o in enumerate(objs):
        if not isinstance(o, MOTSObject):
            raise TypeError(f"objects[{i}] must be a MOTSObject, got {type(o).__name__}")
        if im_size is not None and (o.height, o.width) != tuple(im_size):
            raise ValueError(
                f"objects[{i}] (frame {o.frame}, id {o.obj_id}): mask size {o.height}x{o.width} "
                f"does not match the image size {im_size[0]}x{im_size[1]}"
            )
        check_rle(o.rle, o.height, o.width)
    objs.sort(key=lambda o: o.frame)
    with atomic_open(path, "w") as f:
        for o in objs:
            f.write(f"{o.frame} {o.obj_id} {o.class_id} {o.height} {o.width} {o.rle}\n")


def mots_by_frame(
    objects: Sequence[MOTSObject], num_frames: int, first_frame: int = 1, path: str | None = None
) -> list[list[MOTSObject]]:
    """Group objects into ``num_frames`` lists (frame ``first_frame + t`` -> index t), file order kept."""
    out: list[list[MOTSObject]] = [[] for _ in range(num_frames)]
    for o in objects:
        t = o.frame - first_frame
        if not 0 <= t < num_frames:
            where = f" in {path}" if path else ""
            raise ValueError(f"frame {o.frame}{where} outside {first_frame}..{first_frame + num_frames - 1}")
        out[t].append(o)
    return out


def make_disjoint(masks: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """Make masks ``[N, H, W]`` non-overlapping: a contested pixel goes to the highest-score mask (ties and
    ``scores=None``: the earlier mask). Returns a new bool array ``[N, H, W]``."""
    m = np.asarray(masks).astype(bool)
    if m.ndim != 3:
        raise ValueError(f"masks must be [N, H, W], got shape {list(m.shape)}")
    n = len(m)
    if n == 0:
        return m.copy()
    order = np.arange(n) if scores is None else np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    if scores is not None and len(scores) != n:
        raise ValueError(f"scores must have length {n}, got {len(scores)}")
    taken = np.zeros(m.shape[1:], bool)
    out = np.zeros_like(m)
    for i in order:
        out[i] = m[i] & ~taken
        taken |= out[i]
    return out


@dataclass
class MOTSSequence:
    """One MOTSChallenge sequence folder, read (:func:`read_mots_sequence`).

    Attributes:
        name: sequence name; frame_paths: ``seq_length`` image paths ``<seq>/<imDir>/%06d<imExt>``;
        frame_rate: frames per second; detections: per frame, the class-2 (pedestrian) :class:`MOTSObject` of the
        detection file (frame ``t`` of the list = frame ``t + 1`` of the file).
    """

    name: str
    frame_paths: list[Path]
    frame_rate: float
    detections: list[list[MOTSObject]]


def read_mots_sequence(seq_dir: str | os.PathLike, det_path: str | os.PathLike | None = None) -> MOTSSequence:
    """Read a MOTS sequence folder: ``seqinfo.ini`` (frames, size, rate), ``<imDir>/%06d<imExt>`` frame paths and the
    pedestrian (class 2) masks of ``det/det.txt`` (or ``det_path``), checked against the image size of seqinfo.ini
    when it gives one. Bad lines raise ValueError naming the file and line."""
    from .motchallenge import read_seqinfo

    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    n = info["seq_length"]
    dpath = Path(det_path) if det_path is not None else seq_dir / "det" / "det.txt"
    im_size = (info["im_height"], info["im_width"]) if info["im_height"] > 0 and info["im_width"] > 0 else None
    per = mots_by_frame(
        [o for o in read_mots_txt(dpath, im_size=im_size) if o.class_id == PEDESTRIAN], n, path=str(dpath)
    )
    paths = [seq_dir / info["im_dir"] / f"{i:06d}{info['im_ext']}" for i in range(1, n + 1)]
    return MOTSSequence(info["name"], paths, info["frame_rate"], per)
