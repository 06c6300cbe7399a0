"""Constructed DAVIS cases shared by tests/test_metrics_davis.py and the out-of-repo run of the official
davis2017-evaluation that produced the expected values kept in that test (see its comments).

Everything is geometric (no random numbers), so both sides build exactly the same masks."""

from __future__ import annotations

import os

import numpy as np


def ellipse(shape, cy, cx, ry, rx):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def sequences() -> dict:
    """``{name: (gt [T, H, W] uint8 id maps, res [T, H, W] uint8)}``: ``res`` is what a tracker writes."""
    out = {}
    # "blobs": 37 x 61 (tolerance 1 px), 8 frames, 2 objects, void (255) pixels on the gt
    T, H, W = 8, 37, 61
    gt = np.zeros((T, H, W), np.uint8)
    res = np.zeros((T, H, W), np.uint8)
    for t in range(T):
        gt[t][ellipse((H, W), 12 + t, 15 + 2 * t, 6, 9)] = 1
        if t != 4:  # object 2 absent from the gt in frame 4
            gt[t][ellipse((H, W), 26, 45 - t, 5 + t % 3, 7)] = 2
        gt[t, 0:2, 30:40] = 255
        res[t][ellipse((H, W), 13 + t, 16 + 2 * t + (t % 2), 6, 8 + t % 2)] = 1
        if t not in (3, 4):  # object 2 lost in frame 3; absent from both in frame 4
            res[t][ellipse((H, W), 26 + (t % 3), 44 - t, 6, 7)] = 2
        if t == 5:
            res[t, 30:34, 2:6] = 2  # a stray blob of object 2
    out["blobs"] = (gt, res)
    # "big": 480 x 854 (tolerance 8 px), 4 frames, 1 object; a ring in the gt
    T, H, W = 4, 480, 854
    gt = np.zeros((T, H, W), np.uint8)
    res = np.zeros((T, H, W), np.uint8)
    for t in range(T):
        ring = ellipse((H, W), 240, 400 + 10 * t, 150, 220) & ~ellipse((H, W), 240, 400 + 10 * t, 60, 90)
        gt[t][ring] = 1
        res[t][ellipse((H, W), 236, 405 + 10 * t, 148, 226) & ~ellipse((H, W), 240, 398 + 10 * t, 52, 98)] = 1
    out["big"] = (gt, res)
    return out


def write_layout(davis_root: str, results_dir: str) -> None:
    """Write the cases as a DAVIS-2017 root (ImageSets/2017/val.txt, JPEGImages/480p, Annotations/480p) and a
    results folder (frames 1..T-2, the ones the semi-supervised protocol reads), all as indexed PNGs."""
    from PIL import Image

    seqs = sequences()
    os.makedirs(os.path.join(davis_root, "ImageSets", "2017"), exist_ok=True)
    with open(os.path.join(davis_root, "ImageSets", "2017", "val.txt"), "w") as f:
        f.write("\n".join(seqs) + "\n")
    pal = np.zeros((256, 3), np.uint8)
    pal[1], pal[2], pal[255] = (128, 0, 0), (0, 128, 0), (224, 224, 192)

    def save(path, m):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        im = Image.fromarray(m, mode="P")
        im.putpalette(pal.reshape(-1).tolist())
        im.save(path)

    for name, (gt, res) in seqs.items():
        for t in range(len(gt)):
            jd = os.path.join(davis_root, "JPEGImages", "480p", name)
            os.makedirs(jd, exist_ok=True)
            Image.fromarray(np.zeros((*gt.shape[1:], 3), np.uint8)).save(os.path.join(jd, f"{t:05d}.jpg"))
            save(os.path.join(davis_root, "Annotations", "480p", name, f"{t:05d}.png"), gt[t])
            if 0 < t < len(gt) - 1:
                save(os.path.join(results_dir, name, f"{t:05d}.png"), res[t])
