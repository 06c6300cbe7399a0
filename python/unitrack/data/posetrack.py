"""PoseTrack 2017 (``annolist``) and 2018 (COCO-like) json: read, write and a neutral in-memory form.

Neutral representation (format independent):

* :class:`PoseSequence` -- ``frames``: list of :class:`PoseFrame` (one per image, video order);
* :class:`PoseFrame` -- ``file_name``, ``people``, ``image_id``, ``is_labeled``, ``ignore_regions``
  (list of polygons ``[K, 2]``);
* :class:`PosePerson` -- ``joints [15, 3]`` = (x, y, visible) in the 15-joint PoseTrack order
  :data:`POSETRACK_JOINTS` (the joint ids of the 2017 format and of poseval); a missing joint has
  ``x = y = NaN``; ``scores [15]`` per-joint confidences (NaN when absent) or None; ``track_id``;
  ``head_box`` (x1, y1, x2, y2) or None; ``box`` (x, y, w, h) or None; ``score``.

2018 files store 17 keypoints in the order named by ``categories[0].keypoints`` (PoseTrack18:
nose, head_bottom, head_top, left_ear, right_ear, shoulders, ...); the ears are not PoseTrack joints and
are written as zeros. As in poseval, a 2018 keypoint ``[0, 0, 0]`` means "not annotated"; any other value
(even with v = 0) is a present joint. Malformed files raise ValueError naming the file and the element
(json path) and what was expected; writers are atomic.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write_text
from .skeletons import POSETRACK18_KEYPOINTS, POSETRACK_JOINTS

__all__ = [
    "POSETRACK_JOINTS",
    "POSETRACK18_KEYPOINTS",
    "PosePerson",
    "PoseFrame",
    "PoseSequence",
    "read_posetrack",
    "write_posetrack",
    "from_posetrack17",
    "from_posetrack18",
    "to_posetrack17",
    "to_posetrack18",
]

_ALIASES = {"neck": "head_bottom"}
J = len(POSETRACK_JOINTS)


@dataclass
class PosePerson:
    """One person in one frame (see module docstring). ``joints [15, 3]``, ``scores [15]`` or None.

    ``has_points``: the person carries a pose record -- a 2017 ``annopoints`` entry with a ``point`` list, or 2018
    ``keypoints`` -- even if every joint is missing (trackers that zero low-confidence joints write such people).
    poseval keeps those people (except in frames with ignore regions) and drops 2017 people without a point list;
    :mod:`unitrack.metrics.posetrack` does the same."""

    joints: np.ndarray
    track_id: int | None = None
    scores: np.ndarray | None = None
    head_box: np.ndarray | None = None
    box: np.ndarray | None = None
    score: float | None = None
    has_points: bool = True

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float64)
        if self.joints.shape != (J, 3):
            raise ValueError(
                f"PosePerson.joints must have shape [{J}, 3] (x, y, visible), got {list(self.joints.shape)}"
            )
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
            if self.scores.shape != (J,):
                raise ValueError(f"PosePerson.scores must have shape [{J}], got {list(self.scores.shape)}")
        if self.head_box is not None:
            self.head_box = np.asarray(self.head_box, dtype=np.float64).reshape(-1)
            if self.head_box.shape != (4,) or not np.all(np.isfinite(self.head_box)):
                raise ValueError("PosePerson.head_box must be 4 finite numbers (x1, y1, x2, y2)")

    @property
    def present(self) -> np.ndarray:
        """bool ``[15]``: joints that exist (finite x and y)."""
        return np.isfinite(self.joints[:, 0]) & np.isfinite(self.joints[:, 1])


@dataclass
class PoseFrame:
    file_name: str
    people: list[PosePerson] = field(default_factory=list)
    image_id: int | None = None
    is_labeled: bool = True
    ignore_regions: list[np.ndarray] = field(default_factory=list)


@dataclass
class PoseSequence:
    frames: list[PoseFrame]
    vid_id: str | None = None
    name: str | None = None
    source_format: str = "2018"


# --------------------------------------------------------------------------------------------- helpers
def _scalar(v: Any, where: str, kind=float, required: bool = True):
    if isinstance(v, list):
        if len(v) != 1:
            if not required and len(v) == 0:
                return None
            raise ValueError(f"{where}: expected a number or a one-element list, got a list of {len(v)}")
        v = v[0]
    if v is None:
        if required:
            raise ValueError(f"{where}: expected a number, got null")
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}: expected a number, got {type(v).__name__}")
    if kind is int:
        if float(v) != int(v):
            raise ValueError(f"{where}: expected an integer, got {v}")
        return int(v)
    if not np.isfinite(v):
        raise ValueError(f"{where}: expected a finite number, got {v}")
    return float(v)


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"PoseTrack json not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with 'annolist' (2017) or 'images'/'annotations' (2018)")
    return data


# --------------------------------------------------------------------------------------------- 2017
def _annopoints17(r: dict) -> tuple[list, bool]:
    """The point list of a 2017 ``annorect`` and poseval's ``rectHasPoints``: a non-empty 'annopoints' list whose
    first entry has a 'point' key (or an 'annopoints' object with one)."""
    aps = r.get("annopoints")
    if isinstance(aps, list) and aps and isinstance(aps[0], dict):
        return aps[0].get("point", []) or [], "point" in aps[0]
    if isinstance(aps, dict):
        return aps.get("point", []) or [], "point" in aps
    return [], False


def _person17(r, wr: str) -> PosePerson:
    """One 2017 ``annorect`` (``wr`` names it in errors) -> :class:`PosePerson`."""
    if not isinstance(r, dict):
        raise ValueError(f"{wr}: expected an object")
    joints = np.full((J, 3), np.nan)
    scores = np.full(J, np.nan)
    has_score = False
    pts, has_points = _annopoints17(r)
    for pi, p in enumerate(pts):
        wp = f"{wr}.annopoints[0].point[{pi}]"
        if not isinstance(p, dict) or "id" not in p or "x" not in p or "y" not in p:
            raise ValueError(f"{wp}: expected an object with 'id', 'x', 'y'")
        jid = _scalar(p["id"], wp + ".id", int)
        if not 0 <= jid < J:
            raise ValueError(f"{wp}.id: expected a joint id in 0..{J - 1}, got {jid}")
        if np.isfinite(joints[jid, 0]):
            continue  # a repeated joint id: the first one counts (poseval's getPointGTbyID)
        vis = _scalar(p.get("is_visible", 1), wp + ".is_visible", float, required=False)
        joints[jid] = (_scalar(p["x"], wp + ".x"), _scalar(p["y"], wp + ".y"), 1.0 if vis is None else vis)
        if "score" in p:
            s = _scalar(p["score"], wp + ".score", float, required=False)
            if s is not None:
                scores[jid] = s
                has_score = True
    head = None
    if all(k in r for k in ("x1", "y1", "x2", "y2")):
        head = np.array([_scalar(r[k], f"{wr}.{k}") for k in ("x1", "y1", "x2", "y2")])
    tid = _scalar(r["track_id"], wr + ".track_id", int, required=False) if "track_id" in r else None
    sc = _scalar(r["score"], wr + ".score", float, required=False) if "score" in r else None
    return PosePerson(joints, tid, scores if has_score else None, head, None, sc, has_points)


def _ignore_regions17(fr: dict, w: str) -> list[np.ndarray]:
    regions = []
    for gi, reg in enumerate(fr.get("ignore_regions", []) or []):
        pts = reg.get("point", []) if isinstance(reg, dict) else None
        if not isinstance(pts, list):
            raise ValueError(f"{w}.ignore_regions[{gi}]: expected an object with a 'point' list")
        regions.append(
            np.array(
                [
                    [_scalar(p["x"], f"{w}.ignore_regions[{gi}].x"), _scalar(p["y"], f"{w}.ignore_regions[{gi}].y")]
                    for p in pts
                ]
            ).reshape(-1, 2)
        )
    return regions


def _frame17(fr, w: str) -> PoseFrame:
    """One 2017 ``annolist`` entry (``w`` names it in errors) -> :class:`PoseFrame`."""
    if not isinstance(fr, dict):
        raise ValueError(f"{w}: expected an object")
    img = fr.get("image")
    if isinstance(img, list):
        img = img[0] if img else None
    if not isinstance(img, dict) or not isinstance(img.get("name"), str):
        raise ValueError(f"{w}.image: expected [{{'name': <image path>}}]")
    people = [_person17(r, f"{w}.annorect[{ri}]") for ri, r in enumerate(fr.get("annorect", []) or [])]
    regions = _ignore_regions17(fr, w)
    lab = fr.get("is_labeled", None)
    is_labeled = bool(_scalar(lab, w + ".is_labeled", int)) if lab not in (None, []) else len(people) > 0
    imgnum = fr.get("imgnum")
    image_id = _scalar(imgnum, w + ".imgnum", int, required=False) if imgnum is not None else None
    return PoseFrame(img["name"], people, image_id, is_labeled, regions)


def from_posetrack17(data: dict, source: str = "<json>") -> PoseSequence:
    """Parse a PoseTrack 2017 ``{"annolist": [...]}`` dict into a :class:`PoseSequence`."""
    al = data.get("annolist")
    if not isinstance(al, list):
        raise ValueError(f"{source}: expected key 'annolist' with a list of frames")
    frames = [_frame17(fr, f"{source}: annolist[{fi}]") for fi, fr in enumerate(al)]
    return PoseSequence(frames, None, None, "2017")


def to_posetrack17(seq: PoseSequence) -> dict:
    """Serialise a :class:`PoseSequence` to the 2017 ``annolist`` dict (missing joints are omitted)."""
    al = []
    for fr in seq.frames:
        rects = []
        for p in fr.people:
            pts = []
            for j in np.flatnonzero(p.present):
                pt = {
                    "id": [int(j)],
                    "x": [float(p.joints[j, 0])],
                    "y": [float(p.joints[j, 1])],
                    "is_visible": [int(p.joints[j, 2]) if np.isfinite(p.joints[j, 2]) else 1],
                }
                if p.scores is not None and np.isfinite(p.scores[j]):
                    pt["score"] = [float(p.scores[j])]
                pts.append(pt)
            r: dict = {"annopoints": [{"point": pts}]} if p.has_points or pts else {}
            if p.track_id is not None:
                r["track_id"] = [int(p.track_id)]
            if p.head_box is not None:
                for k, v in zip(("x1", "y1", "x2", "y2"), p.head_box):
                    r[k] = [float(v)]
            if p.score is not None:
                r["score"] = [float(p.score)]
            rects.append(r)
        e: dict = {"image": [{"name": fr.file_name}], "annorect": rects, "is_labeled": [int(fr.is_labeled)]}
        if fr.image_id is not None:
            e["imgnum"] = [int(fr.image_id)]
        if fr.ignore_regions:
            e["ignore_regions"] = [
                {"point": [{"x": [float(x)], "y": [float(y)]} for x, y in reg]} for reg in fr.ignore_regions
            ]
        al.append(e)
    return {"annolist": al}


# --------------------------------------------------------------------------------------------- 2018
def _keypoint_table18(data: dict, source: str) -> tuple[list, int]:
    """``(table, k)``: the 15-joint index of every keypoint of the file (None for the ears) from
    ``categories[0].keypoints`` (default: the PoseTrack-18 order), and the number of keypoints."""
    names = list(POSETRACK18_KEYPOINTS)
    cats = data.get("categories")
    if cats:
        try:
            names = list(cats[0]["keypoints"])
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{source}: categories[0].keypoints: expected the list of keypoint names") from None
    table = []
    for n in names:
        n = _ALIASES.get(n, n)
        table.append(POSETRACK_JOINTS.index(n) if n in POSETRACK_JOINTS else None)
    missing = [POSETRACK_JOINTS[j] for j in range(J) if j not in table]
    if missing:
        raise ValueError(f"{source}: categories[0].keypoints lacks the PoseTrack joints {missing}")
    return table, len(names)


def _image_id18(im, w: str) -> int:
    if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
        raise ValueError(f"{w}: expected an object with 'id' and 'file_name'")
    return _scalar(im["id"], w + ".id", int)


def _frame18(im: dict, w: str, iid: int) -> PoseFrame:
    """One 2018 ``images`` entry (``w`` names it in errors) -> a :class:`PoseFrame` without people."""
    fr = PoseFrame(im["file_name"], [], iid, bool(im.get("is_labeled", True)), [])
    rx, ry = im.get("ignore_regions_x", []) or [], im.get("ignore_regions_y", []) or []
    if len(rx) != len(ry):
        raise ValueError(f"{w}: ignore_regions_x and ignore_regions_y must have the same length")
    for gx, gy in zip(rx, ry):
        if len(gx) != len(gy):
            raise ValueError(f"{w}: an ignore region has {len(gx)} x but {len(gy)} y coordinates")
        fr.ignore_regions.append(np.array([gx, gy], dtype=np.float64).T.reshape(-1, 2))
    return fr


def _keypoints18(a: dict, w: str, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """An annotation's ``keypoints`` ``[k, 3]`` and per-keypoint ``scores`` ``[k]`` (or None), checked."""
    try:
        kp = np.asarray(a["keypoints"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{w}.keypoints: expected a flat list of numbers") from None
    if kp.shape != (3 * k,):
        raise ValueError(f"{w}.keypoints: expected {3 * k} numbers ([x, y, v] x {k}), got {kp.size}")
    if not np.all(np.isfinite(kp)):
        raise ValueError(f"{w}.keypoints: expected finite numbers")
    sc = a.get("scores")
    if sc is None or len(sc) == 0:
        return kp.reshape(k, 3), None
    try:
        sc = np.asarray(sc, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{w}.scores: expected a list of numbers") from None
    if sc.shape != (k,):
        raise ValueError(f"{w}.scores: expected {k} per-keypoint scores, got {sc.size}")
    return kp.reshape(k, 3), sc


def _box18(a: dict, key: str, w: str) -> np.ndarray | None:
    """``a[key]`` as an ``[x, y, w, h]`` array (None when absent)."""
    if a.get(key) is None:
        return None
    box = np.asarray(a[key], dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise ValueError(f"{w}.{key}: expected [x, y, w, h]")
    return box


def _person18(a: dict, w: str, table: list, k: int) -> PosePerson:
    """One 2018 annotation with keypoints (``w`` names it in errors) -> :class:`PosePerson` (15 joints)."""
    kp, sc = _keypoints18(a, w, k)
    joints = np.full((J, 3), np.nan)
    scores = np.full(J, np.nan) if sc is not None else None
    for src, dst in enumerate(table):
        if dst is None:
            continue
        x, y, v = kp[src]
        if x == 0 and y == 0 and v == 0:
            continue  # "not annotated" in the 2018 format (poseval's rule)
        joints[dst] = (x, y, v)
        if scores is not None:
            scores[dst] = sc[src]
    hb = _box18(a, "bbox_head", w)
    head = None if hb is None else np.array([hb[0], hb[1], hb[0] + hb[2], hb[1] + hb[3]])
    box = _box18(a, "bbox", w)
    tid = _scalar(a["track_id"], w + ".track_id", int, required=False) if "track_id" in a else None
    s = _scalar(a["score"], w + ".score", float, required=False) if "score" in a else None
    return PosePerson(joints, tid, scores, head, box, s)


def from_posetrack18(data: dict, source: str = "<json>") -> PoseSequence:
    """Parse a PoseTrack 2018 dict (``images``, ``annotations``, ``categories``) into a :class:`PoseSequence`."""
    images = data.get("images")
    anns = data.get("annotations", [])
    if not isinstance(images, list) or not isinstance(anns, list):
        raise ValueError(f"{source}: expected lists 'images' and 'annotations'")
    table, k = _keypoint_table18(data, source)
    frames, by_id = [], {}
    vid = None
    for ii, im in enumerate(images):
        w = f"{source}: images[{ii}]"
        iid = _image_id18(im, w)
        if iid in by_id:
            raise ValueError(f"{w}.id: duplicate image id {iid}")
        vid = im.get("vid_id", vid)
        by_id[iid] = _frame18(im, w, iid)
        frames.append(by_id[iid])
    for ai, a in enumerate(anns):
        w = f"{source}: annotations[{ai}]"
        if not isinstance(a, dict) or "image_id" not in a:
            raise ValueError(f"{w}: expected an object with 'image_id'")
        iid = _scalar(a["image_id"], w + ".image_id", int)
        if iid not in by_id:
            raise ValueError(f"{w}.image_id: {iid} is not the id of any entry of 'images'")
        if a.get("keypoints") is None:
            continue  # box-only annotation: no pose
        by_id[iid].people.append(_person18(a, w, table, k))
    return PoseSequence(frames, None if vid is None else str(vid), None, "2018")


def to_posetrack18(seq: PoseSequence) -> dict:
    """Serialise to the PoseTrack 2018 dict; missing joints and the ears are written as ``[0, 0, 0]``."""
    k = len(POSETRACK18_KEYPOINTS)
    idx = [POSETRACK_JOINTS.index(n) if n in POSETRACK_JOINTS else None for n in POSETRACK18_KEYPOINTS]
    images, anns = [], []
    for fi, fr in enumerate(seq.frames):
        iid = int(fr.image_id) if fr.image_id is not None else fi
        im: dict = {
            "id": iid,
            "file_name": fr.file_name,
            "is_labeled": bool(fr.is_labeled),
            "nframes": len(seq.frames),
            "frame_id": iid,
        }
        if seq.vid_id is not None:
            im["vid_id"] = seq.vid_id
        if fr.ignore_regions:
            im["ignore_regions_x"] = [[float(x) for x in r[:, 0]] for r in fr.ignore_regions]
            im["ignore_regions_y"] = [[float(y) for y in r[:, 1]] for r in fr.ignore_regions]
        images.append(im)
        for pi, p in enumerate(fr.people):
            kp, sc = [], []
            for j in idx:
                if j is None or not p.present[j]:
                    kp += [0.0, 0.0, 0]
                    sc.append(0.0)
                else:
                    v = p.joints[j, 2]
                    kp += [float(p.joints[j, 0]), float(p.joints[j, 1]), int(v) if np.isfinite(v) else 1]
                    sc.append(float(p.scores[j]) if p.scores is not None and np.isfinite(p.scores[j]) else 0.0)
            a: dict = {"id": iid * 100 + pi, "image_id": iid, "category_id": 1, "keypoints": kp}
            if p.scores is not None:
                a["scores"] = sc
            if p.track_id is not None:
                a["track_id"] = int(p.track_id)
            if p.head_box is not None:
                x1, y1, x2, y2 = (float(v) for v in p.head_box)
                a["bbox_head"] = [x1, y1, x2 - x1, y2 - y1]
            if p.box is not None:
                a["bbox"] = [float(v) for v in p.box]
            if p.score is not None:
                a["score"] = float(p.score)
            anns.append(a)
    assert k == 17
    return {
        "images": images,
        "annotations": anns,
        "categories": [
            {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(POSETRACK18_KEYPOINTS)}
        ],
    }


# --------------------------------------------------------------------------------------------- files
def read_posetrack(path: str | os.PathLike) -> PoseSequence:
    """Read a PoseTrack json (format detected: ``annolist`` -> 2017, ``images`` -> 2018)."""
    path = Path(path)
    data = _load_json(path)
    if "annolist" in data:
        seq = from_posetrack17(data, str(path))
    elif "images" in data:
        seq = from_posetrack18(data, str(path))
    else:
        raise ValueError(f"{path}: expected key 'annolist' (PoseTrack 2017) or 'images' (PoseTrack 2018)")
    seq.name = path.stem
    return seq


def write_posetrack(path: str | os.PathLike, seq: PoseSequence, fmt: str = "2018") -> None:
    """Write ``seq`` as PoseTrack ``fmt`` ("2018" or "2017") json, atomically."""
    if fmt not in ("2017", "2018"):
        raise ValueError(f"fmt must be '2017' or '2018', got {fmt!r}")
    data = to_posetrack18(seq) if fmt == "2018" else to_posetrack17(seq)
    atomic_write_text(path, json.dumps(data))
