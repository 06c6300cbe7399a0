"""Evaluation adapter of VOS (DAVIS-2017 layout): one work item per sequence; J-mean and J&F-mean (percent)."""
from __future__ import annotations

from typing import Dict, List

from ._common import head_timings

__all__ = ["VOSTask"]


class VOSTask:
    """DAVIS-2017 semi-supervised VOS: one work item per sequence; J-mean and J&F-mean (percent)."""

    split = "val"

    def _dataset(self, root: str):
        from ...data.davis import DavisDataset

        return DavisDataset(root, split=self.split)

    def sequences(self, data_root: str) -> List[str]:
        return list(self._dataset(data_root).sequence_names)

    def run(self, model, item, out_dir: str) -> Dict:
        from ...data.davis import DavisDataset, write_sequence_masks
        from ...heads.vos import VOSConfig, VOSTracker

        seq = DavisDataset(item.data_root, split=self.split, sequences=[item.sequence])[item.sequence]
        frames = seq.load_frames()
        first = seq.load_mask(0)
        tracker = VOSTracker(model, VOSConfig(**item.config))
        masks = tracker.run(frames, first, progress=False)
        write_sequence_masks(out_dir, item.sequence, masks)
        return {"timings": head_timings(tracker), "frames": len(frames)}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from ...metrics.davis import DavisResult, evaluate_davis

        merged = DavisResult()
        for seq, out_dir in outputs.items():
            r = evaluate_davis(out_dir, data_root, split=self.split, sequences=[seq], progress=False)
            merged.per_object.update(r.per_object)
        s = merged.summary
        return {"j_mean": 100 * s["J-Mean"], "jf_mean": 100 * s["J&F-Mean"], "f_mean": 100 * s["F-Mean"],
                "j_recall": 100 * s["J-Recall"], "j_decay": 100 * s["J-Decay"], "objects": len(merged.per_object)}
