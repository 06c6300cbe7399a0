"""The JDE/FairMOT association tracker with UniTrack's RSM appearance cost (SPEC §5.2-5.5).

One :class:`AssociationTracker` per sequence, parameterised by the observation type of its config (boxes for MOT,
masks for MOTS, poses for PoseTrack). ``update(feat_map, ...)`` takes the frame's stride-8 feature map and the
frame's observations and returns the confirmed tracked :class:`Track` objects. Heads only do IO, letterboxing and
output filtering.

Differences from the reference (documented, deliberate):
* Track IDs count per tracker instance, from 1 (the reference's counter is a class attribute shared by all
  sequences of a process).
* Empty masks / skeletons (and masks whose down-scaled feature set is empty) are dropped before association instead
  of receiving a random embedding (and, for skeletons, a random box).
* The removed-track list is a set of IDs (the reference keeps an unbounded list of objects; same semantics).
* The unused ``smooth_feat`` (SPEC §5.4) is not kept: association uses ``curr_feat``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Sequence

import numpy as np
import torch

from ..iou import iou_plus1
from .api import rsm_cost
from .config import FIRST_STAGE_THRESH, IOU_STAGE_THRESH, MASK_DUP_IOU, RSM_TEMPERATURE, AssociationConfig, mot_config
from .features import (
    _feature_map,
    mask2box,
    mask_features,
    pose_to_box,
    poses_to_masks,
    remove_duplicated_box,
    roi_align,
)
from .kalman import KalmanFilter, tlbr_to_tlwh, tlwh_to_tlbr, tlwh_to_xyah, xyah_to_tlwh
from .matching import fuse_motion, linear_assignment


class TrackState(IntEnum):
    New = 0
    Tracked = 1
    Lost = 2
    Removed = 3


class Track:
    """One object (a detection before activation, a track after): the reference's ``STrack``.

    Attributes:
        track_id: 0 until activated, then the tracker's next ID (1, 2, ...).
        state: :class:`TrackState`.
        is_activated: confirmed (box tracks become confirmed by a match in the frame after their birth, except at
            frame 1; mask/pose tracks are confirmed at birth).
        score, category: of the latest matched detection.
        curr_feat: ``[P, C]`` latest feature set (the one used by the RSM).
        mean, covariance: Kalman state ``[8]``, ``[8, 8]`` (None without a Kalman filter).
        mask: the latest detection's mask (MOTS: the observation as given; PoseTrack: feature resolution).
        pose: the latest detection's skeleton ``[15, 2+]`` (PoseTrack).
        det_index: row of the latest matched observation in the frame's input (-1 if none).
        frame_id: last frame the track was updated (``end_frame``); start_frame: frame of activation.
    """

    __slots__ = (
        "_tlwh",
        "score",
        "category",
        "curr_feat",
        "mask",
        "pose",
        "det_index",
        "track_id",
        "state",
        "is_activated",
        "mean",
        "covariance",
        "frame_id",
        "start_frame",
        "tracklet_len",
        "_kf",
    )

    def __init__(
        self,
        tlwh,
        score: float,
        feat: torch.Tensor,
        *,
        category: float | None = None,
        mask=None,
        pose=None,
        activated: bool = False,
        det_index: int = -1,
    ):
        self._tlwh = np.asarray(tlwh, dtype=np.float64).copy()
        self.score = float(score)
        self.category = category
        self.curr_feat = feat
        self.mask = mask
        self.pose = pose
        self.det_index = det_index
        self.track_id = 0
        self.state = TrackState.New
        self.is_activated = activated
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.frame_id = 0
        self.start_frame = 0
        self.tracklet_len = 0
        self._kf: KalmanFilter | None = None

    # -- geometry
    @property
    def tlwh(self) -> np.ndarray:
        """Current box (top-left x, y, w, h): the Kalman mean converted back (filtered), else the raw box."""
        if self.mean is None:
            return self._tlwh.copy()
        return xyah_to_tlwh(self.mean)

    @property
    def tlbr(self) -> np.ndarray:
        return tlwh_to_tlbr(self.tlwh)

    @property
    def end_frame(self) -> int:
        return self.frame_id

    # -- life cycle
    def activate(self, kf: KalmanFilter | None, frame_id: int, track_id: int) -> None:
        self._kf = kf
        self.track_id = track_id
        if kf is not None:
            self.mean, self.covariance = kf.initiate(tlwh_to_xyah(self._tlwh))
        self.tracklet_len = 0
        self.state = TrackState.Tracked
        if frame_id == 1:
            self.is_activated = True
        self.frame_id = frame_id
        self.start_frame = frame_id

    def _take(self, det: "Track") -> None:
        if self._kf is not None:
            self.mean, self.covariance = self._kf.update(self.mean, self.covariance, tlwh_to_xyah(det.tlwh))
        else:
            self._tlwh = det.tlwh
        self.curr_feat = det.curr_feat
        self.mask = det.mask
        self.pose = det.pose
        self.det_index = det.det_index
        self.state = TrackState.Tracked
        self.is_activated = True

    def update(self, det: "Track", frame_id: int) -> None:
        """A Tracked track matched to ``det``: Kalman correction, features, mask/pose, score/category."""
        self._take(det)
        self.frame_id = frame_id
        self.tracklet_len += 1
        self.score = det.score
        self.category = det.category

    def re_activate(self, det: "Track", frame_id: int) -> None:
        """A Lost track matched again (same ID)."""
        self._take(det)
        self.tracklet_len = 0
        self.frame_id = frame_id

    def mark_lost(self) -> None:
        self.state = TrackState.Lost

    def mark_removed(self) -> None:
        self.state = TrackState.Removed

    def __repr__(self) -> str:
        return f"Track(id={self.track_id}, state={self.state.name}, tlwh={np.round(self.tlwh, 2).tolist()})"


def _joint(a: list[Track], b: list[Track]) -> list[Track]:
    seen = {t.track_id for t in a}
    out = list(a)
    for t in b:
        if t.track_id not in seen:
            seen.add(t.track_id)
            out.append(t)
    return out


def _sub(a: list[Track], ids) -> list[Track]:
    ids = set(ids)
    return [t for t in a if t.track_id not in ids]


def _iou_cost(a: list[Track], b: list[Track]) -> np.ndarray:
    """``1 - IoU`` (+1-pixel convention) of the tracks' current boxes; no validation (Kalman boxes may be odd)."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    return 1.0 - iou_plus1(np.stack([t.tlbr for t in a]), np.stack([t.tlbr for t in b]), validate=False)


