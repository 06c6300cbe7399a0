"""Ops at the edges (issue #12 points 6 and 8): one NaN/inf policy for every op (README, "NaN and inf"), temperatures
validated where the result would be meaningless, and torch.compile(fullgraph=True) through the wrappers with dynamic
shapes and with a temperature that changes between calls.
"""

from __future__ import annotations

import math

import pytest
import torch

import unitrack_ext
from unitrack_ext import _validate, ops, reference

needs_ext = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


# ---- the NaN/inf policy: on the CPU a non-finite input is an error naming the argument -------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", ["auto", "direct", "rows", "fft"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", ["search", "templ"])
def test_xcorr_rejects_nonfinite_inputs_on_every_path(where, value, method, dtype, monkeypatch):
    monkeypatch.setenv("UNITRACK_XCORR_METHOD", method)
    g = torch.Generator().manual_seed(0)
    search = torch.randn(2, 8, 30, 33, generator=g, dtype=dtype)
    templ = torch.randn(8, 7, 5, generator=g, dtype=dtype)
    x = search if where == "search" else templ
    x.view(-1)[x.numel() - 1] = value  # the last value: a corner that enters a single output
    with pytest.raises(RuntimeError, match=f"^{where} contains NaN or inf values$"):
        ops.xcorr(search, templ)
    with pytest.raises(RuntimeError, match=f"^{where} contains NaN or inf values$"):
        ops.xcorr(search.contiguous(memory_format=torch.channels_last), templ)


def test_xcorr_fft_case_of_the_issue_is_an_error_not_an_all_nan_map():
    # 1 x 2 x 192 x 160 search, 128 x 100 template: the cost model picks the FFT, which smeared one NaN over the map.
    search = torch.randn(1, 2, 192, 160, dtype=torch.float64)
    templ = torch.randn(2, 128, 100, dtype=torch.float64)
    search[0, 1, 191, 159] = float("nan")
    with pytest.raises(RuntimeError, match="^search contains NaN or inf values$"):
        ops.xcorr(search, templ)


def test_xcorr_overflow_from_finite_inputs_is_returned_as_the_reference_returns_it():
    search = torch.full((1, 1, 4, 4), 3e38)
    templ = torch.full((1, 2, 2), 3e38)
    out = ops.xcorr(search, templ)
    assert torch.isinf(out).all()
    torch.testing.assert_close(out, reference.xcorr(search, templ))


def test_rsm_rejects_nonfinite_points():
    t = [torch.rand(3, 8), torch.rand(4, 8)]
    for value in (float("nan"), float("inf"), -float("inf")):
        bad = [t[0], t[1].clone()]
        bad[1][1, 2] = value
        with pytest.raises(RuntimeError, match=r"^track_feats\[1\] contains NaN or inf values$"):
            ops.rsm(bad, [torch.rand(2, 8)])
        with pytest.raises(RuntimeError, match=r"^det_feats\[1\] contains NaN or inf values$"):
            ops.rsm([torch.rand(2, 8)], bad)


def test_device_side_half_of_the_policy():
    # What the references do on a non-CPU device (and the CUDA launchers with ATen ops): a 0-dim flag computed on the
    # device, the whole result NaN where it is false; no host sync (no .item()).
    x, y = torch.rand(3, 4), torch.rand(5)
    out = torch.rand(2, 3)
    flag = _validate.finite_flag(x, y)
    assert flag.dim() == 0 and flag.dtype == torch.bool and bool(flag)
    assert torch.equal(_validate.poison(out, flag), out)
    y[2] = float("inf")
    poisoned = _validate.poison(out, _validate.finite_flag(x, y))
    assert poisoned.shape == out.shape and poisoned.dtype == out.dtype and torch.isnan(poisoned).all()


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_nonfinite_inputs_give_nan_without_a_sync(dtype):
    q = torch.nn.functional.normalize(torch.randn(1, 8, 6, 7, device="cuda", dtype=dtype), dim=1)
    k = torch.nn.functional.normalize(torch.randn(1, 3, 8, 6, 7, device="cuda", dtype=dtype), dim=2)
    lab = torch.rand(1, 3, 2, 6, 7, device="cuda", dtype=dtype)
    k[0, 1, 2, 3, 4] = float("nan")
    ts, ds = torch.tensor([2, 3]), torch.tensor([4])
    tp, dp = torch.rand(5, 8, device="cuda", dtype=dtype), torch.rand(4, 8, device="cuda", dtype=dtype)
    tp[3, 1] = float("inf")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any device-to-host sync raises
    try:
        out = torch.ops.unitrack.topk_propagate(q, k, lab, 4, 0.05, 2.5, 1)
        w, _ = torch.ops.unitrack.topk_affinity(q, k, 4, 0.05, 2.5, 1)
        sim = torch.ops.unitrack.rsm(tp, ts, dp, ds, 0.01)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isnan(out).all() and torch.isnan(w).all() and torch.isnan(sim).all()


