"""Constructed PoseTrack cases shared by tests/test_metrics_mot_posetrack.py and the out-of-repo run of the official
poseval (leonid-pishchulin/poseval, with motmetrics 1.4.0) that produced the expected values kept in that test.

Every case is one sequence json, written here directly as PoseTrack 2017 (``annolist``) or 2018 (COCO-like) dicts
(not through unitrack's writer), so the readers are under test too. Coordinates are rounded to 2 decimals, the
random cases use ``numpy.random.default_rng`` with fixed seeds; distances are kept away from exact ties."""

from __future__ import annotations

import json
import os

import numpy as np

J = 15
# a standing person, joint offsets in pixels (PoseTrack joint order: r-ankle, r-knee, r-hip, l-hip, l-knee, l-ankle,
# r-wrist, r-elbow, r-shoulder, l-shoulder, l-elbow, l-wrist, head_bottom, nose, head_top)
_SKELETON = np.array(
    [
        [-12, 170],
        [-11, 120],
        [-10, 70],
        [10, 70],
        [11, 120],
        [12, 170],
        [-30, 60],
        [-24, 30],
        [-18, 0],
        [18, 0],
        [24, 30],
        [30, 60],
        [0, -5],
        [0, -25],
        [0, -45],
    ],
    float,
)
# PoseTrack 2018 keypoint order -> joint id (None: the ears, always written as zeros)
_KP18 = (
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
_JOINTS = (
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
_TABLE18 = [(_JOINTS.index(n) if n in _JOINTS else None) for n in _KP18]


def person(cx, cy, tid, scale=1.0, missing=(), jitter=None, head=True, score=0.9):
    """A person dict in a neutral form: joints [15, 2] (NaN = missing), track id, head box (x1, y1, x2, y2)."""
    xy = np.round(np.array([cx, cy]) + _SKELETON * scale, 2)
    if jitter is not None:
        xy = np.round(xy + jitter, 2)
    xy[list(missing)] = np.nan
    hb = None
    if head:
        hb = [round(cx - 12 * scale, 2), round(cy - 50 * scale, 2), round(cx + 12 * scale, 2), round(cy - 2 * scale, 2)]
    return {"xy": xy, "tid": tid, "head": hb, "score": score}


def _rect17(p, annopoints="list"):
    pts = [
        {"id": [j], "x": [float(p["xy"][j, 0])], "y": [float(p["xy"][j, 1])], "score": [0.8], "is_visible": [1]}
        for j in range(J)
        if np.isfinite(p["xy"][j, 0])
    ]
    r = {"track_id": [p["tid"]], "score": [p["score"]]}
    if annopoints == "list":
        r["annopoints"] = [{"point": pts}]
    elif annopoints == "empty_dict":
        r["annopoints"] = [{}]
    if p["head"] is not None:
        r.update(x1=[p["head"][0]], y1=[p["head"][1]], x2=[p["head"][2]], y2=[p["head"][3]])
    return r


def to_2017(frames, seq="000001_mpii_test", regions=None, no_annopoints=()):
    """frames: list of lists of person dicts; regions: {frame: [polygon [[x, y], ...]]}; no_annopoints:
    {(frame, index): "none" | "empty_dict"} people written without a point list."""
    al = []
    for t, people in enumerate(frames):
        e = {
            "image": [{"name": f"images/val/{seq}/{t:06d}.jpg"}],
            "imgnum": [t + 1],
            "annorect": [_rect17(p, dict(no_annopoints).get((t, i), "list")) for i, p in enumerate(people)],
        }
        if regions and t in regions:
            e["ignore_regions"] = [
                {"point": [{"x": [float(x)], "y": [float(y)]} for x, y in poly]} for poly in regions[t]
            ]
        al.append(e)
    return {"annolist": al}


def to_2018(frames, seq="000002_mpii_test", regions=None, with_scores=True):
    images, anns = [], []
    vid = int(seq.split("_")[0])
    for t, people in enumerate(frames):
        iid = 10000000000 + vid * 10000 + t
        im = {
            "id": iid,
            "file_name": f"images/val/{seq}/{t:06d}.jpg",
            "vid_id": seq.split("_")[0],
            "nframes": len(frames),
            "frame_id": iid,
            "is_labeled": bool(people),
        }
        if regions and t in regions:
            im["ignore_regions_x"] = [[float(x) for x, _ in poly] for poly in regions[t]]
            im["ignore_regions_y"] = [[float(y) for _, y in poly] for poly in regions[t]]
        images.append(im)
        for i, p in enumerate(people):
            kp, sc = [], []
            for j in _TABLE18:
                if j is None or not np.isfinite(p["xy"][j, 0]):
                    kp += [0, 0, 0]
                    sc.append(0.0)
                else:
                    kp += [float(p["xy"][j, 0]), float(p["xy"][j, 1]), 1]
                    sc.append(0.8)
            a = {
                "id": iid * 100 + i,
                "image_id": iid,
                "category_id": 1,
                "track_id": p["tid"],
                "keypoints": kp,
                "score": p["score"],
            }
            if with_scores:
                a["scores"] = sc
            if p["head"] is not None:
                x1, y1, x2, y2 = p["head"]
                a["bbox_head"] = [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)]
            anns.append(a)
    return {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(_KP18)}],
    }


