"""``unitrack track <task>``: run one UniTrack head on your own video file or frames folder.

Tasks and their first-frame / per-frame inputs::

    unitrack track sot       --input clip.mp4 --box x,y,w,h        [--head dcf|xcorr]
    unitrack track vos       --input frames/  --mask first.png     (indexed palette PNG, ids kept)
    unitrack track poseprop  --input clip.mp4 --joints joints.txt  (15 rows "x y" of frame 0, or json)
    unitrack track mot       --input clip.mp4 --dets det.txt       (MOTChallenge det: frame,id,x,y,w,h,score)
    unitrack track mots      --input frames/  --masks masks.txt    (MOTS txt: frame id class h w rle)
    unitrack track posetrack --input frames/  --poses poses.json   (PoseTrack 2017/2018 json; by file name or order)

Common options: ``--model SPEC`` (default ``resnet18`` when its ImageNet weights are in the torch hub cache, else
``resnet18:random`` with a note), ``--device``, ``--out DIR`` (default ``unitrack_track/<task>``), ``--save-video``
(default: ``<out>/<name>_vis.mp4``), ``--save-frames`` (``<out>/<name>_vis/%05d.jpg``) or ``--no-vis``,
``--fps`` of the visualisation, ``--no-progress``. Coordinates are 0-based pixels of the input frames.

Outputs (standard formats): SOT ``<out>/<name>.txt`` (``x,y,w,h`` per frame, 1-based as OTB/got10k);
VOS ``<out>/<name>/%05d.png`` (indexed PNGs, DAVIS palette); pose propagation ``<out>/<name>.json``
(``{"joints": [T][J][2]}``, -1 = lost); MOT ``<out>/<name>.txt`` (MOTChallenge csv); MOTS ``<out>/<name>.txt``
(MOTS txt, COCO RLE); PoseTrack ``<out>/<name>.json`` (the input json with ``track_id``).
For a MOTChallenge-style frames folder ``SEQ/img1`` (or OTB's ``SEQ/img``) the outputs are named after ``SEQ``
(``<out>/SEQ.txt``, what ``unitrack eval-mot`` looks for).

Bad input gives one line ``unitrack track <task>: error: ...`` naming the file/argument, and exit code 2; the device
and the output folder are checked before any work; Ctrl-C exits with code 130 and leaves no partial output (results
and annotated videos are written under temporary names and renamed when complete). Inputs that will give an empty
result (an empty detection file, detections all outside the frame, all below the score threshold) are warned about.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..tasks import TASK_NAMES
from .common import (
    CLIError,
    add_device_option,
    add_model_option,
    add_out_option,
    add_precision_option,
    add_progress_option,
    build_model_from_args,
    check_device,
    check_output_dir,
    check_precision,
    default_model_spec,
    partial_dir,
    partial_file,
    positive,
    run_command,
    warn,
)

__all__ = ["add_parser", "default_model_spec", "parse_box", "read_joints", "TASKS"]

#: The tasks of ``unitrack track`` (the task table :data:`unitrack.tasks.TASKS`).
TASKS = TASK_NAMES


# ------------------------------------------------------------------------------------------------------ arguments
def parse_box(text: str, frame_size: Optional[tuple[int, int]] = None) -> np.ndarray:
    """``"x,y,w,h"`` (0-based pixels) -> ``float64 [4]``. ``frame_size = (H, W)`` checks it overlaps the frame."""
    parts = [p for p in str(text).replace(" ", ",").split(",") if p]
    try:
        box = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        box = np.zeros(0)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(f"--box: expected 4 numbers 'x,y,w,h' (0-based pixels), got {text!r}")
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"--box: expected a positive width and height, got w={box[2]:g}, h={box[3]:g}")
    if frame_size is not None:
        H, W = frame_size
        if box[0] >= W or box[1] >= H or box[0] + box[2] <= 0 or box[1] + box[3] <= 0:
            raise ValueError(f"--box {text}: lies outside the first frame ({W}x{H} WxH); expected a box on the target")
    return box


def read_joints(path: str | os.PathLike) -> np.ndarray:
    """First-frame joints file -> ``float64 [J, 2]`` (x, y) pixels.

    Text: one joint per line, ``x y`` or ``x,y`` (a third column, e.g. visibility, is ignored; ``#`` comments and
    blank lines skipped). JSON: ``[[x, y], ...]`` or ``{"joints": [[x, y], ...]}``. A negative or missing coordinate
    marks an absent joint.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--joints: file not found: {os.fspath(path)!r}")
    text = p.read_text(encoding="utf-8", errors="replace")
    if p.suffix.lower() == ".json":
        return _joints_json(p, text)
    return _joints_text(p, text)


