"""Fake (meta) kernels: output shapes/dtypes only, no data access. Used by torch.compile, opcheck, FakeTensor and
``meta`` tensors. They run the ops' argument checks of ``_validate`` (the Python mirror of ``csrc/ops/<op>_args.h``),
so a traced call fails with the message the compiled kernel would give; the checks of values (packed sizes, NaN/inf)
are left to the kernel that runs on real data.

The fake kernels are registered from Python (``torch.library.register_fake``) when ``_C`` is loaded.
"""

import torch

from . import _validate
from ._checks import output_dtype


@torch.library.register_fake("unitrack::topk_propagate")
def _topk_propagate_fake(query, keys, labels, topk, temperature, radius, n_global):
    _validate.topk_args(query, keys, labels, topk, temperature, radius, n_global)
    B, _, H, W = query.shape
    return labels.new_empty((B, labels.shape[2], H, W), dtype=output_dtype(query.dtype))


@torch.library.register_fake("unitrack::topk_affinity")
def _topk_affinity_fake(query, keys, topk, temperature, radius, n_global):
    k = _validate.topk_args(query, keys, None, topk, temperature, radius, n_global)
    B, _, H, W = query.shape
    weights = query.new_empty((B, k, H * W), dtype=output_dtype(query.dtype))
    indices = query.new_empty((B, k, H * W), dtype=torch.int64)
    return weights, indices


@torch.library.register_fake("unitrack::rsm")
def _rsm_fake(track_points, track_sizes, det_points, det_sizes, temperature):
    _validate.rsm_args(track_points, track_sizes, det_points, det_sizes, temperature)
    return track_points.new_empty((track_sizes.shape[0], det_sizes.shape[0]), dtype=output_dtype(track_points.dtype))


@torch.library.register_fake("unitrack::xcorr")
def _xcorr_fake(search, templ):
    return search.new_empty(_validate.xcorr_args(search, templ), dtype=output_dtype(search.dtype))
