"""Evaluation adapter of pose propagation (JHMDB layout): one work item per video; PCK@0.1..0.5."""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np

from ._common import head_timings

__all__ = ["PosePropTask", "PCK_KEYS"]

PCK_KEYS = (0.1, 0.2, 0.3, 0.4, 0.5)


class PosePropTask:
    """JHMDB-style pose propagation: one work item per video of ``<root>/testlist_split1.txt``; PCK@0.1..0.5."""

    filelist_name = "testlist_split1.txt"

    def _entries(self, root: str):
        from ...data.jhmdb import read_filelist

        path = root if os.path.isfile(root) else os.path.join(root, self.filelist_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"JHMDB file list not found: {path} (expected lines '<joint_positions.mat> "
                                    f"<frames dir>')")
        return {os.path.basename(os.path.normpath(e.frames_dir)): e for e in read_filelist(path)}

    def sequences(self, data_root: str) -> List[str]:
        return list(self._entries(data_root))

    def run(self, model, item, out_dir: str) -> Dict:
        from ...data.jhmdb import load_video
        from ...heads.poseprop import PosePropagator, PosePropConfig

        e = self._entries(item.data_root)[item.sequence]
        v = load_video(e.mat_path, e.frames_dir, crop_size=320)
        n = min(len(v.frames), v.joints.shape[2])
        head = PosePropagator(model, PosePropConfig(**item.config))
        out = head.run(v.frames[:n], v.joints[:, :, 0].T)
        pred = v.to_original(out.transpose(2, 1, 0))
        np.savez(os.path.join(out_dir, "joints.npz"), pred=pred, gt=v.joints_original[:, :, :n])
        return {"timings": head_timings(head), "frames": n}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from ...metrics.pck import evaluate_pck

        preds, gts = [], []
        for seq in sorted(outputs):
            with np.load(os.path.join(outputs[seq], "joints.npz")) as z:
                preds.append(z["pred"])
                gts.append(z["gt"])
        res = evaluate_pck(preds, gts, thresholds=PCK_KEYS)
        return {f"pck@{t}": res["pck"][t] for t in PCK_KEYS}
