"""One validation layer: the C++ checks of the compiled kernels (csrc/ops/<op>_args.h) and their Python mirror
(unitrack_ext/_validate.py, used by the fake kernels and by the references wherever they serve) give the same errors,
word for word; the wrappers only normalise Python types (issue #11 point 4, issue #12 point 9).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

import unitrack_ext
from unitrack_ext import _registry, ops

needs_ext = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="compares with the compiled kernels")

F32, F64, I64 = torch.float32, torch.float64, torch.int64
NAN, INF = float("nan"), float("inf")


def _q(*shape, dtype=F32):
    return torch.rand(*shape, dtype=dtype)


def _with(x, index, value):
    x = x.clone()
    x[index] = value
    return x


def _topk_cases():
    q, k, lab = _q(1, 4, 5, 6), _q(1, 3, 4, 5, 6), _q(1, 3, 2, 5, 6)
    ok = (3, 0.05, 12.0, 1)
    aff = [
        ((_q(4, 30), k, *ok), False),
        ((q.long(), k, *ok), False),
        ((q, _q(3, 4, 5, 6), *ok), False),
        ((q, k.double(), *ok), False),
        ((q, _q(2, 3, 4, 5, 6), *ok), False),
        ((q, _q(1, 0, 4, 5, 6), *ok), False),
        ((q, _q(1, 3, 5, 5, 6), *ok), False),
        ((q, _q(1, 3, 4, 5, 7), *ok), False),
        ((q, k, 0, 0.05, 12.0, 1), False),
        ((q, k, 3, 0.0, 12.0, 1), False),
        ((q, k, 3, -1.0, 12.0, 1), False),
        ((q, k, 3, INF, 12.0, 1), False),
        ((q, k, 3, NAN, 12.0, 1), False),
        ((q, k, 3, 1e-39, 12.0, 1), False),  # 1 / temperature overflows float32
        ((q.double(), k.double(), 3, 1e-309, 12.0, 1), False),  # ... and float64
        ((q, k, 3, 0.05, NAN, 1), False),
        ((q, k, 3, 0.05, 12.0, -1), False),
        ((torch.empty(2**20, 0, 2**21, 2**21), torch.empty(2**20, 1, 0, 2**21, 2**21), *ok), False),  # B*K*H*W > 2^63
        (
            (torch.empty(1, 0, 2**31, 2**31), torch.empty_strided((1, 4, 0, 2**31, 2**31), (0,) * 5), *ok),
            False,
        ),  # T*H*W
        ((_with(q, (0, 1, 2, 3), NAN), k, *ok), True),
        ((q, _with(k, (0, 2, 1, 0, 0), -INF), *ok), True),
    ]
    prop = [
        ((q, k, _q(3, 2, 5, 6), *ok), False),
        ((q, k, lab.double(), *ok), False),
        ((q, k, _q(1, 2, 2, 5, 6), *ok), False),
        ((q, k, _q(1, 3, 2, 6, 5), *ok), False),
        ((q, k, _with(lab, (0, 1, 1, 2, 2), INF), *ok), True),
        ((_with(q, (0, 0, 0, 0), NAN), k, _with(lab, (0, 1, 1, 2, 2), INF), *ok), True),  # labels are checked first
    ]
    return [("topk_affinity", a, v) for a, v in aff] + [("topk_propagate", a, v) for a, v in prop]


def _rsm_cases():
    tp, dp = _q(5, 4), _q(3, 4)
    ts, ds = torch.tensor([2, 3]), torch.tensor([3])
    return [
        ("rsm", (_q(5), ts, dp, ds, 0.01), False),
        ("rsm", (tp.long(), ts, dp, ds, 0.01), False),
        ("rsm", (tp, ts, _q(3, 4, 1), ds, 0.01), False),
        ("rsm", (tp, ts, dp.double(), ds, 0.01), False),
        ("rsm", (tp, ts, _q(3, 2), ds, 0.01), False),
        ("rsm", (tp, ts, dp, ds, 0.0), False),
        ("rsm", (tp, ts, dp, ds, 2e-39), False),
        ("rsm", (tp.double(), ts, dp.double(), ds, 5e-309), False),
        ("rsm", (tp, ts.int(), dp, ds, 0.01), False),
        ("rsm", (tp, ts.float(), dp, ds, 0.01), False),
        ("rsm", (tp, torch.tensor([[2, 3]]), dp, ds, 0.01), False),
        ("rsm", (tp, torch.tensor([2, -3]), dp, ds, 0.01), False),
        ("rsm", (tp, torch.tensor([2, 2]), dp, ds, 0.01), False),
        ("rsm", (tp, torch.tensor([4, 3]), dp, ds, 0.01), False),
        ("rsm", (tp, torch.tensor([2**63 - 1, 2**63 - 1, 7]), dp, ds, 0.01), False),  # the int64 sum wraps to 5
        ("rsm", (tp, ts, dp, torch.tensor([2**62] * 4 + [3]), 0.01), False),
        ("rsm", (_with(tp, (3, 1), NAN), ts, dp, ds, 0.01), True),
        ("rsm", (tp, ts, _with(dp, (2, 0), INF), ds, 0.01), True),
    ]


def _xcorr_cases():
    s, t = _q(2, 3, 10, 12), _q(3, 4, 5)
    return [
        ("xcorr", (_q(3, 10, 12), t), False),
        ("xcorr", (s.int(), t), False),
        ("xcorr", (s, _q(4, 5)), False),
        ("xcorr", (s, t.double()), False),
        ("xcorr", (s, _q(3, 3, 4, 5)), False),
        ("xcorr", (s, _q(4, 4, 5)), False),
        ("xcorr", (s, _q(3, 0, 5)), False),
        ("xcorr", (s, _q(3, 11, 5)), False),
        ("xcorr", (s, _q(3, 4, 13)), False),
        ("xcorr", (_with(s, (1, 2, 9, 11), NAN), t), True),
        ("xcorr", (s, _with(t, (0, 0, 0), -INF)), True),
    ]


CASES = _topk_cases() + _rsm_cases() + _xcorr_cases()
IDS = [f"{op}-{i}" for i, (op, _, _) in enumerate(CASES)]


def _message(fn, *args):
    try:
        fn(*args)
    except RuntimeError as err:
        return str(err)
    return None


@needs_ext
@pytest.mark.parametrize("op,args,_values", CASES, ids=IDS)
def test_compiled_and_python_checks_give_the_same_message(op, args, _values):
    compiled = _message(getattr(torch.ops.unitrack, op), *args)
    python = _message(_registry.REFERENCE_KERNELS[op], *args)
    assert compiled is not None, "the compiled kernel accepted a bad call"
    assert python == compiled


@needs_ext
@pytest.mark.parametrize("op,args,values", CASES, ids=IDS)
def test_fake_kernels_check_shapes_with_the_same_message(op, args, values):
    # Under FakeTensorMode (torch.compile, opcheck) the fake kernel runs: the same shape checks, no value checks.
    compiled = _message(getattr(torch.ops.unitrack, op), *args)
    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        fake = [mode.from_tensor(a) if isinstance(a, torch.Tensor) else a for a in args]
        traced = _message(getattr(torch.ops.unitrack, op), *fake)
    if values or "sizes" in (compiled or "") and ("sums to" in compiled or "negative" in compiled):
        assert traced is None  # values are the running kernel's business
    elif compiled is None:
        assert traced is None
    else:
        assert traced == compiled


def test_without_the_extension_the_wrappers_raise_the_same_messages(tmp_path):
    # UNITRACK_FORCE_REFERENCE=1: no _C; the wrappers call the validated references directly.
    script = r"""
