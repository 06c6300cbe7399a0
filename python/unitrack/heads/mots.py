"""MOTS head: instance masks (COCO RLE) -> mask feature sets -> association tracker -> MOTS txt.

Per frame (SPEC §5.3 "Masks", §5.8, §7):

1. the frame at its **original resolution** goes through the appearance model (stride-8 map);
2. the frame's masks (class 2 = pedestrian lines of a MOTS txt, or arrays) are reduced to feature resolution;
   each object's feature set has at most ``max_mask_area`` (200) points; boxes/Kalman/IoU run in feature units;
   duplicate masks (IoU > 0.7 of their feature-unit boxes, index order) and empty masks are dropped by the tracker;
3. :class:`~unitrack.association.AssociationTracker` with ``mots_config`` (ungated motion, lambda 0.98);
4. every confirmed track writes the full-resolution mask of the detection it matched in this frame.

**Overlap resolution** (TrackEval's MOTS loader rejects overlapping masks; the reference writes them as they are,
SPEC §9.16): the output masks of a frame are made disjoint deterministically. Masks are ranked by detection score
(descending; MOTS scores are all 1), then by track age (the track that started earlier first), then by track id
(smaller first); each contested pixel goes to the highest-ranked mask (:func:`unitrack.data.mots.make_disjoint` on
that order). A mask left empty by this is not written.

**Output ids**: ``obj_id = 2000 + track_id`` (UniTrack's convention and MOTS20's ``class * 1000 + instance`` for
class 2) for track ids 1..7999; from track id 8000 on, ids are shifted by one more so that 10000 (the MOTS ignore
id) is never written. Class column 2; lines ``frame id 2 height width rle``; the file is written atomically.

Bad input raises ``ValueError`` naming the mask (or the file and line): a mask whose size differs from the frame,
an RLE string that does not decode to height*width pixels, masks that are not 2-D. A frame without masks is fine
(the reference's loader crashes there, SPEC §9.15).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ..association import AssociationConfig, mots_config
from ..data.mots import PEDESTRIAN, decode_rle
from ..data.video import sequence_frames
from ._common import AssociationHead, load_frame, model_features, progress_bar

__all__ = ["MOTSHead", "MaskTrack", "mots_object_id", "resolve_overlaps"]

#: MOTS id of track 1 is ``ID_OFFSET + 1``.
ID_OFFSET = 2000
_IGNORE_ID = 10000


def mots_object_id(track_id: int) -> int:
    """MOTS txt id of a track: ``2000 + track_id``, skipping the ignore id 10000 (track ids >= 8000 get +1)."""
    oid = ID_OFFSET + int(track_id)
    return oid + 1 if oid >= _IGNORE_ID else oid


@dataclass
class MaskTrack:
    """One output object of a frame.

    Attributes:
        track_id: tracker id (1, 2, ...); MOTS txt id = :func:`mots_object_id`.
        mask: bool ``[H, W]`` full-resolution mask, disjoint from the other tracks of the frame.
        score: detection score; det_index: row of the matched mask in this frame's input; start_frame: birth frame.
    """

    track_id: int
    mask: np.ndarray
    score: float
    det_index: int
    start_frame: int


def resolve_overlaps(tracks: Sequence[MaskTrack]) -> list[MaskTrack]:
    """Make the masks disjoint (rank: score desc, start_frame asc, track_id asc; contested pixels go to the
    higher rank) and drop tracks whose mask becomes empty. Returns new objects in rank order."""
    order = sorted(tracks, key=lambda t: (-t.score, t.start_frame, t.track_id))
    out: list[MaskTrack] = []
    taken = None
    for t in order:
        m = np.asarray(t.mask, dtype=bool)
        if taken is None:
            taken = np.zeros_like(m)
        m = m & ~taken
        taken |= m
        if m.any():
            out.append(MaskTrack(t.track_id, m, t.score, t.det_index, t.start_frame))
    return out


def _decode_mask(item, i: int, hw: tuple[int, int]) -> np.ndarray:
    """``masks[i]``: an array, a compressed RLE string/bytes of an ``H x W`` mask or a pycocotools dict
    ``{'size', 'counts'}`` -> bool ``[H, W]``."""
    H, W = hw
    if isinstance(item, (str, bytes)):
        try:
            return decode_rle(item, H, W)
        except ValueError as e:
            raise ValueError(f"masks[{i}]: invalid RLE string for a {H}x{W} frame: {e}") from None
    if isinstance(item, dict):
        size = item.get("size")
        counts = item.get("counts")
        if size is None or counts is None or len(size) != 2:
            raise ValueError(f"masks[{i}]: an RLE dict needs 'size' [h, w] and 'counts'")
        if (int(size[0]), int(size[1])) != (H, W):
            raise ValueError(f"masks[{i}] has size {size[0]}x{size[1]} but the frame is {H}x{W}")
        if not isinstance(counts, (str, bytes)):
            raise ValueError(f"masks[{i}]: only compressed RLE ('counts' a string) is supported")
        try:
            return decode_rle(counts, H, W)
        except ValueError as e:
            raise ValueError(f"masks[{i}]: invalid RLE: {e}") from None
    a = np.asarray(item)
    if a.shape != (H, W):
        raise ValueError(f"masks[{i}] has shape {list(a.shape)} but the frame is {H}x{W}")
    return a != 0


def _decode_masks(masks, hw: tuple[int, int]) -> np.ndarray:
    """``masks`` as a bool ``[K, H, W]`` array: an array ``[K, H, W]`` / ``[H, W]``, or a list whose items are
    arrays, compressed RLE strings/bytes (of an ``H x W`` mask) or pycocotools dicts ``{'size', 'counts'}``."""
    H, W = hw
    if masks is None:
        return np.zeros((0, H, W), bool)
    if isinstance(masks, np.ndarray) or hasattr(masks, "detach"):
        m = np.asarray(masks.detach().cpu().numpy() if hasattr(masks, "detach") else masks)
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3:
            raise ValueError(f"masks must have shape [K, H, W], got {list(m.shape)}")
        if m.shape[0] and tuple(m.shape[1:]) != (H, W):
            raise ValueError(f"masks have size {m.shape[1]}x{m.shape[2]} but the frame is {H}x{W}")
        if m.dtype.kind == "f" and not np.isfinite(m).all():
            raise ValueError("masks contain NaN or inf values")
        return m.reshape(-1, H, W) != 0
    out = [_decode_mask(item, i, hw) for i, item in enumerate(masks)]
    return np.stack(out) if out else np.zeros((0, H, W), bool)


class MOTSHead(AssociationHead):
    """Mask association head (MOTS), one sequence at a time.

    Args:
        model: any :class:`unitrack.model.FeatureExtractor`.
        config: :class:`AssociationConfig` (default :func:`~unitrack.association.mots_config`, max_mask_area 200).
        class_id: class column written (2, pedestrian).
        progress: tqdm bar in :meth:`run`.
        precision: the backbone's precision (default: the model's); features, RSM and assignment stay float32.

    Attributes:
        timings: mean ms per frame of ``io`` (image + RLE decoding), ``backbone``, ``features`` (mask feature sets),
            ``rsm``, ``assoc``, ``total`` since :meth:`reset`.
        stats: ``frames``, ``overlap_pixels`` (pixels removed by the overlap resolution), ``emptied`` (output masks
            emptied by it).
    """

    def __init__(
        self,
        model,
        config: AssociationConfig | None = None,
        *,
        class_id: int = PEDESTRIAN,
        progress: bool = True,
        precision: str | None = None,
    ):
        self._init_head(model, config, progress, precision)
        self.class_id = int(class_id)
        self.reset()

    obs_type = "masks"
    default_config = staticmethod(mots_config)

    def initial_stats(self) -> dict:
        return {"frames": 0, "overlap_pixels": 0, "emptied": 0}

    def update(self, frame, masks) -> list[MaskTrack]:
        """Track one frame.

        Args:
            frame: RGB uint8 ``[H, W, 3]`` array or an image path.
            masks: the frame's instance masks: bool/0-1 array ``[K, H, W]`` or a list of arrays / compressed RLE
                strings / RLE dicts, all of the frame's size (``K = 0`` or None allowed).
        Returns:
            The frame's output objects, masks disjoint (see the module docstring), in rank order.
        """
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            img = load_frame(frame)
            H, W = img.shape[:2]
            m = _decode_masks(masks, (H, W))
        with self.timer.stage("backbone"):
            feat = model_features(self.model, img, self.precision)
        tracks = self.tracker.timed_update(feat, masks=m.astype(np.uint8) if len(m) else None)
        self.last_tracks = tracks
        raw = [
            MaskTrack(
                t.track_id,
                np.asarray(t.mask.cpu().numpy() if hasattr(t.mask, "cpu") else t.mask) != 0,
                float(t.score),
                int(t.det_index),
                int(t.start_frame),
            )
            for t in tracks
        ]
        out = resolve_overlaps(raw)
        before = sum(int(r.mask.sum()) for r in raw)
        self.stats["overlap_pixels"] += before - sum(int(o.mask.sum()) for o in out)
        self.stats["emptied"] += len(raw) - len(out)
        self.stats["frames"] += 1
        self.timer.frames += 1
        self.timer.add("total", (time.perf_counter() - t0) * 1e3)
        return out

    def track_frames(
        self, frames, masks: Sequence, *, frame_rate: float | None = None, desc: str = "MOTS"
    ) -> Iterator[list[MaskTrack]]:
        """Track a whole sequence, frame by frame: yields :meth:`update`'s output objects of every frame (a
        progress bar with ``progress``). The head reads no files but the frames' images.

        Args:
            frames: RGB arrays or image paths, a ``[T, H, W, 3]`` array, a frames folder (natural order) or a video
                file (:func:`unitrack.data.video.sequence_frames`).
            masks: per frame ``t``, the masks :meth:`update` takes (arrays, RLE strings or dicts); frames past the
                end of the list have none.
            frame_rate: the tracker's frame rate (lost-track buffer); None: the config's.
            desc: the progress bar's label.
        """
        frames = sequence_frames(frames)
        self.reset(frame_rate)
        for t, frame in progress_bar(enumerate(frames), self.progress, desc, total=len(frames)):
            yield self.update(frame, masks[t] if t < len(masks) else [])

    def run(
        self,
        sequence: str | os.PathLike,
        out_txt: str | os.PathLike | None = None,
        det_path: str | os.PathLike | None = None,
    ) -> list:
        """Track a MOTS sequence folder (``seqinfo.ini``, ``img1/``, ``det/det.txt`` in MOTS txt format; only
        class-2 lines are used). Returns the output objects (and writes them to ``out_txt`` when given).

        Compatibility: reading and writing the dataset files is
        :func:`unitrack.evaluation.adapters.mots.run_mots_sequence`, which this method calls; the head itself tracks
        frames and masks (:meth:`track_frames`).
        """
        from ..evaluation.adapters.mots import run_mots_sequence  # compatibility re-export

        return run_mots_sequence(self, sequence, out_txt=out_txt, det_path=det_path)


def __getattr__(name: str):
    # Compatibility re-export: the run on the user's files (a MOTS txt of masks in, a MOTS txt out) moved to
    # unitrack.evaluation.adapters.mots (heads read no dataset files); looked up only when asked for.
    if name == "track_mots":
        from ..evaluation.adapters.mots import track_mots  # compatibility re-export

        return track_mots
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
