"""Typed per-task defaults of the association tracker (SPEC §5.1, non-womotion configs).

Only keys the reference actually reads are fields (``first_stage_thres``, ``iou_thres``, ``nms_thres``,
``prop_flag``, ``only_position`` are ignored by the reference and do not exist here). The stage thresholds the
reference hard-codes are module constants below. Fields after ``# -- unitrack`` are ours (not in the reference).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

#: Stage-1 (appearance + motion) cost limit, hard-coded in the reference.
FIRST_STAGE_THRESH = 0.7
#: Stage-2 (IoU) cost limit, hard-coded in the reference.
IOU_STAGE_THRESH = 0.5
#: RSM softmax temperature (the reference's factor ``tmp=100``).
RSM_TEMPERATURE = 0.01
#: IoU above which a later mask observation is dropped as a duplicate of an earlier one (MOTS).
MASK_DUP_IOU = 0.7

ObsType = Literal["boxes", "masks", "poses"]


@dataclass(frozen=True)
class AssociationConfig:
    """Configuration of :class:`~unitrack.association.tracker.AssociationTracker`.

    Attributes:
        obs_type: ``'boxes'`` (MOT), ``'masks'`` (MOTS) or ``'poses'`` (PoseTrack).
        track_buffer: frames a lost track is kept, at 30 fps; ``buffer = int(frame_rate / 30 * track_buffer)``.
        frame_rate: sequence frame rate (MOT/MOTS: from ``seqinfo.ini``; PoseTrack config: 6).
        conf_thres: boxes: observations need ``score > conf_thres``, new tracks ``score >= conf_thres``.
        dup_iou_thres: tracked/lost pairs with IoU distance below this are duplicates (the younger one is dropped).
        confirm_iou_thres: cost limit (IoU distance) of the confirmation stage of unconfirmed box tracks.
        use_kalman: run the Kalman filter (prediction, IoU stage, reported boxes).
        asso_with_motion: fuse motion into the stage-1 cost (False forces lambda 1 and no gating).
        motion_lambda: weight of the appearance cost in the fusion ``lambda*C + (1-lambda)*d2``.
        motion_gated: set the cost to inf where ``d2 > chi2inv95[4]``.
        feat_size: RoIAlign output ``(height, width)`` for boxes (4 rows x 10 columns).
        max_mask_area: masks/poses: feature cells above which an object's mask is down-scaled.
        pad_like_reference: masks/poses: zero-pad every feature set to the largest one on its side before the RSM,
            the padded zero points taking part in the softmaxes exactly as in the reference (True, parity); False
            passes the ragged sets (padded points are not points of the object).
        stride: feature-map stride; boxes given in image pixels are divided by it for RoIAlign unless the caller
            passes ``feat_boxes``.
        expired_stays_one_frame: reproduce the reference's bookkeeping quirk (SPEC §5.5 step 8, §9.14): a lost
            track that expires in frame t stays in the lost pool until t+1's bookkeeping and can be re-activated
            once more in frame t+1 (True, parity). False removes it in frame t.
        min_box_area, img_size: MOT head keys (output filter ``w*h > min_box_area``, letterbox ``(W, H)``); read
            by the head, not by the tracker.
    """

    obs_type: ObsType = "boxes"
    track_buffer: int = 30
    frame_rate: float = 30
    conf_thres: float = 0.5
    dup_iou_thres: float = 0.15
    confirm_iou_thres: float = 0.7
    use_kalman: bool = True
    asso_with_motion: bool = True
    motion_lambda: float = 0.98
    motion_gated: bool = True
    feat_size: tuple[int, int] = (4, 10)
    max_mask_area: int = 200
    min_box_area: float | None = None
    img_size: tuple[int, int] | None = None
    # -- unitrack
    pad_like_reference: bool = True
    stride: int = 8
    expired_stays_one_frame: bool = True

    def __post_init__(self) -> None:
        if self.obs_type not in ("boxes", "masks", "poses"):
            raise ValueError(f"obs_type must be 'boxes', 'masks' or 'poses', got {self.obs_type!r}")
        if self.track_buffer < 0 or self.frame_rate <= 0:
            raise ValueError(
                f"track_buffer must be >= 0 and frame_rate > 0, got {self.track_buffer}, {self.frame_rate}"
            )
        if not 0.0 <= self.motion_lambda <= 1.0:
            raise ValueError(f"motion_lambda must be in [0, 1], got {self.motion_lambda}")
        if self.max_mask_area <= 0:
            raise ValueError(f"max_mask_area must be positive, got {self.max_mask_area}")
        if len(self.feat_size) != 2 or min(self.feat_size) <= 0:
            raise ValueError(f"feat_size must be (height, width) > 0, got {self.feat_size}")
        for name in ("dup_iou_thres", "confirm_iou_thres"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def buffer_size(self) -> int:
        """Maximum frames a track may stay lost: ``int(frame_rate / 30 * track_buffer)``."""
        return int(self.frame_rate / 30.0 * self.track_buffer)

    def replace(self, **changes) -> "AssociationConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)


def mot_config(**overrides) -> AssociationConfig:
    """MOT-16 defaults (cfg section ``mot``): boxes, gated motion (lambda 0.98), 4x10 RoIAlign."""
    base = AssociationConfig(
        obs_type="boxes",
        track_buffer=30,
        frame_rate=30,
        conf_thres=0.5,
        dup_iou_thres=0.15,
        confirm_iou_thres=0.7,
        use_kalman=True,
        asso_with_motion=True,
        motion_lambda=0.98,
        motion_gated=True,
        feat_size=(4, 10),
        min_box_area=200,
        img_size=(1088, 608),
    )
    return base.replace(**overrides)


def mots_config(**overrides) -> AssociationConfig:
    """MOTS-20 defaults (cfg section ``mots``): masks, ungated motion (lambda 0.98), max_mask_area 200."""
    base = AssociationConfig(
        obs_type="masks",
        track_buffer=30,
        frame_rate=30,
        conf_thres=0.5,
        dup_iou_thres=0.15,
        confirm_iou_thres=0.7,
        use_kalman=True,
        asso_with_motion=True,
        motion_lambda=0.98,
        motion_gated=False,
        max_mask_area=200,
    )
    return base.replace(**overrides)


def posetrack_config(**overrides) -> AssociationConfig:
    """PoseTrack-18 defaults (cfg section ``posetrack``): poses, frame_rate 6 (buffer 6), lambda 0.9999, no gating,
    max_mask_area 400 (200 in the ``ssib_s4`` config)."""
    base = AssociationConfig(
        obs_type="poses",
        track_buffer=30,
        frame_rate=6,
        conf_thres=0.5,
        dup_iou_thres=0.2,
        confirm_iou_thres=0.6,
        use_kalman=True,
        asso_with_motion=True,
        motion_lambda=0.9999,
        motion_gated=False,
        max_mask_area=400,
    )
    return base.replace(**overrides)


def womotion(cfg: AssociationConfig) -> AssociationConfig:
    """The ``*_womotion`` variant: pure appearance stage 1 (lambda 1, no gating); the KF still runs."""
    return cfg.replace(asso_with_motion=False, motion_lambda=1.0, motion_gated=False)
