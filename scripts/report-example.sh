#!/usr/bin/env bash
# Regenerates docs/report.png, the README's picture of a run: a generated dataset, an IVF_PQ
# model, its `ivftrain eval --json` (500 held-out rows as queries) and `python3 -m ivftrain report`
# over them. Usage: scripts/report-example.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/tools/ivftrain" gen "$tmp/x.npy" --rows 50000 --dim 64 --quiet
"$build/tools/ivftrain" train "$tmp/x.npy" --out "$tmp/model" --num-partitions 128 \
  --num-sub-vectors 8 --quiet
"$build/tools/ivftrain" eval "$tmp/model" "$tmp/x.npy" --num-queries 500 --k 1,10 --json \
  --quiet > "$tmp/eval.json"
PYTHONPATH="$build/python" /usr/bin/python3 -m ivftrain report "$tmp/model" --data "$tmp/x.npy" \
  --eval "$tmp/eval.json" --out docs/report.png --title "ivftrain report: 50,000 x 64 generated rows, IVF_PQ, 128 partitions"
