"""Backbone forward time on CPU (it dominates every task): ResNet-18 layer3 at the task resolutions of SPEC §0.

* VOS: one 480x854 frame (-> 60x107), MOT: one 608x1088 letterbox (-> 76x136), SOT: 3 crops of 520x520 (-> 65x65).
* Each in the default channels-last layout and in the plain NCHW layout (same numerics up to float32 rounding).
* The training-free texture baseline at 480x854 for comparison.

Budgets (ratios in the same run, see ``benchmarks/common.py``; loose: they catch pathological regressions, e.g. a
lost oneDNN path, an accidental float64 or autograd graph, not noise): a channels-last ResNet-18 layer3 forward takes
at most 4x the time ATen's GEMM needs for the same number of multiply-adds (its convolutions' MACs, counted with
forward hooks); the texture baseline at most 0.75 of the ResNet-18 forward at 480x854.
Run: ``PYTHONPATH=.:python python -m pytest -q benchmarks/bench_model.py --benchmark-only -s``.
"""

from __future__ import annotations

import pytest
import torch

from common import check_ratio, gemm_workload, interleaved_medians
from unitrack.model import AppearanceModel, TextureModel

CASES = {"vos_480x854": (1, 3, 480, 854), "mot_608x1088": (1, 3, 608, 1088), "sot_3x520x520": (3, 3, 520, 520)}
#: forward / a GEMM of the same multiply-adds, same run
FORWARD_VS_GEMM = 4.0
#: texture forward / ResNet-18 layer3 forward at 480x854, same run
TEXTURE_VS_R18 = 0.75


@pytest.fixture(scope="module", params=[True, False], ids=["channels_last", "nchw"])
def r18(request):
    return AppearanceModel("resnet18", layer=3, channels_last=request.param)


def conv_macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of the model's convolutions on ``x`` (output elements x input channels per group x kernel)."""
    total = [0]

    def hook(m, inputs, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0]


@pytest.mark.parametrize("case", list(CASES))
def test_r18_layer3_forward_cpu(benchmark, r18, case):
    shape = CASES[case]
    benchmark.group = f"r18-layer3-{case}"
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))

    def run():
        with torch.no_grad():
            return r18(x)

    run()  # warm-up: oneDNN primitive creation for this shape
    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert tuple(out.shape) == (shape[0], 256, -(-shape[2] // 8), -(-shape[3] // 8))
    macs = conv_macs(r18, x)
    benchmark.extra_info["conv_gmacs"] = round(macs / 1e9, 3)
    if r18.channels_last:
        mm, scale = gemm_workload(macs)
        fwd, gemm = interleaved_medians([run, mm], rounds=3)
        check_ratio(
            benchmark,
            f"forward-vs-gemm-{case}",
            fwd["median_s"],
            gemm["median_s"] * scale,
            max_ratio=FORWARD_VS_GEMM,
            candidate="forward",
            baseline="same_macs_gemm",
        )


def test_texture_forward_cpu(benchmark):
    benchmark.group = "r18-layer3-vos_480x854"
    model = TextureModel()
    r18 = AppearanceModel("resnet18", layer=3)
    x = torch.randn(1, 3, 480, 854, generator=torch.Generator().manual_seed(0))

    def run(m=model):
        with torch.no_grad():
            return m(x)

    run()
    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert tuple(out.shape) == (1, 32, 60, 107)
    tex, res = interleaved_medians([run, lambda: run(r18)], rounds=3)
    check_ratio(
        benchmark,
        "texture-vs-resnet18",
        tex["median_s"],
        res["median_s"],
        max_ratio=TEXTURE_VS_R18,
        candidate="texture",
        baseline="resnet18_layer3",
    )
