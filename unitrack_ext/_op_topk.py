"""Public wrappers of ``unitrack::topk_propagate`` and ``unitrack::topk_affinity`` (label propagation, SPEC appendix a).

For every query point ``n`` and every memory candidate ``m = t*H*W + y*W + x`` (frame-major, row-major):

* ``logit[m, n] = <keys[t, :, y, x], query[:, n]> / temperature``;
* the first ``n_global`` memory frames are searched whole; in the other frames only the candidates whose grid position is
  at Euclidean distance strictly less than ``radius`` from ``n`` are admissible (``radius <= 0``: every frame whole);
* the top ``K = min(topk, T*H*W)`` logits are kept (ties: larger logit first, then lower candidate index), a softmax
  over those ``K`` values gives the weights, and the output is the weighted sum of the memory labels.

Fewer than ``K`` admissible candidates (e.g. ``n_global=0`` with a small ``radius``): like the dense reference, whose mask
is an additive ``-1e10`` applied before the division by the temperature, the remaining slots are filled with inadmissible
candidates whose logit is ``-1e10 / temperature`` -- softmax weight exactly 0 for any practical temperature, so the
output is the admissible candidates' softmax. The fill-in slots come after the admissible ones and hold the
lowest-index inadmissible candidates (in float32 that is exactly the reference's choice, since all masked logits round
to the same value; in float64 the reference orders these zero-weight slots by the remnant of the affinity, so their
*indices* may differ -- weights and labels do not).
"""
from __future__ import annotations

import math
import numbers
import operator

import torch

from . import HAS_EXT
from ._checks import LOW_PRECISION_DTYPES, check_same_device_dtype, check_tensor
from .reference.topk_propagate import topk_affinity as _ref_topk_affinity
from .reference.topk_propagate import topk_propagate as _ref_topk_propagate

__all__ = ["topk_propagate", "topk_affinity"]


def _as_int(value, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None


def _as_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    return float(value)


def _check_params(topk, temperature, radius, n_global) -> tuple[int, float, float, int]:
    topk = _as_int(topk, "topk")
    n_global = _as_int(n_global, "n_global")
    temperature = _as_float(temperature, "temperature")
    radius = _as_float(radius, "radius")
    if topk < 1:
        raise ValueError(f"topk must be >= 1, got {topk}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    if math.isnan(radius):
        raise ValueError("radius must be a number (<= 0 for unrestricted search), got NaN")
    if n_global < 0:
        raise ValueError(f"n_global must be >= 0, got {n_global}")
    return topk, temperature, radius, n_global


def _check_finite(x: torch.Tensor, name: str) -> None:
    """Reject NaN/inf without a full-size temporary (``isfinite(x)`` costs ~1.7x the features' memory): min and max
    propagate NaN and are finite only if every element is (skipped while tracing with fake tensors)."""
    if isinstance(x, torch._subclasses.FakeTensor) or torch.compiler.is_compiling() or x.numel() == 0:
        return
    lo, hi = torch.aminmax(x)
    if not bool(torch.isfinite(lo) & torch.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or inf values")


def _check_inputs(query, keys, labels=None) -> bool:
    """Validate shapes/dtypes/devices; return True when the inputs are unbatched."""
    check_tensor(query, "query", dims=(3, 4))
    batched = query.dim() == 4
    check_tensor(keys, "keys", dims=(5,) if batched else (4,))
    check_same_device_dtype({"query": query, "keys": keys})
    if labels is not None:
        check_tensor(labels, "labels", dims=(5,) if batched else (4,))
        # bfloat16/float16 features may propagate float32 labels (the output is float32 either way).
        if labels.device != query.device:
            raise ValueError(f"labels is on {labels.device} but query is on {query.device}: all inputs must be on one device")
        if labels.dtype != query.dtype and not (query.dtype in LOW_PRECISION_DTYPES and labels.dtype == torch.float32):
            raise TypeError(
                f"labels has dtype {labels.dtype} but query has {query.dtype}: labels must have the features' dtype "
                "(or float32 with bfloat16/float16 features)"
            )
    q = query if batched else query.unsqueeze(0)
    k = keys if batched else keys.unsqueeze(0)
    B, C, H, W = q.shape
    if k.shape[0] != B:
        raise ValueError(f"keys has batch size {k.shape[0]} but query has {B}")
    if k.shape[1] < 1:
        raise ValueError(f"keys must hold at least one memory frame (T >= 1), got shape {tuple(keys.shape)}")
    if k.shape[2] != C:
        raise ValueError(f"keys has {k.shape[2]} channels but query has {C} (shape {tuple(keys.shape)})")
    if tuple(k.shape[3:]) != (H, W):
        raise ValueError(f"keys frames are {tuple(k.shape[3:])} but query is {(H, W)}: H and W must match")
    if labels is not None:
        lab = labels if batched else labels.unsqueeze(0)
        T = k.shape[1]
        if lab.shape[0] != B or lab.shape[1] != T or tuple(lab.shape[3:]) != (H, W):
            want = f"[{B}, {T}, L, {H}, {W}]" if batched else f"[{T}, L, {H}, {W}]"
            raise ValueError(f"labels must be {want} (T memory frames, L label channels), got {tuple(labels.shape)}")
    _check_finite(query, "query")
    _check_finite(keys, "keys")
    return not batched


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
        temperature: logit divisor (``> 0``).
        radius: spatial window (grid cells, strict ``<``) of the frames after the first ``n_global``; ``<= 0``: none.
        n_global: number of leading memory frames searched whole.
    Returns:
        ``(weights, indices)``, each ``[K, H*W]`` (``[B, K, H*W]`` batched), ``K = min(topk, T*H*W)``; ``weights`` has
        the input dtype (float32 for bfloat16/float16 features) and sums to 1 over ``K``; ``indices`` (int64) are candidates ``t*H*W + y*W + x``; both are
        ordered by decreasing logit (ties: lower index first). Zero-weight fill-in slots: see the module docstring.
    """
    unbatched = _check_inputs(query, keys)
    topk, temperature, radius, n_global = _check_params(topk, temperature, radius, n_global)
    if unbatched:
        query, keys = query.unsqueeze(0), keys.unsqueeze(0)
    if HAS_EXT:
        w, i = torch.ops.unitrack.topk_affinity(query, keys, topk, temperature, radius, n_global)
    else:
        w, i = _ref_topk_affinity(query, keys, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
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
    """
    unbatched = _check_inputs(query, keys, labels)
    topk, temperature, radius, n_global = _check_params(topk, temperature, radius, n_global)
    if unbatched:
        query, keys, labels = query.unsqueeze(0), keys.unsqueeze(0), labels.unsqueeze(0)
    if HAS_EXT:
        out = torch.ops.unitrack.topk_propagate(query, keys, labels, topk, temperature, radius, n_global)
    else:
        out = _ref_topk_propagate(
            query, keys, labels, topk=topk, temperature=temperature, radius=radius, n_global=n_global
        )
    return out[0] if unbatched else out
