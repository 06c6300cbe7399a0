"""OTB success/precision (python/unitrack/metrics/otb.py): live against got10k, and against values printed by
UniTrack's pysot toolkit."""

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
    np.testing.assert_array_equal(M.rect_iou(pred, gt, "got10k"), got10k_metrics.rect_iou(pred.copy(), gt.copy()))
    np.testing.assert_array_equal(M.center_error(pred, gt, "got10k"), got10k_metrics.center_error(pred, gt))
    succ, prec = _got10k_curves(pred, gt)
    np.testing.assert_array_equal(M.success_curve(pred, gt, convention="got10k"), succ)
    np.testing.assert_array_equal(M.precision_curve(pred, gt, convention="got10k"), prec)
    # scoring a result file with got10k's report replaces the first box by the ground truth
    pred1 = pred.copy()
    pred1[0] = gt[0]
    succ1, prec1 = _got10k_curves(pred1, gt)
    r = M.evaluate_sequence(pred, gt, "got10k")
    np.testing.assert_array_equal(r["success_curve"], succ1)
    np.testing.assert_array_equal(r["precision_curve"], prec1)
    assert r["auc"] == np.mean(succ1) and r["precision"] == prec1[20] and r["success_rate_50"] == succ1[10]


def test_dataset_average_matches_got10k_report():
    preds, gts, succ, prec = {}, {}, [], []
    for seed, n in zip(range(3), (50, 120, 7)):
        preds[f"v{seed}"], gts[f"v{seed}"] = _case(seed + 10, n)
        p1 = preds[f"v{seed}"].copy()
        p1[0] = gts[f"v{seed}"][0]
        s, p = _got10k_curves(p1, gts[f"v{seed}"])
        succ.append(s)
        prec.append(p)
    r = M.evaluate_sequences(preds, gts, "got10k")
    # got10k ExperimentOTB.report: mean of per-sequence curves, AUC = mean of that curve, precision = curve[20]
    assert r["auc"] == np.mean(np.mean(succ, axis=0))
    assert r["precision"] == np.mean(prec, axis=0)[20]
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
    with pytest.raises(ValueError, match="convention must be one of"):
        M.rect_iou(np.zeros((3, 4)), np.zeros((3, 4)), "pysot-upstream")
    with pytest.raises(ValueError, match="origin must be 0"):
        M.center_error(np.zeros((3, 4)), np.zeros((3, 4)), origin=2)
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


# ------------------------------------------------------------------------------------------------ conventions
# UniTrack's convention: expected values produced by running UniTrack's vendored pysot toolkit (GitHub
# Zhongdao/UniTrack, tracker/sot/lib/eval_toolkit/pysot, unmodified; numpy 2.4.6) outside this repository on the
# files of tests/_otb_official_case.py: OPEBenchmark.eval_success / eval_precision, then show_result's
# np.mean(list(success.values())) for the AUC and np.mean(list(precision.values()), axis=0)[20] for the precision,
# printed with repr(). The curves are kept as frame counts (curve = count / float(n_frames), the tool's arithmetic).
_PYSOT_AUC = 0.49933862433862436
_PYSOT_PRECISION = 0.8472222222222222
_PYSOT_SUCCESS_COUNTS = {
    "Alpha": [11, 10, 10, 9, 7, 7, 7, 7, 6, 6, 5, 4, 4, 4, 4, 4, 3, 3, 3, 1, 0],
    "Beta": [2] * 19 + [1, 0],
    "Gamma": [5] * 13 + [4, 4, 3, 3, 3, 2, 1, 0],
}
_PYSOT_PRECISION_COUNTS = {
    "Alpha": [1, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6, 6, 8, 9, 9] + [10] * 28,
    "Beta": [3, 5, 6, 6, 6] + [7] * 46,
    "Gamma": [1, 3, 4] + [5] * 48,
}
_PYSOT_VIDEO_AUC = {"Alpha": 0.4563492063492064, "Beta": 0.23214285714285715, "Gamma": 0.8095238095238093}


@pytest.fixture
def otb_case(tmp_path):
    import _otb_official_case as C

    C.write_layout(str(tmp_path / "OTB"), str(tmp_path / "res"))
    return tmp_path / "OTB", tmp_path / "res", C


