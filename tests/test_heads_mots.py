"""MOTS head: mask tracking, deterministic disjoint output, id mapping, bad masks / RLE, files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unitrack.data.mots import MOTSObject, encode_mask, make_disjoint, read_mots_txt, write_mots_txt
from unitrack.heads.mots import MaskTrack, MOTSHead, mots_object_id, resolve_overlaps, track_mots
from unitrack.metrics.mots import evaluate_mots_sequence
from unitrack.model import ColorStatsModel

pytestmark = pytest.mark.usefixtures("one_thread")

H, W = 96, 128
COLORS = [(230, 40, 40), (40, 200, 60), (50, 70, 230)]


def scene(T=6, objs=((10, 20, 24, 48, 4), (90, 24, 24, 48, -4))):
    """Frames and per-frame bool masks ``[K, H, W]`` of rectangles moving horizontally."""
    frames, masks = [], []
    for t in range(T):
        img = np.full((H, W, 3), 110, np.uint8)
        ms = np.zeros((len(objs), H, W), bool)
        for k, (x, y, w, h, vx) in enumerate(objs):
            x0 = x + vx * t
            img[y : y + h, x0 : x0 + w] = COLORS[k]
            ms[k, y : y + h, x0 : x0 + w] = True
        frames.append(img)
        masks.append(ms)
    return frames, masks


def test_mots_object_id_mapping():
    assert mots_object_id(1) == 2001
    assert mots_object_id(7999) == 9999
    assert mots_object_id(8000) == 10001  # 10000 is the MOTS ignore id: skipped
    assert len({mots_object_id(i) for i in range(1, 9000)}) == 8999


def test_resolve_overlaps_rank_order():
    a = np.zeros((4, 4), bool)
    a[:, :3] = True
    b = np.zeros((4, 4), bool)
    b[:, 1:] = True
    c = np.zeros((4, 4), bool)
    c[:, 1:3] = True  # entirely inside a and b: emptied
    tracks = [
        MaskTrack(5, b, 1.0, 0, start_frame=1),
        MaskTrack(3, a, 1.0, 1, start_frame=2),
        MaskTrack(9, c, 1.0, 2, start_frame=3),
    ]
    out = resolve_overlaps(tracks)
    assert [t.track_id for t in out] == [5, 3]  # older track (start 1) wins contested pixels
    np.testing.assert_array_equal(out[0].mask, b)
    np.testing.assert_array_equal(out[1].mask, a & ~b)
    # a higher score beats age; equal score and age -> smaller id
    out = resolve_overlaps([MaskTrack(5, b, 0.5, 0, 1), MaskTrack(3, a, 0.9, 1, 2)])
    np.testing.assert_array_equal(out[0].mask, a)
    out = resolve_overlaps([MaskTrack(5, b, 1.0, 0, 1), MaskTrack(3, a, 1.0, 1, 1)])
    assert out[0].track_id == 3
    # union preserved, no pixel twice
    tot = sum(o.mask.astype(int) for o in out)
    assert tot.max() == 1 and (tot > 0).sum() == (a | b).sum()


def test_tracks_masks_and_outputs_are_disjoint():
    head = MOTSHead(ColorStatsModel(), progress=False)
    frames, masks = scene(T=7, objs=((10, 8, 30, 48, 4), (70, 40, 30, 48, -4)))  # overlap from frame 3 on
    owner = []
    overlapped = False
    for f, m in zip(frames, masks):
        out = head.update(f, m)
        assert len(out) == 2
        tot = sum(o.mask.astype(int) for o in out)
        assert tot.max() == 1  # disjoint
        assert (tot > 0).sum() == (m[0] | m[1]).sum()  # nothing lost but the overlap
        overlapped |= bool((m[0] & m[1]).any())
        owner.append([o.track_id for o in sorted(out, key=lambda o: o.det_index)])
    assert overlapped and head.stats["overlap_pixels"] > 0
    assert all(o == owner[0] for o in owner) and sorted(owner[0]) == [1, 2]


def test_mask_input_forms_and_bad_input():
    frames, masks = scene(T=1)
    f, m = frames[0], masks[0]
    head = MOTSHead(ColorStatsModel(), progress=False)
    a = head.update(f, [encode_mask(x) for x in m])  # RLE strings
    head.reset()
    b = head.update(f, [{"size": [H, W], "counts": encode_mask(x).encode()} for x in m])  # RLE dicts
    head.reset()
    c = head.update(f, m.astype(np.uint8))
    for x, y in ((a, b), (a, c)):
        assert [o.track_id for o in x] == [o.track_id for o in y]
        for p, q in zip(x, y):
            np.testing.assert_array_equal(p.mask, q.mask)
    # frames without masks: no crash
    assert head.update(f, []) == [] and head.update(f, None) == [] and head.update(f, np.zeros((0, H, W))) == []
    with pytest.raises(ValueError, match="frame is 96x128"):
        head.update(f, np.zeros((1, H, W + 1), bool))
    with pytest.raises(ValueError, match=r"masks\[1\] has shape"):
        head.update(f, [m[0], np.zeros((10, 10))])
    with pytest.raises(ValueError, match=r"masks\[0\]: invalid RLE"):
        head.update(f, ["not an rle ~~~"])
    with pytest.raises(ValueError, match=r"masks\[0\]: invalid RLE"):
        head.update(f, [encode_mask(np.ones((H, W - 8), bool))])  # decodes to the wrong number of pixels
    with pytest.raises(ValueError, match=r"masks\[0\] has size"):
        head.update(f, [{"size": [H, W - 8], "counts": encode_mask(np.ones((H, W - 8), bool))}])
    with pytest.raises(ValueError, match=r"\[K, H, W\]"):
        head.update(f, np.zeros((1, 1, H, W)))
    with pytest.raises(ValueError, match="NaN"):
        head.update(f, np.full((1, H, W), np.nan))


def _write_seq(root, frames, masks, name="MOTS-01", extra_det_lines=()):
    seq = root / name
    (seq / "img1").mkdir(parents=True)
    for t, f in enumerate(frames, 1):
        cv2.imwrite(str(seq / "img1" / f"{t:06d}.png"), f[:, :, ::-1])
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength={len(frames)}\n"
        f"imWidth={W}\nimHeight={H}\nimExt=.png\n"
    )
    objs = [MOTSObject.from_mask(t, 2001 + k, 2, mk) for t, ms in enumerate(masks, 1) for k, mk in enumerate(ms)]
    gt = [
        MOTSObject.from_mask(t, 2001 + k, 2, mk)
        for t, ms in enumerate(masks, 1)
        for k, mk in enumerate(make_disjoint(ms))
    ]
    write_mots_txt(seq / "gt" / "gt.txt", gt)
    dets = [MOTSObject(o.frame, k, o.class_id, o.height, o.width, o.rle) for k, o in enumerate(objs)]
    write_mots_txt(seq / "det" / "det.txt", dets + list(extra_det_lines))
    return seq


def test_run_writes_valid_mots_txt(tmp_path):
    frames, masks = scene(T=6, objs=((10, 20, 30, 48, 4), (70, 24, 30, 48, -4)))
    masks[3] = masks[3][:0]  # a frame without any mask (the reference's loader crashes here)
    car = MOTSObject.from_mask(2, 1001, 1, np.ones((H, W), bool))  # class 1 lines are ignored
    seq = _write_seq(tmp_path, frames, masks, extra_det_lines=[car])
    head = MOTSHead(ColorStatsModel(), progress=False)
    out = tmp_path / "res" / "MOTS-01.txt"
    objs = head.run(seq, out_txt=out)
    back = read_mots_txt(out, im_size=(H, W))
    assert len(back) == len(objs) == 10
    assert {o.class_id for o in back} == {2}
    assert {o.obj_id for o in back} == {2001, 2002}
    assert 4 not in {o.frame for o in back}
    for line in out.read_text().splitlines():
        fr, oid, cls, h, w, rle = line.split(" ")
        assert (cls, h, w) == ("2", str(H), str(W))
    res = evaluate_mots_sequence(seq / "gt" / "gt.txt", out, 6)  # raises on overlapping masks
    assert res["Identity"]["IDF1"] > 0.85
    assert res["CLEAR"]["IDSW"] == 0


def test_run_rejects_bad_files(tmp_path):
    frames, masks = scene(T=2)
    seq = _write_seq(tmp_path, frames, masks)
    det = seq / "det" / "det.txt"
    lines = det.read_text().splitlines()
    det.write_text("\n".join(lines + ["2 7 2 96 128 @@@@"]) + "\n")
    head = MOTSHead(ColorStatsModel(), progress=False)
    with pytest.raises(ValueError, match=r"det.txt:5: invalid RLE"):
        head.run(seq)
    det.write_text("\n".join(lines + [f"2 7 2 50 50 {encode_mask(np.ones((50, 50)))}"]) + "\n")
    with pytest.raises(ValueError, match=r"det.txt:5: mask size 50x50"):
        head.run(seq)


def test_track_mots_folder(tmp_path):
    frames, masks = scene(T=4)
    seq = _write_seq(tmp_path, frames, masks)
    info = track_mots(ColorStatsModel(), seq / "img1", seq / "det" / "det.txt", tmp_path / "o.txt", progress=False)
    assert info["frames"] == 4 and info["tracks"] == 2 and info["objects"] == 8
    assert set(info["timings"]) == {"io", "backbone", "features", "rsm", "assoc", "total"}
    assert info["timings"]["features"] > 0