def _joints_json(p: Path, text: str) -> np.ndarray:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"--joints {p}: invalid JSON ({exc.msg} at line {exc.lineno}); expected [[x, y], ...] "
            'or {"joints": [[x, y], ...]}'
        ) from None
    if isinstance(data, dict):
        data = data.get("joints")
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(
            f'--joints {p}: expected a list of [x, y] pairs (or {{"joints": ...}}), got shape {list(arr.shape)}'
        )
    return arr[:, :2].copy()


def _joints_text(p: Path, text: str) -> np.ndarray:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        parts = [q for q in s.replace(",", " ").split() if q]
        try:
            vals = [float(q) for q in parts]
        except ValueError:
            vals = []
        if len(vals) < 2:
            raise ValueError(f"--joints {p}:{lineno}: expected 'x y' (two numbers) per joint, got {s!r}")
        rows.append(vals[:2])
    if not rows:
        raise ValueError(f"--joints {p}: no joints; expected one 'x y' line per joint (15 for JHMDB)")
    return np.asarray(rows, dtype=np.float64)


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input",
        "-i",
        required=True,
        metavar="VIDEO|DIR",
        help="a video file (mp4, avi, ...) or a folder of jpg/png frames (natural order)",
    )
    add_out_option(
        p,
        short=True,
        help="output folder (default: unitrack_track/<task>; results of different tasks "
        "share file names, so give each task its own folder)",
    )
    add_model_option(p, help="default resnet18 if its ImageNet weights are cached, else resnet18:random")
    add_device_option(p)
    add_precision_option(p)
    vis = p.add_mutually_exclusive_group()
    vis.add_argument(
        "--save-video", dest="vis", action="store_const", const="video", help="write <out>/<name>_vis.mp4 (default)"
    )
    vis.add_argument(
        "--save-frames",
        dest="vis",
        action="store_const",
        const="frames",
        help="write overlay frames <out>/<name>_vis/%%05d.jpg instead of a video",
    )
    vis.add_argument("--no-vis", dest="vis", action="store_const", const="none", help="no visualisation")
    p.set_defaults(vis="video")
    p.add_argument(
        "--fps",
        type=positive(float, "--fps"),
        default=None,
        help="frame rate of the input frames folder / output video (default: the video's, 25 for folders)",
    )
    add_progress_option(p, dest="progress")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``track`` with sub-commands sot / vos / poseprop / mot / mots / posetrack to an argparse sub-parser set."""
    p = subparsers.add_parser(
        "track",
        help="track objects in your own video or frames folder (SOT, VOS, pose, MOT, MOTS, PoseTrack)",
        description=__doc__.split("\n\n")[0] + " Outputs in the standard formats plus an annotated video.",
    )
    sub = p.add_subparsers(dest="task", required=True, metavar="TASK")

    s = _task_parser(sub, "sot", _cmd_sot, help="single object: follow the box given on the first frame")
    s.add_argument("--box", required=True, metavar="x,y,w,h", help="first-frame box, 0-based pixels")
    s.add_argument("--head", default="dcf", choices=("dcf", "xcorr"), help="SOT head (default: %(default)s)")
    s.add_argument("--max-frames", type=positive(int, "--max-frames"), default=None, help="only the first N frames")

    v = _task_parser(sub, "vos", _cmd_vos, help="video object segmentation from a first-frame mask PNG")
    v.add_argument(
        "--mask",
        required=True,
        metavar="PNG",
        help="first-frame id mask: indexed (palette) or 8-bit grey PNG of the frame size, 0 = background",
    )
    _downscale_args(v, " (e.g. 854 for DAVIS 480p); masks are written at the input size")

    q = _task_parser(sub, "poseprop", _cmd_poseprop, help="propagate first-frame joints (pose propagation)")
    q.add_argument(
        "--joints",
        required=True,
        metavar="FILE",
        help="first-frame joints: txt with one 'x y' row per joint (15 for JHMDB) or json [[x, y], ...]",
    )
    q.add_argument(
        "--skeleton",
        default="auto",
        choices=("auto", "jhmdb", "posetrack", "posetrack18", "none"),
        help="limbs to draw (auto: jhmdb for 15 joints, posetrack18 for 17)",
    )
    _downscale_args(q, "; joints are written in input pixels")

    m = _task_parser(sub, "mot", _cmd_mot, help="multi-object tracking of your detections (boxes)")
    m.add_argument(
        "--dets",
        required=True,
        metavar="TXT",
        help="detections, MOTChallenge det format 'frame,id,x,y,w,h,score' (frame 1 = first frame)",
    )

    k = _task_parser(sub, "mots", _cmd_mots, help="multi-object tracking and segmentation of your instance masks")
    k.add_argument(
        "--masks",
        required=True,
        metavar="TXT",
        help="instance masks, MOTS txt 'frame id class height width rle' (class 2; frame 1 = first frame)",
    )

    t = _task_parser(sub, "posetrack", _cmd_posetrack, help="multi-person pose tracking of your detected poses")
    t.add_argument(
        "--poses",
        required=True,
        metavar="JSON",
        help="detected poses, PoseTrack 2017 or 2018 json; its frames are matched to the input folder's "
        "images by file name when all names match, else by order (json frame i = input frame i)",
    )
    return p


# --------------------------------------------------------------------------------------------------------- plumbing
def _task_parser(sub, task: str, fn: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
    """The sub-parser of one ``track <task>``: its help, the common options and ``func`` = ``fn`` behind ``_wrap``."""
    p = sub.add_parser(task, help=help)
    _common_args(p)
    p.set_defaults(func=_wrap(task, fn))
    return p


def _downscale_args(p: argparse.ArgumentParser, written: str) -> None:
    """``--max-frames`` and ``--max-side`` (read by ``_downscale``) of a propagation task; ``written`` ends the
    ``--max-side`` help: how the outputs relate to the input size."""
    p.add_argument("--max-frames", type=positive(int, "--max-frames"), default=None, help="only the first N frames")
    p.add_argument(
        "--max-side",
        type=int,
        default=None,
        metavar="PX",
        help="run the head on frames downscaled so that the longer side is at most PX" + written,
    )


def _wrap(task: str, fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``fn`` behind :func:`unitrack.cli.common.run_command`: one line ``unitrack track <task>: error: ...`` and exit
    code 2 for bad input, 130 for Ctrl-C (partial outputs are removed by the commands' context managers)."""

    def run(args: argparse.Namespace) -> int:
        return run_command(
            f"unitrack track {task}",
            fn,
            args,
            interrupted="partial outputs were removed (nothing half-written is left in --out)",
        )

    run.__name__ = f"track_{task}"
    return run


