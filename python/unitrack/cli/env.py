"""``unitrack env``: torch / CUDA / compiler / build report of this installation (paste it into bug reports)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def _cmd_env(args: argparse.Namespace) -> int:
    from unitrack_ext.collect_env import get_env_info

    print(get_env_info())
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``env`` to an argparse subparsers object."""
    p = subparsers.add_parser("env", help="print torch/CUDA/compiler/build information (paste it into bug reports)")
    p.set_defaults(func=_cmd_env)
    return p
