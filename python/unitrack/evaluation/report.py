"""Aggregated results: the Table-1-style table (JSON, CSV, Markdown), the radar plot and correlations."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
from typing import Any, Dict, List, Optional, Sequence

from unitrack.data._atomic import atomic_write_text

# (task, metric key, column title, higher is better) -- the paper's Table 1 columns.
COLUMNS = [
    ("sot", "xcorr_auc", "SOT XCorr AUC", True),
    ("sot", "dcf_auc", "SOT DCF AUC", True),
    ("vos", "j_mean", "VOS J-mean", True),
    ("vos", "jf_mean", "VOS J&F", True),
    ("poseprop", "pck@0.1", "PoseProp PCK@0.1", True),
    ("poseprop", "pck@0.2", "PoseProp PCK@0.2", True),
    ("mot", "idf1", "MOT IDF1", True),
    ("mot", "hota", "MOT HOTA", True),
    ("mot", "mota", "MOT MOTA", True),
    ("mots", "idf1", "MOTS IDF1", True),
    ("mots", "hota", "MOTS HOTA", True),
    ("mots", "smotsa", "MOTS sMOTSA", True),
    ("posetrack", "idf1", "PoseTrack IDF1", True),
    ("posetrack", "mota", "PoseTrack MOTA", True),
    ("posetrack", "ids", "PoseTrack IDs", False),
]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.1f}"
    return str(v)


def table_rows(results: Dict[str, Dict[str, Dict[str, Any]]], tasks: Sequence[str]) -> tuple[list, list]:
    """``results[model][task]`` = metric dict (or ``{"error": msg}``) -> (header, rows) for the requested tasks."""
    cols = [c for c in COLUMNS if c[0] in tasks]
    header = ["representation"] + [c[2] for c in cols]
    rows = []
    for model, per_task in results.items():
        row = [model]
        for task, key, _, _ in cols:
            m = per_task.get(task, {})
            row.append("error" if "error" in m else _fmt(m.get(key)))
        rows.append(row)
    return header, rows


def markdown_table(header: list, rows: list) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header: list, rows: list) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(r):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


#: One line on what the built-in synthetic benchmark can and cannot tell (results.md, README).
BUILTIN_BENCHMARK_NOTE = (
    "The built-in synthetic benchmark is a smoke-and-sanity check: it tells whether a representation, the heads and "
    "the whole pipeline work end to end and shows large effects (random vs trained features, appearance used or "
    "not); it cannot predict OTB/DAVIS/JHMDB/MOT/PoseTrack scores (procedural textures without semantics, no "
    "deformation, shading or motion blur, simulated detections), and differences of a few points are noise."
)


def describe_model(spec: str, model: Any) -> str:
    """One line on what a representation is and where its weights came from (results.md)."""
    arch = getattr(model, "arch", None)
    if arch is None:
        kind = type(model).__name__
        return (
            f"{getattr(model, 'name', spec)} ({kind}: training-free, no weights)"
            if kind in ("TextureModel", "ColorStatsModel")
            else f"{getattr(model, 'name', spec)} ({kind})"
        )
    layer = getattr(model, "layer", "?")
    path = getattr(model, "weights_path", None)
    report = getattr(model, "load_report", None)
    if not path:
        return f"{arch} layer{layer}, random init (seeded), no weights"
    how = ""
    if report is not None:
        how = (
            f", format {report.format}, {len(report.loaded)} tensors loaded, {len(report.missing)} missing, "
            f"{len(report.unexpected)} unexpected"
        )
    return f"{arch} layer{layer}, weights {path}{how}"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str = "cpu") -> Dict[str, Any]:
    """The machine a run used: CPU model and core count, torch version and threads, the device (GPU name)."""
    import torch

    info: Dict[str, Any] = {
        "cpu": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    try:
        import unitrack_ext

        info["compiled_ops"] = bool(unitrack_ext.HAS_EXT)
        info["cpu_isa"] = unitrack_ext.cpu_isa() if unitrack_ext.HAS_EXT else "reference"
        info["bf16_native"] = unitrack_ext.bf16_native()
    except ImportError:
        info["compiled_ops"] = False
    except RuntimeError:  # UNITRACK_CPU_ISA asks for a level this CPU lacks: the ops say so when they run
        info["cpu_isa"] = "unusable UNITRACK_CPU_ISA"
    return info


def _precision_line(precision: str, machine: Dict[str, Any]) -> str:
    """``fp32``, or e.g. ``bf16 (backbone under autocast; ... native AMX-BF16)`` for results.md."""
    if precision == "fp32":
        return "fp32"
    ops = ""
    if precision == "bf16":
        if machine.get("bf16_native"):
            kind = "AMX-BF16 tiles" if machine.get("cpu_isa") == "amx" else "AVX512-BF16 vdpbf16ps"
            native = f"native ({kind})"
        else:
            native = "widened to float32 (no native bf16 here)"
        ops = f"; bf16 dot products in the propagation / XCorr ops {native}"
    return f"{precision} (backbone under autocast{ops}; RSM, DCF, softmax and top-K in float32)"


def _about_lines(meta: Dict[str, Any]) -> List[str]:
    """The "what was run" section of results.md: benchmark, sequences per task, representations, machine."""
    out: List[str] = []
    b = meta.get("benchmark") or {}
    if b.get("builtin"):
        fs = b.get("frame_size")
        size = f", frames {fs[0]}x{fs[1]} (HxW)" if fs else ""
        out.append(
            f"- **Benchmark:** {b.get('name')}, size `{b.get('size')}`, seed {b.get('seed')}, generator "
            f"version {b.get('version')}{size}, content sha256 `{str(b.get('content_sha256'))[:16]}` "
            f"(`{b.get('path')}`)"
        )
    elif b:
        roots = ", ".join(f"{t}: `{r}`" for t, r in (b.get("roots") or {}).items())
        out.append(f"- **Benchmark:** {b.get('name')} ({roots})")
    seqs = meta.get("sequences") or {}
    if seqs:
        limit = meta.get("max_sequences")
        lim = f" (limited to the first {limit} per task with --max-sequences)" if limit else ""
        out.append(
            f"- **Sequences per task**{lim}: "
            + "; ".join(f"{t} {len(v)} ({', '.join(v[:6])}{', ...' if len(v) > 6 else ''})" for t, v in seqs.items())
        )
    reps = meta.get("representations") or {}
    if reps:
        out.append("- **Representations:**")
        out += [f"  - `{m}`: {d}" for m, d in reps.items()]
    mach = meta.get("machine") or {}
    if "precision" in meta:
        out.append(f"- **Precision:** {_precision_line(meta['precision'], mach)}")
    if mach:
        gpu = f", GPU {mach['gpu']}" if mach.get("gpu") else ""
        out.append(
            f"- **Machine:** {mach.get('cpu')}, {mach.get('cpu_cores')} cores, torch {mach.get('torch')} "
            f"({mach.get('torch_threads')} threads, compiled ops: {'yes' if mach.get('compiled_ops') else 'no'})"
            f", device {mach.get('device')}{gpu}; {mach.get('os')}, Python {mach.get('python')}"
        )
    if "wall_seconds" in meta:
        out.append(
            f"- **Run:** {meta.get('n_items')} work items ({meta.get('n_skipped')} reused from an earlier run), "
            f"{meta['wall_seconds']:.1f} s, runner {meta.get('runner', 'local')}"
        )
    if b.get("builtin"):
        out.append("")
        out.append(f"*{BUILTIN_BENCHMARK_NOTE}*")
    return out


def write_reports(
    out_root: str, results: Dict[str, Dict[str, Dict[str, Any]]], tasks: Sequence[str], meta: Dict[str, Any]
) -> Dict[str, str]:
    """Write results.json / results.csv / results.md (+ config.json) under ``out_root`` (each atomically); return
    their paths. results.md states what was run (:func:`_about_lines`), the table and the per-stage timings."""
    header, rows = table_rows(results, tasks)
    paths = {k: os.path.join(out_root, f"results.{k}") for k in ("json", "csv", "md")}
    atomic_write_text(
        paths["json"], json.dumps({"meta": meta, "results": results}, indent=2, sort_keys=True, default=str)
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic_write_text(paths["csv"], buf.getvalue())
    md = ["# unitrack evaluation\n"]
    about = _about_lines(meta)
    if about:
        md += about + [""]
    md.append(f"config hash `{meta.get('config_hash')}`\n")
    md.append(markdown_table(header, rows))
    timings = meta.get("timings")
    if timings:
        md.append("\n## Per-stage timings (ms per frame, mean)\n")
        th = ["representation / task"] + sorted({s for m in timings.values() for t in m.values() for s in t})
        trows = [[f"{m} / {t}"] + [_fmt(v.get(s)) for s in th[1:]] for m, tv in timings.items() for t, v in tv.items()]
        md.append(markdown_table(th, trows))
    atomic_write_text(paths["md"], "\n".join(md) + "\n")
    config = dict(meta.get("config", {}))
    if "precision" in meta:
        config["precision"] = meta["precision"]
    atomic_write_text(os.path.join(out_root, "config.json"), json.dumps(config, indent=2, sort_keys=True, default=str))
    return paths


def radar_axes(results: Dict[str, Dict[str, Dict[str, Any]]], tasks: Sequence[str]):
    """What :func:`radar_plot` draws: ``(names, values [models, axes], lo, hi)`` -- the raw metric values (no
    per-axis rescaling) of every higher-is-better percentage column with a number for every representation, on one
    absolute scale from ``lo`` (0, or the multiple of 25 below a negative MOTA/sMOTSA) to ``hi`` = 100. None when
    fewer than three columns qualify."""
    import numpy as np

    cols = [c for c in COLUMNS if c[0] in tasks and c[3]]  # higher-is-better percentages only
    models = list(results)
    data, names = [], []
    for task, key, title_c, _ in cols:
        vals = [results[m].get(task, {}).get(key) for m in models]
        if any(not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)) for v in vals):
            continue
        data.append(np.asarray(vals, dtype=float))
        names.append(title_c)
    if len(names) < 3:
        return None
    values = np.stack(data, axis=1)
    lo = min(0.0, 25.0 * math.floor(float(values.min()) / 25.0))
    return names, values, lo, 100.0


def radar_title(models: Sequence[str], benchmark: Optional[str] = None) -> str:
    """``"a vs b vs c\\non <benchmark>"``: the compared representations and the benchmark."""
    return " vs ".join(models) + (f"\non {benchmark}" if benchmark else "")


def radar_plot(
    results: Dict[str, Dict[str, Dict[str, Any]]],
    tasks: Sequence[str],
    path: str,
    benchmark: Optional[str] = None,
    title: Optional[str] = None,
) -> Optional[str]:
    """Radar chart like the paper's Figure 1, on **absolute** axes: one spoke per percentage metric of the table,
    every spoke the same labelled scale (0 at the centre, 100 at the rim; lower when a MOTA/sMOTSA is negative), so
    52.7 vs 53.3 looks like the near-tie it is. Count columns (PoseTrack IDs) are not plotted (see the table). The
    title names the compared representations and ``benchmark``. Returns the path, or None if fewer than three
    metrics have a number for every representation. Raises ImportError when matplotlib (the ``plot`` extra) is
    missing; the file is written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(results)
    axes = radar_axes(results, tasks)
    if axes is None:
        return None
    names, data, lo, hi = axes
    angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False)
    fig = plt.figure(figsize=(8.5, 8))
    ax = fig.add_subplot(111, polar=True)
    ang = np.concatenate([angles, angles[:1]])
    for i, m in enumerate(models):
        vals = np.concatenate([data[i], data[i][:1]])
        ax.plot(ang, vals, linewidth=2, marker="o", markersize=4, label=m)
        ax.fill(ang, vals, alpha=0.12)
    ax.set_ylim(lo, hi)
    ticks = np.arange(lo, hi + 1e-9, 25.0)
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{t:g}" for t in ticks], fontsize=8, color="0.3")
    ax.set_rlabel_position(90 / len(names))
    ax.set_xticks(angles)
    ax.set_xticklabels(names, fontsize=8)
    ax.tick_params(axis="x", pad=10)
    if title is None:
        title = radar_title(models, benchmark)
    ax.set_title(title, fontsize=11, pad=24)
    scale = f"every axis absolute, {lo:g} (centre) to {hi:g} (rim), higher is better"
    fig.text(
        0.5,
        0.02,
        f"{scale}; PoseTrack IDs (a count) are in the table only"
        if any(c[0] == "posetrack" and not c[3] for c in COLUMNS if c[0] in tasks)
        else scale,
        ha="center",
        fontsize=8,
        color="0.3",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.04, 1.0), fontsize=9, title="representation", title_fontsize=9)
    from unitrack.data._atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", pad_inches=0.3)  # nothing cut: long labels, the legend
    plt.close(fig)
    return path


