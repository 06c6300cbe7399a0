"""JHMDB reader: file list, .mat joints (1-based -> 0-based), frame resizing to 320x320 with joint scaling."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from unitrack.data.jhmdb import list_frames, load_joints, load_video, read_filelist


def make_video(root, name="clip", T=3, size=(240, 320)):
    rng = np.random.default_rng(0)
    fdir = os.path.join(root, "frames", name)
    os.makedirs(fdir, exist_ok=True)
    for t in range(T):
        Image.fromarray(rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)).save(
            os.path.join(fdir, f"{t + 1:05d}.png")
        )
    pos = np.zeros((2, 15, T))
    pos[0] = 1 + np.arange(15)[:, None] * 10 + np.arange(T)[None]  # x, MATLAB 1-based
    pos[1] = 1 + np.arange(15)[:, None] * 5
    mat = os.path.join(root, "joints", name, "joint_positions.mat")
    os.makedirs(os.path.dirname(mat), exist_ok=True)
    scipy.io.savemat(mat, {"pos_img": pos, "scale": np.ones(T)})
    return mat, fdir, pos


def test_filelist_and_joints(tmp_path):
    mat, fdir, pos = make_video(str(tmp_path))
    lst = tmp_path / "split.txt"
    lst.write_text(f"{mat} {fdir}\n\n# comment\njoints/clip/joint_positions.mat frames/clip\n")
    entries = read_filelist(str(lst))
    assert len(entries) == 2 and entries[0].mat_path == mat and entries[0].line == 1
    assert os.path.samefile(entries[1].mat_path, mat)  # relative to the list's folder
    j = load_joints(mat)
    assert j.shape == (2, 15, 3)
    np.testing.assert_allclose(j, pos - 1)
    assert [os.path.basename(p) for p in list_frames(fdir)] == ["00001.png", "00002.png", "00003.png"]


def test_load_video_resizes_without_keeping_aspect(tmp_path):
    mat, fdir, pos = make_video(str(tmp_path), size=(240, 320))
    v = load_video(mat, fdir, crop_size=320)
    assert len(v.frames) == 3 and v.frames[0].shape == (320, 320, 3) and v.frames[0].dtype == np.uint8
    assert v.orig_size == (240, 320)
    np.testing.assert_allclose(v.joints[0], (pos[0] - 1) * 320 / 320)
    np.testing.assert_allclose(v.joints[1], (pos[1] - 1) * 320 / 240)
    back = v.to_original(v.joints)
    np.testing.assert_allclose(back, pos - 1)
    lost = v.joints.copy()
    lost[:, 2, 1] = -1
    assert v.to_original(lost)[:, 2, 1].tolist() == [-1.0, -1.0]


def test_errors_name_file_and_line(tmp_path):
    mat, fdir, _ = make_video(str(tmp_path))
    lst = tmp_path / "bad.txt"
    lst.write_text(f"{mat} {fdir}\nonly_one_field\n")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        read_filelist(str(lst))
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_filelist(str(tmp_path / "nope.txt"))
    other = tmp_path / "other.mat"
    scipy.io.savemat(str(other), {"something": np.zeros(3)})
    with pytest.raises(ValueError, match="pos_img"):
        load_joints(str(other))
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(os.path.join(fdir, "00004.png"))
    with pytest.raises(ValueError, match="00004.png"):
        load_video(mat, fdir)
    with pytest.raises(FileNotFoundError, match="empty"):
        os.makedirs(tmp_path / "empty")
        list_frames(str(tmp_path / "empty"))


def test_run_jhmdb_end_to_end(tmp_path):
    from unitrack.heads.poseprop import run_jhmdb
    from unitrack.metrics.pck import evaluate_pck
    from unitrack.model import ColorStatsModel

    mat, fdir, pos = make_video(str(tmp_path), T=3, size=(48, 64))
    lst = tmp_path / "list.txt"
    lst.write_text(f"{mat} {fdir}\n")
    preds, gts = run_jhmdb(ColorStatsModel(), str(lst), crop_size=64, progress=False)
    assert len(preds) == 1 and preds[0].shape == gts[0].shape == (2, 15, 3)
    np.testing.assert_allclose(gts[0], pos - 1)
    g = gts[0][:, :, 0]
    vis = (preds[0][0, :, 0] >= 0) & (g[0] >= 16) & (g[0] <= 48) & (g[1] >= 8) & (g[1] <= 40)
    assert vis.sum() >= 3
    # frame 0 is the read-out of its own belief maps: joints well inside are within one feature cell of the GT
    assert np.abs(preds[0][0, vis, 0] - gts[0][0, vis, 0]).max() <= 8 * 64 / 64
    assert np.abs(preds[0][1, vis, 0] - gts[0][1, vis, 0]).max() <= 8 * 48 / 64
    r = evaluate_pck(preds, gts)
    assert set(r["pck"]) == {0.1, 0.2, 0.3, 0.4, 0.5}
