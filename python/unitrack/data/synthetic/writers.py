"""Writers of the synthetic sequences in the standard dataset layouts (OTB, DAVIS-2017, JHMDB, MOTChallenge, MOTS,
PoseTrack-18). Every writer takes the dataset root (e.g. ``<out>/otb``) and a list of sequences from scenes.py and
returns the list of sequence names. Output bytes depend only on the inputs (no timestamps, fixed float formats).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import scipy.io
from PIL import Image

from ..skeletons import POSETRACK18_SKELETON, palette_bytes
from .scenes import (
    POSETRACK_KEYPOINTS,
    MotSequence,
    MotsSequence,
    PosePropSequence,
    PoseTrackSequence,
    SotSequence,
    VosSequence,
)

__all__ = [
    "JPEG_QUALITY",
    "davis_palette",
    "write_jpeg",
    "write_otb",
    "write_davis",
    "write_jhmdb",
    "write_mot",
    "write_mots",
    "write_posetrack",
    "POSETRACK_SKELETON",
]

JPEG_QUALITY = 90
#: PoseTrack-18 / COCO skeleton (1-based keypoint indices), as in the PoseTrack-18 category entry.
POSETRACK_SKELETON = [list(pair) for pair in POSETRACK18_SKELETON]
#: The DAVIS palette as 768 ints (:func:`unitrack.data.skeletons.palette_bytes`).
davis_palette = palette_bytes


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    """Write ``[H, W, 3] uint8`` RGB as JPEG (quality :data:`JPEG_QUALITY`)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise RuntimeError(f"could not write {path}")


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise RuntimeError(f"could not write {path}")


def _write_text(path: Path, lines: list) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def _seqinfo(name: str, T: int, H: int, W: int, frame_rate: int) -> list:
    return [
        "[Sequence]",
        f"name={name}",
        "imDir=img1",
        f"frameRate={frame_rate}",
        f"seqLength={T}",
        f"imWidth={W}",
        f"imHeight={H}",
        "imExt=.jpg",
    ]


# ------------------------------------------------------------------------------------------------------------ OTB
def write_otb(root: Path, seqs: list[SotSequence]) -> list:
    """``<root>/<Video>/img/0001.jpg``, ``<Video>/groundtruth_rect.txt`` (``x,y,w,h``, 1-based) and
    ``<root>/OTB2015.json`` (pysot style; ``img_names`` relative to ``root``)."""
    meta = {}
    for s in seqs:
        d = root / s.name / "img"
        d.mkdir(parents=True, exist_ok=True)
        names = []
        for t, f in enumerate(s.frames):
            write_jpeg(d / f"{t + 1:04d}.jpg", f)
            names.append(f"{s.name}/img/{t + 1:04d}.jpg")
        rects = [[int(round(b[0])) + 1, int(round(b[1])) + 1, int(round(b[2])), int(round(b[3]))] for b in s.boxes]
        _write_text(root / s.name / "groundtruth_rect.txt", [",".join(str(v) for v in r) for r in rects])
        meta[s.name] = {
            "video_dir": s.name,
            "init_rect": rects[0],
            "img_names": names,
            "gt_rect": rects,
            "attr": list(s.attr),
        }
    _write_json(root / "OTB2015.json", meta)
    return [s.name for s in seqs]


# ---------------------------------------------------------------------------------------------------------- DAVIS
def write_davis(root: Path, val: list[VosSequence], train: list[VosSequence]) -> list:
    """``JPEGImages/480p/<seq>/00000.jpg``, ``Annotations/480p/<seq>/00000.png`` (8-bit palette PNG, DAVIS palette,
    every frame), ``ImageSets/2017/{val,train}.txt``."""
    pal = davis_palette()
    for s in list(val) + list(train):
        dj = root / "JPEGImages" / "480p" / s.name
        da = root / "Annotations" / "480p" / s.name
        dj.mkdir(parents=True, exist_ok=True)
        da.mkdir(parents=True, exist_ok=True)
        for t, (f, lab) in enumerate(zip(s.frames, s.labels)):
            write_jpeg(dj / f"{t:05d}.jpg", f)
            im = Image.fromarray(lab.astype(np.uint8), mode="P")
            im.putpalette(pal)
            im.save(da / f"{t:05d}.png", optimize=False)
    sets = root / "ImageSets" / "2017"
    sets.mkdir(parents=True, exist_ok=True)
    _write_text(sets / "val.txt", [s.name for s in val])
    _write_text(sets / "train.txt", [s.name for s in train])
    return [s.name for s in val]


