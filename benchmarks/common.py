"""Shared methodology of the ``benchmarks/`` suites: budgets are ratios, every run records where it ran.

Rules every benchmark here follows (see ``README`` section "Benchmarks" of the repository):

* **Budgets are ratios against a same-run baseline**, never absolute milliseconds tuned to one machine: the fused op
  against its pure-PyTorch reference, a head stage against the backbone forward of the same frame, a kernel against
  ATen doing the same work (a GEMM of the same multiply-adds, ``grid_sample`` of the same bilinear samples). Both
  sides are timed in the same process, **interleaved round by round** (:func:`interleaved_medians`), so that load
  drifting on a shared machine hits both alike; the budget is asserted on the ratio of the medians
  (:func:`check_ratio`), and both times and the ratio are recorded in the run's JSON.
* **Every run saves its metadata next to the numbers**: ``benchmarks/conftest.py`` adds :func:`run_metadata`
  (machine, CPU model, cores, load, torch and its threads, the op layer's ISA level and compiled kernels, the git
  commit) to pytest-benchmark's ``machine_info``, which is written into every saved run
  (``make bench`` saves to ``results/bench/``); ratio checks add their numbers to the benchmark's ``extra_info``.
* Warm-up before timing, CUDA synchronised inside the timed region, seeded inputs, medians (with the interquartile
  range as the spread) over several rounds.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Sequence

import torch

__all__ = ["interleaved_medians", "check_ratio", "run_metadata", "git_commit", "isa_level", "gemm_workload", "sync"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sync(device: Any = None) -> None:
    """Wait for the device's queued work (CUDA): call inside the timed region of GPU work."""
    if torch.cuda.is_available() and (device is None or torch.device(device).type == "cuda"):
        torch.cuda.synchronize()


def interleaved_medians(
    fns: Sequence[Callable[[], object]], rounds: int, warmup: int = 1, device: Any = "cpu"
) -> list[dict[str, float]]:
    """Time every callable ``rounds`` times, round by round (``fns[0]``, ``fns[1]``, ..., then again), after
    ``warmup`` untimed calls each; CUDA is synchronised inside the timed region when ``device`` is CUDA.

    Returns per callable ``{"median_s", "iqr_s", "min_s", "rounds"}``."""
    cuda = torch.device(device).type == "cuda"
    for fn in fns:
        for _ in range(warmup):
            fn()
    if cuda:
        sync(device)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            if cuda:
                sync(device)
            times[i].append(time.perf_counter() - t0)
    out = []
    for t in times:
        q = statistics.quantiles(t, n=4) if len(t) >= 2 else [t[0], t[0], t[0]]
        out.append({"median_s": statistics.median(t), "iqr_s": q[2] - q[0], "min_s": min(t), "rounds": len(t)})
    return out


def check_ratio(
    benchmark,
    name: str,
    candidate_s: float,
    baseline_s: float,
    *,
    max_ratio: float,
    baseline: str,
    candidate: str = "candidate",
) -> float:
    """Record ``candidate / baseline`` (and both times) in the benchmark's ``extra_info`` under ``name`` and assert
    it is at most ``max_ratio`` (a speed-up target ``S`` is ``max_ratio = 1 / S``). Returns the ratio."""
    ratio = candidate_s / baseline_s
    info = {
        f"{name}.{candidate}_ms": round(candidate_s * 1e3, 4),
        f"{name}.{baseline}_ms": round(baseline_s * 1e3, 4),
        f"{name}.ratio": round(ratio, 4),
        f"{name}.max_ratio": max_ratio,
    }
    if benchmark is not None:
        benchmark.extra_info.update(info)
    print(
        f"\n[{name}] {candidate} {candidate_s * 1e3:.2f} ms / {baseline} {baseline_s * 1e3:.2f} ms = {ratio:.3f} "
        f"(budget <= {max_ratio:g}; {1 / ratio:.2f}x)"
    )
    assert ratio <= max_ratio, (
        f"{name}: {candidate} takes {ratio:.3f}x the time of {baseline} in the same run (budget {max_ratio:g}x)"
    )
    return ratio


