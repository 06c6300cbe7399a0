"""Generation time of the synthetic benchmark (target: the default "small" preset in < 60 s on a 2-core CPU)."""
from __future__ import annotations

import shutil

from unitrack.data.synthetic import generate_benchmark


def _size_mb(root) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def test_generate_small(benchmark, tmp_path):
    out = tmp_path / "synth"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        return generate_benchmark(out, seed=0, size="small", progress=False)

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert benchmark.stats.stats.max < 60.0
    assert _size_mb(out) < 50.0


def test_generate_tiny(benchmark, tmp_path):
    out = tmp_path / "synth"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        return generate_benchmark(out, seed=0, size="tiny", progress=False)

    benchmark.pedantic(run, rounds=3, iterations=1)
    assert benchmark.stats.stats.max < 10.0
