"""Environment report for bug reports: ``python -m unitrack_ext.collect_env`` (also ``unitrack env``)."""

from __future__ import annotations

import os
import platform
import sys


def get_env_info() -> str:
    import torch

    import unitrack_ext

    lines = [
        f"python        : {sys.version.split()[0]} ({platform.platform()})",
        f"torch         : {torch.__version__} (built with cuda {torch.version.cuda}, "
        f"cuda available: {torch.cuda.is_available()})",
        f"torch threads : {torch.get_num_threads()}",
        f"unitrack_ext  : {os.path.dirname(unitrack_ext.__file__)}",
        f"compiled _C   : {'yes' if unitrack_ext.HAS_EXT else 'NO (' + str(unitrack_ext.EXT_ERROR) + ')'}",
    ]
    if unitrack_ext.HAS_EXT:
        lines.append(f"_C file       : {unitrack_ext._C.__file__}")
        cv = int(torch.ops.unitrack._cuda_version())
        lines.append(f"_C cuda       : {'cpu-only build' if cv < 0 else cv}")
        lines.append("_C build info :")
        lines += ["    " + ln for ln in str(torch.ops.unitrack._build_info()).splitlines()]
        try:
            isa = unitrack_ext.cpu_isa()
        except RuntimeError as exc:  # UNITRACK_CPU_ISA asks for a level this CPU lacks
            isa = f"ERROR: {exc}"
        lines.append(
            f"cpu isa       : {isa} (this CPU supports up to {torch.ops.unitrack._cpu_isa_supported()}; "
            "UNITRACK_CPU_ISA=baseline|avx2|avx512|avx512bf16|amx forces a level)"
        )
        lines.append(
            "bf16 native   : "
            + (
                (
                    "yes (AMX-BF16 tile kernels: bfloat16 dot products, float32 sums)"
                    if isa == "amx"
                    else "yes (AVX512-BF16 vdpbf16ps kernels: bfloat16 dot products, float32 sums)"
                )
                if unitrack_ext.bf16_native()
                else "no (bfloat16 features are widened to float32 inside the kernels: correct, "
                "about as fast as float32; native needs the avx512bf16 or amx level)"
            )
        )
        rate = float(torch.ops.unitrack._bf16_dot_rate())
        if rate > 0:  # the CPU has AVX512-BF16: how its dot product compares (it decides the automatic level)
            lines.append(
                f"bf16 dot rate : vdpbf16ps does {rate:.2f}x the multiply-adds per second of float32 FMAs here "
                "(the avx512bf16 level is chosen automatically on a CPU without AMX only from 1.25x)"
            )
    parallel = [ln for ln in torch.__config__.parallel_info().splitlines() if "backend" in ln.lower()]
    if parallel:
        lines.append(f"parallel      : {parallel[0].strip()}")
    lines.append("kernels (compiled; otherwise the pure-PyTorch reference runs):")
    for op, devs in unitrack_ext.compiled_kernels.items():
        lines.append(
            f"    {op:16s} cpu: {'compiled' if devs['cpu'] else 'reference'}   "
            f"cuda: {'compiled' if devs['cuda'] else 'reference'}"
        )
    backward = getattr(getattr(unitrack_ext, "_autograd", None), "compiled_backward_kernels", {})
    for op, devs in backward.items():  # the backward primitives (issue #16)
        lines.append(
            f"    {op:18s} cpu: {'compiled' if devs['cpu'] else 'reference'}   "
            f"cuda: {'compiled' if devs['cuda'] else 'reference'}"
        )
    for var in (
        "UNITRACK_FORCE_REFERENCE",
        "UNITRACK_CPU_ISA",
        "UNITRACK_XCORR_METHOD",
        "OMP_NUM_THREADS",
        "CUDA_VISIBLE_DEVICES",
    ):
        if var in os.environ:
            lines.append(f"{var}={os.environ[var]}")
    return "\n".join(lines)


def main() -> None:
    print(get_env_info())


if __name__ == "__main__":
    main()
