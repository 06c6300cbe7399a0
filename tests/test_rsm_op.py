"""unitrack_ext.ops.rsm against its literal reconstruction reference, plus the padded original, opcheck, compile,
errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import unitrack_ext
from unitrack_ext import ops, reference

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _sets(sizes, C, *, device="cpu", dtype=torch.float32, signed=False, gen=None):
    out = []
    for P in sizes:
        x = torch.randn(P, C, generator=gen, dtype=dtype)
        out.append((x if signed else x.relu()).to(device))
    return out


def _close(out, ref, dtype):
    tol = TOL[dtype]
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)


def _original_padded(track_feats, det_feats, tmp=100.0):
    """A line-by-line port of the original ``reconsdot_distance`` on already zero-padded sets (no masking).

    Inputs are lists of equally sized ``[P, C]`` sets; the original stacks them as ``[n, C, P]``.
    """
    t = torch.stack([f.T for f in track_feats])  # [N, C, P]
    d = torch.stack([f.T for f in det_feats])  # [M, C, Q]
    n, c, p = t.shape
    m, _, q = d.shape
    t = torch.nn.functional.normalize(t, dim=1)
    d = torch.nn.functional.normalize(d, dim=1)
    tf = t.permute(0, 2, 1).reshape(n * p, c)
    df = d.permute(0, 2, 1).reshape(m * q, c)
    aff = tf @ df.T
    w_td = torch.softmax(tmp * aff, dim=1)  # [(n p), (m q)]
    w_dt = torch.softmax(tmp * aff, dim=0).T  # [(m q), (n p)]
    rec_td = torch.einsum("ipjq,jqc->ijpc", w_td.reshape(n, p, m, q), d.permute(0, 2, 1))
    rec_dt = torch.einsum("jqip,ipc->ijqc", w_dt.reshape(m, q, n, p), t.permute(0, 2, 1))
    rec_td = torch.nn.functional.normalize(rec_td.reshape(n, m, p * c), dim=-1)
    rec_dt = torch.nn.functional.normalize(rec_dt.reshape(n, m, q * c), dim=-1)
    tn = torch.nn.functional.normalize(t.permute(0, 2, 1).reshape(n, 1, p * c), dim=-1)
    dn = torch.nn.functional.normalize(d.permute(0, 2, 1).reshape(1, m, q * c), dim=-1)
    return ((rec_td * tn).sum(-1) + (rec_dt * dn).sum(-1)) / 2


CASES = [
    # track sizes, det sizes, C
    ([40, 40, 40], [40, 40], 32),
    ([1, 5, 3, 9], [2, 7, 1], 16),  # ragged, P = 1
    ([3, 4], [5, 2, 6], 1),  # C = 1
    ([12, 30, 7, 1, 19], [25, 3, 11, 40], 64),  # Q > C path for some objects
    ([50, 2], [3, 60], 8),  # P, Q > C (the reconstruction route of the quadratic forms)
]


@pytest.mark.parametrize("case", CASES)
def test_matches_reference(case, device, dtype):
    tsz, dsz, C = case
    t = _sets(tsz, C, device=device, dtype=dtype)
    d = _sets(dsz, C, device=device, dtype=dtype)
    out = ops.rsm(t, d)
    assert out.shape == (len(tsz), len(dsz)) and out.dtype == dtype and out.device.type == device.type
    _close(out, reference.rsm(t, d), dtype)


@pytest.mark.parametrize("signed", [False, True])
def test_matches_reference_mid_size_tiles(signed, device, dtype):
    # Sizes that cut across the CPU kernel's register tiles: 6-row and 2-row blocks, 16- and 8-column chunks, and the
    # block-triangular Gram storage (P, Q in 1..64, not multiples of 8); signed features take the double-precision
    # Gram route for float32.
    gen = torch.Generator().manual_seed(11)
    t = _sets([7, 13, 23, 41, 64, 2, 1], 64, device=device, dtype=dtype, signed=signed, gen=gen)
    d = _sets([9, 17, 33, 48, 1, 6], 64, device=device, dtype=dtype, signed=signed, gen=gen)
    out = ops.rsm(t, d, temperature=0.05)
    _close(out, reference.rsm(t, d, temperature=0.05), dtype)
    _close(ops.rsm(d, t, temperature=0.05), out.T, dtype)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    tsz=st.lists(st.integers(0, 6), min_size=0, max_size=5),
    dsz=st.lists(st.integers(0, 6), min_size=0, max_size=5),
    C=st.sampled_from([1, 2, 5, 16]),
    f64=st.booleans(),
    signed=st.booleans(),
    temperature=st.sampled_from([0.01, 0.05, 1.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_random_ragged(tsz, dsz, C, f64, signed, temperature, seed):
    dtype = torch.float64 if f64 else torch.float32
    gen = torch.Generator().manual_seed(seed)
    t = _sets(tsz, C, dtype=dtype, signed=signed, gen=gen)
    d = _sets(dsz, C, dtype=dtype, signed=signed, gen=gen)
    out = ops.rsm(t, d, temperature=temperature)
    assert out.shape == (len(tsz), len(dsz))
    if not t and not d:  # nothing to take a dtype from: an empty float32 [0, 0]
        return
    ref = reference.rsm(t, d, temperature=temperature) if t and d else torch.zeros(len(tsz), len(dsz), dtype=dtype)
    _close(out, ref, dtype)
    # Swapping the roles of tracks and detections swaps s_td and s_dt: the metric is symmetric.
    _close(ops.rsm(d, t, temperature=temperature), out.T, dtype)


def test_packed_tuple_and_numpy_equal_list(device, dtype):
    t = _sets([3, 8, 1], 12, device=device, dtype=dtype)
    d = _sets([4, 2], 12, device=device, dtype=dtype)
    out = ops.rsm(t, d)
    packed = ops.rsm((torch.cat(t), torch.tensor([3, 8, 1])), (torch.cat(d), np.array([4, 2], dtype=np.int32)))
    torch.testing.assert_close(packed, out, rtol=0, atol=0)
    if device.type == "cpu":
        as_np = ops.rsm([x.numpy() for x in t], [x.numpy() for x in d])
        torch.testing.assert_close(as_np, out, rtol=0, atol=0)
        assert as_np.dtype == dtype


def test_non_contiguous(device):
    base_t = torch.randn(6, 20, 3, device=device).relu()
    base_d = torch.randn(20, 9, device=device).relu()
    t = [base_t[:, :, 1], base_t[:4, :, 2]]  # strided rows
    d = [base_d.T[:5], base_d.T[5:]]  # transposed
    assert not t[0].is_contiguous() and not d[0].is_contiguous()
    _close(ops.rsm(t, d), reference.rsm([x.contiguous() for x in t], [x.contiguous() for x in d]), torch.float32)
    packed_pts = torch.randn(30, 2, 11, device=device).relu()[:, 1]  # non-contiguous packed points
    _close(
        ops.rsm((packed_pts, torch.tensor([10, 20])), (packed_pts[::2], torch.tensor([15]))),
        reference.rsm([packed_pts[:10], packed_pts[10:]], [packed_pts[::2]]),
        torch.float32,
    )


def test_zero_padded_inputs_give_original_padded_numbers(device, dtype):
    # The original tracker zero-pads mask feature sets to the largest P and does not mask the padding. Passing the
    # padded sets makes the zero rows ordinary points, so the op must reproduce the original numbers exactly.
    tsz, dsz, C = [5, 17, 9, 2], [11, 3, 17], 24
    t = _sets(tsz, C, device=device, dtype=dtype)
    d = _sets(dsz, C, device=device, dtype=dtype)
    pad = lambda sets: [torch.nn.functional.pad(x, (0, 0, 0, max(map(len, sets)) - len(x))) for x in sets]  # noqa
    out = ops.rsm(pad(t), pad(d))
    _close(out, _original_padded(pad(t), pad(d)), dtype)
    _close(out, reference.rsm(pad(t), pad(d)), dtype)
    # ... and padding is not neutral: the ragged result differs (the original's padding side effect, SPEC §6).
    assert (ops.rsm(t, d) - out).abs().max() > 1e-3


@pytest.mark.parametrize("delta", [0.15, 0.25, 0.27, 0.276, 0.28, 0.3, 0.4, 0.8])
def test_eps_clamp_closed_form(delta, device, dtype):
    # One track point t = e0 and two one-point detections: d0 = e0 (cos 1) and d1 at cos c = 1 - delta. Then
    # W_td[t, d1] = w = 1 / (1 + exp(100 delta)), ||r_td|| = w, <r_td, t> = w c, so s_td = w c / max(w, 1e-12);
    # the column softmax has one track point, so s_dt = c. Deltas around 0.276 put ||r_td|| across the 1e-12 clamp.
    c = 1.0 - delta
    t = [torch.tensor([[1.0, 0.0]], dtype=dtype, device=device)]
    d = [
        torch.tensor([[1.0, 0.0]], dtype=dtype, device=device),
        torch.tensor([[c, math.sqrt(1 - c * c)]], dtype=dtype, device=device),
    ]
    out = ops.rsm(t, d)
    w = 1.0 / (1.0 + math.exp(100.0 * (1.0 - c)))
    expected = 0.5 * (w * c / max(w, 1e-12) + c)
    # float32: the logit 100 * cos carries ~1e-5 relative error into w, which shows where w < 1e-12
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    assert out[0, 1].item() == pytest.approx(expected, rel=tol, abs=tol)
    assert out[0, 0].item() == pytest.approx(1.0, abs=TOL[dtype])
    _close(out, reference.rsm(t, d), dtype)


def test_quirk_exact_one_costs(device, dtype):
    # Two tracks matched by two detections in orthogonal directions: the cross pairs receive ~e^-100 of the softmax
    # mass, ||r|| < 1e-12 in both directions, and the cost 1 - rsm is exactly 1.0 (SPEC appendix b, quirk).
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(10, 8, generator=gen, dtype=dtype) * 0.1 + torch.tensor([1.0] + [0.0] * 7, dtype=dtype)
    b = torch.rand(12, 8, generator=gen, dtype=dtype) * 0.1 + torch.tensor([0.0] * 7 + [1.0], dtype=dtype)
    t = [a[:5].to(device), b[:6].to(device)]
    d = [b[6:].to(device), a[5:].to(device)]
    out = ops.rsm(t, d)
    ref = reference.rsm(t, d)
    _close(out, ref, dtype)
    if dtype == torch.float32:
        cost = 1 - out
        assert cost[0, 0].item() == 1.0 and cost[1, 1].item() == 1.0
        assert ((1 - ref)[0, 0].item(), (1 - ref)[1, 1].item()) == (1.0, 1.0)
    assert out[0, 0].abs().item() < 1e-12 and out[1, 1].abs().item() < 1e-12
    assert out[0, 1].item() > 0.9 and out[1, 0].item() > 0.9


def test_empty_sets(device, dtype):
    t = _sets([3, 4], 8, device=device, dtype=dtype)
    for a, b, shape in (([], t, (0, 2)), (t, [], (2, 0)), ([], [], (0, 0))):
        out = ops.rsm(a, b)
        assert out.shape == shape
        if a or b:
            assert out.dtype == dtype and out.device.type == device.type
    packed = ops.rsm((torch.zeros(0, 8, dtype=dtype, device=device), torch.zeros(0, dtype=torch.int64)), t)
    assert packed.shape == (0, 2)


def test_objects_with_zero_points(device, dtype):
    # Documented: an object with no points has similarity 0 (cost 1) to everything and leaves all other entries as
    # if it were absent (it has no point in either softmax).
    C = 6
    t = _sets([3, 0, 5], C, device=device, dtype=dtype)
    d = _sets([0, 4, 2], C, device=device, dtype=dtype)
    out = ops.rsm(t, d)
    assert torch.all(out[1] == 0) and torch.all(out[:, 0] == 0)
    _close(out[[0, 2]][:, [1, 2]], ops.rsm([t[0], t[2]], [d[1], d[2]]), dtype)
    _close(out, reference.rsm(t, d), dtype)
    all_empty = ops.rsm(_sets([0, 0], C, device=device, dtype=dtype), d)
    assert all_empty.shape == (2, 3) and torch.all(all_empty == 0)


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_opcheck(device):
    tp = torch.randn(9, 5, device=device).relu()
    dp = torch.randn(7, 5, device=device).relu()
    args = (tp, torch.tensor([2, 3, 4]), dp, torch.tensor([1, 6]), 0.01)
    torch.library.opcheck(torch.ops.unitrack.rsm.default, args)


def test_compile_fullgraph(device):
    t = _sets([3, 5], 8, device=device)
    d = _sets([4, 1, 2], 8, device=device)
    fn = torch.compile(ops.rsm, fullgraph=True, backend="eager")
    _close(fn(t, d), reference.rsm(t, d), torch.float32)


def test_bad_input():
    # The wrapper checks what packing needs (types, the list's sets, the packed sizes' type and rank: TypeError /
    # ValueError); the op checks the rest (RuntimeError, the same message on every path).
    t = _sets([3, 4], 8)
    d = _sets([2], 8)
    with pytest.raises(RuntimeError, match=r"det_points has 5 channels but track_points has 8: feature sets must"):
        ops.rsm(t, _sets([2], 5))
    with pytest.raises(ValueError, match=r"det_feats\[1\] has C=3 channels"):
        ops.rsm(t, [d[0], torch.rand(2, 3)])
    bad = [t[0], t[1].clone()]
    bad[1][2, 1] = float("nan")
    with pytest.raises(RuntimeError, match=r"^track_feats\[1\] contains NaN or inf values$"):
        ops.rsm(bad, d)
    with pytest.raises(RuntimeError, match=r"^det_feats points \(row 1, object 0\) contains NaN or inf values$"):
        ops.rsm(t, (torch.tensor([[1.0, 2.0], [float("inf"), 0.0]]).repeat(1, 4), torch.tensor([2])))
    with pytest.raises(RuntimeError, match=r"track_sizes\[1\] = -1 is negative"):
        ops.rsm((torch.rand(3, 8), torch.tensor([4, -1])), d)
    with pytest.raises(RuntimeError, match=r"det_sizes sums to more than the 2 rows of det_points"):
        ops.rsm(t, (torch.rand(2, 8), torch.tensor([1, 2])))
    with pytest.raises(RuntimeError, match=r"det_sizes sums to 1 but det_points has 2 points"):
        ops.rsm(t, (torch.rand(2, 8), torch.tensor([1])))
    with pytest.raises(TypeError, match=r"track_feats\[0\] must be float32, float64 or bfloat16"):
        ops.rsm([torch.ones(2, 8, dtype=torch.int32)], d)
    with pytest.raises(TypeError, match=r"track_feats\[0\] must be float32 or float64, got numpy int64"):
        ops.rsm([np.ones((2, 8), dtype=np.int64)], d)
    with pytest.raises(RuntimeError, match=r"track_points and det_points must have the same dtype, got float32 and"):
        ops.rsm(t, [x.double() for x in d])
    with pytest.raises(ValueError, match=r"track_feats\[1\] must be 2-D \[P, C\]"):
        ops.rsm([t[0], torch.rand(8)], d)
    with pytest.raises(TypeError, match=r"track_feats must be a list of N arrays"):
        ops.rsm(torch.rand(2, 3, 8), d)
    with pytest.raises(RuntimeError, match=r"temperature must be a finite number > 0"):
        ops.rsm(t, d, temperature=0.0)
    with pytest.raises(TypeError, match=r"temperature must be a float"):
        ops.rsm(t, d, temperature="0.01")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bad_input_mixed_devices():
    with pytest.raises(RuntimeError, match=r"track_points must be a CUDA tensor, got one on cpu"):
        ops.rsm(_sets([2], 4), _sets([3], 4, device="cuda"))
    with pytest.raises(ValueError, match=r"track_feats\[1\] is on"):
        ops.rsm([torch.rand(2, 4), torch.rand(2, 4, device="cuda")], _sets([3], 4))


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_kernel_level_checks_name_the_argument():
    # Users may call torch.ops.unitrack.rsm directly: the compiled kernel validates too.
    op = torch.ops.unitrack.rsm
    tp, dp = torch.rand(5, 4), torch.rand(3, 4)
    with pytest.raises(RuntimeError, match="track_sizes sums to 4 but track_points has 5"):
        op(tp, torch.tensor([1, 3]), dp, torch.tensor([3]), 0.01)
    with pytest.raises(RuntimeError, match=r"det_sizes\[1\] = -2 is negative"):
        op(tp, torch.tensor([5]), dp, torch.tensor([5, -2]), 0.01)
    with pytest.raises(RuntimeError, match="det_sizes must be an int64 tensor"):
        op(tp, torch.tensor([5]), dp, torch.tensor([3], dtype=torch.int32), 0.01)
    with pytest.raises(RuntimeError, match="det_points has 2 channels but track_points has 4"):
        op(tp, torch.tensor([5]), torch.rand(3, 2), torch.tensor([3]), 0.01)
    with pytest.raises(RuntimeError, match="track_points contains NaN or inf"):
        op(torch.full((5, 4), float("nan")), torch.tensor([5]), dp, torch.tensor([3]), 0.01)
    with pytest.raises(RuntimeError, match="temperature must be a finite number > 0"):
        op(tp, torch.tensor([5]), dp, torch.tensor([3]), -1.0)
