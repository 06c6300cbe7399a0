"""Python-type normalisation shared by the op wrappers (``_op_*.py``): only what Python alone can check -- that an
argument is a tensor (or array) at all, a Python number of the right kind, an int that fits the schema's int64 --
and the rank that decides between the batched and the unbatched form. Everything else is checked once, by the op
itself (``csrc/ops/<op>_args.h`` for the compiled kernels, ``_validate.py`` on the other paths), and raises
``RuntimeError`` naming the argument and what was expected.

Symbolic values (``torch.SymInt`` / ``torch.SymFloat`` under torch.compile) pass through unchanged: the kernel that
runs checks their real values.
"""

from __future__ import annotations

import numbers
import operator
from typing import Sequence

import torch

_INT64 = (-(2**63), 2**63 - 1)
#: Low-precision features the ops accept (bfloat16 everywhere, float16 on CUDA only): they compute in float32 from the
#: low-precision values and return float32.
LOW_PRECISION_DTYPES = (torch.bfloat16, torch.float16)


def feature_dtype_ok(dtype: torch.dtype, device_type: str) -> bool:
    """float32/float64/bfloat16 features anywhere, float16 only off the CPU (as csrc/common/checks.h)."""
    return dtype in (torch.float32, torch.float64, torch.bfloat16) or (dtype == torch.float16 and device_type != "cpu")


def expected_feature_dtypes(device_type: str) -> str:
    """What :func:`feature_dtype_ok` accepts on ``device_type``, in the words of csrc/common/checks.h."""
    if device_type == "cpu":
        return "float32, float64 or bfloat16 on the CPU (float16 only on CUDA)"
    return "float32, float64, bfloat16 or float16"


def check_feature_dtype(x: torch.Tensor, name: str) -> None:
    """float32/float64/bfloat16 features, float16 only on CUDA; a ``TypeError`` naming ``name`` otherwise."""
    if not feature_dtype_ok(x.dtype, x.device.type):
        raise TypeError(f"{name} must be {expected_feature_dtypes(x.device.type)}, got {x.dtype}")


def output_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype an op returns for features of ``dtype``: float32 for bfloat16/float16, else ``dtype``."""
    return torch.float32 if dtype in LOW_PRECISION_DTYPES else dtype


def tensor_arg(x, name: str) -> torch.Tensor:
    """x itself, or a ``TypeError`` naming ``name`` unless it is a torch.Tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def rank_arg(x: torch.Tensor, name: str, dims: Sequence[int], layouts: Sequence[str]) -> None:
    """``ValueError`` naming ``name`` unless x has one of the ranks ``dims`` (``layouts`` describes each)."""
    if x.dim() not in dims:
        want = " or ".join(f"{d}-D {lay}" for d, lay in zip(dims, layouts))
        raise ValueError(f"{name} must be {want}, got shape {tuple(x.shape)}")


def int_arg(value, name: str):
    """An int for a schema ``int`` argument (anything with ``__index__``, e.g. numpy integers; not bool); a value
    outside int64 is a ``ValueError`` naming ``name`` (the dispatcher's own message would not)."""
    if isinstance(value, torch.SymInt):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{name} must fit in a 64-bit integer, got {value}")
    return value


def float_arg(value, name: str):
    """A float for a schema ``float`` argument: any real number (Python int or float, numpy float32/float64/int
    scalars; not bool), as a Python float."""
    if isinstance(value, (torch.SymFloat, torch.SymInt)):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    return float(value)
