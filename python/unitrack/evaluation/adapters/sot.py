"""Evaluation adapter of SOT (OTB-2015 layout): both heads per video, success AUC (percent) for XCorr and DCF; and
the OTB runs of one head over a dataset (:func:`run_otb`) and their scoring (:func:`evaluate_otb`)."""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Union

import torch

from ...data.otb import write_results
from ...heads.sot import SOTConfig, make_tracker
from ...metrics.otb import evaluate_results

__all__ = ["SOTTask", "HEADS", "run_otb", "evaluate_otb"]

HEADS = ("xcorr", "dcf")


class SOTTask:
    """OTB-2015: one work item per video, both SOT heads; success AUC and precision (percent) per head."""

    def sequences(self, data_root: str) -> List[str]:
        from ...data.otb import load_otb

        return list(load_otb(data_root, check_files=False).names)

    def run(self, model, item, out_dir: str) -> Dict:
        from ...data.otb import load_otb

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


def run_otb(
    model: torch.nn.Module,
    dataset,
    results_dir: Union[str, os.PathLike],
    head: str = "dcf",
    *,
    config: Optional[SOTConfig] = None,
    videos: Optional[Sequence[str]] = None,
    overwrite: bool = False,
    progress: bool = True,
) -> list[str]:
    """Track every video of an :class:`unitrack.data.otb.OTBDataset` and write ``<results_dir>/<video>.txt``.

    Existing result files are skipped unless ``overwrite`` (idempotent, resumable). Returns the videos tracked.
    """
    done = []
    names = list(videos) if videos is not None else dataset.names
    for name in names:
        path = os.path.join(os.fspath(results_dir), f"{name}.txt")
        if os.path.exists(path) and not overwrite:
            continue
        video = dataset[name]
        boxes = make_tracker(model, head, config).run(video.frames, video.init_box, progress=progress)
        write_results(path, boxes)
        done.append(name)
    return done


def evaluate_otb(
    results_dir: Union[str, os.PathLike], dataset, *, allow_missing: bool = False, convention: str = "unitrack"
) -> dict:
    """OTB OPE metrics of ``<results_dir>/<video>.txt`` against an OTBDataset (or a path accepted by
    :func:`unitrack.data.otb.load_otb`): success AUC (21 IoU thresholds, strict >), precision at 20 px, scored as
    UniTrack's pysot toolkit (``convention="unitrack"``, the file as written) or got10k (``"got10k"``, first box
    replaced by the ground truth). See :func:`unitrack.metrics.otb.evaluate_results`.

    Returns:
        ``{"auc", "precision", "success_rate_50", "success_curve", "precision_curve", "per_video", "missing",
        "convention"}``.
    """
    return evaluate_results(results_dir, dataset, convention=convention, allow_missing=allow_missing)
