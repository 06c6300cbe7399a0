"""MOT head: letterbox geometry, RoIAlign boxes in letterbox units, output filter, tracking, bad input, files."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from unitrack.association import mot_config
from unitrack.data.motchallenge import read_mot_txt
from unitrack.heads._common import letterbox
from unitrack.heads.mot import MOTHead, output_filter, track_mot
from unitrack.model import ColorStatsModel, wrap_module

pytestmark = pytest.mark.usefixtures("one_thread")

H, W = 96, 128
SMALL = mot_config(img_size=(272, 152))  # letterbox with horizontal padding (ratio 1.583, pad 34/35)
COLORS = [(230, 40, 40), (40, 200, 60), (50, 70, 230)]


def scene(T=8, objs=((10, 20, 20, 40, 4, 1), (90, 30, 22, 44, -4, 0))):
    """Frames ``[T, H, W, 3]`` with coloured rectangles moving linearly on grey, and their boxes per frame."""
    frames, boxes = [], []
    for t in range(T):
        img = np.full((H, W, 3), 110, np.uint8)
        bt = []
        for k, (x, y, w, h, vx, vy) in enumerate(objs):
            x0, y0 = x + vx * t, y + vy * t
            img[y0 : y0 + h, x0 : x0 + w] = COLORS[k % len(COLORS)]
            bt.append([x0, y0, w, h])
        frames.append(img)
        boxes.append(np.asarray(bt, np.float64))
    return frames, boxes


class CoordModel(torch.nn.Module):
    """Stride-8 map whose channel 0 is the column index and channel 1 the row index of each cell."""

    def forward(self, x):
        B, _, h, w = x.shape
        hh, ww = -(-h // 8), -(-w // 8)
        ys, xs = torch.meshgrid(
            torch.arange(hh, dtype=torch.float32), torch.arange(ww, dtype=torch.float32), indexing="ij"
        )
        return torch.stack([xs, ys])[None].expand(B, 2, hh, ww).contiguous()


def test_letterbox_geometry_default_size():
    img = np.zeros((1080, 1920, 3), np.uint8)
    img[500:520, 1000:1040] = 255
    out, ratio, left, top = letterbox(img, (1088, 608))
    assert out.shape == (608, 1088, 3) and out.dtype == np.uint8
    assert ratio == pytest.approx(min(608 / 1080, 1088 / 1920))
    nw = round(1920 * ratio)  # height-bound: 1081 columns, 7 columns of padding split 3 / 4
    assert (top, left) == (0, 3) and nw == 1081
    assert (out[:, :left] == 128).all() and (out[:, left + nw :] == 128).all()  # grey padding (127.5 -> 128)
    assert (out[:, left : left + nw] != 128).all()
    ys, xs = np.nonzero(out[..., 0] > 200)
    # the white patch lands at p * ratio + pad
    assert xs.mean() == pytest.approx(1020 * ratio + left, abs=1.0)
    assert ys.mean() == pytest.approx(510 * ratio + top, abs=1.0)


def test_roi_boxes_are_letterbox_coordinates_over_stride():
    head = MOTHead(wrap_module(CoordModel()), SMALL, progress=False)
    frame = np.full((H, W, 3), 100, np.uint8)
    box = np.array([[40.0, 30.0, 20.0, 40.0]])
    head.update(frame, box, [0.9])
    (t,) = head.last_tracks
    _, ratio, left, top = letterbox(frame, (272, 152))
    cx = (40 + 10) * ratio + left
    cy = (30 + 20) * ratio + top
    feat = t.curr_feat  # [40, 2]: 4 rows x 10 columns of bilinear samples
    assert feat.shape == (40, 2)
    assert float(feat[:, 0].mean()) == pytest.approx(cx / 8, abs=0.15)
    assert float(feat[:, 1].mean()) == pytest.approx(cy / 8, abs=0.15)


def test_output_filter_area_and_aspect():
    b = np.array(
        [
            [0, 0, 10, 20],  # area 200: not > 200 -> dropped
            [0, 0, 10, 21],  # area 210 -> kept
            [0, 0, 32, 20],  # w/h = 1.6 -> kept (filter is w/h > 1.6)
            [0, 0, 33, 20],  # w/h = 1.65 -> dropped
            [0, 0, 100, 10],
        ]
    )  # wide -> dropped
    np.testing.assert_array_equal(output_filter(b, 200, 1.6), [False, True, True, False, False])


def test_head_filters_output_but_keeps_tracks():
    head = MOTHead(ColorStatsModel(), SMALL, progress=False)
    frames, _ = scene(T=1)
    out = head.update(frames[0], np.array([[10, 20, 20, 40], [60, 60, 40, 10]], float), [0.9, 0.9])
    assert len(head.last_tracks) == 2  # both tracked ...
    assert [float(t.tlwh[2]) for t in out] == pytest.approx([20.0], abs=1e-6)  # ... the wide one not reported


def test_tracks_two_objects_with_stable_ids(device):
    model = ColorStatsModel().to(device)
    head = MOTHead(model, SMALL, progress=False)
    frames, boxes = scene(T=8)
    owner = []  # per frame: the track id of each object (nearest reported box)
    for f, b in zip(frames, boxes):
        out = head.update(f, b, np.full(len(b), 0.9))
        assert len(out) == 2
        for tr in out:  # reported boxes are close to the detections (Kalman-filtered)
            assert np.abs(b - tr.tlwh).sum(1).min() < 4.0
        owner.append([min(out, key=lambda t: np.abs(t.tlwh - bk).sum()).track_id for bk in b])
    assert all(o == owner[0] for o in owner) and sorted(owner[0]) == [1, 2]


def test_conf_thres_filters_observations():
    head = MOTHead(ColorStatsModel(), SMALL, progress=False)
    frames, boxes = scene(T=3)
    for f, b in zip(frames, boxes):
        out = head.update(f, b, [0.9, 0.4])  # second object always below conf_thres 0.5
    assert [t.track_id for t in out] == [1]
    assert abs(out[0].tlwh[0] - boxes[-1][0, 0]) < 4


def test_bad_input_is_dropped_or_rejected():
    head = MOTHead(ColorStatsModel(), SMALL, progress=False)
    frames, boxes = scene(T=3)
    # zero-area and out-of-image boxes are dropped, the rest tracked
    b = np.vstack([[[5, 5, 0, 10], [5, 5, 10, -3]], boxes[0], [[500, 10, 20, 40], [-50, 10, 20, 40]]])
    out = head.update(frames[0], b, np.full(len(b), 0.9))
    assert len(out) == 2
    for t in out:  # det_index is the row of the caller's input
        assert np.abs(b[t.det_index] - t.tlwh).sum() < 1e-6
    assert head.stats["zero_area"] == 2 and head.stats["outside"] == 2
    # frames without detections: no crash, tracks become lost
    assert head.update(frames[1], np.zeros((0, 4)), np.zeros(0)) == []
    assert head.update(frames[2], None) == []
    # partly outside boxes are kept
    out = head.update(frames[2], np.array([[-5.0, 20, 30, 40]]), [0.9])
    assert isinstance(out, list)
    with pytest.raises(ValueError, match="not finite"):
        head.update(frames[0], np.array([[np.nan, 1, 2, 3]]), [0.9])
    with pytest.raises(ValueError, match=r"\[M, 4\]"):
        head.update(frames[0], np.zeros((2, 3)), [0.9, 0.9])
    with pytest.raises(ValueError, match="scores"):
        head.update(frames[0], boxes[0], [0.9])
    with pytest.raises(TypeError, match="uint8"):
        head.update(frames[0].astype(np.float32), boxes[0], [0.9, 0.9])
    with pytest.raises(FileNotFoundError):
        head.update("/nonexistent/frame.jpg", boxes[0], [0.9, 0.9])
    with pytest.raises(ValueError, match="obs_type"):
        MOTHead(ColorStatsModel(), mot_config().replace(obs_type="masks"))


def test_timings_per_stage():
    head = MOTHead(ColorStatsModel(), SMALL, progress=False)
    frames, boxes = scene(T=4)
    for f, b in zip(frames, boxes):
        head.update(f, b, [0.9, 0.9])
    tm = head.timings
    assert set(tm) == {"io", "backbone", "features", "rsm", "assoc", "total"}
    assert all(v >= 0 for v in tm.values())
    assert tm["backbone"] > 0 and tm["features"] > 0 and tm["rsm"] > 0
    parts = tm["io"] + tm["backbone"] + tm["features"] + tm["rsm"] + tm["assoc"]
    assert parts <= tm["total"] * 1.001 + 1e-6
    head.reset()
    assert head.timings == {}


def _write_sequence(root, frames, boxes, name="SEQ-01"):
    seq = root / name
    (seq / "img1").mkdir(parents=True)
    (seq / "det").mkdir()
    for t, f in enumerate(frames, 1):
        cv2.imwrite(str(seq / "img1" / f"{t:06d}.png"), f[:, :, ::-1])
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength={len(frames)}\n"
        f"imWidth={W}\nimHeight={H}\nimExt=.png\n"
    )
    lines = [f"{t},-1,{x},{y},{w},{h},0.9,-1,-1,-1" for t, b in enumerate(boxes, 1) for x, y, w, h in b]
    (seq / "det" / "det.txt").write_text("\n".join(lines) + "\n")
    return seq


def test_run_sequence_writes_motchallenge(tmp_path):
    frames, boxes = scene(T=6)
    seq = _write_sequence(tmp_path, frames, boxes)
    head = MOTHead(ColorStatsModel(), SMALL, progress=False)
    out = tmp_path / "res" / "SEQ-01.txt"
    rows = head.run(seq, out_txt=out)
    assert rows.shape == (12, 7)
    text = out.read_text().splitlines()
    assert len(text) == 12 and all(len(line.split(",")) == 10 for line in text)
    assert all(line.endswith(",-1,-1,-1") for line in text)
    back = read_mot_txt(out)
    np.testing.assert_array_equal(back[:, 0], rows[:, 0])
    assert set(back[:, 1].astype(int)) == {1, 2}
    assert back[:, 0].min() == 1 and back[:, 0].max() == 6
    assert [p for p in os.listdir(out.parent) if p.endswith(".tmp")] == []
    assert set(head.timings) >= {"backbone", "features", "rsm", "assoc"}


def test_track_mot_folder_and_bad_det_file(tmp_path):
    frames, boxes = scene(T=5)
    seq = _write_sequence(tmp_path, frames, boxes)
    info = track_mot(
        ColorStatsModel(), seq / "img1", seq / "det" / "det.txt", tmp_path / "o.txt", config=SMALL, progress=False
    )
    assert info["frames"] == 5 and info["tracks"] == 2 and info["rows"] == 10
    assert set(info["timings"]) >= {"backbone", "rsm"}
    bad = tmp_path / "bad.txt"
    bad.write_text("9,-1,1,1,10,20,0.9\n")
    with pytest.raises(ValueError, match="frame 9"):
        track_mot(ColorStatsModel(), seq / "img1", bad, tmp_path / "o2.txt", config=SMALL, progress=False)
    with pytest.raises(FileNotFoundError):
        track_mot(ColorStatsModel(), tmp_path / "nope", seq / "det" / "det.txt", tmp_path / "o3.txt")


def test_track_mot_video(tmp_path):
    frames, boxes = scene(T=5)
    path = str(tmp_path / "v.avi")
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (W, H))
    if not vw.isOpened():
        pytest.skip("OpenCV cannot write MJPG video here")
    for f in frames:
        vw.write(f[:, :, ::-1])
    vw.release()
    det = tmp_path / "det.txt"
    det.write_text("\n".join(f"{t},-1,{x},{y},{w},{h},0.9" for t, b in enumerate(boxes, 1) for x, y, w, h in b))
    info = track_mot(ColorStatsModel(), path, det, tmp_path / "o.txt", config=SMALL, progress=False)
    assert info["frames"] == 5 and info["tracks"] == 2
