"""Closed-form backward of the Reconstruction Similarity Metric, in dense PyTorch (issue #16).

The signature of ``torch.ops.unitrack._rsm_backward``: ``(grad [N, M], track_points [sum P, C], track_sizes [N],
det_points [sum Q, C], det_sizes [M], temperature) -> (grad_track_points, grad_det_points)``. It is the oracle of the
compiled kernel (csrc/cpu/kernels/rsm_backward.h, where the derivation is written out) and the kernel of devices
without one (CUDA). It never forms the ``[N, M, P, C]`` reconstructions that the reference's autograd goes through;
it holds a few ``[sum P, sum Q]`` matrices (and, being a reference, the dense block-diagonal Gram matrices
``[sum Q, sum Q]`` / ``[sum P, sum P]``).

Notation: unit points ``t_p = x_p / max(||x_p||, eps)`` and ``d_q`` (eps = 1e-12), ``A = T D^T``, the two joint
softmaxes ``Wtd`` (rows) and ``Wdt`` (columns) of ``A / temperature``; for a pair (track i, detection j)
``a = sum Wtd * A``, ``b = ||r_td||^2 = sum_p w_p^T G_j w_p``, ``c = ||t_i||^2``, ``s_td = a / (max(sqrt b, eps) *
max(sqrt c, eps))``, and likewise ``s_dt`` with ``Wdt``, ``H_i`` and ``e = ||d_j||^2``; ``out = (s_td + s_dt) / 2``.
"""

from __future__ import annotations

import torch

EPS = 1e-12


def _pair_coefficients(grad, a, b, c):
    """d out / d (a, b, c) of ``s = a / (max(sqrt b, eps) max(sqrt c, eps))`` with d out / d s = grad / 2.

    The clamps pass gradient where ``sqrt(x) >= eps`` (torch's clamp_min; a zero norm gets none), as the reference's
    autograd does."""
    rb, rc = b.clamp_min(0).sqrt(), c.clamp_min(0).sqrt()
    nb, nc = rb.clamp_min(EPS), rc.clamp_min(EPS)
    half = grad / 2
    ga = half / (nb * nc)
    gb = torch.where(rb >= EPS, -half * a / (nb * nb * nc) / (2 * nb), torch.zeros_like(a))
    gc = torch.where(rc >= EPS, -half * a / (nb * nc * nc) / (2 * nc), torch.zeros_like(a))
    return ga, gb, gc


def _normalize_backward(x, g):
    """d/dx of ``x / max(||x||, eps)`` (rows) applied to ``g``."""
    norm = x.norm(dim=1, keepdim=True)
    n = norm.clamp_min(EPS)
    radial = torch.where(norm >= EPS, (x * g).sum(1, keepdim=True) / (n * n * n), torch.zeros_like(norm))
    return g / n - radial * x


def rsm_backward(grad, track_points, track_sizes, det_points, det_sizes, temperature):
    """Gradients of ``rsm_packed(track_points, track_sizes, det_points, det_sizes, temperature)`` for ``grad``.

    Returns:
        ``(grad_track_points [sum P, C], grad_det_points [sum Q, C])`` in the points' dtype.
    """
    x, y = track_points, det_points
    gx, gy = torch.zeros_like(x), torch.zeros_like(y)
    N, M = int(track_sizes.numel()), int(det_sizes.numel())
    if N == 0 or M == 0 or x.shape[0] == 0 or y.shape[0] == 0:
        return gx, gy
    grad = grad.to(x.dtype)
    ti = torch.repeat_interleave(torch.arange(N, device=x.device), track_sizes.to(x.device))  # [sP] object of a row
    dj = torch.repeat_interleave(torch.arange(M, device=x.device), det_sizes.to(x.device))
    t = x / x.norm(dim=1, keepdim=True).clamp_min(EPS)
    d = y / y.norm(dim=1, keepdim=True).clamp_min(EPS)
    A = t @ d.T
    w_td = torch.softmax(A / temperature, dim=1)
    w_dt = torch.softmax(A / temperature, dim=0)
    same_d = dj[:, None] == dj[None, :]
    same_t = ti[:, None] == ti[None, :]
    U = w_td @ ((d @ d.T) * same_d)  # U[p, q] = (G_j w_p)[q] = <r_td row p of pair (i, j), d_q>
    V = ((t @ t.T) * same_t) @ w_dt  # V[p, q] = (H_i v_q)[p]
    Pt = torch.nn.functional.one_hot(ti, N).to(x.dtype).T  # [N, sP]
    Pd = torch.nn.functional.one_hot(dj, M).to(x.dtype).T  # [M, sQ]

    def block_sums(z):  # [sP, sQ] -> [N, M]
        return Pt @ z @ Pd.T

    def per_entry(z):  # [N, M] -> [sP, sQ]
        return z[ti][:, dj]

    c = (Pt @ (t * t).sum(1))[:, None]  # ||t_i||^2
    e = (Pd @ (d * d).sum(1))[None, :]  # ||d_j||^2
    ga, gb, gc = _pair_coefficients(grad, block_sums(w_td * A), block_sums(w_td * U), c)
    ga2, gb2, ge = _pair_coefficients(grad, block_sums(w_dt * A), block_sums(w_dt * V), e)
    # Through the softmax weights (row softmax for td, column softmax for dt) and through A directly.
    gw = per_entry(ga) * A + 2 * per_entry(gb) * U
    gA = w_td * (gw - (w_td * gw).sum(1, keepdim=True)) / temperature + per_entry(ga) * w_td
    gw = per_entry(ga2) * A + 2 * per_entry(gb2) * V
    gA = gA + w_dt * (gw - (w_dt * gw).sum(0, keepdim=True)) / temperature + per_entry(ga2) * w_dt
    gt = gA @ d
    gd = gA.T @ t
    # Through the reconstructions' points: d b / d d_q = 2 sum_p Wtd[p, q] r_p, d b' / d t_p = 2 sum_q Wdt[p, q] r'_q.
    zt = per_entry(gb) * w_td
    gd = gd + 2 * (((zt.T @ w_td) * same_d) @ d)
    zd = per_entry(gb2) * w_dt
    gt = gt + 2 * (((zd @ w_dt.T) * same_t) @ t)
    # Through the norms of the flattened sets.
    gt = gt + 2 * gc.sum(1)[ti][:, None] * t
    gd = gd + 2 * ge.sum(0)[dj][:, None] * d
    return _normalize_backward(x, gt), _normalize_backward(y, gd)
