#!/usr/bin/env bash
# Installs everything ivftrain needs to build, test and benchmark, from Debian's archive, or, given
# package names (scripts/cross-aarch64.sh: NAME:arm64 ones), those. Installs only what is missing;
# a foreign architecture named by a package (:arm64) is added to dpkg first.
#   scripts/install-deps.sh [PACKAGE...]
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev libopenmpi-dev openmpi-bin libhdf5-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev libxxhash-dev libhwy-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-format libclang-rt-14-dev libomp-dev valgrind strace
  python3 python3-numpy python3-h5py python3-faiss python3-sklearn
  python3-dev pybind11-dev python3-pybind11 python3-pytest python3-matplotlib
)
(($#)) && packages=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  for arch in $(printf '%s\n' "${missing[@]}" | sed -n 's/^[^:]*:\([a-z0-9]*\)$/\1/p' | sort -u); do
    dpkg --print-foreign-architectures | grep -qx "$arch" || $SUDO dpkg --add-architecture "$arch"
  done
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