def _zero(p):
    q = dict(p)
    q["xy"] = np.full((J, 2), np.nan)
    return q


def cases() -> dict:
    """``{name: (gt json dict, prediction json dict)}``; every name is one sequence (file ``<name>.json``)."""
    out = {}
    # 1. the case: one keypoint-less prediction (2018: all keypoints [0, 0, 0]) in 3 frames
    g = [[person(100, 100, 1)] for _ in range(3)]
    p = [[_zero(person(100, 100, 5))], [person(101, 100, 1)], [person(102, 101, 1)]]
    out["empty_pose"] = (to_2018(g, "000101_mpii_test"), to_2018(p, "000101_mpii_test"))
    # 2. MOTP with raw distances: two people close together, predictions within the threshold of both
    g = [[person(100, 100, 1, 0.5), person(108, 101, 2, 0.5)] for _ in range(4)]
    p = [
        [person(100.5, 100.2, 1, 0.5), person(107.3, 101.4, 2, 0.5)],
        [person(101.1, 99.6, 1, 0.5), person(108.9, 100.3, 2, 0.5)],
        [person(99.2, 100.9, 2, 0.5), person(107.7, 101.8, 1, 0.5)],  # ids swapped: switches
        [person(100.3, 100.1, 1, 0.5), person(108.2, 100.7, 2, 0.5)],
    ]
    out["motp_raw"] = (to_2017(g, "000102_mpii_test"), to_2017(p, "000102_mpii_test"))
    # 3. ignore regions: a keypoint-less prediction inside / outside a frame with regions, points inside removed,
    #    a gt person entirely inside (the frame's gt becomes empty), a point exactly on the polygon's edge
    region = [[0, 0], [60, 0], [60, 300], [0, 300]]
    g = [
        [person(100, 100, 1), person(30, 100, 2, 0.3)],  # person 2 entirely inside the region
        [person(100, 100, 1), person(200, 100, 3)],
        [person(30, 100, 2, 0.3)],  # only a person inside: gt empty after
        [person(100, 100, 1), person(200, 100, 3)],
        [person(100, 100, 1)],
    ]
    p = [
        [person(101, 101, 7), _zero(person(0, 0, 8)), person(31, 100, 9, 0.3)],
        [person(101, 101, 7), _zero(person(0, 0, 8)), person(199, 101, 10)],
        [person(31, 100, 9, 0.3)],
        [person(101, 101, 7), person(201, 101, 10)],
        [person(101, 101, 7)],
    ]
    # frame 3: the prediction's right wrist exactly on the region's edge x = 60 (boundary: not inside)
    p[3][0]["xy"][6] = [60.0, 160.0]
    g[3][0]["xy"][6] = [60.0, 160.0]
    out["ignore_regions"] = (
        to_2017(g, "000103_mpii_test", regions={0: [region], 2: [region], 3: [region]}),
        to_2017(p, "000103_mpii_test", regions={0: [region], 2: [region], 3: [region]}),
    )
    # 4. people without a point list (2017): no 'annopoints' / an empty dict (dropped), an empty point list (kept)
    g = [
        [person(100, 100, 1), person(300, 100, 2)],
        [person(100, 100, 1)],
        [person(100, 100, 1)],
        [person(100, 100, 1), person(300, 100, 2)],
    ]
    p = [
        [person(101, 100, 4), person(301, 100, 5)],
        [person(101, 100, 4), person(301, 100, 5)],
        [person(301, 100, 5)],
        [person(101, 100, 4), person(301, 100, 5)],
    ]
    g[1][0] = _zero(g[1][0])  # gt with an empty point list: kept, no joints
    g[2][0] = _zero(g[2][0])
    gt17 = to_2017(g, "000104_mpii_test", no_annopoints={(3, 1): "none"})
    pr17 = to_2017(p, "000104_mpii_test", no_annopoints={(0, 1): "empty_dict", (3, 0): "none"})
    out["no_points"] = (gt17, pr17)
    # 5. crossing people: switches, transfers, ascends and migrations of motmetrics' event log (2018)
    g, p = [], []
    for t in range(9):
        g.append([person(100 + 12 * t, 100, 1), person(220 - 12 * t, 104, 2), person(400, 100 + 3 * t, 3)])
        a, b = (1, 2) if t < 4 else (2, 1)
        q = [person(100.6 + 12 * t, 100.4, a), person(219.1 - 12 * t, 104.9, b)]
        if t != 5:
            q.append(person(400.8, 100.2 + 3 * t, 3 if t < 6 else 4))
        if t in (2, 7):
            q.append(person(600, 300, 6))
        p.append(q)
    out["crossing"] = (to_2018(g, "000105_mpii_test"), to_2018(p, "000105_mpii_test"))
    # 6. random crowds (2017 and 2018): missing joints, zeroed low-confidence people, id changes, false people
    for seed, fmt in ((0, 2017), (1, 2018), (2, 2017)):
        rng = np.random.default_rng(seed)
        n, frames = 5, 10
        pos = rng.uniform(80, 600, (n, 2))
        vel = rng.normal(0, 6, (n, 2))
        tid = np.arange(n) + 1
        g, p = [], []
        for t in range(frames):
            pos += vel
            gt_people, pr_people = [], []
            for k in range(n):
                if rng.random() < 0.1:
                    continue
                miss = tuple(np.flatnonzero(rng.random(J) < 0.15))
                gt_people.append(person(*np.round(pos[k], 2), k + 1, 0.7, missing=miss))
                if rng.random() < 0.15:
                    tid[k] = 50 + 10 * t + k  # a new predicted id from here on
                r = rng.random()
                if r < 0.12:
                    continue  # missed person
                pm = tuple(np.flatnonzero(rng.random(J) < 0.12))
                q = person(*np.round(pos[k], 2), int(tid[k]), 0.7, missing=pm, jitter=rng.normal(0, 3.5, (J, 2)))
                pr_people.append(_zero(q) if r < 0.2 else q)
            for _ in range(int(rng.integers(0, 2))):
                pr_people.append(person(*np.round(rng.uniform(80, 600, 2), 2), 990 + len(pr_people), 0.7))
            g.append(gt_people)
            p.append(pr_people)
        seq = f"{200 + seed:06d}_mpii_test"
        enc = to_2017 if fmt == 2017 else to_2018
        out[f"random{seed}"] = (enc(g, seq), enc(p, seq))
    return out


def write_case(root: str, names=None) -> tuple[str, str]:
    """Write ``<root>/gt/<name>.json`` and ``<root>/pred/<name>.json`` for the chosen cases; returns the folders."""
    gt_dir, pr_dir = os.path.join(root, "gt"), os.path.join(root, "pred")
    os.makedirs(gt_dir, exist_ok=True)
    os.makedirs(pr_dir, exist_ok=True)
    for name, (g, p) in cases().items():
        if names is not None and name not in names:
            continue
        with open(os.path.join(gt_dir, f"{name}.json"), "w") as f:
            json.dump(g, f)
        with open(os.path.join(pr_dir, f"{name}.json"), "w") as f:
            json.dump(p, f)
    return gt_dir, pr_dir
