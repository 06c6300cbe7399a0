# unitrack developer entry points. Every target creates/uses the local virtual environment $(VENV).
#   make demo   - build everything and run the main job on the built-in default
#   make test   - build everything and run the test suite
#   make bench  - pytest-benchmark suites (benchmarks/): ratio budgets, each run saved with its metadata
#   make lint   - ruff format --check + ruff check (python/, unitrack_ext/, tests/, benchmarks/, scripts/, examples/)
#                 and clang-format --dry-run --Werror of csrc/ (clang-format 23.1.5, .clang-format)
#   make ctest  - C++ tests through CMake (+ make asan for the sanitizer build)
#   make cuda-check - compile every .cu file with nvcc for sm_80 and sm_90, type-check the CUDA launchers (no GPU needed)
#   make wheel-check - plain `pip wheel .` (build isolation on), installed into a fresh venv, op tests from outside the
#                      source tree at every ISA level of this CPU
#   make abi-check  - the same across torch versions: built against 2.13.0 and run under 2.14.1, the other way, and
#                     run under 2.10.0 (the stable-ABI target)
#   make compare-native - same-run speed of the portable build against a -march=native build (benchmarks/)
PY ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= test,plot,ray

.PHONY: venv build demo test bench lint ctest asan cuda-check wheel-check abi-check compare-native clean
CHECK_DIR ?= /tmp/unitrack-checks

$(VENV)/.installed: setup.py pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q "$(TORCH_SPEC)"
	$(VPY) -m pip install -q "setuptools>=64" wheel ninja
	$(VPY) -m pip install --no-build-isolation -e ".[$(EXTRAS)]"
	touch $@

venv: $(VENV)/.installed

# Rebuild the extension after C++ changes (ninja only recompiles what changed).
build: venv
	$(VPY) -m pip install -q --no-build-isolation --no-deps -e .

demo: build
	$(VENV)/bin/unitrack eval --max-sequences 1 --out results/demo

test: build
	$(VPY) -m pytest -q tests

# Every run is saved (numbers + machine/torch/threads/ISA/commit metadata, benchmarks/conftest.py) under
# results/bench/<machine>/; UNITRACK_BENCH_THREADS=1 pins torch to one thread on a busy machine.
bench: build
	$(VPY) -m pytest -q benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds \
		--benchmark-autosave --benchmark-storage=file://results/bench

# Lint: ruff (config in pyproject.toml) and clang-format (.clang-format). CLANG_FORMAT_FILES is empty FOR NOW:
# csrc/ is enabled after the op-layer rewrite lands (then: CLANG_FORMAT_FILES = $(wildcard csrc/*.cpp csrc/*/*.cpp
# csrc/*/*.h csrc/*/*.cu)).
# The linters live in their own small environment (no torch needed).
RUFF_VERSION ?= 0.17.6
LINT_VENV ?= .venv-lint
LINT_PATHS ?= python unitrack_ext tests benchmarks scripts $(wildcard examples)
CLANG_FORMAT_VERSION ?= 23.1.5
CLANG_FORMAT_FILES ?= $(sort $(wildcard csrc/*.cpp csrc/*/*.h csrc/*/*.cpp csrc/*/*.cu csrc/*/*.cuh csrc/*/*/*.h csrc/*/*/*.cpp))
$(LINT_VENV)/.ruff-$(RUFF_VERSION):
	$(PY) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install -q "ruff==$(RUFF_VERSION)"
	touch $@

lint: $(LINT_VENV)/.ruff-$(RUFF_VERSION)
	$(LINT_VENV)/bin/ruff format --check $(LINT_PATHS)
	$(LINT_VENV)/bin/ruff check $(LINT_PATHS)
	$(LINT_VENV)/bin/python -m pip install -q "clang-format==$(CLANG_FORMAT_VERSION)"
	$(LINT_VENV)/bin/clang-format --dry-run --Werror $(CLANG_FORMAT_FILES)

ctest: venv
	scripts/ctest.sh build-cmake

asan: venv
	scripts/ctest.sh build-asan -DUNITRACK_SANITIZE=ON

cuda-check:
	scripts/cuda_compile_check.sh

wheel-check:
	scripts/wheel_check.sh 2.13.0 2.13.0 $(CHECK_DIR)

# 2.13.0 (CPU) and 2.14.1 (CUDA build, runs on the CPU) install from local files; 2.10.0, the stable-ABI target, is a
# CUDA 12.8 build from the registry (about 4 GB with its nvidia-*-cu12 dependencies, ~2 min here): ABI_OLDEST= skips it.
ABI_OLDEST ?= 2.10.0
abi-check:
	scripts/wheel_check.sh 2.13.0 2.14.1 $(CHECK_DIR)
	scripts/wheel_check.sh 2.14.1 2.13.0 $(CHECK_DIR)
	$(if $(ABI_OLDEST),scripts/wheel_check.sh 2.13.0 $(ABI_OLDEST) $(CHECK_DIR))

# Builds the same sources with UNITRACK_NATIVE=1 (-march=native) next to the default build and compares them.
compare-native: build
	rm -rf $(CHECK_DIR)/native && mkdir -p $(CHECK_DIR)/native
	UNITRACK_NATIVE=1 $(VPY) setup.py -q build_ext --build-lib $(CHECK_DIR)/native/lib --build-temp $(CHECK_DIR)/native/tmp
	mkdir -p $(CHECK_DIR)/native/pkg && cp -r unitrack_ext $(CHECK_DIR)/native/pkg/
	cp $(CHECK_DIR)/native/lib/unitrack_ext/_C*.so $(CHECK_DIR)/native/pkg/unitrack_ext/
	mkdir -p $(CHECK_DIR)/portable && rm -rf $(CHECK_DIR)/portable/unitrack_ext && cp -r unitrack_ext $(CHECK_DIR)/portable/
	$(VPY) benchmarks/compare_builds.py --build native=$(CHECK_DIR)/native/pkg --build portable=$(CHECK_DIR)/portable

clean:
	rm -rf build build-cmake build-asan unitrack_ext/_C*.so *.egg-info
