"""Pure-PyTorch references of the xcorr backward (issue #16): the signatures of
``torch.ops.unitrack._xcorr_grad_search`` and ``_xcorr_grad_templ``, through ``F.conv_transpose2d`` /
``F.conv2d`` (cuDNN on a GPU). The test oracle and the kernels of devices without a compiled one.

With ``out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * templ[(s,) k, i, j]`` and ``g = d loss / d out``:

* ``xcorr_grad_search(g, templ)[s, k, y, x] = sum_{i,j} g[s, y-i, x-j] * templ[(s,) k, i, j]`` -> ``[S, C, H, W]``;
* ``xcorr_grad_templ(search, g, per_scale)[(s,) k, i, j] = sum_{(s,) r, c} g[s, r, c] * search[s, k, r+i, c+j]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def xcorr_grad_search(grad: torch.Tensor, templ: torch.Tensor) -> torch.Tensor:
    """``grad [S, Ho, Wo]``, ``templ [C, h, w]`` or ``[S, C, h, w]`` -> ``[S, C, Ho+h-1, Wo+w-1]``."""
    if templ.dim() == 3:
        return F.conv_transpose2d(grad.unsqueeze(1), templ.unsqueeze(0))
    S, C = templ.shape[:2]
    out = F.conv_transpose2d(grad.unsqueeze(0), templ, groups=S)  # [1, S*C, H, W]
    return out.reshape(S, C, *out.shape[2:])


def xcorr_grad_templ(search: torch.Tensor, grad: torch.Tensor, per_scale: bool) -> torch.Tensor:
    """``search [S, C, H, W]``, ``grad [S, Ho, Wo]`` -> ``[C, H-Ho+1, W-Wo+1]`` (summed over S) or ``[S, C, ...]``."""
    x = search.transpose(0, 1)  # [C, S, H, W]: the channels as a batch, the scales as input channels
    if not per_scale:
        return F.conv2d(x, grad.unsqueeze(0))[:, 0]
    return F.conv2d(x, grad.unsqueeze(1), groups=search.shape[0]).transpose(0, 1)
