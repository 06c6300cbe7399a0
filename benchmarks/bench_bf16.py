"""bfloat16 against float32 (issue #15 point 5): same-run, interleaved ratios (methodology: ``benchmarks/common.py``).

* ``test_backbone``: ResNet-18 layer3 at stride 8 (channels-last, as ``AppearanceModel`` runs on the CPU) at 480x854
  and 1088x608, ``precision="bf16"`` against ``"fp32"``. Budget: at least 1.8x faster where the CPU computes bf16
  natively (AVX512-BF16 / AMX-BF16: ``unitrack.model.precision.bf16_native``); elsewhere the backbone runs float32
  for bf16, so at most 10 % slower.
* ``test_fused_ops``: each fused op at its realistic size with bf16 features against float32 features:
  ``topk_propagate`` at DAVIS size, ``xcorr`` at the SOT size (NCHW search and channels-last search) -- at least
  1.5x faster where the op layer computes bf16 natively (``unitrack_ext.bf16_native()``: the amx or avx512bf16
  level); ``rsm`` (bf16 widened at the entry, float32 inside by design) and every op at a level without native
  bf16 -- at most 10 % slower.
* ``test_fused_ops_without_native_bf16``: the same ops in a worker process forced to ``UNITRACK_CPU_ISA=avx512``
  and ``avx2`` (bf16 widened to float32 while packing): at most 10 % slower than float32 there.
* ``test_fused_ops_avx512bf16``: the same at the ``avx512bf16`` level (vdpbf16ps), at least 1.5x faster, where that
  level is chosen automatically (skipped on CPUs whose vdpbf16ps is slower than float32 FMAs, such as this project's).
* ``test_whole_frames``: one frame of every task head at its realistic size, fp32 and bf16 heads alternating frame by
  frame on the same frames, with the heads' per-stage timings (``extra_info`` and printed). Budget: a bf16 frame is
  not slower than an fp32 one (where bf16 is native).

    UNITRACK_BENCH_THREADS=1 PYTHONPATH=.:python python -m pytest -q benchmarks/bench_bf16.py --benchmark-only -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import unitrack_ext
from common import check_ratio, interleaved_medians
from unitrack.model import AppearanceModel
from unitrack.model.precision import bf16_native
from unitrack_ext import ops

pytestmark = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="benchmarks the compiled kernels")

BACKBONE_SPEEDUP = 1.8
OPS_SPEEDUP = 1.5
NOT_SLOWER = 1.10  # bf16 without native support: at most 10 % slower than float32
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------------------------------- backbone


@pytest.mark.parametrize("hw", [(480, 854), (608, 1088)], ids=["480x854", "608x1088"])
@pytest.mark.benchmark(group="bf16-backbone")
def test_backbone(benchmark, hw):
    m32 = AppearanceModel("resnet18", 3)
    m16 = AppearanceModel("resnet18", 3, precision="bf16")
    x = torch.randn(1, 3, *hw, generator=torch.Generator().manual_seed(0))

    def run(m):
        with torch.no_grad():
            return m(x)

    f32, f16 = run(m32), run(m16)
    cos = torch.nn.functional.cosine_similarity(f16.float(), f32, dim=1)
    benchmark.extra_info["cosine_mean"] = float(cos.mean())
    benchmark.extra_info["cosine_min"] = float(cos.min())
    a, b = interleaved_medians([lambda: run(m32), lambda: run(m16)], rounds=5)
    benchmark.pedantic(lambda: run(m16), rounds=1, iterations=1)
    native = bf16_native("cpu")
    benchmark.extra_info["bf16_native"] = native
    check_ratio(
        benchmark,
        f"backbone-{hw[0]}x{hw[1]}",
        b["median_s"],
        a["median_s"],
        max_ratio=1 / BACKBONE_SPEEDUP if native else NOT_SLOWER,
        candidate="bf16",
        baseline="fp32",
    )


# ----------------------------------------------------------------------------------------------------- fused ops

OPS_WORKER = r"""
import json, os, sys, statistics, time, torch
if os.environ.get("UNITRACK_BENCH_THREADS"):
    torch.set_num_threads(int(os.environ["UNITRACK_BENCH_THREADS"]))
