"""DAVIS J&F on hand-checkable cases."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_davis_io import make_davis  # noqa: E402
from unitrack.data.davis import write_sequence_masks  # noqa: E402
from unitrack.metrics.davis import (  # noqa: E402
    bound_pixels,
    db_eval_boundary,
    db_eval_iou,
    db_statistics,
    disk,
    evaluate_davis,
    evaluate_sequence,
    f_measure,
    seg2bmap,
)


def square(shape, r0, c0, k):
    m = np.zeros(shape, dtype=bool)
    m[r0 : r0 + k, c0 : c0 + k] = True
    return m


def test_iou_hand_cases():
    gt = np.zeros((4, 4), bool)
    gt[0:2, 0:2] = True
    pred = np.zeros((4, 4), bool)
    pred[0:2, 0:3] = True
    assert db_eval_iou(gt, pred) == pytest.approx(4 / 6)
    assert db_eval_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0  # empty union
    assert db_eval_iou(gt, np.zeros_like(gt)) == 0.0
    void = np.zeros((4, 4), bool)
    void[0:2, 2] = True  # the two extra predicted pixels are void
    assert db_eval_iou(gt, pred, void) == pytest.approx(1.0)
    np.testing.assert_allclose(db_eval_iou(np.stack([gt, gt]), np.stack([pred, gt])), [4 / 6, 1.0])


def test_seg2bmap_hand_case():
    seg = np.zeros((4, 4), bool)
    seg[1:3, 1:3] = True
    expected = np.array([[1, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(seg2bmap(seg), expected)
    # a k x k square away from the border has a ring of 4k boundary pixels
    assert seg2bmap(square((20, 20), 5, 5, 5)).sum() == 20


def test_disk_and_tolerance():
    np.testing.assert_array_equal(disk(1), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    d2 = disk(2)
    assert d2.shape == (5, 5) and d2.sum() == 13
    assert bound_pixels((480, 854)) == 8.0  # ceil(0.008 * 979.6)
    assert bound_pixels((20, 20)) == 1.0


def test_f_measure_hand_cases():
    gt = square((20, 20), 5, 5, 5)
    assert f_measure(gt, gt) == 1.0
    assert f_measure(np.zeros_like(gt), gt) == 0.0  # P=1, R=0
    assert f_measure(gt, np.zeros_like(gt)) == 0.0  # P=0, R=1
    assert f_measure(np.zeros_like(gt), np.zeros_like(gt)) == 1.0
    # prediction = GT square + a far blob (beyond the 1-px tolerance): recall 1, precision 20 / (20 + 12)
    pred = gt | square((20, 20), 14, 14, 3)
    p = 20 / 32
    assert f_measure(pred, gt) == pytest.approx(2 * p / (p + 1))
    # a 1-pixel shift stays within the tolerance (radius-1 disk): F = 1
    shifted = square((20, 20), 5, 6, 5)
    assert f_measure(shifted, gt) == 1.0
    # a 3-pixel shift: only the boundary pixels within 1 px match
    far = square((20, 20), 5, 8, 5)
    b_gt, b_far = seg2bmap(gt), seg2bmap(far)
    import scipy.ndimage as ndi

    st = disk(1).astype(bool)
    P = (b_far & ndi.binary_dilation(b_gt, st)).sum() / b_far.sum()
    R = (b_gt & ndi.binary_dilation(b_far, st)).sum() / b_gt.sum()
    assert f_measure(far, gt) == pytest.approx(2 * P * R / (P + R))
    assert 0 < f_measure(far, gt) < 1
    np.testing.assert_allclose(db_eval_boundary(np.stack([gt, gt]), np.stack([gt, pred])), [1.0, 2 * p / (p + 1)])


def test_statistics_decay_no_uint8_overflow():
    v = np.array([1.0] * 150 + [0.0] * 150)  # 300 frames: the official uint8 cast breaks here
    M, R, D = db_statistics(v)
    assert (M, R, D) == (0.5, 0.5, 1.0)
    v = np.array([1.0, 0.8, 0.6, 0.4, 0.2])
    # bins from round(linspace(1, 5, 5)) - 1 = [0, 1, 2, 3, 4], inclusive: first [1, .8], last [.4, .2]
    M, R, D = db_statistics(v)
    assert M == pytest.approx(0.6) and R == pytest.approx(0.6) and D == pytest.approx(0.9 - 0.3)


def test_evaluate_sequence_excludes_first_last_and_void():
    T, H, W = 5, 10, 10
    gt = np.zeros((T, H, W), np.uint8)
    gt[:, 2:5, 2:5] = 1
    gt[:, 6:9, 6:9] = 2
    gt[:, 0, :] = 255  # void row -> background
    res = gt.copy()
    res[res == 255] = 0
    res[0] = 0  # first and last frame wrong: excluded
    res[-1] = 0
    res[2][res[2] == 2] = 0  # object 2 lost in frame 2
    J, F = evaluate_sequence(gt, res)
    assert J.shape == (2, 3)
    np.testing.assert_allclose(J[0], [1, 1, 1])
    np.testing.assert_allclose(J[1], [1, 0, 1])
    np.testing.assert_allclose(F[1], [1, 0, 1])
    bad = res.copy()
    bad[1, 0, 0] = 3
    with pytest.raises(ValueError, match="object id 3"):
        evaluate_sequence(gt, bad, name="seqX")


def test_evaluate_davis_end_to_end(tmp_path):
    root = str(tmp_path / "DAVIS")
    masks = make_davis(root, n=5)
    out = str(tmp_path / "res")
    for s, ms in masks.items():
        res = [m.copy() for m in ms]
        if s == "dog":
            res[2][res[2] == 2] = 0  # object 2 of dog lost in one of the 3 evaluated frames
        write_sequence_masks(out, s, res)
    r = evaluate_davis(out, root, split="val", progress=False)
    assert set(r.per_object) == {"cows_1", "cows_2", "dog_1", "dog_2"}
    assert r.per_object["cows_1"]["J-Mean"] == 1.0
    assert r.per_object["dog_2"]["J-Mean"] == pytest.approx(2 / 3)
    assert r.per_object["dog_2"]["J-Recall"] == pytest.approx(2 / 3)
    s = r.summary
    assert s["J-Mean"] == pytest.approx((3 + 2 / 3) / 4)
    assert s["J&F-Mean"] == pytest.approx((s["J-Mean"] + s["F-Mean"]) / 2)
    assert "J&F-Mean" in r.table()
    os.remove(os.path.join(out, "dog", "00002.png"))
    with pytest.raises(FileNotFoundError, match="00002.png"):
        evaluate_davis(out, root, split="val", progress=False)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_boundary_matches_trackeval(monkeypatch):
    """Cross-check seg2bmap and F against TrackEval's J&F (adapted from davis2017-evaluation) on random masks."""
    te = pytest.importorskip("trackeval.metrics.j_and_f")
    mask_utils = pytest.importorskip("pycocotools.mask")
    import types

    # TrackEval imports skimage.morphology.disk, which is not installed here: provide the (hand-tested) disk.
    sk = types.ModuleType("skimage")
    skm = types.ModuleType("skimage.morphology")
    skm.disk = disk
    sk.morphology = skm
    monkeypatch.setitem(sys.modules, "skimage", sk)
    monkeypatch.setitem(sys.modules, "skimage.morphology", skm)
    rng = np.random.default_rng(0)
    import scipy.ndimage as ndi

    for trial in range(6):
        shape = (int(rng.integers(20, 70)), int(rng.integers(20, 90)))
        gt = ndi.binary_opening(rng.random(shape) > 0.6, iterations=1)
        res = (
            ndi.binary_opening(rng.random(shape) > 0.6 + 0.05 * trial, iterations=1) if trial else np.zeros(shape, bool)
        )
        np.testing.assert_array_equal(seg2bmap(gt), te.JAndF._seg2bmap(gt.astype(np.uint8)))
        enc = lambda m: mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))  # noqa: E731
        theirs = te.JAndF._compute_f([{0: enc(gt)}], [{0: enc(res)}], 0, 0, 0.008)[0]
        assert f_measure(res, gt) == pytest.approx(theirs, abs=1e-12)


