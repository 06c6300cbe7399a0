"""unitrack: one task-agnostic appearance model, five tracking tasks (UniTrack, NeurIPS 2021).

Levels (each only looks down): task heads (:mod:`unitrack.heads`) -> primitives (:mod:`unitrack.propagation`,
:mod:`unitrack.association`) and fused kernels (:mod:`unitrack_ext`) -> appearance model (:mod:`unitrack.model`).
"""
__version__ = "0.1.0"

from .association.api import associate  # noqa: E402

__all__ = ["__version__", "associate"]
