#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: install, build, run every test (unit, CLI
# end to end, MPI). `.ci/run` calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash scripts/build.sh release
ctest --preset release
