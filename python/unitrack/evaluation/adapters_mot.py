"""Evaluation-platform adapters of the association tasks: ``mot``, ``mots``, ``posetrack`` (registered at import).

Dataset layouts (the built-in synthetic benchmark and the real datasets alike):

* mot: ``<root>/<split>/<seq>/{seqinfo.ini, img1/, det/det.txt, gt/gt.txt}`` (split ``train`` by default);
* mots: ``<root>/<split>/<seq>/{seqinfo.ini, img1/, det/det.txt (MOTS txt), gt/gt.txt}``;
* posetrack: ``<root>/{images/<split>/<seq>/, annotations/<split>/<seq>.json, detections/<split>/<seq>.json}``
  (split ``val``); frames' ``file_name`` are relative to ``<root>``.

Per-item config keys (``WorkItem.config``, all optional): ``split``; any :class:`AssociationConfig` field
(e.g. ``motion_lambda``, ``max_mask_area``); ``womotion: true``; mot: ``benchmark`` (MOT17; MOT15 = no
preprocessing), ``det_file`` (a detections file name inside ``det/`` instead of ``det.txt``).

Metrics (percent, 0-100):

* mot: ``idf1``, ``hota``, ``mota``, ``motp``, ``idsw``, ``fp``, ``fn``, ``mt``, ``ml`` (TrackEval definitions,
  :mod:`unitrack.metrics.mot`, combined over sequences like TrackEval);
* mots: ``idf1``, ``hota``, ``smotsa``, ``motsa``, ``idsw`` (TrackEval MOTSChallenge definitions);
* posetrack: ``mota`` (poseval's total MOTA, with its quirks), ``ids`` (identity switches summed over the 15
  joints), ``idf1`` -- poseval has no IDF1: ours is the mean over the 15 joints of the TrackEval IDF1 of that
  joint's points, a gt and a predicted joint being a candidate match when their distance is at most half the gt
  head size (similarity ``1 - d / head_size`` >= 0.5, the PCKh@0.5 criterion poseval's MOTA uses), plus
  ``motp``, ``precision``, ``recall``.
"""
from __future__ import annotations

import dataclasses
import os
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .tasks import register_task

__all__ = ["MOTAdapter", "MOTSAdapter", "PoseTrackAdapter"]

def _assoc_config(base, cfg: Mapping[str, Any]):
    """``base`` (an AssociationConfig) with the config's AssociationConfig fields applied."""
    from ..association import womotion

    fields = {f.name for f in dataclasses.fields(base)}
    over = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in fields}
    out = base.replace(**over)
    return womotion(out) if cfg.get("womotion") else out


def _pct(x) -> float:
    return float(np.mean(x)) * 100.0


class MOTAdapter:
    """MOTChallenge box tracking (MOT16/17 layout)."""

    default_split = "train"

    def _split_dir(self, data_root, split) -> Path:
        base = Path(data_root) / split
        if not base.is_dir():
            raise FileNotFoundError(f"MOT split folder not found: {base}")
        return base

    def sequences(self, data_root: str | os.PathLike, split: str | None = None) -> list[str]:
        from ..data.motchallenge import list_sequences

        return [p.name for p in list_sequences(self._split_dir(data_root, split or self.default_split))]

    def _run_head(self, head_cls, make_config: Callable[[], Any], model, item, out_dir: str | os.PathLike):
        """Run ``head_cls`` (``make_config()`` with the item's config applied) on ``<split>/<sequence>``, writing
        ``<out_dir>/<sequence>.txt``; returns ``(head, what head.run returned)``."""
        cfg = item.config
        seq_dir = self._split_dir(item.data_root, cfg.get("split", self.default_split)) / item.sequence
        det = seq_dir / "det" / cfg["det_file"] if cfg.get("det_file") else None
        head = head_cls(model, _assoc_config(make_config(), cfg), progress=bool(cfg.get("progress", False)))
        return head, head.run(seq_dir, out_txt=Path(out_dir) / f"{item.sequence}.txt", det_path=det)

    def _evaluate_combined(self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike],
                           split: str | None, evaluate_sequence: Callable[[Path, Path, int], dict]) -> dict:
        """``combine_results`` of ``evaluate_sequence(gt_file, output_file, seq_length)`` over ``outputs``
        (sequence -> folder holding ``<sequence>.txt``)."""
        from ..data.motchallenge import read_seqinfo
        from ..metrics.mot import combine_results

        base = self._split_dir(data_root, split or self.default_split)
        per = {}
        for seq, out_dir in outputs.items():
            info = read_seqinfo(base / seq / "seqinfo.ini")
            res = Path(out_dir) / f"{seq}.txt"
            if not res.is_file():
                raise FileNotFoundError(f"no tracker output for sequence {seq!r}: {res}")
            per[seq] = evaluate_sequence(base / seq / "gt" / "gt.txt", res, info["seq_length"])
        if not per:
            raise ValueError("evaluate: no sequences given")
        return combine_results(per)

    def run(self, model, item, out_dir: str | os.PathLike) -> dict[str, Any]:
        from ..association import mot_config
        from ..heads.mot import MOTHead

        head, rows = self._run_head(MOTHead, mot_config, model, item, out_dir)
        return {"timings": head.timings, "frames": head.stats["frames"], "rows": int(len(rows)),
                "tracks": int(len(np.unique(rows[:, 1]))), "dropped_boxes": head.stats["zero_area"]
                + head.stats["outside"]}

    def evaluate(self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike],
                 split: str | None = None, benchmark: str = "MOT17") -> dict[str, float]:
        from ..metrics.mot import evaluate_mot_sequence

        c = self._evaluate_combined(data_root, outputs, split, partial(evaluate_mot_sequence, benchmark=benchmark))
        cl, idn = c["CLEAR"], c["Identity"]
        return {"idf1": _pct(idn["IDF1"]), "hota": _pct(c["HOTA"]["HOTA"]), "mota": _pct(cl["MOTA"]),
                "motp": _pct(cl["MOTP"]), "idsw": int(cl["IDSW"]), "fp": int(cl["CLR_FP"]), "fn": int(cl["CLR_FN"]),
                "mt": int(cl["MT"]), "ml": int(cl["ML"])}


