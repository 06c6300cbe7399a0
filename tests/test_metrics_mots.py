"""MOTS metrics (sMOTSA, mask-IoU HOTA/CLEAR/Identity): known cases and live agreement with TrackEval."""

from __future__ import annotations

import numpy as np
import pytest

from test_metrics_mot_gen import assert_metrics_match, make_mots_case, run_trackeval, write_trackeval_mots_layout
from unitrack.data.mots import MOTSObject, write_mots_txt
from unitrack.metrics.mot import combine_results
from unitrack.metrics.mots import evaluate_mots_benchmark, evaluate_mots_sequence, mask_iou


def _box_mask(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_smotsa_hand_computed():
    # frame 1: gt A matched with IoU 0.8 (tracker mask 8 of gt's 10 rows); frame 2: same, tracker id switches;
    # plus one FP in frame 2.  sMOTSA = (0.8 + 0.8 - 1 FP - 1 IDSW) / 2
    g = [MOTSObject.from_mask(f, 2001, 2, _box_mask(40, 40, 0, 10, 0, 10)) for f in (1, 2)]
    t = [
        MOTSObject.from_mask(1, 5, 2, _box_mask(40, 40, 0, 8, 0, 10)),
        MOTSObject.from_mask(2, 6, 2, _box_mask(40, 40, 0, 8, 0, 10)),
        MOTSObject.from_mask(2, 7, 2, _box_mask(40, 40, 30, 35, 30, 35)),
    ]
    r = evaluate_mots_sequence(g, t, 2)
    assert r["MOTS"]["sMOTSA"] == pytest.approx((0.8 + 0.8 - 1 - 1) / 2)
    assert r["MOTS"]["MOTSA"] == pytest.approx((2 - 1 - 1) / 2)
    assert r["MOTS"]["MOTSP"] == pytest.approx(0.8)
    assert r["CLEAR"]["IDSW"] == 1


def test_ignore_region_removes_unmatched_tracker_masks():
    g = [
        MOTSObject.from_mask(1, 2001, 2, _box_mask(50, 50, 0, 10, 0, 10)),
        MOTSObject.from_mask(1, 10000, 10, _box_mask(50, 50, 30, 50, 30, 50)),
    ]
    inside = MOTSObject.from_mask(1, 9, 2, _box_mask(50, 50, 32, 40, 32, 40))
    outside = MOTSObject.from_mask(1, 8, 2, _box_mask(50, 50, 15, 25, 0, 10))
    r = evaluate_mots_sequence(g, [inside, outside], 1)
    assert r["CLEAR"]["CLR_FP"] == 1 and r["Count"]["Dets"] == 1


def test_overlap_and_size_errors():
    a = MOTSObject.from_mask(1, 2001, 2, _box_mask(20, 20, 0, 10, 0, 10))
    b = MOTSObject.from_mask(1, 2002, 2, _box_mask(20, 20, 5, 15, 5, 15))
    with pytest.raises(ValueError, match="overlaps"):
        evaluate_mots_sequence([a], [a, b], 1)
    c = MOTSObject.from_mask(1, 2003, 2, _box_mask(30, 20, 20, 25, 0, 5))
    with pytest.raises(ValueError, match="size"):
        evaluate_mots_sequence([a], [c], 1)
    with pytest.raises(ValueError, match="more than once"):
        evaluate_mots_sequence([a], [a, MOTSObject.from_mask(1, 2001, 2, _box_mask(20, 20, 15, 18, 0, 5))], 1)


def test_mask_iou_matches_numpy():
    rng = np.random.default_rng(0)
    ms = rng.random((5, 17, 23)) < 0.4
    objs = [MOTSObject.from_mask(1, i, 2, m) for i, m in enumerate(ms)]
    iou = mask_iou([o.to_coco() for o in objs[:2]], [o.to_coco() for o in objs[2:]])
    inter = (ms[:2, None] & ms[None, 2:]).sum((-1, -2))
    union = (ms[:2, None] | ms[None, 2:]).sum((-1, -2))
    np.testing.assert_allclose(iou, inter / union)


def test_trackeval_mots_parity(tmp_path):
    trackeval = pytest.importorskip("trackeval")
    seqs = {
        "MOTS-A": make_mots_case(0, switches=[(1, 5)], gaps=[(2, 3, 6)], fps=2),
        "MOTS-B": make_mots_case(1, fps=3, empty_frames=[4], shrink=4),
        "MOTS-C": make_mots_case(2, fps=0, ignore=False, switches=[(0, 2), (0, 8)]),
    }
    g, t = write_trackeval_mots_layout(tmp_path, seqs)
    ds = trackeval.datasets.MOTSChallenge(
        {
            "GT_FOLDER": str(g),
            "TRACKERS_FOLDER": str(t),
            "PRINT_CONFIG": False,
            "TRACKERS_TO_EVAL": ["ours"],
            "SPLIT_TO_EVAL": "train",
        }
    )
    theirs = run_trackeval(ds)
    ours = {n: evaluate_mots_sequence(gg, tt, nf) for n, (gg, tt, nf) in seqs.items()}
    ours["COMBINED_SEQ"] = combine_results(ours)
    for k in theirs:
        assert_metrics_match(ours[k], theirs[k])
        assert ours[k]["MOTS"]["sMOTSA"] == pytest.approx(theirs[k]["CLEAR"]["sMOTA"], abs=1e-9)


def test_mots_benchmark_folder(tmp_path):
    gt, tr, n = make_mots_case(3, fps=1)
    d = tmp_path / "gt" / "train" / "MOTS20-02"
    (d / "gt").mkdir(parents=True)
    (d / "seqinfo.ini").write_text(f"[Sequence]\nname=MOTS20-02\nseqLength={n}\n")
    write_mots_txt(d / "gt" / "gt.txt", gt)
    write_mots_txt(tmp_path / "res" / "MOTS20-02.txt", tr)
    res = evaluate_mots_benchmark(tmp_path / "gt", tmp_path / "res", progress=False)
    direct = evaluate_mots_sequence(gt, tr, n)
    assert res["MOTS20-02"]["MOTS"] == direct["MOTS"]
    assert res["COMBINED_SEQ"]["MOTS"]["sMOTSA"] == pytest.approx(direct["MOTS"]["sMOTSA"])


def test_trackeval_mots_boundary_values(tmp_path):
    """Mask IoUs exactly at 0.5 and at HOTA alphas, and an unmatched tracker mask exactly half inside the ignore
    region (IoA 0.5 is not > 0.5: it stays a false positive): bit-identical to TrackEval."""
    trackeval = pytest.importorskip("trackeval")
    H, W = 60, 200
    gt, tr = [], []
    # frame f: gt 20 x 20 box; tracker = the gt box shrunk in width to 20 * alpha columns -> IoU = alpha exactly
    alphas = [0.05 * k for k in range(1, 20)] + [0.5, 0.5]
    for f, a in enumerate(alphas, 1):
        cols = int(round(20 * a))
        gt.append(MOTSObject.from_mask(f, 2001, 2, _box_mask(H, W, 0, 20, 0, 20)))
        tr.append(MOTSObject.from_mask(f, 5 + (f > 10), 2, _box_mask(H, W, 0, 20, 0, cols)))
        gt.append(MOTSObject.from_mask(f, 10000, 10, _box_mask(H, W, 40, 60, 100, 140)))
        # 10 x 20 mask, half of it inside the ignore region (IoA = 0.5 exactly)
        tr.append(MOTSObject.from_mask(f, 9, 2, _box_mask(H, W, 40, 50, 130, 150)))
    n = len(alphas)
    seqs = {"MOTS-EDGE": (gt, tr, n)}
    g, t = write_trackeval_mots_layout(tmp_path, seqs)
    ds = trackeval.datasets.MOTSChallenge(
        {
            "GT_FOLDER": str(g),
            "TRACKERS_FOLDER": str(t),
            "PRINT_CONFIG": False,
            "TRACKERS_TO_EVAL": ["ours"],
            "SPLIT_TO_EVAL": "train",
        }
    )
    theirs = run_trackeval(ds)["MOTS-EDGE"]
    ours = evaluate_mots_sequence(gt, tr, n)
    assert_metrics_match(ours, theirs)
    assert ours["CLEAR"]["CLR_FP"] == n + 9  # the half-inside mask every frame + the 9 frames below IoU 0.5
