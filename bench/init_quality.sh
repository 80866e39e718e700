#!/usr/bin/env bash
# The k-means initialisations compared on quality and on work, both deterministic (no timing):
# random, kmeans++ and kmeans-parallel (k-means||) on generated Gaussian mixtures, the same
# iterations for all (no early stop), seeds 1 2 3. Prints, per shape and init, the median over
# seeds of the IVF training MSE (objective / training rows) after the first and after the last
# iteration, the last one relative to random init, and the work of the initialisation in
# *assignments*: distances computed (row x centroid pairs, each d multiply-adds) divided by the
# n x k of one full assignment. k-means++ computes each row's distance to each new centroid,
# (k - 1) n; k-means|| each row's distance to each of its m candidates, then a k-means++ over
# the candidates, m n + (k - 1) m (m from the log). Then random init given the same work as
# extra Lloyd iterations (each costs the rows it assigned in full times k, from the log: the
# bounds make late iterations cheap): its MSE after those, the comparison at equal work. Usage:
#   bench/init_quality.sh [path/to/ivftrain] [ITERS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IVF="$(realpath "${1:-$ROOT/build/release/tools/ivftrain}")"
ITERS="${2:-25}"
# Random init runs this many iterations, for the equal-work column (a prefix of them is the
# ITERS-iteration run: no early stop, so the first ITERS iterations are the same).
LONG=$((ITERS * 6))
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
    iters=$ITERS
    [ "$init" = random ] && iters=$LONG
    for seed in 1 2 3; do
      # -v: the log names the k-means|| candidates and the rows each iteration assigned in full.
      nice -n 10 "$IVF" -v train "$name" --out "m-$name-$init-$seed" --index-type ivf_flat \
        --num-partitions "$k" --max-iters "$iters" --tolerance 0 --init "$init" \
        --seed "$seed" 2>"log-$name-$init-$seed" >/dev/null
    done
  done
done
/usr/bin/python3 - "$ITERS" "${shapes[@]}" <<'PY'
import json, re, statistics, sys
iters, shapes = int(sys.argv[1]), [s.split() for s in sys.argv[2:]]


def run(name, init, seed):
    s = json.load(open(f"m-{name}-{init}-{seed}/model.json"))["stats"]
    log = open(f"log-{name}-{init}-{seed}").read()
    n = s["ivf_train_rows"]
    per_iter = [o / n for o in s["ivf_objective_per_iteration"]]
    computed = [int(r) for r in re.findall(r"ivf: iteration \d+: .* (\d+) rows assigned in full", log)]
    cand = re.search(r"k-means\|\|: (\d+) candidates", log)
    return n, per_iter, computed, int(cand.group(1)) if cand else 0


def init_work(init, n, k, m):
    """Distances the initialisation computes, in full assignments (n x k distances)."""
    if init == "kmeans++":
        return (k - 1) * n / (n * k)
    if init == "kmeans-parallel":
        return (m * n + (k - 1) * m) / (n * k)
    return 0.0


print(f"| shape (rows x d, mixture clusters, k) | init | work of the init (assignments) | "
      f"MSE after 1 iteration | after {iters} | vs random | random at equal work (iterations) "
      f"| vs random at equal work |")
print("|---|---|---|---|---|---|---|---|")
for name, rows, dim, clusters, k in shapes:
    k = int(k)
    base = {}
    for seed in (1, 2, 3):
        base[seed] = run(name, "random", seed)
    rand_last = statistics.median(b[1][iters - 1] for b in base.values())
    for init in ("random", "kmeans++", "kmeans-parallel"):
        first, last, work, equal, equal_iters = [], [], [], [], []
        converged = False
        for seed in (1, 2, 3):
            n, obj, computed, m = run(name, init, seed)
            first.append(obj[0])
            last.append(obj[iters - 1])
            w = init_work(init, n, k, m)
            work.append(w)
            # Random init of the same seed, continued past ITERS until its extra iterations
            # have computed as many distances as this initialisation did.
            rn, robj, rcomp, _ = base[seed]
            spent, j = 0.0, iters
            while spent < w and j < len(robj):
                spent += rcomp[j] / rn  # rows computed x k / (n x k)
                j += 1
            # Converged before (the bounds skip every row): the work left unspent buys nothing.
            equal.append(robj[j - 1])
            equal_iters.append(j)
            converged = converged or spent < w
        f, l = statistics.median(first), statistics.median(last)
        e = statistics.median(equal)
        eq = "" if init == "random" else \
            f"{e:.4g} ({statistics.median(equal_iters)}{', converged' if converged else ''}) " \
            f"| {l / e:.3f}"
        print(f"| {rows} x {dim}, {clusters} clusters, k {k} | {init} | "
              f"{statistics.median(work):.2f} | {f:.4g} | {l:.4g} | {l / rand_last:.3f} | "
              f"{eq or '- | -'} |")
PY
