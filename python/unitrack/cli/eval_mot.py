"""``unitrack eval-mot``: evaluate MOTChallenge / MOTS results and print a table.

Wire-up (in :mod:`unitrack.cli`): ``from unitrack.cli.eval_mot import add_parser; add_parser(sub)``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .common import add_progress_option, run_command


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


def run(args: argparse.Namespace) -> int:
    """Entry point of ``eval-mot``; returns the exit code."""
    from ..metrics.mot import evaluate_mot_benchmark, format_table

    seqs = args.seqs.split(",") if args.seqs else None
    if args.format == "posetrack":
        from ..metrics.posetrack import evaluate_posetrack_dirs, format_posetrack_table

        res = evaluate_posetrack_dirs(
            args.gt, args.results, poseval_quirks=not args.no_poseval_quirks, progress=not args.no_progress
        )
        print(format_posetrack_table(res))
        if args.json:
            from ..data._atomic import atomic_write_text

            atomic_write_text(args.json, json.dumps(_jsonable(res), indent=1))
        return 0
    if args.format == "mots":
        from ..metrics.mots import evaluate_mots_benchmark

        res = evaluate_mots_benchmark(
            args.gt,
            args.results,
            split=args.split,
            seqs=seqs,
            first_frame=args.first_frame,
            progress=not args.no_progress,
        )
    else:
        res = evaluate_mot_benchmark(
            args.gt,
            args.results,
            benchmark=args.benchmark,
            split=args.split,
            preproc=args.preproc,
            seqs=seqs,
            progress=not args.no_progress,
        )
    print(format_table(res))
    if args.json:
        from ..data._atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(_jsonable(res), indent=1))
        print(f"full results written to {args.json}", file=sys.stderr)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``eval-mot`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "eval-mot",
        help="evaluate MOT/MOTS tracking results (HOTA, CLEAR, Identity; sMOTSA) like TrackEval",
        description="Evaluate MOTChallenge box (or MOTS mask) results against ground truth and print a table. "
        "GT layout: GT/<split>/<seq>/{seqinfo.ini,gt/gt.txt} (also GT/<BENCH>-<split>/<seq> or "
        "GT/<seq>); results: RESULTS/<seq>.txt (or RESULTS/data/<seq>.txt).",
    )
    p.add_argument("--gt", required=True, help="ground-truth root folder")
    p.add_argument("--results", required=True, help="folder with one <seq>.txt per sequence")
    p.add_argument(
        "--benchmark",
        default="MOT17",
        choices=["MOT15", "MOT16", "MOT17", "MOT20"],
        help="decides the preprocessing (never applied to MOT15); default MOT17",
    )
    p.add_argument("--split", default="train", help="split sub-folder (default train); '' for none")
    p.add_argument(
        "--preproc",
        dest="preproc",
        action="store_true",
        default=True,
        help="MOTChallenge preprocessing: drop tracker boxes on distractors, keep pedestrian gt (default on)",
    )
    p.add_argument("--no-preproc", dest="preproc", action="store_false", help="disable the preprocessing")
    p.add_argument(
        "--format",
        default="mot",
        choices=["mot", "mots", "posetrack"],
        help="box txt (mot), RLE mask txt (mots) or PoseTrack json folders (posetrack: --gt and "
        "--results are folders of per-sequence json files, poseval MOTA)",
    )
    p.add_argument(
        "--no-poseval-quirks",
        action="store_true",
        help="posetrack: keep the last frame and count empty frames correctly (see metrics/posetrack)",
    )
    p.add_argument("--first-frame", type=int, default=1, help="MOTS: number of the first frame (0 for KITTI-MOTS)")
    p.add_argument("--seqs", default="", help="comma-separated subset of sequences")
    p.add_argument("--json", default="", help="also write all fields of all sequences to this json file")
    add_progress_option(p)
    p.set_defaults(func=run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Stand-alone ``python -m unitrack.cli.eval_mot eval-mot ...`` (errors and exit codes as ``unitrack``)."""
    parser = argparse.ArgumentParser(prog="unitrack")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return run_command(f"unitrack {args.command}", args.func, args)


if __name__ == "__main__":
    sys.exit(main())
