"""bfloat16 inputs of the fused ops (issue #15 point 3): float32 outputs, the kernels against the references on the
same bf16 values, and against float32 on the unrounded values within bounds derived from bf16 rounding.

Tolerances, and where they come from:

* **Same bf16 values, kernel vs reference.** A product of two bf16 numbers (8 significant bits each) is exact in
  float32 (16 bits), so kernel and reference (which upcasts to float32 first) differ only in the order of their
  float32 sums: the float32 tolerances of the float32 op tests apply (weights ``2e-5``; xcorr ``1e-5`` of the sum of
  the absolute products).
* **bf16 vs float32 on the unrounded values.** Rounding to bf16 changes each value by a relative ``u = 2**-8`` at most
  (round to nearest, 8 significant bits), so a dot product moves by at most ``(2u + u**2) * sum_c |a_c||b_c|`` (= at
  most ``2u + u**2 ~ 0.0079`` for unit vectors): ``DOT_BOUND`` below. A logit ``dot / temperature`` moves by
  ``DOT_BOUND / temperature``; the selected top-K can then only contain candidates whose exact logit is within twice
  that of the exact K-th; a softmax weight moves by a factor within ``exp(+-2 * logit error)``.

Every test runs at the ISA level of this process: the CPU's best (``amx``: AMX-BF16 tile kernels on this machine).
``test_every_level`` reruns the module under ``UNITRACK_CPU_ISA=avx512bf16`` (``vdpbf16ps`` vectors) and ``avx512 /
avx2 / baseline``, where bf16 is widened to float32 while packing.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest
import torch

import unitrack_ext
from unitrack_ext import ops, reference

ref_topk = importlib.import_module("unitrack_ext.reference.topk_propagate")

U = 2.0**-8  # unit roundoff of bfloat16 (8 significant bits, round to nearest)
DOT_BOUND = 2 * U + U * U  # relative change of a dot product when both operands are rounded to bf16
needs_ext = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
LEVELS = ["baseline", "avx2", "avx512", "avx512bf16", "amx"]


def _unit(shape, dim, gen):
    return torch.nn.functional.normalize(torch.randn(*shape, generator=gen), dim=dim)


def _topk_inputs(B, T, C, H, W, L, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = _unit((B, C, H, W), 1, g)
    k = _unit((B, T, C, H, W), 2, g)
    lab = torch.softmax(torch.randn(B, T, L, H, W, generator=g), dim=2)
    return q, k, lab


TOPK_CASES = [
    # B, T, C, H, W, L, topk, radius, n_global
    (1, 6, 64, 11, 23, 3, 10, 4.0, 1),  # DAVIS-like memory, C a multiple of 32
    (2, 3, 40, 7, 19, 2, 5, 2.5, 1),  # batched, C not a multiple of 32 (zero channels in the tiles)
    (1, 2, 7, 5, 6, 2, 20, 1.5, 0),  # fewer admissible candidates than topk: fill-in slots
    (1, 3, 33, 9, 50, 2, 10, 0.0, 1),  # unrestricted, W not a multiple of 16
    (1, 1, 256, 3, 70, 4, 10, 12.0, 1),  # C = 256 (ResNet layer3), one global frame
]


def _near_ties(logits, K, tol):
    """[B, HW] True where the top-(K+1) logits have two admissible values closer than tol."""
    kk = min(K + 1, logits.shape[1])
    top = torch.sort(logits, dim=1, descending=True, stable=True).values[:, :kk]
    masked = top <= 0.5 * ref_topk._MASK_VALUE / 1.0
    gaps = top[:, :-1] - top[:, 1:]
    return ((gaps < tol) & ~(masked[:, :-1] & masked[:, 1:])).any(dim=1)


@pytest.mark.parametrize("case", TOPK_CASES, ids=[str(c) for c in TOPK_CASES])
def test_topk_bf16_matches_reference_on_the_same_values(case):
    B, T, C, H, W, L, topk, radius, n_global = case
    q, k, lab = _topk_inputs(B, T, C, H, W, L)
    qb, kb = q.bfloat16(), k.bfloat16()
    w, i = ops.topk_affinity(qb, kb, topk=topk, temperature=0.05, radius=radius, n_global=n_global)
    rw, ri = reference.topk_affinity(qb, kb, topk=topk, temperature=0.05, radius=radius, n_global=n_global)
    assert w.dtype == torch.float32 and rw.dtype == torch.float32 and i.dtype == torch.int64
    torch.testing.assert_close(w, rw, rtol=0, atol=2e-5)
    logits = ref_topk._logits(qb.float(), kb.float(), 0.05, radius, n_global)
    ok = ~_near_ties(logits, w.shape[1], 1e-3)
    assert ok.float().mean() > 0.9
    assert torch.equal(i.permute(0, 2, 1)[ok], ri.permute(0, 2, 1)[ok])
    out = ops.topk_propagate(qb, kb, lab, topk=topk, temperature=0.05, radius=radius, n_global=n_global)
    ro = reference.topk_propagate(qb, kb, lab, topk=topk, temperature=0.05, radius=radius, n_global=n_global)
    assert out.dtype == torch.float32
    c = ok.reshape(B, 1, H * W).expand(B, L, H * W)
    torch.testing.assert_close(out.reshape(B, L, -1)[c], ro.reshape(B, L, -1)[c], rtol=0, atol=2e-4)


@pytest.mark.parametrize("case", TOPK_CASES[:2] + TOPK_CASES[4:], ids=[str(c) for c in TOPK_CASES[:2] + TOPK_CASES[4:]])
def test_topk_bf16_within_the_rounding_bound_of_float32(case):
    """Against float32 on the unrounded features: every selected candidate's exact logit is within 2 * DOT_BOUND /
    temperature of the exact K-th, and each weight within exp(+-2 * DOT_BOUND / temperature) of the softmax of the
    exact logits of the selected candidates."""
    B, T, C, H, W, L, topk, radius, n_global = case
    temperature = 0.05
    q, k, _ = _topk_inputs(B, T, C, H, W, L, seed=1)
    w, i = ops.topk_affinity(
        q.bfloat16(), k.bfloat16(), topk=topk, temperature=temperature, radius=radius, n_global=n_global
    )
    exact = ref_topk._logits(q.double(), k.double(), temperature, radius, n_global)  # [B, M, HW]
    K = w.shape[1]
    kth = torch.sort(exact, dim=1, descending=True).values[:, K - 1]  # [B, HW]
    chosen = torch.gather(exact, 1, i)  # [B, K, HW] exact logits of the selected candidates
    err = DOT_BOUND / temperature  # unit vectors: sum_c |q_c||k_c| <= 1
    assert bool((chosen >= kth.unsqueeze(1) - 2 * err - 1e-4).all())
    exact_w = torch.softmax(chosen, dim=1)
    lo, hi = exact_w * torch.exp(torch.tensor(-2 * err)), exact_w * torch.exp(torch.tensor(2 * err))
    assert bool(((w.double() >= lo - 1e-5) & (w.double() <= hi + 1e-5)).all())
    # The bound is not vacuous here: the weights do move (bf16 is not float32) but far less than allowed.
    assert 0 < float((w.double() - exact_w).abs().max()) < 0.5 * float((hi - lo).max())


def test_topk_bf16_features_accept_bf16_labels():
    q, k, lab = _topk_inputs(1, 3, 32, 6, 20, 2)
    qb, kb = q.bfloat16(), k.bfloat16()
    out_f = ops.topk_propagate(qb, kb, lab, topk=5, radius=3.0)
    out_b = ops.topk_propagate(qb, kb, lab.bfloat16(), topk=5, radius=3.0)
    assert out_b.dtype == torch.float32
    torch.testing.assert_close(out_b, ops.topk_propagate(qb, kb, lab.bfloat16().float(), topk=5, radius=3.0))
    assert float((out_b - out_f).abs().max()) <= U  # only the labels' own rounding (weights sum to 1)


XCORR_CASES = [
    # S, C, H, W, h, w, per_scale
    (3, 64, 40, 45, 7, 7, False),  # 34 output columns: two full 16-column blocks + a shifted last one
    (2, 32, 30, 20, 5, 5, True),  # per-scale templates, exactly 16 output columns
    (1, 32, 40, 36, 18, 3, False),  # a template taller than 16 rows (two tile column groups)
    (2, 24, 20, 30, 4, 3, False),  # w*C = 72: not whole tiles (widened float32 path at every level)
    (3, 16, 12, 14, 3, 3, False),  # fewer than 16 output columns (widened float32 path)
    (1, 256, 33, 33, 14, 14, False),  # the SOT template 14x14x256 over a smaller search
]


def _xcorr_inputs(S, C, H, W, h, w, per_scale, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(S, C, H, W, generator=g)
    t = torch.randn(*((S,) if per_scale else ()), C, h, w, generator=g)
    return s, t


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("case", XCORR_CASES, ids=[str(c) for c in XCORR_CASES])
def test_xcorr_bf16_matches_reference_on_the_same_values(case, layout):
    s, t = _xcorr_inputs(*case)
    sb, tb = s.bfloat16(), t.bfloat16()
    if layout == "channels_last":
        sb = sb.contiguous(memory_format=torch.channels_last)
    out = ops.xcorr(sb, tb)
    ref = reference.xcorr(sb, tb)
    abs_sum = reference.xcorr(sb.float().abs(), tb.float().abs())  # sum of |products| per output
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert bool(((out - ref).abs() <= 1e-5 * abs_sum + 1e-6).all())


@pytest.mark.parametrize("case", XCORR_CASES[:1] + XCORR_CASES[3:4] + XCORR_CASES[5:], ids=str)
def test_xcorr_bf16_within_the_rounding_bound_of_float32(case):
    s, t = _xcorr_inputs(*case, seed=2)
    out = ops.xcorr(s.bfloat16(), t.bfloat16())
    exact = reference.xcorr(s.double(), t.double())
    abs_sum = reference.xcorr(s.double().abs(), t.double().abs())
    err = (out.double() - exact).abs()
    assert bool((err <= (DOT_BOUND + 1e-5) * abs_sum).all())
    assert float(err.max()) > 0  # bf16 does round


@needs_ext
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_bf16_results_do_not_depend_on_the_thread_count(layout):
    """The bf16 kernels split their work by the thread count (a channels-last search without native bf16 is cut into
    as few row blocks as the threads allow, each widening its own rows); the result must not change, bit for bit."""
    s, t = _xcorr_inputs(3, 33, 40, 45, 7, 7, False, seed=3)  # 34 output rows; odd C (masked tails, zero channel)
    sb, tb = s.bfloat16(), t.bfloat16()
    if layout == "channels_last":
        sb = sb.contiguous(memory_format=torch.channels_last)
    q, k, lab = _topk_inputs(1, 3, 33, 9, 50, 2, seed=3)
    qb, kb = q.bfloat16(), k.bfloat16()
    before = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3, 5):
            torch.set_num_threads(n)
            results.append(
                (ops.xcorr(sb, tb), ops.topk_propagate(qb, kb, lab, topk=10, temperature=0.05, radius=3.0, n_global=1))
            )
    finally:
        torch.set_num_threads(before)
    for n, (x, p) in zip((2, 3, 5), results[1:]):
        assert torch.equal(x, results[0][0]), f"xcorr at {n} threads differs from 1 thread"
        assert torch.equal(p, results[0][1]), f"topk_propagate at {n} threads differs from 1 thread"


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_xcorr_bf16_methods(method, monkeypatch):
    monkeypatch.setenv("UNITRACK_XCORR_METHOD", method)
    s, t = _xcorr_inputs(2, 32, 26, 30, 9, 9, False)
    sb, tb = s.bfloat16(), t.bfloat16()
    out = ops.xcorr(sb, tb)
    abs_sum = reference.xcorr(sb.float().abs(), tb.float().abs())
    assert out.dtype == torch.float32
    assert bool(((out - reference.xcorr(sb, tb)).abs() <= 1e-5 * abs_sum + 1e-5).all())


def test_rsm_bf16_computes_in_float32():
    g = torch.Generator().manual_seed(0)
    tr = [torch.randn(n, 48, generator=g).relu().bfloat16() for n in (3, 9, 1, 40)]
    de = [torch.randn(n, 48, generator=g).relu().bfloat16() for n in (4, 2, 17)]
    sim = ops.rsm(tr, de)
    assert sim.dtype == torch.float32
    # Exactly the float32 computation on the bf16 values (the kernel widens them first).
    torch.testing.assert_close(sim, ops.rsm([x.float() for x in tr], [x.float() for x in de]), rtol=0, atol=0)
    torch.testing.assert_close(sim, reference.rsm(tr, de), rtol=0, atol=2e-5)
    packed = ops.rsm((torch.cat(tr), torch.tensor([3, 9, 1, 40])), (torch.cat(de), torch.tensor([4, 2, 17])))
    torch.testing.assert_close(packed, sim, rtol=0, atol=0)


@needs_ext
def test_fake_kernels_give_float32_for_bf16():
    q, k, lab = _topk_inputs(1, 2, 8, 4, 5, 2)
    qb, kb = q.bfloat16(), k.bfloat16()
    torch.library.opcheck(torch.ops.unitrack.topk_propagate.default, (qb, kb, lab, 3, 0.05, 2.0, 1))
    torch.library.opcheck(torch.ops.unitrack.topk_affinity.default, (qb, kb, 3, 0.05, 2.0, 1))
    s, t = _xcorr_inputs(2, 8, 9, 10, 3, 3, False)
    torch.library.opcheck(torch.ops.unitrack.xcorr.default, (s.bfloat16(), t.bfloat16()))
    pts = torch.rand(5, 8).bfloat16()
    torch.library.opcheck(torch.ops.unitrack.rsm.default, (pts, torch.tensor([2, 3]), pts, torch.tensor([5]), 0.01))

    def fn(q, k, lab, s, t):
        return ops.topk_propagate(q, k, lab, topk=3, radius=2.0), ops.xcorr(s, t)

    out, x = torch.compile(fn, fullgraph=True, backend="eager")(qb, kb, lab, s.bfloat16(), t.bfloat16())
    assert out.dtype == torch.float32 and x.dtype == torch.float32


# ------------------------------------------------------------------------------------------------------ bad input


def test_float16_on_the_cpu_is_a_clear_error():
    # The op's own check (csrc/ops/<op>_args.h, or its Python mirror without _C) names the argument: RuntimeError;
    # the rsm list form is packed in Python first, which checks each set's dtype (TypeError).
    q, k, lab = _topk_inputs(1, 2, 8, 4, 5, 2)
    with pytest.raises(
        RuntimeError,
        match=r"query must be float32, float64 or bfloat16 on the CPU \(float16 only on CUDA\), got float16",
    ):
        ops.topk_propagate(q.half(), k.half(), lab)
    s, t = _xcorr_inputs(1, 4, 6, 6, 2, 2, False)
    with pytest.raises(RuntimeError, match="search must be float32, float64 or bfloat16 on the CPU"):
        ops.xcorr(s.half(), t.half())
    with pytest.raises(TypeError, match=r"track_feats\[0\] must be float32, float64 or bfloat16 on the CPU"):
        ops.rsm([torch.rand(2, 3).half()], [torch.rand(2, 3).half()])
    with pytest.raises(RuntimeError, match="track_points must be float32, float64 or bfloat16 on the CPU"):
        ops.rsm((torch.rand(2, 3).half(), torch.tensor([2])), (torch.rand(2, 3).half(), torch.tensor([2])))
    if unitrack_ext.HAS_EXT:  # the raw entries say the same
        with pytest.raises(RuntimeError, match="search must be float32, float64 or bfloat16 on the CPU"):
            torch.ops.unitrack.xcorr(s.half(), t.half())
        with pytest.raises(RuntimeError, match="query must be float32, float64 or bfloat16 on the CPU"):
            torch.ops.unitrack.topk_affinity(q.half(), k.half(), 3, 0.05, 2.0, 1)


def test_mixed_precision_is_an_error_not_an_upcast():
    q, k, lab = _topk_inputs(1, 2, 8, 4, 5, 2)
    with pytest.raises(RuntimeError, match="query and keys must have the same dtype, got bfloat16 and float32"):
        ops.topk_affinity(q.bfloat16(), k)
    with pytest.raises(RuntimeError, match="labels and query must have the same dtype, got float64 and bfloat16"):
        ops.topk_propagate(q.bfloat16(), k.bfloat16(), lab.double())
    s, t = _xcorr_inputs(1, 4, 6, 6, 2, 2, False)
    with pytest.raises(RuntimeError, match="search and templ must have the same dtype, got bfloat16 and float32"):
        ops.xcorr(s.bfloat16(), t)
    with pytest.raises(
        RuntimeError, match="track_points and det_points must have the same dtype, got bfloat16 and float32"
    ):
        ops.rsm([torch.rand(2, 3).bfloat16()], [torch.rand(2, 3)])
    # float32 labels with bfloat16 features are the documented exception (soft labels keep float32 precision).
    assert ops.topk_propagate(q.bfloat16(), k.bfloat16(), lab).dtype == torch.float32


def test_nan_in_bf16_features_rejected():
    q, k, lab = _topk_inputs(1, 2, 8, 4, 5, 2)
    kb = k.bfloat16()
    kb.view(-1)[7] = float("inf")
    with pytest.raises(RuntimeError, match="keys contains NaN or inf"):
        ops.topk_propagate(q.bfloat16(), kb, lab)
    s, t = _xcorr_inputs(1, 4, 6, 6, 2, 2, False)
    sb = s.bfloat16()
    sb.view(-1)[3] = float("nan")
    with pytest.raises(RuntimeError, match="search contains NaN or inf"):
        ops.xcorr(sb, t.bfloat16())
    if unitrack_ext.HAS_EXT:
        with pytest.raises(RuntimeError, match="keys contains NaN or inf"):
            torch.ops.unitrack.topk_affinity(q.bfloat16(), kb, 3, 0.05, 2.0, 1)


# ------------------------------------------------------------------------------------------------------ ISA levels


@needs_ext
@pytest.mark.skipif(bool(os.environ.get("UNITRACK_CPU_ISA")), reason="the level is forced already (a per-level run)")
@pytest.mark.parametrize("level", ["baseline", "avx2", "avx512", "avx512bf16"])
def test_every_level(level):
    """The same tests at the levels below this CPU's: without native bf16 (bf16 widened to float32 while packing), and
    with vdpbf16ps vectors (avx512bf16) on a CPU whose best level is amx."""
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    if LEVELS.index(level) > LEVELS.index(supported):
        pytest.skip(f"this CPU supports up to {supported}")
    env = dict(os.environ, UNITRACK_CPU_ISA=level)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__, "-k", "not compile"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " passed" in res.stdout


@needs_ext
def test_native_bf16_is_reported():
    level = unitrack_ext.cpu_isa()
    env = unitrack_ext.collect_env()
    native = "yes" if level in ("avx512bf16", "amx") else "no"
    assert f"bf16 native   : {native}" in env


@needs_ext
def test_vdpbf16ps_rate_is_measured_and_reported():
    """On a CPU with AVX512-BF16 (level avx512bf16 or amx) the load-time probe's rate is a positive number and
    ``unitrack env`` prints it; elsewhere it is 0 and not printed."""
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    rate = float(torch.ops.unitrack._bf16_dot_rate())
    env = unitrack_ext.collect_env()
    if LEVELS.index(supported) >= LEVELS.index("avx512bf16"):
        assert 0.05 < rate < 20, rate
        assert f"vdpbf16ps does {rate:.2f}x the multiply-adds per second of float32 FMAs" in env
    else:
        assert rate == 0.0 and "bf16 dot rate" not in env
