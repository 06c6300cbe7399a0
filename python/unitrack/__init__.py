"""unitrack: one task-agnostic appearance model, five tracking tasks (UniTrack, NeurIPS 2021).

Levels (each only looks down): task heads (:mod:`unitrack.heads`) -> primitives (:mod:`unitrack.propagation`,
:mod:`unitrack.association`) and fused kernels (:mod:`unitrack_ext`) -> appearance model (:mod:`unitrack.model`).

The most used names are re-exported here: :func:`associate` (stage-1 association for your own tracker),
:class:`AppearanceModel` / :func:`build_model` (representations) and :func:`evaluate` (the five-task platform).
"""

__version__ = "0.1.0"

from .association.api import associate  # noqa: E402
from .model import AppearanceModel, build_model  # noqa: E402


def evaluate(*args, **kwargs):
    """Shortcut for :func:`unitrack.evaluation.evaluate` (imported lazily: it pulls in every head)."""
    from .evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = ["__version__", "associate", "AppearanceModel", "build_model", "evaluate"]
