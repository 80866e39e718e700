#!/usr/bin/env bash
# Rank 0's peak RSS in sharded MPI training (`ivftrain train --mpi`) for 1 rank against more,
# measured with /usr/bin/time -v on every rank. Issue 11 asks that on a sample of at least 2 GiB,
# rank 0's peak with 4 ranks be at most 0.35 x its peak with 1 rank.
#
#   bench/shard_memory.sh                       # the 2 GiB case: 524,288 x 1024 float32 sample
#   ROWS=65536 DIM=256 PARTITIONS=256 bench/shard_memory.sh   # a 64 MiB sample, in seconds
#   HIER=1 PARTITIONS=4096 ... bench/shard_memory.sh   # sharded hierarchical k-means
#
# Environment: IVF (binary, default build/release/tools/ivftrain), ROWS, DIM, PARTITIONS (the
# sample is 256 x PARTITIONS rows, every row of the dataset when ROWS equals it), FRAGMENTS (16),
# RANKS ("1 4"), ITERS (IVF iterations, 5), WORK (/tmp/ivftrain-shard-memory; the dataset is
# kept there between runs). Prints one line per rank count and the ratio to the first.
set -euo pipefail
cd "$(dirname "$0")/.."
IVF="$(realpath "${IVF:-build/release/tools/ivftrain}")"
ROWS="${ROWS:-524288}"
DIM="${DIM:-1024}"
PARTITIONS="${PARTITIONS:-2048}"
FRAGMENTS="${FRAGMENTS:-16}"
RANKS="${RANKS:-1 4}"
ITERS="${ITERS:-5}"
kmeans=(--kmeans flat)
[ "${HIER:-0}" = 1 ] && kmeans=(--kmeans hierarchical)
WORK="${WORK:-/tmp/ivftrain-shard-memory}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

mkdir -p "$WORK"
data="$WORK/data-$ROWS-$DIM-$FRAGMENTS"
if [ ! -d "$data" ]; then
  "$IVF" -q gen "$data" --rows "$ROWS" --dim "$DIM" --fragments "$FRAGMENTS" --format npy
fi
sample_mib=$(( $(( ROWS < 256 * PARTITIONS ? ROWS : 256 * PARTITIONS )) * DIM * 4 / 1048576 ))
echo "sample: about $sample_mib MiB ($ROWS rows x $DIM dims available, $PARTITIONS partitions," \
  "${kmeans[*]})"
first=""
for r in $RANKS; do
  rm -rf "$WORK/model-$r" "$WORK"/time."$r".*
  # Every rank runs under its own /usr/bin/time; OpenMPI names the rank in the environment.
  "${MPIRUN[@]}" -n "$r" bash -c '/usr/bin/time -v -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' \
    "$WORK/time.$r" "$IVF" -q train "$data" --out "$WORK/model-$r" --mpi --threads 1 \
    --index-type ivf_pq --num-partitions "$PARTITIONS" --num-sub-vectors 16 --max-iters "$ITERS" \
    "${kmeans[@]}"
  kb=$(sed -nE 's/^\s*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' "$WORK/time.$r.0")
  others=""
  for ((i = 1; i < r; ++i)); do
    others+=" $(( $(sed -nE 's/^\s*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' \
      "$WORK/time.$r.$i") / 1024 ))"
  done
  [ -n "$first" ] || first=$kb
  ratio=$(awk -v a="$kb" -v b="$first" 'BEGIN { printf "%.3f", a / b }')
  echo "$r rank(s): rank 0 peak RSS $(( kb / 1024 )) MiB (${ratio} x the first)${others:+; other ranks (MiB):$others}"
done
