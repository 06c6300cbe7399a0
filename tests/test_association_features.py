"""Object features: RoIAlign vs the literal per-sample loop (conftest ``literal_roi_align``), mask feature sets vs
the literal reference recipe, mask2box, duplicate suppression, pose rasterisation."""

import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unitrack.association import mask2box, mask_features, pose_to_box, pose_to_mask, remove_duplicated_box, roi_align
from unitrack.association.features import EMPTY_MASK_BOX

pytestmark = pytest.mark.usefixtures("one_thread")


BOXES = torch.tensor(
    [
        [1.0, 1.0, 6.0, 8.0],  # inside
        [-3.0, -2.0, 4.5, 3.5],  # crosses the top-left border
        [10.2, 5.1, 16.0, 11.0],  # crosses the bottom-right border (W=13, H=9)
        [4.0, 4.0, 4.3, 4.2],  # smaller than one cell -> size clamped to 1
        [0.0, 0.0, 13.0, 9.0],  # whole map
        [2.5, 0.5, 12.7, 2.0],  # wide and flat: several samples per column bin
        [20.0, 20.0, 25.0, 30.0],  # outside
    ]
)


@pytest.mark.parametrize("kw", [dict(), dict(sampling_ratio=2), dict(aligned=True), dict(spatial_scale=0.5)])
def test_roi_align_matches_naive(kw, dtype, literal_roi_align):
    feat = torch.randn(3, 9, 13, dtype=dtype)
    boxes = BOXES * (2.0 if kw.get("spatial_scale") == 0.5 else 1.0)
    got = roi_align(feat, boxes, (4, 10), **kw)
    ref = torch.from_numpy(
        literal_roi_align(
            feat,
            boxes,
            4,
            10,
            scale=kw.get("spatial_scale", 1.0),
            sampling_ratio=kw.get("sampling_ratio", -1),
            aligned=kw.get("aligned", False),
        )
    )
    assert got.shape == (7, 3, 4, 10) and got.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(got.double(), ref, rtol=tol, atol=tol)
    assert got[-1].abs().max() == 0  # a box beyond [-1, H] x [-1, W] samples zeros


def test_roi_align_constant_map_and_chunking(device):
    feat = torch.full((2, 20, 30), 3.0, device=device)
    boxes = torch.tensor([[0, 0, 29, 19], [5, 5, 9, 7]] * 5, dtype=torch.float32)
    a = roi_align(feat[None], boxes)
    assert a.device.type == device.type
    torch.testing.assert_close(a, torch.full_like(a, 3.0))
    b = roi_align(torch.randn(2, 20, 30), boxes, _max_elems=1)  # forces recursive chunking
    c = roi_align(torch.randn(2, 20, 30), boxes[:0])
    assert b.shape == (10, 2, 4, 10) and c.shape == (0, 2, 4, 10)


def test_roi_align_chunking_equal():
    feat = torch.randn(4, 15, 21, dtype=torch.float64)
    boxes = torch.tensor([[0, 0, 20, 14], [3, 2, 5, 6], [-1, 4, 8, 9], [7, 7, 7.5, 7.5]], dtype=torch.float64)
    torch.testing.assert_close(roi_align(feat, boxes), roi_align(feat, boxes, _max_elems=1))


def test_roi_align_bad_input():
    with pytest.raises(ValueError, match="boxes"):
        roi_align(torch.zeros(2, 5, 5), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="feat_map"):
        roi_align(torch.zeros(5, 5), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="NaN"):
        roi_align(torch.zeros(2, 5, 5), torch.tensor([[0, 0, float("nan"), 1]]))


# ------------------------------------------------------------------------------------------------ masks
def reference_mask_features(feat, masks, max_area):
    """SPEC appendix: interpolate the *whole* masked map, keep positions with the resized mask >= 0.5."""
    C, h, w = feat.shape
    obs = F.interpolate(masks[:, None].float(), size=(h, w), mode="nearest")
    out = []
    for ob in obs:
        a = float(ob.sum())
        s = math.sqrt(max_area / a) if a > max_area else 1.0
        f = F.interpolate((ob * feat)[None], scale_factor=s, mode="bilinear", align_corners=False)
        m = F.interpolate(ob[None], scale_factor=s, mode="nearest")
        out.append(f[0][:, m[0, 0] >= 0.5].T)
    return out


def test_mask_features_match_reference_recipe():
    g = torch.Generator().manual_seed(1)
    feat = torch.rand(6, 30, 40, generator=g)
    H, W = 240, 320  # masks at image resolution (stride 8)
    masks = torch.zeros(4, H, W, dtype=torch.uint8)
    masks[0, 16:80, 24:72] = 1  # 8x6 = 48 cells, below max
    masks[1, 8:232, 40:300] = 1  # large: down-scaled
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    masks[2] = (((yy - 120) ** 2 + (xx - 160) ** 2) < 90**2).to(torch.uint8)  # disc, down-scaled
    masks[3, 100:180, 10:150] = 1
    sets, fm, valid = mask_features(feat, masks, max_mask_area=60)
    ref = reference_mask_features(feat, masks, 60)
    assert valid.all() and fm.shape == (4, 30, 40)
    for s, r in zip(sets, ref):
        assert s.shape == r.shape
        torch.testing.assert_close(s, r, rtol=1e-5, atol=1e-6)
    assert sets[1].shape[0] <= 60 + 10 and sets[0].shape[0] == 48


