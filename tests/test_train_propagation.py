"""examples/train_propagation.py (issue #16): a self-supervised cycle loss through the fused topk_propagate trains the
built-in ResNet-18 -- a few steps lower the loss, and every parameter receives a non-zero, finite gradient."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
import torch

import unitrack_ext
from unitrack.data.synthetic import generate_benchmark
from unitrack.model import build_model

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension"),
    pytest.mark.usefixtures("one_thread"),
]


def _example():
    spec = importlib.util.spec_from_file_location("train_propagation", ROOT / "examples" / "train_propagation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    paths = generate_benchmark(root, seed=1, size="tiny", tasks=["vos", "sot"], progress=False)
    return _example().video_folders([str(p) for p in paths.values()], 4)


def test_cycle_loss_reaches_every_parameter(videos):
    tp = _example()
    model = build_model("resnet18:random")
    clip, shift = tp.sample_clip(videos, 3, 2, (64, 96), random.Random(0), jitter=8)
    assert clip.shape == (4, 3, 64, 96) and 0 <= float(clip.min()) and float(clip.max()) <= 1
    assert shift != (0, 0) and max(map(abs, shift)) <= 2
    loss, acc = tp.cycle_loss(model, clip, shift, topk=10, temperature=0.07, radius=4.0)
    assert loss.requires_grad and torch.isfinite(loss) and 0 <= acc <= 1
    loss.backward()
    params = dict(model.named_parameters())
    assert params
    for name, p in params.items():
        assert p.grad is not None, f"{name}: no gradient"
        assert bool(torch.isfinite(p.grad).all()), f"{name}: non-finite gradient"
        assert float(p.grad.abs().sum()) > 0, f"{name}: all-zero gradient"


def test_a_few_steps_lower_the_loss(videos):
    tp = _example()
    model = build_model("resnet18:random")
    rng = random.Random(1)
    clips = [tp.sample_clip(videos, 3, 2, (64, 96), rng, jitter=8) for _ in range(2)]
    kw = dict(topk=10, temperature=0.07, radius=4.0)

    def mean_loss():
        with torch.no_grad():
            return sum(float(tp.cycle_loss(model, c, s, **kw)[0]) for c, s in clips) / len(clips)

    before = mean_loss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(6):
        loss, _ = tp.cycle_loss(model, *clips[step % 2], **kw)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = mean_loss()
    assert after < 0.9 * before, f"cycle loss {before:.3f} -> {after:.3f} after 6 steps"


def test_train_loop_and_arguments(videos):
    tp = _example()
    model = build_model("resnet18:random")
    history = tp.train(
        model,
        videos,
        steps=3,
        clip_len=3,
        max_stride=2,
        crop=(64, 96),
        lr=1e-4,
        topk=5,
        temperature=0.07,
        radius=3.0,
        seed=0,
        jitter=8,
        log=lambda *_: None,
    )
    assert [h["step"] for h in history] == [1, 2, 3] and all(h["loss"] > 0 for h in history)
    with pytest.raises(SystemExit):
        tp.parse_args(["--train-seed", "0"])  # the evaluation benchmark's videos are not training data
    with pytest.raises(SystemExit):
        tp.parse_args(["--clip-len", "1"])


@pytest.mark.parametrize("seed", range(4))
def test_the_shifted_copy_shows_what_the_target_cell_shows(videos, seed):
    # The loss's target: cell (y, x) of the last image shows cell (y + dy, x + dx) of the first (flips included).
    clip, (dy, dx) = _example().sample_clip(videos, 2, 1, (64, 96), random.Random(seed), jitter=8)
    first, copy = clip[0], clip[-1]
    h, w = 64 // 8, 96 // 8
    for y in range(h):
        for x in range(w):
            if 0 <= y + dy < h and 0 <= x + dx < w:
                a = copy[:, 8 * y : 8 * y + 8, 8 * x : 8 * x + 8]
                b = first[:, 8 * (y + dy) : 8 * (y + dy) + 8, 8 * (x + dx) : 8 * (x + dx) + 8]
                assert torch.equal(a, b)
