"""Same-run speed comparison of two or more builds of `unitrack_ext._C` (e.g. the portable stable-ABI build against
an old -march=native build), interleaved round by round on every op shape of benchmarks/.

    python benchmarks/compare_builds.py --build native=/tmp/native_pkg --build portable=. [--build avx2=.:avx2] \
        [--rounds 5] [--reps 5]

Each --build is NAME=DIR[:ISA]: DIR holds the package `unitrack_ext` (with its compiled _C) and is put first on
PYTHONPATH of a fresh worker process; ISA sets UNITRACK_CPU_ISA for it. Two builds cannot share one process (both
register the `unitrack` op namespace), so every round starts one worker per build, in alternating order, and each
worker reports the median of --reps timed calls per shape. The table shows per shape the median over rounds of each
build's time and its ratio to the first build (< 1: faster). Exit status 1 when --max-ratio is given and exceeded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

WORKER = r"""
import json, statistics, sys, time
import torch
import unitrack_ext
from unitrack_ext import ops
assert unitrack_ext.HAS_EXT, unitrack_ext.EXT_ERROR
import os
_want = os.path.realpath(sys.argv[3])
_got = os.path.realpath(os.path.dirname(os.path.dirname(unitrack_ext.__file__)))
if _got != _want:  # e.g. an editable install of the working tree shadowing DIR: the comparison would be void
    raise SystemExit(f"unitrack_ext was imported from {_got}, not from the build directory {_want}")
reps = int(sys.argv[1])
if int(sys.argv[2]) > 0:
    torch.set_num_threads(int(sys.argv[2]))
g = torch.Generator().manual_seed(0)

def sets(n, lo, hi, C=256):
    sizes = torch.randint(lo, hi + 1, (n,), generator=g).tolist()
    return [torch.randn(s, C, generator=g).relu() for s in sizes]

H, W, C, T, L = 60, 107, 256, 6, 4
q = torch.nn.functional.normalize(torch.randn(C, H, W, generator=g), dim=0)
k = torch.nn.functional.normalize(torch.randn(T, C, H, W, generator=g), dim=1)
lab = torch.softmax(torch.randn(T, L, H, W, generator=g), dim=1)
box20 = (sets(20, 40, 40), sets(20, 40, 40))
box30 = (sets(30, 40, 40), sets(30, 40, 40))
box50 = (sets(50, 40, 40), sets(50, 40, 40))
mask30 = (sets(30, 1, 200), sets(30, 1, 200))
sot_s = torch.randn(3, 256, 65, 65, generator=g).relu(); sot_t = torch.randn(256, 14, 14, generator=g).relu()
sot_cl = sot_s.contiguous(memory_format=torch.channels_last)
big_s = torch.randn(3, 64, 96, 96, generator=g).relu(); big_t = torch.randn(64, 32, 32, generator=g).relu()
tiny_t = torch.randn(256, 3, 3, generator=g).relu()
sot64 = (sot_s.double(), sot_t.double())

def with_method(m, fn):
    import os
    def run():
        os.environ["UNITRACK_XCORR_METHOD"] = m
        try:
            return fn()
        finally:
            os.environ.pop("UNITRACK_XCORR_METHOD", None)
    return run

shapes = {
    "topk_propagate davis 60x107 T6 C256": lambda: ops.topk_propagate(
        q, k, lab, topk=10, temperature=0.05, radius=12.0, n_global=1
    ),
    "rsm box N=M=20": lambda: ops.rsm(*box20),
    "rsm box N=M=30 (associate)": lambda: ops.rsm(*box30),
    "rsm box N=M=50": lambda: ops.rsm(*box50),
    "rsm mask N=M=30": lambda: ops.rsm(*mask30),
    "xcorr sot 3x256x65x65*14x14": lambda: ops.xcorr(sot_s, sot_t),
    "xcorr sot channels-last": lambda: ops.xcorr(sot_cl, sot_t),
    "xcorr sot fft": with_method("fft", lambda: ops.xcorr(sot_s, sot_t)),
    "xcorr sot float64": lambda: ops.xcorr(*sot64),
    "xcorr 3x3 template (rows)": lambda: ops.xcorr(sot_s, tiny_t),
    "xcorr large 32x32 over 96x96": lambda: ops.xcorr(big_s, big_t),
}
out = {}
for name, fn in shapes.items():
    fn(); fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    out[name] = statistics.median(ts)
print(json.dumps(out))
"""


def run_worker(path: str, isa: str | None, reps: int, root: str, threads: int = 0) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([path, os.path.join(root, "python")])
    env.pop("UNITRACK_CPU_ISA", None)
    if isa:
        env["UNITRACK_CPU_ISA"] = isa
    res = subprocess.run(
        [sys.executable, "-c", WORKER, str(reps), str(threads), path],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=1800,
    )
    if res.returncode != 0:
        raise SystemExit(f"worker for {path} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", required=True, help="NAME=DIR[:ISA]; the first is the baseline")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads in the workers (0: default)")
    ap.add_argument("--max-ratio", type=float, default=None, help="fail if any build/shape ratio exceeds this")
    args = ap.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    builds = []
    for spec in args.build:
        name, _, rest = spec.partition("=")
        path, _, isa = rest.partition(":")
        builds.append((name, os.path.abspath(path), isa or None))
    times: dict[str, dict[str, list[float]]] = {b[0]: {} for b in builds}
    for r in range(args.rounds):
        order = builds if r % 2 == 0 else builds[::-1]
        for name, path, isa in order:
            for shape, t in run_worker(path, isa, args.reps, root, args.threads).items():
                times[name].setdefault(shape, []).append(t)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    base = builds[0][0]
    shapes = list(times[base])
    header = (
        f"{'shape':38s}"
        + "".join(f"{b[0]:>14s}" for b in builds)
        + "".join(f"{b[0] + '/' + base:>16s}" for b in builds[1:])
    )
    print(header)
    worst = 0.0
    for s in shapes:
        med = {b[0]: statistics.median(times[b[0]][s]) for b in builds}
        row = f"{s:38s}" + "".join(f"{med[b[0]] * 1e3:12.2f}ms" for b in builds)
        for b in builds[1:]:
            ratio = med[b[0]] / med[base]
            worst = max(worst, ratio)
            row += f"{ratio:16.3f}"
        print(row)
    print(
        f"(medians over {args.rounds} interleaved rounds of {args.reps} calls; {os.cpu_count()} cpus, "
        f"torch threads {args.threads or 'default'})"
    )
    if args.max_ratio is not None and worst > args.max_ratio:
        print(f"FAIL: worst ratio {worst:.3f} > {args.max_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
