"""Evaluation platform core: work items are idempotent, failures are recorded, reports are written."""

import json
import os

import pytest

from unitrack.evaluation import report
from unitrack.evaluation.tasks import register_task
from unitrack.evaluation.workitems import WorkItem, config_hash, execute_item, item_status


class _CountingTask:
    """A fake task: writes one file per sequence; fails on sequences named 'bad'."""

    def __init__(self):
        self.runs = 0

    def sequences(self, root):
        return ["a", "b"]

    def run(self, model, item, out_dir):
        self.runs += 1
        if item.sequence == "bad":
            raise RuntimeError("boom")
        with open(os.path.join(out_dir, "out.txt"), "w") as f:
            f.write(f"{model}:{item.sequence}")
        return {"timings": {"total": 1.0}}

    def evaluate(self, root, dirs):
        return {"idf1": 50.0 + len(dirs)}


@pytest.fixture()
def fake_task():
    task = _CountingTask()
    register_task("fake", task)
    return task


def test_config_hash_is_stable_and_order_free():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_items_are_skipped_when_done_and_rerun_when_config_changes(tmp_path, fake_task):
    cache = {"m": "model-object"}
    item = WorkItem(model="m", task="fake", sequence="a", data_root=str(tmp_path))
    rec = execute_item(item, str(tmp_path), model_cache=cache)
    assert rec["status"] == "ok" and not rec["skipped"]
    assert open(os.path.join(item.out_dir(str(tmp_path)), "out.txt")).read() == "model-object:a"
    rec2 = execute_item(item, str(tmp_path), model_cache=cache)
    assert rec2["skipped"] and fake_task.runs == 1
    changed = WorkItem(model="m", task="fake", sequence="a", data_root=str(tmp_path), config_json='{"x": 1}')
    assert item_status(changed, str(tmp_path)) is None
    execute_item(changed, str(tmp_path), model_cache=cache)
    assert fake_task.runs == 2


def test_a_failing_item_is_recorded_and_others_survive(tmp_path, fake_task):
    cache = {"m": object()}
    items = [WorkItem("m", "fake", s, str(tmp_path)) for s in ("a", "bad", "b")]
    recs = [execute_item(it, str(tmp_path), model_cache=cache) for it in items]
    assert [r["status"] for r in recs] == ["ok", "error", "ok"]
    assert "boom" in recs[1]["error"]
    saved = json.load(open(os.path.join(items[1].out_dir(str(tmp_path)), "item.json")))
    assert saved["status"] == "error"
    assert item_status(items[1], str(tmp_path)) is None  # a failed item is retried next time


def test_reports_and_table(tmp_path):
    results = {
        "resnet18:random": {"mot": {"idf1": 40.123, "hota": 30.0, "mota": 20.0}},
        "texture": {"mot": {"error": "1 of 2 sequence(s) failed"}},
    }
    paths = report.write_reports(str(tmp_path), results, ["mot"], {"config": {"a": 1}, "config_hash": "abc"})
    md = open(paths["md"]).read()
    assert "MOT IDF1" in md and "40.1" in md and "error" in md
    rows = open(paths["csv"]).read().splitlines()
    assert rows[0].startswith("representation,MOT IDF1,MOT HOTA,MOT MOTA")
    assert json.load(open(paths["json"]))["results"]["resnet18:random"]["mot"]["idf1"] == 40.123


def test_radar_plot_and_correlations(tmp_path):
    results = {f"m{i}": {"mot": {"idf1": 10.0 * i, "hota": 5.0 * i + 1, "mota": 30.0 - i}} for i in range(4)}
    png = report.radar_plot(results, ["mot"], str(tmp_path / "r.png"))
    assert png and os.path.getsize(png) > 1000
    acc_file = tmp_path / "acc.csv"
    acc_file.write_text("name,acc\nm0,50\nm1,60\nm2,70\nm3,80\n")
    corr = {c["metric"]: c for c in report.correlations(results, report.read_accuracies(str(acc_file)), ["mot"])}
    assert corr["MOT IDF1"]["pearson"] == pytest.approx(1.0)
    assert corr["MOT MOTA"]["spearman"] == pytest.approx(-1.0)


def test_read_accuracies_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        report.read_accuracies(str(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("m0,50\nm1,abc\n")
    with pytest.raises(ValueError, match="bad.csv:2"):
        report.read_accuracies(str(bad))
