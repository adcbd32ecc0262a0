# pcct: two commands do everything on a fresh machine (see README.md):
#   make run    installs what is missing, builds, runs the gold workload
#   make test   installs what is missing, builds, runs every test (C++ incl. ASan/UBSan, example, Python)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CMAKE := $(VENV)/bin/cmake
JOBS ?= 2
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test setup install cpp-test cpp-test-sanitize example py-test bench bench-cpp plots clean

setup:
	@scripts/setup.sh

# Builds the extension in build/<wheel tag> (incremental) and installs pcct into .venv.
install: setup
	@$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation .

run: install
	$(VENV)/bin/pcct bench gold

test: cpp-test cpp-test-sanitize example py-test

cpp-test: setup
	$(CMAKE) -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DPCCT_BUILD_TESTS=ON -DCMAKE_INSTALL_PREFIX=$(CURDIR)/build/install >/dev/null
	$(CMAKE) --build build/cpp -j $(JOBS)
	cd build/cpp && ctest --output-on-failure -j $(JOBS)

cpp-test-sanitize: setup
	$(CMAKE) -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPCCT_BUILD_TESTS=ON -DPCCT_SANITIZE=ON >/dev/null
	$(CMAKE) --build build/asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The C++ library used from another CMake project through find_package(pcct).
example: cpp-test
	$(CMAKE) --install build/cpp >/dev/null
	$(CMAKE) -S examples/cpp -B build/example -G Ninja -DCMAKE_PREFIX_PATH=$(CURDIR)/build/install >/dev/null
	$(CMAKE) --build build/example -j $(JOBS)
	build/example/pcct_example

py-test: install
	$(PY) -m pytest -q

# Benchmarks (BENCHMARKS.md): not part of the tests. covertreex needs Python >= 3.12 and gets
# its own virtualenv; without one it is reported as missing.
bench: install
	@scripts/setup_covertreex.sh
	cd bench && ../$(PY) gold_bruteforce.py --repeats 5
	cd bench && ../$(PY) gold_tree.py --repeats 3
	cd bench && ../$(PY) peers.py --scale full --repeats 3
	cd bench && ../$(PY) small_calls.py --repeats 3

# The C++ profiling drivers (bench/cpp: pcct_profile, pcct_dot_peak, pcct_callgrind) in
# build/prof, optimised with debug symbols for perf and callgrind.
bench-cpp: setup
	$(CMAKE) -S . -B build/prof -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPCCT_BUILD_BENCH=ON >/dev/null
	$(CMAKE) --build build/prof -j $(JOBS)

plots: install
	cd bench && ../$(PY) plots.py --repeats 3 --out ../docs/plots

clean:
	rm -rf build
