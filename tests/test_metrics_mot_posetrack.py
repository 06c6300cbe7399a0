"""PoseTrack MOTA (poseval definition) on hand-built cases with known counts."""
from __future__ import annotations

import numpy as np
import pytest

from unitrack.data.posetrack import PoseFrame, PosePerson, PoseSequence
from unitrack.metrics.posetrack import head_size, posetrack_mota

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
    np.testing.assert_allclose(r["num_objects"], 4)          # last of 3 frames dropped
    r2 = posetrack_mota([gt], [pr], poseval_quirks=False)
    np.testing.assert_allclose(r2["num_objects"], 6)
    assert r["MOTP"][-1] == pytest.approx(100.0) and r["Precision"][-1] == 100 and r["Recall"][-1] == 100


def test_distance_threshold_per_joint():
    gt = _seq([[_p(0, 0, 1)] for _ in range(3)])
    shift = np.zeros((15, 2))
    shift[4] = (14.0, 0.0)   # within 15 px -> match, distance 14/30
    shift[7] = (0.0, 16.0)   # beyond -> miss + false positive on joint 7 only
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
    pr = _seq([[_p(0, 0, 5, offset=np.full((15, 2), 3.0))],
               [_p(0, 0, 5, offset=np.full((15, 2), 8.0)), _p(0, 0, 6)]])
    r = posetrack_mota([gt], [pr], poseval_quirks=False)
    np.testing.assert_allclose(r["num_switches"], 0)
    np.testing.assert_allclose(r["num_false_positives"], 1)


def test_empty_prediction_frame_quirk():
    gt = _seq([[_p(0, 0, 1), _p(0, 300, 2)] for _ in range(3)])
    pr = _seq([[_p(0, 0, 1), _p(0, 300, 2)], [], [_p(0, 0, 1), _p(0, 300, 2)]])
    q = posetrack_mota([gt], [pr])                        # frame 1 -> one dummy miss + one dummy FP per joint
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
    np.testing.assert_allclose(r["num_objects"], 2)   # frames 0, 2 (3 dropped as last)


def test_ignore_region_and_missing_joints():
    g = _p(0, 0, 1)
    pr_person = _p(0, 0, 4)
    pr_person.joints[3, :2] = np.nan                   # missing predicted joint -> a miss on joint 3
    frames = [PoseFrame(f"{i}.jpg", [g], ignore_regions=[np.array([[-5, -5], [15, -5], [15, 5], [-5, 5.0]])])
              for i in range(2)]
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
    np.testing.assert_allclose(r["num_switches"], 2)   # both people swap ids at frame 1
    rc = main(["eval-mot", "--format", "posetrack", "--gt", str(tmp_path / "gt"), "--results", str(tmp_path / "pr"),
               "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert "MOTA Total" in out[0]
    total = float(out[1].split()[7])
    assert total == pytest.approx(direct["MOTA"][-1], abs=0.05)
    (tmp_path / "pr" / "000001_mpii_test.json").unlink()
    with pytest.raises(FileNotFoundError, match="000001_mpii_test.json"):
        evaluate_posetrack_dirs(tmp_path / "gt", tmp_path / "pr", progress=False)
