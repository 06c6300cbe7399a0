"""Typed public wrappers of the fused ops (``torch.ops.unitrack.*``).

Each wrapper validates its arguments (clear errors naming the argument), normalises shapes, and calls the dispatcher
op -- or, when the compiled extension is missing, the pure-PyTorch reference with the same signature.
"""

from ._op_rsm import rsm
from ._op_topk import topk_affinity, topk_propagate
from ._op_xcorr import xcorr

__all__ = ["topk_propagate", "topk_affinity", "rsm", "xcorr"]
