#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: install the dependencies, build, and run
#   1. every test (unit, CLI end to end, MPI) on the release build; the kernel and k-means unit
#      tests again at every SIMD level the CPU supports, and the kernels' instruction counts
#      under callgrind against their budgets; then an install of the release build into
#      a temporary prefix and a project outside the tree built and run against that install
#      (tests/consumer: find_package(ivftrain), link ivftrain::ivftrain);
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer, in one clang build (the
#      `asan` preset: the library, also instrumented for the fuzzers' coverage, the tests, the CLI
#      and the libFuzzer targets of stage 3, so the library is compiled with sanitizers once;
#      OpenMP through LLVM's libomp), run with leak detection, abort on error and UBSan halting on
#      the first error (MPI tests excluded: OpenMPI's own allocations are reported as leaks, so
#      the preset does not build the MPI runner, IVFTRAIN_WITH_MPI=OFF; the
#      FAISS interop tests too: they exercise FAISS's reader, and the CLI code they call runs
#      under the sanitizers in the CLI tests; cli_simd too: it trains six models at every SIMD
#      level, 2.8 minutes under GCC's sanitizers, and the levels' kernels run in stage 1 at every
#      level; and the hierarchical and k-means|| rounds' end-to-end tests, 1.6 and 1.1 minutes
#      under GCC's sanitizers: their library code runs there in RoundsTest.*, the round and advance
#      commands in cli_rounds; the Python module is not built with sanitizers);
#   3. every libFuzzer target of stage 2's build for a bounded time from the seed corpus
#      (scripts/fuzz.sh);
#   4. with IVFTRAIN_AARCH64=1 only: the library and unit tests cross-built for aarch64, and the
#      kernel and k-means unit tests run under qemu-user (scripts/cross-aarch64.sh; 5 to 7 minutes
#      on the 2-core development machine, which would take the whole run past 30 minutes).
# Stages 1 and 2 compile with precompiled headers and the CLI as one translation unit (IVFTRAIN_PCH,
# IVFTRAIN_UNITY_CLI: README.md); stage 4 without, so it is the build that catches a missing
# #include of a standard or third-party header.
# Before building, two checks of the source: every #include points down the floors of the flow
# (scripts/check_layers.py) and every .cc/.h file is formatted (scripts/format.sh --check).
# `.ci/run` calls this script. Set IVFTRAIN_SKIP_RELEASE=1 (stage 1 and the install),
# IVFTRAIN_SKIP_ASAN=1 (the fuzz stage then builds its targets alone) or IVFTRAIN_SKIP_FUZZ=1 to
# skip a stage locally, IVFTRAIN_AARCH64=1 to add the aarch64 one; FUZZ_SECONDS sets the time per
# fuzz target (default 6: a regression check over the corpus within CI's time; scripts/fuzz.sh
# alone for longer runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# OpenMPI's shared-memory transport complains in containers without a usable /dev/shm size.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

# Each stage's banner gives the minutes since the start, so a slow stage shows in CI's log.
stage() { printf '== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
trap 'stage "done (exit $?)"' EXIT

stage "source checks: include layers, formatting"
python3 scripts/check_layers.py
bash scripts/format.sh --check

if [ "${IVFTRAIN_SKIP_RELEASE:-0}" != 1 ]; then
  stage "release build and tests"
  bash scripts/build.sh release
  ctest --preset release

  stage "kernel and k-means unit tests at every SIMD level this CPU supports (IVFTRAIN_SIMD)"
  for level in $(build/release/bench/kernel_tool levels); do
    echo "-- $level"
    IVFTRAIN_SIMD="$level" build/release/tests/ivftrain_tests --gtest_brief=1 \
      --gtest_filter='Kernels*:Assign*:TwoNearest*:Candidates*:GemmTiles*:KMeans*:BoundedAssign*:Pq*:Hierarchical*'
  done

  stage "instructions per row of the kernels under callgrind, against bench/instruction_budgets.json"
  python3 scripts/instruction_budgets.py build/release

  stage "install, and tests/consumer built against the install"
  consumer_work="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-consumer-XXXXXX")"
  trap 'rc=$?; rm -rf "$consumer_work"; stage "done (exit $rc)"' EXIT
  cmake --install build/release --prefix "$consumer_work/prefix" >/dev/null
  cmake -S tests/consumer -B "$consumer_work/build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$consumer_work/prefix" >/dev/null
  cmake --build "$consumer_work/build"
  "$consumer_work/build/consumer"
fi

if [ "${IVFTRAIN_SKIP_ASAN:-0}" != 1 ]; then
  stage "AddressSanitizer + UndefinedBehaviorSanitizer build (clang: tests, CLI, fuzz targets) and tests"
  bash scripts/build.sh asan
  # The sanitizers' options (leaks, abort, UBSan halting) are the asan test preset's environment.
  ctest --preset asan -LE 'mpi|interop' -E 'e2e\.(cli_simd|cli_rounds_hier|cli_rounds_kmpar)'
fi

if [ "${IVFTRAIN_SKIP_FUZZ:-0}" != 1 ] && [ -f scripts/fuzz.sh ]; then
  stage "fuzzing (the fuzz targets of the ASan build)"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-6}"
fi

if [ "${IVFTRAIN_AARCH64:-0}" = 1 ]; then
  stage "aarch64 cross build, kernel and k-means unit tests under qemu-user"
  bash scripts/cross-aarch64.sh
fi
