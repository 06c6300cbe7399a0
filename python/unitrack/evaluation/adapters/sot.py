"""Evaluation adapter of SOT (OTB-2015 layout): both heads per video, success AUC (percent) for XCorr and DCF."""
from __future__ import annotations

import os
from typing import Dict, List

HEADS = ("xcorr", "dcf")


class SOTTask:
    """OTB-2015: one work item per video, both SOT heads; success AUC and precision (percent) per head."""

    def sequences(self, data_root: str) -> List[str]:
        from ...data.otb import load_otb

        return list(load_otb(data_root, check_files=False).names)

    def run(self, model, item, out_dir: str) -> Dict:
        from ...data.otb import load_otb, write_results
        from ...heads.sot import make_tracker

        video = load_otb(item.data_root, videos=[item.sequence])[item.sequence]
        timings = {}
        for head in HEADS:
            tracker = make_tracker(model, head)
            boxes = tracker.run(video.frames, video.init_box, progress=False)
            t = tracker.timings  # ms per frame; "io" is reading the JPEGs
            timings[head] = t["total"]
            timings[f"{head}_backbone"] = t["backbone"]
            os.makedirs(os.path.join(out_dir, head), exist_ok=True)
            write_results(os.path.join(out_dir, head, f"{item.sequence}.txt"), boxes)
        return {"timings": timings, "frames": len(video)}

    def evaluate(self, data_root: str, outputs: Dict[str, str]) -> Dict:
        from ...data.otb import load_otb, read_results
        from ...metrics.otb import evaluate_sequences

        ds = load_otb(data_root, videos=sorted(outputs), check_files=False)
        out = {}
        for head in HEADS:
            preds = {s: read_results(os.path.join(d, head, f"{s}.txt")) for s, d in outputs.items()}
            gts = {s: ds[s].gt for s in outputs}
            r = evaluate_sequences(preds, gts)
            out[f"{head}_auc"] = 100.0 * r["auc"]
            out[f"{head}_precision"] = 100.0 * r["precision"]
        return out

