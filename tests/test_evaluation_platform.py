"""The evaluation platform end to end on the tiny synthetic benchmark: local run, idempotent re-run, a failing work
item, the CLI, and the Ray runner giving the same table as the local one."""

import json
import os
import subprocess
import sys

import pytest

from unitrack.evaluation import evaluate

TASKS = ["sot", "mot", "vos"]


@pytest.fixture(scope="module")
def tiny_roots(tmp_path_factory):
    from unitrack.evaluation.platform import synthetic_roots

    root = tmp_path_factory.mktemp("synth")
    return synthetic_roots(
        str(root / "synthetic-tiny"), TASKS + ["poseprop", "mots", "posetrack"], size="tiny", progress=False
    )


@pytest.fixture(scope="module")
def local_run(tiny_roots, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    res = evaluate(
        ["color"], TASKS, data="custom", roots=tiny_roots, out_root=str(out), progress=False, max_sequences=1
    )
    return out, res


def test_local_run_writes_table_and_reports(local_run):
    out, res = local_run
    assert res["errors"] == []
    row = res["results"]["color"]
    for task, key in [("sot", "xcorr_auc"), ("sot", "dcf_auc"), ("mot", "idf1"), ("mot", "hota"), ("vos", "jf_mean")]:
        v = row[task][key]
        assert 0.0 <= v <= 100.0, (task, key, v)
    for name in ("results.json", "results.csv", "results.md", "config.json"):
        assert os.path.isfile(out / name)
    saved = json.load(open(out / "results.json"))
    assert saved["meta"]["config_hash"] and saved["results"]["color"]["mot"]["idf1"] == row["mot"]["idf1"]
    assert "SOT DCF AUC" in res["table"]
    assert res["timings"]["color"]["mot"]["backbone"] > 0


def test_rerun_skips_done_items(local_run, tiny_roots):
    out, res = local_run
    again = evaluate(
        ["color"], TASKS, data="custom", roots=tiny_roots, out_root=str(out), progress=False, max_sequences=1
    )
    assert again["meta"]["n_skipped"] == again["meta"]["n_items"] == res["meta"]["n_items"]
    assert again["results"] == res["results"]


def test_bad_model_is_one_error_before_any_work(tiny_roots, tmp_path):
    # a missing checkpoint used to fail inside every work item; now nothing is run or written
    with pytest.raises(FileNotFoundError, match=r"--model resnet18:/no/such/checkpoint\.pth: .*does not exist"):
        evaluate(
            ["color", "resnet18:/no/such/checkpoint.pth"],
            ["mot"],
            data="custom",
            roots=tiny_roots,
            out_root=str(tmp_path / "out"),
            progress=False,
            max_sequences=1,
        )
    assert not (tmp_path / "out").exists()


def test_failing_item_is_reported_without_losing_others(tiny_roots, tmp_path):
    import shutil

    # a sequence whose frame cannot be decoded fails at run time, inside its work item only
    mot = tmp_path / "mot"
    shutil.copytree(tiny_roots["mot"], mot)
    seqs = sorted(p for p in (mot / "train").iterdir() if p.is_dir())
    first_frame = sorted((seqs[0] / "img1").iterdir())[0]
    first_frame.write_bytes(b"not an image")
    res = evaluate(
        ["color"],
        ["mot"],
        data="custom",
        roots={"mot": str(mot)},
        out_root=str(tmp_path / "out"),
        progress=False,
        max_sequences=2,
    )
    assert "error" in res["results"]["color"]["mot"]
    assert len(res["errors"]) == 1 and seqs[0].name in res["errors"][0]
    done = [p for p in (tmp_path / "out" / "items" / "color" / "mot").iterdir()]
    assert sorted(p.name for p in done) == sorted(p.name for p in seqs[:2])  # both folders, no partial ones
    ok = json.load(open(tmp_path / "out" / "items" / "color" / "mot" / seqs[1].name / "item.json"))
    assert ok["status"] == "ok"
    assert "error" in open(tmp_path / "out" / "results.md").read()


def test_unknown_task_and_missing_dataset_are_one_line_errors(tmp_path):
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-m", "unitrack", "eval", "--model", "color", "--tasks", "sot,bogus", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 2 and "unknown task(s) bogus" in out.stderr
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "unitrack",
            "eval",
            "--model",
            "color",
            "--tasks",
            "vos",
            "--davis",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 2 and "not found" in out.stderr and "nope" in out.stderr


@pytest.mark.ray
def test_ray_runner_gives_the_same_table(local_run, tiny_roots, tmp_path):
    pytest.importorskip("ray")
    _, res = local_run
    ray_res = evaluate(
        ["color"],
        TASKS,
        data="custom",
        roots=tiny_roots,
        out_root=str(tmp_path),
        progress=False,
        max_sequences=1,
        runner="ray",
    )
    assert ray_res["errors"] == []
    assert ray_res["table"] == res["table"]
    for task in TASKS:
        for key, v in res["results"]["color"][task].items():
            assert ray_res["results"]["color"][task][key] == pytest.approx(v, abs=1e-9), (task, key)


def test_default_representations_use_cached_imagenet_weights(tmp_path, monkeypatch):
    from unitrack.evaluation.cli_eval import default_models

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert default_models() == ["resnet18:random", "texture"]
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "resnet18-5c106cde.pth").write_bytes(b"placeholder")
    assert default_models() == ["resnet18", "resnet18:random", "texture"]
