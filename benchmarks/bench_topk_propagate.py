"""pytest-benchmark: fused ``topk_propagate`` vs the dense reference at DAVIS size (SPEC 2.9).

Workload: query 60x107 (480p at stride 8), C=256, memory = 1 global + 5 radius-12 frames (T=6), topk 10, L=4,
L2-normalised random features (seeded). Budgets asserted here (ratios in the same run; mechanics and run metadata:
``benchmarks/common.py``, ``benchmarks/conftest.py``): fused >= 6x faster than the reference (interleaved medians of
time.perf_counter) and the fused op's peak extra memory at most half the size of its inputs (peak RSS of a
subprocess that runs the op once, minus its RSS after the inputs are allocated; the inputs are about 47 MB, the
reference's affinity about 3 GB). The achieved GFLOP/s (useful MACs: global frame HW*HW*C + every windowed
candidate * C) is recorded next to a plain torch.mm doing the same number of MACs.

    PYTHONPATH=.:python python -m pytest -q benchmarks/bench_topk_propagate.py --benchmark-columns=min,median,rounds -s
"""

from __future__ import annotations

import importlib
import math
import os
import textwrap

import pytest
import torch

import unitrack_ext
from common import check_ratio, interleaved_medians, run_json_script
from unitrack_ext import ops

ref = importlib.import_module("unitrack_ext.reference.topk_propagate")

H, W, C, T, L = 60, 107, 256, 6, 4
TOPK, TEMPERATURE, RADIUS, N_GLOBAL = 10, 0.05, 12.0, 1
SPEEDUP_TARGET = 6.0
#: peak extra memory of the fused op / the bytes of its inputs (query, keys, labels)
MEMORY_VS_INPUTS = 0.5
INPUT_MB = 4 * (C * H * W + T * C * H * W + T * L * H * W) / 2**20
REF_REPEATS = int(os.environ.get("UNITRACK_BENCH_REF_REPEATS", "2"))
FUSED_REPEATS = 5

pytestmark = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="benchmarks the compiled kernel")


def _inputs(device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(C, H, W, generator=g), dim=0)
    k = torch.nn.functional.normalize(torch.randn(T, C, H, W, generator=g), dim=1)
    lab = torch.softmax(torch.randn(T, L, H, W, generator=g), dim=1)
    return q.to(device), k.to(device), lab.to(device)


def _fused(q, k, lab):
    return ops.topk_propagate(q, k, lab, topk=TOPK, temperature=TEMPERATURE, radius=RADIUS, n_global=N_GLOBAL)


def _reference(q, k, lab):
    return ref.topk_propagate(q, k, lab, topk=TOPK, temperature=TEMPERATURE, radius=RADIUS, n_global=N_GLOBAL)


def useful_macs() -> int:
    """MACs the fused kernel must do: n_global*HW*HW*C + (#windowed candidates over all queries) * C."""
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    ys, xs = ys.reshape(-1).double(), xs.reshape(-1).double()
    window = 0
    for y in range(H):  # row by row: never an HW x HW matrix
        d = torch.sqrt((ys[:, None] - y) ** 2 + (xs[:, None] - xs[None, :W]) ** 2)  # [HW, W]
        window += int((d < RADIUS).sum())
    return N_GLOBAL * (H * W) ** 2 * C + (T - N_GLOBAL) * window * C


@pytest.fixture(scope="module")
def davis():
    return _inputs()


@pytest.mark.benchmark(group="topk_propagate-davis-speedup")
def test_speedup_vs_reference(benchmark, davis):
    """Asserted target: fused >= 6x faster than the dense reference (perf_counter medians, same run)."""
    q, k, lab = davis
    out, expected = _fused(q, k, lab), _reference(q, k, lab)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
    t_fused, t_ref = (
        r["median_s"]
        for r in interleaved_medians(
            [lambda: _fused(q, k, lab), lambda: _reference(q, k, lab)], rounds=REF_REPEATS, warmup=0
        )
    )
    speedup = t_ref / t_fused
    macs = useful_macs()
    benchmark.extra_info.update(
        fused_s=t_fused,
        reference_s=t_ref,
        speedup=speedup,
        useful_gmacs=macs / 1e9,
        fused_gflops=2 * macs / t_fused / 1e9,
        threads=torch.get_num_threads(),
    )
    print(f"\n[topk_propagate DAVIS] fused {t_fused * 1e3:.1f} ms, reference {t_ref * 1e3:.1f} ms: {speedup:.1f}x")
    benchmark.pedantic(_fused, args=(q, k, lab), rounds=1, iterations=1)
    check_ratio(
        benchmark,
        "topk_propagate-davis-vs-reference",
        t_fused,
        t_ref,
        max_ratio=1 / SPEEDUP_TARGET,
        candidate="fused",
        baseline="reference",
    )


