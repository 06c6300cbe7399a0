"""Gradients of the fused ops (issue #16) and no silently missing gradient (issue #12 point 5).

Every op's backward is checked three ways: ``torch.autograd.gradcheck`` in float64 on small shapes (finite
differences), equality with the pure-PyTorch reference's autograd (float64 to 1e-6 of the gradient's scale, float32
to float32 precision), and ``torch.library.opcheck`` with ``requires_grad`` inputs (schema, fake kernels, autograd
registration, AOTAutograd).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import unitrack_ext
from unitrack_ext import _autograd, ops, reference
from unitrack_ext.reference import topk_backward as ref_topk_bwd
from unitrack_ext.reference.rsm import rsm_packed
from unitrack_ext.reference.rsm_backward import rsm_backward as ref_rsm_backward

pytestmark = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
U = torch.ops.unitrack
F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    # The shapes here are tiny and gradcheck calls the ops thousands of times: on a shared 2-core machine the
    # thread pool's hand-offs cost more than the work (the thread-count test below sets its own counts).
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


def _grads(out, inputs, grad_out):
    return torch.autograd.grad(out, inputs, grad_out, allow_unused=True, materialize_grads=True)


def _assert_close_to_scale(got, want, rel):
    for g, w in zip(got, want):
        scale = max(float(w.abs().max()) if w.numel() else 0.0, 1e-30)
        err = float((g - w).abs().max()) if w.numel() else 0.0
        assert err <= rel * scale, f"max error {err} vs gradient scale {scale}"


def _leaf(x, dtype=F64):
    return x.to(dtype).detach().clone().requires_grad_(True)


# ---------------------------------------------------------------------------------------------------------------------
# topk_propagate / topk_affinity

TOPK_CASES = [  # (B, C, T, H, W, L, topk, temperature, radius, n_global)
    (1, 4, 3, 5, 6, 2, 4, 0.3, 2.0, 1),  # radius-restricted frames after one global frame
    (2, 3, 2, 4, 5, 2, 5, 0.5, 0.0, 0),  # unrestricted, batched
    (1, 3, 2, 4, 5, 2, 9, 0.4, 1.0, 0),  # windows of <= 5 cells per frame: fill-in slots (weight 0) for topk = 9
    (1, 3, 3, 3, 4, 2, 200, 0.7, 1.5, 1),  # topk above T*H*W
]


def _topk_inputs(case, dtype=F64, seed=0):
    B, C, T, H, W, L, *_ = case
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, C, H, W, generator=g, dtype=dtype)
    k = torch.randn(B, T, C, H, W, generator=g, dtype=dtype)
    lab = torch.rand(B, T, L, H, W, generator=g, dtype=dtype)
    return _leaf(q, dtype), _leaf(k, dtype), _leaf(lab, dtype)


def _kw(case):
    topk, temperature, radius, n_global = case[6:]
    return dict(topk=topk, temperature=temperature, radius=radius, n_global=n_global)


@pytest.mark.parametrize("case", TOPK_CASES)
def test_topk_propagate_gradcheck(case):
    q, k, lab = _topk_inputs(case)
    kw = _kw(case)
    assert torch.autograd.gradcheck(lambda a, b, c: ops.topk_propagate(a, b, c, **kw), (q, k, lab))
    raw = (kw["topk"], kw["temperature"], kw["radius"], kw["n_global"])
    assert torch.autograd.gradcheck(lambda a, b, c: U.topk_propagate(a, b, c, *raw), (q, k, lab))


@pytest.mark.parametrize("case", TOPK_CASES[:3])
def test_topk_affinity_gradcheck(case):
    q, k, _ = _topk_inputs(case)
    kw = _kw(case)
    assert torch.autograd.gradcheck(lambda a, b: ops.topk_affinity(a, b, **kw)[0], (q, k))


@pytest.mark.parametrize("case", TOPK_CASES[:2])
def test_topk_double_backward(case):
    q, k, lab = _topk_inputs(case)
    kw = _kw(case)
    raw = (kw["topk"], kw["temperature"], kw["radius"], kw["n_global"])
    # fast mode (random projections): the full Jacobian of the Jacobian takes minutes on 2 cores
    assert torch.autograd.gradgradcheck(lambda a, b, c: ops.topk_propagate(a, b, c, **kw), (q, k, lab), fast_mode=True)
    assert torch.autograd.gradgradcheck(lambda a, b, c: U.topk_propagate(a, b, c, *raw), (q, k, lab), fast_mode=True)


@pytest.mark.parametrize("dtype", [F64, torch.float32])
@pytest.mark.parametrize("case", TOPK_CASES)
def test_topk_gradients_equal_reference_autograd(case, dtype):
    q, k, lab = _topk_inputs(case, dtype, seed=1)
    kw = _kw(case)
    g = torch.randn(q.shape[0], lab.shape[2], *q.shape[2:], dtype=dtype)
    want = _grads(reference.topk_propagate(q, k, lab, **kw), (q, k, lab), g)
    rel = 1e-6 if dtype == F64 else 1e-4
    _assert_close_to_scale(_grads(ops.topk_propagate(q, k, lab, **kw), (q, k, lab), g), want, rel)
    raw = U.topk_propagate(q, k, lab, kw["topk"], kw["temperature"], kw["radius"], kw["n_global"])
    _assert_close_to_scale(_grads(raw, (q, k, lab), g), want, rel)
    w, _ = ops.topk_affinity(q, k, **kw)
    gw = torch.randn_like(w)
    _assert_close_to_scale(_grads(w, (q, k), gw), _grads(reference.topk_affinity(q, k, **kw)[0], (q, k), gw), rel)


def test_topk_unbatched_and_ties():
    # Frame 1 duplicates frame 0: every candidate comes with an exact tie. With an even topk the tied pairs are
    # selected together (smooth: gradcheck applies); with an odd one the K-th tie is broken by the lower index, and
    # the gradient flows to the selected copy only -- as the reference's torch.topk-based autograd does.
    torch.manual_seed(3)
    q = torch.randn(4, 5, 6, dtype=F64)
    k0 = torch.randn(1, 4, 5, 6, dtype=F64)
    k = torch.cat([k0, k0], 0)
    lab = torch.rand(2, 3, 5, 6, dtype=F64)
    q, k, lab = _leaf(q), _leaf(k), _leaf(lab)
    kw = dict(topk=4, temperature=0.2, radius=0.0, n_global=0)
    assert torch.autograd.gradcheck(lambda a, b, c: ops.topk_propagate(a, b, c, **kw), (q, k, lab))
    kw["topk"] = 3
    g = torch.randn(3, 5, 6, dtype=F64)
    want = _grads(reference.topk_propagate(q, k, lab, **kw), (q, k, lab), g)
    _assert_close_to_scale(_grads(ops.topk_propagate(q, k, lab, **kw), (q, k, lab), g), want, 1e-6)
    gk = _grads(ops.topk_propagate(q, k, lab, **kw), (k,), g)[0]
    assert float(gk[0].abs().sum()) > 0 and float(gk[1].abs().sum()) > 0


def test_topk_saves_only_the_selection():
    # The autograd graph of ops.topk_propagate holds the inputs (no copies) and the [B, K, H*W] selection only.
    case = (1, 16, 4, 12, 14, 3, 6, 0.1, 3.0, 1)
    q, k, lab = _topk_inputs(case, torch.float32)
    inputs = {q.data_ptr(), k.data_ptr(), lab.data_ptr()}
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = ops.topk_propagate(q, k, lab, **_kw(case))
    saved = [t for t in saved if t.dim() > 0]  # (the wrapper's finiteness check records a few scalars)
    extra = {t.data_ptr(): t for t in saved if t.data_ptr() not in inputs}
    B, K, HW = 1, 6, 12 * 14
    assert sorted((tuple(t.shape), str(t.dtype)) for t in extra.values()) == [
        ((B, K, HW), "torch.float32"),
        ((B, K, HW), "torch.int64"),
    ]
    out.sum().backward()
    assert q.grad is not None and k.grad is not None and lab.grad is not None


class _OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


def test_topk_backward_respects_needs_input_grad():
    case = TOPK_CASES[0]
    q, k, lab = _topk_inputs(case)
    kw = _kw(case)
    out = ops.topk_propagate(q.detach(), k.detach(), lab, **kw)
    with _OpLog() as log:
        (gl,) = torch.autograd.grad(out, (lab,), torch.ones_like(out))
    assert gl is not None
    assert not any("_topk_gather_dot" in o or "_topk_gather.default" in o for o in log.ops), log.ops
    out = ops.topk_propagate(q, k.detach(), lab.detach(), **kw)
    with _OpLog() as log:
        torch.autograd.grad(out, (q,), torch.ones_like(out))
    assert any("_topk_gather_dot" in o for o in log.ops) and not any("_topk_scatter" in o for o in log.ops), log.ops


@pytest.mark.parametrize("seed", [0, 1])
def test_topk_primitives_match_references(seed):
    g = torch.Generator().manual_seed(seed)
    B, T, X, H, W, K = 2, 3, 3, 3, 4, 5
    idx = torch.randint(0, T * H * W, (B, K, H * W), generator=g)
    w = torch.randn(B, K, H * W, generator=g, dtype=F64)
    src = torch.randn(B, T, X, H, W, generator=g, dtype=F64)
    grad = torch.randn(B, X, H, W, generator=g, dtype=F64)
    torch.testing.assert_close(U._topk_gather(w, idx, src), ref_topk_bwd.topk_gather(w, idx, src))
    torch.testing.assert_close(U._topk_gather_dot(grad, idx, src), ref_topk_bwd.topk_gather_dot(grad, idx, src))
    torch.testing.assert_close(U._topk_scatter(w, idx, grad, T), ref_topk_bwd.topk_scatter(w, idx, grad, T))
    args = [_leaf(w), idx, _leaf(src)]
    assert torch.autograd.gradgradcheck(lambda a, c: U._topk_gather(a, idx, c), (args[0], args[2]), fast_mode=True)
    assert torch.autograd.gradgradcheck(
        lambda a, c: U._topk_gather_dot(a, idx, c), (_leaf(grad), args[2]), fast_mode=True
    )
    assert torch.autograd.gradgradcheck(
        lambda a, c: U._topk_scatter(a, idx, c, T), (args[0], _leaf(grad)), fast_mode=True
    )


def test_topk_primitives_reject_bad_input():
    w = torch.rand(1, 2, 6)
    idx = torch.zeros(1, 2, 6, dtype=torch.int64)
    src = torch.rand(1, 2, 3, 2, 3)
    with pytest.raises(RuntimeError, match=r"indices must be candidates .* \[0, 12\), got 12"):
        U._topk_gather(w, idx + 12, src)
    with pytest.raises(RuntimeError, match=r"got -1"):
        U._topk_scatter(w, idx - 1, torch.rand(1, 3, 2, 3), 2)
    with pytest.raises(RuntimeError, match="indices must be an int64 tensor"):
        U._topk_gather(w, idx.float(), src)
    with pytest.raises(RuntimeError, match=r"src frames are 2x2 but the selection has H\*W = 6"):
        U._topk_gather_dot(torch.rand(1, 3, 2, 3), idx, torch.rand(1, 2, 3, 2, 2))
    with pytest.raises(RuntimeError, match="src has 4 channels but grad has 3"):
        U._topk_gather_dot(torch.rand(1, 3, 2, 3), idx, torch.rand(1, 2, 4, 2, 3))
    with pytest.raises(RuntimeError, match="T \\(memory frames\\) must be >= 1"):
        U._topk_scatter(w, idx, torch.rand(1, 3, 2, 3), 0)


# ---------------------------------------------------------------------------------------------------------------------
# rsm


def _rsm_case(name, dtype=F64):
    g = torch.Generator().manual_seed(7)
    ts, ds = torch.tensor([3, 1, 4]), torch.tensor([2, 5])
    x = torch.randn(8, 6, generator=g, dtype=F64)
    y = torch.randn(7, 6, generator=g, dtype=F64)
    tau = 0.3
    if name == "ragged_with_empty":
        ts, ds = torch.tensor([3, 0, 5]), torch.tensor([0, 4, 3])
    elif name == "nonneg_small_tau":  # post-ReLU features at the tracker's temperature
        x, y, tau = x.abs(), y.abs(), 0.01
    elif name == "zero_points":  # a zero point is a point (t = 0): gradient gt / eps, as in the reference
        x[1] = 0
        y[3] = 0
    elif name == "all_zero_track":
        x[:3] = 0
    elif name == "vanishing":  # detection 1 gets ~1e-87 of track 0's softmax mass: ||r_td|| < 1e-12
        x = torch.tensor([[1.0, 0, 0], [1, 0.01, 0]], dtype=F64)
        y = torch.tensor([[1.0, 0, 0], [-1, 0, 0], [-1, 0.1, 0]], dtype=F64)
        ts, ds, tau = torch.tensor([2]), torch.tensor([1, 2]), 0.01
    return x.to(dtype), ts, y.to(dtype), ds, tau


RSM_CASES = ["plain", "ragged_with_empty", "nonneg_small_tau", "zero_points", "all_zero_track", "vanishing"]


@pytest.mark.parametrize("dtype", [F64, torch.float32])
@pytest.mark.parametrize("name", RSM_CASES)
def test_rsm_gradients_equal_reference_autograd(name, dtype):
    x, ts, y, ds, tau = _rsm_case(name, dtype)
    x, y = _leaf(x, dtype), _leaf(y, dtype)
    g = torch.randn(len(ts), len(ds), dtype=dtype, generator=torch.Generator().manual_seed(1))
    want = _grads(rsm_packed(x, ts, y, ds, temperature=tau), (x, y), g)
    rel = 1e-6 if dtype == F64 else 2e-4
    _assert_close_to_scale(_grads(ops.rsm((x, ts), (y, ds), temperature=tau), (x, y), g), want, rel)
    _assert_close_to_scale(
        ref_rsm_backward(g, x.detach(), ts, y.detach(), ds, tau), want, 1e-6 if dtype == F64 else 1e-4
    )
    if name == "vanishing":  # the branch is really taken: s_td of the pair (0, 1) is ~0 while s_dt is not
        assert abs(float(rsm_packed(x.detach(), ts, y.detach(), ds, temperature=tau)[0, 1])) < 0.6


@pytest.mark.parametrize("name", ["plain", "ragged_with_empty", "nonneg_small_tau"])
def test_rsm_gradcheck(name):
    x, ts, y, ds, tau = _rsm_case(name)
    if name == "nonneg_small_tau":
        tau = 0.05  # finite differences need a softmax that is not saturated
    x, y = _leaf(x), _leaf(y)
    assert torch.autograd.gradcheck(lambda a, b: ops.rsm((a, ts), (b, ds), temperature=tau), (x, y))


def test_rsm_list_form_and_larger_sets():
    g = torch.Generator().manual_seed(5)
    sizes_t, sizes_d = [5, 12, 1, 30, 7], [9, 2, 25, 4]
    tracks = [_leaf(torch.randn(p, 32, generator=g).relu()) for p in sizes_t]
    dets = [_leaf(torch.randn(q, 32, generator=g).relu()) for q in sizes_d]
    out = ops.rsm(tracks, dets, temperature=0.01)
    grad = torch.randn_like(out)
    got = _grads(out, tracks + dets, grad)
    want = _grads(reference.rsm(tracks, dets, temperature=0.01), tracks + dets, grad)
    _assert_close_to_scale(got, want, 1e-6)


def test_rsm_double_backward_is_a_clear_error():
    x, ts, y, ds, tau = _rsm_case("plain")
    x, y = _leaf(x), _leaf(y)
    (gx,) = torch.autograd.grad(ops.rsm((x, ts), (y, ds), temperature=tau).sum(), (x,), create_graph=True)
    with pytest.raises(RuntimeError, match="unitrack::rsm has no double backward"):
        gx.sum().backward()


def test_rsm_integer_sizes_take_no_gradient():
    x, ts, y, ds, tau = _rsm_case("plain")
    with pytest.raises(RuntimeError, match="floating point"):  # PyTorch's own refusal
        ts.clone().requires_grad_(True)
    with pytest.raises(RuntimeError, match="track_sizes must be an int64 tensor"):
        U.rsm(_leaf(x), ts.to(F64).requires_grad_(True), y, ds, tau)


# ---------------------------------------------------------------------------------------------------------------------
# xcorr

XCORR_CASES = [  # (S, C, H, W, h, w, per_scale)
    (3, 4, 11, 10, 4, 3, False),
    (2, 3, 9, 12, 5, 1, True),  # batched (per-scale) templates
    (1, 2, 6, 6, 6, 6, False),  # template = search: one output
]


@pytest.mark.parametrize("case", XCORR_CASES)
def test_xcorr_gradcheck_and_double_backward(case):
    S, C, H, W, h, w, per_scale = case
    g = torch.Generator().manual_seed(2)
    x = _leaf(torch.randn(S, C, H, W, generator=g, dtype=F64))
    t = _leaf(torch.randn(*((S,) if per_scale else ()), C, h, w, generator=g, dtype=F64))
    assert torch.autograd.gradcheck(ops.xcorr, (x, t))
    assert torch.autograd.gradgradcheck(ops.xcorr, (x, t))


@pytest.mark.parametrize("dtype", [F64, torch.float32])
@pytest.mark.parametrize("method", ["auto", "fft", "direct"])
@pytest.mark.parametrize("per_scale", [False, True])
def test_xcorr_gradients_equal_reference_autograd(per_scale, method, dtype, monkeypatch):
    monkeypatch.setenv("UNITRACK_XCORR_METHOD", method)
    g = torch.Generator().manual_seed(4)
    x = _leaf(torch.randn(3, 16, 31, 29, generator=g), dtype)
    t = _leaf(torch.randn(*((3,) if per_scale else ()), 16, 14, 9, generator=g), dtype)
    out = ops.xcorr(x, t)
    grad = torch.randn_like(out)
    _assert_close_to_scale(
        _grads(out, (x, t), grad), _grads(reference.xcorr(x, t), (x, t), grad), 1e-6 if dtype == F64 else 1e-5
    )


def test_xcorr_channels_last_search():
    x = torch.randn(2, 16, 20, 21).to(memory_format=torch.channels_last).requires_grad_(True)
    t = _leaf(torch.randn(16, 5, 4), torch.float32)
    out = ops.xcorr(x, t)
    grad = torch.randn_like(out)
    _assert_close_to_scale(_grads(out, (x, t), grad), _grads(reference.xcorr(x, t), (x, t), grad), 1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# Registration: opcheck, no silent None, the forward-only guard, determinism.


def _opcheck_cases():
    case = TOPK_CASES[0]
    q, k, lab = _topk_inputs(case)
    w, i = U.topk_affinity(q.detach(), k.detach(), 4, 0.3, 2.0, 1)
    grad = _leaf(torch.randn(1, 2, 5, 6, dtype=F64))
    x, ts, y, ds, tau = _rsm_case("ragged_with_empty")
    s = _leaf(torch.randn(2, 3, 8, 9, dtype=F64))
    g3 = _leaf(torch.randn(2, 6, 6, dtype=F64))
    return [
        (U.topk_propagate.default, (q, k, lab, 4, 0.3, 2.0, 1)),
        (U.topk_affinity.default, (q, k, 4, 0.3, 2.0, 1)),
        (U._topk_gather.default, (_leaf(w), i, lab)),
        (U._topk_gather_dot.default, (grad, i, lab)),
        (U._topk_scatter.default, (_leaf(w), i, grad, 3)),
        (U.rsm.default, (_leaf(x), ts, _leaf(y), ds, tau)),
        (U._rsm_backward.default, (torch.randn(3, 3, dtype=F64), x, ts, y, ds, tau)),  # no double backward
        (U.xcorr.default, (s, _leaf(torch.randn(3, 3, 4, dtype=F64)))),
        (U.xcorr.default, (s, _leaf(torch.randn(2, 3, 3, 4, dtype=F64)))),
        (U._xcorr_grad_search.default, (g3, _leaf(torch.randn(3, 3, 4, dtype=F64)))),
        (U._xcorr_grad_templ.default, (s, g3, True)),
    ]


@pytest.mark.parametrize("index", range(11))
def test_opcheck_with_requires_grad(index):
    op, args = _opcheck_cases()[index]
    torch.library.opcheck(op, args)


def test_every_op_has_a_backward_and_no_gradient_is_silently_none():
    assert _autograd.FORWARD_ONLY == []
    for qualname in torch._C._dispatch_get_all_op_names():
        if qualname.startswith("unitrack::"):
            op = getattr(U, qualname.split("::")[1]).default
            if any("Tensor" in str(a.type) for a in op._schema.arguments):
                assert torch._C._dispatch_has_kernel_for_dispatch_key(qualname, "Autograd"), qualname
    q, k, lab = _topk_inputs(TOPK_CASES[0], torch.float32)
    x, ts, y, ds, tau = _rsm_case("plain", torch.float32)
    x, y = _leaf(x, torch.float32), _leaf(y, torch.float32)
    s, t = _leaf(torch.randn(2, 3, 8, 8), torch.float32), _leaf(torch.randn(3, 3, 3), torch.float32)
    calls = [
        (lambda: ops.topk_propagate(q, k, lab, topk=3), (q, k, lab)),
        (lambda: U.topk_propagate(q, k, lab, 3, 0.05, 12.0, 1), (q, k, lab)),
        (lambda: ops.topk_affinity(q, k, topk=3)[0], (q, k)),
        (lambda: ops.rsm((x, ts), (y, ds)), (x, y)),
        (lambda: ops.xcorr(s, t), (s, t)),
    ]
    for fn, inputs in calls:
        for x_ in inputs:
            x_.grad = None
        out = fn()
        assert out.requires_grad
        (out * torch.randn_like(out)).sum().backward()
        for x_ in inputs:
            assert x_.grad is not None and bool(torch.isfinite(x_.grad).all()) and float(x_.grad.abs().sum()) > 0


def test_compiled_backward_matches_eager():
    # torch.compile (AOTAutograd traces the registered formulas and the backward ops' fake kernels).
    g = torch.Generator().manual_seed(0)
    q = _leaf(torch.randn(2, 8, 6, 7, generator=g), torch.float32)
    k = _leaf(torch.randn(2, 3, 8, 6, 7, generator=g), torch.float32)
    lab = _leaf(torch.rand(2, 3, 2, 6, 7, generator=g), torch.float32)
    x, t = _leaf(torch.randn(2, 3, 9, 9, generator=g), torch.float32), _leaf(torch.randn(3, 3, 3), torch.float32)
    tp, dp = _leaf(torch.randn(7, 5, generator=g), torch.float32), _leaf(torch.randn(6, 5, generator=g), torch.float32)
    ts, ds = torch.tensor([3, 4]), torch.tensor([2, 4])
    cases = [
        (lambda a, b, c: ops.topk_propagate(a, b, c, topk=4, temperature=0.1, radius=2.0, n_global=1), (q, k, lab)),
        (ops.xcorr, (x, t)),
        (lambda a, b: ops.rsm((a, ts), (b, ds)), (tp, dp)),
    ]
    for fn, inputs in cases:
        compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
        want = torch.autograd.grad(fn(*inputs).sum(), inputs)
        got = torch.autograd.grad(compiled(*inputs).sum(), inputs)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)


def test_indices_output_is_not_differentiable():
    q, k, _ = _topk_inputs(TOPK_CASES[0])
    w, i = ops.topk_affinity(q, k, topk=4)
    assert w.requires_grad and not i.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(i.double().sum(), (q,))


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_integer_and_bool_inputs_are_refused_beside_grad_inputs(dtype):
    # PyTorch refuses requires_grad on integer/bool tensors; an integer/bool input given beside a float input that
    # requires grad is refused by name (never silently treated as a constant without a gradient).
    with pytest.raises(RuntimeError, match="floating point"):
        torch.ones(2, 3, dtype=dtype).requires_grad_(True)
    q = torch.randn(1, 4, 5, 6, dtype=F64, requires_grad=True)
    k = torch.randn(1, 2, 4, 5, 6, dtype=F64, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"labels and query must have the same dtype, got {_dt(dtype)} and float64"):
        ops.topk_propagate(q, k, torch.ones(1, 2, 3, 5, 6, dtype=dtype), topk=3)
    with pytest.raises(RuntimeError, match=f"query and keys must have the same dtype, got float64 and {_dt(dtype)}"):
        ops.topk_affinity(q, k.detach().to(dtype), topk=3)
    with pytest.raises(RuntimeError, match=f"search and templ must have the same dtype, got float64 and {_dt(dtype)}"):
        ops.xcorr(torch.randn(1, 2, 6, 6, dtype=F64, requires_grad=True), torch.ones(2, 3, 3, dtype=dtype))


def test_nonfinite_labels_are_named_under_autograd():
    # Under autograd topk_propagate runs topk_affinity + _topk_gather (saving the selection): the labels still get
    # the op's own checks, by name.
    q = torch.randn(1, 4, 5, 6, dtype=F64, requires_grad=True)
    k = torch.randn(1, 2, 4, 5, 6, dtype=F64)
    lab = torch.rand(1, 2, 3, 5, 6, dtype=F64)
    lab[0, 1, 2, 3, 4] = float("nan")
    with pytest.raises(RuntimeError, match="labels contains NaN or inf values"):
        ops.topk_propagate(q, k, lab, topk=3)


def _dt(dtype):
    return str(dtype).replace("torch.", "")


def test_forward_only_guard_raises_at_the_call():
    lib = torch.library.Library("unitrack_gradtest", "DEF")  # an op without a formula, in its own namespace
    lib.define("twice(Tensor x) -> Tensor")
    lib.impl("twice", lambda x: 2 * x, "CPU")
    assert _autograd.guard_forward_only("unitrack_gradtest") == ["twice"]
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="unitrack_gradtest::twice is forward-only"):
        torch.ops.unitrack_gradtest.twice(x)
    with torch.no_grad():
        assert torch.equal(torch.ops.unitrack_gradtest.twice(x), torch.full((3,), 2.0))
    assert torch.equal(torch.ops.unitrack_gradtest.twice(x.detach()), torch.full((3,), 2.0))


def _backward_at(threads):
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(9)
        q = _leaf(torch.randn(1, 32, 30, 34, generator=g), torch.float32)
        k = _leaf(torch.randn(1, 4, 32, 30, 34, generator=g), torch.float32)
        lab = _leaf(torch.rand(1, 4, 3, 30, 34, generator=g), torch.float32)
        out = ops.topk_propagate(q, k, lab, topk=10, temperature=0.05, radius=6.0, n_global=1)
        res = list(_grads(out, (q, k, lab), torch.randn(out.shape, generator=g)))
        x = _leaf(torch.randn(300, 64, generator=g).relu(), torch.float32)
        y = _leaf(torch.randn(280, 64, generator=g).relu(), torch.float32)
        ts, ds = torch.tensor([100, 120, 80]), torch.tensor([140, 140])
        out = ops.rsm((x, ts), (y, ds))
        res += list(_grads(out, (x, y), torch.randn(out.shape, generator=g)))
        s = _leaf(torch.randn(3, 32, 40, 40, generator=g), torch.float32)
        t = _leaf(torch.randn(32, 9, 9, generator=g), torch.float32)
        out = ops.xcorr(s, t)
        res += list(_grads(out, (s, t), torch.randn(out.shape, generator=g)))
        return res
    finally:
        torch.set_num_threads(prev)


def test_backward_is_bitwise_independent_of_the_thread_count():
    one = _backward_at(1)
    for threads in (2, 3):
        for a, b in zip(one, _backward_at(threads)):
            assert torch.equal(a, b)


def test_reference_fallback_has_gradients_too():
    # Without _C the wrappers call the references, whose autograd is torch's.
    code = (
        "import torch, unitrack_ext\n"
        "from unitrack_ext import ops\n"
        "assert not unitrack_ext.HAS_EXT\n"
        "q = torch.randn(4, 5, 6, requires_grad=True); k = torch.randn(2, 4, 5, 6, requires_grad=True)\n"
        "lab = torch.rand(2, 2, 5, 6, requires_grad=True)\n"
        "ops.topk_propagate(q, k, lab, topk=3).sum().backward()\n"
        "assert all(x.grad is not None for x in (q, k, lab))\n"
        "print('ok')\n"
    )
    env = dict(os.environ, UNITRACK_FORCE_REFERENCE="1")
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------------------------------------
# CUDA (where a GPU exists): the same gradients as the CPU kernels.


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_gradients_equal_cpu():
    case = (2, 8, 3, 9, 11, 3, 6, 0.2, 3.0, 1)
    q, k, lab = _topk_inputs(case, F64)
    kw = _kw(case)
    g = torch.randn(2, 3, 9, 11, dtype=F64)
    want = _grads(ops.topk_propagate(q, k, lab, **kw), (q, k, lab), g)
    qc, kc, lc = (_leaf(x.detach().cuda()) for x in (q, k, lab))
    got = _grads(ops.topk_propagate(qc, kc, lc, **kw), (qc, kc, lc), g.cuda())
    _assert_close_to_scale([x.cpu() for x in got], want, 1e-9)
    x, ts, y, ds, tau = _rsm_case("ragged_with_empty")
    x, y = _leaf(x), _leaf(y)
    gr = torch.randn(3, 3, dtype=F64)
    want = _grads(ops.rsm((x, ts), (y, ds), temperature=tau), (x, y), gr)
    xc, yc = _leaf(x.detach().cuda()), _leaf(y.detach().cuda())
    got = _grads(ops.rsm((xc, ts), (yc, ds), temperature=tau), (xc, yc), gr.cuda())
    _assert_close_to_scale([v.cpu() for v in got], want, 1e-9)
    s, t = _leaf(torch.randn(3, 4, 12, 12, dtype=F64)), _leaf(torch.randn(3, 4, 5, 5, dtype=F64))
    gx = torch.randn(3, 8, 8, dtype=F64)
    want = _grads(ops.xcorr(s, t), (s, t), gx)
    sc, tc = _leaf(s.detach().cuda()), _leaf(t.detach().cuda())
    got = _grads(ops.xcorr(sc, tc), (sc, tc), gx.cuda())
    _assert_close_to_scale([v.cpu() for v in got], want, 1e-9)
