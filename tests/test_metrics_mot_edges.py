"""MOT metrics on boundary cases, bit-identical to TrackEval 1.3.0 (run live): IoU exactly at the CLEAR/Identity
threshold and at every alpha of HOTA's grid on decimal coordinates, TrackEval's integer truncation of the frame, id,
flag and class columns, and bad class values quoted as written (issue #12, point 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_metrics_mot_gen import assert_metrics_match, run_trackeval, write_trackeval_mot_layout
from unitrack.metrics.hota import ALPHAS
from unitrack.metrics.mot import box_iou_xywh, evaluate_mot_sequence


@pytest.fixture
def trackeval():
    return pytest.importorskip("trackeval")


def _trackeval_iou(a, b):
    from trackeval.datasets._base_dataset import _BaseDataset

    return _BaseDataset._calculate_box_ious(np.array(a, float), np.array(b, float), box_format="xywh")


def _run_trackeval_files(trackeval, root: Path, benchmark="MOT17", preproc=True):
    ds = trackeval.datasets.MotChallenge2DBox(
        {
            "GT_FOLDER": str(root / "gt"),
            "TRACKERS_FOLDER": str(root / "trackers"),
            "BENCHMARK": benchmark,
            "SPLIT_TO_EVAL": "train",
            "DO_PREPROC": preproc,
            "PRINT_CONFIG": False,
            "TRACKERS_TO_EVAL": ["ours"],
        }
    )
    return run_trackeval(ds)


def _write_text_layout(root: Path, name: str, gt_text: str, tr_text: str, n: int, benchmark="MOT17"):
    """TrackEval's layout with the gt/tracker files written verbatim (to test values as written)."""
    g, t = write_trackeval_mot_layout(root, {name: (np.zeros((0, 9)), np.zeros((0, 10)), n)}, benchmark)
    gt_file = g / f"{benchmark}-train" / name / "gt" / "gt.txt"
    tr_file = t / f"{benchmark}-train" / "ours" / "data" / f"{name}.txt"
    gt_file.write_text(gt_text)
    tr_file.write_text(tr_text)
    return gt_file, tr_file


# ------------------------------------------------------------------------------------------------ box IoU
def test_issue_example_iou_exactly_half_is_a_true_positive(trackeval, tmp_path):
    """gt (1489.3, 967.5, 69.0, 40.3) vs tracker (1512.3, 967.5, 69.0, 40.3): IoU 0.5 in exact arithmetic. With
    areas computed as w*h the float IoU lands below 0.5 - eps and the true positive became a miss plus a FP."""
    g, t = [[1489.3, 967.5, 69.0, 40.3]], [[1512.3, 967.5, 69.0, 40.3]]
    assert box_iou_xywh(g, t)[0, 0] == _trackeval_iou(g, t)[0, 0]
    gt = np.array([[1, 1, *g[0], 1, 1, 1.0]])
    tr = np.array([[1, 7, *t[0], 1, -1, -1, -1]])
    root = tmp_path / "te"
    write_trackeval_mot_layout(root, {"HALF": (gt, tr, 1)})
    theirs = _run_trackeval_files(trackeval, root)["HALF"]
    ours = evaluate_mot_sequence(gt, tr, 1)
    assert theirs["CLEAR"]["CLR_TP"] == 1 and ours["CLEAR"]["CLR_TP"] == 1 and ours["CLEAR"]["CLR_FP"] == 0
    assert_metrics_match(ours, theirs)


def test_box_iou_bitwise_equal_to_trackeval():
    rng = np.random.default_rng(0)
    # decimal coordinates with one or two digits, as written in MOTChallenge files
    a = np.round(np.c_[rng.uniform(0, 1900, (60, 2)), rng.uniform(1, 200, (60, 2))], rng.integers(1, 3))
    b = a[rng.integers(0, 60, 80)] + np.round(rng.normal(0, 20, (80, 4)), 1)
    b[:, 2:] = np.abs(b[:, 2:])
    b[:5, 2] = 0  # zero-area boxes
    np.testing.assert_array_equal(box_iou_xywh(a, b), _trackeval_iou(a, b))


def _pairs_at_iou(alpha: float, k: float, x: float, y: float, h: float):
    """Two boxes of width w = (1 + alpha) k shifted by d = (1 - alpha) k: IoU = (w - d) / (w + d) = alpha exactly
    in decimal arithmetic (k, x, y, h decimals)."""
    w = round((1 + alpha) * k, 6)
    d = round((1 - alpha) * k, 6)
    return [x, y, w, h], [round(x + d, 6), y, w, h]


