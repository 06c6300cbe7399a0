"""Numeric precision of the appearance model and the heads (issue #15): ``"fp32"`` (default, parity with the official
code), ``"bf16"`` (CPU and CUDA) or ``"fp16"`` (CUDA only).

* The **backbone** of a :class:`~unitrack.model.FeatureExtractor` with ``precision="bf16"`` runs under
  ``torch.autocast(device, dtype=torch.bfloat16)`` (convolutions and matrix products in bf16 with float32
  accumulation, oneDNN / AMX on CPUs that have it); its feature map comes out in bf16. On a CPU without native bf16
  (no AVX512-BF16 / AMX-BF16: oneDNN would emulate bf16, 4-6x slower than float32 here with
  ``ONEDNN_MAX_CPU_ISA=AVX512_CORE`` / ``AVX2``) the backbone runs in float32 and only its output is rounded to bf16,
  so bf16 is never much slower than fp32 (:func:`bf16_native`).
* A **head** takes the model's precision unless given its own. VOS and pose propagation feed bf16 features (L2-
  normalised in float32 first) to ``topk_propagate``; the SOT XCorr head feeds bf16 search/template features to
  ``xcorr``; both ops multiply the bf16 values exactly and sum in float32, and return float32. The parts that stay
  float32 whatever the precision: softmax, top-K and labels (inside the op), the DCF filter (FFT), and the whole
  association stage (RoIAlign, mask/pose features and RSM, whose temperature 0.01 magnifies affinity errors 100x):
  there the bf16 feature map is widened to float32 (README, "bfloat16: speed and quality").
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Optional, Union

import torch

__all__ = [
    "PRECISIONS",
    "check_precision",
    "precision_dtype",
    "autocast",
    "bf16_native",
    "resolve_precision",
    "feature_dtype",
]

#: The precision names, in the order of ``--precision``'s choices.
PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: Any, device: Union[str, torch.device, None] = "cpu", name: str = "precision") -> str:
    """``precision`` validated for ``device``: one of :data:`PRECISIONS`, and ``fp16`` only on CUDA.

    Raises ValueError naming ``name`` (e.g. ``--precision``) and what is supported on that device.
    """
    dev = torch.device(device if device is not None else "cpu").type
    supported = "fp32, bf16, fp16" if dev == "cuda" else "fp32, bf16"
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"{name}: expected one of {supported} (fp16 on CUDA only), got {precision!r}")
    if precision == "fp16" and dev != "cuda":
        raise ValueError(f"{name} fp16: float16 runs on CUDA only; on {dev} choose one of {supported}")
    return precision


def precision_dtype(precision: str) -> torch.dtype:
    """``"fp32"`` -> ``torch.float32``, ``"bf16"`` -> ``torch.bfloat16``, ``"fp16"`` -> ``torch.float16``."""
    check_precision(precision, "cuda")
    return _DTYPES[precision]


@functools.lru_cache(maxsize=None)
def _cpu_bf16_native() -> bool:
    cpu = getattr(torch, "cpu", None)
    flags = any(bool(getattr(cpu, f, lambda: False)()) for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    mkldnn = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return flags and (mkldnn is None or bool(mkldnn()))


def bf16_native(device: Union[str, torch.device] = "cpu") -> bool:
    """Whether ``device`` computes bf16 convolutions natively: a CPU with AVX512-BF16 or AMX-BF16 (oneDNN's bf16
    kernels), a CUDA device that supports bf16. (The fused ops have their own test: ``unitrack_ext.bf16_native()``.)"""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return dev.type == "cpu" and _cpu_bf16_native()


def autocast(precision: str, device: Union[str, torch.device]) -> contextlib.AbstractContextManager:
    """The context a backbone forward runs in: nothing for fp32 (and for bf16 on a device without native bf16,
    :func:`bf16_native`), else ``torch.autocast`` on ``device``'s type with the precision's dtype."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dev = torch.device(device).type
    check_precision(precision, dev)
    if precision == "bf16" and not bf16_native(dev):
        return contextlib.nullcontext()
    return torch.autocast(dev, dtype=_DTYPES[precision])


def resolve_precision(precision: Optional[str], model: Any, name: str = "precision") -> str:
    """A head's precision: ``precision`` when given, else the model's (``model.precision``, fp32 for models
    without one), validated for the model's device."""
    p = getattr(model, "precision", "fp32") if precision is None else precision
    return check_precision(p, getattr(model, "device", "cpu"), name)


def feature_dtype(precision: str, features: torch.Tensor) -> torch.dtype:
    """The dtype a head hands its fused op: the precision's low-precision dtype, else float32 (float64 features stay
    float64)."""
    if precision == "fp32":
        return torch.float64 if features.dtype == torch.float64 else torch.float32
    return _DTYPES[precision]
