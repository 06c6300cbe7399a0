"""The five-task evaluation platform: representations x tasks x sequences -> one Table-1-style table.

>>> from unitrack.evaluation import evaluate
>>> table = evaluate(["resnet18:random", "texture"], tasks=["sot", "vos"], data="synthetic", out_root="results/x")

Steps: check every input up front (task names, dataset folders, the runner, the accuracies file, and every
representation, which is built once: a bad spec or checkpoint is one error before any work, not one per work item),
resolve each task's dataset root (generating the built-in synthetic benchmark if asked), expand work items, run them
with a runner (local or Ray), aggregate each (representation, task) with the task's metric, and write
results.json / .csv / .md and config.json first, then a radar plot when several representations are compared (skipped
with a note when matplotlib, the ``plot`` extra, is missing).
"""

from __future__ import annotations

import collections
import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence

from ..tasks import TASK_NAMES, TASKS
from .report import (
    correlations,
    describe_model,
    machine_info,
    radar_plot,
    read_accuracies,
    table_rows,
    text_table,
    write_reports,
)
from .runners import run_items
from .workitems import WorkItem, config_hash, model_key

#: The tasks of the task table (:data:`unitrack.tasks.TASKS`), in canonical order.
ALL_TASKS = TASK_NAMES


def parse_tasks(text: str) -> List[str]:
    tasks = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not tasks:
        raise ValueError("--tasks: expected a comma-separated list of tasks, got nothing")
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown:
        raise ValueError(f"--tasks: unknown task(s) {', '.join(unknown)}; expected any of {', '.join(ALL_TASKS)}")
    return list(dict.fromkeys(tasks))


def synthetic_roots(
    out_dir: str, tasks: Sequence[str], *, size: str = "small", seed: int = 0, progress: bool = True
) -> Dict[str, str]:
    """Dataset roots of the built-in synthetic benchmark under ``out_dir``, generated once and then reused
    (regenerated when the recorded seed/size/generator version differ or a task is missing)."""
    from unitrack.data import synthetic

    manifest_path = os.path.join(out_dir, "MANIFEST.json")
    try:
        with open(manifest_path, encoding="utf-8") as f:
            man = json.load(f)
    except (OSError, ValueError):
        man = None
    version = getattr(synthetic, "GENERATOR_VERSION", None)
    if (
        man
        and man.get("seed") == seed
        and man.get("size") == size
        and (version is None or man.get("version") == version)
        and all(t in man.get("tasks", {}) for t in tasks)
    ):
        return {t: os.path.join(out_dir, man["tasks"][t]["root"]) for t in tasks}
    paths = synthetic.generate_benchmark(
        out_dir, seed=seed, size=size, tasks=list(tasks), overwrite=True, progress=progress
    )
    return {t: str(paths[t]) for t in tasks}


def resolve_data(
    tasks: Sequence[str], data: str, roots: Optional[Dict[str, str]], cache_dir: str, progress: bool = True
) -> Dict[str, str]:
    """Dataset root per task. ``data="synthetic"`` generates the built-in benchmark under ``cache_dir`` once."""
    roots = dict(roots or {})
    if data in ("synthetic", "synthetic-tiny"):
        size = "tiny" if data == "synthetic-tiny" else "small"
        paths = synthetic_roots(os.path.join(cache_dir, f"synthetic-{size}"), tasks, size=size, progress=progress)
        for t in tasks:
            roots.setdefault(t, paths[t])
    elif data != "custom":
        raise ValueError(
            f"--data must be 'synthetic', 'synthetic-tiny' or 'custom' (with --otb/--davis/... folders), got {data!r}"
        )
    check_roots(tasks, roots)
    return roots


#: task -> the ``unitrack eval`` option naming its dataset folder
DATASET_OPTIONS = {t.name: t.option for t in TASKS}


