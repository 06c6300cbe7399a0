import torch

from . import HAS_EXT
from ._checks import check_same_device_dtype, check_tensor
from .reference.xcorr import xcorr as _ref_xcorr


def xcorr(search: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
    """Multi-scale valid cross-correlation (SiamFC response without the 0.1 factor).

    ``out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * template[k, i, j]`` -- no kernel flip, no padding, no scaling.

    Args:
        search: ``Tensor[S, C, H, W]`` float32/float64/bfloat16 (float16 on CUDA), the S search feature maps (e.g. 3
            scales x 256 x 65 x 65). Low-precision maps are multiplied exactly and summed in float32 (AMX-BF16
            tiles on CPUs that have them).
        template: ``Tensor[C, h, w]`` shared by all scales, or ``Tensor[S, C, h, w]`` one per scale; ``h <= H``,
            ``w <= W``.
    Returns:
        ``Tensor[S, H-h+1, W-w+1]`` in the input dtype (float32 for bfloat16/float16).

    The CPU kernel picks the cheapest exact method for the shape: tiled dot products over channels-last data (e.g.
    the SOT 14x14), a copy-free NCHW kernel vectorised along output columns (float32 templates of at most 3x3), or
    an FFT through ATen (large templates). ``UNITRACK_XCORR_METHOD=direct|rows|fft`` forces one (tests and
    benchmarks; ``rows`` needs float32 and an AVX2 build, else it runs ``direct``). A search map that is already
    channels-last in memory avoids a transpose.
    """
    check_tensor(search, "search", dims=(4,))
    check_tensor(template, "template", dims=(3, 4))
    check_same_device_dtype({"search": search, "template": template})
    S, C, H, W = search.shape
    if template.dim() == 4 and template.shape[0] != S:
        raise ValueError(f"template has {template.shape[0]} scales but search has {S}")
    if template.shape[-3] != C:
        raise ValueError(f"template has {template.shape[-3]} channels but search has {C}")
    h, w = template.shape[-2:]
    if h < 1 or w < 1:
        raise ValueError(f"template must have a positive spatial size, got {h}x{w}")
    if h > H or w > W:
        raise ValueError(f"template ({h}x{w}) must not be larger than the search map ({H}x{W})")
    if HAS_EXT:
        return torch.ops.unitrack.xcorr(search, template)
    return _ref_xcorr(search, template)
