"""MOT head: boxes from a detector -> RoIAlign (4x10) object features -> association tracker -> MOTChallenge txt.

Per frame (SPEC §5.3 "Boxes", §5.8):

1. the frame is letterboxed to ``img_size = (1088, 608)`` (W, H; INTER_AREA, grey padding) and the appearance model
   computes its stride-8 map ``[C, 76, 136]``;
2. detections ``(x, y, w, h, score)`` in original pixels: rows with ``score > conf_thres`` (0.5) become
   observations; their letterbox coordinates ``/ 8`` are the RoIAlign boxes (4 rows x 10 columns per box);
3. :class:`~unitrack.association.AssociationTracker` (``mot_config``: gated motion, lambda 0.98) associates them;
4. output filter of the reference's MOT script: a track is written when ``w * h > min_box_area`` (200) and **not**
   ``w / h > 1.6``; boxes are the Kalman-filtered boxes in original pixels.

Input hygiene (never a crash inside the tracker): non-finite boxes or scores raise ``ValueError``; boxes with
``w <= 0`` or ``h <= 0`` and boxes entirely outside the image are dropped (counted in :attr:`MOTHead.stats`);
boxes partly outside are kept as given (their RoIAlign samples outside the map read zero, as the reference).

Example::

    head = MOTHead(AppearanceModel("resnet18", layer=3), progress=True)
    rows = result_rows(head.track_frames(frames, detections))   # [N, 7] rows frame, id, x, y, w, h, score
    # a MOTChallenge folder in, a result txt out: unitrack.evaluation.adapters.mot.run_mot_sequence
    print(head.timings)            # {'io': .., 'backbone': .., 'features': .., 'rsm': .., 'assoc': .., 'total': ..}
"""

from __future__ import annotations

import os
import time
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..association import AssociationConfig, Track, mot_config
from ..association.kalman import tlwh_to_tlbr
from ..data.video import sequence_frames
from ._common import AssociationHead, letterbox, load_frame, model_features, progress_bar

__all__ = ["MOTHead", "output_filter", "result_rows"]


def result_rows(tracks_per_frame: Iterable[list[Track]]) -> np.ndarray:
    """MOTChallenge rows of the tracks of consecutive frames (frame 1 first): ``[N, 7]`` float
    ``frame, id, x, y, w, h, score``."""
    rows: list[list[float]] = []
    for t, tracks in enumerate(tracks_per_frame, 1):
        for tr in tracks:
            x, y, w, h = tr.tlwh
            rows.append([t, tr.track_id, x, y, w, h, tr.score])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 7)


