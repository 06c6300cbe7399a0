"""Helpers shared by the evaluation adapters."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping

import numpy as np

__all__ = ["assoc_config", "head_timings", "pct"]


def assoc_config(base, cfg: Mapping[str, Any]):
    """``base`` (an AssociationConfig) with the work item config's AssociationConfig fields applied (lists become
    tuples) and, with ``womotion: true``, motion switched off."""
    from ...association import womotion

    fields = {f.name for f in dataclasses.fields(base)}
    over = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in fields}
    out = base.replace(**over)
    return womotion(out) if cfg.get("womotion") else out


def pct(x) -> float:
    """Mean of a fraction (or per-alpha fractions) in percent."""
    return float(np.mean(x)) * 100.0


def head_timings(head) -> Dict[str, float]:
    """A propagation head's ms per frame (frames already in memory, so ``io`` is left out)."""
    return {k: v for k, v in head.timings.items() if k != "io"}
