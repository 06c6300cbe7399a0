"""Evaluation adapter of PoseTrack (PoseTrack-18 layout, see :mod:`unitrack.evaluation.adapters.mot`): poseval's
MOTA and its parts, and a per-joint IDF1 (:func:`unitrack.metrics.posetrack.posetrack_idf1`)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...association import AssociationConfig, posetrack_config
from ...data.posetrack import PoseFrame, PosePerson, PoseSequence, read_posetrack, write_posetrack
from ...heads.posetrack import PoseTrackHead
from ...metrics.posetrack import posetrack_idf1
from ._common import assoc_config

__all__ = ["PoseTrackAdapter", "posetrack_idf1", "run_posetrack_sequence", "track_posetrack", "with_track_ids"]


def with_track_ids(people: Sequence[PosePerson], ids: np.ndarray) -> list[PosePerson]:
    """Copies of the ``people`` that got an output id (``ids[k] >= 0``), with that ``track_id``; the others are
    left out (a person without a track id cannot be scored by poseval)."""
    out = []
    for p, i in zip(people, ids):
        if i >= 0:
            q = copy.copy(p)
            q.track_id = int(i)
            out.append(q)
    return out


def run_posetrack_sequence(
    head: PoseTrackHead,
    detections: PoseSequence | str | os.PathLike,
    images_root: str | os.PathLike,
    out_json: str | os.PathLike | None = None,
    fmt: str | None = None,
) -> PoseSequence:
    """Track one PoseTrack sequence with ``head`` (``PoseTrackHead.run``).

    Args:
        detections: the sequence's detected poses (PoseTrack 2017 or 2018 json, or a :class:`PoseSequence`).
        images_root: folder that the frames' ``file_name`` (``images/val/<seq>/000000.jpg``) are relative to; every
            frame image must exist (checked before any work).
        out_json: when given, the tracked sequence is written there (atomically).
        fmt: output json format ("2017" / "2018"; default: the input's).
    Returns:
        A copy of the sequence where every tracked person has ``track_id`` in [0, 999]; untracked people are
        removed.
    """
    seq = detections if isinstance(detections, PoseSequence) else read_posetrack(detections)
    root = Path(images_root)
    paths = [root / fr.file_name for fr in seq.frames]
    for fr, path in zip(seq.frames, paths):
        if not path.is_file():
            raise FileNotFoundError(
                f"frame image not found: {path} (file_name {fr.file_name!r} of "
                f"{seq.name or 'the sequence'} under images_root {root})"
            )
    poses = [[p.joints for p in fr.people] for fr in seq.frames]
    out_frames = [
        PoseFrame(fr.file_name, with_track_ids(fr.people, ids), fr.image_id, fr.is_labeled, fr.ignore_regions)
        for fr, ids in zip(seq.frames, head.track_frames(paths, poses, desc=f"PoseTrack {seq.name or ''}"))
    ]
    out = PoseSequence(out_frames, vid_id=seq.vid_id, name=seq.name, source_format=seq.source_format)
    if out_json is not None:
        write_posetrack(out_json, out, fmt or (seq.source_format if seq.source_format in ("2017", "2018") else "2018"))
    return out


def track_posetrack(
    model,
    detections_json: str | os.PathLike,
    images_root: str | os.PathLike,
    out_json: str | os.PathLike,
    *,
    config: AssociationConfig | None = None,
    fmt: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Track the poses of one PoseTrack json (2017 or 2018; frames' ``file_name`` relative to ``images_root``) and
    write the json with track ids to ``out_json``. Returns ``{"frames", "people", "tracks", "timings", "stats"}``."""
    head = PoseTrackHead(model, config, progress=progress)
    out = run_posetrack_sequence(head, detections_json, images_root, out_json, fmt)
    tids = {p.track_id for f in out.frames for p in f.people}
    return {
        "frames": len(out.frames),
        "people": sum(len(f.people) for f in out.frames),
        "tracks": len(tids),
        "timings": head.timings,
        "stats": dict(head.stats),
    }


class PoseTrackAdapter:
    """PoseTrack 2018 multi-person pose tracking (poseval MOTA)."""

    default_split = "val"

    def _dirs(self, data_root, split):
        root = Path(data_root)
        det, ann = root / "detections" / split, root / "annotations" / split
        return root, det, ann

    def sequences(self, data_root: str | os.PathLike, split: str | None = None) -> list[str]:
        _, det, _ = self._dirs(data_root, split or self.default_split)
        if not det.is_dir():
            raise FileNotFoundError(f"PoseTrack detections folder not found: {det}")
        return sorted(p.stem for p in det.glob("*.json"))

    def run(self, model, item, out_dir: str | os.PathLike) -> dict[str, Any]:
        cfg = item.config
        root, det, _ = self._dirs(item.data_root, cfg.get("split", self.default_split))
        head = PoseTrackHead(model, assoc_config(posetrack_config(), cfg), progress=bool(cfg.get("progress", False)))
        seq = run_posetrack_sequence(
            head, det / f"{item.sequence}.json", root, out_json=Path(out_dir) / f"{item.sequence}.json"
        )
        return {
            "timings": head.timings,
            "frames": len(seq.frames),
            "people": head.stats["people"],
            "untracked": head.stats["untracked"],
        }

    def evaluate(
        self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike], split: str | None = None
    ) -> dict[str, float]:
        from ...metrics.posetrack import posetrack_mota

        _, _, ann = self._dirs(data_root, split or self.default_split)
        gt, pr = {}, {}
        for seq, out_dir in outputs.items():
            gt[seq] = read_posetrack(ann / f"{seq}.json")
            pr[seq] = read_posetrack(Path(out_dir) / f"{seq}.json")
        if not gt:
            raise ValueError("evaluate: no sequences given")
        res = posetrack_mota(gt, pr)
        idf1 = posetrack_idf1(gt, pr)
        return {
            "idf1": idf1["mean"] * 100.0,
            "mota": float(res["MOTA"][-1]),
            "ids": int(np.sum(res["num_switches"])),
            "motp": float(res["MOTP"][-1]),
            "precision": float(res["Precision"][-1]),
            "recall": float(res["Recall"][-1]),
        }
