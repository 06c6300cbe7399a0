"""``unitrack models``: list the built-in representations, or build one spec and show what it loaded.

Wire-up (in :mod:`unitrack.cli`): ``from unitrack.cli.models import add_parser; add_parser(sub)``.
"""

from __future__ import annotations

import argparse
import time

from .common import add_device_option

__all__ = ["add_parser"]


def _parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--size: expected HxW like 480x854, got {text!r}") from e
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"--size: H and W must be positive, got {text!r}")
    return h, w


def _cmd_models(args: argparse.Namespace) -> int:
    import torch

    from ..model.base import feature_size
    from ..model.builder import build_model, list_builtin_models

    if not args.spec:
        for spec, desc in list_builtin_models().items():
            print(f"{spec:18s} {desc}")
        print(
            "\nCheckpoints: ARCH:PATH[@layer4], crw:PATH, mocov2:PATH, ssib:PATH, uvc:PATH, timecycle:PATH, "
            "ssl:PATH (see unitrack.model.builder)."
        )
        return 0
    from .common import check_device

    model = build_model(args.spec, device=check_device(args.device))
    print(f"name: {model.name}")
    print(f"out_channels: {model.out_channels}")
    print(f"normalisation: mean {model.mean.flatten().tolist()} std {model.std.flatten().tolist()}")
    report = getattr(model, "load_report", None)
    if report is not None:
        print(report)
        if args.verbose:
            for label in ("skipped", "missing", "unexpected"):
                for key in getattr(report, label):
                    print(f"    {label}: {key}")
    if args.size is not None:
        h, w = args.size
        x = torch.zeros(1, 3, h, w, device=model.device)
        with torch.no_grad():
            model(x)  # warm-up
            t0 = time.perf_counter()
            out = model(x)
            if out.is_cuda:
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
        if tuple(out.shape[-2:]) != feature_size(h, w):
            raise RuntimeError(
                f"{model.name}: {h}x{w} gave a {tuple(out.shape[-2:])} map, expected {feature_size(h, w)} (stride 8)"
            )
        print(f"{h}x{w} -> {tuple(out.shape)} in {dt * 1000:.1f} ms")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``unitrack models [SPEC] [--size HxW] [--device D] [-v]`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "models",
        help="list built-in appearance models, or build SPEC and print its checkpoint load report",
        description="Without SPEC: list the built-in representations. With SPEC (e.g. resnet18:random, "
        "crw:/ckpt/crw.pth, resnet50:/ckpt/swav.pth@layer4, texture): build it and report what was "
        "loaded, skipped and missing.",
    )
    p.add_argument("spec", nargs="?", default=None, help="model spec NAME[:SOURCE][@OPTIONS]")
    p.add_argument("--size", type=_parse_size, default=None, help="also time one forward at HxW (e.g. 480x854)")
    add_device_option(p)
    p.add_argument("-v", "--verbose", action="store_true", help="list every skipped/missing/unexpected key")
    p.set_defaults(func=_cmd_models)
    return p
