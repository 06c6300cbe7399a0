"""The house rules of the framework (issue 14): one source per table, reader and task list."""
from __future__ import annotations

import numpy as np


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