def check_roots(tasks: Sequence[str], roots: Dict[str, str]) -> None:
    """Every task has a dataset root and it exists (FileNotFoundError / ValueError naming the option otherwise)."""
    missing = [t for t in tasks if t not in roots]
    if missing:
        raise ValueError(
            f"no dataset given for task(s) {', '.join(missing)}: pass --data synthetic or the dataset "
            f"folder option(s) {', '.join(DATASET_OPTIONS[t] for t in missing)}"
        )
    for t in tasks:
        if not os.path.exists(roots[t]):
            raise FileNotFoundError(f"dataset for task {t!r} not found: {DATASET_OPTIONS.get(t, t)} {roots[t]}")


def build_models(models: Sequence[str], device: str = "cpu", precision: str = "fp32") -> Dict[str, Any]:
    """Build every representation once, before any work: a bad spec, a missing or unreadable checkpoint, ImageNet
    weights that are not in the hub cache, an unavailable device or a precision it cannot run is one error naming
    the spec or the option. Returns ``{spec: model}`` (the local runner reuses them)."""
    from unitrack.model import build_model, check_device, check_precision

    check_device(device, "--device")
    check_precision(precision, device, "--precision")
    built: Dict[str, Any] = {}
    for m in models:
        if m in built:
            continue
        try:
            built[m] = build_model(m, device=device, precision=precision)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"--model {m}: {' '.join(str(exc).split())}") from None
        except ValueError as exc:
            raise ValueError(f"--model {m}: {' '.join(str(exc).split())}") from None
        except (RuntimeError, OSError, TypeError, AssertionError) as exc:
            raise RuntimeError(f"--model {m}: {' '.join(str(exc).split()) or type(exc).__name__}") from None
    return built


def _benchmark_info(data: str, cache_dir: str, roots: Dict[str, str]) -> Dict[str, Any]:
    """What was evaluated: the synthetic benchmark's name, size, seed, generator version and content hash (from its
    MANIFEST.json), or the dataset folders."""
    if data in ("synthetic", "synthetic-tiny"):
        size = "tiny" if data == "synthetic-tiny" else "small"
        info: Dict[str, Any] = {"name": "unitrack built-in synthetic benchmark", "builtin": True, "size": size}
        try:
            with open(os.path.join(cache_dir, f"synthetic-{size}", "MANIFEST.json"), encoding="utf-8") as f:
                man = json.load(f)
            info.update(
                seed=man.get("seed"),
                version=man.get("version"),
                frame_size=man.get("frame_size"),
                content_sha256=man.get("content_sha256"),
            )
        except (OSError, ValueError):
            pass
        info["path"] = os.path.abspath(os.path.join(cache_dir, f"synthetic-{size}"))
        return info
    return {"name": "custom datasets", "builtin": False, "roots": dict(roots)}


def _check_inputs(
    models: Sequence[str], tasks: Sequence[str], runner: str, max_sequences: Optional[int]
) -> tuple[List[str], List[str]]:
    """The checks of :func:`evaluate` that need no file, model or dataset: returns the models (duplicates dropped)
    and the tasks."""
    from .tasks import get_task

    if not models:
        raise ValueError("--model: give at least one representation")
    models = list(dict.fromkeys(models))
    tasks = list(tasks)
    if not tasks:
        raise ValueError("--tasks: give at least one task")
    for t in tasks:
        get_task(t)  # unknown task -> error before any work
    if max_sequences is not None and int(max_sequences) < 1:
        raise ValueError(f"--max-sequences: expected a positive number, got {max_sequences}")
    if runner not in ("local", "ray"):
        raise ValueError(f"--runner must be 'local' or 'ray', got {runner!r}")
    if runner == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise RuntimeError(
                "--runner ray needs Ray, the optional ray extra: pip install --no-build-isolation -e "
                "'.[ray]' (or pip install ray)"
            ) from None
    return models, tasks


