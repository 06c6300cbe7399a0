"""pytest-benchmark: forward + backward of the fused ops against their references' autograd (issue #16).

* ``topk_propagate`` at the DAVIS size (query 256 x 60 x 107, 1 global + 5 radius-12 memory frames, top-10, 4 labels,
  every input requiring grad): the peak extra memory of forward + backward in a subprocess (peak RSS minus the RSS
  after the inputs are allocated; the gradients of query, keys and labels themselves, 46.6 MB, are part of it) must
  stay under 64 MB -- the reference's autograd needs about 3 GB there, measured the same way -- and its time is a
  same-run ratio against the reference's forward + backward at that size (interleaved rounds; the reference takes
  several seconds per round, ``UNITRACK_BENCH_REF_REPEATS`` sets the rounds, default 2). The backward's own cost is
  recorded as fused forward + backward over fused forward.
* ``rsm`` (box N = M = 20, masks N = M = 30) and ``xcorr`` (the SOT shape): forward + backward against the
  reference's forward + backward.

    PYTHONPATH=.:python python -m pytest -q benchmarks/bench_backward.py --benchmark-columns=min,median,rounds -s
"""

from __future__ import annotations

import os
import textwrap

import pytest
import torch

import bench_rsm  # (its cases)
import bench_topk_propagate as topk_bench  # (the DAVIS inputs and parameters)
import unitrack_ext
from common import check_ratio, interleaved_medians, run_json_script
from unitrack_ext import ops, reference

#: fused forward + backward / reference forward + backward at the DAVIS size (at least 6x, as the forward)
TOPK_FWD_BWD_VS_REFERENCE = 1 / 6.0
#: fused forward + backward / fused forward: the backward costs less than the forward
TOPK_FWD_BWD_VS_FWD = 2.0
#: the issue's budget for the peak extra memory of forward + backward at the DAVIS size
TOPK_FWD_BWD_MEMORY_MB = 64.0
RSM_XCORR_FWD_BWD_VS_REFERENCE = 0.5
REF_REPEATS = int(os.environ.get("UNITRACK_BENCH_REF_REPEATS", "2"))
GRAD_MB = (
    4
    * (
        topk_bench.C * topk_bench.H * topk_bench.W * (1 + topk_bench.T)
        + topk_bench.T * topk_bench.L * topk_bench.H * topk_bench.W
    )
    / 2**20
)

pytestmark = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="benchmarks the compiled kernels")


