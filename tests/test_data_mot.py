"""MOTChallenge reader/writer, seqinfo, layout and the atomic writer."""

from __future__ import annotations

import os

import numpy as np
import pytest

from unitrack.data._atomic import atomic_open, atomic_write_text
from unitrack.data.motchallenge import (
    list_sequences,
    read_mot_sequence,
    read_mot_txt,
    read_seqinfo,
    split_by_frame,
    write_mot_results,
)


def _make_seq(root, name="MOT17-02-FRCNN", n=5, det=None, gt=None):
    d = root / "train" / name
    (d / "img1").mkdir(parents=True)
    (d / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength={n}\nimWidth=640\nimHeight=480\nimExt=.jpg\n"
    )
    if det is not None:
        (d / "det").mkdir()
        (d / "det" / "det.txt").write_text(det)
    if gt is not None:
        (d / "gt").mkdir()
        (d / "gt" / "gt.txt").write_text(gt)
    return d


def test_read_sequence_dets_gt_and_empty_frames(tmp_path):
    det = "1,-1,10,20,30,40,0.9,-1,-1,-1\n1,-1,100,20,30,40,0.4,-1,-1,-1\n3,-1,5,5,10,10,0.7,-1,-1,-1\n"
    gt = "1,1,10,20,30,40,1,1,0.8\n2,1,12,20,30,40,0,7,0.5\n"
    d = _make_seq(tmp_path, det=det, gt=gt)
    seq = read_mot_sequence(d)
    assert seq.name == "MOT17-02-FRCNN" and seq.seq_length == 5 and seq.frame_rate == 25
    assert seq.im_size == (480, 640)
    assert seq.frame_paths[0].name == "000001.jpg" and len(seq.frame_paths) == 5
    assert [len(x) for x in seq.detections] == [2, 0, 1, 0, 0]
    np.testing.assert_allclose(seq.detections[0][1], [100, 20, 30, 40, 0.4])
    assert [len(x) for x in seq.gt] == [1, 1, 0, 0, 0]
    np.testing.assert_allclose(seq.gt[1][0], [1, 12, 20, 30, 40, 0, 7, 0.5])  # id,x,y,w,h,active,class,vis
    assert list_sequences(tmp_path, "train") == [d]


def test_user_detection_file_and_min_score(tmp_path):
    d = _make_seq(tmp_path, det="1,-1,1,1,5,5,0.9\n")
    own = tmp_path / "mydets.txt"
    own.write_text("2 -1 1 1 5 5 0.3\n2 -1 50 50 5 5 0.95\n")  # whitespace separated is accepted
    seq = read_mot_sequence(d, det_path=own, min_score=0.5)
    assert [len(x) for x in seq.detections] == [0, 1, 0, 0, 0]
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_mot_sequence(d, det_path=tmp_path / "nope.txt")


def test_bad_detections_dropped_with_warning(tmp_path):
    det = (
        "1,-1,10,10,0,40,0.9\n"  # zero width
        "1,-1,700,10,30,40,0.9\n"  # entirely right of the 640-px image
        "1,-1,-20,10,30,40,0.9\n"
    )  # partly outside: kept
    d = _make_seq(tmp_path, det=det)
    with pytest.warns(UserWarning, match="1 zero-area .* 1 detection"):
        seq = read_mot_sequence(d)
    assert len(seq.detections[0]) == 1 and seq.detections[0][0, 0] == -20


@pytest.mark.parametrize(
    "text,match",
    [
        ("1,1,2,3,4\n", "at least 6"),
        ("1,1,2,3,4,5,1\n1,1,2,3,4,5\n", r":2: expected 7 fields"),
        ("1,1,a,3,4,5\n", r":1: expected numeric"),
        ("0,1,2,3,4,5\n", "frame number >= 1"),
        ("1.5,1,2,3,4,5\n", "frame number"),
        ("1,1,2,3,-4,5\n", "width and height >= 0"),
        ("1,1,2,nan,4,5\n", "finite"),
    ],
)
def test_malformed_txt_names_file_and_line(tmp_path, text, match):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=match) as ei:
        read_mot_txt(p)
    assert "bad.txt" in str(ei.value)


def test_seqinfo_errors(tmp_path):
    p = tmp_path / "seqinfo.ini"
    p.write_text("[Sequence]\nname=x\n")
    with pytest.raises(ValueError, match="seqLength"):
        read_seqinfo(p)
    p.write_text("[Sequence]\nseqLength=abc\n")
    with pytest.raises(ValueError, match="seqLength"):
        read_seqinfo(p)
    with pytest.raises(FileNotFoundError):
        read_seqinfo(tmp_path / "missing.ini")


def test_write_results_roundtrip_and_format(tmp_path):
    rows = np.array([[1, 3, 10.5, 20.25, 30, 40], [2, 3, 11, 21, 30, 40]])
    p = tmp_path / "out" / "seq.txt"
    write_mot_results(p, rows)
    lines = p.read_text().splitlines()
    assert lines[0].split(",")[6:] == ["1", "-1", "-1", "-1"]
    back = read_mot_txt(p)
    np.testing.assert_allclose(back[:, :6], rows)
    assert back.shape == (2, 10)
    with pytest.raises(ValueError, match="frame"):
        write_mot_results(p, np.array([[0, 1, 0, 0, 1, 1]]))
    assert read_mot_txt(p).shape == (2, 10)  # failed write left the old file intact


def test_split_by_frame_range_error():
    rows = np.array([[1, 1, 0, 0, 1, 1], [4, 1, 0, 0, 1, 1]], float)
    with pytest.raises(ValueError, match=r"1\.\.3"):
        split_by_frame(rows, 3)
    parts = split_by_frame(rows, 4)
    assert [len(p) for p in parts] == [1, 0, 0, 1]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    p = tmp_path / "f.txt"
    atomic_write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(p) as f:
            f.write("new partial")
            raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]
