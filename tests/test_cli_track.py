"""``unitrack track <task>`` end to end on generated videos / frames folders (colour-statistics model: fast)."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from unitrack.cli_track import add_parser, default_model_spec, parse_box, read_joints
from unitrack.data.video import open_frames

T, H, W = 12, 96, 128
SQ = 24  # side of the moving textured square


def _pos(t: int) -> tuple[int, int]:
    return 10 + 6 * t, 20 + 2 * t


def _frames() -> list[np.ndarray]:
    yy, xx = np.mgrid[0:H, 0:W]
    bg = np.stack([xx * 255 // W, yy * 255 // H, np.full_like(xx, 90)], -1).astype(np.uint8)
    tex = np.random.RandomState(0).randint(0, 255, (SQ, SQ, 3)).astype(np.uint8)
    out = []
    for t in range(T):
        f = bg.copy()
        x, y = _pos(t)
        f[y : y + SQ, x : x + SQ] = tex
        out.append(f)
    return out


def _palette_png(path, mask):
    from unitrack.data.palette import palette_bytes

    im = Image.fromarray(mask.astype(np.uint8))
    im.putpalette(palette_bytes())
    im.save(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("track")
    frames = _frames()
    vw = cv2.VideoWriter(str(d / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (W, H))
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    (d / "seq").mkdir()
    for t, f in enumerate(frames):  # unpadded names: natural order matters
        cv2.imwrite(str(d / "seq" / f"img{t + 1}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    m = np.zeros((H, W), np.uint8)
    x, y = _pos(0)
    m[y : y + SQ, x : x + SQ] = 3  # id 3: ids must be preserved, not renumbered
    _palette_png(d / "first.png", m)
    _palette_png(d / "small.png", m[::2, ::2])
    with open(d / "det.txt", "w") as fh:
        for t in range(T):
            x, y = _pos(t)
            fh.write(f"{t + 1},-1,{x},{y},{SQ},{SQ},0.9\n")
            fh.write(f"{t + 1},-1,{100 - 3 * t},60,20,30,0.8\n")
    (d / "bad.mp4").write_text("definitely not a video\n" * 10)
    return d


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="unitrack")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def _common(out) -> list[str]:
    return ["--model", "color", "--out", str(out), "--no-progress"]


def _check_vis_video(path, n):
    v = open_frames(path)
    assert len(v) == n and v.size == (H, W)


def test_track_sot_video(data, tmp_path):
    rc = _run(
        [
            "track",
            "sot",
            "--input",
            str(data / "clip.mp4"),
            "--box",
            "10,20,24,24",
            "--max-frames",
            "5",
            *_common(tmp_path),
        ]
    )
    assert rc == 0
    boxes = np.loadtxt(tmp_path / "clip.txt", delimiter=",")
    assert boxes.shape == (5, 4)
    np.testing.assert_allclose(boxes[0], [11, 21, 24, 24])  # 1-based x, y
    assert np.all(np.isfinite(boxes)) and np.all(boxes[:, 2:] > 0)
    # the target moves right by 6 px per frame: the tracked centre follows it within half a square
    cx = boxes[:, 0] - 1 + boxes[:, 2] / 2
    truth = np.array([_pos(t)[0] + SQ / 2 for t in range(5)])
    assert np.abs(cx - truth).max() < SQ / 2
    _check_vis_video(tmp_path / "clip_vis.mp4", 5)


def test_track_vos_frames_folder(data, tmp_path):
    rc = _run(
        [
            "track",
            "vos",
            "--input",
            str(data / "seq"),
            "--mask",
            str(data / "first.png"),
            "--max-frames",
            "3",
            "--save-frames",
            *_common(tmp_path),
        ]
    )
    assert rc == 0
    pngs = sorted((tmp_path / "seq").glob("*.png"))
    assert [p.name for p in pngs] == ["00000.png", "00001.png", "00002.png"]
    first = np.asarray(Image.open(data / "first.png"))
    for i, p in enumerate(pngs):
        with Image.open(p) as im:
            assert im.mode == "P" and im.size == (W, H)
            m = np.asarray(im)
        assert set(np.unique(m).tolist()) <= {0, 3}
        if i == 0:
            np.testing.assert_array_equal(m, first)
    assert (np.asarray(Image.open(pngs[-1])) == 3).sum() > 0.3 * SQ * SQ  # the object is still segmented
    vis = open_frames(tmp_path / "seq_vis")
    assert len(vis) == 3 and vis.size == (H, W)


def test_track_mot_video(data, tmp_path):
    rc = _run(["track", "mot", "--input", str(data / "clip.mp4"), "--dets", str(data / "det.txt"), *_common(tmp_path)])
    assert rc == 0
    rows = np.loadtxt(tmp_path / "clip.txt", delimiter=",")
    assert rows.shape[1] == 10
    assert set(rows[:, 0].astype(int)) <= set(range(1, T + 1))
    # two well separated targets, each detected in every frame -> two ids, each kept throughout
    ids = np.unique(rows[:, 1]).astype(int)
    assert len(ids) == 2
    for i in ids:
        assert (rows[:, 1] == i).sum() >= T - 1
    _check_vis_video(tmp_path / "clip_vis.mp4", T)


def test_track_mots_and_posetrack_frames_folder(data, tmp_path):
    from unitrack.data.mots import MOTSObject, read_mots_txt, write_mots_txt
    from unitrack.data.posetrack import PoseFrame, PosePerson, PoseSequence, read_posetrack, write_posetrack

    objs, pframes = [], []
    base = np.array(
        [
            [0, 20],
            [0, 12],
            [-3, 5],
            [3, 5],
            [4, 12],
            [4, 20],
            [-8, 0],
            [-6, -4],
            [-4, -8],
            [4, -8],
            [6, -4],
            [8, 0],
            [0, -10],
            [0, -12],
            [0, -16],
        ],
        float,
    )
    for t in range(T):
        x, y = _pos(t)
        m = np.zeros((H, W), np.uint8)
        m[y : y + SQ, x : x + SQ] = 1
        objs.append(MOTSObject.from_mask(t + 1, 2001, 2, m))
        m = np.zeros((H, W), np.uint8)
        m[60:90, 100 - 3 * t : 120 - 3 * t] = 1
        objs.append(MOTSObject.from_mask(t + 1, 2002, 2, m))
        people = [
            PosePerson(np.c_[base + [x + 12, y + 16], np.ones(15)]),
            PosePerson(np.c_[base + [110 - 3 * t, 72], np.ones(15)]),
        ]
        pframes.append(PoseFrame(f"img{t + 1}.png", people, image_id=t + 1))
    write_mots_txt(tmp_path / "masks.txt", objs)
    write_posetrack(tmp_path / "poses.json", PoseSequence(pframes, name="seq", source_format="2017"), "2017")

    out = tmp_path / "mots"
    assert (
        _run(["track", "mots", "--input", str(data / "seq"), "--masks", str(tmp_path / "masks.txt"), *_common(out)])
        == 0
    )
    res = read_mots_txt(out / "seq.txt")
    assert {o.frame for o in res} <= set(range(1, T + 1)) and len({o.obj_id for o in res}) == 2
    _check_vis_video(out / "seq_vis.mp4", T)

    out = tmp_path / "pose"
    assert (
        _run(
            ["track", "posetrack", "--input", str(data / "seq"), "--poses", str(tmp_path / "poses.json"), *_common(out)]
        )
        == 0
    )
    seq = read_posetrack(out / "seq.json")
    assert len(seq.frames) == T
    first_ids = [p.track_id for p in seq.frames[0].people]
    assert len(set(first_ids)) == 2
    for fr in seq.frames[1:]:  # the same two ids throughout, attached to the same person (input order kept)
        assert [p.track_id for p in fr.people] == first_ids
    _check_vis_video(out / "seq_vis.mp4", T)

    # json frames matched to the folder's images by file name (here listed in reverse, only frames 3..8)
    sub = PoseSequence(pframes[2:8][::-1], name="seq", source_format="2017")
    write_posetrack(tmp_path / "sub.json", sub, "2017")
    out = tmp_path / "pose_sub"
    assert (
        _run(
            [
                "track",
                "posetrack",
                "--input",
                str(data / "seq"),
                "--poses",
                str(tmp_path / "sub.json"),
                "--no-vis",
                *_common(out),
            ]
        )
        == 0
    )
    res = read_posetrack(out / "seq.json")
    assert [f.file_name for f in res.frames] == [f"img{t}.png" for t in range(8, 2, -1)]
    for fr in res.frames:
        assert len({p.track_id for p in fr.people}) == 2
        assert [p.track_id for p in fr.people] == [p.track_id for p in res.frames[0].people]


def test_track_poseprop(data, tmp_path):
    x, y = _pos(0)
    joints = np.array([[x + 2 + (i % 5) * 5, y + 2 + (i // 5) * 8] for i in range(15)], float)
    joints[3] = -1  # an absent joint
    np.savetxt(tmp_path / "j.txt", joints)
    rc = _run(
        [
            "track",
            "poseprop",
            "--input",
            str(data / "seq"),
            "--joints",
            str(tmp_path / "j.txt"),
            "--max-frames",
            "3",
            *_common(tmp_path / "o"),
        ]
    )
    assert rc == 0
    res = json.loads((tmp_path / "o" / "seq.json").read_text())
    arr = np.asarray(res["joints"])
    assert res["skeleton"] == "jhmdb" and arr.shape == (3, 15, 2)
    assert np.all(arr[:, 3] == -1)  # absent stays absent (not a blob in the image corner)
    ok = np.arange(15) != 3
    assert np.all(arr[:, ok] >= 0)
    assert np.abs(arr[0, ok] - joints[ok]).max() <= 8  # frame 0 = read-out of its own belief maps (8 px cells)
    _check_vis_video(tmp_path / "o" / "seq_vis.mp4", 3)


def test_track_vos_max_side(data, tmp_path):
    rc = _run(
        [
            "track",
            "vos",
            "--input",
            str(data / "clip.mp4"),
            "--mask",
            str(data / "first.png"),
            "--max-frames",
            "3",
            "--max-side",
            "64",
            "--no-vis",
            *_common(tmp_path),
        ]
    )
    assert rc == 0
    pngs = sorted((tmp_path / "clip").glob("*.png"))
    assert len(pngs) == 3 and not (tmp_path / "clip_vis.mp4").exists()
    for p in pngs:  # written at the input size although the head ran at 64x48
        m = np.asarray(Image.open(p))
        assert m.shape == (H, W) and set(np.unique(m).tolist()) <= {0, 3}


def _err(capsys, argv, task) -> str:
    rc = _run(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith(f"unitrack track {task}: error: ")
    return err[0]


def test_errors_one_line(data, tmp_path, capsys):
    c = _common(tmp_path)
    msg = _err(
        capsys, ["track", "vos", "--input", str(data / "clip.mp4"), "--mask", str(data / "small.png"), *c], "vos"
    )
    assert "small.png" in msg and "64x48" in msg and "expected the frame size 128x96" in msg
    msg = _err(capsys, ["track", "sot", "--input", str(data / "bad.mp4"), "--box", "1,1,5,5", *c], "sot")
    assert "bad.mp4" in msg and "expected a video file" in msg
    msg = _err(capsys, ["track", "sot", "--input", str(data / "missing.mp4"), "--box", "1,1,5,5", *c], "sot")
    assert "missing.mp4" in msg
    msg = _err(capsys, ["track", "sot", "--input", str(data / "seq"), "--box", "500,1,5,5", *c], "sot")
    assert "--box" in msg and "outside" in msg
    msg = _err(capsys, ["track", "mot", "--input", str(data / "seq"), "--dets", str(data / "nodets.txt"), *c], "mot")
    assert "nodets.txt" in msg
    np.savetxt(tmp_path / "j17.txt", np.ones((17, 2)))
    msg = _err(
        capsys,
        [
            "track",
            "poseprop",
            "--input",
            str(data / "seq"),
            "--joints",
            str(tmp_path / "j17.txt"),
            "--skeleton",
            "jhmdb",
            *c,
        ],
        "poseprop",
    )
    assert "17 joints" in msg and "15" in msg
    from unitrack.data.mots import MOTSObject, write_mots_txt

    write_mots_txt(tmp_path / "m.txt", [MOTSObject.from_mask(1, 2001, 2, np.ones((48, 64), np.uint8))])
    msg = _err(capsys, ["track", "mots", "--input", str(data / "seq"), "--masks", str(tmp_path / "m.txt"), *c], "mots")
    assert "m.txt:1" in msg and "48x64" in msg


def test_helpers(tmp_path, monkeypatch):
    np.testing.assert_array_equal(parse_box("1, 2, 3, 4"), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="positive width"):
        parse_box("1,2,0,4")
    (tmp_path / "j.json").write_text(json.dumps({"joints": [[1, 2], [3, 4]]}))
    np.testing.assert_array_equal(read_joints(tmp_path / "j.json"), [[1, 2], [3, 4]])
    (tmp_path / "j.txt").write_text("# x y\n1,2\n3 4 1\n\n")
    np.testing.assert_array_equal(read_joints(tmp_path / "j.txt"), [[1, 2], [3, 4]])
    (tmp_path / "bad.txt").write_text("1 2\nfoo\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2"):
        read_joints(tmp_path / "bad.txt")
    import unitrack.model as um

    notes = []
    monkeypatch.setattr(um, "imagenet_weights_available", lambda arch="resnet18": False)
    assert default_model_spec(notes.append) == "resnet18:random" and len(notes) == 1
    monkeypatch.setattr(um, "imagenet_weights_available", lambda arch="resnet18": True)
    assert default_model_spec(notes.append) == "resnet18" and len(notes) == 1
