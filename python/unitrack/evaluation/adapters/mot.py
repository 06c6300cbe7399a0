"""Evaluation adapters of the association tasks: ``mot`` here, ``mots`` and ``posetrack`` in their modules (the
dataset layouts, config keys and metrics of all three are described here).

Dataset layouts (the built-in synthetic benchmark and the real datasets alike):

* mot: ``<root>/<split>/<seq>/{seqinfo.ini, img1/, det/det.txt, gt/gt.txt}`` (split ``train`` by default);
* mots: ``<root>/<split>/<seq>/{seqinfo.ini, img1/, det/det.txt (MOTS txt), gt/gt.txt}``;
* posetrack: ``<root>/{images/<split>/<seq>/, annotations/<split>/<seq>.json, detections/<split>/<seq>.json}``
  (split ``val``); frames' ``file_name`` are relative to ``<root>``.

Per-item config keys (``WorkItem.config``, all optional): ``split``; any :class:`AssociationConfig` field
(e.g. ``motion_lambda``, ``max_mask_area``); ``womotion: true``; mot: ``benchmark`` (MOT17; MOT15 = no
preprocessing), ``det_file`` (a detections file name inside ``det/`` instead of ``det.txt``).

Metrics (percent, 0-100):

* mot: ``idf1``, ``hota``, ``mota``, ``motp``, ``idsw``, ``fp``, ``fn``, ``mt``, ``ml`` (TrackEval definitions,
  :mod:`unitrack.metrics.mot`, combined over sequences like TrackEval);
* mots: ``idf1``, ``hota``, ``smotsa``, ``motsa``, ``idsw`` (TrackEval MOTSChallenge definitions);
* posetrack: ``mota`` (poseval's total MOTA, with its quirks), ``ids`` (identity switches summed over the 15
  joints), ``idf1`` -- poseval has no IDF1: ours is the mean over the 15 joints of the TrackEval IDF1 of that
  joint's points, a gt and a predicted joint being a candidate match when their distance is at most half the gt
  head size (similarity ``1 - d / head_size`` >= 0.5, the PCKh@0.5 criterion poseval's MOTA uses), plus
  ``motp``, ``precision``, ``recall``.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ...association import AssociationConfig, mot_config
from ...data.motchallenge import MOTSequence, read_mot_sequence, read_mot_txt, split_by_frame, write_mot_results
from ...data.video import FrameSource, sequence_frames
from ...heads.mot import MOTHead, result_rows
from ._common import assoc_config, pct

__all__ = ["MOTAdapter", "run_mot_sequence", "track_mot"]


def run_mot_sequence(
    head: MOTHead,
    sequence: MOTSequence | str | os.PathLike,
    out_txt: str | os.PathLike | None = None,
    det_path: str | os.PathLike | None = None,
) -> np.ndarray:
    """Track a whole MOTChallenge sequence with ``head`` (``MOTHead.run``).

    Args:
        head: a :class:`~unitrack.heads.mot.MOTHead` (reset for the sequence).
        sequence: a :class:`~unitrack.data.motchallenge.MOTSequence` or a sequence folder (``seqinfo.ini``,
            ``img1/``, ``det/det.txt``).
        out_txt: when given, the results are written there (MOTChallenge csv, atomically).
        det_path: your own detections (MOT txt) instead of ``det/det.txt``.
    Returns:
        ``[N, 7]`` float rows ``frame, id, x, y, w, h, score`` (frames 1-based); ``head.timings`` holds the
        per-stage means.
    """
    seq = (
        sequence if isinstance(sequence, MOTSequence) else read_mot_sequence(sequence, det_path=det_path, load_gt=False)
    )
    arr = result_rows(
        head.track_frames(seq.frame_paths, seq.detections, frame_rate=seq.frame_rate, desc=f"MOT {seq.name}")
    )
    if out_txt is not None:
        write_mot_results(out_txt, arr)
    return arr


def track_mot(
    model,
    frames: str | os.PathLike | Sequence,
    det_txt: str | os.PathLike,
    out_txt: str | os.PathLike,
    *,
    config: AssociationConfig | None = None,
    frame_rate: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Track the user's frames (image folder, video file or list of image paths) with detections from a
    MOTChallenge txt (``frame,id,x,y,w,h,score,...``, frames 1-based in the frame order: natural order for a
    folder, :func:`unitrack.data.video.sequence_frames`) and write MOTChallenge results to ``out_txt``.

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
    arr = result_rows(
        head.track_frames(
            src,
            [p[:, 1:] for p in per],
            desc="MOT",
            frame_rate=frame_rate if frame_rate is not None else cfg.frame_rate,
        )
    )
    write_mot_results(out_txt, arr)
    return {
        "frames": head.stats["frames"],
        "rows": len(arr),
        "tracks": len(np.unique(arr[:, 1])),
        "timings": head.timings,
        "stats": dict(head.stats),
    }


class MOTAdapter:
    """MOTChallenge box tracking (MOT16/17 layout)."""

    default_split = "train"

    def _split_dir(self, data_root, split) -> Path:
        base = Path(data_root) / split
        if not base.is_dir():
            raise FileNotFoundError(f"MOT split folder not found: {base}")
        return base

    def sequences(self, data_root: str | os.PathLike, split: str | None = None) -> list[str]:
        from ...data.motchallenge import list_sequences

        return [p.name for p in list_sequences(self._split_dir(data_root, split or self.default_split))]

    def _run_head(
        self, head_cls, make_config: Callable[[], Any], run_sequence: Callable, model, item, out_dir: str | os.PathLike
    ):
        """Run ``head_cls`` (``make_config()`` with the item's config applied) on ``<split>/<sequence>`` with
        ``run_sequence(head, seq_dir, out_txt=, det_path=)``, writing ``<out_dir>/<sequence>.txt``; returns
        ``(head, what run_sequence returned)``."""
        cfg = item.config
        seq_dir = self._split_dir(item.data_root, cfg.get("split", self.default_split)) / item.sequence
        det = seq_dir / "det" / cfg["det_file"] if cfg.get("det_file") else None
        head = head_cls(model, assoc_config(make_config(), cfg), progress=bool(cfg.get("progress", False)))
        return head, run_sequence(head, seq_dir, out_txt=Path(out_dir) / f"{item.sequence}.txt", det_path=det)

    def _evaluate_combined(
        self,
        data_root: str | os.PathLike,
        outputs: Mapping[str, str | os.PathLike],
        split: str | None,
        evaluate_sequence: Callable[[Path, Path, int], dict],
    ) -> dict:
        """``combine_results`` of ``evaluate_sequence(gt_file, output_file, seq_length)`` over ``outputs``
        (sequence -> folder holding ``<sequence>.txt``)."""
        from ...data.motchallenge import read_seqinfo
        from ...metrics.mot import combine_results

        base = self._split_dir(data_root, split or self.default_split)
        per = {}
        for seq, out_dir in outputs.items():
            info = read_seqinfo(base / seq / "seqinfo.ini")
            res = Path(out_dir) / f"{seq}.txt"
            if not res.is_file():
                raise FileNotFoundError(f"no tracker output for sequence {seq!r}: {res}")
            per[seq] = evaluate_sequence(base / seq / "gt" / "gt.txt", res, info["seq_length"])
        if not per:
            raise ValueError("evaluate: no sequences given")
        return combine_results(per)

    def run(self, model, item, out_dir: str | os.PathLike) -> dict[str, Any]:
        head, rows = self._run_head(MOTHead, mot_config, run_mot_sequence, model, item, out_dir)
        return {
            "timings": head.timings,
            "frames": head.stats["frames"],
            "rows": int(len(rows)),
            "tracks": int(len(np.unique(rows[:, 1]))),
            "dropped_boxes": head.stats["zero_area"] + head.stats["outside"],
        }

    def evaluate(
        self,
        data_root: str | os.PathLike,
        outputs: Mapping[str, str | os.PathLike],
        split: str | None = None,
        benchmark: str = "MOT17",
    ) -> dict[str, float]:
        from ...metrics.mot import evaluate_mot_sequence

        c = self._evaluate_combined(data_root, outputs, split, partial(evaluate_mot_sequence, benchmark=benchmark))
        cl, idn = c["CLEAR"], c["Identity"]
        return {
            "idf1": pct(idn["IDF1"]),
            "hota": pct(c["HOTA"]["HOTA"]),
            "mota": pct(cl["MOTA"]),
            "motp": pct(cl["MOTP"]),
            "idsw": int(cl["IDSW"]),
            "fp": int(cl["CLR_FP"]),
            "fn": int(cl["CLR_FN"]),
            "mt": int(cl["MT"]),
            "ml": int(cl["ML"]),
        }
