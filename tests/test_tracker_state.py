"""The JDE state machine of AssociationTracker (SPEC §5.2-5.5) on hand-made frames."""

import numpy as np
import pytest
import torch

from unitrack.association import (
    AssociationTracker,
    Track,
    TrackState,
    mot_config,
    mots_config,
    posetrack_config,
    womotion,
)
from unitrack.association.tracker import remove_duplicate_tracks

C, H, W = 8, 240, 320  # image pixels; the feature map is 30 x 40 cells


pytestmark = pytest.mark.usefixtures("one_thread")


def frame(objs):
    """Feature map with every object painted as a one-hot channel over its box; objs: [(tlwh, channel)]."""
    f = torch.zeros(C, H // 8, W // 8)
    f[C - 1] = 0.2
    for (x, y, w, h), ch in objs:
        f[:, int(y // 8) : int((y + h) // 8), int(x // 8) : int((x + w) // 8)] = 0
        f[ch, int(y // 8) : int((y + h) // 8), int(x // 8) : int((x + w) // 8)] = 1.0
    return f


A = ((40.0, 40.0, 48.0, 96.0), 0)
B = ((200.0, 80.0, 48.0, 96.0), 1)


def step(tr, objs):
    boxes = np.array([o[0] for o in objs]).reshape(-1, 4)
    return tr.update(frame(objs), boxes, np.full(len(objs), 0.9))


def ids(tracks):
    return sorted(t.track_id for t in tracks)


def test_configs_and_buffer():
    assert mot_config().buffer_size == 30
    assert posetrack_config().buffer_size == 6  # frame_rate 6 / 30 * 30
    assert mot_config(frame_rate=25).buffer_size == 25
    assert mots_config().motion_gated is False and posetrack_config().motion_lambda == 0.9999
    assert posetrack_config().dup_iou_thres == 0.2 and posetrack_config().confirm_iou_thres == 0.6
    w = womotion(mot_config())
    assert (w.asso_with_motion, w.motion_lambda, w.motion_gated, w.use_kalman) == (False, 1.0, False, True)
    assert not hasattr(mot_config(), "first_stage_thres") and not hasattr(mot_config(), "nms_thres")
    with pytest.raises(ValueError, match="motion_lambda"):
        mot_config(motion_lambda=2.0)


def test_confirmation_stage_and_ids_from_one():
    tr = AssociationTracker(mot_config())
    assert ids(step(tr, [A])) == [1]  # frame 1: new tracks are confirmed at once
    out = step(tr, [A, B])  # frame 2: B is born unconfirmed (id 2 taken, not reported)
    assert ids(out) == [1]
    assert [t.is_activated for t in tr.tracked_stracks if t.track_id == 2] == [False]
    assert ids(step(tr, [A, B])) == [1, 2]  # frame 3: confirmed by the IoU confirmation stage
    C_ = ((120.0, 150.0, 40.0, 80.0), 2)
    assert ids(step(tr, [A, B, C_])) == [1, 2]  # id 3 born unconfirmed
    assert ids(step(tr, [A, B])) == [1, 2]  # not confirmed -> removed at once (never reported)
    assert all(t.track_id != 3 for t in tr.tracked_stracks + tr.lost_stracks)
    assert ids(step(tr, [A, B, C_])) == [1, 2]  # a new id (4), unconfirmed again
    assert ids(step(tr, [A, B, C_])) == [1, 2, 4]
    # a second tracker counts its own IDs from 1
    assert ids(step(AssociationTracker(mot_config()), [B])) == [1]


@pytest.mark.parametrize("quirk", [True, False])
def test_buffer_expiry_timing_and_extra_frame_quirk(quirk):
    cfg = mot_config(track_buffer=2, expired_stays_one_frame=quirk)  # buffer = int(30/30*2) = 2
    tr = AssociationTracker(cfg)
    for _ in range(3):
        assert ids(step(tr, [A])) == [1]  # frames 1-3
    assert step(tr, []) == []  # frame 4: lost (end_frame 3)
    assert [t.state for t in tr.lost_stracks] == [TrackState.Lost]
    step(tr, [])  # frame 5: 5 - 3 = 2, not > 2: still lost
    assert [t.state for t in tr.lost_stracks] == [TrackState.Lost]
    step(tr, [])  # frame 6: 3 > 2 -> removed
    if quirk:  # stays in the lost list (state Removed) until frame 7's bookkeeping
        assert [(t.track_id, t.state) for t in tr.lost_stracks] == [(1, TrackState.Removed)]
    else:
        assert tr.lost_stracks == []
    out = step(tr, [A])  # frame 7
    if quirk:
        assert ids(out) == [1] and out[0].state == TrackState.Tracked  # re-activated once more
    else:
        assert out == [] and ids(tr.tracked_stracks) == [2]  # a new, unconfirmed track


def test_reappearing_within_buffer_keeps_id():
    tr = AssociationTracker(mot_config(track_buffer=2))
    step(tr, [A])
    step(tr, [A])
    step(tr, [])
    step(tr, [])  # frame 4: lost for 2 frames
    assert ids(step(tr, [A])) == [1]
    step(tr, [])
    step(tr, [])
    step(tr, [])
    step(tr, [])  # frame 9: expired at frame 8, gone at frame 9
    assert ids(step(tr, [A])) == []  # frame 10: a new unconfirmed track
    assert ids(tr.tracked_stracks) == [2]


def test_reported_box_is_the_kalman_mean():
    tr = AssociationTracker(mot_config())
    step(tr, [((100.0, 40.0, 48.0, 100.0), 0)])
    out = step(tr, [((110.0, 40.0, 48.0, 100.0), 0)])
    # after one predict from initiate: S_xx = (100 + 39.0625 + 25) + 25, K_xx = 164.0625 / 189.0625
    x = out[0].tlwh[0]
    assert x == pytest.approx(100 + 10 * 164.0625 / 189.0625, abs=1e-3)
    assert out[0].det_index == 0


def _t(tid, tlwh, start, last):
    t = Track(tlwh, 1.0, torch.zeros(1, 2))
    t.track_id, t.start_frame, t.frame_id = tid, start, last
    return t


def test_duplicate_removal_tie_rule():
    box = (10.0, 10.0, 50.0, 100.0)
    far = (300.0, 10.0, 50.0, 100.0)
    # tie (4 frames each): the tracked one is dropped
    tr, lo = remove_duplicate_tracks([_t(1, box, 1, 5), _t(5, far, 1, 5)], [_t(2, box, 3, 7)], 0.15)
    assert [t.track_id for t in tr] == [5] and [t.track_id for t in lo] == [2]
    # the tracked one has the longer history: the lost one goes
    tr, lo = remove_duplicate_tracks([_t(1, box, 1, 9)], [_t(2, box, 3, 7)], 0.15)
    assert [t.track_id for t in tr] == [1] and lo == []
    # IoU distance must be < thresh: a box shifted by 10 px has IoU 41*101/(2*51*101 - 41*101) ~ 0.67
    tr, lo = remove_duplicate_tracks([_t(1, box, 1, 9)], [_t(2, (20.0, 10.0, 50.0, 100.0), 3, 7)], 0.15)
    assert len(tr) == 1 and len(lo) == 1


def test_every_stage_with_zero_tracks_and_zero_detections():
    tr = AssociationTracker(mot_config())
    assert step(tr, []) == []  # no tracks, no detections
    assert ids(step(tr, [A])) == []  # frame 2: born unconfirmed
    assert step(tr, []) == []  # unconfirmed with zero detections -> removed
    assert tr.tracked_stracks == [] and tr.lost_stracks == []
    # scores at or below conf_thres are ignored
    assert tr.update(frame([A]), np.array([A[0]]), np.array([0.5])) == []
    assert tr.tracked_stracks == []
    # masks and poses trackers with nothing
    mt = AssociationTracker(mots_config())
    assert mt.update(torch.rand(C, 30, 40), masks=np.zeros((0, 240, 320), np.uint8)) == []
    assert mt.update(torch.rand(C, 30, 40), masks=np.zeros((2, 240, 320), np.uint8)) == []  # empty masks dropped
    pt = AssociationTracker(posetrack_config())
    assert pt.update(torch.rand(C, 30, 40), poses=[], image_size=(240, 320)) == []
    assert pt.update(torch.rand(C, 30, 40), poses=[np.full((15, 3), np.nan)], image_size=(240, 320)) == []


def test_tracker_bad_input():
    tr = AssociationTracker(mot_config())
    f = frame([A])
    with pytest.raises(ValueError, match=r"boxes\[0\].*non-positive"):
        tr.update(f, np.array([[0.0, 0.0, -4.0, 10.0]]), np.array([0.9]))
    with pytest.raises(ValueError, match="boxes must have shape"):
        tr.update(f, np.zeros((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="scores must have shape"):
        tr.update(f, np.ones((2, 4)), np.ones(3))
    with pytest.raises(ValueError, match="takes boxes"):
        tr.update(f, masks=np.zeros((1, 8, 8)))
    with pytest.raises(ValueError, match="feat_map"):
        tr.update(torch.zeros(3, 3), np.ones((1, 4)), np.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        tr.update(f, np.array([[0.0, 0.0, np.nan, 10.0]]), np.ones(1))
    g = f.clone()
    g[0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="feat_map contains NaN"):
        tr.update(g, np.array([A[0]]), np.ones(1))
    with pytest.raises(ValueError, match="image_size"):
        AssociationTracker(posetrack_config()).update(f, poses=[np.zeros((15, 2))])
    with pytest.raises(ValueError, match="only apply to box observations"):
        AssociationTracker(mots_config()).update(f, masks=np.zeros((1, 8, 8)), classes=np.ones(1))
    with pytest.raises(ValueError, match="masks must have shape"):
        AssociationTracker(mots_config()).update(f, masks=np.zeros((8, 8, 8, 1)))


def test_without_kalman_reports_raw_boxes():
    tr = AssociationTracker(mot_config(use_kalman=False))
    assert ids(step(tr, [A])) == [1]
    moved = ((44.0, 40.0, 48.0, 96.0), 0)
    out = step(tr, [moved, B])  # no unconfirmed state without a KF: B is reported at once
    assert ids(out) == [1, 2]
    np.testing.assert_array_equal([t for t in out if t.track_id == 1][0].tlwh, moved[0])
    assert step(tr, []) == [] and ids(tr.lost_stracks) == [1, 2]
