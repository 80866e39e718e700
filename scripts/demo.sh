#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine: install, build, generate a small dataset
# (200,000 x 128, 8 fragments), train an IVF_PQ model on it and summarise the model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
bin=build/release/tools/ivftrain
out=out/demo
rm -rf "$out" && mkdir -p "$out"
"$bin" gen "$out/data" --rows 200000 --dim 128 --clusters 256 --fragments 8 --format npy
"$bin" train "$out/data" --out "$out/model" --index-type ivf_pq --num-partitions 256 \
  --num-sub-vectors 16 --num-bits 8
"$bin" inspect "$out/model"
/usr/bin/python3 - "$out/model" <<'PY'
import sys, numpy as np
d = sys.argv[1]
c = np.load(f"{d}/ivf_centroids.npy"); cb = np.load(f"{d}/pq_codebook.npy")
print(f"numpy: ivf_centroids {c.dtype} {c.shape}, pq_codebook {cb.dtype} {cb.shape}")
PY
