"""The MOT-style metric families and how each one is computed per sequence and combined over sequences.

One table, :data:`COMBINERS`, maps every family a per-sequence result can hold (``HOTA``, ``CLEAR``, ``Identity``,
``Count`` and the derived ``MOTS`` fields) to its combiner, so that :func:`combine_results` needs to know no
benchmark: :mod:`unitrack.metrics.mot` and :mod:`unitrack.metrics.mots` both build on this module and neither
imports the other's internals.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .clear import check_frames, clear_metrics, combine_clear
from .hota import combine_hota, hota_metrics
from .identity import combine_identity, identity_metrics

__all__ = ["DEFAULT_METRICS", "COMBINERS", "evaluate_frames", "combine_results", "mots_fields"]

#: The families computed by :func:`evaluate_frames` by default, in TrackEval's order.
DEFAULT_METRICS = ("HOTA", "CLEAR", "Identity", "Count")


def evaluate_frames(
    gt_ids: Sequence[np.ndarray],
    tracker_ids: Sequence[np.ndarray],
    similarity: Sequence[np.ndarray],
    metrics: Iterable[str] = DEFAULT_METRICS,
    threshold: float = 0.5,
) -> dict:
    """Run the requested metric families on per-frame ids and similarities (see :mod:`clear`)."""
    metrics = tuple(metrics)
    gt_ids, tracker_ids, similarity = check_frames(gt_ids, tracker_ids, similarity)
    out: dict = {}
    for m in metrics:
        if m == "HOTA":
            out["HOTA"] = hota_metrics(gt_ids, tracker_ids, similarity, validate=False)
        elif m == "CLEAR":
            out["CLEAR"] = clear_metrics(gt_ids, tracker_ids, similarity, threshold, validate=False)
        elif m == "Identity":
            out["Identity"] = identity_metrics(gt_ids, tracker_ids, similarity, threshold, validate=False)
        elif m == "Count":
            cat_g = np.concatenate([np.asarray(g) for g in gt_ids]) if len(gt_ids) else np.zeros(0)
            cat_t = np.concatenate([np.asarray(t) for t in tracker_ids]) if len(tracker_ids) else np.zeros(0)
            out["Count"] = {
                "Dets": int(len(cat_t)),
                "GT_Dets": int(len(cat_g)),
                "IDs": int(len(np.unique(cat_t))),
                "GT_IDs": int(len(np.unique(cat_g))),
                "Frames": int(len(gt_ids)),
            }
        else:
            raise ValueError(f"unknown metric family {m!r}; expected one of {DEFAULT_METRICS}")
    return out


def mots_fields(clear: dict) -> dict:
    """The MOTS names of CLEAR computed on masks: sMOTSA = ``sMOTA``, MOTSA = ``MOTA``, MOTSP = ``MOTP``."""
    return {"sMOTSA": float(clear["sMOTA"]), "MOTSA": float(clear["MOTA"]), "MOTSP": float(clear["MOTP"])}


def _combine_count(values: list[dict], combined: dict) -> dict:
    return {k: int(sum(v[k] for v in values)) for k in values[0]}


def _combine_mots(values: list[dict], combined: dict) -> dict:
    # derived fields: recomputed from the combined CLEAR counts (combined before it, in result order)
    return mots_fields(combined["CLEAR"]) if "CLEAR" in combined else {}


#: family -> ``combiner(per-sequence values, the families combined so far) -> combined value`` (TrackEval's
#: ``combine_sequences``: counts are summed and the ratios recomputed).
COMBINERS: dict[str, Callable[[list[dict], dict], dict]] = {
    "HOTA": lambda values, combined: combine_hota(values),
    "CLEAR": lambda values, combined: combine_clear(values),
    "Identity": lambda values, combined: combine_identity(values),
    "Count": _combine_count,
    "MOTS": _combine_mots,
}


def combine_results(per_sequence: Mapping[str, dict]) -> dict:
    """Combine per-sequence result dicts (as returned by ``evaluate_mot_sequence`` / ``evaluate_mots_sequence``)
    like TrackEval, family by family in the order of the first sequence's result (:data:`COMBINERS`; a family
    without a combiner is left out). ``COMBINED_SEQ`` entries are skipped."""
    items = [v for k, v in per_sequence.items() if k != "COMBINED_SEQ"]
    out: dict = {}
    if not items:
        return out
    for fam in items[0].keys():
        combiner = COMBINERS.get(fam)
        if combiner is not None:
            out[fam] = combiner([i[fam] for i in items], out)
    return out
