"""MOT metrics (HOTA, CLEAR, Identity): known-event checks and live agreement with TrackEval 1.3.0."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from test_metrics_mot_gen import assert_metrics_match, make_mot_case, run_trackeval, write_trackeval_mot_layout
from unitrack.metrics.clear import clear_metrics
from unitrack.metrics.hota import ALPHAS, hota_metrics
from unitrack.metrics.identity import identity_metrics
from unitrack.metrics.mot import box_iou_xywh, combine_results, evaluate_mot_benchmark, evaluate_mot_sequence


@pytest.fixture
def trackeval():
    return pytest.importorskip("trackeval")


def _motmetrics_data() -> Path:
    spec = importlib.util.find_spec("motmetrics")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("motmetrics wheel (data files) not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _trackeval_mot(trackeval, tmp_path, seqs, benchmark="MOT17", preproc=True):
    g, t = write_trackeval_mot_layout(tmp_path, seqs, benchmark)
    ds = trackeval.datasets.MotChallenge2DBox(
        {
            "GT_FOLDER": str(g),
            "TRACKERS_FOLDER": str(t),
            "BENCHMARK": benchmark,
            "SPLIT_TO_EVAL": "train",
            "DO_PREPROC": preproc,
            "PRINT_CONFIG": False,
            "TRACKERS_TO_EVAL": ["ours"],
        }
    )
    return run_trackeval(ds)


def _ours(seqs, benchmark="MOT17", preproc=True):
    out = {n: evaluate_mot_sequence(g, t, n_f, benchmark, preproc) for n, (g, t, n_f) in seqs.items()}
    out["COMBINED_SEQ"] = combine_results(out)
    return out


# ------------------------------------------------------------------------------------ known events
def test_known_events_counts():
    c = make_mot_case(
        seed=4,
        num_frames=30,
        num_objects=4,
        switches=[(0, 10), (3, 20)],
        gaps=[(1, 8, 12)],
        fps=1,
        empty_frames=[15],
        blind_frames=[25],
    )
    res = evaluate_mot_sequence(c.gt, c.tracker, c.num_frames)["CLEAR"]
    for k, v in c.expected.items():
        assert res[k] == v, k
    n_gt = len(c.gt)
    assert res["MOTA"] == pytest.approx((n_gt - c.expected["CLR_FN"] - c.expected["CLR_FP"] - 2) / n_gt)
    assert res["MT"] + res["PT"] + res["ML"] == 4


def test_perfect_tracker_scores_one():
    c = make_mot_case(seed=0, jitter=0.0)
    r = evaluate_mot_sequence(c.gt, c.tracker, c.num_frames)
    assert r["CLEAR"]["MOTA"] == 1.0 and r["CLEAR"]["MOTP"] == pytest.approx(1.0)
    assert r["Identity"]["IDF1"] == 1.0
    np.testing.assert_allclose(r["HOTA"]["HOTA"], 1.0)
    assert len(r["HOTA"]["HOTA"]) == 19 and ALPHAS[0] == pytest.approx(0.05) and ALPHAS[-1] == pytest.approx(0.95)


def test_identity_switch_halves_identity_recall():
    # one object, 10 frames, tracker id changes at frame 6 -> best id mapping covers 5 of 10 frames
    gt_ids = [np.array([7])] * 10
    tr_ids = [np.array([1])] * 5 + [np.array([2])] * 5
    sim = [np.array([[0.9]])] * 10
    idr = identity_metrics(gt_ids, tr_ids, sim)
    assert (idr["IDTP"], idr["IDFN"], idr["IDFP"]) == (5, 5, 5)
    cl = clear_metrics(gt_ids, tr_ids, sim)
    assert cl["IDSW"] == 1 and cl["CLR_TP"] == 10
    h = hota_metrics(gt_ids, tr_ids, sim)
    # AssA at alpha <= 0.9: each TP's association IoU = 5 / (10 + 5 - 5) = 0.5
    assert h["AssA"][0] == pytest.approx(0.5)
    assert h["DetA"][ALPHAS > 0.9 + 1e-9].max() == 0.0


def test_box_iou_conventions():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 5]], float)
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10]], float)
    iou = box_iou_xywh(a, b)
    assert iou[0, 0] == pytest.approx(50 / 150) and iou[0, 1] == 1.0
    assert np.all(iou[1] == 0)  # zero-area box never matches


def test_bad_input_errors():
    g = np.array([[1, 1, 0, 0, 10, 10, 1, 1, 1], [1, 1, 5, 5, 10, 10, 1, 1, 1]], float)
    t = np.array([[1, 1, 0, 0, 10, 10, 1, -1, -1, -1]], float)
    with pytest.raises(ValueError, match="more than once"):
        evaluate_mot_sequence(g, t, 2)
    with pytest.raises(ValueError, match=r"1\.\.1"):
        evaluate_mot_sequence(g[:1], np.array([[3, 1, 0, 0, 10, 10, 1, -1, -1, -1]], float), 1)
    with pytest.raises(ValueError, match="benchmark"):
        evaluate_mot_sequence(g[:1], t, 1, benchmark="MOT99")
    with pytest.raises(ValueError, match="shape"):
        clear_metrics([np.array([1])], [np.array([1, 2])], [np.zeros((1, 1))])
    with pytest.raises(ValueError, match="invalid gt class"):
        evaluate_mot_sequence(np.array([[1, 1, 0, 0, 10, 10, 1, 99, 1]], float), t, 1)


# ------------------------------------------------------------------------------------ TrackEval parity
def test_trackeval_tud_campus_and_stadtmitte(trackeval, tmp_path):
    data = _motmetrics_data()
    seqs = {}
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        g = np.loadtxt(data / name / "gt.txt", delimiter=",")
        t = np.loadtxt(data / name / "test.txt", delimiter=",")
        seqs[name] = (g, t, int(max(g[:, 0].max(), t[:, 0].max())))
    theirs = _trackeval_mot(trackeval, tmp_path, seqs, benchmark="MOT15", preproc=False)
    ours = _ours(seqs, "MOT15", False)
    for k in ("TUD-Campus", "TUD-Stadtmitte", "COMBINED_SEQ"):
        assert_metrics_match(ours[k], theirs[k])
    # sanity: a real tracker, not a degenerate case
    assert 0.3 < ours["TUD-Campus"]["CLEAR"]["MOTA"] < 0.9 and ours["TUD-Campus"]["CLEAR"]["IDSW"] > 0


def test_trackeval_generated_events(trackeval, tmp_path):
    seqs = {}
    for i, kw in enumerate(
        [
            dict(switches=[(0, 5), (2, 11)], gaps=[(1, 3, 9)], fps=2, empty_frames=[14], blind_frames=[18]),
            dict(num_objects=6, switches=[(5, 2)], gaps=[(0, 1, 4), (3, 20, 25)], fps=0, jitter=12.0),
            dict(num_objects=3, lifetimes=[(1, 10), (5, 31), (12, 20)], fps=3, empty_frames=[1, 2, 30]),
        ]
    ):
        c = make_mot_case(seed=10 + i, **kw)
        seqs[f"GEN-{i:02d}"] = (c.gt, c.tracker, c.num_frames)
    theirs = _trackeval_mot(trackeval, tmp_path, seqs)
    ours = _ours(seqs)
    for k in theirs:
        assert_metrics_match(ours[k], theirs[k])


def test_trackeval_empty_tracker_and_empty_gt(trackeval, tmp_path):
    c = make_mot_case(seed=3, num_frames=10)
    empty_t = np.zeros((0, 10))
    no_gt = c.gt[c.gt[:, 0] > 100]
    seqs = {"EMPTY-TR": (c.gt, empty_t, 10), "EMPTY-GT": (no_gt, c.tracker, 10), "FULL": (c.gt, c.tracker, 10)}
    theirs = _trackeval_mot(trackeval, tmp_path, seqs)
    ours = _ours(seqs)
    for k in theirs:
        assert_metrics_match(ours[k], theirs[k])


@pytest.mark.parametrize("bench", ["MOT17", "MOT20", "MOT15"])
@pytest.mark.parametrize("preproc", [True, False])
def test_trackeval_preprocessing(trackeval, tmp_path, bench, preproc):
    rng = np.random.default_rng(7)
    c = make_mot_case(seed=5, num_frames=20, num_objects=6, switches=[(1, 9)], fps=1)
    g = c.gt.copy()
    if bench == "MOT15":
        g[:, 7] = -1  # MOT15 gt has no classes
    else:
        # objects 3..6 become distractors / non-pedestrians; some pedestrian lines are zero-marked
        for obj, cls in ((3, 2), (4, 7), (5, 6), (6, 12)):
            g[g[:, 1] == obj, 7] = cls
    zero = rng.random(len(g)) < 0.15
    g[zero, 6] = 0
    seqs = {"PRE": (g, c.tracker, c.num_frames)}
    theirs = _trackeval_mot(trackeval, tmp_path, seqs, bench, preproc)
    ours = _ours(seqs, bench, preproc)
    assert_metrics_match(ours["PRE"], theirs["PRE"])
    # independent check of what the preprocessing removes: tracker boxes on distractor objects (gt ids 3, 4, 6
    # = classes 2, 7, 12; plus id 5 = class 6 non_mot_vehicle in MOT20); pedestrian gt only; zero-marked gone
    if preproc and bench != "MOT15":
        removed_ids = [3, 4, 6] + ([5] if bench == "MOT20" else [])
        assert ours["PRE"]["Count"]["Dets"] == int((~np.isin(c.tracker[:, 1], removed_ids)).sum())
        assert ours["PRE"]["Count"]["GT_Dets"] == int(((g[:, 7] == 1) & (g[:, 6] != 0)).sum())
    else:
        assert ours["PRE"]["Count"]["Dets"] == len(c.tracker)
        assert ours["PRE"]["Count"]["GT_Dets"] == int((g[:, 6] != 0).sum())


def test_benchmark_layout_and_combined(tmp_path):
    seqs = {f"MOT17-0{i}": make_mot_case(seed=i, num_frames=15) for i in (2, 4)}
    for name, c in seqs.items():
        d = tmp_path / "gt" / "train" / name
        (d / "gt").mkdir(parents=True)
        (d / "seqinfo.ini").write_text(
            f"[Sequence]\nname={name}\nseqLength={c.num_frames}\nimWidth=1920\n"
            f"imHeight=1080\nframeRate=30\nimDir=img1\nimExt=.jpg\n"
        )
        np.savetxt(d / "gt" / "gt.txt", c.gt, delimiter=",", fmt="%g")
        (tmp_path / "res").mkdir(exist_ok=True)
        np.savetxt(tmp_path / "res" / f"{name}.txt", c.tracker, delimiter=",", fmt="%g")
    res = evaluate_mot_benchmark(tmp_path / "gt", tmp_path / "res", "MOT17", "train", progress=False)
    assert set(res) == {"MOT17-02", "MOT17-04", "COMBINED_SEQ"}
    comb = res["COMBINED_SEQ"]["CLEAR"]
    assert comb["CLR_TP"] == sum(res[s]["CLEAR"]["CLR_TP"] for s in seqs)
    assert comb["IDSW"] == sum(res[s]["CLEAR"]["IDSW"] for s in seqs)
    with pytest.raises(FileNotFoundError, match="MOT17-09"):
        evaluate_mot_benchmark(tmp_path / "gt", tmp_path / "res", seqs=["MOT17-09"], progress=False)


def test_trackeval_random_crowded_scenes(trackeval, tmp_path):
    """Heavily overlapping random boxes, random id changes, duplicated boxes (ties in the assignments)."""
    rng = np.random.default_rng(123)
    seqs = {}
    for s in range(3):
        n_f, n_obj = 25, 8
        gt, tr = [], []
        pos = rng.uniform(0, 200, (n_obj, 2))
        tid = np.arange(n_obj) + 1
        for f in range(1, n_f + 1):
            pos += rng.normal(0, 4, pos.shape)
            alive = rng.random(n_obj) < 0.85
            for o in np.flatnonzero(alive):
                gt.append([f, o + 1, *pos[o], 40, 80, 1, 1, 1])
            if rng.random() < 0.2:
                a, b = rng.choice(n_obj, 2, replace=False)
                tid[[a, b]] = tid[[b, a]]
            for o in np.flatnonzero(rng.random(n_obj) < 0.8):
                box = pos[o] + rng.normal(0, 6, 2) if rng.random() < 0.9 else pos[o]  # exact copies -> ties
                tr.append([f, tid[o], *box, 40, 80, 1, -1, -1, -1])
            for k in range(rng.integers(0, 3)):
                tr.append([f, 900 + k, *rng.uniform(0, 200, 2), 40, 80, 1, -1, -1, -1])
        seqs[f"RND-{s}"] = (np.array(gt, float), np.array(tr, float), n_f)
    theirs = _trackeval_mot(trackeval, tmp_path, seqs)
    ours = _ours(seqs)
    for k in theirs:
        assert_metrics_match(ours[k], theirs[k])
