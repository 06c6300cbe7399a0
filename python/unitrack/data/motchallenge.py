"""MOTChallenge (MOT15/16/17/20) reader and writer.

Layout: ``root/<split>/<seq>/{seqinfo.ini, img1/000001.jpg, det/det.txt, gt/gt.txt}``.

Text format (one object per line, comma or whitespace separated, frames and ids 1-based)::

    frame, id, bb_left, bb_top, bb_width, bb_height, conf, x, y, z           (det / results; x,y,z = -1)
    frame, id, bb_left, bb_top, bb_width, bb_height, active, class, visibility (MOT16/17/20 gt)

In gt files ``active`` (column 7) is 0 for objects to ignore ("zero marked"), ``class`` is the MOT17 class
id (1 pedestrian, 2 person on vehicle, ..., 7 static person, 8 distractor, 12 reflection) and
``visibility`` the visible fraction. A user's own detection file in the same format can replace
``det/det.txt`` (``read_mot_sequence(seq_dir, det_path=...)``).

This module knows nothing about models; malformed files raise ``ValueError`` naming the file, the line and
what was expected; writers are atomic (temporary file + rename).
"""

from __future__ import annotations

import configparser
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ._atomic import atomic_open

__all__ = [
    "MOTSequence",
    "read_mot_txt",
    "mot_field_as_written",
    "write_mot_results",
    "read_seqinfo",
    "read_mot_sequence",
    "list_sequences",
    "split_by_frame",
    "GT_COLUMNS",
]

#: Columns of the per-frame gt arrays of :class:`MOTSequence`.
GT_COLUMNS = ("id", "x", "y", "w", "h", "active", "class", "visibility")
_SPLIT = re.compile(r"[,\s]+")


