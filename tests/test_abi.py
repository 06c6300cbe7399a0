"""The ship-grade build (issue #11) and memory safety at the raw op entries (issue #12 point 4).

* the compiled ``_C`` references no C++ symbol of libtorch (stable ABI), and its baseline code uses no AVX;
* ISA levels: the level in use is reported, ``UNITRACK_CPU_ISA`` forces one, a bad value is a clear error;
* a torch older than the stable-ABI target: one message naming the minimum torch, the references still work;
* the raw ``torch.ops.unitrack.*`` entries, fuzzed with hypothesis: every outcome is a result or an error naming an
  argument -- never a crash, never an out-of-bounds read (the C++ tests run the same cases under ASan/UBSan).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import unitrack_ext
from unitrack_ext import ops, reference

needs_ext = pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
LEVELS = ["baseline", "avx2", "avx512", "avx512bf16", "amx"]


def _so() -> str:
    return unitrack_ext._C.__file__


def _run(code: str, **env) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.pop("UNITRACK_CPU_ISA", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )


# ---------------------------------------------------------------------------------------------------- stable ABI


@needs_ext
@pytest.mark.skipif(shutil.which("nm") is None, reason="needs nm (binutils)")
def test_extension_references_no_cpp_torch_symbol():
    out = subprocess.run(["nm", "-D", "--undefined-only", _so()], capture_output=True, text=True, check=True).stdout
    undefined = [line.split()[-1] for line in out.splitlines() if line.strip()]
    cpp_torch = [s for s in undefined if re.match(r"_ZN(K)?(2at|3c10|5torch)", s)]
    assert cpp_torch == [], f"C++ torch symbols (not stable ABI): {cpp_torch[:10]}"
    # It does use the stable C shim (so the check above is not vacuous).
    assert any(s.startswith(("aoti_torch_", "torch_")) for s in undefined)


@needs_ext
def test_build_info_names_the_stable_abi_target():
    info = torch.ops.unitrack._build_info()
    assert "stable ABI target: torch >= 2.10" in info
    assert "baseline flags: portable" in info, "the default build must not use -march=native"


@needs_ext
@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
def test_only_the_isa_kernels_use_avx():
    """COMDAT trap: no function outside the avx2/avx512/avx512bf16/amx kernel namespaces may contain AVX (ymm/zmm) or
    AMX tile code, or a baseline CPU could run it; and the levels really differ (the AVX2 kernels use ymm FMAs,
    AVX-512 ones zmm, the avx512bf16 ones vdpbf16ps, the amx ones tile dot products)."""
    if "baseline flags: portable" not in torch.ops.unitrack._build_info():
        pytest.skip("a -march=native build")
    dis = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "-C", _so()], capture_output=True, text=True, check=True
    ).stdout
    bad, fma_ymm, zmm, dp, tiles = set(), 0, 0, 0, 0
    levels = ("::avx2::", "::avx512::", "::avx512bf16::", "::amx::")
    name = ""
    for line in dis.splitlines():
        if line.endswith(">:"):
            name = line
            continue
        if re.search(r"%[yz]mm\d|%tmm\d", line):
            if not any(level in name for level in levels):
                bad.add(name)
            fma_ymm += "::avx2::" in name and "vfmadd" in line and "%ymm" in line
            zmm += "::avx512::" in name and "%zmm" in line
            dp += "::avx512bf16::" in name and "vdpbf16ps" in line
            tiles += "::amx::" in name and "tdpbf16ps" in line
    assert not bad, f"AVX code outside the ISA kernels: {sorted(bad)[:5]}"
    assert fma_ymm > 0 and zmm > 0 and dp > 0 and tiles > 0


# ---------------------------------------------------------------------------------------------------- ISA levels


@needs_ext
def test_cpu_isa_is_reported_and_supported():
    level = unitrack_ext.cpu_isa()
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    assert level in LEVELS and supported in LEVELS
    assert LEVELS.index(level) <= LEVELS.index(supported)
    assert f"cpu isa       : {level}" in unitrack_ext.collect_env()


@needs_ext
@pytest.mark.parametrize("level", LEVELS)
def test_forced_level_runs_the_ops(level):
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    if LEVELS.index(level) > LEVELS.index(supported):
        pytest.skip(f"this CPU supports up to {supported}")
    code = (
        "import torch, unitrack_ext\n"
        "from unitrack_ext import ops, reference\n"
        "s = torch.randn(2, 19, 17, 21, dtype=torch.float64); t = torch.randn(19, 5, 4, dtype=torch.float64)\n"
        "assert torch.allclose(ops.xcorr(s, t), reference.xcorr(s, t), atol=1e-9)\n"
        "tr = [torch.rand(n, 12) for n in (3, 9, 1)]; de = [torch.rand(n, 12) for n in (4, 2)]\n"
        "assert torch.allclose(ops.rsm(tr, de), reference.rsm(tr, de), atol=1e-5)\n"
        "print(unitrack_ext.cpu_isa())\n"
    )
    res = _run(code, UNITRACK_CPU_ISA=level)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == level


@needs_ext
def test_unknown_forced_level_is_a_clear_error():
    code = (
        "import torch, unitrack_ext\n"
        "from unitrack_ext import ops\n"
        "try:\n"
        "    ops.xcorr(torch.randn(1, 2, 5, 5), torch.randn(2, 3, 3))\n"
        "except RuntimeError as e:\n"
        "    print('ERR', e)\n"
        "from unitrack_ext.collect_env import get_env_info\n"
        "print(get_env_info())\n"
    )
    res = _run(code, UNITRACK_CPU_ISA="sse9")
    assert res.returncode == 0, res.stderr[-2000:]
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    want = "ERR UNITRACK_CPU_ISA must be baseline, avx2, avx512, avx512bf16, amx or auto, got 'sse9' "
    want += f"(this CPU's level: {supported})"
    assert want in res.stdout
    assert "cpu isa       : ERROR: UNITRACK_CPU_ISA must be" in res.stdout  # `unitrack env` still works


@needs_ext
def test_forced_level_above_the_cpu_is_a_clear_error():
    supported = str(torch.ops.unitrack._cpu_isa_supported())
    if supported == LEVELS[-1]:
        pytest.skip("this CPU has every level (the decision itself is covered by csrc/tests/test_isa.cpp)")
    above = LEVELS[LEVELS.index(supported) + 1]
    code = "import torch, unitrack_ext\nfrom unitrack_ext import ops\nops.rsm([torch.rand(2, 3)], [torch.rand(2, 3)])\n"
    res = _run(code, UNITRACK_CPU_ISA=above)
    assert res.returncode != 0
    want = f"UNITRACK_CPU_ISA={above} asks for a level this CPU does not support: its level is {supported}"
    assert want in res.stderr


# ---------------------------------------------------------------------------------------------------- old torch


def test_torch_older_than_the_target_falls_back_with_one_message():
    code = (
        "import warnings, torch\n"
        "torch.__version__ = '2.9.1'\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import unitrack_ext\n"
        "    from unitrack_ext import ops, reference\n"
        "    s = torch.randn(2, 3, 9, 9); t = torch.randn(3, 4, 4)\n"
        "    out = ops.xcorr(s, t)\n"
        "    sim = ops.rsm([torch.rand(3, 5)], [torch.rand(2, 5)])\n"
        "msgs = [str(x.message) for x in w if 'unitrack_ext' in str(x.message)]\n"
        "assert not unitrack_ext.HAS_EXT and unitrack_ext.cpu_isa() == 'reference'\n"
        "assert len(msgs) == 1, msgs\n"
        "assert torch.allclose(out, torch.nn.functional.conv2d(s, t[None])[:, 0], atol=1e-5)\n"
        "assert sim.shape == (1, 1)\n"
        "print(msgs[0])\n"
    )
    res = _run(code)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "torch 2.9.1 is older than torch 2.10, the oldest torch the compiled kernels support" in res.stdout
    assert "pip install 'torch>=2.10'" in res.stdout


def test_torch_version_parsing():
    assert unitrack_ext._torch_version("2.13.0+cpu") == (2, 13)
    assert unitrack_ext._torch_version("2.10.0a0+git1234") == (2, 10)
    assert unitrack_ext._torch_too_old("2.9.1") and unitrack_ext._torch_too_old("1.13.1")
    assert not unitrack_ext._torch_too_old("2.10.0") and not unitrack_ext._torch_too_old("3.0.0")


# ---------------------------------------------------------------------------------------------------- memory safety

WRAPPING_SIZES = [
    ([2**63 - 1, 2**63 - 1, 7], 5),  # the int64 sum wraps around to exactly the 5 rows
    ([2**62] * 4 + [3], 3),
    ([2**63 - 1, 1], 4),
]


@needs_ext
@pytest.mark.parametrize("sizes,rows", WRAPPING_SIZES)
def test_raw_rsm_rejects_sizes_whose_sum_wraps(sizes, rows):
    tp, dp = torch.rand(rows, 4), torch.rand(3, 4)
    with pytest.raises(RuntimeError, match=rf"track_sizes sums to more than the {rows} rows of track_points"):
        torch.ops.unitrack.rsm(tp, torch.tensor(sizes, dtype=torch.int64), dp, torch.tensor([3]), 0.01)
    with pytest.raises(RuntimeError, match=rf"det_sizes sums to more than the {rows} rows of det_points"):
        torch.ops.unitrack.rsm(dp, torch.tensor([3]), tp, torch.tensor(sizes, dtype=torch.int64), 0.01)


@pytest.mark.parametrize("sizes,rows", WRAPPING_SIZES)
def test_rsm_wrapper_rejects_sizes_whose_sum_wraps(sizes, rows):
    tp, dp = torch.rand(rows, 4), torch.rand(3, 4)
    with pytest.raises(RuntimeError, match=rf"track_sizes sums to more than the {rows} rows of track_points"):
        ops.rsm((tp, torch.tensor(sizes, dtype=torch.int64)), [dp])


@needs_ext
def test_raw_topk_checks_ranks_before_sizes():
    q, k, lab = torch.randn(4, 30), torch.randn(1, 2, 4, 5, 6), torch.rand(1, 2, 3, 5, 6)
    with pytest.raises(RuntimeError, match=re.escape("query must be a 4-D tensor [B, C, H, W], got shape [4, 30]")):
        torch.ops.unitrack.topk_propagate(q, k, lab, 3, 0.05, 12.0, 1)
    with pytest.raises(RuntimeError, match=re.escape("labels must be a 5-D tensor [B, T, L, H, W], got shape [3]")):
        torch.ops.unitrack.topk_propagate(torch.randn(1, 4, 5, 6), k, torch.rand(3), 3, 0.05, 12.0, 1)


@needs_ext
def test_raw_topk_huge_topk_is_clamped_and_indices_stay_in_range():
    q, k = torch.randn(1, 4, 5, 6), torch.randn(1, 2, 4, 5, 6)
    w, i = torch.ops.unitrack.topk_affinity(q, k, 2**62, 0.05, 2.0, 0)
    assert w.shape == (1, 60, 30) and int(i.min()) >= 0 and int(i.max()) < 60
    torch.testing.assert_close(w.sum(1), torch.ones(1, 30))


@needs_ext
def test_raw_topk_output_size_overflow_is_an_error():
    q, k = torch.empty(2**40, 0, 4096, 4096), torch.empty(2**40, 1, 0, 4096, 4096)
    with pytest.raises(RuntimeError, match=re.escape("the output size B*K*H*W is too large")):
        torch.ops.unitrack.topk_affinity(q, k, 10, 0.05, 12.0, 1)


# ---------------------------------------------------------------------------------------------------- fuzzing

ARG_NAMES = (
    "query",
    "keys",
    "labels",
    "topk",
    "temperature",
    "radius",
    "n_global",
    "track_points",
    "track_sizes",
    "det_points",
    "det_sizes",
    "search",
    "templ",
    "output size",
    "UNITRACK_",
)
FUZZ = settings(
    max_examples=int(os.environ.get("UNITRACK_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
dims = st.integers(0, 5)
shapes = st.lists(dims, min_size=0, max_size=6)
dtypes = st.sampled_from([torch.float32, torch.float64, torch.float32, torch.float64, torch.int64, torch.float16])
huge = st.sampled_from([0, 1, 2, 3, 7, -1, -7, 2**31, 2**62, 2**63 - 1, -(2**63)])
floats = st.sampled_from([0.05, 1.0, 0.0, -1.0, 1e-300, 1e300, float("inf"), float("nan")])


@st.composite
def topk_shapes(draw):
    """Mostly consistent [B,C,H,W] / [B,T,C,H,W] / [B,T,L,H,W] shapes (so the kernels run), sometimes arbitrary."""
    if draw(st.integers(0, 3)) == 0:
        return draw(shapes), draw(shapes), draw(shapes)
    B, T, C, H, W, L = (draw(st.integers(lo, hi)) for lo, hi in ((0, 2), (1, 3), (0, 9), (0, 7), (0, 9), (0, 3)))
    return [B, C, H, W], [B, T, C, H, W], [B, T, L, H, W]


@st.composite
def rsm_inputs(draw):
    """Mostly sizes that sum to the rows (so the kernel runs), sometimes arbitrary ones."""
    C = draw(st.integers(0, 6))
    ts = draw(st.lists(st.integers(0, 5), max_size=5))
    ds = draw(st.lists(st.integers(0, 5), max_size=5))
    tp, dp = [sum(ts), C], [sum(ds), C]
    if draw(st.integers(0, 2)) == 0:
        ts, ds = draw(st.lists(huge, max_size=5)), draw(st.lists(huge, max_size=5))
    if draw(st.integers(0, 4)) == 0:
        tp = draw(shapes)
    return tp, dp, ts, ds


@st.composite
def xcorr_shapes(draw):
    if draw(st.integers(0, 3)) == 0:
        return draw(shapes), draw(shapes)
    S, C, H, W = (draw(st.integers(lo, hi)) for lo, hi in ((0, 3), (0, 9), (1, 12), (1, 12)))
    h, w = draw(st.integers(1, H)), draw(st.integers(1, W))
    return [S, C, H, W], ([S, C, h, w] if draw(st.booleans()) else [C, h, w])


def _tensor(shape, dtype):
    return (torch.rand(shape) * 4 - 2).to(dtype)


def _names_an_argument(err: Exception) -> bool:
    return any(n in str(err) for n in ARG_NAMES)


@needs_ext
@FUZZ
@given(sh=topk_shapes(), dt=dtypes, topk=huge, temperature=floats, radius=floats, n_global=huge)
def test_fuzz_raw_topk_propagate(sh, dt, topk, temperature, radius, n_global):
    q, k, lab = (_tensor(s, dt) for s in sh)
    try:
        out = torch.ops.unitrack.topk_propagate(q, k, lab, topk, temperature, radius, n_global)
    except RuntimeError as err:
        assert _names_an_argument(err), str(err)
        return
    assert out.shape == (q.shape[0], lab.shape[2], q.shape[2], q.shape[3])
    if out.numel() and temperature >= 1e-3:
        ref = reference.topk_propagate(q, k, lab, topk=topk, temperature=temperature, radius=radius, n_global=n_global)
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


@needs_ext
@FUZZ
@given(
    inp=rsm_inputs(),
    dt=dtypes,
    sdt=st.sampled_from([torch.int64, torch.int64, torch.int32, torch.float32, torch.bool]),
    temperature=floats,
)
def test_fuzz_raw_rsm(inp, dt, sdt, temperature):
    tp, dp, ts, ds = inp
    t, d = _tensor(tp, dt), _tensor(dp, dt)
    tsz, dsz = torch.tensor(ts, dtype=torch.int64).to(sdt), torch.tensor(ds, dtype=torch.int64).to(sdt)
    try:
        out = torch.ops.unitrack.rsm(t, tsz, d, dsz, temperature)
    except RuntimeError as err:
        assert _names_an_argument(err), str(err)
        return
    assert out.shape == (len(ts), len(ds))
    ref = reference.rsm_packed(t, tsz, d, dsz, temperature=temperature) if temperature >= 1e-3 else None
    if ref is not None:
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


@needs_ext
@FUZZ
@given(sh=xcorr_shapes(), dt=dtypes, cl=st.booleans(), method=st.sampled_from(["auto", "direct", "rows", "fft"]))
def test_fuzz_raw_xcorr(sh, dt, cl, method):
    s, t = _tensor(sh[0], dt), _tensor(sh[1], dt)
    if cl and s.dim() == 4:
        s = s.contiguous(memory_format=torch.channels_last)
    os.environ["UNITRACK_XCORR_METHOD"] = method
    try:
        out = torch.ops.unitrack.xcorr(s, t)
    except RuntimeError as err:
        assert _names_an_argument(err), str(err)
        return
    finally:
        os.environ.pop("UNITRACK_XCORR_METHOD", None)
    S, C, H, W = s.shape
    h, w = t.shape[-2:]
    assert out.shape == (S, H - h + 1, W - w + 1)
    # (the reference's conv2d cannot take zero channels or scales: an empty sum is 0)
    ref = reference.xcorr(s, t) if S and C else out.new_zeros(out.shape)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------------- plain install


def _build_torch():
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "build_torch.py")
    if not os.path.exists(path):
        pytest.skip("run from outside the source tree")
    spec = importlib.util.spec_from_file_location("build_torch", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_isolated_build_finds_the_target_envs_torch():
    """What `pip install .` relies on: the target interpreter run with -I reports its own torch's site-packages."""
    bt = _build_torch()
    site = bt.target_site_packages(sys.executable)
    assert site is not None and os.path.isdir(os.path.join(site, "torch", "include", "torch", "csrc", "stable"))


def test_no_torch_anywhere_says_exactly_what_to_run(monkeypatch, tmp_path):
    bt = _build_torch()
    fake = tmp_path / "python-without-torch"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails, as in pip's isolated build env
    with pytest.raises(SystemExit) as exc:
        bt.import_target_torch(str(fake))
    msg = str(exc.value)
    assert f"{fake} -m pip install torch" in msg and f"{fake} -m pip install ." in msg and ">= 2.10" in msg