def _work_items(
    models: Sequence[str],
    tasks: Sequence[str],
    data_roots: Dict[str, str],
    task_config: Dict[str, Any],
    max_sequences: Optional[int],
    precision: str = "fp32",
) -> tuple[List[WorkItem], Dict[str, List[str]]]:
    """Every (representation x task x sequence) work item, and the sequences of each task."""
    from .tasks import get_task

    items: List[WorkItem] = []
    sequences: Dict[str, List[str]] = {}
    for t in tasks:
        seqs = list(get_task(t).sequences(data_roots[t]))
        if not seqs:
            raise ValueError(
                f"no sequences for task {t!r} in {DATASET_OPTIONS.get(t, t)} {data_roots[t]}; expected "
                f"a dataset in the standard layout"
            )
        if max_sequences:
            seqs = seqs[:max_sequences]
        sequences[t] = seqs
        cfg = json.dumps(task_config.get(t, {}), sort_keys=True)
        for m in models:
            items += [
                WorkItem(model=m, task=t, sequence=s, data_root=data_roots[t], config_json=cfg, precision=precision)
                for s in seqs
            ]
    return items, sequences


def _aggregate(
    items: Sequence[WorkItem],
    records: Sequence[Dict[str, Any]],
    models: Sequence[str],
    data_roots: Dict[str, str],
    out_root: str,
) -> tuple[dict, dict, List[str]]:
    """``(results[model][task], timings[model][task][stage], errors)``: each (representation, task) scored with the
    task's metric over its finished items (or marked failed), and the mean per-stage timings."""
    from .tasks import get_task

    by_mt: Dict[tuple, list] = collections.defaultdict(list)
    for it, rec in zip(items, records):
        by_mt[(it.model, it.task)].append((it, rec))
    results: Dict[str, Dict[str, Dict[str, Any]]] = {m: {} for m in models}
    timings: Dict[str, Dict[str, Dict[str, float]]] = {m: {} for m in models}
    errors: List[str] = []
    for (m, t), pairs in by_mt.items():
        bad = [(it, r) for it, r in pairs if r.get("status") != "ok"]
        for it, r in bad:
            errors.append(f"{m} / {t} / {it.sequence}: {r.get('error')}")
        good = {it.sequence: it.out_dir(out_root) for it, r in pairs if r.get("status") == "ok"}
        if bad:
            results[m][t] = {"error": f"{len(bad)} of {len(pairs)} sequence(s) failed"}
        else:
            try:
                results[m][t] = get_task(t).evaluate(data_roots[t], good)
            except Exception as exc:  # metric failure is reported like an item failure
                results[m][t] = {"error": f"{type(exc).__name__}: {exc}"}
                errors.append(f"{m} / {t} / evaluation: {type(exc).__name__}: {exc}")
        stage_sums: Dict[str, list] = collections.defaultdict(list)
        for _, r in pairs:
            for stage, ms in (r.get("timings") or {}).items():
                stage_sums[stage].append(ms)
        timings[m][t] = {s: sum(v) / len(v) for s, v in stage_sums.items()}
    return results, timings, errors


def _write_extras(
    out_root: str,
    results: dict,
    tasks: Sequence[str],
    models: Sequence[str],
    benchmark: dict,
    accuracies: Optional[dict],
    paths: dict,
    notes: List[str],
) -> Optional[list]:
    """After the table: correlations with ImageNet accuracy (when given) and the radar plot (several
    representations; skipped with a note without matplotlib). Adds their paths to ``paths``."""
    corr = None
    if accuracies is not None:
        from unitrack.data._atomic import atomic_write_text

        corr = correlations(results, accuracies, tasks)
        paths["correlations"] = os.path.join(out_root, "correlations.json")
        atomic_write_text(paths["correlations"], json.dumps(corr, indent=2))
    if len(models) > 1:
        bench = (
            f"synthetic-{benchmark['size']} (seed {benchmark.get('seed')})"
            if benchmark["builtin"]
            else "custom datasets"
        )
        try:
            png = radar_plot(results, tasks, os.path.join(out_root, "radar.png"), benchmark=bench)
        except ImportError:
            png = None
            notes.append(
                "radar plot skipped: it needs matplotlib, the optional plot extra "
                "(pip install --no-build-isolation -e '.[plot]', or pip install matplotlib); "
                "the table and results.{md,csv,json} are complete"
            )
        if png:
            paths["radar"] = png
    return corr