def read_mot_txt(path: str | os.PathLike, min_columns: int = 6, truncate_ints: bool = False) -> np.ndarray:
    """Read a MOTChallenge txt file (gt, det or results) into a float64 array ``[N, K]``.

    Every non-empty line must have the same number ``K >= min_columns`` of numeric fields; frame (col 1)
    must be an integer >= 1, id (col 2) an integer, width/height (cols 5-6) finite and >= 0.

    Args:
        path: the txt file.
        min_columns: the fewest fields a line may have.
        truncate_ints: read frame and id as TrackEval does (``int(float(text))`` / ``astype(int)``: a
            fractional value is truncated toward zero, ``3.7`` -> 3, ``-0.5`` -> 0) instead of rejecting them.
            The metrics use this so that a file evaluates as it does in TrackEval.

    Raises:
        FileNotFoundError: missing file.
        ValueError: naming the file, the 1-based line and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MOT txt file not found: {path}")
    arr = _read_fast(path)
    if arr is not None and arr.shape[1] >= min_columns and _rows_valid(arr, truncate_ints):
        return _truncate_frame_id(arr) if truncate_ints else arr
    arr = _read_checked(path, min_columns, truncate_ints)
    return _truncate_frame_id(arr) if truncate_ints else arr


def _truncate_frame_id(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a[:, :2] = np.trunc(a[:, :2])
    return a


def mot_field_as_written(path: str | os.PathLike, row: int, column: int) -> tuple[int, str]:
    """``(line number, text)`` of field ``column`` (0-based) of the ``row``-th non-empty line of a MOT txt
    file -- for error messages that quote a value exactly as the file writes it."""
    k = -1
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            k += 1
            if k == row:
                parts = [p for p in _SPLIT.split(s) if p != ""]
                return lineno, parts[column] if column < len(parts) else ""
    raise IndexError(f"{path}: no data row {row}")


def _read_fast(path: Path) -> np.ndarray | None:
    """C-speed parse with np.loadtxt; None when the file needs the line-by-line parser (for its errors)."""
    import warnings as _w

    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.readline()
        while head and not head.strip():
            head = f.readline()
    if not head:
        return np.zeros((0, 10))
    try:
        with _w.catch_warnings():
            _w.simplefilter("ignore")
            arr = np.loadtxt(path, delimiter="," if "," in head else None, comments=None, ndmin=2, dtype=np.float64)
    except (ValueError, IndexError):
        return None
    return arr


def _rows_valid(a: np.ndarray, truncate_ints: bool = False) -> bool:
    if a.size == 0:
        return True
    b = a[:, :6]
    frames = np.trunc(a[:, 0]) if truncate_ints else a[:, 0]
    ints_ok = truncate_ints or bool((a[:, 0] == np.round(a[:, 0])).all() and (a[:, 1] == np.round(a[:, 1])).all())
    return bool(
        np.isfinite(b).all() and (frames >= 1).all() and ints_ok and (a[:, 4] >= 0).all() and (a[:, 5] >= 0).all()
    )


def _read_checked(path: Path, min_columns: int, truncate_ints: bool = False) -> np.ndarray:
    rows: list[list[float]] = []
    ncols = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            parts = [p for p in _SPLIT.split(s) if p != ""]
            try:
                vals = [float(p) for p in parts]
            except ValueError:
                raise ValueError(
                    f"{path}:{lineno}: expected numeric fields 'frame,id,x,y,w,h[,conf,...]', got {s[:80]!r}"
                ) from None
            if len(vals) < min_columns:
                raise ValueError(
                    f"{path}:{lineno}: expected at least {min_columns} fields (frame,id,x,y,w,h,...), got {len(vals)}"
                )
            if ncols is None:
                ncols = len(vals)
            elif len(vals) != ncols:
                raise ValueError(f"{path}:{lineno}: expected {ncols} fields like the first line, got {len(vals)}")
            if not all(np.isfinite(vals[:6])):
                raise ValueError(f"{path}:{lineno}: expected finite frame,id,x,y,w,h, got {s[:80]!r}")
            if truncate_ints:
                if int(vals[0]) < 1:
                    raise ValueError(
                        f"{path}:{lineno}: expected a frame number >= 1, got {parts[0]!r} (read as "
                        f"{int(vals[0])}, truncated like TrackEval)"
                    )
            else:
                if vals[0] < 1 or vals[0] != int(vals[0]):
                    raise ValueError(f"{path}:{lineno}: expected an integer frame number >= 1, got {parts[0]!r}")
                if vals[1] != int(vals[1]):
                    raise ValueError(f"{path}:{lineno}: expected an integer id, got {parts[1]!r}")
            if vals[4] < 0 or vals[5] < 0:
                raise ValueError(f"{path}:{lineno}: expected box width and height >= 0, got w={parts[4]}, h={parts[5]}")
            rows.append(vals)
    if not rows:
        return np.zeros((0, max(min_columns, 10)))
    return np.asarray(rows, dtype=np.float64)


def split_by_frame(rows: np.ndarray, num_frames: int, path: str | os.PathLike | None = None) -> list[np.ndarray]:
    """Split ``rows [N, K]`` (column 0 = 1-based frame) into a list of ``num_frames`` arrays ``[n_t, K]``,
    keeping file order inside each frame. Frames outside ``1..num_frames`` raise ValueError."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"rows must be a 2-D array [N, K], got shape {list(rows.shape)}")
    k = rows.shape[1]
    if len(rows) == 0:
        return [np.zeros((0, k)) for _ in range(num_frames)]
    frames = rows[:, 0].astype(np.int64)
    bad = (frames < 1) | (frames > num_frames)
    if bad.any():
        where = f" in {path}" if path is not None else ""
        raise ValueError(
            f"frame numbers{where} must lie in 1..{num_frames} (seqLength); found "
            f"{sorted(set(frames[bad].tolist()))[:10]}"
        )
    order = np.argsort(frames, kind="stable")
    counts = np.bincount(frames, minlength=num_frames + 1)[1:]
    return np.split(rows[order], np.cumsum(counts)[:-1])


