#!/usr/bin/env bash
# Build the wheel as a user would (plain `pip wheel .`, build isolation ON) in a fresh venv that has torch==$1, install
# it into another fresh venv with torch==$2 and run the op tests there from OUTSIDE the source tree, once per ISA level
# this CPU supports (UNITRACK_CPU_ISA=baseline, avx2, avx512, avx512bf16, amx).
#   scripts/wheel_check.sh BUILD_TORCH RUN_TORCH [WORK_DIR]      e.g. scripts/wheel_check.sh 2.13.0 2.14.1
# `make wheel-check` runs 2.13.0 -> 2.13.0 (CI); `make abi-check` runs 2.13.0 -> 2.14.1 and 2.14.1 -> 2.13.0.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build_torch=${1:?build torch version}
run_torch=${2:?run torch version}
work=${3:-$(mktemp -d /tmp/unitrack-wheel-check.XXXXXX)}
PY=${PY:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$work"
log() { echo "[wheel-check $(date +%H:%M:%S)] $*"; }
quiet() { "$@" 2> >(grep -v "^WARNING: Location" >&2); }  # drop the local index's noise

venv_with_torch() {  # DIR VERSION: a venv with that torch (reused if it already has it)
  if [ ! -x "$1/bin/python" ] || ! "$1/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$2')" 2>/dev/null; then
    rm -rf "$1"
    "$PY" -m venv "$1"
    quiet "$1/bin/python" -m pip install -q "torch==$2"
  fi
}

build_venv="$work/build-$build_torch"
wheel_dir="$work/wheel-from-$build_torch"
if ! ls "$wheel_dir"/unitrack-*.whl >/dev/null 2>&1; then
  venv_with_torch "$build_venv" "$build_torch"
  log "pip wheel . (build isolation on) against torch $build_torch"
  t0=$(date +%s)
  rm -rf "$wheel_dir" && mkdir -p "$wheel_dir"
  # A copy of the tracked files: no .venv, no in-place _C, no build folders from the developer's tree.
  rm -rf "$work/src" && mkdir -p "$work/src" && git -C "$src" ls-files -z | (cd "$src" && xargs -0 cp --parents -t "$work/src")
  (cd "$work/src" && quiet "$build_venv/bin/python" -m pip wheel -q --no-deps -w "$wheel_dir" .)
  log "wheel built in $(( $(date +%s) - t0 )) s: $(ls "$wheel_dir")"
fi
whl=$(ls "$wheel_dir"/unitrack-*.whl)

run_venv="$work/run-$run_torch"
venv_with_torch "$run_venv" "$run_torch"
log "installing $(basename "$whl") into a fresh venv with torch $run_torch"
"$run_venv/bin/python" -m pip uninstall -q -y unitrack >/dev/null 2>&1 || true
quiet "$run_venv/bin/python" -m pip install -q "$whl" pytest hypothesis
tests="$work/op-tests"
rm -rf "$tests" && mkdir -p "$tests"
cp "$src"/tests/conftest.py "$src"/tests/test_topk_propagate_op.py "$src"/tests/test_rsm_op.py \
   "$src"/tests/test_xcorr_op.py "$src"/tests/test_ext_plumbing.py "$src"/tests/test_abi.py "$src"/tests/test_bf16_ops.py \
   "$src"/tests/test_op_gradients.py "$src"/tests/test_op_edges.py "$src"/tests/test_op_validation.py \
   "$src"/tests/test_op_determinism.py "$tests"/
cd "$tests"
"$run_venv/bin/unitrack" env | sed 's/^/    /'
levels=$("$run_venv/bin/python" -c "
import torch, unitrack_ext
assert unitrack_ext.HAS_EXT, unitrack_ext.EXT_ERROR
sup = str(torch.ops.unitrack._cpu_isa_supported())
lv = [s.strip() for s in str(torch.ops.unitrack._cpu_isa_built()).split(',')]
print(' '.join(lv[:lv.index(sup) + 1]))")
for isa in $levels; do
  log "op tests, wheel from torch $build_torch, running under torch $run_torch, UNITRACK_CPU_ISA=$isa (cwd $tests)"
  UNITRACK_CPU_ISA=$isa "$run_venv/bin/python" -m pytest -q -p no:cacheprovider . 2>&1 | tail -n 3
  [ "${PIPESTATUS[0]}" -eq 0 ] || { log "FAILED at $isa"; exit 1; }
done
log "ok: torch $build_torch -> torch $run_torch, levels: $levels"
