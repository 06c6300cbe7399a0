"""The ops' argument checks for the paths where no compiled kernel runs, and the NaN/inf policy there.

The compiled kernels validate their arguments in C++ (``csrc/ops/<op>_args.h``, one header per op shared by the CPU
and CUDA kernels). Two paths never reach that code: the fake (meta) kernels (torch.compile, FakeTensor, ``meta``
tensors; ``_meta.py``) and the pure-PyTorch references when they serve a device without a compiled kernel or stand in
for a missing ``_C`` (``_registry.py``). Both check here, which mirrors the C++ headers check by check, in the same
order and with the same messages (``tests/test_op_validation.py`` compares them), raising ``RuntimeError`` as the
compiled kernels do. The wrappers in ``_op_*.py`` only normalise Python types.

Shape checks go through ``torch._check``, so they also hold for symbolic sizes (torch.compile ``dynamic=True``);
checks of values (the packed sizes' entries, NaN/inf) run only on tensors that have data, and checks of a
temperature or size that is symbolic are left to the kernel that runs with the real value.

NaN/inf policy (README, "NaN and inf"): on the CPU a non-finite input value is an error naming the argument; on other
devices the check would cost a device-to-host sync, so the result is made NaN instead (``poison``).
"""

from __future__ import annotations

import math

import torch

from ._checks import LOW_PRECISION_DTYPES, expected_feature_dtypes, feature_dtype_ok

__all__ = ["topk_args", "rsm_args", "xcorr_args", "check_finite", "finite_flag", "poison", "has_data"]

_DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int16: "int16",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
    torch.complex64: "ComplexFloat",
    torch.complex128: "ComplexDouble",
}
FLOAT_DTYPES = (torch.float32, torch.float64)
_INT64_MAX = 2**63 - 1


def dtype_name(dtype: torch.dtype) -> str:
    """The dtype as the C++ checks print it (``float32``, ``int64``, ...)."""
    return _DTYPE_NAMES.get(dtype, str(dtype).replace("torch.", ""))


def shape_str(x: torch.Tensor) -> str:
    """``[2, 3, 4]``, as the C++ checks print a shape."""
    return "[" + ", ".join(str(s) for s in x.shape) + "]"


def num(x) -> str:
    """A number as C++'s ``operator<<`` prints it (``%g`` with 6 digits for a double)."""
    return format(x, "g") if isinstance(x, float) else str(x)


def device_str(x: torch.Tensor) -> str:
    if x.device.type == "cpu":
        return "cpu"
    if x.device.type == "cuda":
        return f"cuda:{x.device.index if x.device.index is not None else 0}"
    return "a non-CPU, non-CUDA device"


def has_data(x: torch.Tensor) -> bool:
    """Whether x's values can be read (not a fake or meta tensor, not while tracing)."""
    return not (isinstance(x, torch._subclasses.FakeTensor) or x.device.type == "meta" or torch.compiler.is_compiling())


def _concrete(*values) -> bool:
    return all(isinstance(v, (int, float)) for v in values)


def _check(cond, message) -> None:
    if isinstance(cond, bool):  # concrete: raise here (the first torch._check imports ~480 modules, 33 MB)
        if not cond:
            raise RuntimeError(message() if callable(message) else message)
        return
    torch._check(cond, message if callable(message) else (lambda: message))  # symbolic (torch.compile dynamic)


# ---- common/checks.h ------------------------------------------------------------------------------------------------
def _check_dim(x, name, d, layout):
    _check(x.dim() == d, lambda: f"{name} must be a {d}-D tensor {layout}, got shape {shape_str(x)}")


def _check_feature_dtype(x, name, device):
    """check_feature_dtype: float32/float64/bfloat16 anywhere, float16 off the CPU (a fake kernel: the tensor's own
    device)."""
    dev = device if device is not None else x.device.type
    _check(
        feature_dtype_ok(x.dtype, dev),
        lambda: f"{name} must be {expected_feature_dtypes(dev)}, got {dtype_name(x.dtype)}",
    )


def _check_same_dtype(a, an, b, bn):
    _check(
        a.dtype == b.dtype,
        lambda: f"{an} and {bn} must have the same dtype, got {dtype_name(a.dtype)} and {dtype_name(b.dtype)}",
    )


def _check_device(x, name, device):
    if device is None:  # a fake kernel: serves every device
        return
    ok = x.device.type == device
    _check(ok, lambda: f"{name} must be a {'CPU' if device == 'cpu' else 'CUDA'} tensor, got one on {device_str(x)}")


def _check_same_device(a, an, b, bn):
    _check(
        a.device == b.device,
        lambda: f"{an} is on {device_str(a)} but {bn} is on {device_str(b)}: all inputs must be on one device",
    )