import json, warnings, torch
warnings.simplefilter("ignore")
import unitrack_ext
from unitrack_ext import ops
assert not unitrack_ext.HAS_EXT
def msg(f):
    try:
        f()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
q, k, lab = torch.rand(4, 5, 6), torch.rand(3, 4, 5, 6), torch.rand(3, 2, 5, 6)
bad = k.clone(); bad[0, 0, 0, 0] = float("nan")
print(json.dumps([
    msg(lambda: ops.topk_propagate(q, torch.rand(3, 5, 5, 6), lab)),
    msg(lambda: ops.topk_propagate(q, bad, lab)),
    msg(lambda: ops.topk_affinity(q, k, temperature=1e-39)),
    msg(lambda: ops.rsm((torch.rand(5, 4), torch.tensor([2**63 - 1, 2**63 - 1, 7])), [torch.rand(3, 4)])),
    msg(lambda: ops.rsm([torch.rand(2, 4), torch.full((3, 4), float("inf"))], [torch.rand(3, 4)])),
    msg(lambda: ops.xcorr(torch.rand(2, 3, 10, 12), torch.rand(3, 11, 5))),
    msg(lambda: ops.xcorr(torch.full((2, 3, 10, 12), float("nan")), torch.rand(3, 4, 5))),
]))
"""
    env = dict(os.environ, UNITRACK_FORCE_REFERENCE="1")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got == [
        "RuntimeError: keys has 5 channels but query has 4",
        "RuntimeError: keys contains NaN or inf values",
        "RuntimeError: temperature must be >= 2.93874e-39 for float32 inputs (1 / temperature must be finite), "
        "got 1e-39",
        "RuntimeError: track_sizes sums to more than the 5 rows of track_points (track_sizes[0] = 9223372036854775807"
        " with 0 rows already assigned): the sizes must sum to the number of points",
        "RuntimeError: track_feats[1] contains NaN or inf values",
        "RuntimeError: templ (11x5) must not be larger than search (10x12)",
        "RuntimeError: search contains NaN or inf values",
    ]


# ---- issue #12 point 9: Python-side messages ------------------------------------------------------------------------
def _topk_inputs():
    return torch.rand(4, 5, 6), torch.rand(3, 4, 5, 6), torch.rand(3, 2, 5, 6)


@pytest.mark.parametrize("name", ["topk", "n_global"])
def test_ints_outside_int64_name_the_argument(name):
    q, k, lab = _topk_inputs()
    for value in (2**64, 2**63, -(2**63) - 1):
        with pytest.raises(ValueError, match=f"^{name} must fit in a 64-bit integer, got {value}$"):
            ops.topk_propagate(q, k, lab, **{name: value})
        with pytest.raises(ValueError, match=f"^{name} must fit in a 64-bit integer"):
            ops.topk_affinity(q, k, **{name: value})
    ops.topk_affinity(q, k, **{name: 2**63 - 1 if name == "topk" else 1})  # the largest int64 is fine


@pytest.mark.parametrize(
    "sizes,exc,match",
    [
        (torch.tensor([3.0, 4.0]), TypeError, r"must be integers \(one size per object\), got torch.float32"),
        (np.array([3.0, 4.0]), TypeError, r"must be integers \(one size per object\), got numpy float64"),
        (torch.tensor([[3, 4]]), ValueError, r"must be 1-D \[N\] \(one size per object\), got shape \(1, 2\)"),
        (np.array([[3], [4]]), ValueError, r"must be 1-D \[N\] \(one size per object\), got shape \(2, 1\)"),
        ([3, 4], TypeError, r"must be a 1-D integer torch.Tensor or numpy array \[N\], got a Python list: pass "),
        ((3, 4), TypeError, r"must be a 1-D integer torch.Tensor or numpy array \[N\], got a Python tuple: pass "),
        (torch.tensor([True, True]), TypeError, r"must be integers \(one size per object\), got torch.bool"),
        (np.array([True, False]), TypeError, r"must be integers \(one size per object\), got numpy bool"),
    ],
)
@pytest.mark.parametrize("side", ["track_feats", "det_feats"])
def test_packed_sizes_of_the_wrong_kind_name_the_argument(sizes, exc, match, side):
    packed = (torch.rand(7, 8), sizes)
    other = [torch.rand(2, 8)]
    args = (packed, other) if side == "track_feats" else (other, packed)
    with pytest.raises(exc, match=rf"^{side} sizes \(the second item of the packed pair \(points, sizes\)\) {match}"):
        ops.rsm(*args)


def test_packed_sizes_of_any_integer_type_are_accepted():
    points, sets = torch.rand(7, 8), [torch.rand(3, 8), torch.rand(4, 8)]
    want = ops.rsm(sets, [points[:2]])
    for sizes in (torch.tensor([3, 4]), torch.tensor([3, 4], dtype=torch.int32), np.array([3, 4], dtype=np.uint8)):
        packed = (torch.cat(sets), sizes)
        torch.testing.assert_close(ops.rsm(packed, [points[:2]]), want)


def test_a_tuple_of_two_sets_is_still_the_list_form():
    a, b = torch.rand(3, 8), torch.rand(4, 8)
    d = [torch.rand(2, 8)]
    torch.testing.assert_close(ops.rsm((a, b), d), ops.rsm([a, b], d))


def test_temperature_of_any_real_type_is_accepted_by_every_op():
    q, k, lab = _topk_inputs()
    t, d = [torch.rand(3, 8)], [torch.rand(2, 8)]
    for temp in (np.float32(0.01), np.float64(0.01), np.float16(0.01), 1, np.int64(1)):
        want = float(temp)
        torch.testing.assert_close(ops.rsm(t, d, temperature=temp), ops.rsm(t, d, temperature=want))
        torch.testing.assert_close(
            ops.topk_propagate(q, k, lab, temperature=temp), ops.topk_propagate(q, k, lab, temperature=want)
        )
        torch.testing.assert_close(
            ops.topk_affinity(q, k, temperature=temp)[0], ops.topk_affinity(q, k, temperature=want)[0]
        )
    for bad in (True, np.bool_(True), "0.01", None, torch.tensor(0.01), 1 + 0j):
        with pytest.raises(TypeError, match="^temperature must be a float, got "):
            ops.rsm(t, d, temperature=bad)
        with pytest.raises(TypeError, match="^temperature must be a float, got "):
            ops.topk_propagate(q, k, lab, temperature=bad)


@needs_ext
def test_meta_tensors_give_shapes_for_every_op():
    meta = torch.device("meta")
    q, k, lab = (x.to(meta) for x in _topk_inputs())
    assert ops.topk_propagate(q, k, lab, topk=4).shape == (2, 5, 6)
    w, i = ops.topk_affinity(q, k, topk=4)
    assert w.shape == i.shape == (4, 30) and w.device == meta and i.dtype == torch.int64
    sets = [torch.rand(3, 8, device=meta), torch.rand(4, 8, device=meta)]
    assert ops.rsm(sets, [torch.rand(2, 8, device=meta)]).shape == (2, 1)
    packed = (torch.rand(7, 8, device=meta), torch.tensor([3, 4], device=meta))
    assert ops.rsm(packed, (torch.rand(2, 8, device=meta), torch.tensor([2]))).shape == (2, 1)
    assert ops.xcorr(torch.rand(3, 4, 12, 12, device=meta), torch.rand(4, 5, 5, device=meta)).shape == (3, 8, 8)
    with pytest.raises(RuntimeError, match="keys has 5 channels but query has 4"):
        ops.topk_propagate(q, torch.rand(3, 5, 5, 6, device=meta), lab)
