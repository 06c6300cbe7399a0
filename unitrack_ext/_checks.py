"""Argument checks shared by the op wrappers: every message names the argument and what was expected."""
from __future__ import annotations

from typing import Sequence

import torch

FLOAT_DTYPES = (torch.float32, torch.float64)
#: Low-precision features the ops accept (bfloat16 everywhere, float16 on CUDA only): they compute in float32 from the
#: low-precision values and return float32.
LOW_PRECISION_DTYPES = (torch.bfloat16, torch.float16)


def check_feature_dtype(x: torch.Tensor, name: str) -> None:
    """float32/float64/bfloat16 features, float16 only on CUDA; a ``TypeError`` naming ``name`` otherwise."""
    if x.dtype in FLOAT_DTYPES or x.dtype == torch.bfloat16:
        return
    if x.dtype == torch.float16 and x.device.type != "cpu":
        return
    where = " on the CPU (float16 only on CUDA)" if x.dtype == torch.float16 else ""
    raise TypeError(f"{name} must be float32, float64 or bfloat16{where}, got {x.dtype}")


def output_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype an op returns for features of ``dtype``: float32 for bfloat16/float16, else ``dtype``."""
    return torch.float32 if dtype in LOW_PRECISION_DTYPES else dtype


def check_tensor(x, name: str, *, dims: Sequence[int] | None = None, float_only: bool = True) -> None:
    """Raise a ``TypeError``/``ValueError`` naming ``name`` unless ``x`` is a tensor of the expected rank/dtype."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dims is not None and x.dim() not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must be {want}, got shape {tuple(x.shape)}")
    if float_only:
        check_feature_dtype(x, name)


def check_same_device_dtype(named: dict) -> None:
    """All tensors in ``named`` must share one device and dtype."""
    items = list(named.items())
    n0, t0 = items[0]
    for n, t in items[1:]:
        if t.device != t0.device:
            raise ValueError(f"{n} is on {t.device} but {n0} is on {t0.device}: all inputs must be on one device")
        if t.dtype != t0.dtype:
            raise TypeError(f"{n} has dtype {t.dtype} but {n0} has {t0.dtype}: all inputs must share one dtype")


def check_finite(x: torch.Tensor, name: str) -> None:
    """Reject NaN/inf (skipped while tracing with fake tensors)."""
    if isinstance(x, torch._subclasses.FakeTensor) or torch.compiler.is_compiling():
        return
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf values")
