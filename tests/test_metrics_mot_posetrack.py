"""PoseTrack MOTA (poseval definition) on hand-built cases with known counts."""

from __future__ import annotations

import numpy as np
import pytest

from unitrack.data.posetrack import PoseFrame, PosePerson, PoseSequence, read_posetrack
from unitrack.metrics.posetrack import evaluate_posetrack_dirs, head_size, posetrack_mota

HEAD = np.array([0.0, 0.0, 50.0, 0.0])  # head size 0.6 * 50 = 30 px -> match radius 15 px


def _p(x0, y0, tid, head=True, offset=None):
    j = np.zeros((15, 3))
    j[:, 0] = x0 + 10 * np.arange(15)
    j[:, 1] = y0
    j[:, 2] = 1
    if offset is not None:
        j[:, :2] += offset
    return PosePerson(j, tid, None, HEAD.copy() if head else None)


def _seq(frames, name="s"):
    return PoseSequence([PoseFrame(f"{name}/{i:06d}.jpg", ppl) for i, ppl in enumerate(frames)], name=name)


def test_head_size():
    assert head_size(np.array([0, 0, 30, 40])) == pytest.approx(30.0)


def test_perfect_tracking_and_last_frame_quirk():
    gt = _seq([[_p(0, 0, 1), _p(0, 300, 2)] for _ in range(3)])
    pr = _seq([[_p(0, 0, 11), _p(0, 300, 12)] for _ in range(3)])
    r = posetrack_mota([gt], [pr])
    np.testing.assert_allclose(r["MOTA"], 100.0)
    np.testing.assert_allclose(r["num_objects"], 4)  # last of 3 frames dropped
    r2 = posetrack_mota([gt], [pr], poseval_quirks=False)
    np.testing.assert_allclose(r2["num_objects"], 6)
    assert r["MOTP"][-1] == pytest.approx(100.0) and r["Precision"][-1] == 100 and r["Recall"][-1] == 100


def test_distance_threshold_per_joint():
    gt = _seq([[_p(0, 0, 1)] for _ in range(3)])
    shift = np.zeros((15, 2))
    shift[4] = (14.0, 0.0)  # within 15 px -> match, distance 14/30
    shift[7] = (0.0, 16.0)  # beyond -> miss + false positive on joint 7 only
    pr = _seq([[_p(0, 0, 5, offset=shift)] for _ in range(3)], "p")
    r = posetrack_mota([gt], [pr], poseval_quirks=False)
    assert r["num_misses"][7] == 3 and r["num_false_positives"][7] == 3
    assert r["MOTA"][7] == pytest.approx(100 * (1 - 6 / 3))
    assert r["num_misses"][4] == 0
    assert r["MOTP"][4] == pytest.approx(100 * (1 - 14 / 30))
    others = [j for j in range(15) if j != 7]
    assert r["MOTA"][-1] == pytest.approx(np.mean(np.r_[np.full(14, 100.0), -100.0]))
    np.testing.assert_allclose(r["MOTA"][others], 100.0)


def test_identity_switch_counts_once_per_joint():
    gt = _seq([[_p(0, 0, 1)] for _ in range(4)])
    pr = _seq([[_p(0, 0, 5)], [_p(0, 0, 5)], [_p(0, 0, 6)], [_p(0, 0, 6)]])
    r = posetrack_mota([gt], [pr], poseval_quirks=False)
    np.testing.assert_allclose(r["num_switches"], 1)
    np.testing.assert_allclose(r["MOTA"][:15], 100 * (1 - 1 / 4))


def test_previous_match_kept_over_closer_hypothesis():
    # motmetrics semantics: a still-valid previous correspondence is kept even if another hypothesis is closer
    gt = _seq([[_p(0, 0, 1)], [_p(0, 0, 1)]])
    pr = _seq([[_p(0, 0, 5, offset=np.full((15, 2), 3.0))], [_p(0, 0, 5, offset=np.full((15, 2), 8.0)), _p(0, 0, 6)]])
    r = posetrack_mota([gt], [pr], poseval_quirks=False)
    np.testing.assert_allclose(r["num_switches"], 0)
    np.testing.assert_allclose(r["num_false_positives"], 1)