def _open_input(args: argparse.Namespace, max_frames: Optional[int] = None):
    from unitrack.data.video import open_frames

    src = open_frames(args.input, max_frames=max_frames, fps=args.fps)
    if args.progress:
        print(f"input: {src!r}", file=sys.stderr)
    return src


def _build_model(args: argparse.Namespace):
    return build_model_from_args(args)


def _prog(args: argparse.Namespace) -> str:
    return f"unitrack track {args.task}"


def _out_dir(args: argparse.Namespace, create: bool = False) -> Path:
    """The ``--out`` folder (default ``unitrack_track/<task>``), checked writable (and created with ``create``)."""
    out = Path(args.out) if args.out else Path("unitrack_track") / args.task
    return check_output_dir(out, "--out", create=create)


def _prepare(args: argparse.Namespace, src) -> tuple[Path, str]:
    """The checks every task makes after reading its inputs and before any work: ``--device`` exists in this torch
    build, ``--out`` can be written (it is created only when the results are written). Returns ``(out folder,
    output name)``."""
    args.device = check_device(args.device)
    args.precision = check_precision(args.precision, args.device)
    out = _out_dir(args)
    return out, _seq_name(src)


def _seq_name(src) -> str:
    """Name of the outputs: the input's name (video file stem or folder name); for a MOTChallenge-style frames
    folder ``SEQ/img1`` (or an OTB-style ``SEQ/img``) the sequence name ``SEQ``, so that ``unitrack eval-mot`` finds
    ``SEQ.txt``."""
    if src.kind == "frames":
        p = Path(os.path.abspath(src.path))
        if p.name.lower() in ("img1", "img") and p.parent.name:
            return p.parent.name
    return src.name


def _not_the_input(path: Path, src, what: str) -> Path:
    """An output folder that would be (or contain) the input frames folder is refused: replacing it would destroy
    the input."""
    p, inp = Path(os.path.abspath(path)), Path(os.path.abspath(src.path))
    if p == inp or p in inp.parents:
        raise CLIError(
            f"--out: the {what} {os.fspath(path)!r} would replace the input {os.fspath(src.path)!r}; "
            "expected an --out folder that does not hold the input frames"
        )
    return path


class _Vis:
    """The visualisation sink chosen by --save-video / --save-frames / --no-vis, as a context manager: frames go to a
    temporary sibling (``.<name>_vis.partial-<pid>.mp4`` or folder) that is renamed to ``<name>_vis.mp4`` /
    ``<name>_vis/`` only when the block ends normally; an error or Ctrl-C removes it."""

    def __init__(self, args: argparse.Namespace, out: Path, name: str, fps: float, src=None):
        self.mode = args.vis
        self.fps = fps
        self.writer = None
        self._stack: Optional[contextlib.ExitStack] = None
        self.path = {"video": out / f"{name}_vis.mp4", "frames": out / f"{name}_vis"}.get(self.mode)
        if self.path is not None and src is not None:
            _not_the_input(self.path, src, "overlay output")

    def __enter__(self) -> "_Vis":
        from unitrack.data.video import FrameFolderWriter, VideoWriter

        self._stack = contextlib.ExitStack()
        if self.mode == "video":
            tmp = self._stack.enter_context(partial_file(self.path))
            self.writer = VideoWriter(tmp, fps=self.fps)
            self._stack.callback(self.writer.close)  # LIFO: the file is closed before it is renamed or removed
        elif self.mode == "frames":
            self.writer = FrameFolderWriter(self._stack.enter_context(partial_dir(self.path)))
        return self

    def __exit__(self, *exc) -> bool:
        return bool(self._stack.__exit__(*exc))

    @property
    def enabled(self) -> bool:
        return self.writer is not None

    def write(self, frame: np.ndarray) -> None:
        if self.writer is not None:
            self.writer.write(frame)


