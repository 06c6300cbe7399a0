"""``unitrack poseprop``: pose propagation over the videos of a JHMDB file list, scored with PCK@0.1..0.5."""

from __future__ import annotations

import argparse
import os

from ..heads.poseprop import PosePropConfig
from .common import add_device_option, add_model_option, add_progress_option, add_propagation_args, check_device

__all__ = ["add_parser"]


def _cmd_poseprop(args: argparse.Namespace) -> int:
    from ..evaluation.adapters.poseprop import run_jhmdb
    from ..metrics.pck import evaluate_pck
    from ..model import build_model

    device = check_device(args.device or "cpu")
    if not os.path.isfile(args.filelist):
        raise FileNotFoundError(f"--filelist: file not found: {args.filelist!r}")
    model = build_model(args.model, device=device)
    cfg = PosePropConfig(temperature=args.temperature, topk=args.topk, radius=args.radius, n_context=args.n_context)
    preds, gts = run_jhmdb(
        model, args.filelist, config=cfg, crop_size=args.crop_size, limit=args.limit, progress=not args.no_progress
    )
    res = evaluate_pck(preds, gts)
    for thr, v in res["pck"].items():
        print(f"PCK@{thr:.1f}: {v:.2f}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``poseprop`` (JHMDB pose propagation + PCK) to an argparse subparsers object."""
    p = subparsers.add_parser("poseprop", help="JHMDB pose propagation and PCK@0.1..0.5")
    p.add_argument("--filelist", required=True, help="text file, one '<joint_positions.mat> <frames dir>' per line")
    add_model_option(p, default="resnet18", help="default %(default)s")
    add_device_option(p)
    p.add_argument(
        "--crop-size",
        type=int,
        default=320,
        help="frames are resized to this square size, joints scaled to match (default: %(default)s)",
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N videos")
    add_propagation_args(p, PosePropConfig())
    add_progress_option(p)
    p.set_defaults(func=_cmd_poseprop)
    return p
