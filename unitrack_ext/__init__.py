"""unitrack_ext: the compiled op package of unitrack.

Three fused ops carry the speed of the framework (see ``unitrack_ext.ops``):

* :func:`~unitrack_ext.ops.topk_propagate` / :func:`~unitrack_ext.ops.topk_affinity` -- label propagation with a fused
  top-K affinity (VOS masks, pose belief maps);
* :func:`~unitrack_ext.ops.rsm` -- the Reconstruction Similarity Metric between ragged object feature sets (association);
* :func:`~unitrack_ext.ops.xcorr` -- multi-scale valid cross-correlation (SiamFC-style SOT).

Each op is registered with the PyTorch dispatcher under ``torch.ops.unitrack.*`` and has a pure-PyTorch reference with
the same signature in :mod:`unitrack_ext.reference`. The reference is the test oracle, the benchmark baseline and the
fallback: where ``_C`` has no kernel for a device, the reference is registered as that device's kernel; where ``_C``
could not be imported at all, the wrappers call the reference directly (with one warning).

Set ``UNITRACK_FORCE_REFERENCE=1`` to ignore the compiled extension (debugging, determinism checks).
"""
import os
import warnings

import torch  # noqa: F401  (must be imported before _C: the extension links against libtorch)

__all__ = ["HAS_EXT", "EXT_ERROR", "ops", "reference", "compiled_kernels", "collect_env"]

HAS_EXT = False
EXT_ERROR = None

if os.environ.get("UNITRACK_FORCE_REFERENCE", "0") == "1":
    EXT_ERROR = "disabled by UNITRACK_FORCE_REFERENCE=1"
else:
    try:
        from . import _C  # noqa: F401

        HAS_EXT = True
    except ImportError as exc:  # pragma: no cover - depends on how the package was installed
        EXT_ERROR = f"{type(exc).__name__}: {exc}"

from . import _registry  # noqa: E402  (fake kernels + reference fallbacks; needs HAS_EXT)
from . import ops, reference  # noqa: E402,F401

compiled_kernels = _registry.compiled_kernels

if not HAS_EXT:
    warnings.warn(
        "unitrack_ext: the compiled extension unitrack_ext._C is not available "
        f"({EXT_ERROR}); using the pure-PyTorch reference implementations, which are much slower. "
        "Build it with: pip install --no-build-isolation -e .",
        RuntimeWarning,
        stacklevel=2,
    )


def collect_env() -> str:
    """Return the environment report printed by ``python -m unitrack_ext.collect_env``."""
    from .collect_env import get_env_info

    return get_env_info()