def test_every_threshold_and_hota_alpha_on_decimal_boxes_like_trackeval(trackeval, tmp_path):
    """One frame per (alpha, position): gt and tracker at an IoU of exactly alpha (0.05..0.95 and 0.5 many times),
    on decimal coordinates. Every CLEAR / Identity / HOTA field must equal TrackEval's bit for bit."""
    rng = np.random.default_rng(1)
    gts, trs = [], []
    f = 0
    alphas = [round(float(a), 2) for a in ALPHAS] + [0.5] * 20
    for alpha in alphas:
        for _ in range(3):
            f += 1
            k = round(float(rng.uniform(5, 60)), 1)
            x, y = round(float(rng.uniform(0, 1800)), 1), round(float(rng.uniform(0, 1000)), 1)
            h = round(float(rng.uniform(10, 200)), 1)
            g, t = _pairs_at_iou(alpha, k, x, y, h)
            gts.append([f, 1 + f % 4, *g, 1, 1, 1.0])
            trs.append([f, 1 + (f // 7) % 3, *t, 1, -1, -1, -1])
    gt, tr = np.array(gts), np.array(trs)
    root = tmp_path / "te"
    write_trackeval_mot_layout(root, {"EDGE": (gt, tr, f)})
    theirs = _run_trackeval_files(trackeval, root)["EDGE"]
    ours = evaluate_mot_sequence(gt, tr, f)
    assert_metrics_match(ours, theirs)
    # the case really sits on the boundaries: some IoUs round below their alpha, some above
    ious = np.array([box_iou_xywh(g[None, 2:6], t[None, 2:6])[0, 0] for g, t in zip(gt, tr)])
    exact = np.repeat(alphas, 3)
    assert (ious < exact).any() and (ious > exact).any() and (ious == exact).any()


# ------------------------------------------------------------------------------------------------ columns
def test_integer_columns_truncated_like_trackeval(trackeval, tmp_path):
    """TrackEval reads frame (int(float)), id, the active flag and the class with astype(int): 2.9 -> 2,
    id 3.7 -> 3, flag 0.5 -> 0 (zero-marked: ignored), class 1.9 -> 1 (pedestrian), 7.5 -> 7 (distractor), a
    tracker class of 1.5 -> 1 (accepted)."""
    gt_text = (
        "1,1,100,100,50,80,1,1,1\n"
        "1,2,300,100,50,80,0.5,1,1\n"  # zero-marked after truncation
        "2.9,1,102,100,50,80,1,1.9,1\n"  # frame 2, class 1
        "2,3.7,500,100,50,80,0.9,1,1\n"  # id 3, flag 0 -> ignored
        "3,1,104,100,50,80,-0.7,1,1\n"  # flag 0 -> ignored
        "3,4,700,100,50,80,1,7.5,1\n"  # class 7: static person (distractor)
        "3,5,900,100,50,80,1.2,1,1\n"
    )
    tr_text = (
        "1,10,101,100,50,80,1,-1,-1,-1\n"
        "1,11,301,100,50,80,1,-1,-1,-1\n"
        "2,10,103,100,50,80,1,1.5,-1,-1\n"
        "2,12.6,501,100,50,80,1,-1,-1,-1\n"
        "3,10,105,100,50,80,1,-1,-1,-1\n"
        "3,13,701,100,50,80,1,-1,-1,-1\n"
        "3.5,14,901,100,50,80,1,-1,-1,-1\n"
    )
    root = tmp_path / "te"
    gt_file, tr_file = _write_text_layout(root, "TRUNC", gt_text, tr_text, 3)
    theirs = _run_trackeval_files(trackeval, root)["TRUNC"]
    ours = evaluate_mot_sequence(gt_file, tr_file, 3)
    assert_metrics_match(ours, theirs)
    # the same numbers from arrays
    g = np.array([[float(v) for v in ln.split(",")] for ln in gt_text.split()])
    t = np.array([[float(v) for v in ln.split(",")] for ln in tr_text.split()])
    assert_metrics_match(evaluate_mot_sequence(g, t, 3), theirs)
    # and what that means: ids 2, 3 and frame-3 id 1 zero-marked, the static person's box removed with it
    assert theirs["CLEAR"]["CLR_TP"] == 3 and ours["Count"]["GT_Dets"] == 3 and ours["Count"]["Dets"] == 6


def test_bad_class_values_quoted_as_written(tmp_path):
    gt = tmp_path / "gt.txt"
    tr = tmp_path / "tr.txt"
    gt.write_text("1,1,100,100,50,80,1,1,1\n\n1,2,300,100,50,80,1,14.50,1\n")
    tr.write_text("1,10,101,100,50,80,1,-1,-1,-1\n")
    with pytest.raises(ValueError, match=r"gt\.txt:3: invalid gt class '14\.50'"):
        evaluate_mot_sequence(gt, tr, 1)
    evaluate_mot_sequence(gt, tr, 1, preproc=False)  # the class is not used without preprocessing
    gt.write_text("1,1,100,100,50,80,1,1,1\n")
    tr.write_text("1,10,101,100,50,80,1,-1,-1,-1\n1,11,301,100,50,80,1,2.25e0,-1,-1\n")
    with pytest.raises(ValueError, match=r"tr\.txt:2: tracker class column \(8\) must be <= 1.*found '2\.25e0'"):
        evaluate_mot_sequence(gt, tr, 1)
    tr.write_text("1,10,101,100,50,80,1,1.99,-1,-1\n")  # truncated to 1, as in TrackEval: accepted
    assert evaluate_mot_sequence(gt, tr, 1)["CLEAR"]["CLR_TP"] == 1
    gt.write_text("1,1,100,100,50,80,nan,1,1\n")
    with pytest.raises(ValueError, match=r"gt\.txt:1: gt active flag \(column 7\) must be a finite number, got 'nan'"):
        evaluate_mot_sequence(gt, tr, 1)
    # arrays: the argument and row are named, the value shown as Python writes it
    g = np.array([[1, 1, 100, 100, 50, 80, 1, 1, 1], [1, 2, 300, 100, 50, 80, 1, -0.5, 1]])
    t = np.array([[1, 10, 101, 100, 50, 80, 1, -1, -1, -1]])
    with pytest.raises(ValueError, match=r"gt\[1\]: invalid gt class '-0\.5'"):
        evaluate_mot_sequence(g, t, 1)