@pytest.mark.benchmark(group="topk_propagate-davis")
@pytest.mark.parametrize("impl", ["reference", "fused"])
def test_topk_propagate_davis(benchmark, davis, impl):
    q, k, lab = davis
    fn = _fused if impl == "fused" else _reference
    rounds = FUSED_REPEATS if impl == "fused" else 1
    out = benchmark.pedantic(
        fn, args=(q, k, lab), rounds=rounds, iterations=1, warmup_rounds=1 if impl == "fused" else 0
    )
    assert out.shape == (L, H, W)


@pytest.mark.benchmark(group="topk_propagate-davis")
def test_topk_affinity_davis(benchmark, davis):
    q, k, _ = davis
    w, i = benchmark.pedantic(
        lambda: ops.topk_affinity(q, k, topk=TOPK, temperature=TEMPERATURE, radius=RADIUS, n_global=N_GLOBAL),
        rounds=FUSED_REPEATS,
        iterations=1,
        warmup_rounds=1,
    )
    assert w.shape == (TOPK, H * W) and i.shape == (TOPK, H * W)


@pytest.mark.benchmark(group="topk_propagate-davis")
def test_same_work_torch_mm(benchmark, davis):
    """A plain torch.mm with the fused op's useful MAC count: [HW, C] @ [C, N], N = MACs / (HW*C)."""
    q, k, lab = davis
    macs = useful_macs()
    n_cols = max(1, round(macs / (H * W * C)))
    a = q.reshape(C, H * W).t().contiguous()
    b = torch.randn(C, n_cols)
    t_mm, t_fused = (
        r["median_s"] for r in interleaved_medians([lambda: torch.mm(a, b), lambda: _fused(q, k, lab)], rounds=3)
    )
    mm_gflops = 2 * H * W * C * n_cols / t_mm / 1e9
    fused_gflops = 2 * macs / t_fused / 1e9
    benchmark.extra_info.update(
        useful_gmacs=macs / 1e9, mm_gflops=mm_gflops, fused_gflops=fused_gflops, fused_over_mm=fused_gflops / mm_gflops
    )
    print(
        f"\n[topk_propagate DAVIS] useful work {macs / 1e9:.2f} GMAC: fused {fused_gflops:.1f} GFLOP/s, "
        f"torch.mm of the same work {mm_gflops:.1f} GFLOP/s ({100 * fused_gflops / mm_gflops:.0f}%)"
    )
    benchmark.pedantic(torch.mm, args=(a, b), rounds=3, iterations=1)


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import bench_topk_propagate as b
    from common import PeakRss

    q, k, lab = b._inputs()
    fn = b._fused if sys.argv[1] == "fused" else b._reference
    with PeakRss() as m:
        out = fn(q, k, lab)
    print(json.dumps(m.result()))
    """
)


def _peak_extra_mb(impl: str) -> dict:
    return run_json_script(_MEMORY_SCRIPT, impl)


@pytest.mark.benchmark(group="topk_propagate-memory")
def test_peak_memory_fused(benchmark):
    """Asserted budget: the fused op's peak extra RSS at DAVIS size is at most half the size of its inputs."""
    info = benchmark.pedantic(_peak_extra_mb, args=("fused",), rounds=1, iterations=1)
    benchmark.extra_info.update(info, input_mb=INPUT_MB, extra_over_inputs=info["extra_mb"] / INPUT_MB)
    print(
        f"\n[topk_propagate DAVIS] fused peak extra memory {info['extra_mb']:.1f} MB, inputs {INPUT_MB:.1f} MB "
        f"(reset={info['reset']})"
    )
    assert info["extra_mb"] <= MEMORY_VS_INPUTS * INPUT_MB, (
        f"fused op peak extra memory {info['extra_mb']:.1f} MB > {MEMORY_VS_INPUTS} x its {INPUT_MB:.1f} MB of inputs"
    )


@pytest.mark.benchmark(group="topk_propagate-memory")
def test_peak_memory_reference(benchmark):
    """The same measurement of the dense reference: shows the method sees the >1 GB affinity."""
    info = benchmark.pedantic(_peak_extra_mb, args=("reference",), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    print(f"\n[topk_propagate DAVIS] reference peak extra memory {info['extra_mb']:.1f} MB")
    assert info["extra_mb"] > 1024, "the measurement should see the dense (HW x T*HW) affinity of the reference"
    assert not math.isnan(info["extra_mb"])
