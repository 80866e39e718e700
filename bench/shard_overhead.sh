#!/usr/bin/env bash
# The cost of sharding on one machine: IVF k-means seconds per iteration with R ranks x 1 thread
# (`ivftrain train --mpi`, sharded) against 1 rank x R threads, on the same sample. Issue 11 asks
# that 2 ranks x 1 thread stay within 1.15x of 1 rank x 2 threads on this 2-core machine.
#
#   bench/shard_overhead.sh          # 262,144 x 128, k = 1024, 10 iterations, 5 repetitions
#
# Environment: IVF (binary), ROWS, DIM, PARTITIONS, ITERS, REPS, RANKS (2), WORK. Runs alternate
# (threads, ranks, threads, ...); prints the median per-iteration seconds (model.json's
# timings.ivf_seconds_per_iteration, iterations after the first) of each and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
IVF="$(realpath "${IVF:-build/release/tools/ivftrain}")"
ROWS="${ROWS:-262144}" DIM="${DIM:-128}" PARTITIONS="${PARTITIONS:-1024}"
ITERS="${ITERS:-10}" REPS="${REPS:-5}" RANKS="${RANKS:-2}"
WORK="${WORK:-/tmp/ivftrain-shard-overhead}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# --bind-to none: by default OpenMPI binds each rank to one core, which would run the threads
# of the one-rank run on a single core.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader)
mkdir -p "$WORK"
data="$WORK/data-$ROWS-$DIM"
[ -d "$data" ] || "$IVF" -q gen "$data" --rows "$ROWS" --dim "$DIM" --fragments 8 --format npy
flags=(--index-type ivf_flat --num-partitions "$PARTITIONS" --max-iters "$ITERS" --tolerance 0
       --sample-rate $(( (ROWS + PARTITIONS - 1) / PARTITIONS )) --mpi)
per_iter() {  # median seconds per iteration after the first, from a model.json
  /usr/bin/python3 -c 'import json,statistics,sys
s=json.load(open(sys.argv[1]))["timings"]["ivf_seconds_per_iteration"][1:]
print(statistics.median(s))' "$1/model.json"
}
threads=() ranks=()
for rep in $(seq "$REPS"); do
  rm -rf "$WORK/m1" "$WORK/m2"
  "${MPIRUN[@]}" -n 1 "$IVF" -q train "$data" --out "$WORK/m1" --threads "$RANKS" "${flags[@]}"
  threads+=("$(per_iter "$WORK/m1")")
  "${MPIRUN[@]}" -n "$RANKS" "$IVF" -q train "$data" --out "$WORK/m2" --threads 1 "${flags[@]}"
  ranks+=("$(per_iter "$WORK/m2")")
  cmp -s "$WORK/m1/ivf_centroids.npy" "$WORK/m2/ivf_centroids.npy" ||
    { echo "the two runs gave different centroids" >&2; exit 1; }
done
/usr/bin/python3 - "${threads[*]}" "${ranks[*]}" "$RANKS" <<'PY'
import statistics, sys
t = [float(v) for v in sys.argv[1].split()]
r = [float(v) for v in sys.argv[2].split()]
n = sys.argv[3]
mt, mr = statistics.median(t), statistics.median(r)
print(f"1 rank x {n} threads: {mt:.3f} s per iteration (median of {len(t)})")
print(f"{n} ranks x 1 thread: {mr:.3f} s per iteration (median of {len(r)})")
print(f"ratio ranks / threads: {mr / mt:.3f} (issue 11 target <= 1.15)")
PY
