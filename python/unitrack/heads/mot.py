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
    rows = head.run("MOT17/train/MOT17-02-FRCNN", out_txt="results/MOT17-02-FRCNN.txt")
    print(head.timings)            # {'io': .., 'backbone': .., 'features': .., 'rsm': .., 'assoc': .., 'total': ..}
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..association import AssociationConfig, Track, mot_config
from ..association.kalman import tlwh_to_tlbr
from ..data.motchallenge import MOTSequence, read_mot_sequence, read_mot_txt, split_by_frame, write_mot_results
from ..data.video import FrameSource, sequence_frames
from ._common import AssociationHead, letterbox, load_frame, model_features, progress_bar

__all__ = ["MOTHead", "track_mot", "output_filter"]


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

    Attributes:
        timings: mean milliseconds per frame of each stage (``io`` image decoding, ``backbone`` letterbox +
            model forward, ``features`` RoIAlign, ``rsm`` appearance cost, ``assoc`` Kalman + motion fusion +
            assignment + bookkeeping, ``total``) since the last :meth:`reset`.
        stats: counts of dropped input boxes (``zero_area``, ``outside``) and processed ``frames``.
    """

    def __init__(self, model, config: AssociationConfig | None = None, *, max_aspect: float = 1.6,
                 progress: bool = True):
        self._init_head(model, config, progress)
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
            feat = model_features(self.model, lb)
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
    def run(self, sequence: MOTSequence | str | os.PathLike, out_txt: str | os.PathLike | None = None,
            det_path: str | os.PathLike | None = None) -> np.ndarray:
        """Track a whole MOTChallenge sequence.

        Args:
            sequence: a :class:`~unitrack.data.motchallenge.MOTSequence` or a sequence folder (``seqinfo.ini``,
                ``img1/``, ``det/det.txt``).
            out_txt: when given, the results are written there (MOTChallenge csv, atomically).
            det_path: your own detections (MOT txt) instead of ``det/det.txt``.
        Returns:
            ``[N, 7]`` float rows ``frame, id, x, y, w, h, score`` (frames 1-based); :attr:`timings` holds the
            per-stage means.
        """
        seq = sequence if isinstance(sequence, MOTSequence) else read_mot_sequence(sequence, det_path=det_path,
                                                                                    load_gt=False)
        self.reset(seq.frame_rate)
        rows: list[list[float]] = []
        for t, path in progress_bar(enumerate(seq.frame_paths), self.progress, f"MOT {seq.name}",
                                    total=seq.seq_length):
            d = seq.detections[t] if t < len(seq.detections) else np.zeros((0, 5))
            for tr in self.update(path, d[:, :4], d[:, 4]):
                x, y, w, h = tr.tlwh
                rows.append([t + 1, tr.track_id, x, y, w, h, tr.score])
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 7)
        if out_txt is not None:
            write_mot_results(out_txt, arr)
        return arr


def track_mot(model, frames: str | os.PathLike | Sequence, det_txt: str | os.PathLike,
              out_txt: str | os.PathLike, *, config: AssociationConfig | None = None,
              frame_rate: float | None = None, progress: bool = True) -> dict[str, Any]:
    """Track the user's frames (image folder, video file or list of image paths) with detections from a
    MOTChallenge txt (``frame,id,x,y,w,h,score,...``, frames 1-based in the frame order: natural order for a
    folder, :func:`unitrack.data.video.sequence_frames`) and write
    MOTChallenge results to ``out_txt``.

    Returns ``{"frames", "rows", "tracks", "timings", "stats"}``.
    """
    src = sequence_frames(frames)
    det_txt = Path(det_txt)
    det = read_mot_txt(det_txt)
    score = det[:, 6] if det.shape[1] >= 7 else np.ones(len(det))
    n = len(src)
    max_f = int(det[:, 0].max()) if len(det) else 0
    if max_f > max(n, 0) and not (isinstance(src, FrameSource) and src.kind == "video"):
        raise ValueError(f"{det_txt}: detections refer to frame {max_f} but {frames} has only {n} frames")
    n_frames = max(n, max_f)
    per = split_by_frame(np.concatenate([det[:, :1], det[:, 2:6], score[:, None]], axis=1), n_frames, det_txt)
    cfg = config if config is not None else mot_config()
    head = MOTHead(model, cfg, progress=progress)
    head.reset(frame_rate if frame_rate is not None else cfg.frame_rate)
    rows: list[list[float]] = []
    for i, frame in progress_bar(enumerate(src, 1), progress, "MOT", total=n):
        d = per[i - 1][:, 1:] if i - 1 < len(per) else np.zeros((0, 5))
        for tr in head.update(frame, d[:, :4], d[:, 4]):
            x, y, w, h = tr.tlwh
            rows.append([i, tr.track_id, x, y, w, h, tr.score])
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 7)
    write_mot_results(out_txt, arr)
    return {"frames": head.stats["frames"], "rows": len(arr), "tracks": len(np.unique(arr[:, 1])),
            "timings": head.timings, "stats": dict(head.stats)}
