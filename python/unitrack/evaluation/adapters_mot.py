"""Compatibility re-export: the association tasks' adapters now live in :mod:`unitrack.evaluation.adapters`
(``mot``, ``mots``, ``posetrack``: one module per task)."""

from .adapters.mot import MOTAdapter
from .adapters.mots import MOTSAdapter
from .adapters.posetrack import PoseTrackAdapter, posetrack_idf1

__all__ = ["MOTAdapter", "MOTSAdapter", "PoseTrackAdapter", "posetrack_idf1"]
