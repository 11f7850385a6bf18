# Developer build and test entry points.
#
#   make build      CMake build into $(BUILD_DIR): vvccore, pyvtm_hooks, the
#                   C++ unit tests, and pyvtm/_core*.so in place (so that
#                   `python -m pytest` from the repo root tests this tree)
#   make test       build, then ctest (C++ unit tests) and pytest (fast suite)
#   make test-slow  pytest -m slow (all Kodak images x 5 QPs)
#
# Needs torch (pip install torch==2.13.0) and a C++17 compiler; pybind11,
# pytest and cmake are pip-installed by `make deps` when missing.
PYTHON ?= python3
BUILD_DIR ?= build/dev
JOBS ?= 2
PYTEST_ARGS ?= -q

TORCH_CMAKE = $(shell $(PYTHON) -c "import torch; print(torch.utils.cmake_prefix_path)")
PYBIND11_CMAKE = $(shell $(PYTHON) -c "import pybind11; print(pybind11.get_cmake_dir())")
PYTHON_EXE = $(shell $(PYTHON) -c "import sys; print(sys.executable)")

.PHONY: all deps build test test-cpp test-py test-slow clean

all: build

# Test/build tools that a plain `pip install .` does not bring into the
# environment (the build itself ran in an isolated environment).
deps:
	@$(PYTHON) -c "import torch" || { echo "make: torch is missing: pip install torch==2.13.0" >&2; exit 1; }
	@$(PYTHON) -c "import pybind11, pytest" 2>/dev/null || $(PYTHON) -m pip install "pybind11>=2.12" pytest
	@command -v cmake >/dev/null || $(PYTHON) -m pip install "cmake>=3.20"

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release \
	  "-DCMAKE_PREFIX_PATH=$(TORCH_CMAKE);$(PYBIND11_CMAKE)" \
	  "-DTorch_DIR=$(TORCH_CMAKE)/Torch" "-Dpybind11_DIR=$(PYBIND11_CMAKE)" \
	  "-DPython_EXECUTABLE=$(PYTHON_EXE)" \
	  "-DPYVTM_MODULE_OUTPUT_DIR=$(CURDIR)/pyvtm"
	cmake --build $(BUILD_DIR) -j $(JOBS)

test-cpp: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error

test-py: build
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# Runs both suites even when the first fails; fails if either failed.
test: build
	@rc=0; \
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error || rc=1; \
	$(PYTHON) -m pytest $(PYTEST_ARGS) || rc=1; \
	exit $$rc

test-slow: build
	$(PYTHON) -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf $(BUILD_DIR) pyvtm/_core*.so

# --- Decoder hardening (not part of `make test` / CI) -------------------------
#   make test-asan  ASan+UBSan build of the C++ unit tests and pyvtm_dec in
#                   $(ASAN_BUILD_DIR), then ctest there (needs torch, like build)
#   make fuzz       libFuzzer harness fuzz/fuzz_decoder.cpp built with clang
#                   (-fsanitize=fuzzer,address,undefined) in $(FUZZ_DIR), seeded
#                   with real streams (fuzz/make_seeds.py) and
#                   tests/fuzz_corpus/, run for $(FUZZ_RUNS) executions. Needs
#                   clang (apt-get install -y clang). Crashes land in
#                   $(FUZZ_DIR)/artifacts/; see fuzz/README.md.
.PHONY: fuzz fuzz-build test-asan
ASAN_BUILD_DIR ?= build/asan
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_DIR ?= build/fuzz
FUZZ_RUNS ?= 1000000
FUZZ_ARGS ?= -max_len=2048 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
CLANGXX ?= clang++

test-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYVTM_BUILD_PYTHON=OFF \
	  "-DCMAKE_CXX_FLAGS=$(SANITIZE_FLAGS)" "-DCMAKE_EXE_LINKER_FLAGS=$(SANITIZE_FLAGS)" \
	  "-DCMAKE_PREFIX_PATH=$(TORCH_CMAKE)" "-DTorch_DIR=$(TORCH_CMAKE)/Torch"
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure --no-tests=error

fuzz-build:
	@command -v $(CLANGXX) >/dev/null || { echo "make fuzz: $(CLANGXX) not found (apt-get install -y clang)" >&2; exit 1; }
	mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(CLANGXX) -std=c++17 -g -O2 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Icpp cpp/*.cpp fuzz/fuzz_decoder.cpp -o $(FUZZ_DIR)/fuzz_decoder

fuzz: build fuzz-build
	$(PYTHON) fuzz/make_seeds.py $(FUZZ_DIR)/seeds
	cd $(FUZZ_DIR) && ./fuzz_decoder -runs=$(FUZZ_RUNS) $(FUZZ_ARGS) -artifact_prefix=artifacts/ corpus seeds
