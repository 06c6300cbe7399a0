"""MOTS txt IO, RLE validation and the overlap resolver."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from unitrack.data.mots import (
    MOTSObject,
    check_rle,
    decode_rle,
    encode_mask,
    make_disjoint,
    mots_by_frame,
    read_mots_txt,
    rle_counts,
    write_mots_txt,
)

# pycocotools' decode triggers a numpy-2 DeprecationWarning (copy keyword); not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_rle_counts_match_pycocotools_for_random_masks():
    rng = np.random.default_rng(1)
    for _ in range(50):
        h, w = rng.integers(1, 120, 2)
        m = rng.random((h, w)) < rng.random()
        s = encode_mask(m)
        cnt = rle_counts(s)
        # rebuild from the uncompressed counts with pycocotools and compare the masks
        rebuilt = mask_utils.decode(
            mask_utils.frPyObjects({"size": [int(h), int(w)], "counts": cnt.tolist()}, int(h), int(w))
        )
        np.testing.assert_array_equal(rebuilt.astype(bool), m)
        np.testing.assert_array_equal(decode_rle(s, h, w), m)


@pytest.mark.parametrize("bad", ["zzz", "", "5", "0:1", "9220", "9220!"])
def test_invalid_rle_rejected(bad):
    with pytest.raises(ValueError):
        check_rle(bad, 4, 5)


def test_roundtrip_file(tmp_path):
    m1 = np.zeros((30, 40), bool)
    m1[2:10, 3:9] = True
    m2 = np.zeros((30, 40), bool)
    m2[20:25, 30:38] = True
    objs = [MOTSObject.from_mask(2, 2002, 2, m2), MOTSObject.from_mask(1, 2001, 2, m1)]
    p = tmp_path / "s.txt"
    write_mots_txt(p, objs, im_size=(30, 40))
    back = read_mots_txt(p, im_size=(30, 40))
    assert [o.frame for o in back] == [1, 2]  # sorted by frame
    np.testing.assert_array_equal(back[0].mask(), m1)
    np.testing.assert_array_equal(back[1].mask(), m2)
    per = mots_by_frame(back, 3)
    assert [len(x) for x in per] == [1, 1, 0]
    assert p.read_text().splitlines()[0].startswith("1 2001 2 30 40 ")


@pytest.mark.parametrize(
    "line,match",
    [
        ("1 2001 2 30 40", "6 space-separated"),
        ("1 2001 two 30 40 abc", "integers"),
        ("1 2001 2 0 40 abc", "positive height"),
        ("1 2001 2 30 40 zz~", ":1: invalid RLE"),
        ("1 2001 2 30 40 12", ":1: invalid RLE"),
    ],
)
def test_malformed_lines(tmp_path, line, match):
    p = tmp_path / "bad.txt"
    p.write_text(line + "\n")
    with pytest.raises(ValueError, match=match) as ei:
        read_mots_txt(p)
    assert "bad.txt" in str(ei.value)


def test_wrong_size_rejected(tmp_path):
    o = MOTSObject.from_mask(1, 2001, 2, np.ones((10, 12), bool))
    with pytest.raises(ValueError, match="image size"):
        write_mots_txt(tmp_path / "x.txt", [o], im_size=(10, 13))
    assert not (tmp_path / "x.txt").exists()
    write_mots_txt(tmp_path / "x.txt", [o])
    with pytest.raises(ValueError, match=r"x.txt:1: mask size 10x12"):
        read_mots_txt(tmp_path / "x.txt", im_size=(20, 20))
    with pytest.raises(ValueError, match="2-D"):
        MOTSObject.from_mask(1, 1, 2, np.ones((2, 3, 4)))


def test_make_disjoint_by_score():
    a = np.zeros((1, 6, 6), bool)
    a[0, :4, :4] = True
    b = np.zeros((1, 6, 6), bool)
    b[0, 2:, 2:] = True
    out = make_disjoint(np.concatenate([a, b]), scores=np.array([0.2, 0.9]))
    assert not (out[0] & out[1]).any()
    assert out[1].sum() == 16 and out[0].sum() == 16 - 4  # the overlap went to the higher score
    assert ((out[0] | out[1]) == (a[0] | b[0])).all()
