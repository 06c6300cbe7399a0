#!/usr/bin/env bash
# Compile every raw CUDA kernel file (csrc/cuda/*.cu) with nvcc for sm_80 and sm_90 without a CUDA build of torch.
# The .cu files include no torch headers (the torch-facing launchers are csrc/cuda/*_cuda.cpp), which is what makes
# this check possible on a machine with only a partial CUDA toolkit.
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
echo "cuda-check: ${#files[@]} file(s) compiled for sm_80 and sm_90"
