"""Wiring between the compiled schemas and Python: fake kernels and reference fallbacks.

Rules (in this order):
1. ``_C`` imported and it has a kernel for the device -> that kernel runs.
2. ``_C`` imported but no compiled kernel for a device (CPU-only build used on CUDA tensors, or an op whose kernel is
   not compiled for that device) -> the pure-PyTorch reference is registered as that device's kernel with
   ``torch.library.register_kernel``, so dispatch, fake kernels and torch.compile stay on one code path.
3. ``_C`` missing -> ``unitrack_ext.ops`` calls the references directly.
"""
from __future__ import annotations

import torch

from . import HAS_EXT
from .reference.rsm import rsm_packed as _ref_rsm_packed
from .reference.topk_propagate import topk_affinity as _ref_topk_affinity
from .reference.topk_propagate import topk_propagate as _ref_topk_propagate
from .reference.xcorr import xcorr as _ref_xcorr

OP_NAMES = ("topk_propagate", "topk_affinity", "rsm", "xcorr")
DEVICES = ("cpu", "cuda")


def _schema_topk_propagate(query, keys, labels, topk, temperature, radius, n_global):
    return _ref_topk_propagate(
        query, keys, labels, topk=topk, temperature=temperature, radius=radius, n_global=n_global
    )


def _schema_topk_affinity(query, keys, topk, temperature, radius, n_global):
    return _ref_topk_affinity(query, keys, topk=topk, temperature=temperature, radius=radius, n_global=n_global)


def _schema_rsm(track_points, track_sizes, det_points, det_sizes, temperature):
    return _ref_rsm_packed(track_points, track_sizes, det_points, det_sizes, temperature=temperature)


def _schema_xcorr(search, templ):
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
                torch.library.register_kernel(f"unitrack::{_name}", _dev, REFERENCE_KERNELS[_name])
else:
    compiled_kernels = {name: {d: False for d in DEVICES} for name in OP_NAMES}
