#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release). Usage: scripts/build.sh [PRESET]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
# Ninja's progress lines are dropped; warnings and errors stay. The build's own exit status
# decides (PIPESTATUS is read before any other command runs).
set +e
cmake --build --preset "$preset" -j "$(nproc)" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]'
status=${PIPESTATUS[0]}
set -e
exit "$status"