def correlations(
    results: Dict[str, Dict[str, Dict[str, Any]]], accuracies: Dict[str, float], tasks: Sequence[str]
) -> List[Dict[str, Any]]:
    """Pearson and Spearman correlation of each metric column with ImageNet linear-probe accuracy (paper Fig. 6).

    ``accuracies`` maps representation name -> top-1 accuracy. Columns with fewer than three representations having
    both numbers are reported with ``None``.
    """
    from scipy import stats

    out = []
    for task, key, title, _ in COLUMNS:
        if task not in tasks:
            continue
        xs, ys = [], []
        for m, acc in accuracies.items():
            v = results.get(m, {}).get(task, {}).get(key)
            if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                xs.append(float(acc))
                ys.append(float(v))
        if len(xs) >= 3 and len(set(xs)) > 1 and len(set(ys)) > 1:
            out.append(
                {
                    "metric": title,
                    "n": len(xs),
                    "pearson": float(stats.pearsonr(xs, ys)[0]),
                    "spearman": float(stats.spearmanr(xs, ys)[0]),
                }
            )
        else:
            out.append({"metric": title, "n": len(xs), "pearson": None, "spearman": None})
    return out


def read_accuracies(path: str) -> Dict[str, float]:
    """Read ``name,accuracy`` lines (CSV, optional header) or a JSON object ``{name: accuracy}``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--imagenet-acc: file not found: {path}")
    text = open(path, encoding="utf-8").read()
    if path.endswith(".json"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object {{representation: accuracy}}")
        return {str(k): float(v) for k, v in data.items()}
    acc = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2:
            raise ValueError(f"{path}:{lineno}: expected 'representation,accuracy', got {line!r}")
        try:
            acc[parts[0]] = float(parts[1])
        except ValueError:
            if lineno == 1:
                continue  # header
            raise ValueError(f"{path}:{lineno}: accuracy must be a number, got {parts[1]!r}") from None
    return acc
