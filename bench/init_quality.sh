#!/usr/bin/env bash
# The k-means initialisations compared on quality alone (no timing: MSE is deterministic):
# random, kmeans++ and kmeans-parallel (k-means||) on generated Gaussian mixtures, the same
# iterations for all (no early stop), seeds 1 2 3. Prints, per shape and init, the median over
# seeds of the IVF training MSE (objective / training rows) after the first and after the last
# iteration, and the last one relative to random init. Usage:
#   bench/init_quality.sh [path/to/ivftrain] [ITERS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IVF="$(realpath "${1:-$ROOT/build/release/tools/ivftrain}")"
ITERS="${2:-25}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-init-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
# name rows dim clusters k: the sample is 256 k rows, all of them
shapes=("d32-k64-c100 16384 32 100 64" "d128-k256-c300 65536 128 300 256"
  "d32-k256-c1000 65536 32 1000 256")
for shape in "${shapes[@]}"; do
  read -r name rows dim clusters k <<<"$shape"
  nice -n 10 "$IVF" -q gen "$name" --rows "$rows" --dim "$dim" --clusters "$clusters" \
    --fragments 4 --format npy --seed 3
  for init in random kmeans++ kmeans-parallel; do
    for seed in 1 2 3; do
      nice -n 10 "$IVF" -q train "$name" --out "m-$name-$init-$seed" --index-type ivf_flat \
        --num-partitions "$k" --max-iters "$ITERS" --tolerance 0 --init "$init" --seed "$seed"
    done
  done
done
/usr/bin/python3 - "$ITERS" "${shapes[@]}" <<'PY'
import json, statistics, sys
iters, shapes = sys.argv[1], [s.split() for s in sys.argv[2:]]
print(f"| shape (rows, d, mixture clusters, k) | init | MSE after 1 iteration | MSE after {iters} | vs random |")
print("|---|---|---|---|---|")
for name, rows, dim, clusters, k in shapes:
    base = None
    for init in ("random", "kmeans++", "kmeans-parallel"):
        first, last = [], []
        for seed in (1, 2, 3):
            s = json.load(open(f"m-{name}-{init}-{seed}/model.json"))["stats"]
            n = s["ivf_train_rows"]
            first.append(s["ivf_objective_per_iteration"][0] / n)
            last.append(s["ivf_objective"] / n)
        f, l = statistics.median(first), statistics.median(last)
        base = base or l
        print(f"| {rows} x {dim}, {clusters} clusters, k {k} | {init} | {f:.4g} | {l:.4g} | {l / base:.3f} |")
PY