def write_mot_results(path: str | os.PathLike, rows: np.ndarray | Iterable[Sequence[float]]) -> None:
    """Write tracking results as MOTChallenge csv ``frame,id,x,y,w,h,conf,-1,-1,-1`` atomically.

    Args:
        path: output ``<seq>.txt``.
        rows: array-like ``[N, 6]`` (frame, id, x, y, w, h; conf written as 1) or ``[N, >=7]``
            (column 7 is the confidence); frames/ids must be integers >= 1 / >= 0, boxes finite.
    """
    arr = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 7)
    if arr.ndim != 2 or arr.shape[1] < 6:
        raise ValueError(f"rows must have shape [N, 6] or [N, 7] (frame,id,x,y,w,h[,conf]), got {list(arr.shape)}")
    if not np.all(np.isfinite(arr[:, :7])):
        raise ValueError("rows must be finite (frame,id,x,y,w,h,conf)")
    if np.any(arr[:, 0] < 1) or np.any(arr[:, 0] != np.round(arr[:, 0])):
        raise ValueError("rows[:, 0] (frame) must be integers >= 1")
    if np.any(arr[:, 1] != np.round(arr[:, 1])):
        raise ValueError("rows[:, 1] (id) must be integers")
    conf = arr[:, 6] if arr.shape[1] >= 7 else np.ones(len(arr))
    out = np.column_stack([arr[:, :6], conf]).tolist()
    with atomic_open(path, "w") as f:
        f.write("".join(["%d,%d,%.3f,%.3f,%.3f,%.3f,%.6g,-1,-1,-1\n" % tuple(r) for r in out]))


