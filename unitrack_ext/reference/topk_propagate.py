"""Reference label propagation with top-K affinity: the dense formulation of SPEC appendix a.

For every query point n and every memory candidate m (frame-major, row-major index ``t*H*W + y*W + x``):

    logit[m, n] = (<keys[t, :, m], query[:, n]> + B_t[m, n]) / temperature
    B_t = 0                        for the first ``n_global`` memory frames (global search)
    B_t = 0 if |pos(m) - pos(n)| < radius else -1e10   for the other frames (radius <= 0: unrestricted)

then the top-``topk`` logits per query (ties: larger logit first, then lower candidate index), a softmax over those
``topk`` values, and the weighted sum of the memory labels. The mask is additive and applied *before* the division, as
in the reference implementation, so a query whose window holds fewer than ``topk`` admissible candidates fills the
remaining slots with inadmissible ones whose softmax weight underflows to exactly 0. With float32 every inadmissible
logit equals ``-1e10 / temperature`` exactly (the affinity is lost in the rounding), so those slots take the
lowest-index inadmissible candidates (in float64 the rounding keeps a trace of the affinity, so those zero-weight slots
are ordered by it; the fused kernels take the lowest-index ones in both dtypes, so only the *indices* of zero-weight
slots can differ from this reference in float64). This materialises the ``[T*H*W, H*W]`` affinity: slow and
memory-hungry by design.
"""

from __future__ import annotations

import torch

_MASK_VALUE = -1e10


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """bfloat16/float16 -> float32: the reference computes in float32 from the low-precision values."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


def _batched(query, keys, labels=None):
    if query.dim() == 3:
        query = query.unsqueeze(0)
        keys = keys.unsqueeze(0)
        labels = labels.unsqueeze(0) if labels is not None else None
        return query, keys, labels, True
    return query, keys, labels, False


def radius_bias(H: int, W: int, radius: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """``[H*W (keys), H*W (queries)]`` additive bias: 0 where the grid distance is < radius, -1e10 elsewhere."""
    ys, xs = torch.meshgrid(
        torch.arange(H, device=device, dtype=torch.float64),
        torch.arange(W, device=device, dtype=torch.float64),
        indexing="ij",
    )
    ys, xs = ys.reshape(-1), xs.reshape(-1)
    dist = torch.sqrt((ys[:, None] - ys[None, :]) ** 2 + (xs[:, None] - xs[None, :]) ** 2)
    return torch.where(dist < radius, 0.0, _MASK_VALUE).to(dtype)


def _logits(query, keys, temperature, radius, n_global):
    B, C, H, W = query.shape
    T = keys.shape[1]
    HW = H * W
    aff = torch.einsum("btcm,bcn->btmn", keys.reshape(B, T, C, HW), query.reshape(B, C, HW))
    if radius > 0 and T > n_global:
        bias = radius_bias(H, W, radius, dtype=aff.dtype, device=aff.device)
        aff = torch.cat([aff[:, :n_global], aff[:, n_global:] + bias], dim=1)
    return (aff / temperature).reshape(B, T * HW, HW)


def _select_topk(logits: torch.Tensor, k: int):
    """Top-k over dim 1 with the documented tie-break (larger value, then lower index), sorted in that order."""
    vals, idx = torch.topk(logits, k, dim=1)
    # Exact tie-break only matters where the k-th value is tied with an unselected candidate.
    kth = vals[:, -1:, :]
    n_ge = (logits >= kth).sum(dim=1)  # [B, HW]
    tied = n_ge > k
    if bool(tied.any()):
        order = torch.sort(logits, dim=1, descending=True, stable=True)
        b_idx, n_idx = torch.nonzero(tied, as_tuple=True)
        vals, idx = vals.clone(), idx.clone()  # torch.topk's outputs are saved by its backward: no in-place writes
        vals[b_idx, :, n_idx] = order.values[b_idx, :k, n_idx]
        idx[b_idx, :, n_idx] = order.indices[b_idx, :k, n_idx]
    # Order the selection: by index ascending, then (stable) by value descending.
    by_idx = torch.sort(idx, dim=1)
    idx = by_idx.values
    vals = torch.gather(vals, 1, by_idx.indices)
    by_val = torch.sort(vals, dim=1, descending=True, stable=True)
    return by_val.values, torch.gather(idx, 1, by_val.indices)


def topk_affinity(query, keys, *, topk=10, temperature=0.05, radius=12.0, n_global=1):
    """Selected softmax weights and candidate indices.

    Args:
        query: ``[C, H, W]`` or ``[B, C, H, W]``.
        keys: ``[T, C, H, W]`` or ``[B, T, C, H, W]``.
    Returns:
        ``(weights, indices)``, each ``[K, H*W]`` (or ``[B, K, H*W]``) with ``K = min(topk, T*H*W)``; weights sum to 1
        over K; indices are candidate indices ``t*H*W + y*W + x``, ordered by decreasing logit. bfloat16/float16
        features are upcast to float32 first (float32 weights).
    """
    query, keys, _, squeeze = _batched(query, keys)
    query, keys = _upcast(query), _upcast(keys)
    logits = _logits(query, keys, temperature, radius, n_global)
    k = min(int(topk), logits.shape[1])
    vals, idx = _select_topk(logits, k)
    weights = torch.softmax(vals, dim=1)
    if squeeze:
        return weights[0], idx[0]
    return weights, idx


def topk_propagate(query, keys, labels, *, topk=10, temperature=0.05, radius=12.0, n_global=1) -> torch.Tensor:
    """Propagate memory labels to the query frame (SPEC appendix a, steps 1-3).

    Args:
        query: ``[C, H, W]`` or ``[B, C, H, W]`` query features (used as given; callers L2-normalise).
        keys: ``[T, C, H, W]`` or ``[B, T, C, H, W]`` memory features; the first ``n_global`` frames are searched whole.
        labels: ``[T, L, H, W]`` or ``[B, T, L, H, W]`` memory (soft) labels.
    Returns:
        ``[L, H, W]`` or ``[B, L, H, W]``.
    """
    query, keys, labels, squeeze = _batched(query, keys, labels)
    labels = _upcast(labels)
    weights, idx = topk_affinity(query, keys, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
    B, T, L, H, W = labels.shape
    k = idx.shape[1]
    lab = labels.reshape(B, T, L, H * W).permute(0, 2, 1, 3).reshape(B, L, T * H * W)
    gathered = torch.gather(lab, 2, idx.reshape(B, 1, k * H * W).expand(B, L, k * H * W)).reshape(B, L, k, H * W)
    out = (gathered * weights.to(labels.dtype).unsqueeze(1)).sum(dim=2).reshape(B, L, H, W)
    return out[0] if squeeze else out