# --------------------------------------------------------------------------------------------------------- JHMDB
def write_jhmdb(root: Path, seqs: list[PosePropSequence]) -> list:
    """``Frames/<video>/00001.png``, ``joint_positions/<video>/joint_positions.mat`` (``pos_img`` 2x15xT,
    MATLAB 1-based) and ``testlist_split1.txt`` (``<abs .mat> <abs frames dir>`` per line)."""
    lines = []
    for s in seqs:
        df = root / "Frames" / s.name
        dm = root / "joint_positions" / s.name
        df.mkdir(parents=True, exist_ok=True)
        dm.mkdir(parents=True, exist_ok=True)
        for t, f in enumerate(s.frames):
            _write_png(df / f"{t + 1:05d}.png", f)
        pos = np.ascontiguousarray(np.transpose(s.joints, (2, 1, 0)) + 1.0)  # [T,15,2] -> [2,15,T], 1-based
        mat = dm / "joint_positions.mat"
        scipy.io.savemat(str(mat), {"pos_img": pos}, do_compression=False)
        _fix_mat_header(mat)
        lines.append(f"{os.path.abspath(mat)} {os.path.abspath(df)}")
    _write_text(root / "testlist_split1.txt", lines)
    return [s.name for s in seqs]


def _fix_mat_header(path: Path) -> None:
    """scipy writes the creation time into the 116-byte MAT-file header text; overwrite it with a fixed text so that
    the file bytes are deterministic (the header text is informational only)."""
    with open(path, "r+b") as f:
        head = f.read(116)
        if head.startswith(b"MATLAB 5.0 MAT-file"):
            text = b"MATLAB 5.0 MAT-file, written by unitrack.data.synthetic"
            f.seek(0)
            f.write(text.ljust(116, b" "))


# ----------------------------------------------------------------------------------------------------- MOT / MOTS
def _write_motchallenge(
    root: Path, seqs: list, split: str, seqmap: str, annotations: Callable[[Any], Iterator[tuple[str, list]]]
) -> list:
    """The MOTChallenge layout shared by MOT and MOTS: per sequence ``<root>/<split>/<seq>/{seqinfo.ini,
    img1/000001.jpg}`` plus the ``(file, lines)`` pairs that ``annotations(seq)`` yields (``gt/gt.txt``,
    ``det/det.txt``), then ``<root>/seqmaps/<seqmap>.txt``."""
    for s in seqs:
        d = root / split / s.name
        (d / "img1").mkdir(parents=True, exist_ok=True)
        (d / "gt").mkdir(exist_ok=True)
        (d / "det").mkdir(exist_ok=True)
        H, W = s.frames[0].shape[:2]
        _write_text(d / "seqinfo.ini", _seqinfo(s.name, len(s.frames), H, W, s.frame_rate))
        for t, f in enumerate(s.frames):
            write_jpeg(d / "img1" / f"{t + 1:06d}.jpg", f)
        for fname, lines in annotations(s):
            _write_text(d / fname, lines)
    (root / "seqmaps").mkdir(parents=True, exist_ok=True)
    _write_text(root / "seqmaps" / f"{seqmap}.txt", ["name"] + [s.name for s in seqs])
    return [s.name for s in seqs]


def _mot_annotations(s: MotSequence) -> Iterator[tuple[str, list]]:
    yield (
        "gt/gt.txt",
        [
            f"{fr},{i},{int(round(x)) + 1},{int(round(y)) + 1},{int(round(w))},{int(round(h))},{c},{cl},{v:.5f}"
            for fr, i, x, y, w, h, c, cl, v in s.gt
        ],
    )
    yield (
        "det/det.txt",
        [f"{fr},-1,{x + 1:.2f},{y + 1:.2f},{w:.2f},{h:.2f},{sc:.4f},-1,-1,-1" for fr, x, y, w, h, sc in s.dets],
    )