# ------------------------------------------------------------------------------------------------ official tool
# Expected values below were produced by running the official davis2017-evaluation (GitHub
# davisvideochallenge/davis2017-evaluation, unmodified, numpy 2.4.6 / scikit-image 0.26 / opencv 5.1) outside this
# repository on the cases of tests/_davis_official_case.py: DAVISEvaluation(root, "semi-supervised", "val")
# .evaluate(results) for the per-object and global values, davis2017.metrics.f_measure(res == 1, gt == 1, bound_th)
# for the per-frame F values, davis2017.utils.db_statistics for the decay; values printed with repr().
_OFFICIAL_OBJECTS = ("blobs_1", "blobs_2", "big_1")
_OFFICIAL = {
    "J-Mean": (0.7216316570314895, 0.6219478583565271, 0.916587615714239),
    "J-Recall": (1.0, 0.8333333333333334, 1.0),
    "J-Decay": (-0.007850479569044833, 0.018249992181880725, 0.0),
    "F-Mean": (0.7184139784946236, 0.6475759809234435, 0.8962132179266415),
    "F-Recall": (1.0, 0.8333333333333334, 1.0),
    "F-Decay": (-0.00806451612903214, 0.010026949093727255, 0.0),
}
_OFFICIAL_GLOBAL = (
    0.7537283847411607,
    0.7533890437007518,
    0.9444444444444445,
    0.003466504204278631,
    0.7540677257815696,
    0.9444444444444445,
    0.0006541443215650385,
)
_OFFICIAL_F_BY_BOUND = {
    0.008: (
        0.8064516129032259,
        0.625,
        0.8064516129032259,
        0.625,
        0.8064516129032259,
        0.625,
        0.8225806451612903,
        0.7577319587628866,
    ),
    2.5: (
        0.9508196721311475,
        0.896551724137931,
        0.9508196721311475,
        0.896551724137931,
        0.9508196721311475,
        0.896551724137931,
        0.9508196721311475,
        0.9333333333333333,
    ),
    3.7: (1.0,) * 8,
}


