"""Aggregated results: the Table-1-style table (JSON, CSV, Markdown), the radar plot and correlations."""
from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence

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
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def write_reports(out_root: str, results: Dict[str, Dict[str, Dict[str, Any]]], tasks: Sequence[str],
                  meta: Dict[str, Any]) -> Dict[str, str]:
    """Write results.json / results.csv / results.md (+ config.json) under ``out_root``; return their paths."""
    header, rows = table_rows(results, tasks)
    paths = {k: os.path.join(out_root, f"results.{k}") for k in ("json", "csv", "md")}
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2, sort_keys=True, default=str)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    with open(paths["csv"], "w", encoding="utf-8") as f:
        f.write(buf.getvalue())
    with open(paths["md"], "w", encoding="utf-8") as f:
        f.write(f"# unitrack evaluation\n\nconfig hash `{meta.get('config_hash')}`\n\n")
        f.write(markdown_table(header, rows) + "\n")
        timings = meta.get("timings")
        if timings:
            f.write("\n## Per-stage timings (ms per frame, mean)\n\n")
            th = ["representation / task"] + sorted({s for m in timings.values() for t in m.values() for s in t})
            trows = [[f"{m} / {t}"] + [_fmt(v.get(s)) for s in th[1:]] for m, tv in timings.items()
                     for t, v in tv.items()]
            f.write(markdown_table(th, trows) + "\n")
    with open(os.path.join(out_root, "config.json"), "w", encoding="utf-8") as f:
        json.dump(meta.get("config", {}), f, indent=2, sort_keys=True, default=str)
    return paths


def radar_plot(results: Dict[str, Dict[str, Dict[str, Any]]], tasks: Sequence[str], path: str,
               title: str = "unitrack: representations on five tracking tasks") -> Optional[str]:
    """Radar chart like the paper's Figure 1: one axis per metric column, each axis min-max scaled over the
    representations (so the plot compares representations, not absolute numbers). Returns the path, or None if
    fewer than three numeric axes are available."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = [c for c in COLUMNS if c[0] in tasks]
    models = list(results)
    data, names = [], []
    for task, key, title_c, higher in cols:
        vals = [results[m].get(task, {}).get(key) for m in models]
        if any(not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)) for v in vals):
            continue
        v = np.asarray(vals, dtype=float)
        if not higher:
            v = -v
        lo, hi = v.min(), v.max()
        data.append(np.full_like(v, 0.5) if hi - lo < 1e-12 else 0.15 + 0.85 * (v - lo) / (hi - lo))
        names.append(title_c)
    if len(names) < 3:
        return None
    data = np.stack(data, axis=1)  # [models, axes]
    angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False)
    fig = plt.figure(figsize=(7, 7))
    ax = fig.add_subplot(111, polar=True)
    for i, m in enumerate(models):
        vals = np.concatenate([data[i], data[i][:1]])
        ang = np.concatenate([angles, angles[:1]])
        ax.plot(ang, vals, linewidth=2, label=m)
        ax.fill(ang, vals, alpha=0.15)
    ax.set_xticks(angles)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_yticklabels([])
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def correlations(results: Dict[str, Dict[str, Dict[str, Any]]], accuracies: Dict[str, float],
                 tasks: Sequence[str]) -> List[Dict[str, Any]]:
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
            out.append({"metric": title, "n": len(xs), "pearson": float(stats.pearsonr(xs, ys)[0]),
                        "spearman": float(stats.spearmanr(xs, ys)[0])})
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
