"""PoseTrack head: skeletons -> masks -> mask feature sets -> association tracker -> track ids in the pose json.

Per frame (SPEC §5.3 "Poses", §5.8, §7):

1. the frame at its original resolution goes through the appearance model;
2. every detected skeleton (15 PoseTrack joints, NaN = missing joint) is rasterised into a mask (trunk polygon +
   13 limbs), reduced to feature resolution; feature sets of at most ``max_mask_area`` (400) points; the box is the
   joints' extent in image pixels;
3. :class:`~unitrack.association.AssociationTracker` with ``posetrack_config`` (frame rate 6 -> buffer 6,
   lambda 0.9999, no gating);
4. the tracks' ids are written back into a copy of the input sequence (:class:`~unitrack.data.posetrack.PoseSequence`,
   same json format as the input) by :func:`unitrack.evaluation.adapters.posetrack.run_posetrack_sequence`.

**Empty skeletons** (no finite joint) and skeletons whose mask is empty at feature resolution get no track (the
reference gives them a random embedding and a *random box*, SPEC §9.6); they are **not written** to the output json
(a person without a track id cannot be scored by poseval, and one without joints contributes nothing).
Joints far outside the image are clipped to ``[-W, 2W] x [-H, 2H]`` before rasterising (OpenCV's integer drawing).

**Id mapping** (poseval requires ``track_id`` in [0, 999]): tracker ids (1, 2, ... per sequence) are mapped to output
ids in order of first output: the first track gets 0, the next 1, ... . Once all 1000 ids are used (sequences with
more than 1000 tracks), the output id that has been unseen for the longest time is recycled; the tracker can no
longer revive a track unseen for more than its buffer (6 frames at PoseTrack's frame rate), so recycling an id unseen
for longer merges no identities; a warning is issued if an id must be recycled earlier. (The reference writes the
raw global counter and 1000 for unmatched people, SPEC §9.7.)
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Iterator, Sequence

import numpy as np

from ..association import AssociationConfig, posetrack_config
from ..data.skeletons import POSETRACK_JOINTS
from ..data.video import sequence_frames
from ._common import AssociationHead, load_frame, model_features, progress_bar

__all__ = ["PoseTrackHead", "IdMapper"]

NUM_JOINTS = len(POSETRACK_JOINTS)


class IdMapper:
    """Maps tracker ids to output ids in ``[0, limit)`` (see the module docstring).

    Args:
        limit: number of output ids (1000 for poseval).
        safe_gap: an id unseen for more than this many frames may be recycled without a warning.
    """

    def __init__(self, limit: int = 1000, safe_gap: int = 7):
        if limit <= 0:
            raise ValueError(f"limit must be positive, got {limit}")
        self.limit = int(limit)
        self.safe_gap = int(safe_gap)
        self.map: dict[int, int] = {}
        self.owner: dict[int, int] = {}  # output id -> tracker id
        self.last_seen: dict[int, int] = {}  # output id -> frame
        self.recycled = 0

    def __call__(self, track_id: int, frame: int) -> int:
        tid = int(track_id)
        if tid in self.map:
            oid = self.map[tid]
        elif len(self.owner) < self.limit:
            oid = len(self.owner)
        else:
            candidates = [o for o, f in self.last_seen.items() if f < frame]
            if not candidates:
                raise RuntimeError(f"more than {self.limit} tracks in one frame: cannot map them to distinct ids")
            oid = min(candidates, key=lambda o: (self.last_seen[o], o))
            if frame - self.last_seen[oid] <= self.safe_gap:
                warnings.warn(
                    f"output id {oid} recycled only {frame - self.last_seen[oid]} frames after its last "
                    f"use (more than {self.limit} tracks)",
                    stacklevel=2,
                )
            del self.map[self.owner[oid]]
            self.recycled += 1
        self.map[tid] = oid
        self.owner[oid] = tid
        self.last_seen[oid] = frame
        return oid


def _poses_array(poses, hw: tuple[int, int]) -> np.ndarray:
    """``poses`` -> float ``[K, 15, 2]`` (x, y; NaN = missing), clipped to a margin around the image."""
    H, W = hw
    if poses is None:
        return np.zeros((0, NUM_JOINTS, 2))
    items = list(poses) if not isinstance(poses, np.ndarray) else poses
    if len(items) == 0:
        return np.zeros((0, NUM_JOINTS, 2))
    out = np.empty((len(items), NUM_JOINTS, 2))
    for i, p in enumerate(items):
        a = np.asarray(getattr(p, "joints", p), dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != NUM_JOINTS or a.shape[1] < 2:
            raise ValueError(
                f"poses[{i}] must have shape [{NUM_JOINTS}, 2 or 3] (x, y[, visible/score]) with NaN "
                f"for missing joints, got {list(a.shape)}"
            )
        xy = a[:, :2].copy()
        if np.isinf(xy).any():
            raise ValueError(f"poses[{i}] has infinite coordinates (use NaN for a missing joint)")
        xy[:, 0] = np.clip(xy[:, 0], -W, 2 * W)
        xy[:, 1] = np.clip(xy[:, 1], -H, 2 * H)
        out[i] = xy
    return out


class PoseTrackHead(AssociationHead):
    """Pose association head (PoseTrack), one sequence at a time.

    Args:
        model: any :class:`unitrack.model.FeatureExtractor`.
        config: :class:`AssociationConfig` (default :func:`~unitrack.association.posetrack_config`).
        progress: tqdm bar in :meth:`run`.
        precision: the backbone's precision (default: the model's); features, RSM and assignment stay float32.

    Attributes:
        timings: mean ms per frame of ``io``, ``backbone``, ``features`` (rasterise + mask features), ``rsm``,
            ``assoc``, ``total``.
        stats: ``frames``, ``people``, ``untracked`` (skeletons that got no id), ``recycled_ids``.
    """

    def __init__(
        self, model, config: AssociationConfig | None = None, *, progress: bool = True, precision: str | None = None
    ):
        self._init_head(model, config, progress, precision)
        self.reset()

    obs_type = "poses"
    default_config = staticmethod(posetrack_config)

    def initial_stats(self) -> dict:
        return {"frames": 0, "people": 0, "untracked": 0, "recycled_ids": 0}

    def reset(self, frame_rate: float | None = None) -> None:
        """Start a new sequence (ids restart, output-id mapping and timings cleared)."""
        super().reset(frame_rate)
        self.ids = IdMapper(1000, safe_gap=self.config.buffer_size + 1)

    def update(self, frame, poses) -> np.ndarray:
        """Track one frame.

        Args:
            frame: RGB uint8 ``[H, W, 3]`` array or an image path.
            poses: ``[K, 15, 2+]`` joints in image pixels (NaN = missing) or a list of
                :class:`~unitrack.data.posetrack.PosePerson` (``K = 0`` allowed).
        Returns:
            int ``[K]``: the output id (in [0, 999]) of each input skeleton, -1 for skeletons without a track
            (no joints, or an empty mask at feature resolution).
        """
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            img = load_frame(frame)
        H, W = img.shape[:2]
        P = _poses_array(poses, (H, W))
        with self.timer.stage("backbone"):
            feat = model_features(self.model, img, self.precision)
        self.stats["frames"] += 1
        tracks = self.tracker.timed_update(feat, poses=list(P) if len(P) else None, image_size=(H, W))
        self.last_tracks = tracks
        ids = np.full(len(P), -1, np.int64)
        for t in tracks:
            if 0 <= t.det_index < len(P):
                ids[t.det_index] = self.ids(t.track_id, self.stats["frames"])
        self.stats["people"] += len(P)
        self.stats["untracked"] += int((ids < 0).sum())
        self.stats["recycled_ids"] = self.ids.recycled
        self.timer.frames += 1
        self.timer.add("total", (time.perf_counter() - t0) * 1e3)
        return ids

    def track_frames(
        self, frames, poses: Sequence, *, frame_rate: float | None = None, desc: str = "PoseTrack"
    ) -> Iterator[np.ndarray]:
        """Track a whole sequence, frame by frame: yields :meth:`update`'s output ids of every frame (a progress bar
        with ``progress``). The head reads no files but the frames' images.

        Args:
            frames: RGB arrays or image paths, a ``[T, H, W, 3]`` array, a frames folder (natural order) or a video
                file (:func:`unitrack.data.video.sequence_frames`).
            poses: per frame ``t``, the skeletons :meth:`update` takes; frames past the end of the list have none.
            frame_rate: the tracker's frame rate (lost-track buffer); None: the config's.
            desc: the progress bar's label.
        """
        frames = sequence_frames(frames)
        self.reset(frame_rate)
        for t, frame in progress_bar(enumerate(frames), self.progress, desc, total=len(frames)):
            yield self.update(frame, poses[t] if t < len(poses) else [])

    def run(
        self,
        detections,
        images_root: str | os.PathLike,
        out_json: str | os.PathLike | None = None,
        fmt: str | None = None,
    ):
        """Track one PoseTrack sequence: its detected poses (PoseTrack 2017 or 2018 json, or a
        :class:`~unitrack.data.posetrack.PoseSequence`) with the frames ``images_root / file_name``; writes
        ``out_json`` when given (format ``fmt``, default the input's). Returns a copy of the sequence where every
        tracked person has ``track_id`` in [0, 999]; untracked people are removed.

        Compatibility: reading and writing the json files is
        :func:`unitrack.evaluation.adapters.posetrack.run_posetrack_sequence`, which this method calls; the head
        itself tracks frames and poses (:meth:`track_frames`).
        """
        from ..evaluation.adapters.posetrack import run_posetrack_sequence  # compatibility re-export

        return run_posetrack_sequence(self, detections, images_root, out_json, fmt)


def __getattr__(name: str):
    # Compatibility re-export: the run on the user's files (a pose json in, a tracked json out) moved to
    # unitrack.evaluation.adapters.posetrack (heads read no dataset files); looked up only when asked for.
    if name == "track_posetrack":
        from ..evaluation.adapters.posetrack import track_posetrack  # compatibility re-export

        return track_posetrack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
