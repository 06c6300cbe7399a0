"""Tests of the synthetic benchmark (unitrack.data.synthetic): determinism, on-disk formats parsed back with minimal
independent parsers, mask/box/pose consistency, occlusion visibility, detection noise, CLI and errors."""

from __future__ import annotations

import argparse
import configparser
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from PIL import Image
from pycocotools import mask as mask_utils

from unitrack.data.synthetic import PRESETS, TASKS, add_parser, content_hash, generate_benchmark, main
from unitrack.data.synthetic.render import (
    TEXTURE_KINDS,
    FigureActor,
    ShapeActor,
    compose,
    make_texture,
    random_shape,
)
from unitrack.data.synthetic.scenes import figure_actor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")

TINY = PRESETS["tiny"]
H, W = TINY.H, TINY.W


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_a")
    t0 = time.perf_counter()
    paths = generate_benchmark(out, seed=0, size="tiny", progress=False)
    elapsed = time.perf_counter() - t0
    return out, paths, elapsed


def _files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


# ----------------------------------------------------------------------------------------------- determinism
def test_tiny_preset_runs_and_returns_all_roots(bench):
    out, paths, elapsed = bench
    assert set(paths) == set(TASKS) | {"manifest"}
    for t in TASKS:
        assert paths[t].is_dir() and any(paths[t].iterdir())
    # a hang/regression guard only (the speed target lives in benchmarks/bench_synthetic.py): ~2 s on 2 cores
    assert elapsed < 60.0


def test_same_seed_gives_byte_identical_files(bench, tmp_path):
    out, _, _ = bench
    generate_benchmark(tmp_path, seed=0, size="tiny", progress=False)
    a, b = _files(out), _files(tmp_path)
    assert a.keys() == b.keys()
    for k in a:
        if k == "jhmdb/testlist_split1.txt":  # holds absolute paths by format definition
            assert a[k].decode().replace(str(out), "<R>") == b[k].decode().replace(str(tmp_path), "<R>")
        else:
            assert a[k] == b[k], k
    ma = json.loads(a["MANIFEST.json"])
    assert ma["content_sha256"] == content_hash(tmp_path, [ma["tasks"][t]["root"] for t in ma["tasks"]])[0]


def test_other_seed_differs_and_task_subset_reproduces_full_run(bench, tmp_path):
    out, _, _ = bench
    generate_benchmark(tmp_path / "s1", seed=1, size="tiny", tasks="sot", progress=False)
    generate_benchmark(tmp_path / "s0", seed=0, size="tiny", tasks=["sot"], progress=False)
    full = _files(out / "otb")
    assert _files(tmp_path / "s0" / "otb") == full
    assert _files(tmp_path / "s1" / "otb") != full
    man = json.loads((tmp_path / "s0" / "MANIFEST.json").read_text())
    assert list(man["tasks"]) == ["sot"] and man["seed"] == 0 and man["size"] == "tiny"


def test_manifest_lists_existing_sequences(bench):
    out, _, _ = bench
    man = json.loads((out / "MANIFEST.json").read_text())
    assert man["generator"] == "unitrack.data.synthetic" and man["version"]
    assert man["frame_size"] == [H, W] and set(man["tasks"]) == set(TASKS)
    assert len(man["content_sha256"]) == 64
    n = sum(1 for t in man["tasks"].values() for p in (out / t["root"]).rglob("*") if p.is_file())
    assert man["n_files"] == n - len(man["path_dependent_files"])
    for task, info in man["tasks"].items():
        assert len(info["sequences"]) >= 2, task
        assert all(f >= 8 for f in info["frames"])


