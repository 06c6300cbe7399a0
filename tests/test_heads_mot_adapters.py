"""Evaluation adapters mot / mots / posetrack end to end on the tiny synthetic benchmark (ColorStatsModel)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from unitrack.data.motchallenge import read_mot_txt
from unitrack.data.mots import read_mots_txt
from unitrack.data.posetrack import read_posetrack
from unitrack.data.synthetic import generate_benchmark
from unitrack.evaluation import adapters_mot
from unitrack.evaluation.tasks import get_task
from unitrack.evaluation.workitems import WorkItem
from unitrack.model import ColorStatsModel

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return generate_benchmark(root, size="tiny", tasks=["mot", "mots", "posetrack"], progress=False)


def _run_all(task, data_root, out_root, config=None):
    ad = get_task(task)
    seqs = ad.sequences(data_root)
    assert seqs
    outs, infos = {}, {}
    for s in seqs:
        od = out_root / task / s
        od.mkdir(parents=True)
        item = WorkItem("color", task, s, str(data_root), json.dumps(config or {}))
        infos[s] = ad.run(ColorStatsModel(), item, str(od))
        outs[s] = str(od)
    return ad, outs, infos


def test_registered():
    assert isinstance(get_task("mot"), adapters_mot.MOTAdapter)
    assert isinstance(get_task("mots"), adapters_mot.MOTSAdapter)
    assert isinstance(get_task("posetrack"), adapters_mot.PoseTrackAdapter)


def test_mot_adapter_gt_detections(synth, tmp_path):
    root = synth["mot"]
    for s in get_task("mot").sequences(root):
        gt = read_mot_txt(root / "train" / s / "gt" / "gt.txt")
        keep = (gt[:, 6] > 0) & (gt[:, 7] == 1)
        lines = [f"{int(r[0])},-1,{r[2]},{r[3]},{r[4]},{r[5]},1" for r in gt[keep]]
        (root / "train" / s / "det" / "gt_det.txt").write_text("\n".join(lines) + "\n")
    ad, outs, infos = _run_all("mot", root, tmp_path, {"det_file": "gt_det.txt"})
    for s, info in infos.items():
        assert set(info["timings"]) >= {"backbone", "features", "rsm", "assoc"}
        rows = read_mot_txt(os.path.join(outs[s], f"{s}.txt"))
        assert rows.shape[1] == 10 and info["rows"] == len(rows)
    res = ad.evaluate(root, outs)
    assert {"idf1", "hota", "mota", "idsw"} <= set(res)
    assert all(0 <= res[k] <= 100 for k in ("idf1", "hota"))
    assert res["idf1"] > 90 and res["mota"] > 80 and res["hota"] > 60
    # the detector's own (noisy) detections also give sane numbers
    ad, outs2, _ = _run_all("mot", root, tmp_path / "det")
    res2 = ad.evaluate(root, outs2)
    assert 0 < res2["idf1"] <= 100 and -100 < res2["mota"] <= 100


def test_mots_adapter_gt_masks(synth, tmp_path):
    root = synth["mots"]
    for s in get_task("mots").sequences(root):
        shutil.copy(root / "train" / s / "gt" / "gt.txt", root / "train" / s / "det" / "gt_det.txt")
    ad, outs, infos = _run_all("mots", root, tmp_path, {"det_file": "gt_det.txt"})
    for s in outs:
        objs = read_mots_txt(os.path.join(outs[s], f"{s}.txt"))
        assert objs and all(o.class_id == 2 and o.obj_id > 2000 for o in objs)
    res = ad.evaluate(root, outs)
    assert {"idf1", "hota", "smotsa"} <= set(res)
    assert res["idf1"] > 60 and res["smotsa"] > 70 and res["hota"] > 60
    ad, outs2, _ = _run_all("mots", root, tmp_path / "det")
    res2 = ad.evaluate(root, outs2)  # overlapping detector masks were made disjoint (else this raises)
    assert 0 < res2["idf1"] <= 100


def test_posetrack_adapter_gt_poses(synth, tmp_path):
    src = synth["posetrack"]
    root = tmp_path / "pt"
    (root / "detections").mkdir(parents=True)
    os.symlink(src / "images", root / "images")
    os.symlink(src / "annotations", root / "annotations")
    shutil.copytree(src / "annotations" / "val", root / "detections" / "val")
    ad, outs, infos = _run_all("posetrack", root, tmp_path / "out")
    for s in outs:
        seq = read_posetrack(os.path.join(outs[s], f"{s}.json"))
        ids = [p.track_id for f in seq.frames for p in f.people]
        assert ids and all(0 <= i <= 999 for i in ids)
    res = ad.evaluate(root, outs)
    assert {"idf1", "mota", "ids"} <= set(res)
    assert res["mota"] > 85 and res["idf1"] > 80 and res["ids"] >= 0
    ad, outs2, _ = _run_all("posetrack", src, tmp_path / "det")
    res2 = ad.evaluate(src, outs2)
    assert 0 < res2["idf1"] <= 100 and res2["mota"] <= 100


def test_posetrack_idf1_perfect_and_swapped(synth):
    gt = {"s": read_posetrack(next((synth["posetrack"] / "annotations" / "val").glob("*.json")))}
    perfect = adapters_mot.posetrack_idf1(gt, gt)
    assert perfect["mean"] == pytest.approx(1.0)
    # swapping two people's ids in the second half of the frames lowers IDF1
    import copy

    swapped = copy.deepcopy(gt["s"])
    ids = sorted({p.track_id for f in swapped.frames for p in f.people})
    a, b = ids[0], ids[1]
    for f in swapped.frames[len(swapped.frames) // 2 :]:
        for p in f.people:
            p.track_id = b if p.track_id == a else a if p.track_id == b else p.track_id
    assert adapters_mot.posetrack_idf1(gt, {"s": swapped})["mean"] < 0.95


def test_evaluate_missing_output_is_an_error(synth, tmp_path):
    ad = get_task("mot")
    s = ad.sequences(synth["mot"])[0]
    with pytest.raises(FileNotFoundError, match=s):
        ad.evaluate(synth["mot"], {s: str(tmp_path)})
    with pytest.raises(FileNotFoundError):
        ad.sequences(tmp_path / "nothing")
