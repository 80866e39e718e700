#!/usr/bin/python3
"""Would pruning dimensions during assignment (SuperKMeans, arXiv 2603.20009) pay in ivftrain?

A count of arithmetic, not a timing. In a rotated space (PCA of the rows, so that the leading
dimensions carry the most variance), a row's squared distance to a centroid over the first p
dimensions is a lower bound of the full distance. A centroid whose partial distance already
exceeds the row's full distance to the centroid it had (its label from the previous iteration)
cannot be the nearest: it is pruned, exactly (the model does not change; SuperKMeans' ADSampling
goes further with a probabilistic test). The assignment then costs p/d of a full product for
the partial distances plus, for the pairs that survive, the remaining d - p dimensions.

For each data set, iteration and p the script prints the share of (row, centroid) pairs that
survive and the arithmetic against a full assignment, (p + survivors (d - p)) / d, for:
  - the rows of workload 2 of bench/compare.py (Gaussian mixture, 768 dims, 1024 components:
    isotropic, the variance spread evenly over the dimensions), and
  - the same rows with a decaying spectrum (dimension j scaled by (1 + j)^-1/2, then a random
    rotation), as embeddings of text and images have.
The rows are those bench/compare.py uses (its cache); centroids are ivftrain's (bench/kmeans_tool,
k = 1024) after 2 and after 10 iterations on 65,536 of the rows; 8,192 other rows are measured.

Run with Debian's python3 (numpy):
    /usr/bin/python3 bench/pruning_study.py [--tool build/release/bench/kmeans_tool]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(tool, x, k, iters, scratch):
    """ivftrain's centroids of x after `iters` iterations (random init, seed 1)."""
    data, out = os.path.join(scratch, "x.npy"), os.path.join(scratch, "c.npy")
    np.save(data, x)
    subprocess.run([tool, "kmeans", data, out, "--k", str(k), "--iters", str(iters), "--seed", "1",
                    "--tolerance", "0", "--threads", "0"], check=True, capture_output=True)
    return np.load(out)


def sqdist(a, b):
    """Squared l2 distances between the rows of a and b, in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)


def study(name, x_train, x_eval, tool, k, scratch):
    d = x_train.shape[1]
    # The rotation: principal axes of the training rows, largest variance first.
    mean = x_train.mean(0, dtype=np.float64)
    cov = np.cov((x_train - mean).T.astype(np.float64))
    _, vecs = np.linalg.eigh(cov)
    rot = vecs[:, ::-1]
    ev = np.linalg.eigvalsh(cov)[::-1]
    share = np.cumsum(ev) / ev.sum()
    print(f"\n{name}: {x_train.shape[0]} training rows x {d} dims, k = {k}; variance in the "
          f"first 1/8 of the principal axes: {share[d // 8 - 1]:.2f}, first 1/4: "
          f"{share[d // 4 - 1]:.2f}")
    print(f"  {'centroids':<16} {'axes':<6} {'p':>5} {'pairs surviving':>16} {'arithmetic':>11}")
    rows = []
    for iters in (2, 10):
        # The row's label: its nearest centroid after iters - 1 iterations (the previous step).
        prev = train(tool, x_train, k, iters - 1, scratch)
        cur = train(tool, x_train, k, iters, scratch)
        label = sqdist(x_eval, prev).argmin(1)
        bound = sqdist(x_eval, cur)[np.arange(len(x_eval)), label]  # full distance, own centroid
        for axes, xr, cr in (("raw", x_eval, cur), ("PCA", (x_eval - mean) @ rot,
                                                   (cur - mean) @ rot)):
            for frac in (32, 16, 8, 4):
                p = d // frac
                partial = sqdist(xr[:, :p], cr[:, :p])
                survive = float((partial <= bound[:, None]).mean())
                cost = (p + survive * (d - p)) / d
                rows.append({"data": name, "iterations": iters, "axes": axes, "p": p,
                             "surviving": survive, "arithmetic": cost})
                print(f"  after {iters:>2} it.    {axes:<6} {p:>5} {survive:>16.3f} {cost:>11.3f}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/release/bench/kmeans_tool"))
    ap.add_argument("--data", default="/tmp/ivftrain-bench/gmm-262144x768-c1024-s7.npy",
                    help="workload 2's rows (bench/compare.py --workloads 2 writes them)")
    ap.add_argument("--k", type=int, default=1024)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    if not os.path.exists(args.data):
        sys.exit(f"pruning_study.py: {args.data} is missing; `/usr/bin/python3 bench/compare.py "
                 f"--workloads 2 --reps 1` generates it (or give --data)")
    x = np.load(args.data, mmap_mode="r")
    x_train = np.ascontiguousarray(x[:65536], dtype=np.float32)
    x_eval = np.ascontiguousarray(x[65536:65536 + 8192], dtype=np.float32)
    d = x.shape[1]
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scale = (1.0 + np.arange(d)) ** -0.5
    decay = lambda a: ((a * scale) @ q).astype(np.float32)  # noqa: E731
    with tempfile.TemporaryDirectory() as scratch:
        rows = study("workload 2 rows (isotropic)", x_train, x_eval, args.tool, args.k, scratch)
        rows += study("decaying spectrum", decay(x_train), decay(x_eval), args.tool, args.k,
                      scratch)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
