"""Backbone forward time on CPU (it dominates every task): ResNet-18 layer3 at the task resolutions of SPEC §0.

* VOS: one 480x854 frame (-> 60x107), MOT: one 608x1088 letterbox (-> 76x136), SOT: 3 crops of 520x520 (-> 65x65).
* Each in the default channels-last layout and in the plain NCHW layout (same numerics up to float32 rounding).
* The training-free texture baseline at 480x854 for comparison.

Targets (2-core CPU, loose: they catch pathological regressions, e.g. a lost oneDNN path or an accidental
float64/grad graph, not noise): R18-layer3 480x854 < 1.5 s, 608x1088 < 2 s, 3x520x520 < 2.5 s per forward; texture
480x854 < 0.5 s. Seen with 2 threads on an H200 host's CPU (torch 2.11): 0.26 / 0.29 / 0.33 s channels-last,
0.19 / 0.32 / 0.48 s NCHW; texture 0.05 s.
Run: ``PYTHONPATH=.:python python -m pytest -q benchmarks/bench_model.py --benchmark-only``.
"""
from __future__ import annotations

import pytest
import torch

from unitrack.model import AppearanceModel, TextureModel

CASES = {"vos_480x854": ((1, 3, 480, 854), 1.5), "mot_608x1088": ((1, 3, 608, 1088), 2.0),
         "sot_3x520x520": ((3, 3, 520, 520), 2.5)}


@pytest.fixture(scope="module", params=[True, False], ids=["channels_last", "nchw"])
def r18(request):
    return AppearanceModel("resnet18", layer=3, channels_last=request.param)


@pytest.mark.parametrize("case", list(CASES))
def test_r18_layer3_forward_cpu(benchmark, r18, case):
    shape, target_s = CASES[case]
    benchmark.group = f"r18-layer3-{case}"
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))

    def run():
        with torch.no_grad():
            return r18(x)

    run()  # warm-up: oneDNN primitive creation for this shape
    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert tuple(out.shape) == (shape[0], 256, -(-shape[2] // 8), -(-shape[3] // 8))
    if r18.channels_last:
        assert benchmark.stats.stats.median < target_s


def test_texture_forward_cpu(benchmark):
    benchmark.group = "r18-layer3-vos_480x854"
    model = TextureModel()
    x = torch.randn(1, 3, 480, 854, generator=torch.Generator().manual_seed(0))

    def run():
        with torch.no_grad():
            return model(x)

    run()
    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert tuple(out.shape) == (1, 32, 60, 107)
    assert benchmark.stats.stats.median < 0.5
