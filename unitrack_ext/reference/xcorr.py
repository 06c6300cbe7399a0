"""Reference multi-scale valid cross-correlation: ``F.conv2d`` (which is a correlation: no kernel flip)."""

import torch
import torch.nn.functional as F


def xcorr(search: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
    """Valid cross-correlation of S search maps with one shared or S per-scale templates.

    ``out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * template[k, i, j]`` (no flip, no scaling).

    Args:
        search: ``[S, C, H, W]`` float32/float64.
        template: ``[C, h, w]`` (shared by all S) or ``[S, C, h, w]``.
    Returns:
        ``[S, H-h+1, W-w+1]``; bfloat16/float16 inputs are computed in float32 (upcast first) and give float32.
    """
    if search.dtype in (torch.bfloat16, torch.float16):
        search, template = search.float(), template.float()
    if template.dim() == 3:
        return F.conv2d(search, template.unsqueeze(0))[:, 0]
    S = search.shape[0]
    # Grouped conv: one group per scale.
    out = F.conv2d(search.reshape(1, -1, *search.shape[2:]), template, groups=S)
    return out[0]
