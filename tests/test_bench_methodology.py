"""The benchmark methodology of benchmarks/common.py: interleaved medians, ratio budgets and run metadata."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import common  # noqa: E402


class _Bench:
    def __init__(self):
        self.extra_info = {}


def test_interleaved_medians_alternates_and_reports_spread():
    calls = []
    fns = [lambda: calls.append("a"), lambda: calls.append("b")]
    out = common.interleaved_medians(fns, rounds=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-ups, then round by round
    assert [set(r) for r in out] == [{"median_s", "iqr_s", "min_s", "rounds"}] * 2
    assert all(r["rounds"] == 3 and r["median_s"] >= r["min_s"] >= 0 and r["iqr_s"] >= 0 for r in out)


def test_check_ratio_records_both_times_and_enforces_the_budget():
    b = _Bench()
    assert common.check_ratio(b, "x", 0.002, 0.010, max_ratio=0.5, candidate="fused", baseline="ref") == 0.2
    assert b.extra_info == {"x.fused_ms": 2.0, "x.ref_ms": 10.0, "x.ratio": 0.2, "x.max_ratio": 0.5}
    with pytest.raises(AssertionError, match=r"y: fused takes 0.600x the time of ref in the same run \(budget 0.5x\)"):
        common.check_ratio(b, "y", 0.006, 0.010, max_ratio=0.5, candidate="fused", baseline="ref")


def test_gemm_workload_scales_to_the_requested_work():
    fn, scale = common.gemm_workload(3.5 * 1024 * 1024 * 7)
    assert tuple(fn().shape) == (1024, 24) and scale == pytest.approx(3.5 * 7 / 24)


def test_run_metadata_names_machine_torch_threads_isa_and_commit(monkeypatch):
    import torch

    import unitrack_ext

    meta = common.run_metadata()
    for key in (
        "timestamp_utc",
        "git_commit",
        "cpu_model",
        "cpu_count",
        "torch",
        "torch_num_threads",
        "isa_level",
        "build_simd",
        "compiled_ops",
        "python",
        "platform",
    ):
        assert key in meta, key
    assert meta["torch"] == torch.__version__ and meta["torch_num_threads"] == torch.get_num_threads()
    assert meta["git_commit"] != "" and meta["compiled_ops"] == unitrack_ext.HAS_EXT
    for name in ("ISA_LEVEL", "isa_level", "CPU_ISA", "cpu_isa", "ISA"):
        monkeypatch.delattr(unitrack_ext, name, raising=False)
    assert common.isa_level() == "unknown"  # the op layer does not report one (yet)
    monkeypatch.setattr(unitrack_ext, "ISA_LEVEL", "avx2", raising=False)
    assert common.isa_level() == "avx2"
    monkeypatch.setattr(unitrack_ext, "ISA_LEVEL", lambda: "avx512", raising=False)
    assert common.run_metadata()["isa_level"] == "avx512"


def test_no_benchmark_asserts_an_absolute_time():
    """Time budgets are ratios (common.check_ratio); pytest-benchmark's own statistics are only recorded."""
    import pathlib
    import re

    bench = pathlib.Path(common.ROOT) / "benchmarks"
    pattern = re.compile(r"assert[^\n]*stats\.stats\.(median|mean|max|min)")
    offenders = [p.name for p in sorted(bench.glob("bench_*.py")) if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    uses = [p.name for p in sorted(bench.glob("bench_*.py")) if "check_ratio(" in p.read_text(encoding="utf-8")]
    assert len(uses) >= 8, uses