def test_official_davis_tool_values_bit_identical(tmp_path):
    """Per object and global J/F Mean, Recall and Decay exactly as the official tool prints them: void pixels,
    an object absent from gt and result, an object lost, a stray blob, 1-px (37x61) and 8-px (480x854) tolerance."""
    import _davis_official_case as C

    C.write_layout(str(tmp_path / "DAVIS"), str(tmp_path / "res"))
    r = evaluate_davis(str(tmp_path / "res"), str(tmp_path / "DAVIS"), progress=False)
    assert tuple(r.per_object) == _OFFICIAL_OBJECTS
    for key, vals in _OFFICIAL.items():
        assert tuple(r.per_object[o][key] for o in _OFFICIAL_OBJECTS) == vals, key
    assert tuple(r.summary.values()) == _OFFICIAL_GLOBAL


@pytest.mark.parametrize("bound_th", sorted(_OFFICIAL_F_BY_BOUND))
def test_boundary_tolerance_like_official_tool(bound_th):
    """bound_th < 1 is a fraction of the diagonal (np.ceil of bound_th * np.linalg.norm(shape)); >= 1 a radius in
    pixels, given to skimage's disk as it is (2.5 -> a 6 x 6 grid of half-integer offsets, not a radius-2 disk)."""
    import _davis_official_case as C

    gt, res = C.sequences()["blobs"]
    ours = tuple(f_measure(res[t] == 1, gt[t] == 1, bound_th=bound_th) for t in range(len(gt)))
    assert ours == _OFFICIAL_F_BY_BOUND[bound_th]
    assert disk(2.5).shape == (6, 6) and disk(3).shape == (7, 7)


def test_decay_matches_official_below_256_frames_and_is_defined_from_256():
    """The official db_statistics (uint8 bin indices) under numpy 2: 255 evaluated frames -> the values below,
    exactly 256 -> decay NaN (the bin end 255 + 1 wraps to 0). Ours equals it up to 255 and stays defined."""
    v255 = np.linspace(1.0, 0.0, 255) ** 2
    assert db_statistics(v255) == (0.333989501312336, 0.29411764705882354, 0.7486902473804947)  # official output
    M, R, D = db_statistics(np.linspace(1.0, 0.0, 256) ** 2)  # official: (0.3339869281045752, 0.29296875, nan)
    assert (M, R) == (0.3339869281045752, 0.29296875) and np.isfinite(D)
    v = np.linspace(1.0, 0.0, 256) ** 2
    ids = (np.round(np.linspace(1, 256, 5) + 1e-10) - 1).astype(np.int64)
    assert D == np.nanmean(v[ids[0] : ids[1] + 1]) - np.nanmean(v[ids[3] : ids[4] + 1])
