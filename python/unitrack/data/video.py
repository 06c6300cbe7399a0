"""Read a user's video file or frames folder as RGB frames, and write annotated videos / overlay frames.

* :func:`open_frames` -- a video file (anything ``cv2.VideoCapture`` decodes: mp4, avi, mkv, ...) or a folder of
  ``.jpg``/``.jpeg``/``.png``/``.bmp`` frames sorted *naturally* (``frame2`` before ``frame10``) ->
  :class:`FrameSource`, a lazy sequence of RGB ``uint8 [H, W, 3]`` frames with ``len``, ``fps``, ``size``.
  Frames are decoded on access, not up front; sequential access (iteration, increasing indices) decodes each frame
  once, random access on a video re-opens it and skips forward.
* :func:`sequence_frames` -- the frames of a sequence in any of the forms the heads take (a folder or video path, a
  ``[T, H, W, 3]`` array, a list of arrays or image paths) as one indexable sequence.
* :class:`VideoWriter` -- RGB frames -> an ``.mp4`` (``mp4v`` FourCC) or any container OpenCV writes;
  :class:`FrameFolderWriter` -- RGB frames -> ``%05d.jpg``/``.png`` files; :func:`open_writer` picks one.

Errors are one line naming the path and what was expected: a missing path (FileNotFoundError), a file OpenCV cannot
decode, an empty folder, frames of different sizes (ValueError), a writer that cannot be opened (RuntimeError).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

import numpy as np

from .images import read_image

__all__ = [
    "IMAGE_EXTS",
    "VIDEO_EXTS",
    "FrameSource",
    "VideoWriter",
    "FrameFolderWriter",
    "natural_key",
    "list_frame_files",
    "open_frames",
    "open_writer",
    "read_image",
    "sequence_frames",
]

PathLike = Union[str, os.PathLike]

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif")
DEFAULT_FPS = 25.0


def _cv2():
    import cv2

    return cv2


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers numerically: ``img2.jpg < img10.jpg``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_frame_files(folder: PathLike) -> list[Path]:
    """Image files directly inside ``folder``, naturally sorted (hidden files such as macOS ``._x.jpg`` skipped).
    Raises ValueError when there are none."""
    folder = Path(folder)
    files = [
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".")
    ]
    if not files:
        raise ValueError(
            f"frames folder {os.fspath(folder)!r}: expected image files ({', '.join(IMAGE_EXTS)}), found none"
        )
    return sorted(files, key=lambda p: natural_key(p.name))


class FrameSource(Sequence):
    """A lazy, indexable sequence of RGB ``uint8 [H, W, 3]`` frames from a video file or a frames folder.

    Attributes:
        path: the input path; ``name``: its stem (file name without extension, or the folder's name).
        kind: ``"video"`` or ``"frames"``.
        fps: frames per second (the container's rate for videos, :data:`DEFAULT_FPS` for folders or when unknown).
        size: ``(H, W)`` of every frame.
        files: the frame files (frames folders only).
    """

    def __init__(self, path: PathLike, *, max_frames: Optional[int] = None, fps: Optional[float] = None):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"input {os.fspath(path)!r}: no such video file or frames folder")
        if max_frames is not None and int(max_frames) < 1:
            raise ValueError(f"max_frames: expected a positive number of frames, got {max_frames!r}")
        self.max_frames = None if max_frames is None else int(max_frames)
        self.name = self.path.name if self.path.is_dir() else self.path.stem
        self._cap = None
        self._next = 0  # index of the frame the open capture will decode next
        self._cache: tuple[int, np.ndarray] | None = None
        self._len: Optional[int] = None
        if self.path.is_dir():
            self.kind = "frames"
            self.files = list_frame_files(self.path)
            if self.max_frames is not None:
                self.files = self.files[: self.max_frames]
            self._len = len(self.files)
            self.fps = float(fps) if fps else DEFAULT_FPS
            first = read_image(self.files[0])
        else:
            self.kind = "video"
            self.files = []
            cv2 = _cv2()
            cap = self._open()
            cap_fps = cap.get(cv2.CAP_PROP_FPS)
            self.fps = (
                float(fps)
                if fps
                else (float(cap_fps) if cap_fps and np.isfinite(cap_fps) and cap_fps > 0 else DEFAULT_FPS)
            )
            first = self._read_next(0)
            if first is None:
                self.close()
                raise ValueError(
                    f"video {os.fspath(self.path)!r}: cannot be decoded; expected a video file that "
                    f"OpenCV can read ({', '.join(VIDEO_EXTS)}) or a folder of frames"
                )
            self._cache = (0, first)
        self.size = (int(first.shape[0]), int(first.shape[1]))

    # -- video decoding ----------------------------------------------------------------------------------------------
    def _open(self):
        cv2 = _cv2()
        self.close()
        cap = cv2.VideoCapture(os.fspath(self.path))
        if not cap.isOpened():
            raise ValueError(
                f"video {os.fspath(self.path)!r}: cannot be opened/decoded; expected a video file that "
                f"OpenCV can read ({', '.join(VIDEO_EXTS)}) or a folder of frames"
            )
        self._cap, self._next = cap, 0
        return cap

    def _read_next(self, i: int) -> Optional[np.ndarray]:
        """Decode frame ``i`` of the video (re-opening / skipping as needed); None past the end."""
        cv2 = _cv2()
        if self._cap is None or i < self._next:
            self._open()
        while self._next < i:
            if not self._cap.grab():
                return None
            self._next += 1
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        self._next += 1
        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        """Release the video decoder (re-opened on the next access)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    # -- sequence protocol -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Exact number of frames (for videos: counted once by grabbing every frame, container counts can lie)."""
        if self._len is None:
            cv2 = _cv2()
            cap = cv2.VideoCapture(os.fspath(self.path))
            n = 0
            try:
                while (self.max_frames is None or n < self.max_frames) and cap.grab():
                    n += 1
            finally:
                cap.release()
            self._len = n
        return self._len

    def _check_size(self, frame: np.ndarray, i: int) -> np.ndarray:
        if (frame.shape[0], frame.shape[1]) != self.size:
            where = os.fspath(self.files[i]) if self.kind == "frames" else f"{os.fspath(self.path)} frame {i}"
            raise ValueError(
                f"{where}: frame size {frame.shape[1]}x{frame.shape[0]} (WxH) differs from the first "
                f"frame's {self.size[1]}x{self.size[0]}; expected all frames of one size"
            )
        return frame

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if (
            i < 0
            or (self._len is not None and i >= self._len)
            or (self.max_frames is not None and i >= self.max_frames)
        ):
            raise IndexError(f"frame index {i} out of range for {os.fspath(self.path)!r}")
        if self.kind == "frames":
            return self._check_size(read_image(self.files[i]), i)
        if self._cache is not None and self._cache[0] == i:
            return self._cache[1]
        frame = self._read_next(i)
        if frame is None:
            raise IndexError(f"frame index {i} out of range for video {os.fspath(self.path)!r}")
        frame = self._check_size(frame, i)
        self._cache = (i, frame)
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.kind == "frames":
            for i in range(len(self.files)):
                yield self[i]
            return
        i = 0
        while self.max_frames is None or i < self.max_frames:
            if self._cache is not None and self._cache[0] == i:
                frame = self._cache[1]
            else:
                frame = self._read_next(i)
                if frame is None:
                    break
                frame = self._check_size(frame, i)
            yield frame
            i += 1
        if self._len is None:
            self._len = i
        self.close()

    def load_all(self) -> list[np.ndarray]:
        """Decode every frame into memory (``T`` arrays ``[H, W, 3]``)."""
        frames = list(iter(self))
        if not frames:
            raise ValueError(f"input {os.fspath(self.path)!r}: no frames")
        return frames

    def __repr__(self) -> str:
        n = self._len if self._len is not None else "?"
        return (
            f"FrameSource({os.fspath(self.path)!r}, kind={self.kind}, frames={n}, "
            f"size={self.size[1]}x{self.size[0]}, fps={self.fps:g})"
        )


def open_frames(path: PathLike, *, max_frames: Optional[int] = None, fps: Optional[float] = None) -> FrameSource:
    """A video file or frames folder -> :class:`FrameSource` (lazy RGB ``uint8 [H, W, 3]`` frames).

    Raises FileNotFoundError for a missing path, ValueError for an undecodable video, an empty folder or (on access)
    a frame whose size differs from the first one.
    """
    return FrameSource(path, max_frames=max_frames, fps=fps)


def sequence_frames(frames):
    """The frames of a sequence as something iterable with ``len``, for every head's sequence runner: a frames folder
    or video file path -> :class:`FrameSource` (decoded lazily); a ``[T, H, W, 3]`` array or a ``[T, 3, H, W]``
    tensor -> a list of its frames; a list or other sequence of arrays / tensors / image paths / PIL images is
    returned as it is (each frame is converted where it is used)."""
    if isinstance(frames, (str, os.PathLike)):
        return open_frames(frames)
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(
                f"frames: expected a [T, H, W, 3] RGB array (or a list of frames), got shape {list(frames.shape)}"
            )
        return list(frames)
    if hasattr(frames, "detach") and hasattr(frames, "dim"):  # a torch tensor (data/ does not import torch)
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(
                f"frames: expected a [T, 3, H, W] tensor (or a list of frames), got shape {list(frames.shape)}"
            )
        return list(frames)
    return frames


class VideoWriter:
    """Write RGB ``uint8 [H, W, 3]`` frames to a video file (``mp4v`` for .mp4/.m4v/.mov, ``XVID`` for .avi,
    ``MJPG`` otherwise). The size is fixed by the first frame; later frames must match. Use as a context manager."""

    def __init__(self, path: PathLike, fps: float = DEFAULT_FPS, fourcc: Optional[str] = None):
        self.path = Path(path)
        if not fps or fps <= 0:
            raise ValueError(f"fps: expected a positive frame rate, got {fps!r}")
        self.fps = float(fps)
        ext = self.path.suffix.lower()
        self.fourcc = fourcc or {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "XVID"}.get(ext, "MJPG")
        self._writer = None
        self.size: Optional[tuple[int, int]] = None
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB ``uint8 [H, W, 3]`` frame."""
        cv2 = _cv2()
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"{os.fspath(self.path)}: expected RGB uint8 frames [H, W, 3], got {frame.dtype} {list(frame.shape)}"
            )
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.size = (frame.shape[0], frame.shape[1])
            self._writer = cv2.VideoWriter(
                os.fspath(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (frame.shape[1], frame.shape[0])
            )
            if not self._writer.isOpened():
                self._writer = None
                raise RuntimeError(
                    f"{os.fspath(self.path)}: OpenCV cannot open a {self.fourcc!r} video writer; "
                    "expected a writable path ending in .mp4/.avi (or use overlay frames)"
                )
        elif (frame.shape[0], frame.shape[1]) != self.size:
            raise ValueError(
                f"{os.fspath(self.path)}: frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, "
                f"expected {self.size[1]}x{self.size[0]} like the first frame"
            )
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        self.count += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FrameFolderWriter:
    """Write RGB frames as ``<folder>/<pattern % index>`` image files (default ``%05d.jpg``, index from ``start``)."""

    def __init__(self, folder: PathLike, pattern: str = "%05d.jpg", start: int = 0, jpeg_quality: int = 95):
        self.folder = Path(folder)
        try:
            pattern % 0
        except (TypeError, ValueError):
            raise ValueError(
                f"pattern: expected a printf pattern with one integer like '%05d.jpg', got {pattern!r}"
            ) from None
        self.pattern, self.index, self.count = pattern, int(start), 0
        self.jpeg_quality = int(jpeg_quality)
        self.path = self.folder

    def write(self, frame: np.ndarray) -> None:
        cv2 = _cv2()
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"{os.fspath(self.folder)}: expected RGB uint8 frames [H, W, 3], got {frame.dtype} {list(frame.shape)}"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (self.pattern % self.index)
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
        if not cv2.imwrite(os.fspath(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params):
            raise RuntimeError(f"cannot write image file {os.fspath(path)!r}")
        self.index += 1
        self.count += 1

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameFolderWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_writer(path: PathLike, fps: float = DEFAULT_FPS) -> Union[VideoWriter, FrameFolderWriter]:
    """A :class:`VideoWriter` when ``path`` has a video extension, else a :class:`FrameFolderWriter` on that folder."""
    if Path(path).suffix.lower() in VIDEO_EXTS:
        return VideoWriter(path, fps)
    return FrameFolderWriter(path)
