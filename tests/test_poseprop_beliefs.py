"""Belief maps (SPEC appendix f) against hand-computed values, and the top-3 read-out."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unitrack.propagation.pose import belief_maps, belief_sigma, draw_labelmap, readout_topk


def g(dx, dy, s):
    return math.exp(-(dx * dx + dy * dy) / (2 * s * s))


def test_draw_inside_hand_values():
    img = np.zeros((10, 10))
    draw_labelmap(img, (2.0, 3.0), 0.5)
    # ul = (int(0.5), int(1.5)) = (0, 1), br = (int(4.5), int(5.5)) = (4, 5); kernel 4x4, centre c = 2
    assert img[3, 2] == 1.0  # peak at (y=3, x=2): kernel (2, 2)
    assert img[3, 3] == pytest.approx(g(1, 0, 0.5))
    assert img[1, 0] == pytest.approx(g(2, 2, 0.5))
    assert img[4, 3] == pytest.approx(g(1, 1, 0.5))
    assert np.count_nonzero(img) == 16 and img[5:, :].sum() == 0 and img[:, 4:].sum() == 0


def test_draw_fractional_point_truncation():
    img = np.zeros((8, 8))
    draw_labelmap(img, (3.7, 2.2), 0.5)
    # ul = (int(2.2), int(0.7)) = (2, 0); br = (int(6.2), int(4.7)) = (6, 4): window rows 0..3, cols 2..5
    assert img[2, 4] == 1.0  # kernel centre (2, 2) lands at (0 + 2, 2 + 2)
    assert img[0, 2] == pytest.approx(g(2, 2, 0.5))
    assert img[:, 6:].sum() == 0 and img[4:, :].sum() == 0 and img[:, :2].sum() == 0


def test_draw_outside_point_draws_nothing():
    img = np.zeros((6, 10))
    draw_labelmap(img, (12.0, 3.0), 0.5)  # ul x = int(10.5) = 10 >= W
    draw_labelmap(img, (3.0, -4.0), 0.5)  # br y = int(-1.5) = -1 < 0
    assert not img.any()


def test_draw_negative_coordinate_truncates_toward_zero():
    img = np.zeros((6, 6))
    draw_labelmap(img, (-0.4, 2.0), 0.5)
    # ul x = int(-1.9) = -1 (floor would give -2), br x = int(2.1) = 2: image columns 0, 1 = kernel columns 1, 2,
    # so the peak lands at x = 1 (with floor it would be at x = 0)
    assert img[2, 1] == 1.0
    assert img[2, 0] == pytest.approx(g(1, 0, 0.5))
    assert img[1, 0] == pytest.approx(g(1, 1, 0.5))
    assert img[0, 0] == pytest.approx(g(1, 2, 0.5))
    assert img[:, 2:].sum() == 0
    img2 = np.zeros((6, 6))
    draw_labelmap(img2, (-1.2, 2.0), 0.5)  # ul x = int(-2.7) = -2, br x = int(1.3) = 1: kernel column 2 at x = 0
    assert img2[2, 0] == 1.0 and img2[:, 1:].sum() == 0
    img3 = np.zeros((6, 6))
    draw_labelmap(img3, (-3.0, 2.0), 0.5)  # ul x = -4, br x = int(-0.5) = 0 (not < 0): empty slices, no error
    assert not img3.any()


def test_draw_overwrites_not_max():
    img = np.full((10, 10), 5.0)
    draw_labelmap(img, (4.0, 4.0), 0.5)
    assert img[4, 4] == 1.0 and img[2, 2] == pytest.approx(g(2, 2, 0.5))
    assert img[0, 0] == 5.0  # outside the window: untouched


def test_draw_non_integer_sigma():
    s = 0.75  # size 5.5 -> 6 samples, centre floor(5.5 / 2) = 2
    img = np.zeros((12, 12))
    draw_labelmap(img, (5.0, 6.0), s)
    # ul = (int(2.75), int(3.75)) = (2, 3): kernel (2, 2) lands at (y=5, x=4)
    assert img[5, 4] == 1.0
    assert img[3, 2] == pytest.approx(g(2, 2, s))
    assert img[8, 7] == pytest.approx(g(3, 3, s))  # ceil(5.5) = 6 samples: kernel index 5


def test_belief_maps_sigma_and_background():
    coords = np.array([[2.0, 8.0], [3.0, 1.0]])  # joints (2, 3) and (8, 1)
    assert belief_sigma(coords) == 0.5  # 0.015 * 6 < 0.5
    assert belief_sigma(np.array([[0.0, 100.0], [0.0, 10.0]])) == pytest.approx(1.5)
    m = belief_maps(coords, 6, 10)
    assert m.shape == (6, 10, 3) and m.dtype == np.float32
    ref0 = draw_labelmap(np.zeros((6, 10)), (2.0, 3.0), 0.5)
    np.testing.assert_allclose(m[:, :, 1], ref0, rtol=1e-6)
    bg = (m[:, :, 1] == 0) & (m[:, :, 2] == 0)
    np.testing.assert_array_equal(m[:, :, 0], bg.astype(np.float32))
    assert (
        m[3, 2, 0] == 0 and m[1, 0, 0] == 0 and m[0, 0, 0] == 1 and m[5, 9, 0] == 1
    )  # exp(-16) is not exactly 0: not background


def test_readout_top3_hand_case():
    pred = torch.zeros(3, 4, 5)  # background + 2 joints on a 4x5 grid
    pred[1, 1, 2] = 0.5
    pred[1, 1, 3] = 0.3
    pred[1, 2, 2] = 0.2
    pred[1, 3, 4] = 0.1  # 4th largest: ignored
    xy = readout_topk(pred, topk=3)
    # weights normalised over the top 3 (sum 1.0): x = .5*2 + .3*3 + .2*2, y = .5*1 + .3*1 + .2*2
    assert xy.shape == (2, 2)
    assert xy[0, 0].item() == pytest.approx(2.3, abs=1e-6)
    assert xy[1, 0].item() == pytest.approx(1.2, abs=1e-6)
    assert xy[:, 1].tolist() == [-1.0, -1.0]  # all-zero joint


def test_readout_normalises_top3():
    pred = torch.zeros(2, 3, 3)
    pred[1, 0, 0] = 0.2
    pred[1, 2, 2] = 0.2  # two equal values: weights .5/.5 (the third value is 0)
    xy = readout_topk(pred)
    assert xy[:, 0].tolist() == pytest.approx([1.0, 1.0])
