"""unitrack_ext.ops.xcorr against its reference (F.conv2d), opcheck, torch.compile, and bad input."""

import pytest
import torch

import unitrack_ext
from unitrack_ext import ops, reference

CASES = [
    # S, C, H, W, h, w, per_scale
    (3, 16, 33, 33, 7, 7, False),
    (1, 1, 5, 5, 5, 5, False),  # template == search: one output
    (2, 5, 12, 17, 1, 1, True),  # 1x1 template
    (3, 8, 20, 11, 6, 3, True),
    (2, 24, 40, 70, 5, 9, False),  # two column chunks of the "rows" kernel (48 + 14, the second masked)
    (1, 3, 10, 60, 4, 4, True),  # odd number of output rows (a last tile of one row)
]


@pytest.fixture(params=["auto", "direct", "rows", "fft"])
def cpu_method(request, monkeypatch):
    """The CPU kernel has three exact methods (channels-last direct, NCHW rows, FFT); force each so all are tested."""
    monkeypatch.setenv("UNITRACK_XCORR_METHOD", request.param)
    return request.param


@pytest.mark.parametrize("case", CASES)
def test_matches_reference(case, device, dtype, cpu_method):
    S, C, H, W, h, w, per_scale = case
    search = torch.randn(S, C, H, W, device=device, dtype=dtype)
    templ = torch.randn(*((S,) if per_scale else ()), C, h, w, device=device, dtype=dtype)
    out = ops.xcorr(search, templ)
    ref = reference.xcorr(search, templ)
    assert out.shape == (S, H - h + 1, W - w + 1)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol * max(1.0, ref.abs().max().item()))


@pytest.mark.parametrize("per_scale", [False, True])
def test_sot_configuration_both_methods(per_scale, cpu_method):
    # The UniTrack SOT shape (3 scales x 256 x 65x65, 14x14 template), with odd channel counts and widths around it.
    for C, W in ((48, 65), (13, 37)):
        search = torch.randn(3, C, 65, W, dtype=torch.float64)
        templ = torch.randn(*((3,) if per_scale else ()), C, 14, 14, dtype=torch.float64)
        torch.testing.assert_close(ops.xcorr(search, templ), reference.xcorr(search, templ), rtol=1e-10, atol=1e-9)


def test_channels_last_search(cpu_method):
    search = torch.randn(3, 24, 30, 31).contiguous(memory_format=torch.channels_last)
    templ = torch.randn(24, 9, 5)
    torch.testing.assert_close(ops.xcorr(search, templ), reference.xcorr(search, templ), rtol=1e-4, atol=1e-4)


def test_large_template_uses_exact_result():
    # A large template over a large map (the cost model picks the FFT there) against the float64 reference.
    search = torch.randn(1, 2, 192, 160, dtype=torch.float64)
    templ = torch.randn(2, 128, 100, dtype=torch.float64)
    torch.testing.assert_close(ops.xcorr(search, templ), reference.xcorr(search, templ), rtol=1e-10, atol=1e-9)


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_bad_method_env(monkeypatch):
    monkeypatch.setenv("UNITRACK_XCORR_METHOD", "winograd")
    with pytest.raises(RuntimeError, match="UNITRACK_XCORR_METHOD"):
        torch.ops.unitrack.xcorr(torch.randn(1, 2, 8, 8), torch.randn(2, 3, 3))


def test_non_contiguous_inputs(device):
    search = torch.randn(3, 20, 20, 8, device=device).permute(0, 3, 1, 2)
    templ = torch.randn(5, 5, 8, device=device).permute(2, 0, 1)
    assert not search.is_contiguous() and not templ.is_contiguous()
    torch.testing.assert_close(ops.xcorr(search, templ), reference.xcorr(search, templ), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_opcheck(device):
    search = torch.randn(2, 4, 10, 12, device=device)
    for templ in (torch.randn(4, 3, 5, device=device), torch.randn(2, 4, 3, 5, device=device)):
        torch.library.opcheck(torch.ops.unitrack.xcorr.default, (search, templ))


def test_compile_fullgraph(device):
    search = torch.randn(3, 4, 12, 12, device=device)
    templ = torch.randn(4, 5, 5, device=device)
    fn = torch.compile(ops.xcorr, fullgraph=True, backend="eager")
    torch.testing.assert_close(fn(search, templ), reference.xcorr(search, templ), rtol=1e-4, atol=1e-4)


# The wrapper checks Python types and the template's rank (TypeError / ValueError); the op checks the rest
# (RuntimeError, the same message on every path; the op calls the template "templ").
@pytest.mark.parametrize(
    "search_shape,templ_shape,exc,match",
    [
        ((3, 4, 10, 10), (4, 11, 3), RuntimeError, r"templ \(11x3\) must not be larger than search \(10x10\)"),
        ((3, 4, 10, 10), (5, 3, 3), RuntimeError, "templ has 5 channels but search has 4"),
        ((3, 4, 10, 10), (2, 4, 3, 3), RuntimeError, "templ has 2 scales but search has 3"),
        ((4, 10, 10), (4, 3, 3), RuntimeError, r"search must be a 4-D tensor \[S, C, H, W\], got shape \[4, 10, 10\]"),
        ((3, 4, 10, 10), (3, 3), ValueError, r"template must be 3-D \[C, h, w\] or 4-D \[S, C, h, w\]"),
        ((3, 4, 10, 10), (4, 0, 3), RuntimeError, "templ must have a positive spatial size, got 0x3"),
    ],
)
def test_bad_input(search_shape, templ_shape, exc, match):
    with pytest.raises(exc, match=match):
        ops.xcorr(torch.randn(*search_shape), torch.randn(*templ_shape))


def test_bad_dtype_and_mixed_dtypes():
    with pytest.raises(
        RuntimeError,
        match=r"search must be float32, float64 or bfloat16 on the CPU \(float16 only on CUDA\), got int32",
    ):
        ops.xcorr(torch.ones(1, 2, 5, 5, dtype=torch.int32), torch.ones(2, 3, 3, dtype=torch.int32))
    with pytest.raises(RuntimeError, match="search and templ must have the same dtype, got float32 and float64"):
        ops.xcorr(torch.randn(1, 2, 5, 5), torch.randn(2, 3, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="search must be a torch.Tensor, got list"):
        ops.xcorr([[1.0]], torch.randn(2, 3, 3))


@pytest.mark.skipif(not unitrack_ext.HAS_EXT, reason="needs the compiled extension")
def test_kernel_level_checks_name_the_argument():
    # The C++ kernel validates too (users may call torch.ops.unitrack.xcorr directly).
    with pytest.raises(RuntimeError, match="templ .* must not be larger than search"):
        torch.ops.unitrack.xcorr(torch.randn(1, 2, 4, 4), torch.randn(2, 5, 5))