def output_filter(tlwh: np.ndarray, min_box_area: float = 200.0, max_aspect: float = 1.6) -> np.ndarray:
    """bool ``[N]``: boxes ``[N, 4]`` (tlwh) kept by the reference's output filter
    (``w * h > min_box_area`` and not ``w / h > max_aspect``)."""
    b = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    w, h = b[:, 2], b[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        vertical = ~(w / h > max_aspect)
    return (w * h > min_box_area) & vertical & (h > 0)


class MOTHead(AssociationHead):
    """Box association head (MOT), one sequence at a time.

    Args:
        model: any :class:`unitrack.model.FeatureExtractor` (stride-8 ``model.features``).
        config: :class:`AssociationConfig` (default :func:`~unitrack.association.mot_config`); its ``img_size``
            (W, H) is the letterbox size and ``min_box_area`` the output filter.
        max_aspect: output filter: tracks with ``w / h > max_aspect`` are not reported (1.6).
        progress: tqdm bar in :meth:`run`.
        precision: the backbone's precision (``"fp32"``, ``"bf16"``, ``"fp16"`` on CUDA; default: the model's). The
            feature map is widened to float32: RoIAlign, RSM and assignment run in float32 at every precision.

    Attributes:
        timings: mean milliseconds per frame of each stage (``io`` image decoding, ``backbone`` letterbox +
            model forward, ``features`` RoIAlign, ``rsm`` appearance cost, ``assoc`` Kalman + motion fusion +
            assignment + bookkeeping, ``total``) since the last :meth:`reset`.
        stats: counts of dropped input boxes (``zero_area``, ``outside``) and processed ``frames``.
    """

    def __init__(
        self,
        model,
        config: AssociationConfig | None = None,
        *,
        max_aspect: float = 1.6,
        progress: bool = True,
        precision: str | None = None,
    ):
        self._init_head(model, config, progress, precision)
        self.img_size = tuple(self.config.img_size or (1088, 608))
        self.min_box_area = float(self.config.min_box_area if self.config.min_box_area is not None else 0.0)
        self.max_aspect = float(max_aspect)
        self.reset()

    obs_type = "boxes"
    default_config = staticmethod(mot_config)

    def initial_stats(self) -> dict:
        return {"frames": 0, "zero_area": 0, "outside": 0}

    # ----------------------------------------------------------------------------------------------- per frame
    def _clean(self, boxes_tlwh, scores, im_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = np.asarray(boxes_tlwh if boxes_tlwh is not None else np.zeros((0, 4)), dtype=np.float64)
        if b.size == 0:
            b = b.reshape(0, 4)
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"boxes_tlwh must have shape [M, 4] (x, y, w, h in pixels), got {list(b.shape)}")
        s = np.ones(len(b)) if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
        if s.shape[0] != b.shape[0]:
            raise ValueError(f"scores must have shape [M={len(b)}], got {list(s.shape)}")
        if not (np.isfinite(b).all() and np.isfinite(s).all()):
            bad = int(np.nonzero(~(np.isfinite(b).all(1) & np.isfinite(s)))[0][0])
            raise ValueError(f"boxes_tlwh/scores row {bad} is not finite: {b[bad].tolist()}, {s[bad]}")
        H, W = im_hw
        zero = (b[:, 2] <= 0) | (b[:, 3] <= 0)
        outside = ~zero & ((b[:, 0] >= W) | (b[:, 1] >= H) | (b[:, 0] + b[:, 2] <= 0) | (b[:, 1] + b[:, 3] <= 0))
        self.stats["zero_area"] += int(zero.sum())
        self.stats["outside"] += int(outside.sum())
        keep = ~(zero | outside)
        return b[keep], s[keep], np.nonzero(keep)[0]

    def update(self, frame, boxes_tlwh, scores=None) -> list[Track]:
        """Track one frame.

        Args:
            frame: RGB uint8 ``[H, W, 3]`` array or an image path.
            boxes_tlwh: ``[M, 4]`` detections (x, y, w, h) in the frame's pixels (``M = 0`` allowed).
            scores: ``[M]`` detection scores (default 1); only ``score > conf_thres`` are used.
        Returns:
            The confirmed tracks of this frame that pass the output filter (``track.track_id``,
            ``track.tlwh`` Kalman-filtered box in pixels, ``track.score``, ``track.det_index`` = row of the
            matched detection in ``boxes_tlwh``). All confirmed tracks: :attr:`last_tracks`.
        """
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            img = load_frame(frame)
        H, W = img.shape[:2]
        b, s, rows = self._clean(boxes_tlwh, scores, (H, W))
        with self.timer.stage("backbone"):
            lb, ratio, left, top = letterbox(img, self.img_size)
            feat = model_features(self.model, lb, self.precision)
        fb = tlwh_to_tlbr(b) * ratio + np.array([left, top, left, top], np.float64) if len(b) else np.zeros((0, 4))
        stride = self.config.stride
        tracks = self.tracker.timed_update(feat, boxes=b, scores=s, feat_boxes=fb / stride)
        for t in tracks:  # every returned track was matched in this frame: report its row in the caller's input
            if 0 <= t.det_index < len(rows):
                t.det_index = int(rows[t.det_index])
        self.last_tracks = tracks
        self.stats["frames"] += 1
        self.timer.frames += 1
        out = [t for t in tracks if output_filter(t.tlwh, self.min_box_area, self.max_aspect)[0]]
        self.timer.add("total", (time.perf_counter() - t0) * 1e3)
        return out

    # ----------------------------------------------------------------------------------------------- sequences
    def track_frames(
        self, frames, detections: Sequence[np.ndarray], *, frame_rate: float | None = None, desc: str = "MOT"
    ) -> Iterator[list[Track]]:
        """Track a whole sequence, frame by frame: yields :meth:`update`'s tracks of every frame (a progress bar with
        ``progress``). The head reads no files but the frames' images.

        Args:
            frames: the sequence's frames: RGB arrays or image paths, a ``[T, H, W, 3]`` array, a frames folder
                (natural order) or a video file (:func:`unitrack.data.video.sequence_frames`).
            detections: per frame ``t``, ``[n_t, 5]`` (x, y, w, h, score) in the frame's pixels; frames past the
                end of the list have none.
            frame_rate: the tracker's frame rate (lost-track buffer); None: the config's.
            desc: the progress bar's label.

        :attr:`timings` holds the per-stage means once the sequence is done; :func:`result_rows` turns the frames'
        tracks into MOTChallenge rows.
        """
        frames = sequence_frames(frames)
        self.reset(frame_rate)
        for t, frame in progress_bar(enumerate(frames), self.progress, desc, total=len(frames)):
            d = detections[t] if t < len(detections) else np.zeros((0, 5))
            yield self.update(frame, d[:, :4], d[:, 4])

    def run(
        self, sequence, out_txt: str | os.PathLike | None = None, det_path: str | os.PathLike | None = None
    ) -> np.ndarray:
        """Track a whole MOTChallenge sequence: a :class:`~unitrack.data.motchallenge.MOTSequence` or a sequence
        folder (``seqinfo.ini``, ``img1/``, ``det/det.txt``, or ``det_path``), writing ``out_txt`` when given.

        Compatibility: reading and writing the dataset files is
        :func:`unitrack.evaluation.adapters.mot.run_mot_sequence`, which this method calls; the head itself tracks
        frames and detections (:meth:`track_frames`). Returns the ``[N, 7]`` rows of :func:`result_rows`.
        """
        from ..evaluation.adapters.mot import run_mot_sequence  # compatibility re-export

        return run_mot_sequence(self, sequence, out_txt=out_txt, det_path=det_path)


def __getattr__(name: str):
    # Compatibility re-export: the run on the user's files (a detection txt in, a result txt out) moved to
    # unitrack.evaluation.adapters.mot (heads read no dataset files); looked up only when asked for.
    if name == "track_mot":
        from ..evaluation.adapters.mot import track_mot  # compatibility re-export

        return track_mot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
