"""The fast object-feature paths equal literal per-sample implementations written here.

* ``roi_align`` (windowed gather + grouped bmm) vs torchvision's RoIAlign evaluated one bilinear sample at a time
  (numpy float64), over many random boxes: inside, partly / fully outside the map, sub-cell, larger than the map,
  degenerate (x2 < x1), mixed sizes (several padded groups, window shifts at the map's edges), chunking, float64.
* ``mask_features`` (tap gather) vs the SPEC recipe literally: ``F.interpolate(ob * F, scale_factor=s, bilinear)``
  at the positions where ``F.interpolate(ob, scale_factor=s, nearest) >= 0.5``.
* ``masks_to_feature_resolution`` (index picking) vs ``F.interpolate(mode="nearest")`` exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unitrack.association import mask_features, roi_align
from unitrack.association.features import masks_to_feature_resolution

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------------------------ RoIAlign
def random_boxes(rng: np.random.Generator, n: int, H: int, W: int) -> np.ndarray:
    """A mix of box kinds, in map units."""
    kinds = rng.integers(0, 7, n)
    out = np.zeros((n, 4))
    for i, kind in enumerate(kinds):
        if kind == 0:  # ordinary, inside
            x, y = rng.uniform(0, W - 2), rng.uniform(0, H - 2)
            out[i] = [x, y, x + rng.uniform(1, W / 3), y + rng.uniform(1, H / 2)]
        elif kind == 1:  # crosses an edge
            x, y = rng.uniform(-6, W + 2), rng.uniform(-6, H + 2)
            out[i] = [x, y, x + rng.uniform(2, 12), y + rng.uniform(2, 12)]
        elif kind == 2:  # fully outside
            x = rng.choice([rng.uniform(-30, -12), rng.uniform(W + 2, W + 20)])
            y = rng.uniform(-10, H + 10)
            out[i] = [x, y, x + rng.uniform(1, 8), y + rng.uniform(1, 8)]
        elif kind == 3:  # tiny (sub-cell)
            x, y = rng.uniform(-1, W), rng.uniform(-1, H)
            out[i] = [x, y, x + rng.uniform(0, 0.9), y + rng.uniform(0, 0.9)]
        elif kind == 4:  # huge (beyond the map)
            out[i] = [rng.uniform(-20, 2), rng.uniform(-20, 2), rng.uniform(W - 2, W + 30), rng.uniform(H - 2, H + 30)]
        elif kind == 5:  # degenerate: x2 < x1 or y2 < y1
            x, y = rng.uniform(0, W), rng.uniform(0, H)
            out[i] = [x, y, x - rng.uniform(0, 3), y + rng.uniform(-3, 3)]
        else:  # at the bottom-right corner (window shifted back inside when padded to a larger group window)
            out[i] = [W - rng.uniform(0.2, 3), H - rng.uniform(0.2, 3), W + rng.uniform(-0.1, 2), H + rng.uniform(0, 2)]
    return out


def _tol(dtype):
    """float64: the strict check. float32 maps and boxes: the sample positions themselves are float32 (as in
    torchvision), ~1 ulp of a coordinate of a few tens of cells, times the map's gradient -> a few 1e-6 absolute
    against the float64 literal on unit-normal features."""
    return dict(rtol=1e-5, atol=2e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)


def _mask_tol(dtype):
    """The mask path reproduces PyTorch's float32 index arithmetic, so float32 is compared tightly as well."""
    return dict(rtol=1e-6, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roi_align_random_boxes_match_literal(seed, dtype, literal_roi_align):
    rng = np.random.default_rng(seed)
    H, W = int(rng.integers(9, 30)), int(rng.integers(9, 40))
    feat = torch.from_numpy(rng.standard_normal((5, H, W))).to(dtype)
    boxes = torch.from_numpy(random_boxes(rng, 60, H, W)).to(dtype)
    got = roi_align(feat, boxes, (4, 10))
    boxes = boxes.double().numpy()
    ref = literal_roi_align(feat.double().numpy(), boxes, 4, 10)
    assert got.shape == (60, 5, 4, 10) and got.dtype == dtype
    torch.testing.assert_close(got.double(), torch.from_numpy(ref), **_tol(dtype))


@pytest.mark.parametrize(
    "kw",
    [
        dict(sampling_ratio=2),
        dict(sampling_ratio=1),
        dict(aligned=True),
        dict(spatial_scale=0.125),
        dict(aligned=True, spatial_scale=0.25, sampling_ratio=3),
    ],
)
def test_roi_align_options_match_literal(kw, dtype, literal_roi_align):
    rng = np.random.default_rng(7)
    H, W = 17, 23
    feat = torch.from_numpy(rng.standard_normal((3, H, W))).to(dtype)
    scale = kw.get("spatial_scale", 1.0)
    boxes = torch.from_numpy(random_boxes(rng, 40, H, W) / scale).to(dtype)
    got = roi_align(feat[None], boxes, (4, 10), **kw)
    boxes = boxes.double().numpy()
    ref = literal_roi_align(
        feat.double().numpy(),
        boxes,
        4,
        10,
        scale=scale,
        sampling_ratio=kw.get("sampling_ratio", -1),
        aligned=kw.get("aligned", False),
    )
    torch.testing.assert_close(got.double(), torch.from_numpy(ref), **_tol(dtype))


def test_roi_align_other_output_sizes_and_layouts(literal_roi_align):
    """Odd output sizes; a channels-last / sliced (non-contiguous) map gives the same numbers as a contiguous one."""
    rng = np.random.default_rng(3)
    base = torch.from_numpy(rng.standard_normal((1, 4, 21, 31)))
    boxes = random_boxes(rng, 25, 21, 31)
    for out_size in [(1, 1), (3, 5), (7, 2)]:
        ref = literal_roi_align(base[0].numpy(), boxes, *out_size)
        torch.testing.assert_close(
            roi_align(base, torch.from_numpy(boxes), out_size), torch.from_numpy(ref), rtol=1e-12, atol=1e-12
        )
    cl = base.to(memory_format=torch.channels_last)
    wide = torch.cat([base, base], 3)[..., :31]  # a strided view
    for f in (cl, wide):
        torch.testing.assert_close(
            roi_align(f, torch.from_numpy(boxes)), roi_align(base, torch.from_numpy(boxes)), rtol=0, atol=0
        )


def test_roi_align_mot_sizes_groups_and_chunking(literal_roi_align):
    """MOT-like boxes of very different sizes on a 76x136 map: several padded groups, forced chunking, and
    float32 vs a float64 literal at float32 tolerance."""
    rng = np.random.default_rng(11)
    feat64 = torch.from_numpy(rng.standard_normal((8, 76, 136)))
    xy = np.c_[rng.uniform(-40, 1100, 50), rng.uniform(-40, 620, 50)]
    boxes = np.c_[xy, xy + np.c_[rng.uniform(5, 200, 50), rng.uniform(10, 500, 50)]] / 8
    boxes = np.r_[boxes, random_boxes(rng, 20, 76, 136)]
    ref = torch.from_numpy(literal_roi_align(feat64.numpy(), boxes, 4, 10))
    b = torch.from_numpy(boxes)
    torch.testing.assert_close(roi_align(feat64, b), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(roi_align(feat64, b, _max_elems=1), ref, rtol=1e-12, atol=1e-12)
    ref32 = torch.from_numpy(literal_roi_align(feat64.float().double().numpy(), b.float().double().numpy(), 4, 10))
    # float32 positions on a 136-wide map: ulp(136) ~ 1.5e-5 cells -> up to ~1e-4 against the float64 literal
    torch.testing.assert_close(roi_align(feat64.float(), b.float()).double(), ref32, rtol=1e-5, atol=1e-4)
    # the memory layout of the result is [K, ph, pw, C] (so that [K, 40, C] point sets are free views)
    out = roi_align(feat64, b)
    assert out.permute(0, 2, 3, 1).is_contiguous()


# ------------------------------------------------------------------------------------------------ masks
def literal_mask_features(feat: torch.Tensor, masks: torch.Tensor, max_area: int) -> list[torch.Tensor]:
    """SPEC recipe: nearest mask at feature resolution; whole masked map resized by s; keep resized mask >= 0.5."""
    C, h, w = feat.shape
    mf = masks.float() if masks.is_floating_point() else (masks != 0).float()
    obs = F.interpolate(mf[:, None], size=(h, w), mode="nearest")
    out = []
    for ob in obs:
        a = float(ob.sum())
        if a <= 0:
            out.append(feat.new_zeros((0, C)))
            continue
        s = math.sqrt(max_area / a) if a > max_area else 1.0
        f = F.interpolate((ob.to(feat.dtype) * feat)[None], scale_factor=s, mode="bilinear", align_corners=False)
        m = F.interpolate(ob[None], scale_factor=s, mode="nearest")
        out.append(f[0][:, m[0, 0] >= 0.5].T)
    return out


def random_masks(rng: np.random.Generator, K: int, H: int, W: int) -> torch.Tensor:
    yy, xx = np.mgrid[:H, :W]
    m = np.zeros((K, H, W), np.uint8)
    for k in range(K):
        kind = k % 4
        cy, cx = rng.uniform(-0.1, 1.1) * H, rng.uniform(-0.1, 1.1) * W
        ry, rx = rng.uniform(0.02, 0.6) * H, rng.uniform(0.02, 0.4) * W
        if kind == 0:  # ellipse (may be clipped by the border)
            m[k] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        elif kind == 1:  # rectangle
            m[k] = (abs(yy - cy) < ry) & (abs(xx - cx) < rx)
        elif kind == 2:  # scattered pixels
            m[k] = rng.random((H, W)) < rng.uniform(0.01, 0.5)
        # kind 3: empty
    return torch.from_numpy(m)


@pytest.mark.parametrize(
    "seed,img,fmap,max_area",
    [
        (0, (240, 320), (30, 40), 60),
        (1, (250, 333), (30, 40), 200),
        (2, (1080, 1920), (135, 240), 200),
        (3, (76, 136), (76, 136), 50),
        (4, (20, 30), (40, 60), 100),
    ],
)
def test_mask_features_match_literal_recipe(seed, img, fmap, max_area, dtype):
    rng = np.random.default_rng(seed)
    feat = torch.from_numpy(rng.standard_normal((6,) + fmap)).to(dtype)
    masks = random_masks(rng, 12, *img)
    sets, fm, valid = mask_features(feat, masks, max_mask_area=max_area)
    ref = literal_mask_features(feat, masks, max_area)
    assert len(sets) == len(ref) == 12
    for k, (s, r) in enumerate(zip(sets, ref)):
        assert s.shape == r.shape, f"object {k}: {tuple(s.shape)} vs {tuple(r.shape)}"
        assert s.dtype == dtype
        torch.testing.assert_close(s, r, **_mask_tol(dtype))
    assert valid.tolist() == [r.shape[0] > 0 for r in ref]


def test_mask_features_mask_dtypes_agree():
    """bool / uint8 / int / float {0,1} masks give the same sets; soft float masks weight the features."""
    rng = np.random.default_rng(5)
    feat = torch.from_numpy(rng.standard_normal((4, 30, 40))).float()
    m = random_masks(rng, 6, 240, 320)
    base, _, _ = mask_features(feat, m, 80)
    for variant in (m.bool(), m.int(), m.float(), m.double()):
        for a, b in zip(base, mask_features(feat, variant, 80)[0]):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    soft = m[:, ::8, ::8].float() * torch.from_numpy(rng.uniform(0.5, 1.0, (6, 30, 40))).float()
    for s, r in zip(mask_features(feat, soft, 80)[0], literal_mask_features(feat, soft, 80)):
        torch.testing.assert_close(s, r, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "src,dst",
    [
        ((1080, 1920), (135, 240)),
        ((250, 333), (30, 40)),
        ((37, 61), (37, 61)),
        ((20, 30), (40, 60)),
        ((7, 9), (30, 41)),
        ((608, 1088), (76, 136)),
        ((101, 203), (13, 26)),
    ],
)
def test_masks_to_feature_resolution_is_nearest_interpolate(src, dst):
    g = torch.Generator().manual_seed(0)
    m = (torch.rand((3,) + src, generator=g) > 0.5).to(torch.uint8)
    ref = F.interpolate(m[:, None].float(), size=dst, mode="nearest")[:, 0]
    got = masks_to_feature_resolution(m, dst)
    assert got.dtype == torch.float32 and torch.equal(got, ref)
