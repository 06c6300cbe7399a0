"""OTB success/precision against the got10k toolkit on generated cases (python/unitrack/metrics/otb.py)."""
from __future__ import annotations

import types

import numpy as np
import pytest

from unitrack.metrics import otb as M

six = pytest.importorskip("six")  # got10k imports six without declaring it
got10k_metrics = pytest.importorskip("got10k.utils.metrics")
got10k_otb = pytest.importorskip("got10k.experiments.otb")


def _case(seed, n=200):
    rng = np.random.default_rng(seed)
    gt = np.c_[rng.uniform(0, 300, (n, 2)), rng.uniform(5, 80, (n, 2))]
    pred = gt + np.c_[rng.normal(0, 15, (n, 2)), rng.normal(0, 10, (n, 2))]
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    pred[: n // 10] += 400  # some complete misses (IoU 0)
    pred[n // 10 : n // 5] = gt[n // 10 : n // 5]  # some exact hits (IoU 1)
    # boxes on exact threshold values: IoU 0.5 exactly (half-width overlap) and centre error exactly 20 px
    pred[-1] = gt[-1] + [gt[-1][2] / 3, 0, 0, 0]  # IoU = (2/3)/(4/3) = 0.5
    pred[-2] = gt[-2] + [12, 16, 0, 0]  # centre error = 20
    return pred, gt


def _got10k_curves(pred, gt):
    ious = got10k_metrics.rect_iou(pred.copy(), gt.copy())
    ce = got10k_metrics.center_error(pred, gt)
    fake_self = types.SimpleNamespace(nbins_iou=21, nbins_ce=51)
    return got10k_otb.ExperimentOTB._calc_curves(fake_self, ious, ce)


@pytest.mark.parametrize("seed", range(5))
def test_matches_got10k(seed):
    pred, gt = _case(seed)
    np.testing.assert_allclose(M.rect_iou(pred, gt), got10k_metrics.rect_iou(pred.copy(), gt.copy()), atol=1e-12)
    np.testing.assert_allclose(M.center_error(pred, gt), got10k_metrics.center_error(pred, gt), atol=1e-12)
    succ, prec = _got10k_curves(pred, gt)
    r = M.evaluate_sequence(pred, gt)
    np.testing.assert_array_equal(r["success_curve"], succ)
    np.testing.assert_array_equal(r["precision_curve"], prec)
    assert r["auc"] == pytest.approx(np.mean(succ)) and r["precision"] == pytest.approx(prec[20])
    assert r["success_rate_50"] == pytest.approx(succ[10])


def test_dataset_average_matches_got10k_report():
    preds, gts, succ, prec = {}, {}, [], []
    for seed, n in zip(range(3), (50, 120, 7)):
        preds[f"v{seed}"], gts[f"v{seed}"] = _case(seed + 10, n)
        s, p = _got10k_curves(preds[f"v{seed}"], gts[f"v{seed}"])
        succ.append(s)
        prec.append(p)
    r = M.evaluate_sequences(preds, gts)
    # got10k ExperimentOTB.report: mean of per-sequence curves, AUC = mean of that curve, precision = curve[20]
    assert r["auc"] == pytest.approx(np.mean(np.mean(succ, axis=0)))
    assert r["precision"] == pytest.approx(np.mean(prec, axis=0)[20])
    assert set(r["per_video"]) == {"v0", "v1", "v2"}


def test_strict_threshold_and_invalid_ground_truth():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 0, 10]], float)
    pred = np.array([[0, 0, 10, 10], [100, 100, 10, 10], [5, 5, 0, 10]], float)
    iou = M.rect_iou(pred, gt)
    np.testing.assert_allclose(iou, [1, 0, -1])
    sc = M.success_curve(pred, gt)
    assert sc[0] == pytest.approx(1 / 3)  # IoU 0 is not > 0; the invalid frame fails every threshold
    assert sc[-1] == 0  # IoU 1 is not > 1
    assert M.evaluate_sequence(pred, gt)["auc"] == pytest.approx(np.mean(sc))


def test_bad_input():
    with pytest.raises(ValueError, match="same number of boxes"):
        M.rect_iou(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        M.center_error(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="same videos"):
        M.evaluate_sequences({"a": np.zeros((1, 4))}, {"b": np.zeros((1, 4))})
    with pytest.raises(ValueError, match="video 'a'"):
        M.evaluate_sequences({"a": np.zeros((2, 4))}, {"a": np.zeros((1, 4))})


def test_evaluate_otb_end_to_end(tmp_path):
    import cv2

    from unitrack.data.otb import write_results
    from unitrack.heads.sot import evaluate_otb

    preds, gts = {}, {}
    for i, name in enumerate(["A", "B"]):
        pred, gt = _case(20 + i, 6)
        gt = np.round(np.abs(gt)) + [1, 1, 1, 1]
        (tmp_path / "data" / name / "img").mkdir(parents=True)
        for f in range(6):
            cv2.imwrite(str(tmp_path / "data" / name / "img" / f"{f + 1:04d}.jpg"), np.zeros((4, 4, 3), np.uint8))
        np.savetxt(tmp_path / "data" / name / "groundtruth_rect.txt", gt, fmt="%d", delimiter=",")
        preds[name], gts[name] = pred, gt - [1, 1, 0, 0]
        write_results(tmp_path / "res" / f"{name}.txt", pred)
    r = evaluate_otb(tmp_path / "res", tmp_path / "data")
    ref = M.evaluate_sequences(preds, gts)
    assert r["auc"] == pytest.approx(ref["auc"]) and r["precision"] == pytest.approx(ref["precision"])
    assert r["missing"] == []
    (tmp_path / "res" / "B.txt").unlink()
    with pytest.raises(FileNotFoundError, match="1 video"):
        evaluate_otb(tmp_path / "res", tmp_path / "data")
    r2 = evaluate_otb(tmp_path / "res", tmp_path / "data", allow_missing=True)
    assert r2["missing"] == ["B"] and set(r2["per_video"]) == {"A"}
    write_results(tmp_path / "res" / "B.txt", preds["B"][:3])
    with pytest.raises(ValueError, match="3 boxes but video 'B' has 6 frames"):
        evaluate_otb(tmp_path / "res", tmp_path / "data")