def test_empty_prediction_frame_quirk():
    gt = _seq([[_p(0, 0, 1), _p(0, 300, 2)] for _ in range(3)])
    pr = _seq([[_p(0, 0, 1), _p(0, 300, 2)], [], [_p(0, 0, 1), _p(0, 300, 2)]])
    q = posetrack_mota([gt], [pr])  # frame 1 -> one dummy miss + one dummy FP per joint
    np.testing.assert_allclose(q["num_objects"], 3)
    np.testing.assert_allclose(q["num_misses"], 1)
    np.testing.assert_allclose(q["num_false_positives"], 1)
    c = posetrack_mota([gt], [pr], poseval_quirks=False)  # corrected: two real misses, no FP
    np.testing.assert_allclose(c["num_misses"], 2)
    np.testing.assert_allclose(c["num_false_positives"], 0)
    np.testing.assert_allclose(c["MOTA"][:15], 100 * (1 - 2 / 6))


def test_frames_without_gt_people_are_dropped_with_their_predictions():
    gt = _seq([[_p(0, 0, 1)], [], [_p(0, 0, 1)], [_p(0, 0, 1)]])
    pr = _seq([[_p(0, 0, 1)], [_p(0, 200, 9)], [_p(0, 0, 1)], [_p(0, 0, 1)]])
    r = posetrack_mota([gt], [pr])
    np.testing.assert_allclose(r["num_false_positives"], 0)
    np.testing.assert_allclose(r["num_objects"], 2)  # frames 0, 2 (3 dropped as last)


def test_ignore_region_and_missing_joints():
    g = _p(0, 0, 1)
    pr_person = _p(0, 0, 4)
    pr_person.joints[3, :2] = np.nan  # missing predicted joint -> a miss on joint 3
    frames = [
        PoseFrame(f"{i}.jpg", [g], ignore_regions=[np.array([[-5, -5], [15, -5], [15, 5], [-5, 5.0]])])
        for i in range(2)
    ]
    gt = PoseSequence(frames)
    pr = _seq([[pr_person], [pr_person]])
    r = posetrack_mota([gt], [pr], poseval_quirks=False)
    # joints 0 (x=0) and 1 (x=10) lie in the ignore polygon: removed from gt and prediction
    np.testing.assert_allclose(r["num_objects"][[0, 1]], 0)
    assert np.isnan(r["MOTA"][0])
    assert r["num_misses"][3] == 2 and r["num_false_positives"][3] == 0
    assert r["MOTA"][-1] == pytest.approx(np.mean(np.r_[np.full(12, 100.0), 0.0]))


def test_errors():
    gt = _seq([[_p(0, 0, 1, head=False)], [_p(0, 0, 1, head=False)]])
    pr = _seq([[_p(0, 0, 1)], [_p(0, 0, 1)]])
    with pytest.raises(ValueError, match="head box"):
        posetrack_mota([gt], [pr], poseval_quirks=False)
    with pytest.raises(ValueError, match="frames"):
        posetrack_mota([_seq([[_p(0, 0, 1)]] * 3)], [pr])
    with pytest.raises(ValueError, match="track_id"):
        posetrack_mota([_seq([[_p(0, 0, 1)]] * 2)], [_seq([[_p(0, 0, None)]] * 2)], poseval_quirks=False)
    with pytest.raises(ValueError, match="lacks"):
        posetrack_mota({"a": gt}, {"b": pr})


