"""unitrack_ext.ops.topk_propagate / topk_affinity against the dense reference (SPEC appendix a), edge cases,
property tests, opcheck, torch.compile and bad input."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import unitrack_ext
from unitrack_ext import ops

ref = importlib.import_module("unitrack_ext.reference.topk_propagate")

MASK = -1e10


def _feats(shape, dim, dtype, device, gen=None):
    x = torch.randn(*shape, dtype=dtype, generator=gen).to(device)
    return torch.nn.functional.normalize(x, dim=dim)


def _make(B, T, C, H, W, L, dtype, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = _feats((B, C, H, W), 1, dtype, device, g)
    k = _feats((B, T, C, H, W), 2, dtype, device, g)
    lab = torch.rand(B, T, L, H, W, dtype=dtype, generator=g).to(device)
    return q, k, lab


def _tol(dtype):
    # (weights/labels atol, logit near-tie threshold)
    return (2e-5, 1e-3) if dtype == torch.float32 else (1e-10, 1e-8)


def _comparable(q, k, K, temperature, radius, n_global):
    """Per (batch, query) columns whose top-(K+1) reference logits have no near-tie among admissible values.

    Returns (columns [B, HW] bool, fill [B, K, HW] bool: slots the reference fills with a masked candidate).
    """
    _, tie_tol = _tol(q.dtype)
    logits = ref._logits(q, k, temperature, radius, n_global)  # [B, M, HW]
    kk = min(K + 1, logits.shape[1])
    top = torch.sort(logits, dim=1, descending=True, stable=True).values[:, :kk]
    masked = top <= 0.5 * MASK / temperature
    gaps = top[:, :-1] - top[:, 1:]
    near = (gaps < tie_tol) & ~(masked[:, :-1] & masked[:, 1:])
    return ~near.any(dim=1), masked[:, :K]


def _check_against_reference(q, k, lab, topk, temperature, radius, n_global):
    atol, _ = _tol(q.dtype)
    w, i = ops.topk_affinity(q, k, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
    rw, ri = ref.topk_affinity(q, k, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
    assert w.shape == rw.shape and i.shape == ri.shape and i.dtype == torch.int64 and w.dtype == q.dtype
    torch.testing.assert_close(w, rw, rtol=0, atol=atol)
    torch.testing.assert_close(w.sum(dim=1), torch.ones_like(w.sum(dim=1)), rtol=0, atol=10 * atol)
    cols, fill = _comparable(q, k, w.shape[1], temperature, radius, n_global)
    slot_ok = cols.unsqueeze(1).expand_as(ri).clone()
    if q.dtype == torch.float64:
        # float64: the reference orders zero-weight fill-in slots by the affinity's remnant in (a - 1e10); we document
        # lowest-index fill-ins instead, so only admissible slots are compared there.
        slot_ok &= ~fill
    assert torch.equal(i.cpu()[slot_ok.cpu()], ri.cpu()[slot_ok.cpu()])
    if lab is not None:
        out = ops.topk_propagate(q, k, lab, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
        ro = ref.topk_propagate(q, k, lab, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
        assert out.shape == ro.shape
        B, L = out.shape[0], out.shape[1]
        c = cols.reshape(B, 1, -1).expand(B, L, cols.shape[-1])
        torch.testing.assert_close(out.reshape(B, L, -1)[c], ro.reshape(B, L, -1)[c], rtol=0, atol=10 * atol)
        return w, i, out
    return w, i, None


CASES = [
    # B, T, C, H, W, L, topk, radius, n_global
    (1, 6, 16, 9, 13, 3, 10, 3.0, 1),  # DAVIS-like memory (1 global + 5 windowed), small map
    (2, 3, 8, 7, 11, 2, 5, 2.5, 1),  # batched
    (1, 1, 4, 6, 5, 2, 1, 12.0, 1),  # T = 1, topk = 1
    (1, 3, 5, 1, 17, 2, 7, 3.0, 0),  # H = 1
    (1, 2, 5, 13, 1, 2, 7, 2.0, 1),  # W = 1
    (1, 3, 6, 8, 9, 4, 20, 1.5, 0),  # topk larger than every window: masked fill-in slots
    (1, 2, 3, 3, 4, 1, 50, 1.0, 0),  # topk > T*H*W (K = 24), radius 1: only the same cell admissible
    (1, 4, 7, 10, 12, 3, 10, 0.0, 1),  # radius <= 0: unrestricted
    (1, 3, 7, 10, 12, 3, 10, -2.0, 0),  # negative radius: unrestricted
    (1, 2, 7, 6, 7, 3, 10, 2.0, 5),  # n_global > T: all global
    (1, 5, 33, 20, 27, 2, 10, 12.0, 1),  # radius larger than the map in one direction, C not a multiple of 8
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_matches_reference(case, device, dtype):
    B, T, C, H, W, L, topk, radius, n_global = case
    q, k, lab = _make(B, T, C, H, W, L, dtype, device)
    w, i, out = _check_against_reference(q, k, lab, topk, 0.05, radius, n_global)
    assert w.shape == (B, min(topk, T * H * W), H * W)
    assert out.shape == (B, L, H, W)


def test_unbatched(device):
    q, k, lab = _make(1, 3, 8, 6, 7, 2, torch.float32, device)
    w, i = ops.topk_affinity(q[0], k[0], topk=4, radius=2.0)
    wb, ib = ops.topk_affinity(q, k, topk=4, radius=2.0)
    assert w.shape == (4, 42) and torch.equal(w, wb[0]) and torch.equal(i, ib[0])
    out = ops.topk_propagate(q[0], k[0], lab[0], topk=4, radius=2.0)
    assert out.shape == (2, 6, 7)
    torch.testing.assert_close(out, ops.topk_propagate(q, k, lab, topk=4, radius=2.0)[0], rtol=0, atol=0)


def test_fewer_admissible_than_topk(device, dtype):
    """n_global = 0 and radius 1.5: each query admits at most 9 cells per frame; topk = 25 forces fill-in slots."""
    B, T, C, H, W, L, topk, radius = 1, 2, 6, 5, 6, 2, 25, 1.5
    temperature = 0.05
    q, k, lab = _make(B, T, C, H, W, L, dtype, device, seed=3)
    w, i = ops.topk_affinity(q, k, topk=topk, temperature=temperature, radius=radius, n_global=0)
    HW = H * W
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    ys, xs = ys.reshape(-1).double(), xs.reshape(-1).double()
    adm = torch.sqrt((ys[:, None] - ys[None, :]) ** 2 + (xs[:, None] - xs[None, :]) ** 2) < radius  # [m, n]
    wc, ic = w[0].cpu(), i[0].cpu()
    aff = torch.einsum("tcm,cn->tmn", k[0].reshape(T, C, HW), q[0].reshape(C, HW)).cpu()
    for n in range(HW):
        cand = [t * HW + m for t in range(T) for m in range(HW) if adm[m, n]]
        n_adm = len(cand)
        assert n_adm < topk
        # Admissible candidates first, in decreasing affinity, with the softmax of their logits.
        vals = torch.stack([aff[c // HW, c % HW, n] for c in cand]) / temperature
        order = torch.argsort(vals, descending=True, stable=True)
        assert ic[:n_adm, n].tolist() == [cand[j] for j in order.tolist()]
        torch.testing.assert_close(wc[:n_adm, n], torch.softmax(vals[order], 0), rtol=0, atol=1e-6)
        # Fill-in slots: weight exactly 0, the lowest-index inadmissible candidates, in index order.
        assert torch.all(wc[n_adm:, n] == 0)
        inadm = [c for c in range(T * HW) if not adm[c % HW, n]][: topk - n_adm]
        assert ic[n_adm:, n].tolist() == inadm
    # And the reference agrees (float32: every masked logit ties at fl(-1e10)/temperature, so indices match too).
    lab_out = ops.topk_propagate(q, k, lab, topk=topk, temperature=temperature, radius=radius, n_global=0)
    rw, ri = ref.topk_affinity(q, k, topk=topk, temperature=temperature, radius=radius, n_global=0)
    torch.testing.assert_close(w, rw, rtol=0, atol=_tol(dtype)[0])
    if dtype == torch.float32:
        assert torch.equal(i.cpu(), ri.cpu())
    ro = ref.topk_propagate(q, k, lab, topk=topk, temperature=temperature, radius=radius, n_global=0)
    torch.testing.assert_close(lab_out, ro, rtol=0, atol=10 * _tol(dtype)[0])


def test_tie_break_lower_index(device):
    """Exact ties (identical key frames): the larger logit first, then the lower candidate index."""
    q, k, _ = _make(1, 1, 4, 3, 4, 1, torch.float32, device)
    keys = torch.cat([k, k, k], dim=1)  # three identical frames: every affinity appears three times
    w, i = ops.topk_affinity(q, keys, topk=5, radius=0.0, n_global=0)
    rw, ri = ref.topk_affinity(q, keys, topk=5, radius=0.0, n_global=0)
    assert torch.equal(i.cpu(), ri.cpu())
    HW = 12
    # Slots 0..2 hold the best cell of frames 0, 1, 2 in that order.
    assert torch.equal(i[0, 1] - i[0, 0], torch.full_like(i[0, 0], HW))
    assert torch.equal(i[0, 2] - i[0, 1], torch.full_like(i[0, 0], HW))
    torch.testing.assert_close(w, rw, rtol=0, atol=1e-6)


def test_non_contiguous(device, dtype):
    B, T, C, H, W, L = 2, 3, 6, 7, 8, 3
    q = _feats((B, H, W, C), 3, dtype, device).permute(0, 3, 1, 2)
    k = _feats((T, B, C, W, H), 2, dtype, device).permute(1, 0, 2, 4, 3)
    lab = torch.rand(B, T, H, W, L, dtype=dtype, device=device).permute(0, 1, 4, 2, 3)
    assert not (q.is_contiguous() or k.is_contiguous() or lab.is_contiguous())
    _check_against_reference(q, k, lab, 6, 0.05, 2.5, 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    B=st.integers(1, 2),
    T=st.integers(1, 4),
    C=st.integers(1, 20),
    H=st.integers(1, 9),
    W=st.integers(1, 9),
    L=st.integers(1, 3),
    topk=st.integers(1, 40),
    radius=st.sampled_from([-1.0, 0.0, 0.5, 1.0, 1.5, 2.3, 3.0, 5.0, 12.0]),
    n_global=st.integers(0, 3),
    temperature=st.sampled_from([0.05, 0.1, 1.0]),
    f64=st.booleans(),
    transpose=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_against_reference(
    device, B, T, C, H, W, L, topk, radius, n_global, temperature, f64, transpose, seed
):
    dtype = torch.float64 if f64 else torch.float32
    q, k, lab = _make(B, T, C, H, W, L, dtype, device, seed=seed)
    if transpose:  # non-contiguous views with the same values
        q = q.transpose(2, 3).contiguous().transpose(2, 3)
        k = k.transpose(1, 2).contiguous().transpose(1, 2)
        lab = lab.transpose(3, 4).contiguous().transpose(3, 4)
    _check_against_reference(q, k, lab, topk, temperature, radius, n_global)


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_opcheck(device):
    q, k, lab = _make(2, 3, 5, 6, 7, 2, torch.float32, device)
    torch.library.opcheck(torch.ops.unitrack.topk_propagate.default, (q, k, lab, 4, 0.05, 2.0, 1))
    torch.library.opcheck(torch.ops.unitrack.topk_affinity.default, (q, k, 4, 0.05, 2.0, 1))
    q, k = q.double(), k.double()
    torch.library.opcheck(torch.ops.unitrack.topk_affinity.default, (q, k, 500, 0.1, 1.0, 0))


def test_compile_fullgraph(device):
    q, k, lab = _make(1, 3, 8, 6, 7, 2, torch.float32, device)

    def fn(q, k, lab):
        w, i = ops.topk_affinity(q, k, topk=5, radius=2.0)
        return ops.topk_propagate(q, k, lab, topk=5, radius=2.0), w, i

    out, w, i = torch.compile(fn, fullgraph=True, backend="eager")(q, k, lab)
    torch.testing.assert_close(out, ref.topk_propagate(q, k, lab, topk=5, radius=2.0), rtol=0, atol=1e-5)
    torch.testing.assert_close(w, ref.topk_affinity(q, k, topk=5, radius=2.0)[0], rtol=0, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    q, k, lab = _make(2, 6, 64, 30, 40, 4, torch.float32, "cpu")
    out_cpu = ops.topk_propagate(q, k, lab, radius=6.0)
    out_gpu = ops.topk_propagate(q.cuda(), k.cuda(), lab.cuda(), radius=6.0)
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, rtol=0, atol=1e-4)


def _args(**over):
    q, k, lab = _make(1, 3, 4, 5, 6, 2, torch.float32, "cpu")
    a = dict(query=q[0], keys=k[0], labels=lab[0])
    a.update(over)
    return a


# The wrapper checks Python types and the ranks that tell the batched and unbatched forms apart (TypeError /
# ValueError); everything else is checked once, by the op (RuntimeError with the same message on every path).
@pytest.mark.parametrize(
    "over,params,exc,match",
    [
        (dict(keys=torch.randn(3, 5, 5, 6)), {}, RuntimeError, "keys has 5 channels but query has 4"),
        (dict(keys=torch.randn(3, 4, 5, 7)), {}, RuntimeError, r"keys frames are 5x7 but query is 5x6 \(H x W must"),
        (
            dict(labels=torch.randn(2, 2, 5, 6)),
            {},
            RuntimeError,
            r"labels must be \[B, T, L, H, W\] = \[1, 3, L, 5, 6\]",
        ),
        (
            dict(labels=torch.randn(3, 2, 6, 5)),
            {},
            RuntimeError,
            r"labels must be \[B, T, L, H, W\] = \[1, 3, L, 5, 6\]",
        ),
        (dict(labels=torch.randn(3, 5, 6)), {}, ValueError, r"labels must be 4-D \[T, L, H, W\]"),
        (dict(query=torch.randn(4, 5)), {}, ValueError, r"query must be 3-D \[C, H, W\] or 4-D \[B, C, H, W\]"),
        (dict(keys=torch.randn(1, 3, 4, 5, 6)), {}, ValueError, r"keys must be 4-D \[T, C, H, W\]"),
        (dict(keys=torch.randn(0, 4, 5, 6), labels=torch.randn(0, 2, 5, 6)), {}, RuntimeError, "at least one memory"),
        (dict(query="q"), {}, TypeError, "query must be a torch.Tensor, got str"),
        ({}, dict(topk=0), RuntimeError, "topk must be >= 1"),
        ({}, dict(topk=2.5), TypeError, "topk must be an int"),
        ({}, dict(topk=True), TypeError, "topk must be an int, got bool"),
        ({}, dict(topk=2**64), ValueError, "topk must fit in a 64-bit integer, got 18446744073709551616"),
        ({}, dict(n_global=-(2**63) - 1), ValueError, "n_global must fit in a 64-bit integer"),
        ({}, dict(temperature=0.0), RuntimeError, "temperature must be a finite number > 0, got 0"),
        ({}, dict(temperature=-1.0), RuntimeError, "temperature must be a finite number > 0, got -1"),
        ({}, dict(temperature="0.1"), TypeError, "temperature must be a float, got str"),
        ({}, dict(radius=float("nan")), RuntimeError, "radius"),
        ({}, dict(n_global=-1), RuntimeError, "n_global must be >= 0"),
        (
            dict(labels=torch.randn(3, 2, 5, 6, dtype=torch.float64)),
            {},
            RuntimeError,
            "labels and query must have the same dtype, got float64 and float32",
        ),
        (
            dict(query=torch.ones(4, 5, 6, dtype=torch.int64)),
            {},
            RuntimeError,
            "query must be float32, float64 or bfloat16 on the CPU \\(float16 only on CUDA\\), got int64",
        ),
    ],
)
def test_bad_input(over, params, exc, match):
    a = _args(**over)
    with pytest.raises(exc, match=match):
        ops.topk_propagate(a["query"], a["keys"], a["labels"], **params)


@pytest.mark.parametrize("name", ["query", "keys", "labels"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_inputs_rejected(name, value):
    # The NaN/inf policy (README): on the CPU a non-finite input value is an error naming the argument.
    a = _args()
    a[name] = a[name].clone()
    a[name].view(-1)[3] = value
    with pytest.raises(RuntimeError, match=f"^{name} contains NaN or inf values$"):
        ops.topk_propagate(a["query"], a["keys"], a["labels"])
    if name != "labels":
        with pytest.raises(RuntimeError, match=f"^{name} contains NaN or inf values$"):
            ops.topk_affinity(a["query"], a["keys"])
    else:
        ops.topk_affinity(a["query"], a["keys"])  # labels are not an input of topk_affinity


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mixed_devices_rejected():
    a = _args()
    with pytest.raises(RuntimeError, match="query must be a CUDA tensor, got one on cpu"):
        ops.topk_propagate(a["query"], a["keys"].cuda(), a["labels"])


def test_mixed_dtypes_rejected():
    a = _args()
    with pytest.raises(RuntimeError, match="query and keys must have the same dtype, got float32 and float64"):
        ops.topk_affinity(a["query"], a["keys"].double())


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_kernel_level_checks_name_the_argument(device):
    q, k, lab = _make(1, 3, 4, 5, 6, 2, torch.float32, device)
    op, aff = torch.ops.unitrack.topk_propagate, torch.ops.unitrack.topk_affinity
    with pytest.raises(RuntimeError, match="topk must be >= 1"):
        aff(q, k, 0, 0.05, 12.0, 1)
    with pytest.raises(RuntimeError, match="temperature must be"):
        aff(q, k, 3, 0.0, 12.0, 1)
    with pytest.raises(RuntimeError, match="n_global must be >= 0"):
        aff(q, k, 3, 0.05, 12.0, -1)
    with pytest.raises(RuntimeError, match="keys has 4 channels but query has 3"):
        aff(q[:, :3], k, 3, 0.05, 12.0, 1)
    with pytest.raises(RuntimeError, match="labels must be"):
        op(q, k, lab[:, :2], 3, 0.05, 12.0, 1)
    bad = k.clone()
    bad[0, 0, 0, 0, 0] = float("inf")
    with pytest.raises(RuntimeError, match="keys contains NaN or inf"):
        aff(q, bad, 3, 0.05, 12.0, 1)


def test_weights_ignore_label_values_and_sum_to_one(device):
    """Propagating one-hot labels of the candidate index reproduces the selected weights (independent check)."""
    B, T, C, H, W = 1, 2, 5, 4, 5
    q, k, _ = _make(B, T, C, H, W, 1, torch.float64, device)
    M = T * H * W
    eye = torch.eye(M, dtype=torch.float64, device=device).reshape(M, T, H, W).permute(1, 0, 2, 3).unsqueeze(0)
    out = ops.topk_propagate(q, k, eye, topk=6, radius=1.5, n_global=1)  # [1, M, H, W]
    w, i = ops.topk_affinity(q, k, topk=6, radius=1.5, n_global=1)
    dense = torch.zeros(M, H * W, dtype=torch.float64, device=device)
    dense.scatter_add_(0, i[0], w[0])
    torch.testing.assert_close(out[0].reshape(M, H * W), dense, rtol=0, atol=1e-12)
    assert math.isclose(float(out.sum()), H * W, rel_tol=1e-12)