class MOTSAdapter(MOTAdapter):
    """MOTS20 mask tracking."""

    def run(self, model, item, out_dir: str | os.PathLike) -> dict[str, Any]:
        from ..association import mots_config
        from ..heads.mots import MOTSHead

        head, objs = self._run_head(MOTSHead, mots_config, model, item, out_dir)
        return {"timings": head.timings, "frames": head.stats["frames"], "objects": len(objs),
                "tracks": len({o.obj_id for o in objs}), "overlap_pixels": head.stats["overlap_pixels"]}

    def evaluate(self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike],
                 split: str | None = None, benchmark: str = "MOTS20") -> dict[str, float]:
        from ..metrics.mots import evaluate_mots_sequence

        c = self._evaluate_combined(data_root, outputs, split, evaluate_mots_sequence)
        cl = c["CLEAR"]
        return {"idf1": _pct(c["Identity"]["IDF1"]), "hota": _pct(c["HOTA"]["HOTA"]),
                "smotsa": _pct(c["MOTS"]["sMOTSA"]), "motsa": _pct(c["MOTS"]["MOTSA"]), "idsw": int(cl["IDSW"])}


def posetrack_idf1(gt, pred, dist_thresh: float = 0.5) -> dict[str, Any]:
    """Per-joint IDF1 of PoseTrack sequences (see the module docstring), summed over sequences per joint.

    Args:
        gt, pred: dicts name -> :class:`~unitrack.data.posetrack.PoseSequence` (gt people without ``head_box`` are
            skipped).
    Returns:
        ``{"IDF1": [15] fractions (NaN for joints never annotated), "mean": float fraction}``.
    """
    from ..metrics.identity import combine_identity
    from ..metrics.mot import evaluate_frames
    from ..metrics.posetrack import head_size

    per_joint: list[list[dict]] = [[] for _ in range(15)]
    for name, g in gt.items():
        p = pred[name]
        if len(g.frames) != len(p.frames):
            raise ValueError(f"sequence {name!r}: prediction has {len(p.frames)} frames, gt has {len(g.frames)}")
        for j in range(15):
            gids, tids, sims = [], [], []
            for t, (gf, pf) in enumerate(zip(g.frames, p.frames)):
                gp = [q for q in gf.people if q.present[j] and q.head_box is not None]
                pp = [q for q in pf.people if q.present[j] and q.track_id is not None]
                gi = np.array([q.track_id if q.track_id is not None else 10**9 + k for k, q in enumerate(gp)],
                              np.int64)
                ti = np.array([q.track_id for q in pp], np.int64)
                s = np.zeros((len(gp), len(pp)))
                for a, q in enumerate(gp):
                    hs = head_size(q.head_box)
                    for b, r in enumerate(pp):
                        d = np.linalg.norm(q.joints[j, :2] - r.joints[j, :2]) / max(hs, 1e-12)
                        s[a, b] = max(0.0, 1.0 - d)
                gids.append(gi)
                tids.append(ti)
                sims.append(s)
            per_joint[j].append(evaluate_frames(gids, tids, sims, ("Identity",), 0.5)["Identity"])
    idf1 = np.array([combine_identity(v)["IDF1"] if v else np.nan for v in per_joint], dtype=np.float64)
    # joints never annotated in any gt have IDTP + IDFN = 0: report NaN, not 0
    for j, v in enumerate(per_joint):
        if v and sum(x["IDTP"] + x["IDFN"] for x in v) == 0:
            idf1[j] = np.nan
    return {"IDF1": idf1, "mean": float(np.nanmean(idf1)) if np.isfinite(idf1).any() else 0.0}


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
        from ..association import posetrack_config
        from ..heads.posetrack import PoseTrackHead

        cfg = item.config
        root, det, _ = self._dirs(item.data_root, cfg.get("split", self.default_split))
        head = PoseTrackHead(model, _assoc_config(posetrack_config(), cfg), progress=bool(cfg.get("progress",
                                                                                                  False)))
        seq = head.run(det / f"{item.sequence}.json", root, out_json=Path(out_dir) / f"{item.sequence}.json")
        return {"timings": head.timings, "frames": len(seq.frames), "people": head.stats["people"],
                "untracked": head.stats["untracked"]}

    def evaluate(self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike],
                 split: str | None = None) -> dict[str, float]:
        from ..data.posetrack import read_posetrack
        from ..metrics.posetrack import posetrack_mota

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


register_task("mot", MOTAdapter())
register_task("mots", MOTSAdapter())
register_task("posetrack", PoseTrackAdapter())