def test_unitrack_convention_bit_identical_to_unitrack_pysot_toolkit(otb_case):
    """The default convention scores the result file as written, with pysot's presence tests (IoU -1 when the gt is
    not all > 0; centre error -1 = precise when the gt centre is not > 0) and IoUs exactly at the thresholds."""
    from unitrack.heads.sot import evaluate_otb

    root, res, C = otb_case
    r = M.evaluate_results(res, root)
    assert r["convention"] == "unitrack" and list(r["per_video"]) == ["Alpha", "Beta", "Gamma"]
    assert r["auc"] == _PYSOT_AUC and r["precision"] == _PYSOT_PRECISION
    for name, (gt, _) in C.videos().items():
        v = r["per_video"][name]
        np.testing.assert_array_equal(v["success_curve"], np.array(_PYSOT_SUCCESS_COUNTS[name]) / float(len(gt)))
        np.testing.assert_array_equal(v["precision_curve"], np.array(_PYSOT_PRECISION_COUNTS[name]) / float(len(gt)))
        assert v["auc"] == _PYSOT_VIDEO_AUC[name]
    # the SOT head's evaluator defaults to the same convention
    h = evaluate_otb(res, root)
    assert h["auc"] == _PYSOT_AUC and h["precision"] == _PYSOT_PRECISION


def test_got10k_convention_bit_identical_to_live_got10k_report(otb_case, tmp_path, monkeypatch):
    """got10k's ExperimentOTB.report, run live on the same files (its dataset replaced by one reading them, its plots
    switched off): it overwrites the first result box with the ground truth before scoring."""
    root, res, C = otb_case
    vids = C.videos()

    class _Data:
        seq_names = list(vids)

        def __len__(self):
            return len(vids)

        def __iter__(self):
            return iter([([], np.loadtxt(root / n / "groundtruth_rect.txt", delimiter=",")) for n in vids])

    exp = got10k_otb.ExperimentOTB.__new__(got10k_otb.ExperimentOTB)
    exp.dataset, exp.nbins_iou, exp.nbins_ce = _Data(), 21, 51
    (tmp_path / "tr").mkdir()
    (tmp_path / "tr" / "ours").symlink_to(res)
    exp.result_dir, exp.report_dir = str(tmp_path / "tr"), str(tmp_path / "reports")
    monkeypatch.setattr(got10k_otb.ExperimentOTB, "plot_curves", lambda self, names: None)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        perf = exp.report(["ours"])["ours"]
    r = M.evaluate_results(res, root, convention="got10k")
    assert r["auc"] == perf["overall"]["success_score"]
    assert r["precision"] == perf["overall"]["precision_score"]
    assert r["success_rate_50"] == perf["overall"]["success_rate"]
    assert r["success_curve"].tolist() == perf["overall"]["success_curve"]
    assert r["precision_curve"].tolist() == perf["overall"]["precision_curve"]
    for name in vids:
        seq = perf["seq_wise"][name]
        assert r["per_video"][name]["auc"] == seq["success_score"]
        assert r["per_video"][name]["success_curve"].tolist() == seq["success_curve"]
        assert r["per_video"][name]["precision_curve"].tolist() == seq["precision_curve"]
    # the two conventions really differ on these files (first box, absent / degenerate gt)
    u = M.evaluate_results(res, root)
    assert u["auc"] != r["auc"] and u["precision"] != r["precision"]


def test_first_box_convention_on_arrays():
    gt = np.array([[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20]], float)
    pred = np.array([[60, 60, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20]], float)  # first box far off
    u = M.evaluate_sequence(pred, gt)  # UniTrack: scored as written
    g = M.evaluate_sequence(pred, gt, convention="got10k")  # got10k: first box := gt[0]
    assert u["success_curve"][0] == 2 / 3 and g["success_curve"][0] == 1.0
    assert u["precision"] == 2 / 3 and g["precision"] == 1.0
    # origin: the presence test of the unitrack convention is "> 0" in the files' 1-based coordinates
    gt0 = np.array([[-0.5, 3, 10, 10]])  # 0-based x = -0.5 is file x = 0.5 > 0: present
    assert M.rect_iou(gt0, gt0)[0] == 1.0 and M.rect_iou(gt0, gt0, origin=1)[0] == -1.0
