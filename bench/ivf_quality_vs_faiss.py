#!/usr/bin/python3
"""IVF quality against FAISS on the same data, k, iterations and seed.

Generates a 200,000 x 128 Gaussian mixture with `ivftrain gen`, trains an ivf_pq model with
`ivftrain train`, runs faiss.Kmeans with the same k, iterations and seed on the same data, and
prints the mean squared distance of every row to its nearest centroid for both (one shared
function measures both). Also checks the model files' shapes as NumPy loads them.

Run with Debian's python3 (it has faiss and numpy):
    /usr/bin/python3 bench/ivf_quality_vs_faiss.py [--bin build/release/tools/ivftrain]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np


def mean_sq_distance_to_nearest(x, centroids):
    """Mean over rows of the squared l2 distance to the nearest centroid (exact, FAISS flat)."""
    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    d, _ = index.search(np.ascontiguousarray(x, dtype=np.float32), 1)
    return float(d.mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default="build/release/tools/ivftrain")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--seeds", default="1,2,3")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npy")
        subprocess.run([args.bin, "-q", "gen", data, "--rows", str(args.rows), "--dim",
                        str(args.dim), "--clusters", "512", "--seed", "7"], check=True)
        x = np.load(data)
        for seed in [int(s) for s in args.seeds.split(",")]:
            model = os.path.join(tmp, f"model-{seed}")
            t0 = time.perf_counter()
            out = subprocess.run(
                [args.bin, "-q", "train", data, "--out", model, "--index-type", "ivf_pq",
                 "--num-partitions", str(args.k), "--max-iters", str(args.iters),
                 "--tolerance", "0", "--seed", str(seed), "--json"],
                check=True, capture_output=True, text=True)
            ours_s = time.perf_counter() - t0
            summary = json.loads(out.stdout)
            c = np.load(os.path.join(model, "ivf_centroids.npy"))
            cb = np.load(os.path.join(model, "pq_codebook.npy"))
            assert c.dtype == np.float32 and c.shape == (args.k, args.dim), c.shape
            assert cb.dtype == np.float32 and cb.shape == (16, 256, args.dim // 16), cb.shape
            t0 = time.perf_counter()
            km = faiss.Kmeans(args.dim, args.k, niter=args.iters, seed=seed)
            km.train(x)
            faiss_s = time.perf_counter() - t0
            ours = mean_sq_distance_to_nearest(x, c)
            theirs = mean_sq_distance_to_nearest(x, km.centroids)
            results.append({"seed": seed, "ivftrain_mse": ours, "faiss_mse": theirs,
                            "ratio": ours / theirs, "ivftrain_train_rows": summary["ivf_train_rows"],
                            "ivftrain_whole_train_s": ours_s, "faiss_kmeans_s": faiss_s})
    print(f"{'seed':>5} {'ivftrain mse':>14} {'faiss mse':>14} {'ratio':>8}")
    for r in results:
        print(f"{r['seed']:>5} {r['ivftrain_mse']:>14.5f} {r['faiss_mse']:>14.5f} {r['ratio']:>8.4f}")
    ratios = sorted(r["ratio"] for r in results)
    print(f"median ratio (ivftrain / faiss): {ratios[len(ratios) // 2]:.4f}")
    print(json.dumps({"results": results}))
    return 0 if ratios[len(ratios) // 2] <= 1.0 + 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
