"""PoseTrack 2017/2018 json IO and the neutral pose representation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unitrack.data.posetrack import (
    POSETRACK18_KEYPOINTS,
    POSETRACK_JOINTS,
    PoseFrame,
    PosePerson,
    PoseSequence,
    from_posetrack17,
    read_posetrack,
    to_posetrack17,
    to_posetrack18,
    write_posetrack,
)


def _person(seed, track_id, missing=()):
    rng = np.random.default_rng(seed)
    j = np.concatenate([rng.uniform(0, 500, (15, 2)), np.ones((15, 1))], 1)
    j[list(missing), :2] = np.nan
    s = rng.uniform(0, 1, 15)
    return PosePerson(j, track_id, s, np.array([10.0, 20.0, 40.0, 60.0]), None, 0.8)


def _seq():
    fr = [
        PoseFrame("images/val/000342_mpii/000000.jpg", [_person(0, 3), _person(1, 7, missing=(0, 5, 13))], 10000),
        PoseFrame("images/val/000342_mpii/000001.jpg", [], 10001, is_labeled=False),
        PoseFrame(
            "images/val/000342_mpii/000002.jpg",
            [_person(2, 3, missing=(14,))],
            10002,
            ignore_regions=[np.array([[0, 0], [10, 0], [10, 10.0]])],
        ),
    ]
    return PoseSequence(fr, "000342")


def _assert_same(a: PoseSequence, b: PoseSequence, scores=True):
    assert len(a.frames) == len(b.frames)
    for fa, fb in zip(a.frames, b.frames):
        assert fa.file_name == fb.file_name and fa.image_id == fb.image_id and fa.is_labeled == fb.is_labeled
        assert len(fa.people) == len(fb.people)
        for pa, pb in zip(fa.people, fb.people):
            np.testing.assert_array_equal(pa.present, pb.present)
            np.testing.assert_allclose(pa.joints[pa.present], pb.joints[pb.present])
            assert pa.track_id == pb.track_id
            np.testing.assert_allclose(pa.head_box, pb.head_box)
            if scores:
                np.testing.assert_allclose(pa.scores[pa.present], pb.scores[pb.present])
        assert len(fa.ignore_regions) == len(fb.ignore_regions)


@pytest.mark.parametrize("fmt", ["2017", "2018"])
def test_roundtrip(tmp_path, fmt):
    seq = _seq()
    p = tmp_path / "000342_mpii_test.json"
    write_posetrack(p, seq, fmt)
    back = read_posetrack(p)
    assert back.source_format == fmt and back.name == "000342_mpii_test"
    _assert_same(seq, back)


def test_2018_layout_and_joint_mapping():
    seq = _seq()
    d = to_posetrack18(seq)
    assert d["categories"][0]["keypoints"] == list(POSETRACK18_KEYPOINTS)
    a = d["annotations"][0]
    assert len(a["keypoints"]) == 51 and len(a["scores"]) == 17
    kp = np.array(a["keypoints"]).reshape(17, 3)
    p = seq.frames[0].people[0]
    # COCO-order nose (0) <- PoseTrack joint 13; right_ankle (16) <- joint 0; ears are zero
    np.testing.assert_allclose(kp[0, :2], p.joints[POSETRACK_JOINTS.index("nose"), :2])
    np.testing.assert_allclose(kp[16, :2], p.joints[0, :2])
    assert (kp[3] == 0).all() and (kp[4] == 0).all()
    assert a["bbox_head"] == [10.0, 20.0, 30.0, 40.0]
    missing = np.array(d["annotations"][1]["keypoints"]).reshape(17, 3)
    assert (missing[POSETRACK18_KEYPOINTS.index("right_ankle")] == 0).all()  # joint 0 missing
    assert d["images"][1]["is_labeled"] is False


def test_2018_zero_keypoint_is_missing_but_v0_with_coords_is_present():
    d = to_posetrack18(_seq())
    kp = np.array(d["annotations"][0]["keypoints"], float).reshape(17, 3)
    kp[POSETRACK18_KEYPOINTS.index("nose")] = [0, 0, 0]
    kp[POSETRACK18_KEYPOINTS.index("head_top")] = [5, 6, 0]
    d["annotations"][0]["keypoints"] = kp.reshape(-1).tolist()
    from unitrack.data.posetrack import from_posetrack18

    p = from_posetrack18(d).frames[0].people[0]
    assert not p.present[POSETRACK_JOINTS.index("nose")]
    assert p.present[POSETRACK_JOINTS.index("head_top")]


def test_2017_accepts_scalars_and_lists():
    d = {
        "annolist": [
            {
                "image": [{"name": "a/000001.jpg"}],
                "annorect": [
                    {
                        "x1": 1,
                        "y1": [2],
                        "x2": 3,
                        "y2": 4,
                        "track_id": [5],
                        "annopoints": [
                            {"point": [{"id": [0], "x": [10], "y": 11, "score": [0.5]}, {"id": 14, "x": 1, "y": 2}]}
                        ],
                    }
                ],
            }
        ]
    }
    s = from_posetrack17(d)
    p = s.frames[0].people[0]
    assert p.track_id == 5 and p.present.sum() == 2 and p.scores[0] == 0.5 and np.isnan(p.scores[14])
    assert to_posetrack17(s)["annolist"][0]["annorect"][0]["annopoints"][0]["point"][0]["id"] == [0]


def test_2017_point_list_presence_like_poseval():
    """has_points: poseval keeps people whose first 'annopoints' entry has a 'point' key (even an empty list) and drops
    the others (no 'annopoints', an empty list, an empty first entry). A repeated joint id: the first one counts."""
    rects = [
        {"track_id": [1], "annopoints": [{"point": []}]},
        {"track_id": [2]},
        {"track_id": [3], "annopoints": []},
        {"track_id": [4], "annopoints": [{}]},
        {
            "track_id": [5],
            "annopoints": [{"point": [{"id": [3], "x": [1], "y": [2]}, {"id": [3], "x": [7], "y": [8]}]}],
        },
    ]
    s = from_posetrack17({"annolist": [{"image": [{"name": "a/000001.jpg"}], "annorect": rects}]})
    ppl = s.frames[0].people
    assert [p.has_points for p in ppl] == [True, False, False, False, True]
    assert not any(p.present.any() for p in ppl[:4])
    np.testing.assert_array_equal(ppl[4].joints[3, :2], [1, 2])
    # written back: a person without a point list stays without one, an empty list stays an empty list
    back = to_posetrack17(s)["annolist"][0]["annorect"]
    assert back[0]["annopoints"] == [{"point": []}] and "annopoints" not in back[1]
    assert [p.has_points for p in from_posetrack17(to_posetrack17(s)).frames[0].people] == [
        True,
        False,
        False,
        False,
        True,
    ]


def _one_point(pt):
    return {"annolist": [{"image": [{"name": "x"}], "annorect": [{"annopoints": [{"point": [pt]}]}]}]}


@pytest.mark.parametrize(
    "data,match",
    [
        ({"foo": 1}, "expected key 'annolist'"),
        (
            _one_point({"id": [20], "x": [1], "y": [1]}),
            r"annolist\[0\]\.annorect\[0\]\.annopoints\[0\]\.point\[0\]\.id: expected a joint id",
        ),
        (_one_point({"id": [1], "x": ["a"], "y": [1]}), r"point\[0\]\.x: expected a number"),
        (
            {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "keypoints": [1, 2, 3]}]},
            r"annotations\[0\]\.keypoints: expected 51 numbers",
        ),
        (
            {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 2, "keypoints": [0] * 51}]},
            r"annotations\[0\]\.image_id: 2 is not the id",
        ),
        (
            {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [], "categories": [{"keypoints": ["nose"]}]},
            "lacks the PoseTrack joints",
        ),
    ],
)
def test_malformed_json_errors(tmp_path, data, match):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=match) as ei:
        read_posetrack(p)
    assert "bad.json" in str(ei.value)


def test_invalid_json_reports_line(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text('{"annolist": [\n  {"image": [}\n]}')
    with pytest.raises(ValueError, match=r"broken.json: line 2"):
        read_posetrack(p)


def test_person_shape_checked():
    with pytest.raises(ValueError, match=r"\[15, 3\]"):
        PosePerson(np.zeros((17, 3)))


def test_failed_write_keeps_old_file(tmp_path):
    p = tmp_path / "s.json"
    write_posetrack(p, _seq(), "2018")
    before = p.read_text()
    with pytest.raises(ValueError):
        write_posetrack(p, _seq(), "2019")
    bad = _seq()
    bad.frames[0].people[0].track_id = object()  # not serialisable -> TypeError in int()
    with pytest.raises(TypeError):
        write_posetrack(p, bad, "2018")
    assert p.read_text() == before
