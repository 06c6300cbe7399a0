"""unitrack_ext: the compiled op package of unitrack.

Three fused ops carry the speed of the framework (see ``unitrack_ext.ops``):

* :func:`~unitrack_ext.ops.topk_propagate` / :func:`~unitrack_ext.ops.topk_affinity` -- label propagation with a fused
  top-K affinity (VOS masks, pose belief maps);
* :func:`~unitrack_ext.ops.rsm` -- the Reconstruction Similarity Metric between ragged object feature sets
  (association);
* :func:`~unitrack_ext.ops.xcorr` -- multi-scale valid cross-correlation (SiamFC-style SOT).

Each op is registered with the PyTorch dispatcher under ``torch.ops.unitrack.*`` and has a pure-PyTorch reference with
the same signature in :mod:`unitrack_ext.reference`. The reference is the test oracle, the benchmark baseline and the
fallback: where ``_C`` has no kernel for a device, the reference is registered as that device's kernel; where ``_C``
could not be imported at all, the wrappers call the reference directly (with one warning).

Set ``UNITRACK_FORCE_REFERENCE=1`` to ignore the compiled extension (debugging, determinism checks).

``_C`` is built against the LibTorch stable ABI with ``TORCH_TARGET_VERSION`` = :data:`MIN_TORCH`: one binary loads
under every torch from that version on. Under an older torch it is not loaded at all (one warning naming the minimum
torch) and the references serve every op. Its CPU kernels exist for several ISA levels (baseline x86-64, AVX2,
AVX-512, and for bfloat16 features AVX512-BF16 ``vdpbf16ps`` and AMX-BF16 tile kernels); the best level of the CPU is
picked when ``_C`` loads, and ``UNITRACK_CPU_ISA=baseline|avx2|avx512|avx512bf16|amx`` forces one (see
:func:`cpu_isa`, :func:`bf16_native`).
"""

import os
import warnings

import torch  # noqa: F401  (must be imported before _C: the extension links against libtorch)

__all__ = [
    "HAS_EXT",
    "EXT_ERROR",
    "MIN_TORCH",
    "ops",
    "reference",
    "compiled_kernels",
    "collect_env",
    "cpu_isa",
    "bf16_native",
]

# The oldest torch the compiled extension supports: its stable-ABI target (setup.py TORCH_TARGET_VERSION).
MIN_TORCH = (2, 10)

HAS_EXT = False
EXT_ERROR = None


def _torch_version(version: str) -> tuple:
    """``"2.13.0+cpu"`` -> ``(2, 13)``; unparsable parts count as 0."""
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (2 - len(parts)))


def _torch_too_old(version: str) -> bool:
    return _torch_version(version) < MIN_TORCH


if os.environ.get("UNITRACK_FORCE_REFERENCE", "0") == "1":
    EXT_ERROR = "disabled by UNITRACK_FORCE_REFERENCE=1"
elif _torch_too_old(torch.__version__):
    EXT_ERROR = (
        f"torch {torch.__version__} is older than torch {MIN_TORCH[0]}.{MIN_TORCH[1]}, the oldest torch the compiled "
        f"kernels support; upgrade torch (pip install 'torch>={MIN_TORCH[0]}.{MIN_TORCH[1]}') to use them"
    )
else:
    try:
        from . import _C  # noqa: F401

        HAS_EXT = True
    except ImportError as exc:  # pragma: no cover - depends on how the package was installed
        EXT_ERROR = f"{type(exc).__name__}: {exc}"

from . import (  # noqa: E402,F401
    _autograd,  # noqa: E402,F401  (backward formulas of every op, issue #16)
    _registry,  # noqa: E402  (fake kernels + reference fallbacks; needs HAS_EXT)
    ops,
    reference,
)

compiled_kernels = _registry.compiled_kernels

if not HAS_EXT:
    warnings.warn(
        "unitrack_ext: the compiled extension unitrack_ext._C is not available "
        f"({EXT_ERROR}); using the pure-PyTorch reference implementations, which are much slower."
        + (
            ""
            if "torch" in str(EXT_ERROR) or "UNITRACK_FORCE_REFERENCE" in str(EXT_ERROR)
            else " Reinstall the package (pip install .) to build it."
        ),
        RuntimeWarning,
        stacklevel=2,
    )


def cpu_isa() -> str:
    """The ISA level the compiled CPU kernels run at: ``"baseline"``, ``"avx2"``, ``"avx512"``, ``"avx512bf16"`` or
    ``"amx"``
    (``"reference"`` when ``_C`` is not loaded). Picked once when ``_C`` loads: the best level of this CPU, or
    ``UNITRACK_CPU_ISA``. Raises ``RuntimeError`` naming the variable and the CPU's level when ``UNITRACK_CPU_ISA`` asks
    for a level the CPU lacks (every compiled CPU op raises the same error then)."""
    if not HAS_EXT:
        return "reference"
    return str(torch.ops.unitrack._cpu_isa())


def bf16_native() -> bool:
    """Whether the compiled CPU kernels compute bfloat16 dot products natively: the ``avx512bf16`` level
    (``vdpbf16ps``, e.g. AMD Zen 4, Intel Cooper Lake) or the ``amx`` level (AMX-BF16 tiles, e.g. Intel Sapphire
    Rapids). Elsewhere bfloat16 features are widened to float32 inside the kernels (correct, and about as fast as
    float32). False when ``_C`` is not loaded or ``UNITRACK_CPU_ISA`` is unusable."""
    try:
        return cpu_isa() in ("avx512bf16", "amx")
    except RuntimeError:
        return False


def collect_env() -> str:
    """Return the environment report printed by ``python -m unitrack_ext.collect_env``."""
    import importlib

    report = importlib.import_module(f"{__name__}.collect_env").get_env_info()
    # Importing the submodule rebinds the package attribute `collect_env` to it: keep this function there.
    globals()["collect_env"] = _collect_env_function
    return report


_collect_env_function = collect_env
