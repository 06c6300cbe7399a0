"""Video file / frames folder reading and annotated-video writing (unitrack.data.video)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unitrack.data.video import FrameFolderWriter, VideoWriter, list_frame_files, natural_key, open_frames, open_writer

T, H, W = 12, 96, 128


def _frames(T: int = T, H: int = H, W: int = W) -> list[np.ndarray]:
    """Moving textured square on a smooth background (RGB uint8)."""
    yy, xx = np.mgrid[0:H, 0:W]
    bg = np.stack([xx * 255 // W, yy * 255 // H, np.full_like(xx, 90)], -1).astype(np.uint8)
    rng = np.random.RandomState(0)
    tex = rng.randint(0, 255, (24, 24, 3)).astype(np.uint8)
    out = []
    for t in range(T):
        f = bg.copy()
        x, y = 10 + 6 * t, 20 + 2 * t
        f[y : y + 24, x : x + 24] = tex
        out.append(f)
    return out


def _write_mp4(path, frames, fps=10.0):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames[0].shape[1], frames[0].shape[0]))
    assert vw.isOpened()
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()


def test_natural_sort_order():
    names = ["f10.png", "f2.png", "f1.png", "F3.png"]
    assert sorted(names, key=natural_key) == ["f1.png", "f2.png", "F3.png", "f10.png"]


def test_frames_folder_natural_order_and_content(tmp_path):
    frames = _frames()
    for t, f in enumerate(frames):  # unpadded numbers: lexical order would put 10, 11 before 2
        cv2.imwrite(str(tmp_path / f"frame{t}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / "._frame3.png").write_bytes(b"macOS resource fork")  # hidden: skipped
    src = open_frames(tmp_path)
    assert src.kind == "frames" and len(src) == T and src.size == (H, W) and src.name == tmp_path.name
    assert [p.name for p in src.files][:3] == ["frame0.png", "frame1.png", "frame2.png"]
    got = list(src)
    assert len(got) == T
    for a, b in zip(got, frames):  # png is lossless: exact RGB round trip
        assert a.dtype == np.uint8 and a.shape == (H, W, 3)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(src[-1], frames[-1])
    assert len(src[2:5]) == 3
    assert len(open_frames(tmp_path, max_frames=5)) == 5


def test_video_file_frames_count_fps_and_random_access(tmp_path):
    frames = _frames()
    path = tmp_path / "clip.mp4"
    _write_mp4(path, frames, fps=10.0)
    src = open_frames(path)
    assert src.kind == "video" and src.name == "clip" and src.size == (H, W)
    assert src.fps == pytest.approx(10.0)
    assert len(src) == T
    got = list(src)
    assert len(got) == T
    for a, b in zip(got, frames):  # lossy codec: close, not equal
        assert a.shape == (H, W, 3) and a.dtype == np.uint8
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 12
    # random access, backwards and forwards, gives the same frames as sequential decoding
    for i in (7, 2, 11, 3, 3, 0):
        np.testing.assert_array_equal(src[i], got[i])
    with pytest.raises(IndexError):
        src[T]
    assert len(list(open_frames(path, max_frames=4))) == 4


def test_missing_path_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        open_frames(tmp_path / "nope.mp4")


def test_undecodable_video_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("this is not a video\n" * 20)
    with pytest.raises(ValueError, match=r"bad\.mp4.*(decoded|opened)"):
        open_frames(bad)


def test_empty_folder_error(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="expected image files"):
        open_frames(tmp_path)


def test_frames_of_different_sizes_error(tmp_path):
    frames = _frames(T=3)
    cv2.imwrite(str(tmp_path / "00000.png"), frames[0])
    cv2.imwrite(str(tmp_path / "00001.png"), frames[1])
    cv2.imwrite(str(tmp_path / "00002.png"), cv2.resize(frames[2], (64, 48)))
    src = open_frames(tmp_path)
    with pytest.raises(ValueError, match=r"00002\.png.*64x48.*expected all frames of one size"):
        list(src)


def test_unreadable_image_in_folder_error(tmp_path):
    cv2.imwrite(str(tmp_path / "00000.png"), _frames(T=1)[0])
    (tmp_path / "00001.jpg").write_bytes(b"garbage")
    src = open_frames(tmp_path)
    with pytest.raises(ValueError, match=r"00001\.jpg.*cannot be decoded"):
        src[1]


def test_video_writer_roundtrip(tmp_path):
    frames = _frames(T=6)
    out = tmp_path / "sub" / "out.mp4"
    with open_writer(out, fps=12) as w:
        assert isinstance(w, VideoWriter)
        for f in frames:
            w.write(f)
    src = open_frames(out)
    assert len(src) == 6 and src.size == (H, W) and src.fps == pytest.approx(12)
    assert np.abs(src[3].astype(int) - frames[3].astype(int)).mean() < 12


def test_video_writer_rejects_size_change_and_bad_frames(tmp_path):
    w = VideoWriter(tmp_path / "o.mp4", fps=5)
    w.write(_frames(T=1)[0])
    with pytest.raises(ValueError, match="expected 128x96"):
        w.write(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        w.write(np.zeros((96, 128), np.uint8))
    w.close()
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "o2.mp4", fps=0)


def test_frame_folder_writer(tmp_path):
    frames = _frames(T=4)
    with open_writer(tmp_path / "overlay") as w:
        assert isinstance(w, FrameFolderWriter)
        for f in frames:
            w.write(f)
    files = list_frame_files(tmp_path / "overlay")
    assert [p.name for p in files] == ["00000.jpg", "00001.jpg", "00002.jpg", "00003.jpg"]
    back = open_frames(tmp_path / "overlay")
    assert len(back) == 4 and np.abs(back[1].astype(int) - frames[1].astype(int)).mean() < 6
