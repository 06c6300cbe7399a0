"""Evaluation adapters of the propagation tasks: ``vos`` (DAVIS-2017 layout) and ``poseprop`` (JHMDB layout)."""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np

from .tasks import register_task

PCK_KEYS = (0.1, 0.2, 0.3, 0.4, 0.5)


class VOSTask:
    """DAVIS-2017 semi-supervised VOS: one work item per sequence; J-mean and J&F-mean (percent)."""

    split = "val"

    def _dataset(self, root: str):
        from unitrack.data.davis import DavisDataset

        return DavisDataset(root, split=self.split)

    def sequences(self, data_root: str) -> List[str]:
        return list(self._dataset(data_root).sequence_names)

    def run(self, model, item, out_dir: str) -> Dict:
        from unitrack.data.davis import DavisDataset, write_sequence_masks
        from unitrack.heads.vos import VOSConfig, VOSTracker

        seq = DavisDataset(item.data_root, split=self.split, sequences=[item.sequence])[item.sequence]
        frames = seq.load_frames()
        first = seq.load_mask(0)
        tracker = VOSTracker(model, VOSConfig(**item.config))
        masks = tracker.run(frames, first, progress=False)
        write_sequence_masks(out_dir, item.sequence, masks)
        return {"timings": _head_timings(tracker), "frames": len(frames)}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from unitrack.metrics.davis import DavisResult, evaluate_davis

        merged = DavisResult()
        for seq, out_dir in outputs.items():
            r = evaluate_davis(out_dir, data_root, split=self.split, sequences=[seq], progress=False)
            merged.per_object.update(r.per_object)
        s = merged.summary
        return {"j_mean": 100 * s["J-Mean"], "jf_mean": 100 * s["J&F-Mean"], "f_mean": 100 * s["F-Mean"],
                "j_recall": 100 * s["J-Recall"], "j_decay": 100 * s["J-Decay"], "objects": len(merged.per_object)}


def _head_timings(head) -> Dict[str, float]:
    """The propagation head's ms per frame (frames already in memory, so ``io`` is left out)."""
    return {k: v for k, v in head.timings.items() if k != "io"}


class PosePropTask:
    """JHMDB-style pose propagation: one work item per video of ``<root>/testlist_split1.txt``; PCK@0.1..0.5."""

    filelist_name = "testlist_split1.txt"

    def _entries(self, root: str):
        from unitrack.data.jhmdb import read_filelist

        path = root if os.path.isfile(root) else os.path.join(root, self.filelist_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"JHMDB file list not found: {path} (expected lines '<joint_positions.mat> "
                                    f"<frames dir>')")
        return {os.path.basename(os.path.normpath(e.frames_dir)): e for e in read_filelist(path)}

    def sequences(self, data_root: str) -> List[str]:
        return list(self._entries(data_root))

    def run(self, model, item, out_dir: str) -> Dict:
        from unitrack.data.jhmdb import load_video
        from unitrack.heads.poseprop import PosePropagator, PosePropConfig

        e = self._entries(item.data_root)[item.sequence]
        v = load_video(e.mat_path, e.frames_dir, crop_size=320)
        n = min(len(v.frames), v.joints.shape[2])
        head = PosePropagator(model, PosePropConfig(**item.config))
        out = head.run(v.frames[:n], v.joints[:, :, 0].T)
        pred = v.to_original(out.transpose(2, 1, 0))
        np.savez(os.path.join(out_dir, "joints.npz"), pred=pred, gt=v.joints_original[:, :, :n])
        return {"timings": _head_timings(head), "frames": n}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from unitrack.metrics.pck import evaluate_pck

        preds, gts = [], []
        for seq in sorted(outputs):
            with np.load(os.path.join(outputs[seq], "joints.npz")) as z:
                preds.append(z["pred"])
                gts.append(z["gt"])
        res = evaluate_pck(preds, gts, thresholds=PCK_KEYS)
        return {f"pck@{t}": res["pck"][t] for t in PCK_KEYS}


register_task("vos", VOSTask())
register_task("poseprop", PosePropTask())
