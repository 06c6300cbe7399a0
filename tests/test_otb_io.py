"""OTB-2015 reader (folder layout and pysot json) and results writer (python/unitrack/data/otb.py)."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from unitrack.data.otb import load_otb, read_rects, read_results, write_results


def _video(root, name, n_img, gts: dict, start=1, sep=","):
    img = root / name / "img"
    img.mkdir(parents=True)
    for i in range(start, start + n_img):
        cv2.imwrite(str(img / f"{i:04d}.jpg"), np.full((8, 10, 3), i % 255, np.uint8))
    for fname, rows in gts.items():
        with open(root / name / fname, "w") as f:
            for r in rows:
                f.write((sep if isinstance(sep, str) else sep(len(r))).join(str(v) for v in r) + "\n")


def _rows(n, seed):
    rng = np.random.default_rng(seed)
    return [[int(v) for v in rng.integers(1, 50, 4)] for _ in range(n)]


def test_folder_layout_separators_and_multi_target(tmp_path):
    rows_a, rows_b, rows_c = _rows(5, 0), _rows(4, 1), _rows(3, 2)
    _video(tmp_path, "Basketball", 5, {"groundtruth_rect.txt": rows_a}, sep=",")
    _video(tmp_path, "Car4", 4, {"groundtruth_rect.txt": rows_b}, sep="\t")
    _video(tmp_path, "Jogging", 3, {"groundtruth_rect.1.txt": rows_c, "groundtruth_rect.2.txt": rows_c[::-1]}, sep=" ")
    # mixed separators inside one file (seen in OTB files: "x,y\tw  h")
    _video(tmp_path, "Mixed", 2, {"groundtruth_rect.txt": [[1, 2, 3, 4], [5, 6, 7, 8]]}, sep=lambda n: ",")
    with open(tmp_path / "Mixed" / "groundtruth_rect.txt", "w") as f:
        f.write("1,2\t3  4\n\n5 ,6,7,8\n")
    ds = load_otb(tmp_path)
    assert ds.names == ["Basketball", "Car4", "Jogging-1", "Jogging-2", "Mixed"]
    np.testing.assert_array_equal(ds["Basketball"].gt, np.array(rows_a, float) - [1, 1, 0, 0])  # 0-based
    np.testing.assert_array_equal(ds["Car4"].gt, np.array(rows_b, float) - [1, 1, 0, 0])
    np.testing.assert_array_equal(ds["Jogging-2"].gt, np.array(rows_c[::-1], float) - [1, 1, 0, 0])
    assert ds["Jogging-1"].frames == ds["Jogging-2"].frames and len(ds["Jogging-1"]) == 3
    np.testing.assert_array_equal(ds["Mixed"].gt, [[0, 1, 3, 4], [4, 5, 7, 8]])
    np.testing.assert_array_equal(ds["Basketball"].init_box, ds["Basketball"].gt[0])
    assert ds["Car4"].frames[0].endswith(os.path.join("Car4", "img", "0001.jpg"))


def test_folder_layout_annotated_subrange(tmp_path):
    # David: images 0001..0010 on disk in this miniature, ground truth only for frames 3..7 via the frame-range table
    from unitrack.data import otb

    otb.FRAME_RANGES["tinydavid"] = (3, 7)
    try:
        _video(tmp_path, "TinyDavid", 10, {"groundtruth_rect.txt": _rows(5, 3)})
        v = load_otb(tmp_path)["TinyDavid"]
        assert [os.path.basename(p) for p in v.frames] == [f"{i:04d}.jpg" for i in range(3, 8)]
    finally:
        del otb.FRAME_RANGES["tinydavid"]
    # no table entry: more images than boxes -> the annotated beginning; fewer images -> a clear error
    _video(tmp_path / "b", "Football1", 6, {"groundtruth_rect.txt": _rows(4, 4)})
    assert len(load_otb(tmp_path / "b")["Football1"]) == 4
    _video(tmp_path / "c", "Short", 2, {"groundtruth_rect.txt": _rows(4, 4)})
    with pytest.raises(ValueError, match="4 boxes but only 2 images"):
        load_otb(tmp_path / "c")


def test_pysot_json_with_shared_jogging_folder(tmp_path):
    _video(tmp_path, "Jogging", 3, {})
    _video(tmp_path, "Basketball", 2, {})
    meta = {
        "Basketball": {
            "video_dir": "Basketball",
            "img_names": [f"Basketball/img/{i:04d}.jpg" for i in (1, 2)],
            "gt_rect": [[10, 20, 30, 40], [11, 21, 30, 40]],
            "init_rect": [10, 20, 30, 40],
            "attr": ["IV", "OCC"],
        },
        "Jogging-1": {
            "video_dir": "Jogging-1",
            "img_names": [f"Jogging-1/img/{i:04d}.jpg" for i in (1, 2, 3)],
            "gt_rect": [[1, 2, 3, 4]] * 3,
            "init_rect": [1, 2, 3, 4],
            "attr": [],
        },
        "Jogging-2": {
            "video_dir": "Jogging-2",
            "img_names": [f"Jogging-2/img/{i:04d}.jpg" for i in (1, 2, 3)],
            "gt_rect": [[5, 6, 7, 8]] * 3,
            "init_rect": [5, 6, 7, 8],
            "attr": [],
        },
    }
    (tmp_path / "OTB2015.json").write_text(json.dumps(meta))
    for root in (tmp_path, tmp_path / "OTB2015.json"):
        ds = load_otb(root)
        assert ds.names == ["Basketball", "Jogging-1", "Jogging-2"]
        np.testing.assert_array_equal(ds["Basketball"].gt[1], [10, 20, 30, 40])
        np.testing.assert_array_equal(ds["Basketball"].init_box, [9, 19, 30, 40])
        assert ds["Basketball"].attr == ["IV", "OCC"]
        assert os.path.exists(ds["Jogging-2"].frames[2]) and "Jogging" + os.sep + "img" in ds["Jogging-2"].frames[2]
    assert load_otb(tmp_path, videos=["Jogging-1"]).names == ["Jogging-1"]
    meta["Basketball"]["img_names"].append("Basketball/img/0009.jpg")
    (tmp_path / "OTB2015.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="3 img_names but 2 gt_rect"):
        load_otb(tmp_path)
    meta["Basketball"]["gt_rect"].append([1, 1, 1, 1])
    (tmp_path / "OTB2015.json").write_text(json.dumps(meta))
    with pytest.raises(FileNotFoundError, match="0009.jpg"):
        load_otb(tmp_path)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_otb(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no OTB videos"):
        load_otb(tmp_path)
    p = tmp_path / "gt.txt"
    p.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ValueError, match=r"gt.txt:2: expected 4 numbers"):
        read_rects(p)
    p.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(ValueError, match=r"gt.txt:2"):
        read_rects(p)
    with pytest.raises(KeyError, match="Nope"):
        _video(tmp_path / "d", "A", 1, {"groundtruth_rect.txt": [[1, 1, 1, 1]]})
        load_otb(tmp_path / "d", videos=["Nope"])


def test_results_roundtrip_is_one_based_and_atomic(tmp_path):
    boxes = np.array([[0.0, 0.0, 10.5, 20.25], [3.125, 4.5, 11.0, 19.0]])
    path = tmp_path / "res" / "Basketball.txt"
    write_results(path, boxes)
    assert path.read_text().splitlines()[0].split(",") == ["1.0000", "1.0000", "10.5000", "20.2500"]
    np.testing.assert_allclose(read_results(path), boxes)
    assert os.listdir(tmp_path / "res") == ["Basketball.txt"]  # no temporary file left behind
    with pytest.raises(ValueError, match="NaN"):
        write_results(path, [[np.nan, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"\[T, 4\]"):
        write_results(path, [[0, 1, 1]])
    np.testing.assert_allclose(read_results(path), boxes)  # a failed write leaves the old file intact