def evaluate(
    models: Sequence[str],
    tasks: Sequence[str],
    *,
    data: str = "synthetic",
    roots: Optional[Dict[str, str]] = None,
    out_root: str = "results/eval",
    runner: str = "local",
    address: Optional[str] = None,
    force: bool = False,
    progress: bool = True,
    device: str = "cpu",
    task_config: Optional[Dict[str, Any]] = None,
    imagenet_acc: Optional[str] = None,
    max_sequences: Optional[int] = None,
    precision: str = "fp32",
) -> Dict[str, Any]:
    """Run every task for every representation and write the reports.

    ``precision`` (``"fp32"`` default, ``"bf16"``, ``"fp16"`` on CUDA only) is the numeric precision of every model
    and head (:mod:`unitrack.model.precision`); it is part of each work item (its hash and folder) and recorded in
    ``item.json``, ``config.json`` and ``results.*``.

    Every input is checked before any work (module docstring); errors are raised as ValueError /
    FileNotFoundError / RuntimeError naming the option. Returns ``{"results", "timings", "errors", "notes",
    "paths", "meta", "table", "correlations"}``; ``notes`` are one-line remarks for the user (e.g. a plot skipped
    because matplotlib is missing).
    """
    models, tasks = _check_inputs(models, tasks, runner, max_sequences)
    accuracies = read_accuracies(imagenet_acc) if imagenet_acc else None
    if data == "custom" or roots:
        check_roots([t for t in tasks if t in (roots or {}) or data == "custom"], dict(roots or {}))
    model_cache = build_models(models, device, precision)
    cache_dir = os.path.join(out_root, "data")
    os.makedirs(out_root, exist_ok=True)
    data_roots = resolve_data(tasks, data, roots, cache_dir=cache_dir, progress=progress)
    task_config = dict(task_config or {})
    items, sequences = _work_items(models, tasks, data_roots, task_config, max_sequences, precision)
    representations = {m: describe_model(m, model_cache[m]) for m in models}
    model_cache = {model_key(m, precision): model for m, model in model_cache.items()}
    if runner != "local":
        model_cache = {}  # remote workers build their own
    t0 = time.perf_counter()
    records = run_items(
        items,
        out_root,
        runner=runner,
        address=address,
        progress=progress,
        force=force,
        device=device,
        model_cache=model_cache,
    )
    wall = time.perf_counter() - t0
    results, timings, errors = _aggregate(items, records, models, data_roots, out_root)

    config = {"models": list(models), "tasks": tasks, "data": data, "roots": data_roots, "task_config": task_config}
    if precision != "fp32":  # fp32 runs keep the config hash they had before precisions existed
        config["precision"] = precision
    benchmark = _benchmark_info(data, cache_dir, data_roots)
    meta = {
        "config": config,
        "config_hash": config_hash(config),
        "wall_seconds": wall,
        "timings": timings,
        "errors": errors,
        "n_items": len(items),
        "n_skipped": sum(bool(r.get("skipped")) for r in records),
        "benchmark": benchmark,
        "sequences": sequences,
        "max_sequences": max_sequences,
        "representations": representations,
        "machine": machine_info(device),
        "runner": runner,
        "precision": precision,
    }
    notes: List[str] = []
    paths = write_reports(out_root, results, tasks, meta)  # the table first: nothing after this can lose it
    corr = _write_extras(out_root, results, tasks, models, benchmark, accuracies, paths, notes)
    header, rows = table_rows(results, tasks)
    return {
        "results": results,
        "timings": timings,
        "errors": errors,
        "notes": notes,
        "paths": paths,
        "meta": meta,
        "table": text_table(header, rows),
        "correlations": corr,
    }
