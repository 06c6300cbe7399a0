"""Evaluation adapter of VOS (DAVIS-2017 layout): one work item per sequence; J-mean and J&F-mean (percent). Also
the run of the VOS head over a whole DAVIS split (:func:`run_davis`, ``unitrack vos``)."""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, Optional

import numpy as np

from ...data._atomic import atomic_dir
from ...data.davis import DavisDataset, DavisSequence, write_sequence_masks
from ...heads.vos import VOSConfig, VOSTracker
from ._common import head_timings

__all__ = ["VOSTask", "run_davis", "segment_sequence"]


def segment_sequence(
    model, seq: DavisSequence, config: Optional[VOSConfig] = None, progress: bool = False
) -> tuple[list[np.ndarray], VOSTracker]:
    """VOS of one DAVIS sequence from its first annotation: ``(masks [T] id maps, the tracker with its timings)``."""
    frames = seq.load_frames()
    tracker = VOSTracker(model, config)
    return tracker.run(frames, seq.load_mask(0), progress=progress), tracker


class VOSTask:
    """DAVIS-2017 semi-supervised VOS: one work item per sequence; J-mean and J&F-mean (percent)."""

    split = "val"

    def _dataset(self, root: str):
        return DavisDataset(root, split=self.split)

    def sequences(self, data_root: str) -> List[str]:
        return list(self._dataset(data_root).sequence_names)

    def run(self, model, item, out_dir: str) -> Dict:
        seq = DavisDataset(item.data_root, split=self.split, sequences=[item.sequence])[item.sequence]
        masks, tracker = segment_sequence(model, seq, VOSConfig(**item.config))
        write_sequence_masks(out_dir, item.sequence, masks)
        return {"timings": head_timings(tracker), "frames": len(masks)}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from ...metrics.davis import DavisResult, evaluate_davis

        merged = DavisResult()
        for seq, out_dir in outputs.items():
            r = evaluate_davis(out_dir, data_root, split=self.split, sequences=[seq], progress=False)
            merged.per_object.update(r.per_object)
        s = merged.summary
        return {
            "j_mean": 100 * s["J-Mean"],
            "jf_mean": 100 * s["J&F-Mean"],
            "f_mean": 100 * s["F-Mean"],
            "j_recall": 100 * s["J-Recall"],
            "j_decay": 100 * s["J-Decay"],
            "objects": len(merged.per_object),
        }


def run_davis(
    model,
    davis_root: str,
    out_dir: str,
    split: str = "val",
    config: Optional[VOSConfig] = None,
    sequences: Optional[Iterable[str]] = None,
    progress: bool = True,
    skip_existing: bool = False,
) -> list[str]:
    """Run VOS on a DAVIS-2017 split and write ``<out_dir>/<seq>/%05d.png`` (indexed, DAVIS palette).

    Returns the names of the sequences processed. With ``skip_existing`` a sequence whose folder already holds one
    PNG per frame is skipped (idempotent reruns).
    """
    from tqdm import tqdm

    ds = DavisDataset(davis_root, split=split, sequences=sequences)
    done = []
    for name in tqdm(ds.sequence_names, desc=f"DAVIS {split}", disable=not progress):
        seq = ds[name]
        seq_dir = os.path.join(out_dir, name)
        if skip_existing and os.path.isdir(seq_dir):
            have = [f for f in os.listdir(seq_dir) if f.endswith(".png")]
            if len(have) == len(seq):
                done.append(name)
                continue
        masks, _ = segment_sequence(model, seq, config, progress=progress)
        with atomic_dir(seq_dir) as tmp:  # an interrupted run leaves no half-written sequence folder
            write_sequence_masks(os.fspath(tmp.parent), tmp.name, masks)
        done.append(name)
    return done
