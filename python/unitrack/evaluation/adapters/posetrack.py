"""Evaluation adapter of PoseTrack (PoseTrack-18 layout, see :mod:`unitrack.evaluation.adapters.mot`): poseval's
MOTA and its parts, and a per-joint IDF1 (:func:`unitrack.metrics.posetrack.posetrack_idf1`)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ...metrics.posetrack import posetrack_idf1
from ._common import assoc_config

__all__ = ["PoseTrackAdapter", "posetrack_idf1"]


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
        from ...association import posetrack_config
        from ...heads.posetrack import PoseTrackHead

        cfg = item.config
        root, det, _ = self._dirs(item.data_root, cfg.get("split", self.default_split))
        head = PoseTrackHead(model, assoc_config(posetrack_config(), cfg), progress=bool(cfg.get("progress",
                                                                                                  False)))
        seq = head.run(det / f"{item.sequence}.json", root, out_json=Path(out_dir) / f"{item.sequence}.json")
        return {"timings": head.timings, "frames": len(seq.frames), "people": head.stats["people"],
                "untracked": head.stats["untracked"]}

    def evaluate(self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike],
                 split: str | None = None) -> dict[str, float]:
        from ...data.posetrack import read_posetrack
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
        return {"idf1": idf1["mean"] * 100.0, "mota": float(res["MOTA"][-1]), "ids": int(np.sum(res["num_switches"])),
                "motp": float(res["MOTP"][-1]), "precision": float(res["Precision"][-1]),
                "recall": float(res["Recall"][-1])}