def _report(task: str, outputs: list, n: int, t0: float, precision: str = "fp32") -> None:
    dt = time.perf_counter() - t0
    fps = n / dt if dt > 0 else float("inf")
    print(f"unitrack track {task}: {n} frames in {dt:.1f} s ({fps:.1f} FPS), precision {precision}")
    for o in outputs:
        if o is not None:
            print(f"  wrote {o}")


def _input_file(value: str, flag: str) -> Path:
    """``--dets`` / ``--masks`` / ``--poses`` value -> an existing file's Path, else FileNotFoundError naming it."""
    p = Path(value)
    if not p.is_file():
        raise FileNotFoundError(f"{flag}: file not found: {os.fspath(p)!r}")
    return p


@contextlib.contextmanager
def _result_and_vis(args: argparse.Namespace, out: Path, name: str, src, result: Path, *, folder: bool = False):
    """``with _result_and_vis(...) as (tmp_result, vis):`` the result file (or folder) and the visualisation are
    written under temporary names; both are renamed into place when the block ends normally (the result first),
    both removed on an error or Ctrl-C."""
    _not_the_input(result, src, "result folder" if folder else "result file")
    check_output_dir(out, "--out", create=True)
    with _Vis(args, out, name, src.fps, src) as vis, partial_dir(result) if folder else partial_file(result) as tmp:
        yield tmp, vis


def _downscale(frames: list[np.ndarray], max_side: Optional[int]) -> tuple[list[np.ndarray], float]:
    """Frames resized (INTER_AREA) so that ``max(H, W) <= max_side``; returns ``(frames, scale)`` (1.0: unchanged)."""
    if max_side is None:
        return frames, 1.0
    if int(max_side) < 16:
        raise ValueError(f"--max-side: expected at least 16 pixels, got {max_side}")
    H, W = frames[0].shape[:2]
    s = min(1.0, int(max_side) / max(H, W))
    if s >= 1.0:
        return frames, 1.0
    import cv2

    size = (max(1, round(W * s)), max(1, round(H * s)))
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames], s


def _style(size: tuple[int, int]) -> dict:
    """Line width / joint radius / font scale that stay readable from 100 px to 4K frames (lines get a dark outline
    in :func:`unitrack.viz.draw_boxes`, so they also stand out on bright or busy backgrounds)."""
    from unitrack.viz import overlay_style

    return overlay_style(size)


def _tracker_fps(src, args: argparse.Namespace) -> Optional[float]:
    """Frame rate for the association tracker's lost-track buffer: the video's (or --fps); None (the head's
    default, 30) for a frames folder without --fps."""
    return src.fps if (src.kind == "video" or args.fps) else None


def _frames_arg(src):
    """What the association heads take as frames: the naturally sorted paths of a folder, or the video path."""
    return [os.fspath(p) for p in src.files] if src.kind == "frames" else os.fspath(src.path)


