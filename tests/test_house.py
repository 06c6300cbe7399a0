"""The house rules of the framework (issue 14): one source per table, reader and task list."""
from __future__ import annotations

import numpy as np
import pytest


def test_skeleton_and_palette_tables_have_one_source():
    from unitrack import viz
    from unitrack.association import features
    from unitrack.data import posetrack, skeletons
    from unitrack.data.synthetic import render, scenes, writers

    # every module re-uses the objects of unitrack.data.skeletons, none keeps a copy
    assert viz.JHMDB_JOINTS is skeletons.JHMDB_JOINTS and render.JHMDB_JOINTS is skeletons.JHMDB_JOINTS
    assert viz.POSETRACK_JOINTS is skeletons.POSETRACK_JOINTS and posetrack.POSETRACK_JOINTS is skeletons.POSETRACK_JOINTS
    assert posetrack.POSETRACK18_KEYPOINTS is skeletons.POSETRACK18_KEYPOINTS
    assert scenes.POSETRACK_KEYPOINTS is skeletons.POSETRACK18_KEYPOINTS
    assert viz.SKELETONS is skeletons.SKELETONS and viz.POSETRACK18_LIMBS is skeletons.POSETRACK18_LIMBS
    assert features.POSE_LIMBS is skeletons.POSETRACK_MASK_LIMBS and features.POSE_TRUNK is skeletons.POSETRACK_TRUNK
    # the drawn skeleton is the rasterised one plus head_bottom -- nose
    assert skeletons.POSETRACK_LIMBS[:-1] == skeletons.POSETRACK_MASK_LIMBS
    assert {skeletons.POSETRACK_JOINTS[i] for i in skeletons.POSETRACK_LIMBS[-1]} == {"head_bottom", "nose"}
    # the synthetic writers' palette and PoseTrack-18 skeleton are the shared ones
    assert writers.davis_palette() == skeletons.palette_bytes()
    assert writers.POSETRACK_SKELETON == [list(p) for p in skeletons.POSETRACK18_SKELETON]
    np.testing.assert_array_equal(viz.davis_palette(4), skeletons.davis_palette(4))


def test_one_iou_module_serves_association_and_metrics():
    from unitrack import iou
    from unitrack.association import iou as assoc_iou
    from unitrack.association import matching, tracker
    from unitrack.metrics import mot, mots

    assert mot.box_iou_xywh is iou.box_iou_xywh and mots.mask_iou is iou.mask_iou and matching.box_iou is iou.box_iou
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 50, (7, 2))
    a = np.concatenate([a, a + rng.uniform(0, 30, (7, 2))], axis=1)
    b = rng.uniform(0, 50, (5, 2))
    b = np.concatenate([b, b + rng.uniform(0, 30, (5, 2))], axis=1)
    want = iou.iou_plus1(a, b)
    # the validated public IoU and the tracker's unvalidated one (Kalman boxes) are the same numbers on valid boxes
    np.testing.assert_array_equal(assoc_iou(a, b), want)
    np.testing.assert_array_equal(iou.iou_plus1(a, b, validate=False), want)

    class _T:  # what _iou_cost reads from a track
        def __init__(self, tlbr):
            self.tlbr = tlbr

    cost = tracker._iou_cost([_T(x) for x in a], [_T(x) for x in b])
    np.testing.assert_array_equal(cost, 1.0 - want)
    # a degenerate Kalman box with a non-positive union has IoU 0 instead of a division by zero
    odd = np.array([[10.0, 10.0, 9.0, 20.0]])  # x2 = x1 - 1: zero area, zero union
    assert iou.iou_plus1(odd, odd, validate=False)[0, 0] == 0.0
    with pytest.raises(ValueError, match="atlbrs"):
        iou.iou_plus1(odd, odd)
