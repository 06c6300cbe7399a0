"""Box propagation primitives (python/unitrack/propagation/box.py): crops, windows, XCorr/DCF displacement geometry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from unitrack.propagation import box as B


def test_constants_of_the_spec():
    assert B.template_range(65, 3.5) == (25, 39)
    np.testing.assert_allclose(B.scale_factors(3, 1.0275), [1 / 1.0275, 1.0, 1.0275])
    np.testing.assert_allclose(B.scale_penalties(3, 0.985), [0.985, 1.0, 0.985])
    np.testing.assert_allclose(B.hann2d(65).numpy(), np.outer(np.hanning(65), np.hanning(65)), atol=1e-7)
    y = B.gaussian_label(65, 65 / 4.5 * 0.1, dtype=torch.float64)
    assert y[0, 0] == 1 and y.argmax() == 0
    # circular symmetry around (0, 0): offset +k at index k, -k at index 65-k
    torch.testing.assert_close(y[0, 1:33], y[0, 33:65].flip(0))
    with pytest.raises(ValueError, match="num_scale"):
        B.scale_factors(4, 1.0275)
    with pytest.raises(ValueError, match="template block"):
        B.template_range(2, 3.5)


def test_crop_one_to_one_and_border():
    # A 519-pixel window mapped to 520 crop pixels samples exactly the pixel centres: the crop equals the image.
    img = torch.rand(1, 3, 40, 50, dtype=torch.float64)
    crop = B.crop_windows(img, [[24.5 + 3, 19.5 + 2]], [[519.0, 519.0]], 520)
    x1, y1 = int(27.5 - 259.5), int(21.5 - 259.5)  # window left/top in pixel-index coordinates (integers)
    # image pixel (r, c) lands at crop pixel (r - y1, c - x1)
    torch.testing.assert_close(crop[0, :, -y1 : -y1 + 40, -x1 : -x1 + 50], img[0])
    # everything outside the image is the constant border 0
    mask = torch.ones(520, 520, dtype=torch.bool)
    mask[-y1 : -y1 + 40, -x1 : -x1 + 50] = False
    assert crop[0][:, mask].abs().max() < 1e-12


def test_crop_matches_cv2_warp_affine():
    rng = np.random.default_rng(0)
    img = rng.random((60, 80, 3)).astype(np.float32)
    cx, cy, w, h = 37.3, 25.8, 50.7, 33.1
    crop = B.crop_windows(torch.from_numpy(img).permute(2, 0, 1), [[cx, cy]], [[w, h]], 64)[0].permute(1, 2, 0)
    a, b = 63 / w, 63 / h
    M = np.array([[a, 0, -a * (cx - w / 2)], [0, b, -b * (cy - h / 2)]])
    ref = cv2.warpAffine(img, M, (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # cv2 uses 1/32-pixel fixed-point interpolation weights: agreement to ~1/32 of the local intensity range
    assert np.abs(crop.numpy() - ref).max() < 0.04
    assert np.abs(crop.numpy() - ref).mean() < 0.005


def test_crop_bad_input():
    img = torch.rand(1, 3, 10, 10)
    with pytest.raises(ValueError, match="sizes positive"):
        B.crop_windows(img, [[5, 5]], [[0, 4]], 16)
    with pytest.raises(ValueError, match="same length"):
        B.crop_windows(img, [[5, 5], [4, 4]], [[3, 4]], 16)
    with pytest.raises(ValueError, match="frame must be"):
        B.crop_windows(torch.rand(2, 3, 10, 10), [[5, 5]], [[3, 4]], 16)


def _shifted(feat: torch.Tensor, dy: int, dx: int, fill: torch.Tensor) -> torch.Tensor:
    """Translate a [C, n, n] map by (dy, dx) cells (content moves down/right), new area from ``fill``."""
    out = fill.clone()
    n = feat.shape[-1]
    ys, yd = (slice(0, n - dy), slice(dy, n)) if dy >= 0 else (slice(-dy, n), slice(0, n + dy))
    xs, xd = (slice(0, n - dx), slice(dx, n)) if dx >= 0 else (slice(-dx, n), slice(0, n + dx))
    out[:, yd, xd] = feat[:, ys, xs]
    return out


@pytest.mark.parametrize("shift", [(0, 0), (3, -2), (-5, 4), (7, 7), (-9, 0)])
def test_xcorr_filter_recovers_translation_exactly(shift):
    torch.manual_seed(1)
    z = torch.randn(16, 65, 65).relu()
    f = B.XCorrFilter(65, 3.5)
    f.init(z[None])
    dy, dx = shift
    x = _shifted(z, dy, dx, torch.randn(16, 65, 65).relu())
    resp = f.response(torch.stack([torch.randn(16, 65, 65).relu(), x, torch.randn(16, 65, 65).relu()]))
    assert resp.shape == (3, 52, 52)
    s, r, c, _ = B.best_peak(resp, B.scale_penalties(3, 0.985))
    assert s == 1
    # Correct geometry: zero motion is cell 25 (not 26) and one response cell is one feature cell (no 1.25x).
    assert f.displacement_cells(r, c) == (dx, dy)


def test_xcorr_response_is_scaled_valid_correlation():
    z = torch.randn(4, 65, 65)
    x = torch.randn(2, 4, 65, 65)
    f = B.XCorrFilter(65, 3.5)
    f.init(z)
    ref = 0.1 * torch.nn.functional.conv2d(x * B.hann2d(65), z[None, :, 25:39, 25:39])[:, 0]
    torch.testing.assert_close(f.response(x), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shift", [(0, 0), (1, 0), (-2, 0), (3, -4), (-11, 9), (15, 15)])
def test_dcf_filter_recovers_translation_exactly(shift):
    # The reference's 65x64 inverse FFT reads a true (1, 0) as (0, -1) and (-2, 0) as (-3, 2) (SPEC 4.3): not here.
    torch.manual_seed(2)
    z = torch.randn(8, 65, 65, dtype=torch.float64)
    f = B.DCFFilter(65, 3.5)
    f.update(z, lr=1.0)
    dy, dx = shift
    x = torch.roll(z, shifts=(dy, dx), dims=(1, 2))
    resp = f.response(x[None])
    assert resp.shape == (1, 65, 65)  # the full 65x65 inverse, not 65x64
    _, r, c, _ = B.best_peak(resp, np.ones(1))
    assert f.displacement_cells(r, c) == (dx, dy)


def test_dcf_update_interpolates_the_ratio():
    torch.manual_seed(3)
    z1, z2 = torch.randn(2, 4, 65, 65, dtype=torch.float64)
    f = B.DCFFilter(65, 3.5)
    f.update(z1, 1.0)
    a1, zf1 = f.model_alphaf.clone(), f.model_zf.clone()
    f.update(z2, 0.01)
    g = B.DCFFilter(65, 3.5)
    g.update(z2, 1.0)
    torch.testing.assert_close(f.model_alphaf, 0.99 * a1 + 0.01 * g.model_alphaf)
    torch.testing.assert_close(f.model_zf, 0.99 * zf1 + 0.01 * g.model_zf)
    # alphaf = yf / (sum_c |zf|^2 + lambda)
    box = B.box_window(65, 25, 39, dtype=torch.float64)
    zf = torch.fft.rfft2(z2 * box)
    yf = torch.fft.rfft2(B.gaussian_label(65, 65 / 4.5 * 0.1, dtype=torch.float64))
    torch.testing.assert_close(g.model_alphaf, yf / ((zf.abs() ** 2).sum(0) + 1e-4))


def test_filters_bad_input():
    f = B.XCorrFilter(65, 3.5)
    with pytest.raises(RuntimeError, match="before init"):
        f.response(torch.randn(3, 2, 65, 65))
    with pytest.raises(ValueError, match="z_feat"):
        f.init(torch.randn(2, 30, 30))
    d = B.DCFFilter(65, 3.5)
    with pytest.raises(RuntimeError, match="before update"):
        d.response(torch.randn(3, 2, 65, 65))
    d.update(torch.randn(2, 65, 65))
    with pytest.raises(ValueError, match="channels"):
        d.response(torch.randn(3, 5, 65, 65))
