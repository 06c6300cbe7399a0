"""MOTChallenge evaluation facade: HOTA + CLEAR + Identity (+ Count) per sequence and combined.

Numbers are bit-identical to TrackEval 1.3.0 ``MotChallenge2DBox`` (tested live against it, boundary cases
included):

* similarity = box IoU on (x, y, w, h) without the +1 pixel convention, computed as TrackEval does (areas from the
  corners, :func:`box_iou_xywh`);
* frame, id, the gt ``active`` flag and the class are integers read with TrackEval's truncation toward zero
  (``astype(int)``); a class TrackEval rejects is reported as the file (or array) writes it;
* preprocessing (``preproc=True``, MOT16/17/20 only, never MOT15): tracker boxes matched (IoU >= 0.5,
  Hungarian) to gt boxes of a distractor class (person_on_vehicle 2, static_person 7, distractor 8,
  reflection 12, and non_mot_vehicle 6 for MOT20) are removed; then only pedestrian (class 1) gt is kept;
* gt lines with ``active == 0`` ("zero marked") are always removed (also for MOT15 / without preproc,
  as TrackEval does);
* combined results sum the counts over sequences and recompute the ratios (HOTA's AssA/AssRe/AssPr and
  LocA are HOTA_TP-weighted averages), exactly as ``combine_sequences`` in TrackEval.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.motchallenge import list_sequences, mot_field_as_written, read_mot_txt, read_seqinfo, split_by_frame
from ..iou import box_iou_xywh
from .clear import _first_duplicate
from .families import DEFAULT_METRICS, combine_results, evaluate_frames

__all__ = [
    "box_iou_xywh",
    "evaluate_mot_sequence",
    "evaluate_mot_benchmark",
    "evaluate_frames",
    "combine_results",
    "format_table",
    "MOT_BENCHMARKS",
    "DEFAULT_METRICS",
]

_EPS = float(np.finfo("float").eps)
MOT_BENCHMARKS = ("MOT15", "MOT16", "MOT17", "MOT20")
_VALID_CLASSES = np.arange(1, 14)
_DISTRACTORS = (2, 7, 8, 12)


def _as_rows(x: str | os.PathLike | np.ndarray, what: str) -> np.ndarray:
    if isinstance(x, (str, os.PathLike)):
        return read_mot_txt(x, truncate_ints=True)
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 10))
    if arr.ndim != 2 or arr.shape[1] < 6:
        raise ValueError(
            f"{what} must be a MOT txt path or an array [N, >=6] (frame,id,x,y,w,h,...), got shape {list(arr.shape)}"
        )
    if not np.isfinite(arr[:, :2]).all():
        raise ValueError(f"{what}: frame and id (columns 1-2) must be finite numbers")
    arr = arr.copy()
    arr[:, :2] = np.trunc(arr[:, :2])  # TrackEval reads them with int(float(.)) / astype(int)
    return arr


def _written(source, rows: np.ndarray, row: int, col: int) -> tuple[str, str]:
    """(``where``, ``text``): the place and the text of field ``col`` of data row ``row`` as the input wrote it.
    ``source`` is the txt path (-> ``file:line`` and the field's text) or the argument name of an array
    (-> ``name[row]`` and the value's repr)."""
    if isinstance(source, os.PathLike):
        try:
            line, text = mot_field_as_written(source, row, col)
            return f"{source}:{line}", text
        except (OSError, IndexError):
            return f"{source}: data row {row + 1}", repr(float(rows[row, col]))
    return f"{source}[{row}]", repr(float(rows[row, col]))


def _int_column(rows: np.ndarray, col: int, source, what: str) -> np.ndarray:
    """Column ``col`` truncated toward zero as TrackEval's ``astype(int)``; a non-finite value (whose cast is
    undefined) is an error that quotes the value as written."""
    v = rows[:, col]
    bad = np.flatnonzero(~np.isfinite(v))
    if len(bad):
        where, text = _written(source, rows, int(bad[0]), col)
        raise ValueError(f"{where}: {what} (column {col + 1}) must be a finite number, got {text!r}")
    return v.astype(np.int64)


def _prepare(
    gt_rows: np.ndarray,
    tr_rows: np.ndarray,
    num_frames: int,
    benchmark: str,
    preproc: bool,
    gt_name: str,
    tr_name: str,
    gt_src=None,
    tr_src=None,
) -> tuple[list, list, list]:
    """Per frame (gt ids, tracker ids, IoU) after TrackEval's MotChallenge2DBox preprocessing.

    Frame, id, the gt's ``active`` flag and the class columns are integers read with TrackEval's truncation
    (``astype(int)``: 0.7 -> 0, i.e. a flag of 0.7 marks the object as ignored, class 1.9 is a pedestrian). A bad
    class value is reported as the input wrote it."""
    if benchmark not in MOT_BENCHMARKS:
        raise ValueError(f"benchmark must be one of {MOT_BENCHMARKS}, got {benchmark!r}")
    gt_src = "gt" if gt_src is None else gt_src
    tr_src = "results" if tr_src is None else tr_src
    gt_f = split_by_frame(gt_rows, num_frames, gt_name)
    tr_f = split_by_frame(tr_rows, num_frames, tr_name)
    # original row index of every per-frame row (to quote a bad value as written)
    gt_ix = [
        r[:, 1].astype(np.int64)
        for r in split_by_frame(np.column_stack([gt_rows[:, :1], np.arange(len(gt_rows))]), num_frames)
    ]
    tr_ix = [
        r[:, 1].astype(np.int64)
        for r in split_by_frame(np.column_stack([tr_rows[:, :1], np.arange(len(tr_rows))]), num_frames)
    ]
    has_active, has_class = gt_rows.shape[1] >= 7, gt_rows.shape[1] >= 8
    g_active_all = _int_column(gt_rows, 6, gt_src, "gt active flag") if has_active else None
    g_class_all = None
    if has_class:
        if preproc and benchmark != "MOT15":
            g_class_all = _int_column(gt_rows, 7, gt_src, "gt class")
        else:  # the class is not used: a non-finite value does no harm
            with np.errstate(invalid="ignore"):
                g_class_all = np.where(np.isfinite(gt_rows[:, 7]), gt_rows[:, 7], 0).astype(np.int64)
    with np.errstate(invalid="ignore"):
        # TrackEval: astype(int) of column 8; a NaN there passes its "<= 1" check, so it passes ours too
        r_class_all = (
            np.where(np.isfinite(tr_rows[:, 7]), tr_rows[:, 7], 0).astype(np.int64) if tr_rows.shape[1] >= 8 else None
        )
    do_pre = preproc and benchmark != "MOT15"
    distractors = _DISTRACTORS + ((6,) if benchmark == "MOT20" else ())
    gt_ids, tr_ids, sims = [], [], []
    for t, (g, r) in enumerate(zip(gt_f, tr_f)):
        gi, ti = gt_ix[t], tr_ix[t]
        g_active = g_active_all[gi] if has_active else np.ones(len(g), np.int64)
        g_class = g_class_all[gi] if has_class else np.ones(len(g), np.int64)
        if r_class_all is not None and len(r):
            r_class = r_class_all[ti]
            if r_class.max() > 1:
                k = int(ti[np.argmax(r_class)])
                where, text = _written(tr_src, tr_rows, k, 7)
                raise ValueError(
                    f"{where}: tracker class column (8) must be <= 1 (1 = pedestrian, -1 = unused; "
                    f"TrackEval evaluates pedestrians only), found {text!r} in frame {t + 1}"
                )
        sim = box_iou_xywh(g[:, 2:6], r[:, 2:6])
        keep_r = np.ones(len(r), bool)
        if do_pre and len(g) and len(r):
            bad = (g_class < 1) | (g_class > 13)
            if bad.any():
                k = int(gi[np.flatnonzero(bad)[0]])
                where, text = _written(gt_src, gt_rows, k, 7)
                others = np.setdiff1d(np.unique(g_class), _VALID_CLASSES).tolist()
                raise ValueError(
                    f"{where}: invalid gt class {text!r} in frame {t + 1} (column 8 is read as an "
                    f"integer like TrackEval: {others} found, expected 1..13); disable "
                    f"preprocessing to evaluate such gt"
                )
            is_distractor = np.isin(g_class, distractors)
            if is_distractor.any():  # without distractor gt in the frame nothing can be removed
                ms = sim.copy()
                ms[ms < 0.5 - _EPS] = 0
                rows, cols = linear_sum_assignment(-ms)
                ok = ms[rows, cols] > 0 + _EPS
                rows, cols = rows[ok], cols[ok]
                keep_r[cols[is_distractor[rows]]] = False
        keep_g = g_active != 0
        if do_pre:
            keep_g &= g_class == 1
        gt_ids.append(g[keep_g, 1].astype(np.int64))
        tr_ids.append(r[keep_r, 1].astype(np.int64))
        sims.append(sim[keep_g][:, keep_r])
    for name, ids in ((gt_name, [g[:, 1] for g in gt_f]), (tr_name, [r[:, 1] for r in tr_f])):
        d = _first_duplicate(ids)
        if d is not None:
            raise ValueError(f"{name}: frame {d[0] + 1}: id {d[1]} appears more than once in the same frame")
    return gt_ids, tr_ids, sims


def evaluate_mot_sequence(
    gt: str | os.PathLike | np.ndarray,
    results: str | os.PathLike | np.ndarray,
    num_frames: int | None = None,
    benchmark: str = "MOT17",
    preproc: bool = True,
    metrics: Iterable[str] = DEFAULT_METRICS,
    threshold: float = 0.5,
) -> dict:
    """Evaluate one MOTChallenge sequence.

    Args:
        gt: ``gt.txt`` path or array ``[N, >=6]`` (frame, id, x, y, w, h[, active, class, visibility]).
        results: tracker txt path or array ``[M, >=6]`` (frame, id, x, y, w, h, ...).
        num_frames: sequence length (``seqLength``); default: the largest frame in gt/results.
        benchmark: MOT15 | MOT16 | MOT17 | MOT20 (decides preprocessing).
        preproc: apply the MOTChallenge preprocessing (ignored for MOT15).
        metrics: metric families to compute.
        threshold: IoU threshold of CLEAR and Identity (0.5).

    Returns:
        ``{"HOTA": {...}, "CLEAR": {...}, "Identity": {...}, "Count": {...}}`` with TrackEval field names.
    """
    gt_name = str(gt) if isinstance(gt, (str, os.PathLike)) else "gt"
    tr_name = str(results) if isinstance(results, (str, os.PathLike)) else "results"
    g = _as_rows(gt, "gt")
    r = _as_rows(results, "results")
    if num_frames is None:
        num_frames = int(max(g[:, 0].max() if len(g) else 0, r[:, 0].max() if len(r) else 0))
    gt_ids, tr_ids, sims = _prepare(
        g,
        r,
        int(num_frames),
        benchmark,
        preproc,
        gt_name,
        tr_name,
        Path(gt) if isinstance(gt, (str, os.PathLike)) else "gt",
        Path(results) if isinstance(results, (str, os.PathLike)) else "results",
    )
    return evaluate_frames(gt_ids, tr_ids, sims, metrics, threshold)


def _find_gt_dir(gt_root: Path, benchmark: str, split: str | None) -> Path:
    cands = []
    if split:
        cands += [gt_root / split, gt_root / f"{benchmark}-{split}"]
    cands.append(gt_root)
    for c in cands:
        if c.is_dir() and any((p / "seqinfo.ini").is_file() for p in c.iterdir() if p.is_dir()):
            return c
    raise FileNotFoundError(f"no sequence folders with seqinfo.ini found under any of {[str(c) for c in cands]}")


def _result_file(results_dir: Path, seq: str) -> Path:
    for c in (results_dir / f"{seq}.txt", results_dir / "data" / f"{seq}.txt"):
        if c.is_file():
            return c
    raise FileNotFoundError(f"no result file for sequence {seq!r}: expected {results_dir / (seq + '.txt')}")


def evaluate_mot_benchmark(
    gt_root: str | os.PathLike,
    results_dir: str | os.PathLike,
    benchmark: str = "MOT17",
    split: str | None = "train",
    preproc: bool = True,
    seqs: Sequence[str] | None = None,
    metrics: Iterable[str] = DEFAULT_METRICS,
    progress: bool = True,
) -> dict:
    """Evaluate every sequence of a split and combine them.

    Args:
        gt_root: folder holding ``<split>/<seq>/{seqinfo.ini, gt/gt.txt}`` (also accepted:
            ``<BENCH>-<split>/<seq>`` as TrackEval lays it out, or ``<seq>`` directly).
        results_dir: folder with ``<seq>.txt`` (or ``data/<seq>.txt``) per sequence.
        benchmark, preproc, metrics: see :func:`evaluate_mot_sequence`.
        seqs: restrict to these sequence names (default: all found).
        progress: show a tqdm progress bar.

    Returns:
        ``{seq: {family: {...}}, ..., "COMBINED_SEQ": {family: {...}}}``.
    """
    return _evaluate_split(
        gt_root,
        results_dir,
        benchmark,
        split,
        seqs,
        progress,
        partial(evaluate_mot_sequence, benchmark=benchmark, preproc=preproc, metrics=metrics),
    )


def _evaluate_split(
    gt_root: str | os.PathLike,
    results_dir: str | os.PathLike,
    benchmark: str,
    split: str | None,
    seqs: Sequence[str] | None,
    progress: bool,
    evaluate_sequence: Callable[[Path, Path, int], dict],
) -> dict:
    """The split loop shared by the MOT and MOTS benchmarks: find ``gt_root``'s sequence folders (or the ``seqs``
    among them), call ``evaluate_sequence(gt_file, result_file, seq_length)`` for each and add ``COMBINED_SEQ``."""
    gt_dir = _find_gt_dir(Path(gt_root), benchmark, split)
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder not found: {results_dir}")
    seq_dirs = list_sequences(gt_dir)
    if seqs is not None:
        names = {p.name: p for p in seq_dirs}
        missing = [s for s in seqs if s not in names]
        if missing:
            raise FileNotFoundError(f"sequences {missing} not found under {gt_dir}")
        seq_dirs = [names[s] for s in seqs]
    from tqdm import tqdm

    out: dict = {}
    for sd in tqdm(seq_dirs, desc=f"eval {benchmark}", disable=not progress):
        info = read_seqinfo(sd / "seqinfo.ini")
        gt_file = sd / "gt" / "gt.txt"
        if not gt_file.is_file():
            raise FileNotFoundError(f"gt file not found: {gt_file}")
        out[sd.name] = evaluate_sequence(gt_file, _result_file(results_dir, sd.name), info["seq_length"])
    out["COMBINED_SEQ"] = combine_results(out)
    return out


_TABLE = (
    ("HOTA", "HOTA"),
    ("DetA", "HOTA"),
    ("AssA", "HOTA"),
    ("LocA", "HOTA"),
    ("MOTA", "CLEAR"),
    ("MOTP", "CLEAR"),
    ("IDF1", "Identity"),
    ("IDSW", "CLEAR"),
    ("Frag", "CLEAR"),
    ("FP", "CLEAR"),
    ("FN", "CLEAR"),
    ("MT", "CLEAR"),
    ("ML", "CLEAR"),
    ("sMOTSA", "MOTS"),
)
_ALIASES = {"FP": "CLR_FP", "FN": "CLR_FN"}


def format_table(results: Mapping[str, dict]) -> str:
    """Plain-text table (one row per sequence + COMBINED) of the headline metrics, percentages for ratios."""
    fams = set()
    for v in results.values():
        fams |= set(v)
    cols = [(n, f) for n, f in _TABLE if f in fams]
    names = [k for k in results if k != "COMBINED_SEQ"] + (["COMBINED_SEQ"] if "COMBINED_SEQ" in results else [])
    w = max([len("sequence")] + [len(n) for n in names]) + 2
    lines = ["sequence".ljust(w) + "".join(n.rjust(9) for n, _ in cols)]
    for name in names:
        r = results[name]
        cells = []
        for n, f in cols:
            v = r.get(f, {}).get(_ALIASES.get(n, n))
            if v is None:
                cells.append("-".rjust(9))
            elif isinstance(v, (int, np.integer)):
                cells.append(f"{int(v):9d}")
            else:
                cells.append(f"{100 * float(np.mean(v)):9.3f}")
        lines.append(("COMBINED" if name == "COMBINED_SEQ" else name).ljust(w) + "".join(cells))
    return "\n".join(lines)
