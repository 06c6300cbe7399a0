"""Drawing helpers (unitrack.viz): id colours, boxes and trails, mask overlays, skeletons."""

from __future__ import annotations

import numpy as np
import pytest

from unitrack import viz

H, W = 80, 100


def _blank(v: int = 0) -> np.ndarray:
    return np.full((H, W, 3), v, np.uint8)


def test_id_color_stable_and_distinct():
    assert viz.id_color(7) == viz.id_color(7) == viz.id_color(np.int64(7))
    assert viz.id_color("car-1") == viz.id_color("car-1")
    cols = [viz.id_color(i) for i in range(1, 21)]
    assert len(set(cols)) == 20
    # consecutive ids are far apart in colour (golden-ratio hues)
    for a, b in zip(cols, cols[1:]):
        assert np.abs(np.subtract(a, b)).sum() > 60
    assert all(0 <= c <= 255 for col in cols for c in col)


def test_draw_boxes_colours_and_input_untouched():
    img = _blank()
    out = viz.draw_boxes(img, [[10, 20, 30, 40]], ids=[5], thickness=1, show_ids=False)
    assert img.sum() == 0 and out is not img
    col = np.array(viz.id_color(5))
    np.testing.assert_array_equal(out[40, 10], col)  # left edge x=10
    np.testing.assert_array_equal(out[40, 40], col)  # right edge x=10+30
    np.testing.assert_array_equal(out[20, 25], col)  # top edge y=20
    assert out[40, 25].sum() == 0  # inside untouched
    out2 = viz.draw_boxes(img, [[10, 20, 30, 40]], ids=[6], thickness=1, show_ids=False)
    assert not np.array_equal(out2[40, 10], col)


def test_draw_boxes_labels_scores_empty_and_errors():
    img = _blank()
    labelled = viz.draw_boxes(img, [[30, 30, 20, 20]], ids=[1], scores=[0.9])
    plain = viz.draw_boxes(img, [[30, 30, 20, 20]], ids=[1], show_ids=False)
    assert (labelled != plain).any()  # the id/score label adds pixels
    np.testing.assert_array_equal(viz.draw_boxes(img, np.zeros((0, 4))), img)
    with pytest.raises(ValueError, match="ids"):
        viz.draw_boxes(img, [[0, 0, 5, 5]], ids=[1, 2])
    with pytest.raises(ValueError, match=r"boxes_xywh.*\[N, 4\]"):
        viz.draw_boxes(img, [[0, 0, 5]])
    with pytest.raises(ValueError, match="RGB uint8"):
        viz.draw_boxes(np.zeros((H, W), np.uint8), [[0, 0, 5, 5]])


def test_trail_history_and_drawing():
    th = viz.TrailHistory(length=3)
    for t in range(5):
        th.update([[10 + 10 * t, 10, 10, 10]], [1])
    pts = th.trails()[1]
    np.testing.assert_allclose(pts, [[35, 15], [45, 15], [55, 15]])  # last 3 centres
    th.update(np.zeros((0, 4)), [])
    th.update(np.zeros((0, 4)), [])
    th.update(np.zeros((0, 4)), [])
    assert 1 not in th.trails()  # forgotten after `length` frames without it
    th2 = viz.TrailHistory(10)
    for t in range(4):
        th2.update([[5 + 15 * t, 50, 8, 8]], [2])
    out = viz.draw_boxes(_blank(), np.zeros((0, 4)), [], trails=th2)
    np.testing.assert_array_equal(out[54, 25], viz.id_color(2))  # on the trail between centres (9,54) and (24,54)


