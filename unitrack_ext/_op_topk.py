import torch

from . import HAS_EXT
from .reference.topk_propagate import topk_affinity as _ref_topk_affinity
from .reference.topk_propagate import topk_propagate as _ref_topk_propagate


def topk_propagate(query, keys, labels, *, topk=10, temperature=0.05, radius=12.0, n_global=1) -> torch.Tensor:
    """Label propagation with fused top-K affinity. (Placeholder wrapper; see the propagation issue.)"""
    if HAS_EXT:
        return torch.ops.unitrack.topk_propagate(query, keys, labels, topk, temperature, radius, n_global)
    return _ref_topk_propagate(query, keys, labels, topk=topk, temperature=temperature, radius=radius, n_global=n_global)


def topk_affinity(query, keys, *, topk=10, temperature=0.05, radius=12.0, n_global=1):
    """Selected top-K softmax weights and candidate indices. (Placeholder wrapper.)"""
    if HAS_EXT:
        return torch.ops.unitrack.topk_affinity(query, keys, topk, temperature, radius, n_global)
    return _ref_topk_affinity(query, keys, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
