"""The five-task evaluation platform: representations x tasks x sequences -> one Table-1-style table.

>>> from unitrack.evaluation import evaluate
>>> table = evaluate(["resnet18:random", "texture"], tasks=["sot", "vos"], data="synthetic", out_root="results/x")

Steps: resolve each task's dataset root (generating the built-in synthetic benchmark if asked), expand work items,
run them with a runner (local or Ray), aggregate each (representation, task) with the task's metric, and write
results.json / .csv / .md, config.json, and a radar plot when several representations are compared.
"""
from __future__ import annotations

import collections
import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence

from .report import correlations, radar_plot, read_accuracies, table_rows, text_table, write_reports
from .runners import run_items
from .workitems import WorkItem, config_hash, slug

ALL_TASKS = ("sot", "vos", "poseprop", "mot", "mots", "posetrack")


def parse_tasks(text: str) -> List[str]:
    tasks = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not tasks:
        raise ValueError("--tasks: expected a comma-separated list of tasks, got nothing")
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown:
        raise ValueError(f"--tasks: unknown task(s) {', '.join(unknown)}; expected any of {', '.join(ALL_TASKS)}")
    return list(dict.fromkeys(tasks))


def synthetic_roots(out_dir: str, tasks: Sequence[str], *, size: str = "small", seed: int = 0,
                    progress: bool = True) -> Dict[str, str]:
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
    if (man and man.get("seed") == seed and man.get("size") == size
            and (version is None or man.get("version") == version)
            and all(t in man.get("tasks", {}) for t in tasks)):
        return {t: os.path.join(out_dir, man["tasks"][t]["root"]) for t in tasks}
    paths = synthetic.generate_benchmark(out_dir, seed=seed, size=size, tasks=list(tasks), overwrite=True,
                                         progress=progress)
    return {t: str(paths[t]) for t in tasks}


def resolve_data(tasks: Sequence[str], data: str, roots: Optional[Dict[str, str]], cache_dir: str,
                 progress: bool = True) -> Dict[str, str]:
    """Dataset root per task. ``data="synthetic"`` generates the built-in benchmark under ``cache_dir`` once."""
    roots = dict(roots or {})
    if data in ("synthetic", "synthetic-tiny"):
        size = "tiny" if data == "synthetic-tiny" else "small"
        paths = synthetic_roots(os.path.join(cache_dir, f"synthetic-{size}"), tasks, size=size, progress=progress)
        for t in tasks:
            roots.setdefault(t, paths[t])
    elif data != "custom":
        raise ValueError(f"--data must be 'synthetic', 'synthetic-tiny' or 'custom' (with --otb/--davis/... "
                         f"folders), got {data!r}")
    missing = [t for t in tasks if t not in roots]
    if missing:
        raise ValueError(f"no dataset given for task(s) {', '.join(missing)}: pass --data synthetic or the "
                         f"dataset folder option(s) for them")
    for t in tasks:
        if not os.path.exists(roots[t]):
            raise FileNotFoundError(f"dataset for task {t!r} not found: {roots[t]}")
    return roots


def evaluate(models: Sequence[str], tasks: Sequence[str], *, data: str = "synthetic",
             roots: Optional[Dict[str, str]] = None, out_root: str = "results/eval", runner: str = "local",
             address: Optional[str] = None, force: bool = False, progress: bool = True, device: str = "cpu",
             task_config: Optional[Dict[str, Any]] = None, imagenet_acc: Optional[str] = None,
             max_sequences: Optional[int] = None) -> Dict[str, Any]:
    """Run every task for every representation and write the reports. Returns ``{"results", "paths", ...}``."""
    from .tasks import get_task

    if not models:
        raise ValueError("--model: give at least one representation")
    tasks = list(tasks)
    for t in tasks:
        get_task(t)  # unknown task -> error before any work
    os.makedirs(out_root, exist_ok=True)
    data_roots = resolve_data(tasks, data, roots, cache_dir=os.path.join(out_root, "data"), progress=progress)
    task_config = dict(task_config or {})
    items: List[WorkItem] = []
    for t in tasks:
        task = get_task(t)
        seqs = task.sequences(data_roots[t])
        if max_sequences:
            seqs = seqs[:max_sequences]
        cfg = json.dumps(task_config.get(t, {}), sort_keys=True)
        for m in models:
            items += [WorkItem(model=m, task=t, sequence=s, data_root=data_roots[t], config_json=cfg) for s in seqs]
    t0 = time.perf_counter()
    records = run_items(items, out_root, runner=runner, address=address, progress=progress, force=force,
                        device=device)
    wall = time.perf_counter() - t0

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

    config = {"models": list(models), "tasks": tasks, "data": data, "roots": data_roots, "task_config": task_config}
    meta = {"config": config, "config_hash": config_hash(config), "wall_seconds": wall, "timings": timings,
            "errors": errors, "n_items": len(items), "n_skipped": sum(bool(r.get("skipped")) for r in records)}
    paths = write_reports(out_root, results, tasks, meta)
    if len(models) > 1:
        png = radar_plot(results, tasks, os.path.join(out_root, "radar.png"))
        if png:
            paths["radar"] = png
    corr = None
    if imagenet_acc:
        corr = correlations(results, read_accuracies(imagenet_acc), tasks)
        with open(os.path.join(out_root, "correlations.json"), "w", encoding="utf-8") as f:
            json.dump(corr, f, indent=2)
        paths["correlations"] = os.path.join(out_root, "correlations.json")
    header, rows = table_rows(results, tasks)
    return {"results": results, "timings": timings, "errors": errors, "paths": paths, "meta": meta,
            "table": text_table(header, rows), "correlations": corr}
