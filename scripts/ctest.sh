#!/usr/bin/env bash
# Configure, build and run the C++ tests against the torch of the project's virtual environment.
#   scripts/ctest.sh BUILD_DIR [extra cmake args...]      e.g. scripts/ctest.sh build-asan -DUNITRACK_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-cmake}
shift || true
py=${VPY:-.venv/bin/python}
[ -x "$py" ] || py=python3
prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
ninja_bin="$(cd "$(dirname "$py")" && pwd)/ninja"
[ -x "$ninja_bin" ] || ninja_bin=$(command -v ninja)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_MAKE_PROGRAM="$ninja_bin" "$@" \
  > "$build_dir.configure.log" 2>&1 || { cat "$build_dir.configure.log"; exit 1; }
cmake --build "$build_dir" -j"${MAX_JOBS:-2}"
ctest --test-dir "$build_dir" --output-on-failure