def _checked_mul(a, b, what):
    if not _concrete(a, b):  # symbolic sizes: the kernel that runs checks the real ones
        return a * b
    r = a * b
    _check(r <= _INT64_MAX, lambda: f"{what} is too large: {a} * {b} does not fit in a 64-bit integer")
    return r


def min_temperature(dtype: torch.dtype) -> float:
    """1 / the largest value of ``dtype``: below it 1 / temperature overflows and the softmax is NaN."""
    return 1.0 / torch.finfo(torch.float64 if dtype == torch.float64 else torch.float32).max  # low precision: float32


def _check_temperature(temperature, dtype):
    if not _concrete(temperature):
        return
    t = float(temperature)
    _check(math.isfinite(t) and t > 0, lambda: f"temperature must be a finite number > 0, got {num(t)}")
    lo = min_temperature(dtype)
    _check(
        t >= lo,
        lambda: (
            f"temperature must be >= {num(lo)} for {dtype_name(dtype)} inputs (1 / temperature must be finite), "
            f"got {num(t)}"
        ),
    )


def _offsets_from_sizes(values, rows, name, points_name):
    for k, s in enumerate(values):
        _check(s >= 0, lambda k=k, s=s: f"{name}[{k}] = {s} is negative: sizes must be >= 0")
    off = 0
    for k, s in enumerate(values):
        _check(
            s <= rows - off,
            lambda k=k, s=s, off=off: (
                f"{name} sums to more than the {rows} rows of {points_name} ({name}[{k}] = {s} with {off} rows "
                "already assigned): the sizes must sum to the number of points"
            ),
        )
        off += s
    _check(
        off == rows,
        lambda: (
            f"{name} sums to {off} but {points_name} has {rows} points (rows): the sizes must sum to the number "
            "of points"
        ),
    )


# ---- ops/topk_propagate_args.h --------------------------------------------------------------------------------------
def topk_args(query, keys, labels, topk, temperature, radius, n_global, device=None):
    """The checks of ``topk_check_args`` (``labels`` None for topk_affinity); ``device`` None in a fake kernel.
    Returns ``K = min(topk, T*H*W)``."""
    _check_dim(query, "query", 4, "[B, C, H, W]")
    _check_feature_dtype(query, "query", device)
    _check_device(query, "query", device)
    _check_dim(keys, "keys", 5, "[B, T, C, H, W]")
    _check_same_dtype(query, "query", keys, "keys")
    _check_same_device(keys, "keys", query, "query")
    if labels is not None:
        _check_dim(labels, "labels", 5, "[B, T, L, H, W]")
        # Labels in the query's dtype, or float32 with low-precision features (soft labels keep float32 precision).
        if not (query.dtype in LOW_PRECISION_DTYPES and labels.dtype == torch.float32):
            _check_same_dtype(labels, "labels", query, "query")
        _check_same_device(labels, "labels", query, "query")
    B, C, H, W = query.shape
    T = keys.shape[1]
    _check(keys.shape[0] == B, lambda: f"keys has batch size {keys.shape[0]} but query has {B}")
    _check(T >= 1, lambda: f"keys must hold at least one memory frame (T >= 1), got shape {shape_str(keys)}")
    _check(keys.shape[2] == C, lambda: f"keys has {keys.shape[2]} channels but query has {C}")
    frames = lambda: f"keys frames are {keys.shape[3]}x{keys.shape[4]} but query is {H}x{W} (H x W must match)"  # noqa: E731
    _check(keys.shape[3] == H, frames)
    _check(keys.shape[4] == W, frames)
    if labels is not None:
        want = lambda: (  # noqa: E731
            f"labels must be [B, T, L, H, W] = [{B}, {T}, L, {H}, {W}], got shape {shape_str(labels)}"
        )
        for got, expect in ((labels.shape[0], B), (labels.shape[1], T), (labels.shape[3], H), (labels.shape[4], W)):
            _check(got == expect, want)
    _check(topk >= 1, lambda: f"topk must be >= 1, got {topk}")
    _check_temperature(temperature, query.dtype)
    if _concrete(radius):
        _check(not math.isnan(radius), "radius must be a number (<= 0 for unrestricted search), got NaN")
    _check(n_global >= 0, lambda: f"n_global must be >= 0, got {n_global}")
    HW = _checked_mul(H, W, "the query map H*W")
    THW = _checked_mul(T, HW, "the number of candidates T*H*W")
    K = torch.sym_min(topk, THW)
    _checked_mul(_checked_mul(B, K, "the output size B*K*H*W"), HW, "the output size B*K*H*W")
    if labels is not None:
        _checked_mul(_checked_mul(B, labels.shape[2], "the output size B*L*H*W"), HW, "the output size B*L*H*W")
    return K


