"""Public wrappers of ``unitrack::topk_propagate`` and ``unitrack::topk_affinity`` (label propagation, SPEC appendix a).

For every query point ``n`` and every memory candidate ``m = t*H*W + y*W + x`` (frame-major, row-major):

* ``logit[m, n] = <keys[t, :, y, x], query[:, n]> / temperature``;
* the first ``n_global`` memory frames are searched whole; in the other frames only the candidates whose grid
  position is at Euclidean distance strictly less than ``radius`` from ``n`` are admissible (``radius <= 0``: every
  frame whole);
* the top ``K = min(topk, T*H*W)`` logits are kept (ties: larger logit first, then lower candidate index), a softmax
  over those ``K`` values gives the weights, and the output is the weighted sum of the memory labels.

Fewer than ``K`` admissible candidates (e.g. ``n_global=0`` with a small ``radius``): like the dense reference, whose
mask is an additive ``-1e10`` applied before the division by the temperature, the remaining slots are filled with
inadmissible candidates whose logit is ``-1e10 / temperature`` -- softmax weight exactly 0 for any practical
temperature, so the output is the admissible candidates' softmax. The fill-in slots come after the admissible ones and
hold the lowest-index inadmissible candidates (in float32 that is exactly the reference's choice, since all masked
logits round to the same value; in float64 the reference orders these zero-weight slots by the remnant of the affinity,
so their *indices* may differ -- weights and labels do not).
"""

from __future__ import annotations

import torch

from . import HAS_EXT, _autograd
from ._checks import float_arg, int_arg, rank_arg, tensor_arg
from ._registry import REFERENCE_KERNELS

__all__ = ["topk_propagate", "topk_affinity"]


def _batched(query, keys, labels=None):
    """The inputs as a batch (a batch of one for the unbatched form) and whether they were unbatched. Only the types
    and the ranks that tell the two forms apart are checked here; the op checks the rest (RuntimeError)."""
    tensor_arg(query, "query")
    tensor_arg(keys, "keys")
    rank_arg(query, "query", (3, 4), ("[C, H, W]", "[B, C, H, W]"))
    unbatched = query.dim() == 3
    rank_arg(keys, "keys", (4,) if unbatched else (5,), ("[T, C, H, W]",) if unbatched else ("[B, T, C, H, W]",))
    if labels is not None:
        tensor_arg(labels, "labels")
        rank_arg(
            labels, "labels", (4,) if unbatched else (5,), ("[T, L, H, W]",) if unbatched else ("[B, T, L, H, W]",)
        )
    if unbatched:
        query, keys = query.unsqueeze(0), keys.unsqueeze(0)
        labels = labels.unsqueeze(0) if labels is not None else None
    return query, keys, labels, unbatched


def _params(topk, temperature, radius, n_global):
    return (
        int_arg(topk, "topk"),
        float_arg(temperature, "temperature"),
        float_arg(radius, "radius"),
        int_arg(n_global, "n_global"),
    )


def topk_affinity(
    query: torch.Tensor,
    keys: torch.Tensor,
    *,
    topk: int = 10,
    temperature: float = 0.05,
    radius: float = 12.0,
    n_global: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Selected top-K softmax weights and candidate indices of label propagation.

    Args:
        query: ``[C, H, W]`` or ``[B, C, H, W]`` query features (used as given; callers L2-normalise).
        keys: ``[T, C, H, W]`` or ``[B, T, C, H, W]`` memory features, same dtype/device as ``query``. float32,
            float64 or bfloat16 (float16 on CUDA); low-precision features are multiplied exactly and summed in
            float32 (AMX-BF16 tiles on CPUs that have them).
        topk: number of candidates kept per query point (``>= 1``).
        temperature: logit divisor: finite and at least ``1 / finfo(dtype).max`` (2.9e-39 in float32, 5.6e-309 in
            float64), so that ``1 / temperature`` is finite. The softmax is taken over logits relative to the largest,
            so a tiny temperature or large features give the hard maximum, never an overflow.
        radius: spatial window (grid cells, strict ``<``) of the frames after the first ``n_global``; ``<= 0``: none.
        n_global: number of leading memory frames searched whole.
    Returns:
        ``(weights, indices)``, each ``[K, H*W]`` (``[B, K, H*W]`` batched), ``K = min(topk, T*H*W)``; ``weights`` has
        the input dtype (float32 for bfloat16/float16 features) and sums to 1 over ``K``; ``indices`` (int64) are
        candidates ``t*H*W + y*W + x``; both are ordered by decreasing logit (ties: lower index first). Zero-weight
        fill-in slots: see the module docstring.
    Raises:
        TypeError, ValueError: an argument that is not a tensor / an int / a real number, or ranks that are neither
            the batched nor the unbatched form (checked here, in Python).
        RuntimeError: everything the op checks (sizes, dtypes, devices, ``topk >= 1``, the temperature, ...), the
            message naming the argument and what was expected; a NaN or inf in ``query`` or ``keys`` on the CPU (on
            CUDA the weights are NaN instead: README, "NaN and inf").
    """
    query, keys, _, unbatched = _batched(query, keys)
    args = (query, keys, *_params(topk, temperature, radius, n_global))
    w, i = torch.ops.unitrack.topk_affinity(*args) if HAS_EXT else REFERENCE_KERNELS["topk_affinity"](*args)
    return (w[0], i[0]) if unbatched else (w, i)


def topk_propagate(
    query: torch.Tensor,
    keys: torch.Tensor,
    labels: torch.Tensor,
    *,
    topk: int = 10,
    temperature: float = 0.05,
    radius: float = 12.0,
    n_global: int = 1,
) -> torch.Tensor:
    """Propagate memory labels to the query frame with a fused top-K affinity (SPEC appendix a).

    Args:
        query: ``[C, H, W]`` or ``[B, C, H, W]`` query features (used as given; callers L2-normalise).
        keys: ``[T, C, H, W]`` or ``[B, T, C, H, W]`` memory features; the first ``n_global`` frames are searched whole,
            the others within Euclidean grid distance ``< radius`` (``radius <= 0``: whole).
        labels: ``[T, L, H, W]`` or ``[B, T, L, H, W]`` memory (soft) labels, same dtype/device as ``query`` (or
            float32 with bfloat16/float16 features).
        topk, temperature, radius, n_global: see :func:`topk_affinity`.
    Returns:
        ``[L, H, W]`` (or ``[B, L, H, W]``): ``sum_k weights[k, n] * labels[indices[k, n]]``, in the labels' dtype
        (float32 for bfloat16/float16 features).
    Raises:
        As :func:`topk_affinity`; a NaN or inf in ``labels`` too.
    """
    query, keys, labels, unbatched = _batched(query, keys, labels)
    args = (query, keys, labels, *_params(topk, temperature, radius, n_global))
    # Under autograd the compiled path saves the top-K selection (topk_affinity + _topk_gather: _autograd.py).
    out = _autograd.topk_propagate(*args) if HAS_EXT else REFERENCE_KERNELS["topk_propagate"](*args)
    return out[0] if unbatched else out