def test_directory_evaluation_and_cli(tmp_path, capsys):
    from unitrack.data.posetrack import write_posetrack
    from unitrack.metrics.cli_mot import main
    from unitrack.metrics.posetrack import evaluate_posetrack_dirs

    gt = _seq([[_p(0, 0, 1), _p(0, 300, 2)] for _ in range(4)])
    pr = _seq([[_p(0, 0, 5), _p(0, 300, 6)], [_p(0, 0, 6), _p(0, 300, 5)], [_p(0, 0, 6), _p(0, 300, 5)], []])
    write_posetrack(tmp_path / "gt" / "000001_mpii_test.json", gt, "2017")
    write_posetrack(tmp_path / "pr" / "000001_mpii_test.json", pr, "2018")
    r = evaluate_posetrack_dirs(tmp_path / "gt", tmp_path / "pr", progress=False)
    direct = posetrack_mota([gt], [pr])
    np.testing.assert_allclose(r["MOTA"], direct["MOTA"])
    np.testing.assert_allclose(r["num_switches"], 2)  # both people swap ids at frame 1
    rc = main(
        [
            "eval-mot",
            "--format",
            "posetrack",
            "--gt",
            str(tmp_path / "gt"),
            "--results",
            str(tmp_path / "pr"),
            "--no-progress",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert "MOTA Total" in out[0]
    total = float(out[1].split()[7])
    assert total == pytest.approx(direct["MOTA"][-1], abs=0.05)
    (tmp_path / "pr" / "000001_mpii_test.json").unlink()
    with pytest.raises(FileNotFoundError, match="000001_mpii_test.json"):
        evaluate_posetrack_dirs(tmp_path / "gt", tmp_path / "pr", progress=False)


# ------------------------------------------------------------------------------------------------ official poseval
# Expected values (tests/_poseval_expected.py) were printed by the official poseval (GitHub leonid-pishchulin/poseval,
# unmodified; motmetrics 1.4.0, numpy 2.4.6, pandas 3.1.1, shapely 2.2.0) run outside this repository on the files
# that tests/_posetrack_official_case.py writes: poseval.eval_helpers.load_data_dir + evaluateTracking, with the
# sequence files listed in sorted order, once with motmetrics' "lap" LAP solver and once with "scipy" (identical
# results: the cases have no assignment ties), values printed with repr().
def _official():
    import _posetrack_official_case as C
    import _poseval_expected as E

    return C, E.POSEVAL


@pytest.mark.parametrize(
    "case",
    ["empty_pose", "motp_raw", "ignore_regions", "no_points", "crossing", "random0", "random1", "random2", "ALL"],
)
def test_bit_identical_to_poseval(tmp_path, case):
    """MOTA, MOTP, precision and recall of every joint and the total, exactly as poseval prints them: people without
    keypoints, ignore regions (a joint on the region's edge, a person entirely inside), 2017 people without a point
    list, switches / transfers / ascends / migrations in motmetrics' event log, random crowds, several sequences."""
    C, expected = _official()
    gt_dir, pr_dir = C.write_case(str(tmp_path), None if case == "ALL" else [case])
    r = evaluate_posetrack_dirs(gt_dir, pr_dir, progress=False)
    for k in ("MOTA", "MOTP", "Precision", "Recall"):
        np.testing.assert_array_equal(r[k], expected[case][k], err_msg=k)


def test_person_without_keypoints_is_kept_like_poseval(tmp_path):
    """Issue #12's case: one keypoint-less prediction (2018 keypoints all [0, 0, 0]) in a 3-frame sequence. poseval
    keeps the person, so the frame takes the normal path (15 misses); it is not an empty frame (1 miss + 1 FP)."""
    C, expected = _official()
    gt_dir, pr_dir = C.write_case(str(tmp_path), ["empty_pose"])
    r = evaluate_posetrack_dirs(gt_dir, pr_dir, progress=False)
    assert r["MOTA"][-1] == 50.0 == expected["empty_pose"]["MOTA"][-1]
    np.testing.assert_array_equal(r["num_false_positives"], 0)
    np.testing.assert_array_equal(r["num_misses"], 1)
    # in a frame with an ignore region such a person is dropped, as poseval does
    seq = read_posetrack(f"{pr_dir}/empty_pose.json")
    assert seq.frames[0].people[0].has_points and not seq.frames[0].people[0].present.any()


def test_poseval_motp_counts_every_event_row(tmp_path):
    """poseval sums the D column of motmetrics' whole event log (RAW rows of every pair within the threshold, and
    matches twice), so its MOTP is far below the matched-distance MOTP; both are reported."""
    C, expected = _official()
    gt_dir, pr_dir = C.write_case(str(tmp_path), ["motp_raw"])
    r = evaluate_posetrack_dirs(gt_dir, pr_dir, progress=False)
    assert r["MOTP"][-1] == expected["motp_raw"]["MOTP"][-1]
    assert r["MOTP"][-1] < 50 < 80 < r["MOTP_matched"][-1]
    np.testing.assert_array_equal(r["MOTP_matched"][:15], 100 * (1.0 - (r["sumD_matched"] / r["num_detections"])))
    assert (r["sumD"] > 2 * r["sumD_matched"]).all()
    c = evaluate_posetrack_dirs(gt_dir, pr_dir, poseval_quirks=False, progress=False)
    np.testing.assert_array_equal(c["MOTP"], c["MOTP_matched"])


def test_point_in_ignore_region_is_exact():
    """Strictly inside, as shapely's Polygon.contains (poseval's test): points on an edge or a vertex are outside."""
    from unitrack.metrics.posetrack import _inside

    sq = np.array([[0, 0], [60, 0], [60, 300], [0, 300]], float)
    pts = np.array(
        [
            [30, 30],
            [60, 160],
            [0, 0],
            [60.000000000000007, 5],
            [59.99999999999999, 5],
            [30, 300],
            [-1e-300, 10],
            [1e-300, 10],
        ]
    )
    np.testing.assert_array_equal(_inside(pts, sq), [True, False, False, False, True, False, False, True])


def test_point_in_polygon_matches_shapely_near_edges():
    """Live against shapely (what poseval calls) on points within a few ulps of slanted edges, where a plain float
    ray-crossing test goes wrong."""
    geometry = pytest.importorskip("shapely.geometry")
    from unitrack.metrics.posetrack import _inside

    rng = np.random.default_rng(0)
    for _ in range(30):
        poly = np.round(rng.uniform(0, 100, (int(rng.integers(3, 7)), 2)), int(rng.integers(0, 3)))
        shape = geometry.Polygon(poly)
        if not shape.is_valid:
            continue
        a, b = poly[0], poly[1]
        t = rng.uniform(0, 1, 300)
        on = a[None] + t[:, None] * (b - a)[None]  # on the first edge, up to rounding
        on = on + rng.integers(-3, 4, on.shape) * np.spacing(np.abs(on))
        pts = np.concatenate([on, poly, rng.uniform(0, 100, (100, 2))])
        expected = [shape.contains(geometry.Point(x, y)) for x, y in pts]
        np.testing.assert_array_equal(_inside(pts, poly), expected)


def test_accumulator_event_log_matches_motmetrics_1_4(monkeypatch):
    """Our motmetrics emulation against the real py-motmetrics 1.4.0 (test extra), live: the counts poseval reads and
    the whole D column of the event log (RAW, MATCH, SWITCH, TRANSFER, ASCEND, MIGRATE, MISS, FP rows)."""
    mm = pytest.importorskip("motmetrics")
    from unitrack.metrics.posetrack import _Accumulator

    monkeypatch.setattr(mm.lap, "default_solver", "scipy")  # the solver we use (ties are rare and avoided here)
    rng = np.random.default_rng(5)
    for trial in range(12):
        theirs, ours = mm.MOTAccumulator(auto_id=True), _Accumulator()
        for _ in range(int(rng.integers(5, 25))):
            oids = rng.choice(8, int(rng.integers(0, 6)), replace=False) + 10 * (trial % 2)
            hids = rng.choice(9, int(rng.integers(0, 7)), replace=False) + 100
            d = np.round(rng.uniform(0, 1, (len(oids), len(hids))), 6)
            d[rng.random(d.shape) < 0.45] = np.nan
            theirs.update(oids, hids, d.copy())
            ours.update(oids, hids, d.copy())
        ours.finish()
        ev = theirs.events
        np.testing.assert_array_equal(np.asarray(ev["D"], dtype=float), np.asarray(ours.d, dtype=float))
        m = mm.metrics.create().compute(
            theirs,
            metrics=["num_misses", "num_switches", "num_false_positives", "num_objects", "num_detections"],
            return_dataframe=False,
        )
        for k, v in m.items():
            assert ours.c[k] == v, k
        assert ours.c["sumD"] == ev["D"].sum()
