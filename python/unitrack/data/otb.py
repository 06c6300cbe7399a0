"""OTB-2015 reader and result writer.

Two layouts are read (:func:`load_otb` picks by what it finds):

* the standard folder layout ``<root>/<Video>/img/0001.jpg ...`` with ``groundtruth_rect.txt`` (comma, tab or space
  separated), and for the two-target videos ``groundtruth_rect.1.txt`` / ``.2.txt`` -> videos ``Jogging-1`` /
  ``Jogging-2`` (and ``Skating2-1`` / ``-2``) sharing one image folder;
* the pysot ``OTB2015.json`` (UniTrack's input, SPEC §4.5):
  ``{video: {video_dir, img_names, gt_rect, init_rect, attr}}`` with image paths relative to the json's folder.
  The ``-1``/``-2`` videos whose images are not duplicated on disk are read from the shared ``Jogging``/``Skating2``
  folder.

Boxes are returned **0-based** (``x - 1, y - 1``: OTB files are 1-based pixel indices) as float ``[x, y, w, h]``;
:func:`write_results` writes them back 1-based, one ``x,y,w,h`` line per frame, via a temporary file and a rename.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from ._atomic import current_umask

__all__ = ["OTBVideo", "OTBDataset", "load_otb", "read_rects", "write_results", "read_results"]

PathLike = Union[str, os.PathLike]

# Videos whose image folder holds more frames than the ground truth: (first, last) 1-based frame numbers from the OTB
# benchmark's sequence list. Used only when the frame count does not already match the ground truth.
FRAME_RANGES = {
    "david": (300, 770),
    "football1": (1, 74),
    "freeman3": (1, 460),
    "freeman4": (1, 283),
    "diving": (1, 215),
    "tiger1": (6, 354),
    "blurcar1": (247, 988),
    "blurcar3": (3, 359),
    "blurcar4": (18, 397),
}
_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class OTBVideo:
    """One OTB video: ``frames`` (image paths), ``gt`` (``[T, 4]`` 0-based xywh), ``init_box`` (= ``gt[0]`` unless the
    json gives ``init_rect``), attributes, and ``gt_file``: the ground truth exactly as the file / json writes it
    (1-based; what the OTB toolkits score, see :func:`unitrack.metrics.otb.evaluate_results`)."""

    name: str
    frames: list
    gt: np.ndarray
    init_box: np.ndarray
    attr: list = field(default_factory=list)
    gt_file: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.frames)


class OTBDataset:
    """Mapping ``name -> OTBVideo`` in a stable order (``names``)."""

    def __init__(self, videos: list[OTBVideo], root: str):
        self.root = root
        self.videos = {v.name: v for v in videos}
        self.names = [v.name for v in videos]

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        return (self.videos[n] for n in self.names)

    def __getitem__(self, name: str) -> OTBVideo:
        if name not in self.videos:
            raise KeyError(f"no video {name!r} in the OTB dataset at {self.root!r}")
        return self.videos[name]


def read_rects(path: PathLike) -> np.ndarray:
    """A ground-truth/result text file (``x,y,w,h`` per line; separators comma, tab or spaces) -> ``[T, 4]`` float as
    written (no 1-based conversion). Empty lines are skipped; anything else malformed raises ``ValueError`` naming
    the file and line."""
    rows = []
    with open(path, "r") as f:
        for ln, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            parts = [p for p in re.split(r"[,\s]+", s) if p]
            try:
                vals = [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"{os.fspath(path)}:{ln}: expected 4 numbers x,y,w,h, got {s!r}") from None
            if len(vals) != 4:
                raise ValueError(f"{os.fspath(path)}:{ln}: expected 4 numbers x,y,w,h, got {len(vals)}: {s!r}")
            rows.append(vals)
    if not rows:
        raise ValueError(f"{os.fspath(path)}: no boxes")
    return np.asarray(rows, dtype=np.float64)


def _frame_number(path: str) -> Optional[int]:
    m = re.search(r"(\d+)\.[A-Za-z]+$", os.path.basename(path))
    return int(m.group(1)) if m else None


def _select_frames(name: str, base: str, imgs: list[str], n_gt: int, gt_path: str) -> list[str]:
    if len(imgs) == n_gt:
        return imgs
    rng = FRAME_RANGES.get(base.lower())
    if rng is not None:
        sel = [p for p in imgs if (_frame_number(p) is not None and rng[0] <= _frame_number(p) <= rng[1])]
        if len(sel) == n_gt:
            return sel
    if len(imgs) > n_gt:
        return imgs[:n_gt]  # the annotated part of the sequence is its beginning (Football1, Freeman3/4, Diving)
    raise ValueError(f"video {name!r}: {gt_path} has {n_gt} boxes but only {len(imgs)} images were found")


def _load_folder(root: str, videos: Optional[list[str]]) -> list[OTBVideo]:
    out = []
    for vdir in sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)):
        base = os.path.basename(vdir)
        img_dir = os.path.join(vdir, "img")
        gts = sorted(glob.glob(os.path.join(vdir, "groundtruth_rect*.txt")))
        if not os.path.isdir(img_dir) or not gts:
            continue
        imgs = sorted(p for p in glob.glob(os.path.join(img_dir, "*")) if p.lower().endswith(_IMG_EXT))
        if not imgs:
            raise ValueError(f"video {base!r}: no images in {img_dir}")
        multi = [g for g in gts if re.search(r"groundtruth_rect\.(\d+)\.txt$", g)]
        if multi:  # Jogging, Skating2: one video per target
            entries = [(base + "-" + re.search(r"rect\.(\d+)\.txt$", g).group(1), g) for g in multi]
        else:
            entries = [(base, os.path.join(vdir, "groundtruth_rect.txt"))]
        for name, gt_path in entries:
            if videos is not None and name not in videos:
                continue
            if not os.path.exists(gt_path):
                raise FileNotFoundError(f"video {base!r}: missing {gt_path}")
            gt = read_rects(gt_path)
            frames = _select_frames(name, base, imgs, len(gt), gt_path)
            gt0 = gt.copy()
            gt0[:, :2] -= 1
            out.append(OTBVideo(name, frames, gt0, gt0[0].copy(), [], gt))
    return out


def _load_json(json_path: str, videos: Optional[list[str]]) -> list[OTBVideo]:
    root = os.path.dirname(os.path.abspath(json_path))
    try:
        with open(json_path, "r") as f:
            meta = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{json_path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{json_path}: expected a dict {{video: {{...}}}}, got {type(meta).__name__}")
    out = []
    for name, v in meta.items():
        if videos is not None and name not in videos:
            continue
        for key in ("img_names", "gt_rect"):
            if key not in v:
                raise ValueError(f"{json_path}: video {name!r} has no {key!r}")
        frames = []
        for rel in v["img_names"]:
            p = os.path.join(root, rel)
            if not os.path.exists(p):
                # Jogging-1/-2 and Skating2-1/-2 share one image folder unless the user duplicated it.
                m = re.match(r"^([^/\\]+)-\d([/\\].*)$", rel)
                if m and os.path.exists(os.path.join(root, m.group(1) + m.group(2))):
                    p = os.path.join(root, m.group(1) + m.group(2))
            frames.append(p)
        gt_file = np.asarray(v["gt_rect"], dtype=np.float64).reshape(-1, 4)
        if len(gt_file) != len(frames):
            raise ValueError(f"{json_path}: video {name!r} has {len(frames)} img_names but {len(gt_file)} gt_rect")
        gt = gt_file.copy()
        gt[:, :2] -= 1
        init = np.asarray(v.get("init_rect", gt_file[0]), dtype=np.float64).reshape(4).copy()
        init[:2] -= 1
        out.append(OTBVideo(name, frames, gt, init, list(v.get("attr", [])), gt_file))
    return out


def load_otb(root: PathLike, videos: Optional[list[str]] = None, *, check_files: bool = True) -> OTBDataset:
    """Read OTB-2015 from ``root``: a pysot ``OTB2015.json`` (the file itself, or a folder holding it) or the standard
    folder layout. ``videos`` restricts to those names. ``check_files`` verifies that every frame file exists."""
    root = os.fspath(root)
    if os.path.isfile(root):
        json_path = root
    elif os.path.isdir(root):
        json_path = os.path.join(root, "OTB2015.json")
        if not os.path.isfile(json_path):
            json_path = None
    else:
        raise FileNotFoundError(f"OTB root {root!r} does not exist")
    vids = _load_json(json_path, videos) if json_path else _load_folder(root, videos)
    if videos is not None:
        missing = sorted(set(videos) - {v.name for v in vids})
        if missing:
            raise KeyError(f"videos not found in {root!r}: {missing}")
    if not vids:
        raise FileNotFoundError(
            f"no OTB videos found under {root!r} (expected OTB2015.json or <video>/img/*.jpg + groundtruth_rect.txt)"
        )
    if check_files:
        for v in vids:
            for p in v.frames:
                if not os.path.exists(p):
                    raise FileNotFoundError(f"video {v.name!r}: frame file {p!r} does not exist")
    return OTBDataset(vids, os.path.dirname(json_path) if json_path else root)


def write_results(path: PathLike, boxes) -> None:
    """Write 0-based ``[T, 4]`` boxes as 1-based ``x,y,w,h`` lines (OTB/pysot/got10k format), atomically."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must be [T, 4], got shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"boxes for {os.fspath(path)!r} contain NaN or inf")
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    out = b.copy()
    out[:, :2] += 1
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".txt", dir=d)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 -> the usual mode of a new file (0644 under 022)
        with os.fdopen(fd, "w") as f:
            for row in out:
                f.write(",".join(f"{v:.4f}" for v in row) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_results(path: PathLike) -> np.ndarray:
    """Read a results file written by :func:`write_results` (1-based) -> 0-based ``[T, 4]``."""
    b = read_rects(path)
    b[:, :2] -= 1
    return b
