#!/usr/bin/env bash
# CUDA compile check without a GPU or a CUDA build of torch:
#  1. every raw CUDA kernel file (csrc/cuda/*.cu; no torch headers) with nvcc for sm_80 and sm_90;
#  2. every torch-facing CUDA launcher (csrc/cuda/*_cuda.cpp) with the host compiler against the LibTorch stable-ABI
#     headers of the project's torch (header-only: the CPU wheel ships them) and the CUDA runtime headers of nvcc's
#     toolkit, exactly as setup.py compiles them for a CUDA build (-DWITH_CUDA -DUSE_CUDA, TORCH_TARGET_VERSION 2.10).
set -euo pipefail
cd "$(dirname "$0")/.."
NVCC=${NVCC:-nvcc}
if ! command -v "$NVCC" >/dev/null 2>&1; then
  echo "cuda-check: nvcc not found; skipping (set NVCC=/path/to/nvcc)"; exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
shopt -s nullglob
files=(csrc/cuda/*.cu)
if [ ${#files[@]} -eq 0 ]; then echo "cuda-check: no .cu files"; exit 0; fi
for f in "${files[@]}"; do
  for arch in 80 90; do
    echo "nvcc sm_${arch}: $f"
    "$NVCC" -std=c++20 -O3 -Icsrc -gencode "arch=compute_${arch},code=sm_${arch}" -c "$f" -o "$out/$(basename "$f").sm${arch}.o"
  done
done
echo "cuda-check: ${#files[@]} kernel file(s) compiled for sm_80 and sm_90"

py=${VPY:-.venv/bin/python}
[ -x "$py" ] || py=python3
torch_inc=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include"))' 2>/dev/null || true)
cuda_inc=""
for d in "${CUDA_HOME:-}" "$(dirname "$(readlink -f "$(command -v "$NVCC")")")/.." /usr/local/cuda; do
  if [ -n "$d" ] && [ -f "$d/include/cuda_runtime_api.h" ]; then cuda_inc="$(cd "$d/include" && pwd)"; break; fi
done
if [ -z "$cuda_inc" ]; then echo "cuda-check: no CUDA runtime headers found; launchers not checked"; exit 0; fi
if [ -z "$torch_inc" ] || [ ! -f "$torch_inc/torch/csrc/stable/library.h" ]; then
  echo "cuda-check: no torch with stable-ABI headers for $py; launchers not checked"; exit 0
fi
launchers=(csrc/cuda/*_cuda.cpp)
for f in "${launchers[@]}"; do
  echo "c++ (stable ABI, CUDA launcher): $f"
  ${CXX:-c++} -std=c++20 -O1 -fsyntax-only -Wall -Icsrc -I"$torch_inc" -I"$cuda_inc" -DWITH_CUDA -DUSE_CUDA \
    -DTORCH_TARGET_VERSION=0x020a000000000000 "$f"
done
echo "cuda-check: ${#launchers[@]} launcher(s) type-checked against the stable ABI (torch headers: $torch_inc)"