def remove_duplicate_tracks(tracked: list[Track], lost: list[Track], thresh: float) -> tuple[list[Track], list[Track]]:
    """Drop duplicates between tracked and lost tracks: pairs with IoU distance ``< thresh``; of each pair the one
    with the shorter history (``frame_id - start_frame``) is dropped, the tracked one on a tie."""
    d = _iou_cost(tracked, lost)
    drop_a, drop_b = set(), set()
    for p, q in zip(*np.nonzero(d < thresh)):
        tp = tracked[p].frame_id - tracked[p].start_frame
        tq = lost[q].frame_id - lost[q].start_frame
        if tp > tq:
            drop_b.add(int(q))
        else:
            drop_a.add(int(p))
    return ([t for i, t in enumerate(tracked) if i not in drop_a], [t for i, t in enumerate(lost) if i not in drop_b])


def _np(x, name: str, dtype=np.float64) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from e


class AssociationTracker:
    """UniTrack's association tracker (JDE state machine + RSM appearance cost), one instance per sequence.

    Example::

        tracker = AssociationTracker(mot_config(frame_rate=30))
        for feat, det_tlwh, det_scores in frames:        # feat [C, h, w] stride-8 map of the frame
            tracks = tracker.update(feat, boxes=det_tlwh, scores=det_scores)
            for t in tracks:
                print(t.track_id, t.tlwh)

    Per frame (SPEC §5.5): stage 1 RSM cost (+ Kalman motion fusion/gating) between confirmed+lost tracks and the
    detections, cost limit 0.7; stage 2 IoU (+1 convention) between remaining Tracked tracks and detections, limit
    0.5; stage 3 confirmation of unconfirmed tracks by IoU (``confirm_iou_thres``), unmatched ones removed;
    remaining tracks lost; new tracks from unmatched detections with ``score >= conf_thres``; lost tracks older than
    ``buffer_size`` frames removed; duplicate removal between tracked and lost lists.
    """

    def __init__(self, config: AssociationConfig | None = None):
        self.config = config if config is not None else mot_config()
        if not isinstance(self.config, AssociationConfig):
            raise TypeError(f"config must be an AssociationConfig, got {type(self.config).__name__}")
        self.kf = KalmanFilter() if self.config.use_kalman else None
        self.reset()

    def reset(self) -> None:
        """Forget all tracks; IDs restart at 1."""
        self.frame_id = 0
        self._last_id = 0
        self.tracked_stracks: list[Track] = []
        self.lost_stracks: list[Track] = []
        self.removed_ids: set[int] = set()

    @property
    def max_time_lost(self) -> int:
        return self.config.buffer_size

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    # ------------------------------------------------------------------------------------------ observations
    def make_detections(
        self,
        feat_map,
        boxes=None,
        scores=None,
        classes=None,
        *,
        feat_boxes=None,
        masks=None,
        poses=None,
        image_size=None,
    ) -> list[Track]:
        """Turn the frame's observations into (unactivated) :class:`Track` detections with features.

        See :meth:`update` for the arguments.
        """
        cfg = self.config
        feat = _feature_map(feat_map)
        if not bool(torch.isfinite(feat.sum())) and not bool(torch.isfinite(feat).all()):  # cheap test first
            raise ValueError("feat_map contains NaN or inf values")
        given = {"boxes": boxes is not None, "masks": masks is not None, "poses": poses is not None}
        for k, v in given.items():
            if v and k != cfg.obs_type:
                raise ValueError(f"this tracker takes {cfg.obs_type} (config.obs_type) but {k} were given")
        if cfg.obs_type != "boxes":
            extra = [
                n for n, v in (("scores", scores), ("classes", classes), ("feat_boxes", feat_boxes)) if v is not None
            ]
            if extra:
                raise ValueError(f"{extra} only apply to box observations; this tracker takes {cfg.obs_type}")
        if cfg.obs_type == "boxes":
            return self._box_detections(feat, boxes, scores, classes, feat_boxes)
        if cfg.obs_type == "masks":
            return self._mask_detections(feat, masks)
        return self._pose_detections(feat, poses, image_size)

    def _box_detections(self, feat, boxes, scores, classes, feat_boxes) -> list[Track]:
        cfg = self.config
        b = _np(boxes if boxes is not None else np.zeros((0, 4)), "boxes")
        b = b.reshape(0, 4) if b.size == 0 else b
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"boxes must have shape [M, 4] (tlwh), got {b.shape}")
        M = b.shape[0]
        s = np.ones(M) if scores is None else _np(scores, "scores").reshape(-1)
        if s.shape[0] != M:
            raise ValueError(f"scores must have shape [M={M}], got {s.shape}")
        if not (np.isfinite(b).all() and np.isfinite(s).all()):
            raise ValueError("boxes/scores contain NaN or inf values")
        bad = np.nonzero((b[:, 2] <= 0) | (b[:, 3] <= 0))[0]
        if bad.size:
            raise ValueError(f"boxes[{int(bad[0])}] = {b[bad[0]].tolist()} has non-positive width or height")
        cls = None
        if classes is not None:
            cls = _np(classes, "classes").reshape(-1)
            if cls.shape[0] != M:
                raise ValueError(f"classes must have shape [M={M}], got {cls.shape}")
        if feat_boxes is None:
            fb = tlwh_to_tlbr(b) / cfg.stride
        else:
            fb = _np(feat_boxes, "feat_boxes")
            fb = fb.reshape(0, 4) if fb.size == 0 else fb
            if fb.shape != (M, 4):
                raise ValueError(
                    f"feat_boxes must have shape [M={M}, 4] (x1, y1, x2, y2 in feature units), got {fb.shape}"
                )
        keep = np.nonzero(s > cfg.conf_thres)[0]
        if keep.size == 0:
            return []
        grid = roi_align(feat, torch.as_tensor(fb[keep]), output_size=cfg.feat_size)  # [K, C, 4, 10]
        sets = grid.flatten(2).transpose(1, 2)  # [K, 40, C]
        return [
            Track(
                b[i],
                s[i],
                sets[n],
                category=None if cls is None else float(cls[i]),
                activated=not cfg.use_kalman,
                det_index=int(i),
            )
            for n, i in enumerate(keep)
        ]

    def _mask_detections(self, feat, masks) -> list[Track]:
        cfg = self.config
        if masks is None:
            return []
        m = masks if isinstance(masks, torch.Tensor) else torch.as_tensor(np.asarray(masks))
        if m.dim() != 3:
            raise ValueError(f"masks must have shape [K, H, W], got {tuple(m.shape)}")
        if m.shape[0] == 0:
            return []
        sets, fm, valid = mask_features(feat, m, cfg.max_mask_area)
        boxes = mask2box(fm)
        keep = [int(i) for i in remove_duplicated_box(boxes, MASK_DUP_IOU) if bool(valid[i])]
        return [Track(tlbr_to_tlwh(boxes[i]), 1.0, sets[i], mask=m[i], activated=True, det_index=i) for i in keep]

    def _pose_detections(self, feat, poses, image_size) -> list[Track]:
        cfg = self.config
        if poses is None or len(poses) == 0:
            return []
        if image_size is None:
            raise ValueError("image_size (H, W) of the frame is required with poses (to rasterise the skeletons)")
        P = [_np(p, f"poses[{i}]") for i, p in enumerate(poses)]
        masks = poses_to_masks(P, image_size)
        sets, fm, valid = mask_features(feat, torch.from_numpy(masks), cfg.max_mask_area)
        dets = []
        for i, p in enumerate(P):
            box = pose_to_box(p)
            if box is None or not bool(valid[i]):
                continue
            dets.append(Track(tlbr_to_tlwh(box), 1.0, sets[i], mask=fm[i], pose=p, activated=True, det_index=i))
        return dets

    # ------------------------------------------------------------------------------------------ the update
    def update(
        self,
        feat_map,
        boxes=None,
        scores=None,
        classes=None,
        *,
        feat_boxes=None,
        masks=None,
        poses=None,
        image_size=None,
    ) -> list[Track]:
        """Advance one frame.

        Args:
            feat_map: ``[C, h, w]`` (or ``[1, C, h, w]``) stride-8 feature map of the frame (any device).
            boxes: (``obs_type='boxes'``) ``[M, 4]`` tlwh in the units of the reported boxes (original image
                pixels for MOT); rows with ``score <= conf_thres`` are ignored.
            scores: ``[M]`` detection scores (default 1).
            classes: optional ``[M]`` class ids: stage 1 adds ``|class_det - class_track|`` to the cost.
            feat_boxes: ``[M, 4]`` (x1, y1, x2, y2) of the same boxes in feature-map units for RoIAlign (MOT:
                letterbox pixels / 8). Default: ``tlbr(boxes) / config.stride``.
            masks: (``'masks'``) ``[K, H, W]`` binary masks at any resolution. Boxes, Kalman filter and IoU then
                work in **feature-map units** (as the reference: mean +- 2 MAD boxes); duplicates (IoU > 0.7, index
                order) and empty masks are dropped.
            poses: (``'poses'``) ``[K, 15, 2+]`` PoseTrack joints in image pixels, NaN for missing joints; boxes in
                image pixels; skeletons without joints or with an empty feature-resolution mask are dropped.
            image_size: ``(H, W)`` of the frame, required with poses.
        Returns:
            The confirmed tracks in the Tracked state (``is_activated``), in the tracker's list order.
        """
        self.frame_id += 1
        detections = self.make_detections(
            feat_map, boxes, scores, classes, feat_boxes=feat_boxes, masks=masks, poses=poses, image_size=image_size
        )
        activated, refind, lost, removed = [], [], [], []
        unconfirmed = [t for t in self.tracked_stracks if not t.is_activated]
        confirmed = [t for t in self.tracked_stracks if t.is_activated]
        pool = _joint(confirmed, self.lost_stracks)
        u_track, u_det = self._appearance_stage(pool, detections, activated, refind)
        if self.kf is not None:
            detections = self._iou_stages(
                pool, u_track, [detections[i] for i in u_det], unconfirmed, activated, refind, lost, removed
            )
            u_det = range(len(detections))
        else:
            self._lose_unmatched([pool[i] for i in u_track], lost)
            for t in unconfirmed:
                t.mark_removed()
                removed.append(t)
        self._start_tracks([detections[i] for i in u_det], activated)
        self._expire_lost(removed)
        self._bookkeeping(activated, refind, lost, removed)
        return [t for t in self.tracked_stracks if t.is_activated]

    def _appearance_stage(
        self, pool: list[Track], detections: list[Track], activated: list[Track], refind: list[Track]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1: appearance (RSM of curr_feat) + Kalman motion between the pool (confirmed + lost tracks) and the
        detections, cost limit 0.7; the pool's Kalman states are predicted to this frame. Returns the unmatched
        ``(pool indices, detection indices)``."""
        cfg = self.config
        dists = self._appearance_cost(pool, detections)
        if self.kf is not None and pool:
            means = np.stack([t.mean for t in pool])
            covs = np.stack([t.covariance for t in pool])
            not_tracked = np.array([t.state != TrackState.Tracked for t in pool])
            means[not_tracked, 7] = 0.0
            means, covs = self.kf.predict(means, covs)
            for t, m_, c_ in zip(pool, means, covs):
                t.mean, t.covariance = m_, c_
            if detections:
                lam = cfg.motion_lambda if cfg.asso_with_motion else 1.0
                gate = cfg.motion_gated and cfg.asso_with_motion
                det_xyah = tlwh_to_xyah(np.stack([d.tlwh for d in detections]))
                dists = fuse_motion(dists, means, covs, det_xyah, motion_lambda=lam, gate=gate, kf=self.kf)
        if detections and pool and detections[0].category is not None:
            dc = np.array([d.category for d in detections])
            tc = np.array([0.0 if t.category is None else t.category for t in pool])
            has = np.array([t.category is not None for t in pool])
            dists = dists + np.where(has[:, None], np.abs(dc[None, :] - tc[:, None]), 0.0).astype(dists.dtype)
        matches, u_track, u_det = linear_assignment(dists, FIRST_STAGE_THRESH)
        self._apply(matches, pool, detections, activated, refind)
        return u_track, u_det

    def _iou_stages(
        self,
        pool: list[Track],
        u_track,
        detections: list[Track],
        unconfirmed: list[Track],
        activated: list[Track],
        refind: list[Track],
        lost: list[Track],
        removed: list[Track],
    ) -> list[Track]:
        """Stage 2: IoU (+1 convention) between the remaining Tracked tracks of the pool and the unmatched
        detections, limit 0.5 (the rest of those tracks are lost); stage 3: confirmation of the tracks born in the
        previous frame by IoU (``confirm_iou_thres``), the unconfirmed rest removed. Returns the detections still
        unmatched."""
        r_tracked = [pool[i] for i in u_track if pool[i].state == TrackState.Tracked]
        matches, u_track, u_det = linear_assignment(_iou_cost(r_tracked, detections), IOU_STAGE_THRESH)
        self._apply(matches, r_tracked, detections, activated, refind)
        self._lose_unmatched([r_tracked[i] for i in u_track], lost)
        detections = [detections[i] for i in u_det]
        matches, u_unconf, u_det = linear_assignment(_iou_cost(unconfirmed, detections), self.config.confirm_iou_thres)
        for ti, di in matches:
            unconfirmed[ti].update(detections[di], self.frame_id)
            activated.append(unconfirmed[ti])
        for i in u_unconf:
            unconfirmed[i].mark_removed()
            removed.append(unconfirmed[i])
        return [detections[i] for i in u_det]

    @staticmethod
    def _lose_unmatched(tracks: list[Track], lost: list[Track]) -> None:
        for t in tracks:
            if t.state != TrackState.Lost:
                t.mark_lost()
                lost.append(t)

    def _start_tracks(self, detections: list[Track], activated: list[Track]) -> None:
        """New tracks from the unmatched detections with ``score >= conf_thres``."""
        for d in detections:
            if d.score < self.config.conf_thres:
                continue
            d.activate(self.kf, self.frame_id, self._next_id())
            activated.append(d)

    def _expire_lost(self, removed: list[Track]) -> None:
        """Lost tracks unseen for more than ``buffer_size`` frames are removed."""
        for t in self.lost_stracks:
            if self.frame_id - t.end_frame > self.max_time_lost:
                t.mark_removed()
                removed.append(t)

    def _bookkeeping(
        self, activated: list[Track], refind: list[Track], lost: list[Track], removed: list[Track]
    ) -> None:
        """The track lists after the frame (reference order; the removed set is updated last -> the one-extra-frame
        quirk), then duplicate removal between tracked and lost tracks."""
        cfg = self.config
        self.tracked_stracks = [t for t in self.tracked_stracks if t.state == TrackState.Tracked]
        self.tracked_stracks = _joint(self.tracked_stracks, activated)
        self.tracked_stracks = _joint(self.tracked_stracks, refind)
        self.lost_stracks = _sub(self.lost_stracks, [t.track_id for t in self.tracked_stracks])
        self.lost_stracks.extend(lost)
        if not cfg.expired_stays_one_frame:
            self.removed_ids.update(t.track_id for t in removed)
        self.lost_stracks = _sub(self.lost_stracks, self.removed_ids)
        self.removed_ids.update(t.track_id for t in removed)
        self.tracked_stracks, self.lost_stracks = remove_duplicate_tracks(
            self.tracked_stracks, self.lost_stracks, cfg.dup_iou_thres
        )

    def _apply(self, matches, tracks, detections, activated, refind) -> None:
        fid = self.frame_id
        for ti, di in matches:
            t, d = tracks[ti], detections[di]
            if t.state == TrackState.Tracked:
                t.update(d, fid)
                activated.append(t)
            else:
                t.re_activate(d, fid)
                refind.append(t)

    def _appearance_cost(self, pool: Sequence[Track], detections: Sequence[Track]) -> np.ndarray:
        if not pool or not detections:
            return np.zeros((len(pool), len(detections)), np.float32)
        ts = [t.curr_feat for t in pool]
        ds = [d.curr_feat for d in detections]
        if self.config.obs_type == "boxes":
            ts, ds = torch.stack(ts), torch.stack(ds)
        return rsm_cost(ts, ds, temperature=RSM_TEMPERATURE, pad_like_reference=self.config.pad_like_reference)