def test_mask_features_empty_mask_is_deterministic():
    feat = torch.rand(5, 10, 10)
    masks = torch.zeros(2, 80, 80)
    masks[1, :16, :16] = 1
    sets, fm, valid = mask_features(feat, masks)
    assert valid.tolist() == [False, True]
    assert sets[0].shape == (0, 5) and sets[1].shape == (4, 5)
    sets2, _, _ = mask_features(feat, masks)
    assert torch.equal(sets[1], sets2[1])


def test_mask2box_hand_values():
    m = torch.zeros(2, 10, 12)
    m[0, 2:5, 3:8] = 1  # rows 2..4, cols 3..7: centre (3, 5); MAD rows 2/3 -> 1, cols 1.2
    b = mask2box(m)
    np.testing.assert_allclose(b[0], [5 - 2.4, 3 - 2, 5 + 2.4, 3 + 2])
    np.testing.assert_array_equal(b[1], EMPTY_MASK_BOX)


def test_remove_duplicated_box_index_order():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9.5], [0, 0, 10, 9], list(EMPTY_MASK_BOX), [50, 50, 60, 60]])
    # 1 overlaps 0 (IoU .95) and 2 overlaps 1 (.947) and 0 (.9): index order keeps 0, drops 1 and 2, drops the
    # sentinel, keeps 4.
    assert remove_duplicated_box(boxes, 0.7).tolist() == [0, 4]
    # A-B and B-C duplicates but not A-C: B goes (dropped by A), C stays although it duplicates B.
    chain = np.array([[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]], float)  # IoU(A,B)=7/13, IoU(A,C)=4/16
    assert remove_duplicated_box(chain, 0.5).tolist() == [0, 2]
    assert remove_duplicated_box(np.zeros((0, 4))).tolist() == []


# ------------------------------------------------------------------------------------------------ poses
def _pose():
    p = np.full((15, 3), np.nan)
    # trunk joints 2 (r hip), 3 (l hip), 9 (l shoulder), 12 (neck), 8 (r shoulder): a convex pentagon
    p[2, :2], p[3, :2], p[9, :2], p[12, :2], p[8, :2] = (10.7, 40.2), (30, 40), (30, 10), (20, 5), (10, 10)
    return p


def test_pose_to_mask_hand_checks():
    p = _pose()
    m = pose_to_mask(p, (60, 80))
    assert m.dtype == np.uint8 and m.shape == (60, 80) and set(np.unique(m)) <= {0, 1}
    assert m[25, 20] == 1  # inside the trunk polygon
    assert m[55, 70] == 0 and m[25, 50] == 0
    # limb (8, 2) is the segment x = 10 from y = 10 to 40, thickness max(int(35/20), 8) = 8
    assert m[25, 7] == 1 and m[25, 1] == 0
    # only two joints: no polygon, one line of thickness 8 between the int-truncated points
    q = np.full((15, 2), np.nan)
    q[0], q[1] = (5.9, 30.0), (70.2, 30.0)
    m2 = pose_to_mask(q, (60, 80))
    expect = np.zeros((60, 80), np.uint8)
    cv2.line(expect, (5, 30), (70, 30), 1, 8)
    assert np.array_equal(m2, expect) and m2[30, 40] == 1 and m2[10, 40] == 0
    assert pose_to_mask(np.full((15, 2), np.nan), (60, 80)).sum() == 0


def test_pose_to_box():
    np.testing.assert_array_equal(pose_to_box(_pose()), [10, 5, 30, 40])
    one = np.full((15, 2), np.nan)
    one[4] = (7.9, 3.2)
    np.testing.assert_array_equal(pose_to_box(one), [7, 3, 17, 13])  # degenerate extents +10
    assert pose_to_box(np.full((15, 2), np.nan)) is None
    with pytest.raises(ValueError, match="pose"):
        pose_to_box(np.zeros((14, 2)))
    bad = _pose()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        pose_to_mask(bad, (10, 10))


def test_roi_align_matches_torchvision_when_available(device):
    """Where torchvision is installed (not beside our torch pin here, but e.g. on GPU machines)."""
    tv = pytest.importorskip("torchvision.ops")
    g = torch.Generator().manual_seed(0)
    for aligned in (False, True):
        for sr in (-1, 2):
            feat = torch.randn(1, 16, 76, 136, generator=g)
            xy = torch.rand(40, 2, generator=g) * torch.tensor([1128.0, 648.0]) - 20
            boxes = torch.cat([xy, xy + torch.rand(40, 2, generator=g) * torch.tensor([90.0, 250.0]) + 0.5], 1)
            f, b = feat.to(device), boxes.to(device)
            ref = tv.roi_align(f, [b], output_size=(4, 10), spatial_scale=1 / 8, sampling_ratio=sr, aligned=aligned)
            got = roi_align(f, b, (4, 10), spatial_scale=1 / 8, sampling_ratio=sr, aligned=aligned)
            torch.testing.assert_close(got, ref, rtol=1e-5, atol=2e-5)