# ---- temperatures that would make the result meaningless are validated -----------------------------------------------
@pytest.mark.parametrize("dtype,bad,good", [(torch.float32, 2.9e-39, 2.94e-39), (torch.float64, 5.5e-309, 5.6e-309)])
def test_temperature_lower_bound_is_where_its_reciprocal_overflows(dtype, bad, good):
    assert 1.0 / bad > torch.finfo(dtype).max >= 1.0 / good
    t = [torch.rand(3, 8, dtype=dtype), torch.rand(4, 8, dtype=dtype)]
    d = [torch.rand(2, 8, dtype=dtype)]
    q, k, lab = (
        torch.rand(4, 5, 6, dtype=dtype),
        torch.rand(3, 4, 5, 6, dtype=dtype),
        torch.rand(3, 2, 5, 6, dtype=dtype),
    )
    name = "float32" if dtype == torch.float32 else "float64"
    msg = rf"^temperature must be >= \S+ for {name} inputs \(1 / temperature must be finite\), got {bad:g}$"
    with pytest.raises(RuntimeError, match=msg):
        ops.rsm(t, d, temperature=bad)
    with pytest.raises(RuntimeError, match=msg):
        ops.topk_propagate(q, k, lab, temperature=bad)
    with pytest.raises(RuntimeError, match=msg):
        ops.topk_affinity(q, k, temperature=bad)
    assert torch.isfinite(ops.rsm(t, d, temperature=good)).all()  # once returned NaN silently
    assert torch.isfinite(ops.topk_propagate(q, k, lab, temperature=good)).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_topk_tiny_temperature_or_large_features_give_the_hard_maximum(dtype):
    # Logits relative to the largest: (v - v_max) / temperature <= 0 never overflows; the weights tend to one-hot.
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 8, 5, 6, generator=g, dtype=dtype) * 1e3
    k = torch.randn(1, 3, 8, 5, 6, generator=g, dtype=dtype) * 1e3
    lab = torch.rand(1, 3, 2, 5, 6, generator=g, dtype=dtype)
    temperature = 1e-33 if dtype == torch.float32 else 1e-303  # logits v / temperature ~ 1e39 / 1e309: inf
    w, idx = ops.topk_affinity(q, k, topk=4, temperature=temperature, radius=0.0)
    assert torch.isfinite(w).all()
    assert torch.equal(w[:, 0], torch.ones_like(w[:, 0])) and torch.equal(w[:, 1:], torch.zeros_like(w[:, 1:]))
    best = torch.einsum("btcm,bcn->btmn", k.reshape(1, 3, 8, 30), q.reshape(1, 8, 30)).reshape(1, 90, 30).argmax(1)
    assert torch.equal(idx[:, 0], best)
    out = ops.topk_propagate(q, k, lab, topk=4, temperature=temperature, radius=0.0)
    want = lab.permute(0, 2, 1, 3, 4).reshape(1, 2, 90).gather(2, best.unsqueeze(1).expand(1, 2, 30))
    torch.testing.assert_close(out.reshape(1, 2, 30), want, rtol=0, atol=0)


# ---- torch.compile(fullgraph=True) through the wrappers --------------------------------------------------------------
def _topk_inputs(H, W, batched=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(8, H, W, generator=g), dim=0)
    k = torch.nn.functional.normalize(torch.randn(3, 8, H, W, generator=g), dim=1)
    lab = torch.rand(3, 2, H, W, generator=g)
    return (q[None], k[None], lab[None]) if batched else (q, k, lab)