def test_overlay_mask_palette_blend_and_contours():
    img = _blank(100)
    m = np.zeros((H, W), np.uint8)
    m[10:30, 10:40] = 1
    m[50:70, 50:90] = 3
    out = viz.overlay_mask(img, m, alpha=0.5)
    pal = viz.davis_palette(4)
    np.testing.assert_array_equal(out[20, 25], np.round(0.5 * 100 + 0.5 * pal[1].astype(float)))
    np.testing.assert_array_equal(out[60, 70], np.round(0.5 * 100 + 0.5 * pal[3].astype(float)))
    np.testing.assert_array_equal(out[10, 25], pal[1])  # border pixel drawn solid
    np.testing.assert_array_equal(out[40, 45], img[40, 45])  # background untouched
    custom = viz.overlay_mask(img, m, alpha=1.0, colors={1: (1, 2, 3)}, contours=False)
    np.testing.assert_array_equal(custom[20, 25], (1, 2, 3))
    np.testing.assert_array_equal(custom[60, 70], viz.id_color(3))


def test_overlay_mask_errors():
    with pytest.raises(ValueError, match=r"image size 80x100.*\[40, 50\]"):
        viz.overlay_mask(_blank(), np.zeros((40, 50), np.uint8))
    with pytest.raises(ValueError, match="alpha"):
        viz.overlay_mask(_blank(), np.zeros((H, W), np.uint8), alpha=2)


def test_mask_contours():
    m = np.zeros((6, 6), np.uint8)
    m[1:5, 1:5] = 2
    e = viz.mask_contours(m) & (m != 0)
    assert e[1, 1] and e[1, 3] and not e[2, 2] and not e[3, 3]


@pytest.mark.parametrize("name,nj", [("jhmdb", 15), ("posetrack", 15), ("posetrack18", 17)])
def test_skeleton_limbs_drawn(name, nj):
    joints_names, limbs = viz.SKELETONS[name]
    assert len(joints_names) == nj
    assert all(0 <= a < nj and 0 <= b < nj for a, b in limbs)
    rng = np.random.RandomState(1)
    j = rng.uniform(5, 75, (nj, 2))
    out = viz.draw_skeleton(_blank(), j, skeleton=name, color=(0, 200, 0), radius=1)
    a, b = limbs[0]
    mid = np.round((j[a] + j[b]) / 2).astype(int)
    assert out[mid[1], mid[0], 1] > 0  # the first limb's midpoint is painted


def test_skeleton_posetrack_spec_limbs():
    # SPEC's skltn2mask limb list (0-based) is part of the PoseTrack skeleton
    spec = {
        (9, 10),
        (10, 11),
        (8, 7),
        (7, 6),
        (9, 12),
        (8, 12),
        (12, 14),
        (9, 3),
        (3, 4),
        (4, 5),
        (8, 2),
        (2, 1),
        (1, 0),
    }
    assert spec <= set(viz.POSETRACK_LIMBS)
    # the 17-keypoint variant connects the same named joints
    names15 = {tuple(sorted((viz.POSETRACK_JOINTS[a], viz.POSETRACK_JOINTS[b]))) for a, b in viz.POSETRACK_LIMBS}
    names18 = {
        tuple(sorted((viz.POSETRACK18_KEYPOINTS[a], viz.POSETRACK18_KEYPOINTS[b]))) for a, b in viz.POSETRACK18_LIMBS
    }
    assert names15 == names18


def test_skeleton_missing_joints_skipped_and_errors():
    j = np.full((15, 2), 40.0)
    j[:, 0] = np.linspace(10, 90, 15)
    j[3] = (-1, -1)  # lost joint (pose propagation's -1)
    j[4] = (np.nan, np.nan)  # missing joint
    out = viz.draw_skeleton(_blank(), j, skeleton="jhmdb", color=(255, 0, 0))
    assert out.sum() > 0
    with pytest.raises(ValueError, match="15 joints"):
        viz.draw_skeleton(_blank(), np.zeros((17, 2)), skeleton="jhmdb")
    with pytest.raises(ValueError, match="skeleton"):
        viz.draw_skeleton(_blank(), np.zeros((15, 2)), skeleton="coco-wholebody")
    with pytest.raises(ValueError, match=r"joints.*\[J, 2\]"):
        viz.draw_skeleton(_blank(), np.zeros(15))


def test_draw_text():
    out = viz.draw_text(_blank(), "frame 3", (2, 2))
    assert out[2:20, 2:60].sum() > 0 and out[60:, :].sum() == 0
