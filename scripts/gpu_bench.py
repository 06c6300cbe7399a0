"""CUDA timings of the fused ops vs their pure-PyTorch references at the UniTrack shapes (median of CUDA-event times).

Run on a GPU machine after building the extension: ``python scripts/gpu_bench.py``.
"""

import statistics

import torch
import torch.nn.functional as F

from unitrack_ext import ops, reference


def cuda_ms(fn, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def main():
    dev = "cuda"
    torch.manual_seed(0)
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    # topk_propagate at DAVIS size: 60x107, C=256, 1 global + 5 local frames, topk 10, L=4
    q = F.normalize(torch.randn(256, 60, 107, device=dev), dim=0)
    k = F.normalize(torch.randn(6, 256, 60, 107, device=dev), dim=1)
    lab = torch.rand(6, 4, 60, 107, device=dev)
    out_f = ops.topk_propagate(q, k, lab)
    out_r = reference.topk_propagate(q, k, lab)
    err = (out_f - out_r).abs().max().item()
    tf = cuda_ms(lambda: ops.topk_propagate(q, k, lab))
    tr = cuda_ms(lambda: reference.topk_propagate(q, k, lab), reps=5)
    print(
        f"topk_propagate DAVIS: fused {tf:.2f} ms, reference {tr:.2f} ms, speed-up {tr / tf:.1f}x, max|diff| {err:.2e}"
    )
    # rsm: N = M = 50, 40 points, C = 256 (post-ReLU-like)
    for n in (20, 50):
        t = [torch.relu(torch.randn(40, 256, device=dev)) for _ in range(n)]
        d = [torch.relu(torch.randn(40, 256, device=dev)) for _ in range(n)]
        err = (ops.rsm(t, d) - reference.rsm(t, d)).abs().max().item()
        tf = cuda_ms(lambda t=t, d=d: ops.rsm(t, d))
        tr = cuda_ms(lambda t=t, d=d: reference.rsm(t, d), reps=5)
        print(f"rsm N=M={n}: fused {tf:.2f} ms, reference {tr:.2f} ms, speed-up {tr / tf:.1f}x, max|diff| {err:.2e}")
    # xcorr SOT configuration
    s = torch.relu(torch.randn(3, 256, 65, 65, device=dev))
    z = torch.relu(torch.randn(256, 14, 14, device=dev))
    ref64 = F.conv2d(s.double(), z.double()[None])[:, 0]
    err = ((ops.xcorr(s, z).double() - ref64).abs().max() / ref64.abs().max()).item()
    tf = cuda_ms(lambda: ops.xcorr(s, z))
    tr = cuda_ms(lambda: reference.xcorr(s, z))
    print(f"xcorr SOT: fused {tf:.3f} ms, F.conv2d {tr:.3f} ms, speed-up {tr / tf:.1f}x, rel err vs f64 {err:.1e}")


if __name__ == "__main__":
    main()
