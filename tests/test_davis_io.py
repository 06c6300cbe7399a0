"""DAVIS-2017 IO: split files, frames, indexed palette PNG round trip."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from unitrack.data.davis import DavisDataset, read_mask, write_mask, write_sequence_masks
from unitrack.data.palette import colorize, davis_palette


def make_davis(root, seqs=("cows", "dog"), n=4, size=(24, 40), ids=(1, 2)):
    """A tiny DAVIS folder: ImageSets/2017/val.txt, JPEGImages/480p, Annotations/480p (indexed PNGs)."""
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(root, "ImageSets", "2017"), exist_ok=True)
    with open(os.path.join(root, "ImageSets", "2017", "val.txt"), "w") as f:
        f.write("\n".join(seqs) + "\n")
    masks = {}
    for s in seqs:
        os.makedirs(os.path.join(root, "JPEGImages", "480p", s), exist_ok=True)
        ms = []
        for t in range(n):
            img = rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)
            Image.fromarray(img).save(os.path.join(root, "JPEGImages", "480p", s, f"{t:05d}.jpg"))
            m = np.zeros(size, dtype=np.uint8)
            for k, oid in enumerate(ids):
                m[4 + 6 * k : 9 + 6 * k, 5 + t : 15 + t] = oid
            write_mask(os.path.join(root, "Annotations", "480p", s, f"{t:05d}.png"), m)
            ms.append(m)
        masks[s] = ms
    return masks


def test_palette_known_colours():
    pal = davis_palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    assert pal[0].tolist() == [0, 0, 0]
    assert pal[1].tolist() == [128, 0, 0]
    assert pal[2].tolist() == [0, 128, 0]
    assert pal[3].tolist() == [128, 128, 0]
    assert pal[4].tolist() == [0, 0, 128]
    assert pal[5].tolist() == [128, 0, 128]
    assert pal[8].tolist() == [64, 0, 0]
    assert pal[255].tolist() == [224, 224, 192]
    assert len({tuple(c) for c in pal}) == 256
    np.testing.assert_array_equal(colorize(np.array([[0, 2]])), [[[0, 0, 0], [0, 128, 0]]])


def test_png_round_trip_keeps_palette_and_ids(tmp_path):
    m = np.zeros((10, 12), dtype=np.uint8)
    m[1:4, 2:5] = 3
    m[5:9, 6:11] = 7
    m[0, 0] = 255
    p = str(tmp_path / "seq" / "00000.png")
    write_mask(p, m)
    with Image.open(p) as im:
        assert im.mode == "P"
        pal = np.array(im.getpalette()[: 256 * 3], dtype=np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(pal, davis_palette())
    np.testing.assert_array_equal(read_mask(p), m)


def test_write_sequence_masks_names(tmp_path):
    ms = [np.full((4, 5), i, dtype=np.uint8) for i in range(3)]
    paths = write_sequence_masks(str(tmp_path), "bear", ms)
    assert [os.path.basename(p) for p in paths] == ["00000.png", "00001.png", "00002.png"]
    assert read_mask(paths[2]).tolist() == ms[2].tolist()


def test_write_mask_errors(tmp_path):
    with pytest.raises(ValueError, match="0..255"):
        write_mask(str(tmp_path / "a.png"), np.array([[300]], dtype=np.int32))
    with pytest.raises(ValueError, match="id map"):
        write_mask(str(tmp_path / "a.png"), np.zeros((2, 2, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match="integer"):
        write_mask(str(tmp_path / "a.png"), np.zeros((2, 2), dtype=np.float32))


def test_read_mask_rejects_rgb(tmp_path):
    p = str(tmp_path / "rgb.png")
    Image.fromarray(np.zeros((3, 3, 3), dtype=np.uint8)).save(p)
    with pytest.raises(ValueError, match="rgb.png"):
        read_mask(p)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_mask(str(tmp_path / "missing.png"))


def test_dataset_reads_split(tmp_path):
    root = str(tmp_path / "DAVIS")
    masks = make_davis(root)
    ds = DavisDataset(root, split="val")
    assert ds.sequence_names == ["cows", "dog"]
    seq = ds["dog"]
    assert len(seq) == 4
    frames = seq.load_frames()
    assert frames[0].shape == (24, 40, 3) and frames[0].dtype == np.uint8
    np.testing.assert_array_equal(seq.load_mask(2), masks["dog"][2])
    assert len(DavisDataset(root, sequences=["cows"])) == 1


def test_dataset_errors(tmp_path):
    root = str(tmp_path / "DAVIS")
    make_davis(root)
    with pytest.raises(FileNotFoundError, match="train.txt"):
        DavisDataset(root, split="train")
    with pytest.raises(ValueError, match="sequences"):
        DavisDataset(root, sequences=["nope"])
    with pytest.raises(FileNotFoundError, match="davis_root"):
        DavisDataset(str(tmp_path / "nowhere"))
    # a frame of a different size is named
    bad = os.path.join(root, "JPEGImages", "480p", "cows", "00002.jpg")
    Image.fromarray(np.zeros((30, 40, 3), dtype=np.uint8)).save(bad)
    with pytest.raises(ValueError, match="00002.jpg"):
        DavisDataset(root)["cows"].load_frames()
