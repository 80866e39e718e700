#!/usr/bin/env bash
# Peak RSS of every process of hierarchical k-means through files (`ivftrain advance` and each
# worker's `ivftrain round`, round by round), against local training, measured with
# /usr/bin/time; the workers run one after another so that each is measured alone. Checks that
# the model is local training's.
#
#   bench/rounds_hier_memory.sh          # 400,000 x 64 rows, a 262,144-row (67 MB) sample, 4 workers
#   FLAGS="--index-type ivf_flat --num-partitions 1024 --init kmeans-parallel --max-iters 5" \
#     bench/rounds_hier_memory.sh        # flat k-means with k-means|| in rounds instead
#
# Environment: IVF (binary, default build/release/tools/ivftrain), ROWS (400000), DIM (64),
# PARTITIONS (4096), WORKERS (4), FRAGMENTS (8; at least WORKERS, so that every worker has rows),
# WORK (/tmp/ivftrain-rounds-hier-memory), FLAGS (the training flags; default hierarchical
# k-means of PARTITIONS partitions).
set -euo pipefail
cd "$(dirname "$0")/.."
IVF="$(realpath "${IVF:-build/release/tools/ivftrain}")"
ROWS="${ROWS:-400000}"
DIM="${DIM:-64}"
PARTITIONS="${PARTITIONS:-4096}"
W="${WORKERS:-4}"
WORK="${WORK:-/tmp/ivftrain-rounds-hier-memory}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
F="${FRAGMENTS:-8}"
fragments=$(/usr/bin/python3 -c "print(','.join([str($ROWS // $F)] * ($F - 1) + [str($ROWS - ($F - 1) * ($ROWS // $F))]))")
"$IVF" -q gen data --rows "$ROWS" --dim "$DIM" --clusters 100 --format fbin \
  --fragment-rows "$fragments"
flags=(--index-type ivf_flat --num-partitions "$PARTITIONS" --kmeans hierarchical --max-iters 10
  --sample-rate 64)
if [ -n "${FLAGS:-}" ]; then read -r -a flags <<<"$FLAGS"; fi
peak() { /usr/bin/time -f "%M" -o rss "$@" || return $?; }
"$IVF" -q plan data --workers "$W" --out plan "${flags[@]}"
for t in plan/task-*.json; do "$IVF" -q sample "$t"; done
echo "sample results: $(cat plan/task-*.result | wc -c) bytes"
echo "baseline (ivftrain --help): $(peak "$IVF" --help >/dev/null; cat rss) KiB"
while :; do
  rc=0; peak "$IVF" -q advance plan --out model || rc=$?
  echo "advance: $(tail -n 1 rss) KiB"
  [ "$rc" -eq 0 ] && break
  [ "$rc" -eq 3 ] || exit "$rc"
  r=$(ls -d plan/round-* | tail -1)
  line="$(basename "$r") workers:"
  for w in $(seq 0 $((W - 1))); do
    peak "$IVF" -q round plan --worker "$w" --threads 1
    line="$line $(tail -n 1 rss)"
  done
  echo "$line KiB"
done
peak "$IVF" -q train data --out local --threads 1 "${flags[@]}"
echo "local train: $(tail -n 1 rss) KiB"
cmp local/ivf_centroids.npy model/ivf_centroids.npy && echo "the model is local training's"
