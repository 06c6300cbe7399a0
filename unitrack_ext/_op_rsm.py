"""Typed wrapper of ``unitrack::rsm``: the Reconstruction Similarity Metric between ragged object feature sets."""

from __future__ import annotations

import bisect
import numbers
import re
from typing import Any, Sequence, Tuple, Union

import numpy as np
import torch

from . import HAS_EXT
from ._checks import check_feature_dtype, float_arg
from ._registry import REFERENCE_KERNELS

ArrayLike = Union[torch.Tensor, np.ndarray]
FeatureSets = Union[Sequence[ArrayLike], Tuple[ArrayLike, ArrayLike]]

__all__ = ["rsm"]


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must be float32 or float64, got numpy {x.dtype}")
        return torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(x).__name__}")
    return x


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Number, np.generic))


def _packed_pair(feats: Any) -> bool:
    """Whether ``feats`` is the packed form ``(points [sum P, C], sizes [N])``: a 2-tuple whose second item cannot be
    a feature set ``[P, C]`` (a set is a 2-D floating array), i.e. a tensor or array of another rank or dtype, or a
    Python list/tuple of numbers. Such a pair is then checked as sizes, with a message about sizes."""
    if not (isinstance(feats, tuple) and len(feats) == 2):
        return False
    sizes = feats[1]
    if isinstance(sizes, torch.Tensor):
        return not (sizes.dim() == 2 and (sizes.dtype.is_floating_point or sizes.dtype.is_complex))
    if isinstance(sizes, np.ndarray):
        return not (sizes.ndim == 2 and np.issubdtype(sizes.dtype, np.inexact))
    if isinstance(sizes, (list, tuple)):
        return all(_is_number(v) for v in sizes)
    return False


def _packed_sizes(sizes: Any, name: str) -> torch.Tensor:
    """The sizes of a packed pair as an int64 tensor [N] (on the CPU unless meta): only integer tensors or arrays of
    rank 1 are sizes."""
    what = f"{name} sizes (the second item of the packed pair (points, sizes))"
    if isinstance(sizes, (list, tuple)):
        raise TypeError(
            f"{what} must be a 1-D integer torch.Tensor or numpy array [N], got a Python {type(sizes).__name__}: "
            "pass torch.tensor(sizes)"
        )
    if isinstance(sizes, np.ndarray):
        if not np.issubdtype(sizes.dtype, np.integer):
            raise TypeError(f"{what} must be integers (one size per object), got numpy {sizes.dtype}")
        sizes = torch.from_numpy(np.ascontiguousarray(sizes))
    elif sizes.dtype == torch.bool or sizes.dtype.is_floating_point or sizes.dtype.is_complex:
        raise TypeError(f"{what} must be integers (one size per object), got {sizes.dtype}")
    if sizes.dim() != 1:
        raise ValueError(f"{what} must be 1-D [N] (one size per object), got shape {tuple(sizes.shape)}")
    return sizes.to(dtype=torch.int64) if sizes.device.type == "meta" else sizes.to(device="cpu", dtype=torch.int64)


def _pack(feats: Any, name: str) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Returns (points [sum P, C], or None for an empty list of sets; sizes int64 [N])."""
    if _packed_pair(feats):
        return _as_tensor(feats[0], f"{name} points"), _packed_sizes(feats[1], name)
    if isinstance(feats, (torch.Tensor, np.ndarray)) or not isinstance(feats, Sequence):
        raise TypeError(
            f"{name} must be a list of N arrays [P_i, C] or a tuple (points [sum P, C], sizes [N] int64), "
            f"got {type(feats).__name__}"
        )
    # The list form: the sets must have what torch.cat needs to pack them (the op checks the rest).
    sets = [_as_tensor(f, f"{name}[{k}]") for k, f in enumerate(feats)]
    for k, f in enumerate(sets):
        if f.dim() != 2:
            raise ValueError(f"{name}[{k}] must be 2-D [P, C] (points x channels), got shape {tuple(f.shape)}")
        check_feature_dtype(f, f"{name}[{k}]")
        if f.shape[1] != sets[0].shape[1]:
            raise ValueError(f"{name}[{k}] has C={f.shape[1]} channels but {name}[0] has C={sets[0].shape[1]}")
        if f.dtype != sets[0].dtype:
            raise TypeError(f"{name}[{k}] has dtype {f.dtype} but {name}[0] has {sets[0].dtype}")
        if f.device != sets[0].device:
            raise ValueError(f"{name}[{k}] is on {f.device} but {name}[0] is on {sets[0].device}")
    sizes = torch.tensor([f.shape[0] for f in sets], dtype=torch.int64)
    return (torch.cat(sets, 0) if sets else None), sizes


_NONFINITE = re.compile(r"^(track|det)_points contains NaN or inf values \(row (\d+)\)$")


def _in_caller_terms(err: RuntimeError, feats: Any, sizes: torch.Tensor) -> RuntimeError | None:
    """The op's "track_points contains NaN or inf values (row r)" about the argument as the caller gave it."""
    m = _NONFINITE.match(str(err))
    if m is None:
        return None
    name, row = f"{m.group(1)}_feats", int(m.group(2))
    obj = bisect.bisect_right(np.cumsum(sizes.tolist()).tolist(), row)
    where = f"{name} points (row {row}, object {obj})" if _packed_pair(feats) else f"{name}[{obj}]"
    return RuntimeError(f"{where} contains NaN or inf values")


