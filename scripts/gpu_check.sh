#!/usr/bin/env bash
# One-shot GPU verification (used with a lent GPU machine): build the CUDA kernels, run every CUDA test and the CUDA
# benchmarks, and save logs under $OUT (or ./gpu-check-out). Usage: scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 MAX_JOBS=${MAX_JOBS:-16} TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export PYTHONPATH=$PWD:$PWD/python
# The image's default /opt/gcc toolchain produced an extension that crashed on error messages; use the system one.
[ -x /usr/bin/g++ ] && export CC=${CC:-/usr/bin/gcc} CXX=${CXX:-/usr/bin/g++}
nvidia-smi -L || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
t0=$(date +%s)
$PY setup.py build_ext --inplace > "$OUT/build.log" 2>&1; rc=$?
echo "build rc=$rc in $(( $(date +%s) - t0 )) s"; tail -n 25 "$OUT/build.log"
[ $rc -eq 0 ] || exit $rc
$PY -m unitrack_ext.collect_env | tee "$OUT/env.txt"
# Op tests on every device (CPU + CUDA parametrisations), then the CUDA cases of the heads that take a device.
$PY -m pytest -q -p no:cacheprovider tests/test_xcorr_op.py tests/test_topk_propagate_op.py tests/test_rsm_op.py \
  tests/test_ext_plumbing.py tests/test_op_gradients.py 2>&1 | tee "$OUT/op_tests.log" | tail -n 30
$PY -m pytest -q -p no:cacheprovider -k cuda tests/test_sot_box.py tests/test_vos_head.py tests/test_model_resnet.py \
  tests/test_association_features.py 2>&1 | tee "$OUT/cuda_tests.log" | tail -n 15
$PY scripts/gpu_bench.py 2>&1 | tee "$OUT/gpu_bench.log"