def _leaves(tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def _fwd_bwd(fn, inputs, grad_out):
    """One forward + backward; returns the gradients of every input."""
    out = fn(*inputs)
    return torch.autograd.grad(out, inputs, grad_out)


@pytest.fixture(scope="module")
def davis():
    q, k, lab = _leaves(topk_bench._inputs())
    g = torch.randn(topk_bench.L, topk_bench.H, topk_bench.W, generator=torch.Generator().manual_seed(1))
    return (q, k, lab), g


@pytest.mark.benchmark(group="backward-topk-davis")
def test_topk_fwd_bwd_speedup_vs_reference(benchmark, davis):
    """Asserted: fused forward + backward >= 6x faster than the dense reference's (same run, interleaved)."""
    inputs, g = davis
    fused = _fwd_bwd(topk_bench._fused, inputs, g)
    want = _fwd_bwd(topk_bench._reference, inputs, g)
    # Same gradients (float32; a near-tie at the K-th candidate may select a different key for a few queries,
    # so the keys' gradient is compared in aggregate).
    torch.testing.assert_close(fused[0], want[0], rtol=0, atol=2e-3 * float(want[0].abs().max()))
    torch.testing.assert_close(fused[2], want[2], rtol=0, atol=1e-4 * float(want[2].abs().max()) + 1e-6)
    rel_k = float((fused[1] - want[1]).norm() / want[1].norm())
    assert rel_k < 1e-3, f"keys' gradient differs from the reference's by {rel_k:.2e} (relative L2)"
    t_fused, t_ref = (
        r["median_s"]
        for r in interleaved_medians(
            [lambda: _fwd_bwd(topk_bench._fused, inputs, g), lambda: _fwd_bwd(topk_bench._reference, inputs, g)],
            rounds=REF_REPEATS,
            warmup=0,
        )
    )
    benchmark.extra_info.update(keys_grad_rel_l2=rel_k, grad_mb=GRAD_MB)
    benchmark.pedantic(_fwd_bwd, args=(topk_bench._fused, inputs, g), rounds=1, iterations=1)
    check_ratio(
        benchmark,
        "topk_propagate-davis-fwd+bwd-vs-reference",
        t_fused,
        t_ref,
        max_ratio=TOPK_FWD_BWD_VS_REFERENCE,
        candidate="fused fwd+bwd",
        baseline="reference fwd+bwd",
    )


@pytest.mark.benchmark(group="backward-topk-davis")
def test_topk_backward_cost(benchmark, davis):
    """Asserted: the backward costs less than the forward (fused forward + backward <= 2x fused forward)."""
    inputs, g = davis
    detached = [t.detach() for t in inputs]
    t_fwd_bwd, t_fwd = (
        r["median_s"]
        for r in interleaved_medians(
            [lambda: _fwd_bwd(topk_bench._fused, inputs, g), lambda: topk_bench._fused(*detached)], rounds=5
        )
    )
    benchmark.pedantic(_fwd_bwd, args=(topk_bench._fused, inputs, g), rounds=3, iterations=1)
    check_ratio(
        benchmark,
        "topk_propagate-davis-fwd+bwd-vs-fwd",
        t_fwd_bwd,
        t_fwd,
        max_ratio=TOPK_FWD_BWD_VS_FWD,
        candidate="fused fwd+bwd",
        baseline="fused fwd",
    )


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import bench_topk_propagate as b
    from common import PeakRss

    q, k, lab = (t.requires_grad_(True) for t in b._inputs())
    g = torch.randn(b.L, b.H, b.W, generator=torch.Generator().manual_seed(1))
    fn = b._fused if sys.argv[1] == "fused" else b._reference
    with PeakRss() as m:
        out = fn(q, k, lab)
        (out * g).sum().backward()
    assert q.grad is not None and k.grad is not None and lab.grad is not None
    print(json.dumps(m.result()))
    """
)


def _peak_extra_mb(impl: str) -> dict:
    return run_json_script(_MEMORY_SCRIPT, impl)


@pytest.mark.benchmark(group="backward-topk-memory")
def test_topk_fwd_bwd_peak_memory_fused(benchmark):
    """Asserted: forward + backward at the DAVIS size adds under 64 MB to the process (gradients included)."""
    info = benchmark.pedantic(_peak_extra_mb, args=("fused",), rounds=1, iterations=1)
    benchmark.extra_info.update(info, grad_mb=GRAD_MB, budget_mb=TOPK_FWD_BWD_MEMORY_MB)
    print(
        f"\n[topk_propagate DAVIS fwd+bwd] fused peak extra memory {info['extra_mb']:.1f} MB (of which the "
        f"input gradients {GRAD_MB:.1f} MB; reset={info['reset']})"
    )
    assert info["extra_mb"] < TOPK_FWD_BWD_MEMORY_MB, (
        f"forward + backward peak extra memory {info['extra_mb']:.1f} MB >= {TOPK_FWD_BWD_MEMORY_MB} MB"
    )


@pytest.mark.benchmark(group="backward-topk-memory")
def test_topk_fwd_bwd_peak_memory_reference(benchmark):
    """The same measurement of the reference's autograd (shows the method sees its dense affinity: > 1 GB)."""
    info = benchmark.pedantic(_peak_extra_mb, args=("reference",), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    print(f"\n[topk_propagate DAVIS fwd+bwd] reference peak extra memory {info['extra_mb']:.1f} MB")
    assert info["extra_mb"] > 1024


@pytest.mark.benchmark(group="backward-rsm")
@pytest.mark.parametrize("case", ["box-N20", "mask-N30"])
def test_rsm_fwd_bwd_vs_reference(benchmark, case):
    """Asserted: fused forward + backward at most half the time of the reference's (same run)."""
    t, d = bench_rsm._make(case)
    inputs = _leaves(t + d)
    n = len(t)

    def run(fn):
        return lambda: torch.autograd.grad(fn(inputs[:n], inputs[n:]).sum(), inputs)

    fused, ref = run(ops.rsm), run(reference.rsm)
    t_fused, t_ref = (r["median_s"] for r in interleaved_medians([fused, ref], rounds=3))
    benchmark.pedantic(fused, rounds=3, iterations=1)
    check_ratio(
        benchmark,
        f"rsm-{case}-fwd+bwd-vs-reference",
        t_fused,
        t_ref,
        max_ratio=RSM_XCORR_FWD_BWD_VS_REFERENCE,
        candidate="fused fwd+bwd",
        baseline="reference fwd+bwd",
    )


@pytest.mark.benchmark(group="backward-xcorr")
def test_xcorr_fwd_bwd_vs_reference(benchmark):
    """Asserted: fused forward + backward at most half the time of F.conv2d's (SOT shape, same run)."""
    g = torch.Generator().manual_seed(0)
    inputs = _leaves([torch.randn(3, 256, 65, 65, generator=g), torch.randn(256, 14, 14, generator=g)])

    def run(fn):
        return lambda: torch.autograd.grad(fn(*inputs).sum(), inputs)

    fused, ref = run(ops.xcorr), run(reference.xcorr)
    t_fused, t_ref = (r["median_s"] for r in interleaved_medians([fused, ref], rounds=5))
    benchmark.pedantic(fused, rounds=3, iterations=1)
    check_ratio(
        benchmark,
        "xcorr-sot-fwd+bwd-vs-reference",
        t_fused,
        t_ref,
        max_ratio=RSM_XCORR_FWD_BWD_VS_REFERENCE,
        candidate="fused fwd+bwd",
        baseline="F.conv2d fwd+bwd",
    )