@pytest.mark.parametrize("batched", [False, True])
def test_compile_topk_wrappers_with_dynamic_shapes(batched):
    prop = torch.compile(
        lambda q, k, lab: ops.topk_propagate(q, k, lab, topk=5, radius=2.5),
        fullgraph=True,
        backend="eager",
        dynamic=True,
    )
    aff = torch.compile(
        lambda q, k: ops.topk_affinity(q, k, topk=5, radius=2.5), fullgraph=True, backend="eager", dynamic=True
    )
    for H, W in ((5, 6), (7, 9), (4, 11)):
        q, k, lab = _topk_inputs(H, W, batched)
        torch.testing.assert_close(prop(q, k, lab), ops.topk_propagate(q, k, lab, topk=5, radius=2.5))
        w, i = aff(q, k)
        w0, i0 = ops.topk_affinity(q, k, topk=5, radius=2.5)
        torch.testing.assert_close(w, w0)
        assert torch.equal(i, i0)


def test_compile_with_a_temperature_that_changes_between_calls():
    q, k, lab = _topk_inputs(5, 6)
    t, d = [torch.rand(3, 8), torch.rand(4, 8)], [torch.rand(2, 8)]
    prop = torch.compile(lambda tau: ops.topk_propagate(q, k, lab, temperature=tau), fullgraph=True, backend="eager")
    aff = torch.compile(lambda tau: ops.topk_affinity(q, k, temperature=tau)[0], fullgraph=True, backend="eager")
    sim = torch.compile(lambda tau: ops.rsm(t, d, temperature=tau), fullgraph=True, backend="eager")
    packed = torch.compile(
        lambda tau: ops.rsm((torch.cat(t), torch.tensor([3, 4])), d, temperature=tau), fullgraph=True, backend="eager"
    )
    for tau in (0.05, 0.07, 0.1, 0.02, 0.3):
        torch.testing.assert_close(prop(tau), ops.topk_propagate(q, k, lab, temperature=tau))
        torch.testing.assert_close(aff(tau), ops.topk_affinity(q, k, temperature=tau)[0])
        torch.testing.assert_close(sim(tau), ops.rsm(t, d, temperature=tau))
        torch.testing.assert_close(packed(tau), ops.rsm(t, d, temperature=tau))


@needs_ext
def test_compile_still_checks_the_temperature_at_run_time():
    # The traced wrapper leaves a symbolic temperature to the kernel, which checks the real value.
    q, k, lab = _topk_inputs(5, 6)
    fn = torch.compile(lambda tau: ops.topk_propagate(q, k, lab, temperature=tau), fullgraph=True, backend="eager")
    fn(0.05)
    fn(0.07)
    with pytest.raises(RuntimeError, match="temperature must be a finite number > 0, got -1"):
        fn(-1.0)
    assert not math.isnan(float(fn(0.09).sum()))


# ---- the GEMM's per-thread pack workspace (csrc/cpu/kernels/gemm.h) --------------------------------------------------
@needs_ext
def test_rsm_same_bits_after_the_gemm_workspace_grew_shrank_and_was_released():
    # The packs reuse a per-thread buffer: stale values of a larger earlier call must never leak into a smaller one, and
    # a call above the 32 MB cap (1,100 + 1,100 rows of 4,096 floats: about 36 MB of packs) releases it again.
    g = torch.Generator().manual_seed(3)
    small = ([torch.rand(5, 64, generator=g) for _ in range(3)], [torch.rand(7, 64, generator=g) for _ in range(2)])
    mid = ([torch.rand(90, 300, generator=g) for _ in range(4)], [torch.rand(80, 300, generator=g) for _ in range(3)])
    huge = (
        [torch.rand(550, 4096, generator=g) for _ in range(2)],
        [torch.rand(550, 4096, generator=g) for _ in range(2)],
    )
    first_small, first_mid = ops.rsm(*small), ops.rsm(*mid)
    for args, want in ((huge, None), (small, first_small), (mid, first_mid), (small, first_small)):
        got = ops.rsm(*args)
        if want is not None:
            assert torch.equal(got, want)
        else:
            torch.testing.assert_close(got, reference.rsm(*args), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(first_small, reference.rsm(*small), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(first_mid, reference.rsm(*mid), rtol=1e-4, atol=1e-5)