# ------------------------------------------------------------------------------------------------------ OTB
def test_otb_layout_and_boxes(bench):
    out, _, _ = bench
    root = out / "otb"
    meta = json.loads((root / "OTB2015.json").read_text())
    assert len(meta) == TINY.sot[0]
    for video, v in meta.items():
        assert set(v) >= {"video_dir", "init_rect", "img_names", "gt_rect", "attr"}
        lines = (root / video / "groundtruth_rect.txt").read_text().splitlines()
        txt = [[float(x) for x in ln.split(",")] for ln in lines]
        imgs = sorted((root / video / "img").glob("*.jpg"))
        assert [p.name for p in imgs] == [f"{i:04d}.jpg" for i in range(1, len(imgs) + 1)]
        assert len(txt) == len(imgs) == len(v["img_names"]) == len(v["gt_rect"])
        assert v["gt_rect"] == txt and v["init_rect"] == txt[0]
        for name in v["img_names"]:
            im = cv2.imread(str(root / name))
            assert im is not None and im.shape == (H, W, 3)
        b = np.array(txt)
        assert (b[:, 2] > 0).all() and (b[:, 3] > 0).all()
        assert (b[:, 0] >= 1).all() and (b[:, 1] >= 1).all()  # 1-based
        assert (b[:, 0] + b[:, 2] - 1 <= W).all() and (b[:, 1] + b[:, 3] - 1 <= H).all()
        assert "BC" in v["attr"]


# ---------------------------------------------------------------------------------------------------- DAVIS
def test_davis_palette_pngs_every_frame(bench):
    out, _, _ = bench
    root = out / "davis"
    val = (root / "ImageSets" / "2017" / "val.txt").read_text().split()
    train = (root / "ImageSets" / "2017" / "train.txt").read_text().split()
    assert len(val) == TINY.vos[0] and len(train) == TINY.vos_train and not set(val) & set(train)
    for seq in val + train:
        jpgs = sorted((root / "JPEGImages" / "480p" / seq).glob("*.jpg"))
        pngs = sorted((root / "Annotations" / "480p" / seq).glob("*.png"))
        assert [p.stem for p in jpgs] == [p.stem for p in pngs] == [f"{i:05d}" for i in range(len(jpgs))]
        first = None
        for p in pngs:
            im = Image.open(p)
            assert im.mode == "P" and im.size == (W, H)
            pal = im.getpalette()[:12]
            assert pal == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]  # DAVIS/PASCAL colours of ids 0..3
            lab = np.array(im)
            if first is None:
                first = np.unique(lab)
                assert first[0] == 0 and list(first) == list(range(len(first))) and 2 <= len(first) <= 4
            assert set(np.unique(lab)) <= set(first)


def test_vos_objects_move_and_occlude(bench):
    out, _, _ = bench
    root = out / "davis"
    seq = (root / "ImageSets" / "2017" / "val.txt").read_text().split()[0]
    pngs = sorted((root / "Annotations" / "480p" / seq).glob("*.png"))
    a, b = np.array(Image.open(pngs[0])), np.array(Image.open(pngs[-1]))
    assert (a != b).mean() > 0.01  # the objects move


# ---------------------------------------------------------------------------------------------------- JHMDB
def test_jhmdb_mat_and_filelist(bench):
    out, _, _ = bench
    root = out / "jhmdb"
    lines = (root / "testlist_split1.txt").read_text().splitlines()
    assert len(lines) == TINY.poseprop[0]
    for ln in lines:
        mat, frames = ln.split(" ")
        assert Path(mat).is_absolute() and Path(mat).is_file() and Path(frames).is_dir()
        pngs = sorted(Path(frames).glob("*.png"))
        assert [p.name for p in pngs] == [f"{i:05d}.png" for i in range(1, len(pngs) + 1)]
        pos = scipy.io.loadmat(mat)["pos_img"]
        assert pos.shape == (2, 15, len(pngs))
        assert cv2.imread(str(pngs[0])).shape == (H, W, 3)
        # MATLAB 1-based coordinates, inside the image (figures are kept in view)
        assert pos[0].min() >= 0.5 and pos[0].max() <= W + 0.5
        assert pos[1].min() >= 0.5 and pos[1].max() <= H + 0.5
        # anatomy: face above neck above belly (image y grows downwards); ankles lowest
        assert (pos[1, 2] < pos[1, 0]).all() and (pos[1, 0] < pos[1, 1]).all()
        assert (pos[1, 13:15].max(0) > pos[1, 1]).all()
        assert np.abs(np.diff(pos, axis=2)).max() > 0.5  # joints move


