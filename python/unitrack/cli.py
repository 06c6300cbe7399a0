"""Command line interface: ``unitrack <command>``."""
from __future__ import annotations

import argparse
import sys


def _cmd_env(args: argparse.Namespace) -> int:
    from unitrack_ext.collect_env import get_env_info

    print(get_env_info())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitrack", description="UniTrack: one appearance model, five tracking tasks")
    sub = parser.add_subparsers(dest="command", required=True)
    p_env = sub.add_parser("env", help="print torch/CUDA/compiler/build information (paste it into bug reports)")
    p_env.set_defaults(func=_cmd_env)
    from unitrack.data.synthetic import add_parser as add_synth
    from unitrack.evaluation.cli_eval import add_parser as add_eval

    from unitrack.metrics.cli_mot import add_parser as add_eval_mot
    from unitrack.cli_track import add_parser as add_track
    from unitrack.heads.poseprop import add_parser as add_poseprop
    from unitrack.heads.vos import add_parser as add_vos
    from unitrack.model.cli import add_parser as add_models

    add_eval(sub)
    add_track(sub)
    add_eval_mot(sub)
    add_models(sub)
    add_synth(sub)
    add_vos(sub)
    add_poseprop(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"unitrack {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
