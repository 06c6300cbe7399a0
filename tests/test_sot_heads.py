"""SOT heads (python/unitrack/heads/sot.py) on synthetic sequences: a textured patch moving over a textured
background."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from unitrack.heads import sot
from unitrack.metrics.otb import rect_iou
from unitrack.model.base import ColorStatsModel, wrap_module


def _texture(rng, h, w, cell):
    small = (rng.random((-(-h // cell), -(-w // cell), 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (small.shape[1] * cell, small.shape[0] * cell), interpolation=cv2.INTER_NEAREST)[:h, :w]


def _sequence(T=12, H=200, W=260, size=36, start=(50, 60), step=(5, 3), seed=0):
    """Frames with a textured target moving by ``step`` px per frame; returns frames and 0-based xywh ground truth."""
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(_texture(rng, H, W, 8), (0, 0), 2)
    patch = _texture(rng, size, size, 6)
    frames, gt = [], []
    for t in range(T):
        x, y = start[0] + step[0] * t, start[1] + step[1] * t
        im = bg.copy()
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + size, W), min(y + size, H)
        if x1 > x0 and y1 > y0:
            im[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]
        frames.append(im)
        gt.append([x, y, size, size])
    return frames, np.array(gt, dtype=np.float64)


def _small(head: str):
    """264-pixel crops (33x33 features, 6x6 template): the same algorithm at a quarter of the cost, for fast tests."""
    return sot.DCFConfig(crop_sz=264) if head == "dcf" else sot.XCorrConfig(crop_sz=264)


class TinyConvNet(torch.nn.Module):
    """A fixed random conv net at stride 8 (stand-in for a learned model)."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv1 = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 16, 3, stride=4, padding=1)
        for m in (self.conv1, self.conv2):
            m.weight.data = torch.randn(m.weight.shape, generator=g) * 0.3
            m.bias.data.zero_()

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


@pytest.mark.parametrize("head", ["dcf", "xcorr"])
def test_pure_translation_is_recovered_exactly(head):
    # Window 519 px = crop 519 pixel intervals: crops sample pixel centres exactly and one feature cell is 8 px. The
    # whole image (target included) moves by 16 px right and 8 px down: the tracker must move by exactly that.
    rng = np.random.default_rng(5)
    big = _texture(rng, 700, 700, 8)
    size = 519 / 4.5
    x0, y0 = 300 - size / 2, 280 - size / 2  # centre (299.5, 279.5) in pixel-index coordinates -> integer window
    f0 = big[40:440, 40:440]
    f1 = big[40 - 8 : 440 - 8, 40 - 16 : 440 - 16]
    # DCF: one scale (its unnormalised peak does not rank scales reliably on colour features); XCorr: all 3 scales.
    config = sot.DCFConfig(num_scale=1) if head == "dcf" else sot.XCorrConfig()
    tracker = sot.make_tracker(ColorStatsModel(), head, config)
    tracker.init(f0, [x0, y0, size, size])
    box = tracker.update(f1)
    np.testing.assert_allclose(box, [x0 + 16, y0 + 8, size, size], atol=1e-6)


@pytest.mark.parametrize("head", ["dcf", "xcorr"])
def test_tracks_a_moving_target(head):
    frames, gt = _sequence()
    config = None if head == "dcf" else _small(head)  # the DCF run uses the full SPEC geometry
    boxes = sot.track_sequence(ColorStatsModel(), frames, gt[0], head=head, config=config, progress=False)
    assert boxes.shape == gt.shape
    np.testing.assert_array_equal(boxes[0], gt[0])
    iou = rect_iou(boxes, gt)
    assert iou.mean() > 0.7 and iou[-1] > 0.5, iou


def test_tracks_with_a_wrapped_conv_net():
    frames, gt = _sequence(T=8, step=(4, -3), start=(80, 120), seed=3)
    model = wrap_module(TinyConvNet())
    boxes = sot.track_sequence(model, frames, gt[0], head="dcf", config=_small("dcf"), progress=False)
    assert rect_iou(boxes, gt).mean() > 0.6


def test_target_leaving_the_frame_does_not_crash():
    # The target exits through the right border and never comes back.
    frames, gt = _sequence(T=14, W=160, H=120, start=(90, 40), step=(9, 0), size=30)
    for head in ("dcf", "xcorr"):
        boxes = sot.track_sequence(ColorStatsModel(), frames, gt[0], head=head, config=_small(head), progress=False)
        assert np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()
        centres = boxes[:, :2] + boxes[:, 2:] / 2 - 0.5
        assert (centres >= 0).all() and (centres[:, 0] <= 159).all() and (centres[:, 1] <= 119).all()


