"""Fake (meta) kernels: output shapes/dtypes only, no data access. Used by torch.compile, opcheck and FakeTensor.

The C++ ``TORCH_LIBRARY`` block points here with ``m.set_python_module("unitrack_ext._meta")``.
"""
import torch

from ._checks import output_dtype


@torch.library.register_fake("unitrack::topk_propagate")
def _topk_propagate_fake(query, keys, labels, topk, temperature, radius, n_global):
    torch._check(query.dim() == 4, lambda: f"query must be [B, C, H, W], got {query.dim()}-D")
    torch._check(keys.dim() == 5, lambda: f"keys must be [B, T, C, H, W], got {keys.dim()}-D")
    torch._check(labels.dim() == 5, lambda: f"labels must be [B, T, L, H, W], got {labels.dim()}-D")
    B, _, H, W = query.shape
    return labels.new_empty((B, labels.shape[2], H, W), dtype=output_dtype(query.dtype))


@torch.library.register_fake("unitrack::topk_affinity")
def _topk_affinity_fake(query, keys, topk, temperature, radius, n_global):
    torch._check(query.dim() == 4, lambda: f"query must be [B, C, H, W], got {query.dim()}-D")
    torch._check(keys.dim() == 5, lambda: f"keys must be [B, T, C, H, W], got {keys.dim()}-D")
    B, _, H, W = query.shape
    T = keys.shape[1]
    k = min(topk, T * H * W)
    weights = query.new_empty((B, k, H * W), dtype=output_dtype(query.dtype))
    indices = query.new_empty((B, k, H * W), dtype=torch.int64)
    return weights, indices


@torch.library.register_fake("unitrack::rsm")
def _rsm_fake(track_points, track_sizes, det_points, det_sizes, temperature):
    torch._check(track_points.dim() == 2, lambda: "track_points must be [sum P, C]")
    torch._check(det_points.dim() == 2, lambda: "det_points must be [sum Q, C]")
    return track_points.new_empty((track_sizes.shape[0], det_sizes.shape[0]), dtype=output_dtype(track_points.dtype))


@torch.library.register_fake("unitrack::xcorr")
def _xcorr_fake(search, templ):
    torch._check(search.dim() == 4, lambda: f"search must be [S, C, H, W], got {search.dim()}-D")
    torch._check(templ.dim() in (3, 4), lambda: f"templ must be [C, h, w] or [S, C, h, w], got {templ.dim()}-D")
    S, _, H, W = search.shape
    h, w = templ.shape[-2], templ.shape[-1]
    return search.new_empty((S, H - h + 1, W - w + 1), dtype=output_dtype(search.dtype))
