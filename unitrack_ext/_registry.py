"""Wiring between the compiled schemas and Python: fake kernels and reference fallbacks.

Rules (in this order):
1. ``_C`` imported and it has a kernel for the device -> that kernel runs.
2. ``_C`` imported but no compiled kernel for a device (CPU-only build used on CUDA tensors, or an op whose kernel is
   not compiled for that device) -> the pure-PyTorch reference is registered as that device's kernel with
   ``torch.library.register_kernel``, so dispatch, fake kernels and torch.compile stay on one code path.
3. ``_C`` missing -> ``unitrack_ext.ops`` calls these same validated references directly.
"""

from __future__ import annotations

import functools

import torch

from . import HAS_EXT, _validate
from .reference.rsm import rsm_packed as _ref_rsm_packed
from .reference.topk_propagate import topk_affinity as _ref_topk_affinity
from .reference.topk_propagate import topk_propagate as _ref_topk_propagate
from .reference.xcorr import xcorr as _ref_xcorr

OP_NAMES = ("topk_propagate", "topk_affinity", "rsm", "xcorr")
DEVICES = ("cpu", "cuda")


# The references with the schemas' signatures, as a device's kernel (or the whole op when _C is missing): the argument
# checks and the NaN/inf policy of the compiled kernels (_validate.py mirrors csrc/ops/<op>_args.h), then the dense
# reference. On the CPU a non-finite input raises (checked in the compiled kernels' order); elsewhere the result is
# made NaN on the device (no host sync). `_device`: the dispatch key's device when registered as a device's kernel
# (the device the compiled kernel would check the inputs against); else the first input's.
def _schema_topk_propagate(query, keys, labels, topk, temperature, radius, n_global, *, _device=None):
    device = _device or query.device.type
    K = _validate.topk_args(query, keys, labels, topk, temperature, radius, n_global, device=device)
    if device == "cpu":
        _validate.check_finite(labels, "labels")
        if query.shape[0] * K * query.shape[2] * query.shape[3]:
            _validate.check_finite(query, "query")
            _validate.check_finite(keys, "keys")
    out = _ref_topk_propagate(query, keys, labels, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
    return out if device == "cpu" else _validate.poison(out, _validate.finite_flag(query, keys, labels))


def _schema_topk_affinity(query, keys, topk, temperature, radius, n_global, *, _device=None):
    device = _device or query.device.type
    K = _validate.topk_args(query, keys, None, topk, temperature, radius, n_global, device=device)
    if device == "cpu" and query.shape[0] * K * query.shape[2] * query.shape[3]:
        _validate.check_finite(query, "query")
        _validate.check_finite(keys, "keys")
    w, i = _ref_topk_affinity(query, keys, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
    return (w, i) if device == "cpu" else (_validate.poison(w, _validate.finite_flag(query, keys)), i)


def _schema_rsm(track_points, track_sizes, det_points, det_sizes, temperature, *, _device=None):
    device = _device or track_points.device.type
    _validate.rsm_args(track_points, track_sizes, det_points, det_sizes, temperature, device=device)
    if device == "cpu":
        _validate.check_finite(track_points, "track_points", rows=True)
        _validate.check_finite(det_points, "det_points", rows=True)
    out = _ref_rsm_packed(track_points, track_sizes, det_points, det_sizes, temperature=temperature)
    return out if device == "cpu" else _validate.poison(out, _validate.finite_flag(track_points, det_points))


def _schema_xcorr(search, templ, *, _device=None):
    device = _device or search.device.type
    _validate.xcorr_args(search, templ, device=device)
    if device == "cpu":
        _validate.check_finite(search, "search")
        _validate.check_finite(templ, "templ")
    # Elsewhere F.conv2d makes exactly the outputs whose window holds a NaN/inf non-finite, as the CUDA kernel does.
    return _ref_xcorr(search, templ)


REFERENCE_KERNELS = {
    "topk_propagate": _schema_topk_propagate,
    "topk_affinity": _schema_topk_affinity,
    "rsm": _schema_rsm,
    "xcorr": _schema_xcorr,
}

# {op: {"cpu": bool, "cuda": bool}} -- which devices have a *compiled* kernel (before fallbacks are registered).
compiled_kernels: dict[str, dict[str, bool]] = {}

if HAS_EXT:
    from . import _meta  # noqa: F401  (register_fake for every op)

    _has_cuda_build = int(torch.ops.unitrack._cuda_version()) >= 0

    def _has_kernel(name: str, device: str) -> bool:
        """Whether _C registered a kernel of ``unitrack::name`` for ``device`` (asked of the dispatcher)."""
        key = {"cpu": "CPU", "cuda": "CUDA"}[device]
        query = getattr(torch._C, "_dispatch_has_kernel_for_dispatch_key", None)
        if query is None:  # pragma: no cover - private API gone: what this build compiles
            return device == "cpu" or _has_cuda_build
        return bool(query(f"unitrack::{name}", key))

    for _name in OP_NAMES:
        compiled_kernels[_name] = {d: _has_kernel(_name, d) for d in DEVICES}
    for _name in OP_NAMES:
        for _dev in DEVICES:
            if not compiled_kernels[_name][_dev]:
                torch.library.register_kernel(
                    f"unitrack::{_name}", _dev, functools.partial(REFERENCE_KERNELS[_name], _device=_dev)
                )
else:
    compiled_kernels = {name: {d: False for d in DEVICES} for name in OP_NAMES}