def test_gray_pil_and_path_frames(tmp_path):
    from PIL import Image

    frames, gt = _sequence(T=4)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    b_gray = sot.track_sequence(ColorStatsModel(), gray, gt[0], head="xcorr", config=_small("xcorr"), progress=False)
    assert b_gray.shape == (4, 4) and np.isfinite(b_gray).all()
    paths = []
    for i, f in enumerate(frames):
        p = tmp_path / f"{i:04d}.png"
        cv2.imwrite(str(p), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        paths.append(str(p))
    b_arr = sot.track_sequence(ColorStatsModel(), frames, gt[0], head="xcorr", config=_small("xcorr"), progress=False)
    b_path = sot.track_sequence(ColorStatsModel(), paths, gt[0], head="xcorr", config=_small("xcorr"), progress=False)
    np.testing.assert_allclose(b_path, b_arr)
    # got10k's Tracker.track signature, fed with PIL images
    tracker = sot.XCorrTracker(ColorStatsModel(), _small("xcorr"))
    boxes, times = tracker.track([Image.fromarray(f) for f in frames], gt[0])
    np.testing.assert_allclose(boxes, b_arr)
    assert times.shape == (4,)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        sot.track_sequence(ColorStatsModel(), [str(tmp_path / "nope.png")], gt[0], progress=False)


def test_size_clamps_use_width_height_order():
    # Wide image, tall target: the max size is min((W, H), 5*init) in (w, h) order (the reference swaps H and W).
    frames, _ = _sequence(T=1, H=100, W=300)
    t = sot.DCFTracker(ColorStatsModel())
    t.init(frames[0], [10, 10, 90, 30])
    np.testing.assert_allclose(t.max_wh, [300, 100])
    np.testing.assert_allclose(t.min_wh, [18, 6])


def test_configs_have_spec_defaults():
    d, x = sot.DCFConfig(), sot.XCorrConfig()
    assert (d.crop_sz, d.feat_sz, d.padding, d.num_scale, d.scale_step, d.scale_penalty) == (
        520,
        65,
        3.5,
        3,
        1.0275,
        0.985,
    )
    assert (d.lambda0, d.output_sigma_factor, d.interp_factor) == (1e-4, 0.1, 0.01)
    assert (x.min_scale_factor, x.max_scale_factor, x.response_scale) == (0.2, 5.0, 0.1)
    assert isinstance(sot.make_tracker(ColorStatsModel()), sot.DCFTracker)  # DCF is the default head


def test_bad_input():
    frames, gt = _sequence(T=2)
    m = ColorStatsModel()
    t = sot.XCorrTracker(m)
    with pytest.raises(RuntimeError, match="before init"):
        t.update(frames[0])
    with pytest.raises(ValueError, match="positive width and height"):
        t.init(frames[0], [10, 10, 0, 5])
    with pytest.raises(ValueError, match="positive width and height"):
        t.init(frames[0], [10, 10, 5, -5])
    with pytest.raises(ValueError, match="4 finite numbers"):
        t.init(frames[0], [10, 10, np.nan, 5])
    with pytest.raises(ValueError, match="does not overlap"):
        t.init(frames[0], [300, 10, 20, 20])
    with pytest.raises(ValueError, match="does not overlap"):
        t.init(frames[0], [-40, 10, 20, 20])
    t.init(frames[0], gt[0])
    with pytest.raises(ValueError, match="frame 1 has size 100x120"):
        t.update(frames[1][:100, :120])
    with pytest.raises(ValueError, match="head must be one of"):
        sot.make_tracker(m, "siamrpn")
    with pytest.raises(TypeError, match="config must be a DCFConfig"):
        sot.DCFTracker(m, sot.XCorrConfig())
    with pytest.raises(ValueError, match="num_scale"):
        sot.DCFConfig(num_scale=2)
    # a crop so small that the 4.5x context leaves no template cell (template larger than the search map)
    with pytest.raises(ValueError, match="template block"):
        sot.XCorrTracker(m, sot.XCorrConfig(crop_sz=16))
    # a model that is not stride 8
    bad = wrap_module(torch.nn.AvgPool2d(4))
    with pytest.raises(ValueError, match="stride 8"):
        sot.DCFTracker(bad).init(frames[0], gt[0])
    with pytest.raises(TypeError, match="FeatureExtractor"):
        sot.DCFTracker(torch.nn.Identity)
