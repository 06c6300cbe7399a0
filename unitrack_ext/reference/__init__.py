"""Pure-PyTorch references of the fused ops: test oracle, fallback and benchmark baseline.

Each function has the same public signature as its twin in :mod:`unitrack_ext.ops` and implements the literal
(dense) formulation of SPEC.md, so it is slow and memory-hungry by design.
"""

from .rsm import rsm, rsm_packed
from .topk_propagate import topk_affinity, topk_propagate
from .xcorr import xcorr

__all__ = ["topk_propagate", "topk_affinity", "rsm", "rsm_packed", "xcorr"]
