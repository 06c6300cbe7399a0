"""Typed wrapper of ``unitrack::rsm``: the Reconstruction Similarity Metric between ragged object feature sets."""
from __future__ import annotations

import math
from typing import Any, Sequence, Tuple, Union

import numpy as np
import torch

from . import HAS_EXT
from ._checks import check_feature_dtype
from ._registry import compiled_kernels
from .reference.rsm import rsm_packed as _ref_rsm_packed

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


def _is_packed(feats: Any) -> bool:
    """``(points [sum P, C], sizes [N] integer)``: a 2-tuple whose second item is a 1-D integer array."""
    if not (isinstance(feats, tuple) and len(feats) == 2):
        return False
    sizes = feats[1]
    if isinstance(sizes, np.ndarray):
        return sizes.ndim == 1 and np.issubdtype(sizes.dtype, np.integer)
    if isinstance(sizes, torch.Tensor):
        return sizes.dim() == 1 and not sizes.dtype.is_floating_point and not sizes.dtype.is_complex
    return False


def _pack(feats: Any, name: str) -> tuple[torch.Tensor | None, torch.Tensor, list[int] | None]:
    """Returns (points [sum P, C] or None for an empty list, sizes int64 [N] on CPU, python sizes or None)."""
    if _is_packed(feats):
        points = _as_tensor(feats[0], f"{name} points")
        if points.dim() != 2:
            raise ValueError(f"{name} points must be 2-D [sum P, C], got shape {tuple(points.shape)}")
        check_feature_dtype(points, f"{name} points")
        sizes = feats[1]
        sizes = torch.from_numpy(np.asarray(sizes)) if isinstance(sizes, np.ndarray) else sizes
        sizes = sizes.to(device="cpu", dtype=torch.int64)
        if not torch.compiler.is_compiling():
            if sizes.numel() and int(sizes.min()) < 0:
                k = int(torch.nonzero(sizes < 0)[0, 0])
                raise ValueError(f"{name} sizes[{k}] = {int(sizes[k])} is negative: sizes must be >= 0")
            total = sum(sizes.tolist())  # Python ints: an int64 sum would wrap ([2**63-1, 2**63-1, 7] -> 5)
            if total != points.shape[0]:
                raise ValueError(
                    f"{name} sizes sum to {total} but {name} points has {points.shape[0]} rows: "
                    "the sizes must sum to the number of points"
                )
        return points, sizes, None
    if isinstance(feats, (torch.Tensor, np.ndarray)) or not isinstance(feats, Sequence):
        raise TypeError(
            f"{name} must be a list of N arrays [P_i, C] or a tuple (points [sum P, C], sizes [N] int64), "
            f"got {type(feats).__name__}"
        )
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
    py_sizes = [int(f.shape[0]) for f in sets]
    sizes = torch.tensor(py_sizes, dtype=torch.int64)
    points = torch.cat(sets, 0) if sets else None
    return points, sizes, py_sizes


def _check_finite(points: torch.Tensor, sizes: torch.Tensor, name: str, packed: bool) -> None:
    if isinstance(points, torch._subclasses.FakeTensor) or torch.compiler.is_compiling() or points.numel() == 0:
        return
    bad = ~torch.isfinite(points).all(dim=1)
    if bool(bad.any()):
        row = int(torch.nonzero(bad)[0, 0])
        obj = int(torch.searchsorted(torch.cumsum(sizes, 0), torch.tensor(row), right=True))
        where = f"{name} points (row {row}, object {obj})" if packed else f"{name}[{obj}]"
        raise ValueError(f"{where} contains NaN or inf values")


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
        temperature: softmax temperature (0.01 = the original ``tmp=100``), finite and > 0.
    Returns:
        ``Tensor[N, M]`` similarity ``(s_td + s_dt) / 2`` in the input dtype (float32 for bfloat16/float16), on the
        input device; the tracker's
        cost is ``1 - rsm``. N = 0 or M = 0 gives an empty ``[N, M]``.

    Ragged sets are used as they are (no padding). Zero rows passed by the caller are points like any other: a
    zero-padded input reproduces the original tracker's padded numbers exactly. An object with 0 points has
    similarity 0 (cost 1) to everything and does not change any other entry (it has no point in either softmax).
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a float, got {type(temperature).__name__}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    tp, ts, _ = _pack(track_feats, "track_feats")
    dp, ds, _ = _pack(det_feats, "det_feats")
    if tp is None and dp is None:
        return torch.zeros((len(ts), len(ds)))
    if tp is None:
        tp = dp.new_zeros((0, dp.shape[1]))
    if dp is None:
        dp = tp.new_zeros((0, tp.shape[1]))
    if dp.shape[1] != tp.shape[1]:
        raise ValueError(f"det_feats has C={dp.shape[1]} channels but track_feats has C={tp.shape[1]}")
    if dp.dtype != tp.dtype:
        raise TypeError(f"det_feats has dtype {dp.dtype} but track_feats has {tp.dtype}: they must share one dtype")
    if dp.device != tp.device:
        raise ValueError(f"det_feats is on {dp.device} but track_feats is on {tp.device}: use one device")
    def check_finite():
        _check_finite(tp, ts, "track_feats", _is_packed(track_feats))
        _check_finite(dp, ds, "det_feats", _is_packed(det_feats))

    # A compiled kernel rejects NaN/inf points itself, at the cost of one norm per point (which it needs anyway). The
    # full check runs here where the reference serves the device (no compiled kernel for it), and after a kernel's
    # rejection, to name the object in the caller's terms.
    if not compiled_kernels["rsm"].get(tp.device.type, False):
        check_finite()
    if not HAS_EXT:
        return _ref_rsm_packed(tp, ts, dp, ds, temperature=float(temperature))
    try:
        return torch.ops.unitrack.rsm(tp, ts, dp, ds, float(temperature))
    except RuntimeError as err:
        if "contains NaN or inf" in str(err):
            check_finite()
        raise
