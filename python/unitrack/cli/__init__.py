"""Command line interface: ``unitrack <command>``, one module per subcommand.

::

    unitrack.cli.env        unitrack env         environment and build report
    unitrack.cli.eval       unitrack eval        representations x tasks -> one Table-1-style table
    unitrack.cli.track      unitrack track TASK  one head on your own video / frames folder
    unitrack.cli.eval_mot   unitrack eval-mot    MOT / MOTS / PoseTrack metrics of result files
    unitrack.cli.models     unitrack models      built-in representations, checkpoint load reports
    unitrack.cli.synth      unitrack synth       the synthetic five-task benchmark
    unitrack.cli.vos        unitrack vos         VOS over a DAVIS split (+ J&F)
    unitrack.cli.poseprop   unitrack poseprop    pose propagation over a JHMDB file list (+ PCK)

Every module provides ``add_parser(subparsers)``; they share one set of option helpers and one error-to-exit-code
path (:mod:`unitrack.cli.common`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, command) of every subcommand module providing ``add_parser(subparsers)``, in --help order.
SUBCOMMANDS = [
    ("unitrack.cli.env", "env"),
    ("unitrack.cli.eval", "eval"),
    ("unitrack.cli.track", "track"),
    ("unitrack.cli.eval_mot", "eval-mot"),
    ("unitrack.cli.models", "models"),
    ("unitrack.cli.synth", "synth"),
    ("unitrack.cli.vos", "vos"),
    ("unitrack.cli.poseprop", "poseprop"),
]


def _unavailable(name: str, exc: ImportError):
    def run(args: argparse.Namespace) -> int:
        raise RuntimeError(
            f"this command needs a module that failed to import ({exc}); "
            f"reinstall with: pip install --no-build-isolation -e ."
        )

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
    parser.add_argument(
        "--version",
        action="version",
        version=_version_line(__version__),
        help="print the unitrack and torch versions and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module, name in SUBCOMMANDS:
        try:
            importlib.import_module(module).add_parser(sub)
        except ImportError as exc:
            # A missing optional dependency must not take down the other commands (`unitrack env` above all).
            p = sub.add_parser(name, help=f"(unavailable: {exc})", add_help=False)
            p.set_defaults(func=_unavailable(name, exc), accepts_any_arguments=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``unitrack``: every outcome is a result or one line on stderr (see :mod:`unitrack.cli.common`);
    exit codes 0 ok, 1 some work failed, 2 bad input, 130 interrupted."""
    from .common import EXIT_INTERRUPTED, run_command

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
