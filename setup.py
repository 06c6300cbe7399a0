"""Build script for unitrack: the `unitrack` framework and the compiled op package `unitrack_ext._C`.

torch must already be installed (it is deliberately not a build requirement, see pyproject.toml):

    pip install torch==2.13.0
    pip install --no-build-isolation -e .

Environment switches (printed at build time):
  FORCE_CUDA=1          build the CUDA kernels even if no GPU is visible (needs a CUDA torch + CUDA_HOME)
  UNITRACK_NO_CUDA=1    never build the CUDA kernels
  DEBUG=1               -O0 -g
  NVCC_FLAGS="..."      extra nvcc flags; TORCH_CUDA_ARCH_LIST selects the GPU archs
  MAX_JOBS=N            parallel compile jobs (ninja)
"""
import glob
import os
import sys

from setuptools import setup

try:
    import torch
    from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
except ImportError:  # pragma: no cover - exercised by `pip install .` with build isolation
    sys.exit(
        "\nunitrack: torch must be importable at build time, but it is not.\n"
        "Install torch first, then build without build isolation:\n\n"
        "    pip install torch==2.13.0\n"
        "    pip install --no-build-isolation -e .      (or: pip install --no-build-isolation .)\n"
    )

ROOT = os.path.dirname(os.path.abspath(__file__))
FORCE_CUDA = os.getenv("FORCE_CUDA", "0") == "1"
NO_CUDA = os.getenv("UNITRACK_NO_CUDA", "0") == "1"
DEBUG = os.getenv("DEBUG", "0") == "1"
# Source builds target the build machine's ISA (AVX2/FMA/AVX-512 where present) so the kernels' inner loops
# vectorise; UNITRACK_PORTABLE=1 builds for the baseline x86-64/aarch64 ISA (wheels for other machines).
PORTABLE = os.getenv("UNITRACK_PORTABLE", "0") == "1"
if FORCE_CUDA and CUDA_HOME is None:
    sys.exit("unitrack: FORCE_CUDA=1 needs a CUDA build of torch and nvcc (torch's CUDA_HOME is None).")
WITH_CUDA = (not NO_CUDA) and (FORCE_CUDA or torch.cuda.is_available()) and CUDA_HOME is not None


def _sources():
    # Non-recursive globs on purpose: csrc/tests/ (C++ tests, CMake only) must stay out of the extension.
    srcs = sorted(glob.glob("csrc/*.cpp")) + sorted(glob.glob("csrc/cpu/*.cpp"))
    if WITH_CUDA:
        srcs += sorted(glob.glob("csrc/cuda/*.cu")) + sorted(glob.glob("csrc/cuda/*.cpp"))
    return srcs


def _extension():
    cxx = ["-O0", "-g"] if DEBUG else ["-O3"]
    cxx += ["-DUNITRACK_WITH_PYTHON", "-fvisibility=hidden"]  # py_limited_api=True adds -DPy_LIMITED_API
    # at::parallel_for is inlined into our kernels: with torch's OpenMP backend it splits work only when the
    # extension itself is compiled with -fopenmp (without it every CPU kernel silently ran on one thread). The
    # extension then needs libgomp.so.1, which torch has already loaded (torch/lib ships it): one OpenMP runtime.
    cxx += ["-fopenmp"]
    if not PORTABLE:
        cxx += ["-march=native"]
    nvcc = ["-O0", "-g", "-G"] if DEBUG else ["-O3", "--use_fast_math"]
    nvcc += os.getenv("NVCC_FLAGS", "").split()
    macros = [("WITH_CUDA", None)] if WITH_CUDA else []
    ext_cls = CUDAExtension if WITH_CUDA else CppExtension
    # No -std flag: cpp_extension adds -std=c++20, which torch>=2.13 headers require.
    return ext_cls(
        "unitrack_ext._C",
        _sources(),
        include_dirs=[os.path.join(ROOT, "csrc")],
        define_macros=macros,
        extra_compile_args={"cxx": cxx, "nvcc": nvcc},
        extra_link_args=["-fopenmp"],
        py_limited_api=True,
    )


print("=" * 72)
print("unitrack build configuration")
print(f"  torch            = {torch.__version__} (cuda: {torch.version.cuda})")
print(f"  CUDA_HOME        = {CUDA_HOME}")
print(f"  FORCE_CUDA       = {FORCE_CUDA}")
print(f"  UNITRACK_NO_CUDA = {NO_CUDA}")
print(f"  WITH_CUDA        = {WITH_CUDA}")
print(f"  DEBUG            = {DEBUG}")
print(f"  UNITRACK_PORTABLE= {PORTABLE}")
print(f"  sources          = {_sources()}")
print("=" * 72)

BASE_DEPS = [
    "torch>=2.4",
    "numpy>=1.24",
    "scipy>=1.10",
    "lap>=0.5.12",
    "opencv-python-headless>=4.8",
    "pycocotools>=2.0.7",
    "pillow>=9",
    "tqdm>=4.60",
]
EXTRAS = {
    "plot": ["matplotlib>=3.7"],
    "ray": ["ray>=2.9"],
    "test": [
        "pytest>=7",
        "pytest-benchmark>=4",
        "hypothesis>=6",
        "psutil>=5",
        "trackeval==1.3.0",
        "got10k==0.1.3",
        "six",
        # Only its shipped TUD-Campus / TUD-Stadtmitte data files are read (the package itself fails on numpy 2).
        "motmetrics==1.4.0",
    ],
    "dev": ["ninja", "pybind11>=2.11", "cmake>=3.22"],
}
EXTRAS["all"] = sorted({d for k in ("plot", "ray") for d in EXTRAS[k]})

setup(
    name="unitrack",
    version="0.1.0",
    description="UniTrack: one appearance model, five tracking tasks, with fused C++/CUDA kernels",
    long_description=open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    if os.path.exists(os.path.join(ROOT, "README.md"))
    else "",
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=[
        "unitrack_ext",
        "unitrack_ext.reference",
        "unitrack",
        "unitrack.model",
        "unitrack.propagation",
        "unitrack.association",
        "unitrack.heads",
        "unitrack.data",
        "unitrack.data.synthetic",
        "unitrack.metrics",
        "unitrack.evaluation",
        "unitrack.evaluation.adapters",
        "unitrack.cli",
    ],
    package_dir={"unitrack": "python/unitrack", "unitrack_ext": "unitrack_ext"},
    ext_modules=[_extension()],
    cmdclass={"build_ext": BuildExtension},
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
    install_requires=BASE_DEPS,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["unitrack=unitrack.cli:main"]},
)
