"""``unitrack eval``: run representations on the five tasks and print one Table-1-style table."""

from __future__ import annotations

import argparse
import os
import sys

from ..evaluation.platform import ALL_TASKS, parse_tasks
from ..tasks import TASKS
from .common import add_device_option, add_model_option, add_out_option, add_precision_option, add_progress_option

#: task -> the attribute of its dataset-root option (``--otb`` -> ``args.otb``), from the task table
DATASET_OPTIONS = {t.name: t.folder for t in TASKS}


def default_models() -> list[str]:
    """The built-in comparison: ImageNet ResNet-18 when its weights are in the torch hub cache, a random-init
    ResNet-18, and the training-free texture baseline -- all without any download."""
    from unitrack.model import imagenet_weights_available

    models = ["resnet18:random", "texture"]
    if imagenet_weights_available("resnet18"):
        models.insert(0, "resnet18")
    return models


def model_specs(args: argparse.Namespace) -> list[str]:
    from unitrack.model import compose_spec

    if not args.model:
        if args.weights or args.format != "auto" or args.layer is not None:
            raise ValueError("--weights/--format/--layer need a --model architecture (e.g. --model resnet50)")
        return default_models()
    specs = []
    for m in args.model:
        specs += [s.strip() for s in m.split(",") if s.strip()]
    if args.weights or args.format != "auto" or args.layer is not None:
        if len(specs) != 1:
            raise ValueError("--weights/--format/--layer apply to exactly one --model")
        specs = [compose_spec(specs[0], weights=args.weights, weights_format=args.format, layer=args.layer)]
    return specs


def _run(args: argparse.Namespace) -> int:
    from ..evaluation.platform import evaluate
    from .common import check_device, check_output_dir, check_precision, warn

    tasks = parse_tasks(args.tasks)
    roots = {t: getattr(args, opt) for t, opt in DATASET_OPTIONS.items() if getattr(args, opt)}
    data = args.data or ("custom" if roots else "synthetic")
    specs = model_specs(args)
    args.device = check_device(args.device)
    args.precision = check_precision(args.precision, args.device)
    check_output_dir(args.out, "--out")
    args.interrupt_note = (
        f"finished work items in {args.out} are kept and reused by the next run; the table was not written"
    )
    if not args.model:
        from unitrack.model import hub_checkpoint_dir, imagenet_weights_available

        where = hub_checkpoint_dir()
        if imagenet_weights_available("resnet18"):
            print(f"using ImageNet ResNet-18 weights found in the torch hub cache ({where})")
        else:
            print(
                f"note: no ImageNet ResNet-18 weights in the torch hub cache ({where}); nothing is downloaded, so "
                f"the built-in comparison is a random-init ResNet-18 and the training-free texture baseline"
            )
    print(f"representations: {', '.join(specs)}; tasks: {', '.join(tasks)}; data: {data}; precision: {args.precision}")
    out = evaluate(
        specs,
        tasks,
        data=data,
        roots=roots,
        out_root=args.out,
        runner=args.runner,
        address=args.address,
        force=args.force,
        progress=not args.no_progress,
        device=args.device,
        imagenet_acc=args.imagenet_acc,
        max_sequences=args.max_sequences,
        precision=args.precision,
    )
    print()
    print(out["table"])
    timings = out["timings"]
    if timings:
        print("\nper-stage timings (ms per frame, mean over sequences):")
        for m, per_task in timings.items():
            for t, stages in per_task.items():
                if stages:
                    print(f"  {m:24s} {t:10s} " + "  ".join(f"{k}={v:.1f}" for k, v in sorted(stages.items())))
    if out["correlations"]:
        print("\ncorrelation with ImageNet accuracy:")
        for c in out["correlations"]:
            p = "-" if c["pearson"] is None else f"{c['pearson']:+.2f}"
            s = "-" if c["spearman"] is None else f"{c['spearman']:+.2f}"
            print(f"  {c['metric']:20s} pearson {p}  spearman {s}  (n={c['n']})")
    for line in _group_errors(out["errors"]):
        print(f"unitrack eval: error: {line}", file=sys.stderr)
    for note in out.get("notes", []):
        warn("unitrack eval", note)
    print(
        f"\nresults: {os.path.abspath(args.out)} ({', '.join(sorted(out['paths']))}); "
        f"{out['meta']['n_items']} work items, {out['meta']['n_skipped']} reused, "
        f"{out['meta']['wall_seconds']:.1f} s"
    )
    return 1 if out["errors"] else 0


def _group_errors(errors: list[str]) -> list[str]:
    """``"model / task / sequence: message"`` lines -> one line per distinct message, naming where it happened."""
    groups: dict[str, list[str]] = {}
    for e in errors:
        where, sep, msg = e.partition(": ")
        groups.setdefault(" ".join(msg.split()) if sep else e, []).append(where if sep else "")
    out = []
    for msg, wheres in groups.items():
        wheres = [w for w in wheres if w]
        if len(wheres) > 1:
            out.append(f"{msg} ({len(wheres)} work items: {', '.join(wheres[:3])}{', ...' if len(wheres) > 3 else ''})")
        else:
            out.append(f"{wheres[0]}: {msg}" if wheres else msg)
    return out


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="evaluate representations on the five tracking tasks (Table 1)",
        description="Run every requested task for each representation and print one table like the paper's Table 1. "
        "With no dataset options the built-in synthetic benchmark is generated and used (no download).",
    )
    add_model_option(
        p,
        repeatable=True,
        help="repeatable or comma-separated. Default: the built-in representations "
        "(random-init ResNet-18 and the texture baseline, plus ImageNet ResNet-18 when its weights are in "
        "the torch hub cache)",
    )
    p.add_argument("--weights", help="checkpoint for --model (a local file; nothing is downloaded)")
    p.add_argument(
        "--format",
        default="auto",
        help="checkpoint layout: auto, torchvision, crw, mocov2, ssib, uvc, timecycle, ssl (default: auto-detect)",
    )
    p.add_argument("--layer", type=int, choices=(3, 4), help="output layer (3 = layer3, 4 = layer4; both stride 8)")
    p.add_argument("--tasks", default=",".join(ALL_TASKS), help=f"comma-separated subset of {','.join(ALL_TASKS)}")
    p.add_argument(
        "--data",
        choices=("synthetic", "synthetic-tiny", "custom"),
        help="synthetic (default without dataset folders) or custom (use the folders below)",
    )
    p.add_argument("--otb", help="OTB-2015 root (folder layout or with OTB2015.json) for sot")
    p.add_argument("--davis", help="DAVIS-2017 root for vos")
    p.add_argument("--jhmdb", help="JHMDB root (or file list) for poseprop")
    p.add_argument("--mot", help="MOTChallenge root for mot")
    p.add_argument("--mots", help="MOTS root for mots")
    p.add_argument("--posetrack", help="PoseTrack root for posetrack")
    add_out_option(p, default="results/eval", help="results folder (default: %(default)s)")
    p.add_argument("--runner", choices=("local", "ray"), default="local", help="where work items run")
    p.add_argument("--address", help="Ray cluster address for --runner ray (default: start a local Ray)")
    add_device_option(p)
    add_precision_option(p)
    p.add_argument("--force", action="store_true", help="re-run work items that are already done")
    p.add_argument("--max-sequences", type=int, help="use only the first N sequences of each task (quick runs)")
    p.add_argument(
        "--imagenet-acc",
        help="file of ImageNet linear-probe accuracies (name,acc lines or JSON) for "
        "Pearson/Spearman correlations (paper Fig. 6)",
    )
    add_progress_option(p)
    p.set_defaults(func=_run)
    return p
