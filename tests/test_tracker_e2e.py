"""End-to-end: synthetic feature maps with two crossing objects keep their identities (boxes, masks, poses)."""

import numpy as np
import pytest
import torch

from unitrack.association import AssociationTracker, mot_config, mots_config, posetrack_config

C, H, W = 8, 240, 320
T = 24


pytestmark = pytest.mark.usefixtures("one_thread")


def textured(ch: int, g: torch.Generator) -> torch.Tensor:
    v = 0.2 * torch.rand(C, generator=g)
    v[ch] = 1.0
    return v


def scene(t: int):
    """Object 0 moves right along y=60, object 1 moves left along y=100; they overlap around t = 12."""
    x0 = 20.0 + 10.0 * t
    x1 = 260.0 - 10.0 * t
    return [(x0, 60.0, 40.0, 96.0), (x1, 100.0, 40.0, 96.0)]


def paint(boxes, order, g):
    f = torch.zeros(C, H // 8, W // 8)
    f[C - 1] = 0.1
    for k in order:  # later objects occlude earlier ones
        x, y, w, h = boxes[k]
        r0, r1, c0, c1 = int(y // 8), int((y + h) // 8), int(x // 8), int((x + w) // 8)
        f[:, r0:r1, c0:c1] = textured(k, g)[:, None, None] + 0.05 * torch.rand(C, r1 - r0, c1 - c0, generator=g)
    return f


def run(kind: str):
    g = torch.Generator().manual_seed(3)
    rng = np.random.default_rng(3)
    cfg = {"boxes": mot_config(), "masks": mots_config(), "poses": posetrack_config(frame_rate=30)}[kind]
    tr = AssociationTracker(cfg)
    owner = {}
    for t in range(T):
        boxes = scene(t)
        feat = paint(boxes, [0, 1] if t % 2 else [1, 0], g)
        perm = rng.permutation(2)  # observation order changes every frame
        if kind == "boxes":
            out = tr.update(feat, np.array(boxes)[perm], np.array([0.9, 0.8]))
        elif kind == "masks":
            masks = np.zeros((2, H, W), np.uint8)
            for i, k in enumerate(perm):
                x, y, w, h = (int(v) for v in boxes[k])
                masks[i, y : y + h, x : x + w] = 1
            out = tr.update(feat, masks=masks)
        else:
            poses = []
            for k in perm:
                x, y, w, h = boxes[k]
                p = np.full((15, 3), np.nan)
                p[2, :2], p[3, :2] = (x + 8, y + 60), (x + 32, y + 60)  # hips
                p[8, :2], p[9, :2], p[12, :2] = (x + 8, y + 20), (x + 32, y + 20), (x + 20, y + 8)  # shoulders, neck
                p[0, :2], p[5, :2] = (x + 8, y + 92), (x + 32, y + 92)  # ankles
                p[1, :2], p[4, :2] = (x + 8, y + 76), (x + 32, y + 76)  # knees
                poses.append(p)
            out = tr.update(feat, poses=poses, image_size=(H, W))
        assert len(out) == 2, f"frame {t}: {out}"
        for trk in out:
            obj = int(perm[trk.det_index])
            if t == 0:
                owner[trk.track_id] = obj
            assert owner.get(trk.track_id) == obj, f"{kind}: identity switch at frame {t}"
    assert sorted(owner) == [1, 2]


def test_crossing_boxes_keep_identities():
    run("boxes")


def test_crossing_masks_keep_identities():
    run("masks")


def test_crossing_poses_keep_identities():
    run("poses")