def _mots_annotations(s: MotsSequence) -> Iterator[tuple[str, list]]:
    for fname, rows in (("gt/gt.txt", s.gt), ("det/det.txt", s.dets)):
        yield fname, [f"{fr} {i} {c} {r['size'][0]} {r['size'][1]} {r['counts']}" for fr, i, c, r in rows]


def write_mot(root: Path, seqs: list[MotSequence], *, split: str = "train", seqmap: str = "SYNTH-train") -> list:
    """MOTChallenge (MOT17-like): ``<root>/<split>/<seq>/{seqinfo.ini,img1/000001.jpg,gt/gt.txt,det/det.txt}`` and
    ``<root>/seqmaps/<seqmap>.txt``."""
    return _write_motchallenge(root, seqs, split, seqmap, _mot_annotations)


def write_mots(root: Path, seqs: list[MotsSequence], *, split: str = "train", seqmap: str = "SYNTH-MOTS-train") -> list:
    """MOTSChallenge: like :func:`write_mot` but ``gt.txt``/``det.txt`` lines ``frame id class h w rle``."""
    return _write_motchallenge(root, seqs, split, seqmap, _mots_annotations)


# ----------------------------------------------------------------------------------------------------- PoseTrack
def _r(v) -> list:
    return [round(float(x), 2) for x in np.asarray(v).ravel()]


def _flat_kps(kps: np.ndarray) -> list:
    out = []
    for x, y, v in kps:
        out += [round(float(x), 2), round(float(y), 2), int(v)]
    return out


def write_posetrack(root: Path, seqs: list[PoseTrackSequence], *, split: str = "val") -> list:
    """PoseTrack-18: ``images/<split>/<seq>/000000.jpg``, ``annotations/<split>/<seq>.json`` (GT) and
    ``detections/<split>/<seq>.json`` (noisy detections, ``track_id`` -1, per-joint ``scores``)."""
    category = [
        {
            "supercategory": "person",
            "id": 1,
            "name": "person",
            "keypoints": list(POSETRACK_KEYPOINTS),
            "skeleton": POSETRACK_SKELETON,
        }
    ]
    (root / "annotations" / split).mkdir(parents=True, exist_ok=True)
    (root / "detections" / split).mkdir(parents=True, exist_ok=True)
    for s in seqs:
        d = root / "images" / split / s.name
        d.mkdir(parents=True, exist_ok=True)
        T = len(s.frames)
        images, gt_anns, det_anns = [], [], []
        for t, f in enumerate(s.frames):
            write_jpeg(d / f"{t:06d}.jpg", f)
            img_id = int(f"1{s.vid_id:06d}{t:04d}")
            images.append(
                {
                    "has_no_densepose": True,
                    "is_labeled": True,
                    "file_name": f"images/{split}/{s.name}/{t:06d}.jpg",
                    "nframes": T,
                    "frame_id": img_id,
                    "vid_id": f"{s.vid_id:06d}",
                    "ignore_regions_y": [],
                    "ignore_regions_x": [],
                    "id": img_id,
                }
            )
            for j, a in enumerate(s.gt[t]):
                gt_anns.append(
                    {
                        "bbox_head": _r(a["bbox_head"]),
                        "keypoints": _flat_kps(a["keypoints"]),
                        "track_id": int(a["track_id"]),
                        "image_id": img_id,
                        "bbox": _r(a["bbox"]),
                        "scores": [],
                        "category_id": 1,
                        "id": img_id * 100 + j,
                    }
                )
            for j, a in enumerate(s.dets[t]):
                det_anns.append(
                    {
                        "bbox_head": _r(a["bbox_head"]),
                        "keypoints": _flat_kps(a["keypoints"]),
                        "track_id": -1,
                        "image_id": img_id,
                        "bbox": _r(a["bbox"]),
                        "scores": [round(float(x), 4) for x in a["scores"]],
                        "score": round(float(a["score"]), 4),
                        "category_id": 1,
                        "id": img_id * 100 + j,
                    }
                )
        _write_json(
            root / "annotations" / split / f"{s.name}.json",
            {"images": images, "annotations": gt_anns, "categories": category},
        )
        _write_json(
            root / "detections" / split / f"{s.name}.json",
            {"images": images, "annotations": det_anns, "categories": category},
        )
    return [s.name for s in seqs]