# ---- ops/rsm_args.h -------------------------------------------------------------------------------------------------
def _rsm_sizes(sizes, name, points, points_name, device):
    _check(sizes.dtype == torch.int64, lambda: f"{name} must be an int64 tensor [N], got {dtype_name(sizes.dtype)}")
    _check(sizes.dim() == 1, lambda: f"{name} must be a 1-D tensor [N], got shape {shape_str(sizes)}")
    if device == "cpu":
        _check_device(sizes, name, "cpu")
    elif device is not None:
        _check(
            sizes.device.type in ("cpu", "cuda"),
            lambda: f"{name} must be a CPU or CUDA tensor, got one on {device_str(sizes)}",
        )
    if has_data(sizes) and _concrete(points.shape[0]):
        _offsets_from_sizes(sizes.tolist(), points.shape[0], name, points_name)


def rsm_args(track_points, track_sizes, det_points, det_sizes, temperature, device=None):
    """The checks of ``rsm_check_args``; ``device`` None in a fake kernel."""
    _check_dim(track_points, "track_points", 2, "[sum P, C]")
    _check_feature_dtype(track_points, "track_points", device)
    _check_device(track_points, "track_points", device)
    _check_dim(det_points, "det_points", 2, "[sum Q, C]")
    _check_same_dtype(track_points, "track_points", det_points, "det_points")
    _check_same_device(det_points, "det_points", track_points, "track_points")
    _check(
        track_points.shape[1] == det_points.shape[1],
        lambda: (
            f"det_points has {det_points.shape[1]} channels but track_points has {track_points.shape[1]}: "
            "feature sets must share C"
        ),
    )
    _check_temperature(temperature, track_points.dtype)
    _rsm_sizes(track_sizes, "track_sizes", track_points, "track_points", device)
    _rsm_sizes(det_sizes, "det_sizes", det_points, "det_points", device)
    _checked_mul(track_points.shape[0], det_points.shape[0], "the affinity sum P * sum Q")
    _checked_mul(track_sizes.shape[0], det_sizes.shape[0], "the output N * M")


# ---- ops/xcorr_args.h -----------------------------------------------------------------------------------------------
def xcorr_args(search, templ, device=None):
    """The checks of ``xcorr_check_args``; ``device`` None in a fake kernel. Returns the output size."""
    _check_dim(search, "search", 4, "[S, C, H, W]")
    _check_feature_dtype(search, "search", device)
    _check_device(search, "search", device)
    _check(
        templ.dim() in (3, 4),
        lambda: f"templ must be a 3-D tensor [C, h, w] or a 4-D tensor [S, C, h, w], got shape {shape_str(templ)}",
    )
    _check_same_dtype(search, "search", templ, "templ")
    _check_same_device(templ, "templ", search, "search")
    S, C, H, W = search.shape
    h, w = templ.shape[-2], templ.shape[-1]
    if templ.dim() == 4:
        _check(templ.shape[0] == S, lambda: f"templ has {templ.shape[0]} scales but search has {S}")
    _check(templ.shape[-3] == C, lambda: f"templ has {templ.shape[-3]} channels but search has {C}")
    _check(h >= 1 and w >= 1, lambda: f"templ must have a positive spatial size, got {h}x{w}")
    too_big = lambda: f"templ ({h}x{w}) must not be larger than search ({H}x{W})"  # noqa: E731
    _check(h <= H, too_big)
    _check(w <= W, too_big)
    return (S, H - h + 1, W - w + 1)


# ---- the NaN/inf policy ---------------------------------------------------------------------------------------------
def check_finite(x: torch.Tensor, name: str, *, rows: bool = False) -> None:
    """CPU: raise ``RuntimeError`` naming ``name`` if x has a NaN or inf (``rows``: also name the first bad row of a
    [n, C] matrix, as rsm's kernel does)."""
    if not has_data(x) or x.numel() == 0:
        return
    if rows:
        bad = ~torch.isfinite(x).all(dim=1)
        if bool(bad.any()):
            raise RuntimeError(f"{name} contains NaN or inf values (row {int(torch.nonzero(bad)[0, 0])})")
    elif not bool(torch.isfinite(x).all()):
        raise RuntimeError(f"{name} contains NaN or inf values")


def finite_flag(*tensors: torch.Tensor) -> torch.Tensor:
    """A 0-dim bool tensor on the tensors' device: whether all their values are finite (no host sync)."""
    ok = torch.ones((), dtype=torch.bool, device=tensors[0].device)
    for x in tensors:
        ok = ok & torch.isfinite(x).all()
    return ok


def poison(out: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """``out`` where ``ok``, else NaN everywhere: the device-side half of the policy (no host sync)."""
    return torch.where(ok, out, torch.full((), float("nan"), dtype=out.dtype, device=out.device))
