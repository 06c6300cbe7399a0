"""Evaluation adapter of MOTS (MOTSChallenge layout, see :mod:`unitrack.evaluation.adapters.mot`): idf1, hota,
smotsa, motsa (percent) and idsw."""
from __future__ import annotations

import os
from typing import Any, Mapping

from ._common import pct
from .mot import MOTAdapter

__all__ = ["MOTSAdapter"]


class MOTSAdapter(MOTAdapter):
    """MOTS20 mask tracking."""

    def run(self, model, item, out_dir: str | os.PathLike) -> dict[str, Any]:
        from ...association import mots_config
        from ...heads.mots import MOTSHead

        head, objs = self._run_head(MOTSHead, mots_config, model, item, out_dir)
        return {"timings": head.timings, "frames": head.stats["frames"], "objects": len(objs),
                "tracks": len({o.obj_id for o in objs}), "overlap_pixels": head.stats["overlap_pixels"]}

    def evaluate(self, data_root: str | os.PathLike, outputs: Mapping[str, str | os.PathLike],
                 split: str | None = None, benchmark: str = "MOTS20") -> dict[str, float]:
        from ...metrics.mots import evaluate_mots_sequence

        c = self._evaluate_combined(data_root, outputs, split, evaluate_mots_sequence)
        cl = c["CLEAR"]
        return {"idf1": pct(c["Identity"]["IDF1"]), "hota": pct(c["HOTA"]["HOTA"]),
                "smotsa": pct(c["MOTS"]["sMOTSA"]), "motsa": pct(c["MOTS"]["MOTSA"]), "idsw": int(cl["IDSW"])}
