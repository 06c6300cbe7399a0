"""Argument checks shared by the op wrappers: every message names the argument and what was expected."""
from __future__ import annotations

from typing import Sequence

import torch

FLOAT_DTYPES = (torch.float32, torch.float64)


def check_tensor(x, name: str, *, dims: Sequence[int] | None = None, float_only: bool = True) -> None:
    """Raise a ``TypeError``/``ValueError`` naming ``name`` unless ``x`` is a tensor of the expected rank/dtype."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dims is not None and x.dim() not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must be {want}, got shape {tuple(x.shape)}")
    if float_only and x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")


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
