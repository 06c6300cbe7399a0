"""Command line interface: ``unitrack <command>``."""
from __future__ import annotations

import argparse
import importlib
import sys

# (module, help) of every subcommand module providing ``add_parser(subparsers)``, in --help order.
SUBCOMMANDS = [
    ("unitrack.evaluation.cli_eval", "eval"),
    ("unitrack.cli_track", "track"),
    ("unitrack.metrics.cli_mot", "eval-mot"),
    ("unitrack.model.cli", "models"),
    ("unitrack.data.synthetic", "synth"),
    ("unitrack.heads.vos", "vos"),
    ("unitrack.heads.poseprop", "poseprop"),
]


def _cmd_env(args: argparse.Namespace) -> int:
    from unitrack_ext.collect_env import get_env_info

    print(get_env_info())
    return 0


def _unavailable(name: str, exc: ImportError):
    def run(args: argparse.Namespace) -> int:
        raise RuntimeError(f"this command needs a module that failed to import ({exc}); "
                           f"reinstall with: pip install --no-build-isolation -e .")

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitrack", description="UniTrack: one appearance model, five tracking tasks")
    sub = parser.add_subparsers(dest="command", required=True)
    p_env = sub.add_parser("env", help="print torch/CUDA/compiler/build information (paste it into bug reports)")
    p_env.set_defaults(func=_cmd_env)
    for module, name in SUBCOMMANDS:
        try:
            importlib.import_module(module).add_parser(sub)
        except ImportError as exc:
            # A missing optional dependency must not take down the other commands (`unitrack env` above all).
            p = sub.add_parser(name, help=f"(unavailable: {exc})", add_help=False)
            p.set_defaults(func=_unavailable(name, exc), accepts_any_arguments=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"unitrack {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
