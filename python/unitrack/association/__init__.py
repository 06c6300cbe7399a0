"""unitrack.association: the association primitive (MOT / MOTS / PoseTrack).

Kalman filter (:mod:`.kalman`), IoU / motion fusion / cost-limited assignment (:mod:`.matching`), object features
(:mod:`.features`: RoIAlign 4x10, mask and pose feature sets), the JDE tracker state machine
(:class:`AssociationTracker`) and the stateless per-frame call :func:`associate`.
"""

from __future__ import annotations

from .api import associate, feature_sets, rsm_cost
from .config import (
    FIRST_STAGE_THRESH,
    IOU_STAGE_THRESH,
    MASK_DUP_IOU,
    RSM_TEMPERATURE,
    AssociationConfig,
    mot_config,
    mots_config,
    posetrack_config,
    womotion,
)
from .features import (
    mask2box,
    mask_features,
    pose_to_box,
    pose_to_mask,
    poses_to_masks,
    remove_duplicated_box,
    roi_align,
)
from .kalman import KalmanFilter, chi2inv95, tlbr_to_tlwh, tlwh_to_tlbr, tlwh_to_xyah, xyah_to_tlwh
from .matching import fuse_motion, iou, iou_distance, linear_assignment
from .tracker import AssociationTracker, Track, TrackState

__all__ = [
    "associate",
    "feature_sets",
    "rsm_cost",
    "AssociationConfig",
    "mot_config",
    "mots_config",
    "posetrack_config",
    "womotion",
    "FIRST_STAGE_THRESH",
    "IOU_STAGE_THRESH",
    "MASK_DUP_IOU",
    "RSM_TEMPERATURE",
    "mask2box",
    "mask_features",
    "pose_to_box",
    "pose_to_mask",
    "poses_to_masks",
    "remove_duplicated_box",
    "roi_align",
    "KalmanFilter",
    "chi2inv95",
    "tlbr_to_tlwh",
    "tlwh_to_tlbr",
    "tlwh_to_xyah",
    "xyah_to_tlwh",
    "fuse_motion",
    "iou",
    "iou_distance",
    "linear_assignment",
    "AssociationTracker",
    "Track",
    "TrackState",
]