def read_seqinfo(path: str | os.PathLike) -> dict:
    """Parse ``seqinfo.ini`` into ``{name, im_dir, frame_rate, seq_length, im_width, im_height, im_ext}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"seqinfo.ini not found: {path}")
    cp = configparser.ConfigParser()
    try:
        cp.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ValueError(f"{path}: not a valid ini file ({exc})") from None
    if "Sequence" not in cp:
        raise ValueError(f"{path}: expected a [Sequence] section")
    sec = cp["Sequence"]

    def get(key: str, conv, default=None):
        if key not in sec:
            if default is not None:
                return default
            raise ValueError(f"{path}: expected key {key!r} in [Sequence]")
        try:
            return conv(sec[key])
        except ValueError:
            raise ValueError(f"{path}: key {key!r} = {sec[key]!r} is not a valid {conv.__name__}") from None

    info = {
        "name": get("name", str, path.parent.name),
        "im_dir": get("imDir", str, "img1"),
        "frame_rate": get("frameRate", float, 30.0),
        "seq_length": get("seqLength", int),
        "im_width": get("imWidth", int, -1),
        "im_height": get("imHeight", int, -1),
        "im_ext": get("imExt", str, ".jpg"),
    }
    if info["seq_length"] < 0:
        raise ValueError(f"{path}: seqLength must be >= 0, got {info['seq_length']}")
    return info


@dataclass
class MOTSequence:
    """One MOTChallenge sequence.

    Attributes:
        name: sequence name (e.g. ``MOT17-02-FRCNN``).
        frame_paths: ``seq_length`` image paths ``<seq>/<imDir>/%06d<imExt>`` (may not exist on disk).
        im_size: (height, width) in pixels (-1 when seqinfo.ini does not say).
        frame_rate: frames per second.
        seq_length: number of frames.
        detections: per frame, float array ``[n_t, 5]`` = (x, y, w, h, score), top-left-width-height pixels.
        gt: per frame, float array ``[g_t, 8]`` with columns :data:`GT_COLUMNS` or ``None`` without gt.
        path: the sequence folder.
    """

    name: str
    frame_paths: list[Path]
    im_size: tuple[int, int]
    frame_rate: float
    seq_length: int
    detections: list[np.ndarray] = field(default_factory=list)
    gt: list[np.ndarray] | None = None
    path: Path | None = None


def _clean_detections(dets: list[np.ndarray], im_size: tuple[int, int], path: Path) -> list[np.ndarray]:
    h, w = im_size
    n_zero = n_out = 0
    out = []
    for d in dets:
        keep = (d[:, 2] > 0) & (d[:, 3] > 0)
        n_zero += int((~keep).sum())
        if h > 0 and w > 0:
            inside = (d[:, 0] < w) & (d[:, 1] < h) & (d[:, 0] + d[:, 2] > 0) & (d[:, 1] + d[:, 3] > 0)
            n_out += int((keep & ~inside).sum())
            keep &= inside
        out.append(d[keep])
    if n_zero or n_out:
        warnings.warn(
            f"{path}: dropped {n_zero} zero-area detection(s) and {n_out} detection(s) entirely "
            f"outside the {w}x{h} image",
            stacklevel=3,
        )
    return out


def read_mot_sequence(
    seq_dir: str | os.PathLike,
    det_path: str | os.PathLike | None = None,
    load_gt: bool = True,
    min_score: float | None = None,
) -> MOTSequence:
    """Read a MOTChallenge sequence folder.

    Args:
        seq_dir: folder with ``seqinfo.ini`` (required), ``det/det.txt`` and ``gt/gt.txt`` (optional).
        det_path: a detection txt in MOT format to use instead of ``det/det.txt`` (your own detector).
        load_gt: read ``gt/gt.txt`` when present.
        min_score: drop detections with score below this value.

    Detections with zero/negative area or entirely outside the image are dropped (with a warning);
    boxes partly outside are kept as they are (MOTChallenge gt does the same). Frames without detections
    get an empty ``[0, 5]`` array.
    """
    seq_dir = Path(seq_dir)
    if not seq_dir.is_dir():
        raise FileNotFoundError(f"sequence folder not found: {seq_dir}")
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    n = info["seq_length"]
    im_dir = seq_dir / info["im_dir"]
    frame_paths = [im_dir / f"{i:06d}{info['im_ext']}" for i in range(1, n + 1)]
    im_size = (info["im_height"], info["im_width"])
    dpath = Path(det_path) if det_path is not None else seq_dir / "det" / "det.txt"
    if dpath.is_file():
        rows = read_mot_txt(dpath)
        score = rows[:, 6] if rows.shape[1] >= 7 else np.ones(len(rows))
        dets = np.concatenate([rows[:, :1], rows[:, 2:6], score[:, None]], axis=1)
        if min_score is not None:
            dets = dets[dets[:, 5] >= min_score]
        per = [d[:, 1:6] for d in split_by_frame(dets, n, dpath)]
        per = _clean_detections(per, im_size, dpath)
    elif det_path is not None:
        raise FileNotFoundError(f"detection file not found: {dpath}")
    else:
        per = [np.zeros((0, 5)) for _ in range(n)]
    gt = None
    gpath = seq_dir / "gt" / "gt.txt"
    if load_gt and gpath.is_file():
        rows = read_mot_txt(gpath)
        k = rows.shape[1]
        full = np.ones((len(rows), 9))
        full[:, : min(k, 9)] = rows[:, : min(k, 9)]
        gt = [g[:, 1:9] for g in split_by_frame(full, n, gpath)]
    return MOTSequence(
        name=info["name"],
        frame_paths=frame_paths,
        im_size=im_size,
        frame_rate=info["frame_rate"],
        seq_length=n,
        detections=per,
        gt=gt,
        path=seq_dir,
    )


def list_sequences(root: str | os.PathLike, split: str | None = None) -> list[Path]:
    """Sorted sequence folders (those containing ``seqinfo.ini``) under ``root/<split>`` (or ``root``)."""
    base = Path(root) / split if split else Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"MOT split folder not found: {base}")
    return sorted(p for p in base.iterdir() if p.is_dir() and (p / "seqinfo.ini").is_file())
