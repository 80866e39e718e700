#!/usr/bin/env bash
# Cross-builds the library and the unit-test binary for aarch64 with Debian's cross toolchain and
# runs the kernel and k-means unit tests (src/linalg, src/kmeans, src/pq, src/sq) under qemu-user.
#   scripts/cross-aarch64.sh            install what is missing, build build/aarch64, run the tests
#   scripts/cross-aarch64.sh --all      run every unit test instead (HDF5's fail: see below)
# GTEST_FILTER overrides the test selection.
#
# Installs (apt-get, once): the cross g++, qemu-user-static and the :arm64 -dev packages, beside
# the amd64 ones (multiarch). It removes or upgrades no amd64 package: libhdf5-dev cannot be
# installed for two architectures at once (and libhdf5:arm64 would pull newer libssl3/libcurl
# than the amd64 set), so this build has IVFTRAIN_WITH_HDF5=OFF and refuses .hdf5/.h5 files;
# MPI is off too. Only the library and ivftrain_tests are built (no CLI, benchmarks or fuzzers),
# without precompiled headers (IVFTRAIN_PCH=OFF): this build is the one that fails on a file
# using a standard or third-party header it does not include, which the other builds' precompiled
# headers would provide.
set -euo pipefail
cd "$(dirname "$0")/.."
triple=aarch64-linux-gnu
build=build/aarch64

packages=(
  g++-aarch64-linux-gnu qemu-user-static
  libopenblas-dev:arm64 libfmt-dev:arm64 libspdlog-dev:arm64 libxxhash-dev:arm64
  libgtest-dev:arm64 libhwy-dev:arm64
)
bash scripts/install-deps.sh "${packages[@]}"

# Only the test files of the suites run below are compiled (--all: every one).
test_files='/src/(linalg|kmeans|pq|sq)/|/src/io/vector_file_test\.cc$'
[ "${1:-}" = --all ] && test_files=""

echo "== aarch64 cross build ($build): library and unit tests"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
  -DCMAKE_BUILD_TYPE=Release -DIVFTRAIN_NATIVE=OFF -DIVFTRAIN_WITH_HDF5=OFF \
  -DIVFTRAIN_WITH_MPI=OFF -DIVFTRAIN_BUILD_BENCH=OFF -DIVFTRAIN_BUILD_TESTS=ON -DIVFTRAIN_PCH=OFF \
  -DIVFTRAIN_UNIT_TEST_FILES="$test_files" >/dev/null
set +e
nice -n 10 cmake --build "$build" --target ivftrain_tests -j "$(nproc)" 2>&1 |
  grep -vE '^\[[0-9]+/[0-9]+\]'
status=${PIPESTATUS[0]}
set -e
((status == 0)) || exit "$status"

# The suites of the kernel and k-means code, read from its test files so that new suites join.
if [ -z "${GTEST_FILTER:-}" ]; then
  if [ "${1:-}" = --all ]; then
    GTEST_FILTER='*'
  else
    mapfile -t suites < <(grep -ohE '^TEST(_F|_P)?\(\s*[A-Za-z0-9_]+' src/linalg/*_test.cc \
      src/kmeans/*_test.cc src/pq/*_test.cc src/sq/*_test.cc | sed -E 's/.*\(\s*//' | sort -u)
    # Suite.* and, for parameterised suites, Prefix/Suite.*; then the one test of this build's
    # own difference: HDF5 files refused with a reason.
    GTEST_FILTER=""
    for suite in "${suites[@]}"; do GTEST_FILTER+="$suite.*:*/$suite.*:"; done
    GTEST_FILTER+="VectorFile.RefusesHdf5WhenBuiltWithoutIt"
  fi
fi
echo "== unit tests under $(basename "$(command -v qemu-aarch64-static)") (filter: $GTEST_FILTER)"
readelf -h "$build/tests/ivftrain_tests" | grep -q "Machine: *AArch64" ||
  { echo "$build/tests/ivftrain_tests is not an aarch64 binary" >&2; exit 1; }
# Loader and libc of one glibc, the cross toolchain's (see cmake/toolchain-aarch64.cmake).
QEMU_LD_PREFIX=/usr/$triple QEMU_SET_ENV=LD_LIBRARY_PATH=/usr/$triple/lib \
  nice -n 10 qemu-aarch64-static "$build/tests/ivftrain_tests" \
  --gtest_filter="$GTEST_FILTER" --gtest_brief=1