sys.path.insert(0, sys.argv[1])
from bench_bf16 import op_cases
from common import interleaved_medians
out = {}
for name, (f32, f16) in op_cases().items():
    a, b = interleaved_medians([f32, f16], rounds=int(sys.argv[2]))
    out[name] = [a["median_s"], b["median_s"]]
import unitrack_ext
print(json.dumps({"isa": unitrack_ext.cpu_isa(), "times": out}))
"""


def op_cases() -> dict:
    """``{name: (float32 call, bf16 call)}`` at the realistic sizes of the op benchmarks."""
    g = torch.Generator().manual_seed(0)
    H, W, C, T, L = 60, 107, 256, 6, 4
    q = torch.nn.functional.normalize(torch.randn(C, H, W, generator=g), dim=0)
    k = torch.nn.functional.normalize(torch.randn(T, C, H, W, generator=g), dim=1)
    lab = torch.softmax(torch.randn(T, L, H, W, generator=g), dim=1)
    qb, kb = q.bfloat16(), k.bfloat16()
    s = torch.randn(3, 256, 65, 65, generator=g).relu()
    t = torch.randn(256, 14, 14, generator=g).relu()
    s_cl = s.contiguous(memory_format=torch.channels_last)
    sb, tb, sb_cl = s.bfloat16(), t.bfloat16(), s_cl.bfloat16()
    tr = [torch.randn(40, 256, generator=g).relu() for _ in range(30)]
    de = [torch.randn(40, 256, generator=g).relu() for _ in range(30)]
    trb, deb = [x.bfloat16() for x in tr], [x.bfloat16() for x in de]

    def topk(a, b):
        return lambda: ops.topk_propagate(a, b, lab, topk=10, temperature=0.05, radius=12.0, n_global=1)

    return {
        "topk_propagate davis 60x107 T6 C256": (topk(q, k), topk(qb, kb)),
        "xcorr sot 3x256x65x65*14x14": (lambda: ops.xcorr(s, t), lambda: ops.xcorr(sb, tb)),
        "xcorr sot channels-last search": (lambda: ops.xcorr(s_cl, t), lambda: ops.xcorr(sb_cl, tb)),
        "rsm box N=M=30 (widened, float32 inside)": (lambda: ops.rsm(tr, de), lambda: ops.rsm(trb, deb)),
    }


@pytest.mark.parametrize("name", list(op_cases()))
@pytest.mark.benchmark(group="bf16-ops")
def test_fused_ops(benchmark, name):
    f32, f16 = op_cases()[name]
    a, b = interleaved_medians([f32, f16], rounds=5)
    benchmark.pedantic(f16, rounds=1, iterations=1)
    native = unitrack_ext.bf16_native() and not name.startswith("rsm")
    benchmark.extra_info["isa"] = unitrack_ext.cpu_isa()
    check_ratio(
        benchmark,
        name,
        b["median_s"],
        a["median_s"],
        max_ratio=1 / OPS_SPEEDUP if native else NOT_SLOWER,
        candidate="bf16",
        baseline="fp32",
    )


def _forced_level_ratios(benchmark, level: str) -> dict:
    """``{op case: bf16 / fp32}`` measured in a worker process forced to ``UNITRACK_CPU_ISA=level`` (skips where the
    CPU lacks the level)."""
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    order = [lv.strip() for lv in str(torch.ops.unitrack._cpu_isa_built()).split(",")]  # the build's levels, in order
    if order.index(level) > order.index(supported):
        pytest.skip(f"this CPU supports up to {supported}")
    env = dict(os.environ, UNITRACK_CPU_ISA=level)
    res = subprocess.run(
        [sys.executable, "-c", OPS_WORKER, os.path.dirname(os.path.abspath(__file__)), "7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["isa"] == level
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    ratios = {}
    for name, (t32, t16) in out["times"].items():
        ratios[name] = t16 / t32
        print(f"  {level}: {name}: fp32 {t32 * 1e3:.1f} ms, bf16 {t16 * 1e3:.1f} ms, ratio {t16 / t32:.3f}")
        benchmark.extra_info[f"{name}.ratio"] = round(t16 / t32, 4)
    benchmark.extra_info["worst_ratio"] = round(max(ratios.values()), 4)
    return ratios


@pytest.mark.parametrize("level", ["avx512", "avx2"])
@pytest.mark.benchmark(group="bf16-ops-not-native")
def test_fused_ops_without_native_bf16(benchmark, level):
    worst = max(_forced_level_ratios(benchmark, level).values())
    assert worst <= NOT_SLOWER, f"at {level}, bf16 takes {worst:.3f}x the float32 time (budget {NOT_SLOWER})"


@pytest.mark.benchmark(group="bf16-ops-avx512bf16")
def test_fused_ops_avx512bf16(benchmark):
    """The vdpbf16ps kernels: at least 1.5x faster than float32 (``rsm``: not slower), on a CPU where the level is
    chosen automatically (no AMX, and vdpbf16ps at >= 1.25x the float32 multiply-add rate: ``bf16_dot_rate``)."""
    if os.environ.get("UNITRACK_CPU_ISA") or unitrack_ext.cpu_isa() != "avx512bf16":
        rate = float(torch.ops.unitrack._bf16_dot_rate())
        pytest.skip(
            f"the avx512bf16 level is not chosen automatically here (level {unitrack_ext.cpu_isa()}; vdpbf16ps does "
            f"{rate:.2f}x the float32 multiply-adds per second; correctness at that level: tests/test_bf16_ops.py)"
        )
    for name, ratio in _forced_level_ratios(benchmark, "avx512bf16").items():
        budget = NOT_SLOWER if name.startswith("rsm") else 1 / OPS_SPEEDUP
        assert ratio <= budget, f"at avx512bf16, {name}: bf16 takes {ratio:.3f}x the float32 time (budget {budget:.3f})"


# ----------------------------------------------------------------------------------------------------- whole frames


def _scene(T: int, H: int, W: int, n: int, seed: int = 0):
    """``T`` textured uint8 RGB frames with ``n`` moving rectangles, and their per-frame tlwh boxes ``[n, 4]``."""
    rng = np.random.default_rng(seed)
    wh = np.c_[rng.uniform(0.03, 0.06, n) * W, rng.uniform(0.1, 0.25, n) * H]
    x0, y0 = rng.uniform(0, W - wh[:, 0]), rng.uniform(0, H - wh[:, 1])
    v = rng.normal(0, 3, (n, 2))
    colors = rng.integers(0, 255, (n, 3), dtype=np.uint8)
    bg = rng.integers(60, 140, (H // 8 + 1, W // 8 + 1, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)[:H, :W]
    frames, boxes = [], []
    for t in range(T):
        img = bg.copy()
        b = np.c_[np.clip(x0 + v[:, 0] * t, 0, W - wh[:, 0]), np.clip(y0 + v[:, 1] * t, 0, H - wh[:, 1]), wh]
        for k in range(n):
            x, y, w, h = b[k].astype(int)
            img[y : y + h, x : x + w] = colors[k]
            img[y : y + h : 4, x : x + w] //= 2  # some texture
        frames.append(img)
        boxes.append(b)
    return frames, boxes


def _heads(task: str, model, frames, boxes):
    """``(head, step(t))`` of ``task`` initialised on frame 0 (``step`` tracks frame ``t``)."""
    from unitrack.heads.mot import MOTHead
    from unitrack.heads.mots import MOTSHead
    from unitrack.heads.poseprop import PosePropagator
    from unitrack.heads.posetrack import PoseTrackHead
    from unitrack.heads.sot import make_tracker
    from unitrack.heads.vos import VOSTracker

    H, W = frames[0].shape[:2]
    if task in ("sot-xcorr", "sot-dcf"):
        head = make_tracker(model, task[4:])
        head.init(frames[0], boxes[0][0])
        return head, lambda t: head.update(frames[t])
    if task == "vos":
        mask = np.zeros((H, W), np.uint8)
        for k, (x, y, w, h) in enumerate(boxes[0][:3].astype(int)):
            mask[y : y + h, x : x + w] = k + 1
        head = VOSTracker(model)
        head.init(frames[0], mask)
        return head, lambda t: head.track(frames[t])
    if task == "poseprop":
        joints = np.c_[boxes[0][:, 0] + boxes[0][:, 2] / 2, boxes[0][:, 1] + boxes[0][:, 3] / 2][:15]
        head = PosePropagator(model)
        head.init(frames[0], joints)
        return head, lambda t: head.track(frames[t])
    if task == "mot":
        head = MOTHead(model, progress=False)
        scores = np.full(len(boxes[0]), 0.9)
        return head, lambda t: head.update(frames[t], boxes[t], scores)
    if task == "mots":
        head = MOTSHead(model, progress=False)

        def masks(t):
            m = np.zeros((len(boxes[t]), H, W), bool)
            for k, (x, y, w, h) in enumerate(boxes[t].astype(int)):
                m[k, y : y + h, x : x + w] = True
            return m

        return head, lambda t: head.update(frames[t], masks(t))
    head = PoseTrackHead(model, progress=False)

    def poses(t):
        x, y, w, h = (boxes[t][:, i : i + 1] for i in range(4))
        u = np.linspace(0.1, 0.9, 15)[None]
        return np.stack([np.broadcast_to(x + w / 2, (len(x), 15)), y + h * u], -1)

    return head, lambda t: head.update(frames[t], poses(t))


#: task -> (frame H, W, objects): MOT17 1080p, DAVIS / OTB 480p, JHMDB 240x320, PoseTrack 720p
FRAME_TASKS = {
    "sot-xcorr": (480, 854, 1),
    "sot-dcf": (480, 854, 1),
    "vos": (480, 854, 3),
    "poseprop": (240, 320, 15),
    "mot": (1080, 1920, 30),
    "mots": (1080, 1920, 10),
    "posetrack": (720, 1280, 8),
}


@pytest.mark.parametrize("task", list(FRAME_TASKS))
@pytest.mark.benchmark(group="bf16-frames")
def test_whole_frames(benchmark, task):
    H, W, n = FRAME_TASKS[task]
    warm, rounds = 2, 3
    frames, boxes = _scene(1 + warm + rounds, H, W, n)
    heads = {p: _heads(task, AppearanceModel("resnet18", 3, precision=p), frames, boxes) for p in ("fp32", "bf16")}
    for t in range(1, 1 + warm):
        for _, step in heads.values():
            step(t)
    for head, _ in heads.values():
        head.timer.reset()
    for t in range(1 + warm, 1 + warm + rounds):  # alternate: load drifts hit both alike
        for _, step in heads.values():
            step(t)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    tm = {p: head.timings for p, (head, _) in heads.items()}
    for p, stages in tm.items():
        benchmark.extra_info.update({f"{p}.{k}_ms": round(v, 2) for k, v in stages.items()})
        print(f"\n  {task} {p}: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    native = bf16_native("cpu")
    check_ratio(
        benchmark,
        f"frame-{task}",
        tm["bf16"]["total"] / 1e3,
        tm["fp32"]["total"] / 1e3,
        max_ratio=1.0 if native else NOT_SLOWER,
        candidate="bf16",
        baseline="fp32",
    )
