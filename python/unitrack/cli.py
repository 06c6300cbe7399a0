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


def _version_line(version: str) -> str:
    import torch

    try:
        import unitrack_ext

        ops = "compiled ops" if unitrack_ext.HAS_EXT else "pure-PyTorch ops (no compiled _C)"
    except ImportError:
        ops = "unitrack_ext missing"
    return f"unitrack {version} (torch {torch.__version__}, {ops})"


def command_name(args: argparse.Namespace) -> str:
    """``"unitrack eval"``, ``"unitrack track sot"``, ...: the prefix of the command's one-line messages."""
    name = f"unitrack {args.command}"
    task = getattr(args, "task", None) if args.command == "track" else None
    return f"{name} {task}" if task else name


def build_parser() -> argparse.ArgumentParser:
    from unitrack import __version__

    parser = argparse.ArgumentParser(prog="unitrack", description="UniTrack: one appearance model, five tracking tasks")
    parser.add_argument("--version", action="version", version=_version_line(__version__),
                        help="print the unitrack and torch versions and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    """Entry point of ``unitrack``: every outcome is a result or one line on stderr (see :mod:`unitrack.cli_common`);
    exit codes 0 ok, 1 some work failed, 2 bad input, 130 interrupted."""
    from unitrack.cli_common import EXIT_INTERRUPTED, run_command

    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while torch is still being imported
        print("unitrack: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if extra and not getattr(args, "accepts_any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return run_command(command_name(args), args.func, args)


if __name__ == "__main__":
    sys.exit(main())
