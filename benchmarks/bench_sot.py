"""One whole SOT frame per head: 3 search crops at 520x520 through ResNet-18 up to layer3 (stride 8 -> 65x65x256)
plus the head (XCorr: Hann + fused xcorr; DCF: FFT filter + the per-frame template re-crop and update).

    PYTHONPATH=.:python python -m pytest benchmarks/bench_sot.py --benchmark-columns=min,median,mean,rounds

Uses ``unitrack.model.AppearanceModel("resnet18", layer=3)`` (random weights: speed does not depend on them); skipped
when it is not importable. ``test_head_only`` times the heads alone on a stand-in model that returns random
65x65x256 features, i.e. the part of the frame this module owns.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unitrack.heads import sot
from unitrack.model.base import FeatureExtractor


def _frame(seed=0, H=480, W=640):
    rng = np.random.default_rng(seed)
    return (rng.random((H, W, 3)) * 255).astype(np.uint8)


def _appearance_model():
    model_mod = pytest.importorskip("unitrack.model")
    if not hasattr(model_mod, "AppearanceModel"):
        pytest.skip("unitrack.model.AppearanceModel is not available yet")
    return model_mod.AppearanceModel("resnet18", layer=3).eval()


class StandIn(FeatureExtractor):
    """Returns fixed post-ReLU features of the right shape (stride 8, 256 channels) at almost no cost."""

    def __init__(self, channels=256):
        super().__init__()
        self.out_channels = channels
        self.register_buffer(
            "feat", torch.randn(1, channels, 65, 65, generator=torch.Generator().manual_seed(0)).relu()
        )

    def forward(self, x):
        n = -(-x.shape[-1] // 8)
        return self.feat[..., :n, :n].expand(x.shape[0], -1, -1, -1)


def _tracker(model, head):
    t = sot.make_tracker(model, head)
    f0 = _frame(0)
    t.init(f0, [280, 200, 60, 80])
    return t


@pytest.mark.parametrize("head", ["xcorr", "dcf"])
def test_sot_frame_resnet18(benchmark, head):
    benchmark.group = "sot-frame-resnet18-layer3"
    t = _tracker(_appearance_model(), head)
    f1 = _frame(1)
    box = benchmark.pedantic(lambda: t.update(f1), rounds=3, warmup_rounds=1, iterations=1)
    assert np.isfinite(box).all()


@pytest.mark.parametrize("head", ["xcorr", "dcf"])
def test_head_only(benchmark, head):
    benchmark.group = "sot-frame-stand-in-model"
    t = _tracker(StandIn(), head)
    f1 = _frame(1)
    box = benchmark.pedantic(lambda: t.update(f1), rounds=10, warmup_rounds=2, iterations=1)
    assert np.isfinite(box).all()
