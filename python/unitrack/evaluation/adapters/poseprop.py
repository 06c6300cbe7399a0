"""Evaluation adapter of pose propagation (JHMDB layout): one work item per video; PCK@0.1..0.5. Also the run of
the head over a whole JHMDB file list (:func:`run_jhmdb`, ``unitrack poseprop``)."""

from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np

from ...data.jhmdb import JhmdbEntry, load_video, read_filelist
from ...heads.poseprop import PosePropagator, PosePropConfig
from ._common import head_timings

__all__ = ["PosePropTask", "PCK_KEYS", "propagate_video", "run_jhmdb"]

PCK_KEYS = (0.1, 0.2, 0.3, 0.4, 0.5)


def propagate_video(
    model, entry: JhmdbEntry, config: Optional[PosePropConfig] = None, crop_size: int = 320
) -> tuple[np.ndarray, np.ndarray, PosePropagator]:
    """Pose propagation of one JHMDB video from its first frame's joints, on frames resized to ``crop_size``.

    Returns ``(pred, gt, head)``: ``[2, J, T]`` predicted and ground-truth joints in original-image pixels (0-based;
    the video's frames and joints cut to the shorter of the two) and the head with its timings."""
    v = load_video(entry.mat_path, entry.frames_dir, crop_size=crop_size)
    n = min(len(v.frames), v.joints.shape[2])
    head = PosePropagator(model, config)
    out = head.run(v.frames[:n], v.joints[:, :, 0].T)  # [T, J, 2]
    return v.to_original(out.transpose(2, 1, 0)), v.joints_original[:, :, :n], head


class PosePropTask:
    """JHMDB-style pose propagation: one work item per video of ``<root>/testlist_split1.txt``; PCK@0.1..0.5."""

    filelist_name = "testlist_split1.txt"

    def _entries(self, root: str):
        path = root if os.path.isfile(root) else os.path.join(root, self.filelist_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"JHMDB file list not found: {path} (expected lines '<joint_positions.mat> <frames dir>')"
            )
        return {os.path.basename(os.path.normpath(e.frames_dir)): e for e in read_filelist(path)}

    def sequences(self, data_root: str) -> List[str]:
        return list(self._entries(data_root))

    def run(self, model, item, out_dir: str) -> Dict:
        e = self._entries(item.data_root)[item.sequence]
        pred, gt, head = propagate_video(model, e, PosePropConfig(**item.config), crop_size=320)
        np.savez(os.path.join(out_dir, "joints.npz"), pred=pred, gt=gt)
        return {"timings": head_timings(head), "frames": gt.shape[2]}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from ...metrics.pck import evaluate_pck

        preds, gts = [], []
        for seq in sorted(outputs):
            with np.load(os.path.join(outputs[seq], "joints.npz")) as z:
                preds.append(z["pred"])
                gts.append(z["gt"])
        res = evaluate_pck(preds, gts, thresholds=PCK_KEYS)
        return {f"pck@{t}": res["pck"][t] for t in PCK_KEYS}


def run_jhmdb(
    model,
    filelist: str,
    config: Optional[PosePropConfig] = None,
    crop_size: int = 320,
    limit: Optional[int] = None,
    progress: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run pose propagation on every video of a JHMDB file list.

    Returns ``(predictions, ground_truths)``: per video ``[2, J, T]`` arrays in original-image pixels (0-based),
    ready for :func:`unitrack.metrics.pck.evaluate_pck`.
    """
    from tqdm import tqdm

    entries = read_filelist(filelist)
    if limit is not None:
        entries = entries[: int(limit)]
    preds, gts = [], []
    for e in tqdm(entries, desc="JHMDB", disable=not progress):
        pred, gt, _ = propagate_video(model, e, config, crop_size=crop_size)
        preds.append(pred)
        gts.append(gt)
    return preds, gts
