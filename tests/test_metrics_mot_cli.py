"""`unitrack eval-mot` subcommand (argparse wiring via add_parser)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from test_metrics_mot_gen import make_mot_case, make_mots_case
from unitrack.data.mots import write_mots_txt
from unitrack.metrics.cli_mot import add_parser, main
from unitrack.metrics.mot import evaluate_mot_sequence


def _layout(tmp_path, name, n, write_gt, write_res):
    d = tmp_path / "gt" / "train" / name
    (d / "gt").mkdir(parents=True)
    (d / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength={n}\nimWidth=1920\nimHeight=1080\n")
    write_gt(d / "gt" / "gt.txt")
    (tmp_path / "res").mkdir(exist_ok=True)
    write_res(tmp_path / "res" / f"{name}.txt")


def test_add_parser_wires_func():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_parser(sub)
    args = p.parse_args(["eval-mot", "--gt", "g", "--results", "r", "--no-preproc", "--benchmark", "MOT20"])
    assert callable(args.func) and args.preproc is False and args.benchmark == "MOT20" and args.format == "mot"


def test_eval_mot_prints_table(tmp_path, capsys):
    c = make_mot_case(seed=2, num_frames=12, switches=[(0, 6)])
    _layout(
        tmp_path,
        "MOT17-02",
        12,
        lambda p: np.savetxt(p, c.gt, delimiter=",", fmt="%g"),
        lambda p: np.savetxt(p, c.tracker, delimiter=",", fmt="%g"),
    )
    out_json = tmp_path / "res.json"
    rc = main(
        [
            "eval-mot",
            "--gt",
            str(tmp_path / "gt"),
            "--results",
            str(tmp_path / "res"),
            "--no-progress",
            "--json",
            str(out_json),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    header = text.splitlines()[0].split()
    assert header[:4] == ["sequence", "HOTA", "DetA", "AssA"] and "IDF1" in header
    row = [ln for ln in text.splitlines() if ln.startswith("MOT17-02")][0].split()
    ref = evaluate_mot_sequence(c.gt, c.tracker, 12)
    assert float(row[header.index("MOTA")]) == pytest.approx(100 * ref["CLEAR"]["MOTA"], abs=1e-3)
    assert int(row[header.index("IDSW")]) == ref["CLEAR"]["IDSW"] == 1
    assert any(ln.startswith("COMBINED") for ln in text.splitlines())
    data = json.loads(out_json.read_text())
    assert data["MOT17-02"]["CLEAR"]["IDSW"] == 1


def test_eval_mot_mots_format(tmp_path, capsys):
    gt, tr, n = make_mots_case(4, fps=1)
    _layout(tmp_path, "MOTS20-02", n, lambda p: write_mots_txt(p, gt), lambda p: write_mots_txt(p, tr))
    rc = main(
        [
            "eval-mot",
            "--gt",
            str(tmp_path / "gt"),
            "--results",
            str(tmp_path / "res"),
            "--format",
            "mots",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert "sMOTSA" in capsys.readouterr().out.splitlines()[0]


def test_eval_mot_missing_results_is_an_error(tmp_path, capsys):
    c = make_mot_case(seed=2, num_frames=5)
    _layout(tmp_path, "MOT17-04", 5, lambda p: np.savetxt(p, c.gt, delimiter=",", fmt="%g"), lambda p: None)
    rc = main(["eval-mot", "--gt", str(tmp_path / "gt"), "--results", str(tmp_path / "res"), "--no-progress"])
    assert rc == 2
    assert "MOT17-04" in capsys.readouterr().err
