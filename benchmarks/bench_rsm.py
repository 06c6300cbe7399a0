"""RSM: fused op vs the literal reconstruction reference (and one torch.mm of the affinity as a speed yardstick).

    PYTHONPATH=.:python python -m pytest benchmarks/bench_rsm.py --benchmark-group-by=group -q

Groups: rsm-box-N20, rsm-box-N50 (40 points per object = RoIAlign 4x10, C = 256, post-ReLU features) and rsm-mask-N30
(ragged mask sets, P up to 200). Each group holds `fused`, `reference` and `mm` (one torch.mm T^ D^T of the same
points: the floor for any exact method, which needs the whole affinity). extra_info records GFLOP/s counted as the
affinity GEMM's 2 * sumP * sumQ * C. `test_speedup_*` asserts the fused op is >= 4x faster than the reference
(medians of time.perf_counter, the three interleaved in the same process; budget mechanics and run metadata:
``benchmarks/common.py``, ``benchmarks/conftest.py``).
"""

from __future__ import annotations

import pytest
import torch

import unitrack_ext
from common import check_ratio, interleaved_medians
from unitrack_ext import ops, reference

#: fused / reference, same run (a speed-up of at least 4x)
FUSED_VS_REFERENCE = 1 / 4.0

CASES = {
    "box-N20": dict(N=20, M=20, P=(40, 40), C=256),
    "box-N50": dict(N=50, M=50, P=(40, 40), C=256),
    "mask-N30": dict(N=30, M=30, P=(1, 200), C=256),
}


def _make(case: str, device: str = "cpu"):
    cfg = CASES[case]
    gen = torch.Generator().manual_seed(0)
    lo, hi = cfg["P"]

    def sets(n):
        sizes = torch.randint(lo, hi + 1, (n,), generator=gen).tolist()
        return [torch.randn(s, cfg["C"], generator=gen).relu().to(device) for s in sizes]

    return sets(cfg["N"]), sets(cfg["M"])


def _affinity_flops(t, d) -> float:
    return 2.0 * sum(len(x) for x in t) * sum(len(x) for x in d) * t[0].shape[1]


def _mm_fn(t, d):
    tp = torch.nn.functional.normalize(torch.cat(t), dim=1)
    dp = torch.nn.functional.normalize(torch.cat(d), dim=1)
    return lambda: torch.mm(tp, dp.T)


def _run(benchmark, case, impl):
    t, d = _make(case)
    fn = {
        "fused": lambda: ops.rsm(t, d),
        "reference": lambda: reference.rsm(t, d),
        "mm": _mm_fn(t, d),
    }[impl]
    benchmark.group = f"rsm-{case}"
    benchmark.extra_info["sumP"] = sum(len(x) for x in t)
    benchmark.extra_info["sumQ"] = sum(len(x) for x in d)
    benchmark.extra_info["compiled_ext"] = unitrack_ext.HAS_EXT
    rounds = 3 if impl == "reference" else 10
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
    benchmark.extra_info["affinity_GFLOP_per_s"] = _affinity_flops(t, d) / benchmark.stats.stats.median / 1e9


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", ["fused", "reference", "mm"])
def test_rsm(benchmark, case, impl):
    _run(benchmark, case, impl)


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="the speed target is for the compiled kernel")
@pytest.mark.parametrize("case", ["box-N20", "box-N50", "mask-N30"])
def test_speedup_vs_reference(benchmark, case):
    t, d = _make(case)
    benchmark.group = f"rsm-{case}-speedup"
    benchmark.pedantic(lambda: ops.rsm(t, d), rounds=1, iterations=1)
    fused, ref, mm = (
        r["median_s"]
        for r in interleaved_medians([lambda: ops.rsm(t, d), lambda: reference.rsm(t, d), _mm_fn(t, d)], rounds=5)
    )
    gflop = _affinity_flops(t, d) / 1e9
    print(
        f"\n[rsm {case}] fused {fused * 1e3:.2f} ms ({gflop / fused:.1f} GFLOP/s affinity-equivalent), "
        f"reference {ref * 1e3:.2f} ms, one torch.mm {mm * 1e3:.2f} ms ({gflop / mm:.1f} GFLOP/s), "
        f"speed-up {ref / fused:.1f}x, fused/mm {fused / mm:.2f}"
    )
    benchmark.extra_info["affinity_mm_ms"] = round(mm * 1e3, 4)
    check_ratio(
        benchmark,
        f"rsm-{case}-vs-reference",
        fused,
        ref,
        max_ratio=FUSED_VS_REFERENCE,
        candidate="fused",
        baseline="reference",
    )