def rsm(track_feats: FeatureSets, det_feats: FeatureSets, *, temperature: float = 0.01) -> torch.Tensor:
    """Reconstruction Similarity Metric between N track feature sets and M detection feature sets (SPEC §6, app. b).

    Every point is L2-normalised over channels (``v / max(||v||, 1e-12)``). With ``A = T^ D^T`` over all points of all
    objects, ``W_td = softmax(A / temperature)`` over *all* detection points (each track point) and ``W_dt`` over *all*
    track points (each detection point), track i is reconstructed from detection j's block of ``W_td`` and vice versa;
    ``s_td[i, j]`` is the cosine of the flattened reconstruction ``[P_i * C]`` with the flattened ``t^_i``, each norm
    clamped at 1e-12 (so a pair that receives ~1e-28 of the softmax mass gets a similarity ~0, cost exactly 1.0, as
    in the original tracker). Computed algebraically (one GEMM, two softmaxes, small quadratic forms), never forming
    the ``[N, M, P, C]`` reconstructions.

    Args:
        track_feats: a list of N arrays ``[P_i, C]`` (torch tensors or numpy arrays, float32/float64), or a tuple
            ``(points [sum P_i, C], sizes [N] integer)`` (the packed form, objects concatenated in order).
        det_feats: likewise M detection sets ``[Q_j, C]``; same C, dtype and device as the tracks. bfloat16 (and on
            CUDA float16) points are accepted and widened to float32: everything is computed in float32 (the
            temperature 0.01 magnifies affinity errors 100x), and the result is float32.
        temperature: softmax temperature (0.01 = the original ``tmp=100``): finite and at least
            ``1 / finfo(dtype).max`` (2.9e-39 in float32, 5.6e-309 in float64), so that ``1 / temperature`` is finite.
    Returns:
        ``Tensor[N, M]`` similarity ``(s_td + s_dt) / 2`` in the input dtype (float32 for bfloat16/float16), on the
        input device; the tracker's cost is ``1 - rsm``. N = 0 or M = 0 gives an empty ``[N, M]``.

    Raises:
        TypeError, ValueError: what the wrapper checks in Python: argument types, the list form's sets (2-D float
            arrays of one C, dtype and device: what packing them needs), the packed form's sizes (a 1-D integer
            tensor or array; not a float, bool or 2-D one, nor a Python list).
        RuntimeError: everything the op checks (sizes that do not sum to the points, negative sizes, C, dtype or
            device mismatches between tracks and detections, the temperature), naming the argument; a NaN or inf
            point on the CPU, named in the caller's terms (``track_feats[1]`` or ``det_feats points (row r, object
            j)``; on CUDA the result is NaN instead: README, "NaN and inf").

    Ragged sets are used as they are (no padding). Zero rows passed by the caller are points like any other: a
    zero-padded input reproduces the original tracker's padded numbers exactly. An object with 0 points has
    similarity 0 (cost 1) to everything and does not change any other entry (it has no point in either softmax).
    """
    temperature = float_arg(temperature, "temperature")
    tp, ts = _pack(track_feats, "track_feats")
    dp, ds = _pack(det_feats, "det_feats")
    if tp is None and dp is None:
        return torch.zeros((len(ts), len(ds)))
    if tp is None:
        tp = dp.new_zeros((0, dp.shape[1]))
    if dp is None:
        dp = tp.new_zeros((0, tp.shape[1]))
    op = torch.ops.unitrack.rsm if HAS_EXT else REFERENCE_KERNELS["rsm"]
    if torch.compiler.is_compiling():
        return op(tp, ts, dp, ds, temperature)
    try:
        return op(tp, ts, dp, ds, temperature)
    except RuntimeError as err:
        side = (track_feats, ts) if str(err).startswith("track") else (det_feats, ds)
        better = _in_caller_terms(err, *side)
        if better is None:
            raise
        raise better from None
