"""Evaluation adapter of MOTS (MOTSChallenge layout, see :mod:`unitrack.evaluation.adapters.mot`): idf1, hota,
smotsa, motsa (percent) and idsw."""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from ...association import AssociationConfig, mots_config
from ...data.mots import (
    PEDESTRIAN,
    MOTSObject,
    encode_mask,
    mots_by_frame,
    read_mots_sequence,
    read_mots_txt,
    write_mots_txt,
)
from ...data.video import FrameSource, sequence_frames
from ...heads.mots import MaskTrack, MOTSHead, mots_object_id
from ._common import pct
from .mot import MOTAdapter

__all__ = ["MOTSAdapter", "mots_objects", "run_mots_sequence", "track_mots"]


def mots_objects(frame_no: int, tracks: Iterable[MaskTrack], class_id: int = PEDESTRIAN) -> list[MOTSObject]:
    """The MOTS txt objects of one frame's output tracks: id :func:`~unitrack.heads.mots.mots_object_id`, class
    ``class_id``, the mask as COCO RLE."""
    return [
        MOTSObject(
            frame_no, mots_object_id(o.track_id), class_id, o.mask.shape[0], o.mask.shape[1], encode_mask(o.mask)
        )
        for o in tracks
    ]


def run_mots_sequence(
    head: MOTSHead,
    sequence: str | os.PathLike,
    out_txt: str | os.PathLike | None = None,
    det_path: str | os.PathLike | None = None,
) -> list[MOTSObject]:
    """Track a MOTS sequence folder (``seqinfo.ini``, ``img1/``, ``det/det.txt`` in MOTS txt format; only class-2
    lines are used) with ``head`` (``MOTSHead.run``). Returns the output objects (and writes them to ``out_txt``
    when given)."""
    seq = read_mots_sequence(sequence, det_path)
    masks = [[o.to_coco() for o in objs] for objs in seq.detections]
    objects: list[MOTSObject] = []
    for t, tracks in enumerate(
        head.track_frames(seq.frame_paths, masks, frame_rate=seq.frame_rate, desc=f"MOTS {seq.name}")
    ):
        objects += mots_objects(t + 1, tracks, head.class_id)
    if out_txt is not None:
        write_mots_txt(out_txt, objects)
    return objects


def track_mots(
    model,
    frames: str | os.PathLike | Sequence,
    det_txt: str | os.PathLike,
    out_txt: str | os.PathLike,
    *,
    config: AssociationConfig | None = None,
    frame_rate: float = 30.0,
    first_frame: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Track the user's frames (image folder, video or list of paths) with masks from a MOTS txt (``frame id
    class h w rle``; class-2 lines; frame ``first_frame`` = the first image) and write a MOTS txt to ``out_txt``.

    Returns ``{"frames", "objects", "tracks", "timings", "stats"}``.
    """
    src = sequence_frames(frames)
    n = len(src)
    objs = [o for o in read_mots_txt(det_txt) if o.class_id == PEDESTRIAN]
    last = max([o.frame for o in objs], default=first_frame - 1) - first_frame + 1
    if not (isinstance(src, FrameSource) and src.kind == "video") and last > n:
        raise ValueError(f"{det_txt}: masks refer to frame {last + first_frame - 1} but {frames} has only {n} frames")
    per = mots_by_frame(objs, max(n, last), first_frame, str(det_txt))
    head = MOTSHead(model, config, progress=progress)
    out: list[MOTSObject] = []
    masks = [[o.to_coco() for o in fr] for fr in per]
    for t, tracks in enumerate(head.track_frames(src, masks, frame_rate=frame_rate)):
        out += mots_objects(t + first_frame, tracks, head.class_id)
    write_mots_txt(out_txt, out)
    return {
        "frames": head.stats["frames"],
        "objects": len(out),
        "tracks": len({o.obj_id for o in out}),
        "timings": head.timings,
        "stats": dict(head.stats),
    }


class MOTSAdapter(MOTAdapter):
    """MOTS20 mask tracking."""

    def run(self, model, item, out_dir: str | os.PathLike) -> dict[str, Any]:
        head, objs = self._run_head(MOTSHead, mots_config, run_mots_sequence, model, item, out_dir)
        return {
            "timings": head.timings,
            "frames": head.stats["frames"],
            "objects": len(objs),
            "tracks": len({o.obj_id for o in objs}),
            "overlap_pixels": head.stats["overlap_pixels"],
        }

    def evaluate(
        self,
        data_root: str | os.PathLike,
        outputs: Mapping[str, str | os.PathLike],
        split: str | None = None,
        benchmark: str = "MOTS20",
    ) -> dict[str, float]:
        from ...metrics.mots import evaluate_mots_sequence

        c = self._evaluate_combined(data_root, outputs, split, evaluate_mots_sequence)
        cl = c["CLEAR"]
        return {
            "idf1": pct(c["Identity"]["IDF1"]),
            "hota": pct(c["HOTA"]["HOTA"]),
            "smotsa": pct(c["MOTS"]["sMOTSA"]),
            "motsa": pct(c["MOTS"]["MOTSA"]),
            "idsw": int(cl["IDSW"]),
        }
