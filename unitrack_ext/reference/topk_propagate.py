"""Reference label propagation with top-K affinity (SPEC appendix a). Placeholder until the propagation issue lands."""
import torch


def topk_propagate(query, keys, labels, *, topk=10, temperature=0.05, radius=12.0, n_global=1) -> torch.Tensor:
    raise NotImplementedError("unitrack_ext.reference.topk_propagate is not implemented yet")


def topk_affinity(query, keys, *, topk=10, temperature=0.05, radius=12.0, n_global=1):
    raise NotImplementedError("unitrack_ext.reference.topk_affinity is not implemented yet")
