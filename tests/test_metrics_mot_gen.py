"""Tiny deterministic generator of MOT sequences with known events (+ tests of the generator itself).

Other test files import it: ``from test_metrics_mot_gen import make_mot_case``.

Objects move in separate horizontal lanes (gt boxes of different objects never overlap), the tracker
output is the gt with a small jitter (IoU stays well above 0.5) plus scripted events:

* ``switches``: ``(obj, frame)`` -> from that frame on the object gets a brand-new tracker id (1 IDSW);
* ``gaps``: ``(obj, start, stop)`` -> tracker misses the object on frames ``start..stop-1`` (FN, 1 Frag,
  no IDSW because the id resumes);
* ``fps``: number of extra false-positive boxes per frame in an empty image area;
* ``empty_frames``: frames without any gt and tracker output;
* ``blind_frames``: frames where the tracker outputs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MOTCase:
    gt: np.ndarray  # [N, 9] frame,id,x,y,w,h,active,class,visibility
    tracker: np.ndarray  # [M, 10] frame,id,x,y,w,h,conf,-1,-1,-1
    num_frames: int
    expected: dict = field(default_factory=dict)  # known CLEAR counts: TP, FN, FP, IDSW, Frag


def make_mot_case(
    seed: int = 0,
    num_frames: int = 30,
    num_objects: int = 4,
    switches=(),
    gaps=(),
    fps: int = 0,
    empty_frames=(),
    blind_frames=(),
    lifetimes=None,
    jitter: float = 2.0,
    im_size=(1080, 1920),
) -> MOTCase:
    rng = np.random.default_rng(seed)
    gt_rows, tr_rows = [], []
    tp = fn = fp = idsw = 0
    frag_objs: set = set()
    next_id = 1000
    cur_tid = {o: o + 1 for o in range(num_objects)}
    sw = {}
    for o, f in switches:
        sw.setdefault(f, []).append(o)
    gap_of = {}
    for o, a, b in gaps:
        for f in range(a, b):
            gap_of.setdefault(f, set()).add(o)
        frag_objs.add(o)
    speeds = rng.uniform(-8, 8, num_objects)
    x0 = rng.uniform(200, 1500, num_objects)
    for f in range(1, num_frames + 1):
        for o in sw.get(f, []):
            cur_tid[o] = next_id
            next_id += 1
            idsw += 1
        if f in empty_frames:
            continue
        for o in range(num_objects):
            if lifetimes is not None and not (lifetimes[o][0] <= f < lifetimes[o][1]):
                continue
            x = x0[o] + speeds[o] * f
            y = 20 + 120 * o
            w, h = 60.0, 100.0
            gt_rows.append([f, o + 1, x, y, w, h, 1, 1, 1.0])
            if f in blind_frames or o in gap_of.get(f, set()):
                fn += 1
                continue
            dx, dy = rng.uniform(-jitter, jitter, 2)
            tr_rows.append([f, cur_tid[o], x + dx, y + dy, w, h, 1, -1, -1, -1])
            tp += 1
        if f not in blind_frames:
            for k in range(fps):
                tr_rows.append([f, 5000 + k, 1700.0 + 40 * k, im_size[0] - 150.0, 30, 60, 0.5, -1, -1, -1])
                fp += 1
    gt = np.asarray(gt_rows, dtype=np.float64).reshape(-1, 9)
    tr = np.asarray(tr_rows, dtype=np.float64).reshape(-1, 10)
    exp = {"CLR_TP": tp, "CLR_FN": fn, "CLR_FP": fp, "IDSW": idsw, "Frag": len(frag_objs)}
    return MOTCase(gt, tr, num_frames, exp)


# ----------------------------------------------------------------------------------------------- TrackEval
def _fmt_row(r) -> str:
    return ",".join(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in r)


def write_trackeval_mot_layout(root, seqs: dict, benchmark: str = "MOT17", split: str = "train", tracker: str = "ours"):
    """Write ``{name: (gt_rows, tracker_rows, num_frames)}`` in TrackEval's MotChallenge2DBox layout under
    ``root``; returns (gt_folder, trackers_folder)."""
    from pathlib import Path

    root = Path(root)
    gt_fol, tr_fol = root / "gt", root / "trackers"
    bs = f"{benchmark}-{split}"
    (gt_fol / "seqmaps").mkdir(parents=True, exist_ok=True)
    (gt_fol / "seqmaps" / f"{bs}.txt").write_text("name\n" + "".join(f"{n}\n" for n in seqs))
    for name, (g, t, n) in seqs.items():
        d = gt_fol / bs / name
        (d / "gt").mkdir(parents=True, exist_ok=True)
        (d / "seqinfo.ini").write_text(
            f"[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength={n}\n"
            f"imWidth=1920\nimHeight=1080\nimExt=.jpg\n"
        )
        (d / "gt" / "gt.txt").write_text("".join(_fmt_row(r) + "\n" for r in g))
        td = tr_fol / bs / tracker / "data"
        td.mkdir(parents=True, exist_ok=True)
        (td / f"{name}.txt").write_text("".join(_fmt_row(r) + "\n" for r in t))
    return gt_fol, tr_fol


def trackeval_quiet_config() -> dict:
    return {
        "USE_PARALLEL": False,
        "PRINT_RESULTS": False,
        "PRINT_CONFIG": False,
        "TIME_PROGRESS": False,
        "OUTPUT_SUMMARY": False,
        "OUTPUT_DETAILED": False,
        "PLOT_CURVES": False,
        "LOG_ON_ERROR": None,
        "DISPLAY_LESS_PROGRESS": True,
        "BREAK_ON_ERROR": True,
    }


def run_trackeval(dataset, metric_names=("HOTA", "CLEAR", "Identity")) -> dict:
    """Run trackeval.Evaluator on a dataset object; returns {seq: {metric: dict}} for tracker 'ours'."""
    import contextlib
    import io

    import trackeval

    mets = []
    for m in metric_names:
        cls = getattr(trackeval.metrics, m)
        mets.append(cls({"PRINT_CONFIG": False, "THRESHOLD": 0.5}) if m in ("CLEAR", "Identity") else cls())
    ev = trackeval.Evaluator(trackeval_quiet_config())
    with contextlib.redirect_stdout(io.StringIO()):
        res, msg = ev.evaluate([dataset], mets)
    ds = next(iter(res.values()))
    tr = ds["ours"]
    assert tr is not None, msg
    return {seq: v["pedestrian"] for seq, v in tr.items()}


def assert_metrics_match(ours: dict, theirs: dict, families=("HOTA", "CLEAR", "Identity"), tol: float = 0.0):
    """Every field TrackEval reports for the families must agree with ours to ``tol`` (default: exactly)."""
    for fam in families:
        for k, v in theirs[fam].items():
            assert k in ours[fam], f"{fam}.{k} missing in our results"
            np.testing.assert_allclose(
                np.asarray(ours[fam][k], dtype=float),
                np.asarray(v, dtype=float),
                atol=tol,
                rtol=0,
                err_msg=f"{fam}.{k}",
            )


# ----------------------------------------------------------------------------------------------- tests
def test_generator_is_deterministic():
    a = make_mot_case(seed=3, switches=[(0, 10)], gaps=[(1, 5, 9)], fps=1)
    b = make_mot_case(seed=3, switches=[(0, 10)], gaps=[(1, 5, 9)], fps=1)
    np.testing.assert_array_equal(a.gt, b.gt)
    np.testing.assert_array_equal(a.tracker, b.tracker)


def test_generator_known_counts_consistent():
    c = make_mot_case(
        seed=1,
        num_frames=20,
        num_objects=3,
        switches=[(2, 7)],
        gaps=[(0, 3, 6)],
        fps=2,
        empty_frames=[11],
        blind_frames=[15],
    )
    assert c.expected["CLR_TP"] + c.expected["CLR_FN"] == len(c.gt)
    assert c.expected["CLR_TP"] + c.expected["CLR_FP"] == len(c.tracker)
    assert c.expected["IDSW"] == 1 and c.expected["Frag"] == 1
    assert not np.any(c.gt[:, 0] == 11) and not np.any(c.tracker[:, 0] == 11)
    assert not np.any(c.tracker[:, 0] == 15)


# ----------------------------------------------------------------------------------------------- MOTS
def make_mots_case(
    seed: int = 0,
    num_frames: int = 12,
    im_size=(120, 200),
    switches=(),
    gaps=(),
    fps: int = 1,
    ignore: bool = True,
    shrink: int = 2,
    empty_frames=(),
):
    """MOTS gt/tracker object lists (pedestrian ids 2001.., class 2) built from lane boxes as masks.

    Tracker masks are the gt mask eroded by ``shrink`` pixels (IoU < 1, > 0.5), optionally with id switches,
    gaps, ``fps`` false positives per frame (half of them inside an ignore region, which TrackEval removes).
    """
    from unitrack.data.mots import MOTSObject

    rng = np.random.default_rng(seed)
    H, W = im_size
    n_obj = 3
    gt, tr = [], []
    cur = {o: 2001 + o for o in range(n_obj)}
    nxt = 2100
    sw = {}
    for o, f in switches:
        sw.setdefault(f, []).append(o)
    gap = {(o, f) for o, a, b in gaps for f in range(a, b)}
    x0 = rng.integers(5, W - 60, n_obj)
    for f in range(1, num_frames + 1):
        for o in sw.get(f, []):
            cur[o] = nxt
            nxt += 1
        if f in empty_frames:
            continue
        for o in range(n_obj):
            x = int(np.clip(x0[o] + (f * (o + 1)) % 20, 0, W - 40))
            y = 5 + 30 * o
            m = np.zeros((H, W), bool)
            m[y : y + 25, x : x + 30] = True
            gt.append(MOTSObject.from_mask(f, 2001 + o, 2, m))
            if (o, f) in gap:
                continue
            mt = np.zeros((H, W), bool)
            mt[y + shrink : y + 25 - shrink, x + shrink // 2 : x + 30 - shrink // 2] = True
            tr.append(MOTSObject.from_mask(f, cur[o], 2, mt))
        if ignore:
            ig = np.zeros((H, W), bool)
            ig[H - 20 : H, 0:60] = True
            gt.append(MOTSObject.from_mask(f, 10000, 10, ig))
        for k in range(fps):
            m = np.zeros((H, W), bool)
            if k % 2 == 0:
                m[H - 18 : H - 4, 5 + 10 * k : 12 + 10 * k] = True  # inside the ignore region
            else:
                m[H - 18 : H - 4, 100 + 12 * k : 110 + 12 * k] = True  # a plain false positive
            tr.append(MOTSObject.from_mask(f, 2500 + k, 2, m))
    return gt, tr, num_frames


def write_trackeval_mots_layout(root, seqs: dict, split: str = "train", tracker: str = "ours"):
    """Write ``{name: (gt_objs, tr_objs, num_frames)}`` in TrackEval's MOTSChallenge layout."""
    from pathlib import Path

    from unitrack.data.mots import write_mots_txt

    root = Path(root)
    gt_fol, tr_fol = root / "gt", root / "trackers"
    bs = f"MOTS-{split}"
    (gt_fol / "seqmaps").mkdir(parents=True, exist_ok=True)
    (gt_fol / "seqmaps" / f"{bs}.txt").write_text("name\n" + "".join(f"{n}\n" for n in seqs))
    for name, (g, t, n) in seqs.items():
        d = gt_fol / bs / name
        (d / "gt").mkdir(parents=True, exist_ok=True)
        (d / "seqinfo.ini").write_text(
            f"[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength={n}\nimWidth=200\nimHeight=120\nimExt=.jpg\n"
        )
        write_mots_txt(d / "gt" / "gt.txt", g)
        write_mots_txt(tr_fol / bs / tracker / "data" / f"{name}.txt", t)
    return gt_fol, tr_fol
