"""Reference Reconstruction Similarity Metric: the literal reconstruction formulation of SPEC appendix b.

Tracks ``i`` (``P_i`` points) and detections ``j`` (``Q_j`` points) of ``C`` channels:

1. every point is L2-normalised over C with ``v / max(||v||, 1e-12)`` (a zero point stays zero);
2. ``A = T^ D^T`` over all points of all objects;
3. ``W_td = softmax(A / temperature)`` over *all* detection points (each row), ``W_dt`` over *all* track points
   (each column) -- one joint softmax per direction, not per pair;
4. ``r_td[i, j, p] = sum_{q in j} W_td[(i,p),(j,q)] d^[j,q]`` and
   ``r_dt[i, j, q] = sum_{p in i} W_dt[(i,p),(j,q)] t^[i,p]``;
5. ``s_td[i, j]`` = cosine of the flattened ``r_td[i, j]`` (``P_i*C`` values) with the flattened ``t^_i``, each divided
   by ``max(norm, 1e-12)``; ``s_dt`` likewise with ``d^_j``;
6. result ``(s_td + s_dt) / 2`` (the tracker's cost is ``1 - result``).

Ragged objects are zero-padded here for a dense computation, and the padded points are *masked out* (they are not
points of the object). Zero rows that the caller passes are real points: they take part in the softmaxes exactly as in
the original implementation, which pads mask feature sets with zeros. The ``[N, M, P, C]`` reconstructions are
materialised: slow and memory-hungry by design.
"""

from __future__ import annotations

from typing import Sequence

import torch

_LOW = (torch.bfloat16, torch.float16)


def _upcast(feats):
    """bfloat16/float16 sets -> float32 (the reference computes in float32 from the low-precision values)."""
    return [f.float() if f.dtype in _LOW else f for f in feats]


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _pad(feats: Sequence[torch.Tensor], C: int, like: torch.Tensor):
    n = len(feats)
    P = max([int(f.shape[0]) for f in feats] + [0])  # a list, not a generator: torch.compile traces this
    out = like.new_zeros((n, P, C))
    valid = torch.zeros((n, P), dtype=torch.bool, device=like.device)
    for i, f in enumerate(feats):
        out[i, : f.shape[0]] = f
        valid[i, : f.shape[0]] = True
    return out, valid


def _split(points: torch.Tensor, sizes: torch.Tensor):
    return list(torch.split(points, [int(s) for s in sizes.tolist()], dim=0))


def rsm_packed(track_points, track_sizes, det_points, det_sizes, *, temperature=0.01) -> torch.Tensor:
    """Packed form: ``track_points [sum P, C]`` + ``track_sizes [N]`` (int64), likewise for detections -> ``[N, M]``."""
    return rsm(
        _split(track_points, track_sizes), _split(det_points, det_sizes), temperature=temperature, _like=track_points
    )


def rsm(track_feats, det_feats, *, temperature=0.01, _like=None) -> torch.Tensor:
    """Reconstruction similarity between N track feature sets ``[P_i, C]`` and M detection sets ``[Q_j, C]``.

    Args:
        track_feats: list of N tensors ``[P_i, C]`` (or a ``(points, sizes)`` tuple).
        det_feats: list of M tensors ``[Q_j, C]`` (or a ``(points, sizes)`` tuple).
        temperature: softmax temperature (0.01 = the reference's factor 100).
    Returns:
        ``Tensor[N, M]`` similarity ``(s_td + s_dt) / 2`` (float32 for bfloat16/float16 sets: upcast first).
    """
    if isinstance(track_feats, tuple):
        track_feats = _split(*track_feats)
    if isinstance(det_feats, tuple):
        det_feats = _split(*det_feats)
    track_feats, det_feats = _upcast(track_feats), _upcast(det_feats)
    if _like is not None and _like.dtype in _LOW:
        _like = _like.float()
    like = _like if _like is not None else (list(track_feats) + list(det_feats) + [torch.zeros(0)])[0]
    N, M = len(track_feats), len(det_feats)
    if N == 0 or M == 0:
        return like.new_zeros((N, M))
    C = track_feats[0].shape[1]
    t, vt = _pad(track_feats, C, like)
    d, vd = _pad(det_feats, C, like)
    t, d = _normalize(t), _normalize(d)
    Pt, Pd = t.shape[1], d.shape[1]
    logits = (t.reshape(N * Pt, C) @ d.reshape(M * Pd, C).T) / temperature
    mask = vt.reshape(-1, 1) & vd.reshape(1, -1)
    logits = logits.masked_fill(~mask, float("-inf"))
    w_td = torch.softmax(logits, dim=1).nan_to_num(0.0)  # rows of padded track points: all -inf -> 0
    w_dt = torch.softmax(logits, dim=0).nan_to_num(0.0)
    w_td = w_td.reshape(N, Pt, M, Pd)
    w_dt = w_dt.reshape(N, Pt, M, Pd)
    r_td = torch.einsum("ipjq,jqc->ijpc", w_td, d)  # [N, M, Pt, C]
    r_dt = torch.einsum("ipjq,ipc->ijqc", w_dt, t)  # [N, M, Pd, C]
    t_flat = t.reshape(N, 1, Pt * C)
    d_flat = d.reshape(1, M, Pd * C)
    r_td = r_td.reshape(N, M, Pt * C)
    r_dt = r_dt.reshape(N, M, Pd * C)
    s_td = (r_td * t_flat).sum(-1) / (r_td.norm(dim=-1).clamp_min(1e-12) * t_flat.norm(dim=-1).clamp_min(1e-12))
    s_dt = (r_dt * d_flat).sum(-1) / (r_dt.norm(dim=-1).clamp_min(1e-12) * d_flat.norm(dim=-1).clamp_min(1e-12))
    return (s_td + s_dt) / 2