# ----------------------------------------------------------------------------------------------------- MOT
def _seqinfo(path: Path) -> configparser.SectionProxy:
    cp = configparser.ConfigParser()
    cp.read(path)
    return cp["Sequence"]


def test_mot_layout_gt_and_noisy_dets(bench):
    out, _, _ = bench
    root = out / "mot"
    seqs = (root / "seqmaps" / "SYNTH-train.txt").read_text().split()
    assert seqs[0] == "name" and len(seqs) == 1 + TINY.mot[0]
    matched = total = fps = 0
    vis_all = []
    for seq in seqs[1:]:
        d = root / "train" / seq
        info = _seqinfo(d / "seqinfo.ini")
        assert info["name"] == seq and info["imDir"] == "img1" and info["imExt"] == ".jpg"
        T = int(info["seqLength"])
        assert (int(info["imWidth"]), int(info["imHeight"])) == (W, H) and int(info["frameRate"]) > 0
        assert [p.name for p in sorted((d / "img1").glob("*.jpg"))] == [f"{i:06d}.jpg" for i in range(1, T + 1)]
        gt = np.loadtxt(d / "gt" / "gt.txt", delimiter=",", ndmin=2)
        det = np.loadtxt(d / "det" / "det.txt", delimiter=",", ndmin=2)
        assert gt.shape[1] == 9 and det.shape[1] == 10
        assert gt[:, 0].min() >= 1 and gt[:, 0].max() <= T and gt[:, 1].min() >= 1
        assert set(np.unique(gt[:, 7])) <= {1, 7, 8} and 1 in gt[:, 7]
        assert ((gt[:, 6] == 0) == np.isin(gt[:, 7], [7, 8])).all()
        assert ((gt[:, 8] >= 0) & (gt[:, 8] <= 1)).all()
        # one box per (frame, id)
        assert len({(int(f), int(i)) for f, i in gt[:, :2]}) == len(gt)
        assert (det[:, 1] == -1).all() and (det[:, 7:] == -1).all()
        assert ((det[:, 6] > 0) & (det[:, 6] <= 1)).all() and (det[:, 4:6] > 0).all()
        vis_all.append(gt[gt[:, 7] == 1, 8])
        for f in range(1, T + 1):
            g = gt[(gt[:, 0] == f) & (gt[:, 7] == 1) & (gt[:, 8] > 0.5), 2:6]
            dd = det[det[:, 0] == f, 2:6]
            for b in g:
                total += 1
                matched += any(_iou(b, x) > 0.5 for x in dd)
            for x in dd:
                fps += all(_iou(x, b) < 0.2 for b in gt[gt[:, 0] == f, 2:6])
    vis = np.concatenate(vis_all)
    assert (vis == 1).any() and (vis < 0.6).any()  # occlusions happen (crossing pairs)
    assert 0.6 < matched / total < 1.0  # noisy: some misses, most found
    assert fps > 0  # false positives exist


# ---------------------------------------------------------------------------------------------------- MOTS
def _read_mots(path: Path) -> list:
    rows = []
    for ln in path.read_text().splitlines():
        f, i, c, h, w, rle = ln.split(" ")
        rows.append((int(f), int(i), int(c), int(h), int(w), rle))
    return rows


