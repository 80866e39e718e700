#!/usr/bin/env bash
# Builds the libFuzzer targets it runs (in the `asan` preset's build, build/asan, where
# scripts/test.sh has built them already beside the sanitized tests) and runs each for SECONDS
# (default 30) over a copy of its seeds (tests/corpus/valid/NAME and tests/corpus/malformed/NAME:
# the repository's corpus is never grown) plus the inputs that once crashed it
# (tests/corpus/regressions/NAME). Prints, per target, the executions and the coverage libFuzzer
# reports, and exits non-zero when a target crashed, leaked, timed out or broke an invariant (the
# input that did it is kept in build/asan/fuzz/artifacts/). Usage:
#   scripts/fuzz.sh [SECONDS] [NAME...]      e.g. scripts/fuzz.sh 60 npy manifest
# NAME is one of the default list below, or hdf5_raw: fuzz_hdf5 on raw file bytes, which finds
# crashes inside libhdf5 itself (see fuzz/fuzz_hdf5.cc), hence not in the default list.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
seconds="${1:-30}"
shift || true
all=(npy fvecs bvecs fbin u8bin hdf5 manifest task_json sample_result npy_header model_dir)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

build_targets=()
for name in "${targets[@]}"; do
  [[ " ${all[*]} " == *" ${name%_raw} "* ]] || { echo "no fuzz target $name" >&2; exit 2; }
  build_targets+=("fuzz_${name%_raw}")
done

cmake --preset asan >/dev/null
build_rc=0
build_log="$(cmake --build --preset asan -j "${IVFTRAIN_FUZZ_JOBS:-$(nproc)}" \
  --target "${build_targets[@]}" 2>&1)" || build_rc=$?
grep -vE '^\[[0-9]+/[0-9]+\]' <<<"$build_log" || true
[ "$build_rc" -eq 0 ] || { echo "fuzz build failed" >&2; exit "$build_rc"; }

bin_dir="$ROOT/build/asan/fuzz"
artifacts="$bin_dir/artifacts"
mkdir -p "$artifacts"
# Corpus copies and the targets' scratch files (removed even when a target crashed), in memory
# when /dev/shm is there.
base="${TMPDIR:-/tmp}"
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work="$(mktemp -d "$base/ivftrain-fuzz-XXXXXX")"
trap 'rm -rf "$work"' EXIT
export IVFTRAIN_FUZZ_SCRATCH="$work/scratch"

failed=()
summary=()
for name in "${targets[@]}"; do
  exe="$bin_dir/fuzz_${name%_raw}"
  env=()
  [ "$name" = hdf5_raw ] && env=(IVFTRAIN_FUZZ_HDF5_RAW=1)
  [ -x "$exe" ] || { echo "no fuzz target $name ($exe)" >&2; exit 2; }
  mkdir -p "$work/$name/corpus"
  for kind in valid malformed; do
    seeds="$ROOT/tests/corpus/$kind/$name"
    if [ -d "$seeds" ]; then cp -r "$seeds/." "$work/$name/corpus"; fi
  done
  # Inputs that once crashed a target (tests/corpus/regressions/NAME) are replayed first:
  # read-only, as libFuzzer writes new inputs to the first directory only.
  dirs=("$work/$name/corpus")
  [ -d "$ROOT/tests/corpus/regressions/$name" ] && dirs+=("$ROOT/tests/corpus/regressions/$name")
  args=("${dirs[@]}" -max_total_time="$seconds" -print_final_stats=1
        -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$name-")
  [ -f "$ROOT/fuzz/dict/$name.dict" ] && args+=(-dict="$ROOT/fuzz/dict/$name.dict")
  [ "$name" = npy_header ] && args+=(-dict="$ROOT/fuzz/dict/npy.dict")
  echo "== fuzz_$name for ${seconds}s"
  rc=0
  env "${env[@]}" "$exe" "${args[@]}" >"$work/$name.log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -1)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/$name.log" | tail -1 || true)"
  line="$(printf '%-14s execs %-10s %s' "$name" "${execs:-?}" "${cov:-cov: ?}")"
  if [ "$rc" -ne 0 ]; then
    failed+=("$name")
    line+="  FAILED (exit $rc)"
    cp "$work/$name.log" "$artifacts/$name.log"
    grep -E 'ERROR|runtime error|what\(\)|invariant failed|Test unit written' "$work/$name.log" \
      | head -5 || true
    echo "   log: $artifacts/$name.log"
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "target         executions  coverage (libFuzzer cov/ft)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]} (reproduce: build/asan/fuzz/fuzz_NAME build/asan/fuzz/artifacts/NAME-crash-...)" >&2
  exit 1
fi
