"""Pure-PyTorch references of the top-K selection primitives behind the topk backward (issue #16).

They have the signatures of ``torch.ops.unitrack._topk_gather`` / ``_topk_gather_dot`` / ``_topk_scatter`` and serve as
the test oracle and as the kernels of devices that ``_C`` has no compiled kernel for. With ``indices[b, k, n] = t*H*W
+ m`` (a candidate of the ``T`` memory frames):

* ``topk_gather(weights, indices, src)[b, x, n] = sum_k weights[b, k, n] * src[b, t, x, m]`` -- the label gather of
  ``topk_propagate``;
* ``topk_gather_dot(grad, indices, src)[b, k, n] = sum_x grad[b, x, n] * src[b, t, x, m]`` -- its adjoint with respect
  to the weights;
* ``topk_scatter(weights, indices, grad, T)[b, t, x, m] = sum_{(k, n) -> (t, m)} weights[b, k, n] * grad[b, x, n]`` --
  its adjoint with respect to ``src``.

Each is differentiable by torch's autograd (they are built from ``gather`` and ``scatter_add``). They materialise
``[B, X, K, H*W]`` products: fine for an oracle, not for the DAVIS size with ``X = C = 256`` on a CPU.
"""

from __future__ import annotations

import torch


def _gathered(indices: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``[B, X, K, HW]``: ``src[b, t, x, m]`` at every selected candidate."""
    B, K, HW = indices.shape
    T, X = src.shape[1], src.shape[2]
    flat = src.reshape(B, T, X, HW).permute(0, 2, 1, 3).reshape(B, X, T * HW)
    idx = indices.reshape(B, 1, K * HW).expand(B, X, K * HW)
    return torch.gather(flat, 2, idx).reshape(B, X, K, HW)


def topk_gather(weights: torch.Tensor, indices: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``weights [B, K, HW]``, ``indices [B, K, HW]`` int64, ``src [B, T, X, H, W]`` -> ``[B, X, H, W]``."""
    B, _, X, H, W = src.shape
    return (_gathered(indices, src) * weights.unsqueeze(1)).sum(2).reshape(B, X, H, W)


def topk_gather_dot(grad: torch.Tensor, indices: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``grad [B, X, H, W]``, ``indices [B, K, HW]``, ``src [B, T, X, H, W]`` -> ``[B, K, HW]``."""
    B, X = grad.shape[:2]
    return (_gathered(indices, src) * grad.reshape(B, X, 1, -1)).sum(1)


def topk_scatter(weights: torch.Tensor, indices: torch.Tensor, grad: torch.Tensor, T: int) -> torch.Tensor:
    """``weights [B, K, HW]``, ``indices [B, K, HW]``, ``grad [B, X, H, W]`` -> ``[B, T, X, H, W]``."""
    B, K, HW = weights.shape
    X, H, W = grad.shape[1:]
    contrib = (weights.unsqueeze(1) * grad.reshape(B, X, 1, HW)).reshape(B, X, K * HW)
    out = grad.new_zeros((B, X, T * HW))
    out = out.scatter_add(2, indices.reshape(B, 1, K * HW).expand(B, X, K * HW), contrib)
    return out.reshape(B, X, T, H, W).permute(0, 2, 1, 3, 4).contiguous()
