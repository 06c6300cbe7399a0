"""pytest configuration of the benchmark suites: every saved run carries the metadata of :func:`common.run_metadata`.

pytest-benchmark writes ``machine_info`` (and its own ``commit_info``) into every JSON it saves (``make bench`` saves
to ``results/bench/``, or pass ``--benchmark-json PATH``); the hook below adds what these numbers depend on: the CPU
model and core count, the load, torch and its thread count, the op layer's ISA level / build SIMD / compiled
kernels, and the git commit (``-dirty`` for a modified tree).

``UNITRACK_BENCH_THREADS=N`` pins torch's intra-op threads for the whole run (recorded in the metadata). On a shared,
oversubscribed machine one thread gives far more stable numbers: with 2 threads on 2 busy cores, OpenMP workers
wait on each other and a texture-model forward went from 0.1 s to 0.8 s.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `import common` from every suite

import common  # noqa: E402


def pytest_configure(config):
    want = os.environ.get("UNITRACK_BENCH_THREADS")
    if want:
        import torch

        torch.set_num_threads(int(want))


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["unitrack"] = common.run_metadata("cuda" if _cuda() else "cpu")


def pytest_report_header(config):
    meta = common.run_metadata()
    return [
        f"benchmarks: commit {meta['git_commit']}, {meta['cpu_model']} x{meta['cpu_count']}, torch "
        f"{meta['torch']} ({meta['torch_num_threads']} threads), isa {meta['isa_level']}, build simd "
        f"{meta['build_simd']}, load {meta.get('load_avg_1m', float('nan')):.1f}"
    ]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