# ------------------------------------------------------------------------------------------------ input sanity
def _boxes_inside(tlwh: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """bool ``[N]``: boxes (x, y, w, h) with a positive area that overlap an ``(H, W)`` frame."""
    H, W = size
    b = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    return (
        (b[:, 2] > 0)
        & (b[:, 3] > 0)
        & (b[:, 0] < W)
        & (b[:, 1] < H)
        & (b[:, 0] + b[:, 2] > 0)
        & (b[:, 1] + b[:, 3] > 0)
    )


def _check_detections(args: argparse.Namespace, det: Path, size: tuple[int, int]) -> bool:
    """Warn (one line each) when the MOT detections cannot give any track: no rows, every box outside the frame or
    without area, every score at or below the tracker's ``conf_thres``. Returns whether a warning was given."""
    from unitrack.association import mot_config
    from unitrack.data.motchallenge import read_mot_txt

    rows = read_mot_txt(det)
    H, W = size
    if len(rows) == 0:
        warn(_prog(args), f"--dets {os.fspath(det)}: the file has no detections; the output will have no tracks")
        return True
    inside = _boxes_inside(rows[:, 2:6], size)
    if not inside.any():
        warn(
            _prog(args),
            f"--dets {os.fspath(det)}: all {len(rows)} detections lie outside the {W}x{H} (WxH) frames "
            "or have no area; expected x,y,w,h in pixels of the input frames; the output will have no tracks",
        )
        return True
    conf = mot_config().conf_thres
    if rows.shape[1] >= 7 and not (rows[inside, 6] > conf).any():
        warn(
            _prog(args),
            f"--dets {os.fspath(det)}: every detection score is <= {conf:g}, the tracker's confidence "
            "threshold (column 7 of 'frame,id,x,y,w,h,score'); the output will have no tracks",
        )
        return True
    return False


def _rle_area(obj) -> int:
    from pycocotools import mask as mask_utils

    return int(mask_utils.area(obj.to_coco()))


def _warn_empty(args: argparse.Namespace, res: Path, why: str) -> None:
    warn(_prog(args), f"no track was written: {os.fspath(res)} is empty ({why})")


# ------------------------------------------------------------------------------------------------------- commands
def _cmd_sot(args: argparse.Namespace) -> int:
    from unitrack.data.otb import write_results
    from unitrack.heads.sot import make_tracker
    from unitrack.viz import TrailHistory, draw_boxes, draw_text

    src = _open_input(args, args.max_frames)
    box = parse_box(args.box, src.size)
    out, name = _prepare(args, src)
    model = _build_model(args)
    tracker = make_tracker(model, args.head)
    trail = TrailHistory(30)
    st = _style(src.size)
    boxes = []
    res = out / f"{name}.txt"
    t0 = time.perf_counter()
    from tqdm import tqdm

    with _result_and_vis(args, out, name, src, res) as (tmp, vis):
        for t, frame in enumerate(tqdm(src, desc=f"SOT {src.name}", disable=not args.progress, unit="frame")):
            if t == 0:
                tracker.init(frame, box)
                b = box.copy()
            else:
                b = np.asarray(tracker.update(frame), dtype=np.float64).reshape(4)
            boxes.append(b)
            if vis.enabled:
                trail.update(b[None], ["target"])
                img = draw_boxes(
                    frame,
                    b[None],
                    [args.head],
                    trails=trail,
                    color=SOT_COLOR,
                    thickness=st["thickness"],
                    font_scale=st["label_scale"],
                )
                vis.write(draw_text(img, f"{t + 1}/{len(src)}", scale=st["scale"]))
        write_results(tmp, np.stack(boxes))
    _report("sot", [res, vis.path], len(boxes), t0, args.precision)
    return 0


#: The SOT box colour: saturated yellow (drawn with a dark outline, so it reads on light and dark backgrounds).
SOT_COLOR = (255, 221, 0)


def _read_first_mask(path: str, size: tuple[int, int]) -> np.ndarray:
    from unitrack.data.images import read_id_mask

    p = Path(path)
    mask = read_id_mask(p, "--mask")
    H, W = size
    if mask.shape != (H, W):
        raise ValueError(
            f"--mask {p}: size {mask.shape[1]}x{mask.shape[0]} (WxH); expected the frame size {W}x{H} of the input"
        )
    if not mask.any():
        raise ValueError(f"--mask {p}: has no object (all pixels 0); expected ids 1..255 on the objects")
    return mask


def _cmd_vos(args: argparse.Namespace) -> int:
    from unitrack.data.davis import write_sequence_masks
    from unitrack.viz import draw_text, overlay_mask

    src = _open_input(args, args.max_frames)
    first = _read_first_mask(args.mask, src.size)
    if args.max_side is not None and int(args.max_side) < 16:
        raise ValueError(f"--max-side: expected at least 16 pixels, got {args.max_side}")
    out, name = _prepare(args, src)
    model = _build_model(args)
    t0 = time.perf_counter()
    with _result_and_vis(args, out, name, src, out / name, folder=True) as (tmp, vis):
        frames = src.load_all()
        masks = _segment(args, model, frames, first)
        if len(masks) != len(frames):
            raise RuntimeError(f"VOS head returned {len(masks)} masks for {len(frames)} frames")
        write_sequence_masks(os.fspath(tmp.parent), tmp.name, masks)
        if vis.enabled:
            st = _style(src.size)
            for t, (f, m) in enumerate(zip(frames, masks)):
                img = overlay_mask(
                    f, m, contour_width=st["thickness"], outline=True, label_ids=True, font_scale=st["label_scale"]
                )
                vis.write(draw_text(img, f"{t + 1}/{len(frames)}", scale=st["scale"]))
    _report("vos", [out / name, vis.path], len(frames), t0, args.precision)
    return 0


def _segment(args: argparse.Namespace, model, frames: list[np.ndarray], first: np.ndarray) -> list[np.ndarray]:
    """The VOS head on the frames, downscaled to ``--max-side`` when given (masks come back at the input size; frame
    0's is the given mask)."""
    from unitrack.heads.vos import run_vos_sequence

    small, scale = _downscale(frames, args.max_side)
    if scale >= 1.0:
        return run_vos_sequence(model, frames, first, progress=args.progress)
    import cv2

    H, W = frames[0].shape[:2]
    h, w = small[0].shape[:2]
    first_small = cv2.resize(first, (w, h), interpolation=cv2.INTER_NEAREST)
    if not first_small.any():
        raise ValueError(
            f"--max-side {args.max_side}: the objects of --mask {args.mask} vanish at {w}x{h}; "
            "expected a larger --max-side"
        )
    masks = run_vos_sequence(model, small, first_small, progress=args.progress)
    return [first] + [cv2.resize(np.asarray(m, np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) for m in masks[1:]]


def _skeleton_of(args: argparse.Namespace, J: int) -> str:
    """The ``--skeleton`` to draw (``auto``: jhmdb for 15 joints, posetrack18 for 17, else none), checked to have
    ``J`` joints."""
    from unitrack.viz import SKELETONS

    skel = args.skeleton
    if skel == "auto":
        skel = {15: "jhmdb", 17: "posetrack18"}.get(J, "none")
    if skel != "none" and len(SKELETONS[skel][0]) != J:
        raise ValueError(f"--joints {args.joints}: {J} joints, but skeleton {skel!r} has {len(SKELETONS[skel][0])}")
    return skel


def _present_joints(args: argparse.Namespace, joints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """bool ``[J]``: the joints given (non-negative coordinates); ValueError when none is, or one lies outside the
    ``(H, W)`` first frame."""
    H, W = size
    present = np.all(np.isfinite(joints), axis=1) & (joints[:, 0] >= 0) & (joints[:, 1] >= 0)
    if not present.any():
        raise ValueError(f"--joints {args.joints}: no joint with non-negative coordinates")
    outside = present & ((joints[:, 0] >= W) | (joints[:, 1] >= H))
    if outside.any():
        j = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"--joints {args.joints}: joint {j} at ({joints[j, 0]:g}, {joints[j, 1]:g}) lies outside the "
            f"first frame ({W}x{H} WxH); expected 0-based pixel coordinates of the input frames"
        )
    return present


def _propagate_joints(
    args: argparse.Namespace, model, frames: list[np.ndarray], joints: np.ndarray, present: np.ndarray
) -> np.ndarray:
    """``float64 [T, J, 2]`` joints in input pixels (-1 = lost), the head run at ``--max-side`` when given."""
    from unitrack.heads.poseprop import run_poseprop_sequence

    small, scale = _downscale(frames, args.max_side)
    # absent joints go far outside the image: an all-zero belief channel, read out as lost (-1) in every frame
    j0 = np.where(present[:, None], joints * scale, -1e4)
    pred = np.asarray(run_poseprop_sequence(model, small, j0, progress=args.progress), dtype=np.float64)
    if scale < 1.0:
        lost = np.any(pred < 0, axis=-1, keepdims=True)
        pred = np.where(lost, -1.0, pred / scale)
    return pred


def _cmd_poseprop(args: argparse.Namespace) -> int:
    from unitrack.data._atomic import atomic_write_text
    from unitrack.viz import SKELETONS, draw_skeleton, draw_text

    src = _open_input(args, args.max_frames)
    joints = read_joints(args.joints)
    J = len(joints)
    skel = _skeleton_of(args, J)
    present = _present_joints(args, joints, src.size)
    if args.max_side is not None and int(args.max_side) < 16:
        raise ValueError(f"--max-side: expected at least 16 pixels, got {args.max_side}")
    out, name = _prepare(args, src)
    model = _build_model(args)
    res = out / f"{name}.json"
    t0 = time.perf_counter()
    with _result_and_vis(args, out, name, src, res) as (tmp, vis):
        frames = src.load_all()
        pred = _propagate_joints(args, model, frames, joints, present)
        atomic_write_text(
            tmp,
            json.dumps(
                {
                    "input": os.fspath(src.path),
                    "frames": len(frames),
                    "num_joints": J,
                    "skeleton": skel,
                    "joints": np.round(pred, 3).tolist(),
                    "precision": args.precision,
                    "note": "joints[t][j] = [x, y] in 0-based pixels of frame t; [-1, -1] = lost",
                }
            ),
        )
        if vis.enabled:
            limbs = SKELETONS[skel][1] if skel != "none" else []
            st = _style(src.size)
            for t, f in enumerate(frames):
                img = draw_skeleton(f, pred[t], skeleton=limbs, thickness=st["thickness"], radius=st["radius"])
                vis.write(draw_text(img, f"{t + 1}/{len(frames)}", scale=st["scale"]))
    _report("poseprop", [res, vis.path], len(frames), t0, args.precision)
    return 0


def _render_boxes(src, vis: "_Vis", per_frame: list[np.ndarray]) -> None:
    """rows ``[n, 6+]`` (frame, id, x, y, w, h, ...) per frame -> boxes with ids and trails."""
    from unitrack.viz import TrailHistory, draw_boxes, draw_text

    trail = TrailHistory(30)
    for t, frame in enumerate(src):
        r = per_frame[t] if t < len(per_frame) else np.zeros((0, 6))
        ids = r[:, 1].astype(np.int64)
        trail.update(r[:, 2:6], ids)
        st = _style(frame.shape[:2])
        img = draw_boxes(frame, r[:, 2:6], ids, trails=trail, thickness=st["thickness"], font_scale=st["label_scale"])
        vis.write(draw_text(img, f"{t + 1}/{len(src)}", scale=st["scale"]))


def _cmd_mot(args: argparse.Namespace) -> int:
    from unitrack.data.motchallenge import read_mot_txt, split_by_frame
    from unitrack.evaluation.adapters.mot import track_mot

    src = _open_input(args)
    det = _input_file(args.dets, "--dets")
    out, name = _prepare(args, src)
    warned = _check_detections(args, det, src.size)
    model = _build_model(args)
    res = out / f"{name}.txt"
    t0 = time.perf_counter()
    with _result_and_vis(args, out, name, src, res) as (tmp, vis):
        info = track_mot(model, _frames_arg(src), det, tmp, frame_rate=_tracker_fps(src, args), progress=args.progress)
        n = int(info.get("frames", 0))
        if vis.enabled:
            rows = read_mot_txt(tmp) if tmp.stat().st_size else np.zeros((0, 10))
            _render_boxes(src, vis, split_by_frame(rows, max(n, len(src), int(rows[:, 0].max(initial=0))), tmp))
    if info.get("rows", 0) == 0 and not warned:
        _warn_empty(
            args,
            res,
            "a detection starts a track when its score is > 0.5; a track is written when its box "
            "has w*h > 200 px and w/h <= 1.6",
        )
    _report("mot", [res, vis.path], n, t0, args.precision)
    return 0


def _check_masks(args: argparse.Namespace, masks: Path, objs: list) -> bool:
    """Warn (one line) when the MOTS masks cannot give any track: no mask, or every mask empty. Returns whether a
    warning was given."""
    if not objs:
        warn(_prog(args), f"--masks {os.fspath(masks)}: the file has no masks; the output will have no tracks")
        return True
    if not any(_rle_area(o) > 0 for o in objs):
        warn(_prog(args), f"--masks {os.fspath(masks)}: every mask is empty (0 pixels); the output will have no tracks")
        return True
    return False


def _render_masks(src, vis: "_Vis", result: Path) -> None:
    """The MOTS result file's masks over the input frames, with their ids and boxes."""
    from unitrack.data.mots import read_mots_txt
    from unitrack.viz import draw_boxes, draw_text, id_color, overlay_mask

    by_frame: dict[int, list] = {}
    for o in read_mots_txt(result, validate=False):
        by_frame.setdefault(o.frame, []).append(o)
    st = _style(src.size)
    for t, frame in enumerate(src):
        idmap = np.zeros(src.size, np.int64)
        boxes, ids = [], []
        for o in by_frame.get(t + 1, []):
            m = o.mask()
            idmap[m & (idmap == 0)] = o.obj_id
            ys, xs = np.nonzero(m)
            if len(xs):
                boxes.append([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
                ids.append(o.obj_id)
        img = overlay_mask(
            frame, idmap, colors={i: id_color(i) for i in ids}, contour_width=max(1, st["thickness"] // 2), outline=True
        )
        img = draw_boxes(
            img,
            np.asarray(boxes, np.float64).reshape(-1, 4),
            ids,
            thickness=max(1, st["thickness"] // 2),
            font_scale=st["label_scale"],
        )
        vis.write(draw_text(img, f"{t + 1}/{len(src)}", scale=st["scale"]))


def _cmd_mots(args: argparse.Namespace) -> int:
    from unitrack.data.mots import read_mots_txt
    from unitrack.evaluation.adapters.mots import track_mots

    src = _open_input(args)
    masks = _input_file(args.masks, "--masks")
    objs = read_mots_txt(masks, im_size=src.size)  # every mask must have the frame size: error names file:line
    out, name = _prepare(args, src)
    warned = _check_masks(args, masks, objs)
    model = _build_model(args)
    res = out / f"{name}.txt"
    t0 = time.perf_counter()
    with _result_and_vis(args, out, name, src, res) as (tmp, vis):
        info = track_mots(
            model, _frames_arg(src), masks, tmp, frame_rate=_tracker_fps(src, args) or 30.0, progress=args.progress
        )
        n = int(info.get("frames", 0))
        if vis.enabled:
            _render_masks(src, vis, tmp)
        empty = tmp.stat().st_size == 0
    if empty and not warned:
        _warn_empty(args, res, "the tracker confirmed no track")
    _report("mots", [res, vis.path], n, t0, args.precision)
    return 0


def _pose_frame_index(poses: Path, seq, src) -> dict:
    """json frame -> input frame: ``{input frame index: (json frame index, PoseFrame)}``, by image file name when
    every json frame names a file of the input folder, else by order (json frame i = input frame i)."""
    T = len(src)
    names = {p.name: t for t, p in enumerate(src.files)} if src.kind == "frames" else {}
    if names and all(Path(f.file_name).name in names for f in seq.frames):
        index = {names[Path(f.file_name).name]: (k, f) for k, f in enumerate(seq.frames)}
        if len(index) != len(seq.frames):
            raise ValueError(f"--poses {poses}: several json frames name the same image file")
        return index
    if len(seq.frames) > T:
        raise ValueError(
            f"--poses {poses}: {len(seq.frames)} frames of poses, but the input has only {T} frames; "
            "expected one json frame per input frame, in order (or file names of the input folder)"
        )
    return {k: (k, f) for k, f in enumerate(seq.frames)}


def _check_poses(args: argparse.Namespace, poses: Path, seq, size: tuple[int, int]) -> bool:
    """Warn (one line) when the poses cannot give any track: no person, or no visible joint inside the frames.
    Returns whether a warning was given."""
    H, W = size
    people = [p for f in seq.frames for p in f.people]
    if not people:
        warn(_prog(args), f"--poses {os.fspath(poses)}: no person in any frame; the output will have no tracks")
        return True
    if not any(
        np.any(
            (p.joints[:, 0] >= 0)
            & (p.joints[:, 0] < W)
            & (p.joints[:, 1] >= 0)
            & (p.joints[:, 1] < H)
            & (p.joints[:, 2] > 0)
        )
        for p in people
    ):
        warn(
            _prog(args),
            f"--poses {os.fspath(poses)}: no visible joint lies inside the {W}x{H} (WxH) frames; "
            "expected pixel coordinates of the input frames; the output will have no tracks",
        )
        return True
    return False


def _draw_poses(frame: np.ndarray, people: list, st: dict, label: str) -> np.ndarray:
    from unitrack.viz import draw_skeleton, draw_text

    img = frame
    for q in people:
        img = draw_skeleton(
            img,
            q.joints[:, :2],
            skeleton="posetrack",
            track_id=q.track_id,
            thickness=st["thickness"],
            radius=st["radius"],
            font_scale=st["label_scale"],
        )
    return draw_text(img, label, scale=st["scale"])


def _cmd_posetrack(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from unitrack.data.posetrack import PoseFrame, PoseSequence, read_posetrack, write_posetrack
    from unitrack.evaluation.adapters.posetrack import with_track_ids
    from unitrack.heads.posetrack import PoseTrackHead

    src = _open_input(args)
    poses = _input_file(args.poses, "--poses")
    seq = read_posetrack(poses)
    T = len(src)
    index = _pose_frame_index(poses, seq, src)
    last = max(index, default=-1)
    out, name = _prepare(args, src)
    warned = _check_poses(args, poses, seq, src.size)
    model = _build_model(args)
    res = out / f"{name}.json"
    head = PoseTrackHead(model, progress=False)
    out_frames = []
    n_tracked = 0
    t0 = time.perf_counter()
    with _result_and_vis(args, out, name, src, res) as (tmp, vis):
        st = _style(src.size)
        for t, frame in enumerate(tqdm(src, desc=f"PoseTrack {src.name}", total=T, disable=not args.progress)):
            if t > last and not vis.enabled:
                break
            k, fr = index.get(t, (-1, None))
            kept = []
            if t <= last:  # frames without poses still advance the tracker (tracks age and get lost)
                ppl = fr.people if fr is not None else []
                kept = with_track_ids(ppl, head.update(frame, [p.joints for p in ppl]))
            n_tracked += len(kept)
            if fr is not None:
                out_frames.append((k, PoseFrame(fr.file_name, kept, fr.image_id, fr.is_labeled, fr.ignore_regions)))
            if vis.enabled:
                vis.write(_draw_poses(frame, kept, st, f"{t + 1}/{T}"))
        fmt = seq.source_format if seq.source_format in ("2017", "2018") else "2018"
        out_frames = [f for _, f in sorted(out_frames, key=lambda x: x[0])]  # the json's frame order
        write_posetrack(
            tmp, PoseSequence(out_frames, vid_id=seq.vid_id, name=seq.name, source_format=seq.source_format), fmt
        )
    if n_tracked == 0 and not warned:
        _warn_empty(args, res, "no pose got a track id")
    _report("posetrack", [res, vis.path], T, t0, args.precision)
    return 0