def test_mots_rle_disjoint_and_dets(bench):
    out, _, _ = bench
    root = out / "mots"
    seqs = (root / "seqmaps" / "SYNTH-MOTS-train.txt").read_text().split()
    assert seqs[0] == "name" and len(seqs) == 1 + TINY.mots[0]
    for seq in seqs[1:]:
        d = root / "train" / seq
        info = _seqinfo(d / "seqinfo.ini")
        T = int(info["seqLength"])
        assert len(list((d / "img1").glob("*.jpg"))) == T
        for fname in ("gt/gt.txt", "det/det.txt"):
            rows = _read_mots(d / fname)
            assert rows, fname
            ids_per_frame: dict = {}
            union: dict = {}
            for f, i, c, h, w, rle in rows:
                assert 1 <= f <= T and c == 2 and (h, w) == (H, W)
                if fname.startswith("gt"):
                    assert 2001 <= i < 3000
                m = mask_utils.decode({"size": [h, w], "counts": rle.encode()})
                assert m.shape == (H, W) and m.sum() > 0
                assert i not in ids_per_frame.setdefault(f, set())
                ids_per_frame[f].add(i)
                u = union.setdefault(f, np.zeros((H, W), np.uint8))
                assert not (u & m).any(), f"{seq} {fname}: overlapping masks in frame {f}"
                u |= m
        # detections are noisy versions: not identical to the GT masks
        g = {(r[0], r[5]) for r in _read_mots(d / "gt" / "gt.txt")}
        dt = {(r[0], r[5]) for r in _read_mots(d / "det" / "det.txt")}
        assert len(g & dt) < len(g)


# ----------------------------------------------------------------------------------------------- PoseTrack
def test_posetrack_json(bench):
    out, _, _ = bench
    root = out / "posetrack"
    files = sorted((root / "annotations" / "val").glob("*.json"))
    assert len(files) == TINY.posetrack[0]
    for fp in files:
        for kind in ("annotations", "detections"):
            js = json.loads((root / kind / "val" / fp.name).read_text())
            cat = js["categories"][0]
            assert cat["name"] == "person" and cat["id"] == 1 and len(cat["keypoints"]) == 17
            assert cat["keypoints"][:3] == ["nose", "head_bottom", "head_top"]
            ids = {im["id"] for im in js["images"]}
            assert len(ids) == len(js["images"])
            for im in js["images"]:
                assert (root / im["file_name"]).is_file() and im["nframes"] == len(js["images"])
                assert im["is_labeled"] and isinstance(im["vid_id"], str)
            assert js["annotations"]
            tracks = set()
            for a in js["annotations"]:
                assert a["image_id"] in ids
                k = np.array(a["keypoints"], np.float64).reshape(17, 3)
                assert set(np.unique(k[:, 2])) <= {0, 1}
                assert (k[k[:, 2] == 0, :2] == 0).all()
                v = k[k[:, 2] == 1]
                assert ((v[:, 0] >= -0.5) & (v[:, 0] <= W) & (v[:, 1] >= -0.5) & (v[:, 1] <= H)).all()
                assert (k[3:5, 2] == 0).all()  # ears unused
                assert len(a["bbox"]) == 4 and len(a["bbox_head"]) == 4
                if kind == "annotations":
                    assert 0 <= a["track_id"] <= 999
                    tracks.add(a["track_id"])
                    # head above the ankles; head box contains head_top/nose region
                    if k[2, 2] and k[15, 2]:
                        assert k[2, 1] < k[15, 1]
                else:
                    assert a["track_id"] == -1 and len(a["scores"]) == 17
                    assert all(0 <= s <= 1 for s in a["scores"])
            if kind == "annotations":
                assert len(tracks) >= 2


def test_posetrack_detections_are_noisy(bench):
    out, _, _ = bench
    root = out / "posetrack"
    n_gt = n_det = 0
    for fp in sorted((root / "annotations" / "val").glob("*.json")):
        gt = json.loads(fp.read_text())["annotations"]
        det = json.loads((root / "detections" / "val" / fp.name).read_text())["annotations"]
        n_gt, n_det = n_gt + len(gt), n_det + len(det)
        gk = {tuple(a["keypoints"]) for a in gt}
        assert not any(tuple(a["keypoints"]) in gk for a in det)  # jittered
    assert n_det != n_gt


# ------------------------------------------------------------------------------------------ rendering checks
def _rect_actor(cx: float, depth: float, T: int = 1) -> ShapeActor:
    tex = np.full((32, 32, 3), 200, np.uint8)
    one = np.ones(T)
    return ShapeActor(
        random_shape(np.random.default_rng(0), "rect"),
        tex,
        cx * one,
        50 * one,
        10 * one,
        10 * one,
        0 * one,
        depth * one,
    )


