"""Build script for unitrack: the `unitrack` framework and the compiled op package `unitrack_ext._C`.

`pip install .` works as for any package (build isolation on): the kernels are built against the torch of the
environment being installed into, which must already have torch (`pip install torch`). With build isolation pip
hides that environment's site-packages from this script, so it asks the target interpreter (`sys.executable -I`,
which ignores pip's overlay) where torch lives and imports it from there. `_C` is written against the LibTorch stable
ABI (TORCH_TARGET_VERSION = 2.10) and Python's limited API, so the result loads under every torch >= 2.10 and every
CPython >= 3.10 (torch >= 2.10 needs 3.10 anyway); its CPU kernels are compiled for the baseline x86-64 ISA plus AVX2 and AVX-512 levels picked at run
time (no -march=native).

Development: `pip install --no-build-isolation -e .` (what `make venv` / `make build` run).

Environment switches (printed at build time):
  FORCE_CUDA=1          build the CUDA kernels even if no GPU is visible (needs a CUDA torch + CUDA_HOME)
  UNITRACK_NO_CUDA=1    never build the CUDA kernels
  UNITRACK_NATIVE=1     also compile everything with -march=native (not portable; for speed comparisons)
  DEBUG=1               -O0 -g
  NVCC_FLAGS="..."      extra nvcc flags; TORCH_CUDA_ARCH_LIST selects the GPU archs
  MAX_JOBS=N            parallel compile jobs (ninja)
"""
import glob
import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_torch import MIN_TORCH, TORCH_TARGET_VERSION, import_target_torch  # noqa: E402

torch = import_target_torch()
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension  # noqa: E402

ROOT = os.path.dirname(os.path.abspath(__file__))
FORCE_CUDA = os.getenv("FORCE_CUDA", "0") == "1"
NO_CUDA = os.getenv("UNITRACK_NO_CUDA", "0") == "1"
DEBUG = os.getenv("DEBUG", "0") == "1"
NATIVE = os.getenv("UNITRACK_NATIVE", "0") == "1"
if FORCE_CUDA and CUDA_HOME is None:
    sys.exit("unitrack: FORCE_CUDA=1 needs a CUDA build of torch and nvcc (torch's CUDA_HOME is None).")
WITH_CUDA = (not NO_CUDA) and (FORCE_CUDA or torch.cuda.is_available()) and CUDA_HOME is not None


def _sources():
    # Non-recursive globs on purpose: csrc/tests/ (C++ tests, CMake only) must stay out of the extension.
    srcs = sorted(glob.glob("csrc/*.cpp")) + sorted(glob.glob("csrc/common/*.cpp"))
    srcs += sorted(glob.glob("csrc/cpu/*.cpp")) + sorted(glob.glob("csrc/cpu/isa/*.cpp"))
    if WITH_CUDA:
        srcs += sorted(glob.glob("csrc/cuda/*.cu")) + sorted(glob.glob("csrc/cuda/*.cpp"))
    return srcs


def _extension():
    cxx = ["-O0", "-g"] if DEBUG else ["-O3"]
    # Stable ABI only: TORCH_TARGET_VERSION hides every API newer than 2.10; py_limited_api=True adds Py_LIMITED_API.
    cxx += ["-DUNITRACK_WITH_PYTHON", "-fvisibility=hidden", f"-DTORCH_TARGET_VERSION={TORCH_TARGET_VERSION}"]
    # No -fopenmp: torch::stable::parallel_for runs on libtorch's own thread pool. No -march=native: the CPU kernels
    # are compiled per ISA level (csrc/cpu/isa/) and picked at run time.
    if NATIVE:
        cxx += ["-march=native"]
    nvcc = ["-O0", "-g", "-G"] if DEBUG else ["-O3", "--use_fast_math"]
    nvcc += [f"-DTORCH_TARGET_VERSION={TORCH_TARGET_VERSION}"] + os.getenv("NVCC_FLAGS", "").split()
    macros = [("WITH_CUDA", None), ("USE_CUDA", None)] if WITH_CUDA else []
    ext_cls = CUDAExtension if WITH_CUDA else CppExtension
    # No -std flag: cpp_extension adds -std=c++20, which torch>=2.13 headers require.
    ext = ext_cls(
        "unitrack_ext._C",
        _sources(),
        include_dirs=[os.path.join(ROOT, "csrc")],
        define_macros=macros,
        extra_compile_args={"cxx": cxx, "nvcc": nvcc},
        py_limited_api=True,
    )
    # Link only what the stable C shim lives in (cpp_extension would add libtorch_python and the C++ API libraries).
    ext.libraries = ["torch_cpu"] + (["torch_cuda", "cudart"] if WITH_CUDA else [])
    return ext


print("=" * 72)
print("unitrack build configuration")
print(f"  torch            = {torch.__version__} (cuda: {torch.version.cuda}) from {os.path.dirname(torch.__file__)}")
print(f"  stable ABI target= torch >= {MIN_TORCH} (TORCH_TARGET_VERSION={TORCH_TARGET_VERSION})")
print(f"  CUDA_HOME        = {CUDA_HOME}")
print(f"  FORCE_CUDA       = {FORCE_CUDA}")
print(f"  UNITRACK_NO_CUDA = {NO_CUDA}")
print(f"  WITH_CUDA        = {WITH_CUDA}")
print(f"  DEBUG            = {DEBUG}")
print(f"  UNITRACK_NATIVE  = {NATIVE}  (CPU kernels: baseline + avx2 + avx512 + avx512bf16 + amx, picked at run time)")
print(f"  sources          = {len(_sources())} files")
print("=" * 72)

BASE_DEPS = [
    "torch>=2.10",
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
        # poseval's ignore-region test is shapely's Polygon.contains; our point-in-polygon is checked against it.
        "shapely>=2",
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
    python_requires=">=3.10",
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
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
    install_requires=BASE_DEPS,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["unitrack=unitrack.cli:main"]},
)
