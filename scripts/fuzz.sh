#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset) and runs each for SECONDS (default 30) over a
# copy of its seed corpus (fuzz/corpus/NAME; the repository's corpus is never grown), then prints
# per target the executions and the coverage libFuzzer reports. Exits non-zero when a target
# crashed, leaked, timed out or broke an invariant; the crashing inputs are kept under
# build/fuzz/artifacts/. Usage:
#   scripts/fuzz.sh [SECONDS] [NAME...]      e.g. scripts/fuzz.sh 60 npy manifest
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
seconds="${1:-30}"
shift || true
all=(npy fvecs bvecs fbin u8bin hdf5 manifest task_json sample_result npy_header)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

cmake --preset fuzz >/dev/null
build_rc=0
build_log="$(cmake --build --preset fuzz -j "${IVFTRAIN_FUZZ_JOBS:-$(nproc)}" 2>&1)" || build_rc=$?
grep -vE '^\[[0-9]+/[0-9]+\]' <<<"$build_log" || true
[ "$build_rc" -eq 0 ] || { echo "fuzz build failed" >&2; exit "$build_rc"; }

bin_dir="$ROOT/build/fuzz/fuzz"
artifacts="$ROOT/build/fuzz/artifacts"
mkdir -p "$artifacts"
work="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-fuzz-XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=()
summary=()
for name in "${targets[@]}"; do
  exe="$bin_dir/fuzz_$name"
  [ -x "$exe" ] || { echo "no fuzz target $name ($exe)" >&2; exit 2; }
  mkdir -p "$work/$name"
  cp -r "$ROOT/fuzz/corpus/$name" "$work/$name/corpus"
  args=("$work/$name/corpus" -max_total_time="$seconds" -print_final_stats=1
        -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$name-")
  [ -f "$ROOT/fuzz/dict/$name.dict" ] && args+=(-dict="$ROOT/fuzz/dict/$name.dict")
  [ "$name" = npy_header ] && args+=(-dict="$ROOT/fuzz/dict/npy.dict")
  echo "== fuzz_$name for ${seconds}s"
  rc=0
  "$exe" "${args[@]}" >"$work/$name.log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -1)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/$name.log" | tail -1)"
  line="$(printf '%-14s execs %-10s %s' "$name" "${execs:-?}" "${cov:-cov: ?}")"
  if [ "$rc" -ne 0 ]; then
    failed+=("$name")
    line+="  FAILED (exit $rc)"
    cp "$work/$name.log" "$artifacts/$name.log"
    grep -E 'ERROR|runtime error|invariant failed|Test unit written' "$work/$name.log" | head -5
    echo "   log: $artifacts/$name.log"
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "target         executions  coverage (libFuzzer cov/ft)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]} (reproduce: build/fuzz/fuzz/fuzz_NAME build/fuzz/artifacts/NAME-crash-...)" >&2
  exit 1
fi
