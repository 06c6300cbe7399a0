"""``unitrack vos``: semi-supervised VOS by mask propagation over a DAVIS-2017 split (indexed PNGs), optionally
scored with J&F."""

from __future__ import annotations

import argparse
import os

from ..heads.vos import VOSConfig
from .common import (
    add_device_option,
    add_model_option,
    add_out_option,
    add_progress_option,
    add_propagation_args,
    check_device,
    check_output_dir,
)

__all__ = ["add_parser"]


def _cmd_vos(args: argparse.Namespace) -> int:
    from ..evaluation.adapters.vos import run_davis
    from ..metrics.davis import evaluate_davis
    from ..model import build_model

    device = check_device(args.device or "cpu")
    if not os.path.isdir(args.davis_root):
        raise FileNotFoundError(f"--davis-root: folder not found: {args.davis_root!r}")
    check_output_dir(args.out, "--out")
    args.interrupt_note = f"sequences already finished in {args.out} are complete; rerun with --skip-existing"
    model = build_model(args.model, device=device)
    cfg = VOSConfig(temperature=args.temperature, topk=args.topk, radius=args.radius, n_context=args.n_context)
    seqs = args.sequences.split(",") if args.sequences else None
    run_davis(
        model,
        args.davis_root,
        args.out,
        split=args.split,
        config=cfg,
        sequences=seqs,
        progress=not args.no_progress,
        skip_existing=args.skip_existing,
    )
    if args.eval:
        res = evaluate_davis(args.out, args.davis_root, split=args.split, sequences=seqs, progress=not args.no_progress)
        print(res.table())
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``vos`` (DAVIS-2017 mask propagation, optional J&F evaluation) to an argparse subparsers object."""
    p = subparsers.add_parser("vos", help="DAVIS-2017 semi-supervised VOS by mask propagation (writes indexed PNGs)")
    p.add_argument("--davis-root", required=True, help="DAVIS folder with JPEGImages/480p, Annotations/480p, ImageSets")
    add_out_option(p, required=True, help="output folder: <out>/<seq>/%%05d.png")
    add_model_option(p, default="resnet18", help="default %(default)s")
    p.add_argument("--split", default="val", help="ImageSets/2017/<split>.txt (default val)")
    p.add_argument("--sequences", default="", help="comma-separated subset of sequences")
    add_device_option(p)
    add_propagation_args(p, VOSConfig())
    p.add_argument("--eval", action="store_true", help="compute J&F after running")
    p.add_argument("--skip-existing", action="store_true", help="skip sequences already written")
    add_progress_option(p)
    p.set_defaults(func=_cmd_vos)
    return p
