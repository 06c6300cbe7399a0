"""Public wrapper of ``unitrack::xcorr``: multi-scale valid cross-correlation (SiamFC-style SOT)."""

import torch

from . import HAS_EXT
from ._checks import rank_arg, tensor_arg
from ._registry import REFERENCE_KERNELS

__all__ = ["xcorr"]


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

    Raises:
        TypeError, ValueError: an argument that is not a tensor, a template that is neither 3-D nor 4-D.
        RuntimeError: everything the op checks (the search's rank, dtypes, devices, scales, channels, a template
            larger than the search), naming the argument (the op calls the template ``templ``); a NaN or inf in either
            input on the CPU (on CUDA the outputs whose window holds it are NaN/inf, as with ``F.conv2d``: README,
            "NaN and inf"). The check costs nothing on finite inputs: a valid correlation's output is finite only if
            every input value is.
    """
    tensor_arg(search, "search")
    tensor_arg(template, "template")
    rank_arg(template, "template", (3, 4), ("[C, h, w]", "[S, C, h, w]"))
    return torch.ops.unitrack.xcorr(search, template) if HAS_EXT else REFERENCE_KERNELS["xcorr"](search, template)
