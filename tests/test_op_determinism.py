"""Every CPU kernel's result is bitwise the same at any thread count and in every run (README, "Determinism").

Each op runs at 1, 2 and 3 threads (``torch.set_num_threads``; 3 exceeds the cores of the CI machine, which is the
point: the work is split differently) and twice at 3 threads; the results must be equal bit for bit. The shapes are
chosen to reach the paths that once depended on the thread count: rsm's multi-threaded path (sum P x sum Q >= 2^17,
whose per-thread column sums were merged in completion order), rsm affinities that a BLAS GEMM computes by splitting
the channel sum between threads (one track point against 1000 detection points; 64 x 64 points of 4096 channels), and
xcorr's FFT path (ATen's channel sum of the spectra split differently at 3 threads on 4 x 16 x 128 x 128 * 30 x 30).
"""

from __future__ import annotations

import pytest
import torch

import unitrack_ext
from unitrack_ext import ops

pytestmark = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="the guarantee is about the compiled CPU kernels")

THREADS = (1, 2, 3)


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _assert_thread_count_independent(fn):
    results = {}
    for n in THREADS:
        torch.set_num_threads(n)
        results[n] = fn()
    results["again"] = fn()  # run to run, at 3 threads
    base = results[1]
    base = base if isinstance(base, tuple) else (base,)
    for key, res in results.items():
        res = res if isinstance(res, tuple) else (res,)
        for a, b in zip(base, res):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert torch.equal(a, b), (
                f"result at {key} threads differs from 1 thread (max |diff| {(a - b).abs().max()})"
            )


def _sets(sizes, C, dtype, *, signed=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for P in sizes:
        x = torch.randn(P, C, generator=g, dtype=dtype)
        out.append(x if signed else x.relu())
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "tsizes,dsizes,C,signed",
    [
        ([40] * 20, [40] * 20, 64, False),  # 800 x 800 points: the multi-threaded path
        ([40] * 20, [40] * 20, 64, True),  # signed features: the float64 Gram route
        ([3, 60, 17, 45, 9] * 4, [50, 2, 33] * 5, 16, False),  # P, Q > C: the reconstruction route; ragged
        ([1], [1000], 256, False),  # a GEMM of one row: MKL splits its channel sum between threads
        ([64], [64], 4096, False),  # a long channel sum: likewise
    ],
)
def test_rsm(tsizes, dsizes, C, signed, dtype):
    t = _sets(tsizes, C, dtype, signed=signed, seed=1)
    d = _sets(dsizes, C, dtype, signed=signed, seed=2)
    _assert_thread_count_independent(lambda: ops.rsm(t, d, temperature=0.01))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("radius,n_global", [(12.0, 1), (3.5, 0), (0.0, 1)])
def test_topk(radius, n_global, dtype):
    g = torch.Generator().manual_seed(3)
    q = torch.nn.functional.normalize(torch.randn(2, 32, 23, 41, generator=g, dtype=dtype), dim=1)
    k = torch.nn.functional.normalize(torch.randn(2, 4, 32, 23, 41, generator=g, dtype=dtype), dim=2)
    lab = torch.rand(2, 4, 3, 23, 41, generator=g, dtype=dtype)
    kw = dict(topk=10, temperature=0.05, radius=radius, n_global=n_global)
    _assert_thread_count_independent(lambda: ops.topk_affinity(q, k, **kw))
    _assert_thread_count_independent(lambda: ops.topk_propagate(q, k, lab, **kw))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", ["direct", "rows", "fft", "auto"])
@pytest.mark.parametrize(
    "shape",
    [
        (4, 16, 128, 128, 30, 30, False),  # the FFT channel sum that depended on the thread count
        (3, 64, 65, 65, 14, 14, True),  # the SOT shape, one template per scale
        (2, 8, 40, 70, 3, 3, False),  # a tiny template ("rows")
    ],
)
def test_xcorr(shape, method, dtype, monkeypatch):
    S, C, H, W, h, w, per_scale = shape
    monkeypatch.setenv("UNITRACK_XCORR_METHOD", method)
    g = torch.Generator().manual_seed(4)
    search = torch.randn(S, C, H, W, generator=g, dtype=dtype)
    templ = torch.randn(*((S,) if per_scale else ()), C, h, w, generator=g, dtype=dtype)
    _assert_thread_count_independent(lambda: ops.xcorr(search, templ))