@pytest.mark.parametrize("front", [0, 1])
def test_occlusion_visibility(front):
    # two 20x20 squares overlapping by half: the far one is half visible, the near one fully
    a, b = _rect_actor(50.0, 1.0 if front == 0 else 0.0), _rect_actor(60.0, 0.0 if front == 0 else 1.0)
    comp = compose(np.zeros((100, 120, 3), np.uint8), [a, b], 0)
    vis = comp.visibility
    assert vis[front] == 1.0
    assert abs(vis[1 - front] - 0.5) < 0.06
    assert comp.visible_px.sum() == (comp.owner >= 0).sum()
    for k in range(2):
        assert abs(comp.rendered[k].area - 400) <= 45  # ~20x20 px


def test_visible_mask_inside_box_and_border_clipping():
    rng = np.random.default_rng(3)
    tex = make_texture(rng, 64, 64)
    one = np.ones(1)
    act = ShapeActor(random_shape(rng, "blob"), tex, -5 * one, 40 * one, 20 * one, 14 * one, 0.4 * one, one)
    comp = compose(np.zeros((80, 100, 3), np.uint8), [act], 0)
    r = comp.rendered[0]
    x, y, w, h = r.box()
    ys, xs = np.nonzero(comp.visible_mask(0))
    assert xs.min() >= x and xs.max() < x + w and ys.min() >= y and ys.max() < y + h
    assert x < 0 and 0 < comp.visibility[0] < 0.75  # partly outside the frame border


def test_figure_joints_lie_on_the_rendered_body():
    rng = np.random.default_rng(5)
    T = 12
    feet = np.stack([np.linspace(60, 90, T), np.full(T, 150.0)], 1)
    for action in ("walk", "wave", "squat", "clap"):
        fig = figure_actor(rng, feet, np.full(T, 110.0), action, yaw=0.3)
        for t in range(T):
            r = fig.render(t)
            j = np.floor(r.joints).astype(np.int64) - [r.x0, r.y0]
            assert r.mask[j[:, 1], j[:, 0]].all(), (action, t)
            assert isinstance(fig, FigureActor) and r.joints.shape == (15, 2)


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_textures_are_textured_and_seeded(kind):
    a = make_texture(np.random.default_rng(1), 48, 64, kind=kind)
    b = make_texture(np.random.default_rng(1), 48, 64, kind=kind)
    c = make_texture(np.random.default_rng(2), 48, 64, kind=kind)
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.reshape(-1, 3).std(0).max() > 5  # not flat


