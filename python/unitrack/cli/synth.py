"""``unitrack synth``: write the deterministic synthetic five-task benchmark (:mod:`unitrack.data.synthetic`) in the
standard dataset layouts; also ``python -m unitrack.data.synthetic``."""

from __future__ import annotations

import argparse
import sys

from ..data.synthetic import PRESETS, TASKS, generate_benchmark
from .common import add_out_option, add_progress_option, check_output_dir, run_command

__all__ = ["add_parser", "main"]


def _configure(p: argparse.ArgumentParser) -> None:
    add_out_option(p, required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", choices=sorted(PRESETS), default="small", help="preset (default small)")
    p.add_argument("--tasks", default=None, help=f"comma-separated subset of {','.join(TASKS)} (default all)")
    p.add_argument("--overwrite", action="store_true", help="replace existing task folders")
    add_progress_option(p)


def _run(args: argparse.Namespace) -> int:
    check_output_dir(args.out, "--out")  # before rendering anything: a file in the way, a read-only folder
    args.interrupt_note = "the partly written task folders were removed"
    paths = generate_benchmark(
        args.out,
        seed=args.seed,
        size=args.size,
        tasks=args.tasks,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    for k, v in paths.items():
        print(f"{k:10s} {v}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``synth`` subcommand (``unitrack synth --out DIR``) to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "synth",
        help="generate the deterministic synthetic benchmark (no download)",
        description="Generate the synthetic five-task benchmark in the standard layouts.",
    )
    _configure(p)
    p.set_defaults(func=_run)
    return p


def main(argv=None) -> int:
    """``python -m unitrack.data.synthetic --out DIR ...`` (also ``python -m unitrack.cli.synth``)."""
    p = argparse.ArgumentParser(
        prog="python -m unitrack.data.synthetic",
        description="Generate the synthetic five-task benchmark in the standard layouts.",
    )
    _configure(p)
    return run_command("python -m unitrack.data.synthetic", _run, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