def gemm_workload(
    macs: float, device: Any = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[Callable[[], object], float]:
    """A dense yardstick for work of ``macs`` multiply-adds: ``(fn, scale)`` where ``fn`` runs one ``torch.mm`` of
    ``[1024, 1024] x [1024, n]`` and ``scale * time(fn)`` is the time ATen's GEMM needs for exactly ``macs``. Time
    ``fn`` interleaved with the candidate (:func:`interleaved_medians`)."""
    n = max(1, round(macs / (1024 * 1024)))
    g = torch.Generator().manual_seed(0)
    a = torch.randn(1024, 1024, generator=g, dtype=dtype).to(device)
    b = torch.randn(1024, n, generator=g, dtype=dtype).to(device)
    return (lambda: torch.mm(a, b)), macs / (1024 * 1024 * n)


def git_commit() -> str:
    """Short hash of the repository's HEAD, ``-dirty`` when tracked files differ from it, ``unknown`` outside git."""
    try:
        head = subprocess.check_output(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, stderr=subprocess.DEVNULL
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    try:
        dirty = subprocess.check_output(
            ["git", "status", "--porcelain", "-uno"], cwd=ROOT, text=True, stderr=subprocess.DEVNULL
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return head
    return f"{head}-dirty" if dirty else head


def isa_level() -> str:
    """The op layer's CPU ISA level when ``unitrack_ext`` reports one (an attribute such as ``ISA_LEVEL``), else
    ``"unknown"``."""
    try:
        import unitrack_ext
    except ImportError:
        return "unknown"
    for name in ("ISA_LEVEL", "isa_level", "CPU_ISA", "cpu_isa", "ISA"):
        value = getattr(unitrack_ext, name, None)
        if value is not None:
            try:
                return str(value() if callable(value) else value)
            except Exception:  # an attribute that cannot report: keep looking
                continue
    return "unknown"


def _build_simd() -> Optional[str]:
    """The ``simd:`` line of the compiled op library's build report (the -march it was built for), if any."""
    try:
        import unitrack_ext

        if not unitrack_ext.HAS_EXT:
            return None
        for line in str(torch.ops.unitrack._build_info()).splitlines():
            if line.strip().startswith("simd:"):
                return line.split(":", 1)[1].strip()
    except Exception:
        return None
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_metadata(device: Any = "cpu") -> dict[str, Any]:
    """Where and how a run was measured: time, commit, machine, CPU, load, Python / torch / numpy / OpenCV versions,
    torch's thread count, the op layer's ISA level, build SIMD and compiled kernels, and the CUDA device."""
    import numpy as np

    meta: dict[str, Any] = {
        "timestamp_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "isa_level": isa_level(),
        "build_simd": _build_simd(),
        "device": str(device),
    }
    try:
        meta["load_avg_1m"], meta["load_avg_5m"], meta["load_avg_15m"] = os.getloadavg()
    except (OSError, AttributeError):
        pass
    try:
        import cv2

        meta["opencv"], meta["opencv_num_threads"] = cv2.__version__, cv2.getNumThreads()
    except ImportError:
        pass
    try:
        import unitrack_ext

        meta["compiled_ops"] = bool(unitrack_ext.HAS_EXT)
        meta["compiled_kernels"] = {
            op: {d: bool(v) for d, v in devs.items()} for op, devs in unitrack_ext.compiled_kernels.items()
        }
    except Exception:
        meta["compiled_ops"] = False
    if torch.cuda.is_available():
        meta["cuda_device"] = torch.cuda.get_device_name()
        meta["cuda_version"] = torch.version.cuda
    return meta


# ---- peak extra memory of one call, measured in a fresh process ----------------------------------------------------
class PeakRss:
    """``with PeakRss() as m: work()`` then ``m.result()``: the peak resident memory the block added to the process
    (peak RSS minus the RSS at entry, in MB). On Linux the peak counter (VmHWM) is reset at entry
    (``/proc/self/clear_refs``), so earlier peaks (imports, inputs) do not count; where it cannot be reset the
    process's lifetime peak (``ru_maxrss``) is used and ``reset`` says so."""

    @staticmethod
    def _status_kb(field: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"/proc/self/status has no {field}")

    def __enter__(self) -> "PeakRss":
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.base_kb = self._status_kb("VmRSS")
        return self

    def __exit__(self, *exc) -> None:
        import resource

        self.peak_kb = self._status_kb("VmHWM") if self.reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def result(self) -> dict[str, Any]:
        return dict(
            base_kb=self.base_kb, peak_kb=self.peak_kb, extra_mb=(self.peak_kb - self.base_kb) / 1024, reset=self.reset
        )


def run_json_script(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` (Python source) in a fresh interpreter with the repository and benchmarks/ importable, and
    return the JSON object its last output line prints (a measurement that must not see this process's memory)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    paths = [root, os.path.join(root, "python"), os.path.dirname(os.path.abspath(__file__)), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    res = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])