# ----------------------------------------------------------------------------------------------- CLI / errors
def test_cli_main_and_subcommand(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--size", "tiny", "--tasks", "sot", "--no-progress"]) == 0
    assert (tmp_path / "otb" / "OTB2015.json").is_file()
    assert main(["--out", str(tmp_path), "--size", "tiny", "--tasks", "sot", "--no-progress"]) == 2
    err = capsys.readouterr().err  # errors go to stderr, one line
    assert "not empty" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert main(["--out", str(tmp_path), "--size", "tiny", "--tasks", "sot", "--overwrite", "--no-progress"]) == 0
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    add_parser(sub)
    args = p.parse_args(["synth", "--out", str(tmp_path / "x"), "--size", "tiny", "--tasks", "sot"])
    assert callable(args.func) and args.size == "tiny"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": "huge"}, "size"),
        ({"seed": -1}, "seed"),
        ({"tasks": ["sot", "nope"]}, "tasks"),
        ({"tasks": []}, "tasks"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_benchmark(tmp_path, progress=False, **kwargs)


# ------------------------------------------------------------------------------------- motion-ambiguous crossings
def test_mot_has_meet_and_turn_pairs(bench):
    """Every MOT sequence has two pedestrians whose boxes nearly coincide at some frame and that both reverse their
    horizontal direction there (constant-velocity prediction is then useless, appearance must decide)."""
    out, _, _ = bench
    root = out / "mot"
    for seq in (root / "seqmaps" / "SYNTH-train.txt").read_text().split()[1:]:
        gt = np.loadtxt(root / "train" / seq / "gt" / "gt.txt", delimiter=",", ndmin=2)
        gt = gt[gt[:, 7] == 1]
        tracks = {int(i): {int(r[0]): r[2:6] for r in gt[gt[:, 1] == i]} for i in np.unique(gt[:, 1])}
        found = False
        for a in tracks:
            for b in tracks:
                if a >= b:
                    continue
                common = sorted(set(tracks[a]) & set(tracks[b]))
                if len(common) < 5:
                    continue
                ious = [_iou(tracks[a][f], tracks[b][f]) for f in common]
                fm = common[int(np.argmax(ious))]
                if max(ious) < 0.5:
                    continue

                # least-squares horizontal speed of the box centre (robust to gait jitter)
                def slope(i, frames, tracks=tracks):
                    fr = [f for f in frames if f in tracks[i]]
                    if len(fr) < 2:
                        return 0.0
                    return float(np.polyfit(fr, [tracks[i][f][0] + tracks[i][f][2] / 2 for f in fr], 1)[0])

                turn = [slope(i, range(fm - 5, fm + 1)) * slope(i, range(fm, fm + 6)) for i in (a, b)]
                found |= all(s < 0 for s in turn)
        assert found, seq


# ----------------------------------------------------------------------------------------------- TrackEval
def test_trackeval_accepts_mot_and_mots_gt(bench, tmp_path):
    """The official evaluator reads the layouts: GT submitted as tracker output scores HOTA = MOTA = IDF1 = 1."""
    trackeval = pytest.importorskip("trackeval")
    out, _, _ = bench
    ev = trackeval.Evaluator(
        {
            **trackeval.Evaluator.get_default_eval_config(),
            "PRINT_RESULTS": False,
            "PRINT_CONFIG": False,
            "TIME_PROGRESS": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "USE_PARALLEL": False,
        }
    )
    metrics = [
        trackeval.metrics.HOTA({"PRINT_CONFIG": False}),
        trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
        trackeval.metrics.Identity({"PRINT_CONFIG": False}),
    ]
    for task, seqmap, cls in (
        ("mot", "SYNTH-train", trackeval.datasets.MotChallenge2DBox),
        ("mots", "SYNTH-MOTS-train", trackeval.datasets.MOTSChallenge),
    ):
        root = out / task
        seqs = (root / "seqmaps" / f"{seqmap}.txt").read_text().split()[1:]
        data = tmp_path / task / "gtcopy" / "data"
        data.mkdir(parents=True)
        for s in seqs:
            lines = (root / "train" / s / "gt" / "gt.txt").read_text().splitlines()
            if task == "mot":  # pedestrians only, tracker format
                lines = [
                    ",".join(ln.split(",")[:6] + ["1", "-1", "-1", "-1"]) for ln in lines if ln.split(",")[7] == "1"
                ]
            (data / f"{s}.txt").write_text("\n".join(lines) + "\n")
        cfg = {
            **cls.get_default_dataset_config(),
            "GT_FOLDER": str(root / "train"),
            "TRACKERS_FOLDER": str(tmp_path / task),
            "SEQMAP_FILE": str(root / "seqmaps" / f"{seqmap}.txt"),
            "SKIP_SPLIT_FOL": True,
            "TRACKERS_TO_EVAL": ["gtcopy"],
            "PRINT_CONFIG": False,
        }
        if task == "mot":
            cfg["BENCHMARK"] = "SYNTH"
        res, _ = ev.evaluate([cls(cfg)], metrics)
        r = res[cls.get_class_name()]["gtcopy"]["COMBINED_SEQ"]["pedestrian"]
        assert r["HOTA"]["HOTA"].mean() == pytest.approx(1.0)
        assert r["CLEAR"]["MOTA"] == pytest.approx(1.0) and r["Identity"]["IDF1"] == pytest.approx(1.0)
