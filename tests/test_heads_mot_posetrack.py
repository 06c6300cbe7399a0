"""PoseTrack head: pose tracking, id mapping into [0, 999], empty skeletons, missing joints, bad input, json files."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from unitrack.association import pose_to_mask
from unitrack.data.posetrack import PoseFrame, PosePerson, PoseSequence, read_posetrack, write_posetrack
from unitrack.heads.posetrack import IdMapper, PoseTrackHead, track_posetrack
from unitrack.model import ColorStatsModel

pytestmark = pytest.mark.usefixtures("one_thread")

H, W = 96, 128
COLORS = [(230, 40, 40), (40, 200, 60), (50, 70, 230)]
# offsets (dx, dy) of the 15 PoseTrack joints of a standing figure of height 64, origin at the head top
_FIG = np.array(
    [
        [-6, 64],
        [-6, 48],
        [-6, 32],
        [6, 32],
        [6, 48],
        [6, 64],
        [-14, 34],
        [-12, 22],
        [-8, 12],
        [8, 12],
        [12, 22],
        [14, 34],
        [0, 10],
        [0, 5],
        [0, 0],
    ],
    np.float64,
)


def skeleton(x, y):
    return _FIG + np.array([x, y], np.float64)


def scene(T=6, starts=((30, 16, 2), (96, 20, -2))):
    frames, poses = [], []
    for t in range(T):
        img = np.full((H, W, 3), 110, np.uint8)
        ps = []
        for k, (x, y, vx) in enumerate(starts):
            p = skeleton(x + vx * t, y)
            img[pose_to_mask(p, (H, W)) > 0] = COLORS[k]
            ps.append(p)
        frames.append(img)
        poses.append(np.stack(ps))
    return frames, poses


def test_id_mapper_dense_then_recycles_oldest():
    m = IdMapper(limit=3, safe_gap=2)
    assert [m(7, 1), m(9, 1), m(7, 2), m(12, 2)] == [0, 1, 0, 2]
    m(7, 6)
    m(12, 6)
    assert m(20, 7) == 1  # the id unseen the longest (track 9, last frame 1) is recycled
    # a returning tracker id is a new identity for the mapper: the oldest id (0, tie with 2 broken by value) again
    assert m(9, 8) == 0 and 7 not in m.map and m.recycled == 2
    with pytest.warns(UserWarning, match="recycled"):
        m2 = IdMapper(limit=2, safe_gap=5)
        m2(1, 1)
        m2(2, 1)
        m2(3, 2)  # only one frame after id 0 was used
    m3 = IdMapper(limit=2)
    m3(1, 1)
    m3(2, 1)
    with pytest.raises(RuntimeError, match="more than 2 tracks in one frame"):
        m3(3, 1)
    with pytest.raises(ValueError):
        IdMapper(limit=0)


def test_id_mapper_never_shares_an_id_within_a_frame():
    m = IdMapper(limit=5, safe_gap=0)
    rng = np.random.default_rng(0)
    next_id = 1
    alive: list[int] = []
    for frame in range(1, 60):
        alive = [a for a in alive if rng.random() > 0.3]
        while len(alive) < 4:
            alive.append(next_id)
            next_id += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = [m(a, frame) for a in alive]
        assert len(set(out)) == len(out) and all(0 <= o < 5 for o in out)
    assert next_id > 5 and m.recycled > 0


def test_tracks_two_people_with_stable_ids():
    head = PoseTrackHead(ColorStatsModel(), progress=False)
    frames, poses = scene(T=6)
    seen = []
    for f, p in zip(frames, poses):
        ids = head.update(f, p)
        assert ids.shape == (2,) and ids.dtype == np.int64
        seen.append(ids.tolist())
    assert all(s == seen[0] for s in seen) and sorted(seen[0]) == [0, 1]
    tm = head.timings
    assert set(tm) == {"io", "backbone", "features", "rsm", "assoc", "total"} and tm["features"] > 0


def test_empty_skeletons_missing_joints_and_bad_input():
    head = PoseTrackHead(ColorStatsModel(), progress=False)
    frames, poses = scene(T=3)
    empty = np.full((15, 2), np.nan)
    partial = poses[0][1].copy()
    partial[[0, 1, 5, 6, 11]] = np.nan  # missing ankles, a knee, wrists
    ids = head.update(frames[0], [poses[0][0], empty, partial])
    assert ids[1] == -1 and ids[0] >= 0 and ids[2] >= 0 and ids[0] != ids[2]
    assert head.stats["untracked"] == 1
    # no track got a box from the empty skeleton: all reported tracks are near the real people
    for t in head.last_tracks:
        assert np.isfinite(t.tlwh).all() and t.tlwh[0] > 0
    # frames without people
    assert head.update(frames[1], []).shape == (0,)
    assert head.update(frames[1], None).shape == (0,)
    # joints with a third column (visibility / score), PosePerson objects, far-away joints
    far = poses[2][0].copy()
    far[0] = [1e9, -1e9]
    ids = head.update(frames[2], [PosePerson(np.c_[poses[2][1], np.ones(15)]), far])
    assert (ids >= 0).all()
    with pytest.raises(ValueError, match=r"poses\[0\] must have shape \[15"):
        head.update(frames[0], [np.zeros((17, 2))])
    with pytest.raises(ValueError, match="infinite"):
        head.update(frames[0], [np.full((15, 2), np.inf)])
    with pytest.raises(ValueError, match="obs_type"):
        from unitrack.association import mot_config

        PoseTrackHead(ColorStatsModel(), mot_config())


def _write_sequence(tmp_path, frames, poses, name="000001_synth"):
    img_dir = tmp_path / "images" / "val" / name
    img_dir.mkdir(parents=True)
    fr = []
    for t, (f, ps) in enumerate(zip(frames, poses)):
        fname = f"images/val/{name}/{t:06d}.jpg"
        cv2.imwrite(str(tmp_path / fname), f[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        people = [PosePerson(np.c_[p, np.ones(15)], scores=np.full(15, 0.9)) for p in ps]
        fr.append(PoseFrame(fname, people, image_id=t, is_labeled=True))
    seq = PoseSequence(fr, vid_id="000001")
    path = tmp_path / "det" / f"{name}.json"
    path.parent.mkdir()
    write_posetrack(path, seq)
    return path


def test_run_writes_track_ids_into_the_json(tmp_path):
    frames, poses = scene(T=5)
    poses = [np.concatenate([p, np.full((1, 15, 2), np.nan)]) for p in poses]  # + an empty skeleton each frame
    det = _write_sequence(tmp_path, frames, poses)
    out = tmp_path / "out" / det.name
    info = track_posetrack(ColorStatsModel(), det, tmp_path, out, progress=False)
    assert info["frames"] == 5 and info["tracks"] == 2 and info["people"] == 10
    back = read_posetrack(out)
    assert len(back.frames) == 5
    assert [f.file_name for f in back.frames] == [f.file_name for f in read_posetrack(det).frames]
    for f in back.frames:
        ids = [p.track_id for p in f.people]
        assert len(f.people) == 2 and all(0 <= i <= 999 for i in ids) and len(set(ids)) == 2
        # the written people are the input people (joints unchanged)
        for p in f.people:
            assert np.isfinite(p.joints[:, :2]).all()
    with pytest.raises(FileNotFoundError, match="frame image not found"):
        track_posetrack(ColorStatsModel(), det, tmp_path / "elsewhere", tmp_path / "o.json", progress=False)
