#!/usr/bin/python3
"""Recall@10 against nprobe and vectors scanned: ivftrain's IVF models against FAISS's k-means.

Generates N x d base vectors and Q queries (`ivftrain gen`, one Gaussian mixture), trains IVF
(ivf_flat, so that recall measures the partitions alone) with ivftrain under several settings
(--variants, e.g. random init, kmeans++, --balance 1.5) and with faiss.Kmeans (same k,
iterations, seed and 256 rows per centroid), puts FAISS's centroids in a model directory, and
evaluates every model with `ivftrain eval` (exact ground truth). Prints, per nprobe, each
model's recall@10 and vectors scanned per query, and each ivftrain model's recall interpolated
at the vectors FAISS scanned (log-linear between its own nprobes): the comparison at equal
cost.

    /usr/bin/python3 bench/eval_quality.py [--bin build/release/tools/ivftrain] [--rows 100000]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import faiss
import numpy as np


def recall_at_scanned(probes, scanned):
    """A model's recall@10 at `scanned` vectors per query, log-linear between its nprobes."""
    xs = np.log([p["vectors_scanned"] for p in probes])
    ys = [p["recall"]["10"] for p in probes]
    return float(np.interp(np.log(scanned), xs, ys))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", default="build/release/tools/ivftrain")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--partitions", type=int, default=256)
    ap.add_argument("--clusters", type=int, default=1000, help="mixture components of the data")
    ap.add_argument("--spread", type=float, default=1.0,
                    help="standard deviation of the mixture's centres (rows have 1): overlap")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nprobe", default="1,2,4,8,16,32")
    ap.add_argument("--variants", default="random:--init random;kmeans++:--init kmeans++;"
                    "balance1.5:--init random --balance 1.5",
                    help="NAME:FLAGS;... trained by ivftrain")
    args = ap.parse_args()
    ivf = os.path.abspath(args.bin)
    models = {}
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda name: os.path.join(tmp, name)
        subprocess.run([ivf, "-q", "gen", p("all.npy"), "--rows", str(args.rows + args.queries),
                        "--dim", str(args.dim), "--clusters", str(args.clusters), "--spread", str(args.spread),
                        "--seed", "7"],
                       check=True)
        x = np.load(p("all.npy"))
        np.save(p("base.npy"), x[:args.rows])
        np.save(p("q.npy"), x[args.rows:])
        base = x[:args.rows]
        common = ["--index-type", "ivf_flat", "--num-partitions", str(args.partitions),
                  "--max-iters", str(args.iters), "--seed", str(args.seed)]
        for variant in args.variants.split(";"):
            name, flags = variant.split(":", 1)
            subprocess.run([ivf, "-q", "train", p("base.npy"), "--out", p(name)] + common
                           + flags.split(), check=True)
            models[name] = p(name)
        # FAISS's k-means on the same rows: its own sample of 256 rows per centroid.
        km = faiss.Kmeans(args.dim, args.partitions, niter=args.iters, seed=args.seed)
        km.train(np.ascontiguousarray(base))
        first = next(iter(models.values()))
        shutil.copytree(first, p("faiss"))
        np.save(p("faiss/ivf_centroids.npy"), km.centroids.astype(np.float32))
        models["faiss"] = p("faiss")
        reports = {}
        for name, path in models.items():
            out = subprocess.run([ivf, "-q", "eval", path, p("base.npy"), "--queries", p("q.npy"),
                                  "--k", "10", "--nprobe", args.nprobe, "--json"],
                                 check=True, capture_output=True, text=True)
            reports[name] = json.loads(out.stdout)
    names = list(reports)
    print(f"{args.rows} x {args.dim} ({args.clusters}-component mixture, spread {args.spread}), {args.partitions} "
          f"partitions, {args.queries} queries; recall@10 / vectors scanned per query")
    print(f"{'nprobe':>6} " + " ".join(f"{n:>20}" for n in names)
          + "".join(f" {n + '@faiss-scan':>20}" for n in names if n != "faiss"))
    for i, nprobe in enumerate(args.nprobe.split(",")):
        row = f"{nprobe:>6} "
        row += " ".join(f"{reports[n]['probes'][i]['recall']['10']:>10.4f} / "
                        f"{reports[n]['probes'][i]['vectors_scanned']:>7.0f}" for n in names)
        scanned = reports["faiss"]["probes"][i]["vectors_scanned"]
        row += "".join(f" {recall_at_scanned(reports[n]['probes'], scanned):>20.4f}"
                       for n in names if n != "faiss")
        print(row)
    for n in names:
        part = reports[n]["partitions"]
        print(f"{n:>12}: largest / mean {part['largest_over_mean']:.2f}, cv {part['cv']:.3f}, "
              f"empty {part['empty']}")
    print(json.dumps({n: r["probes"] for n, r in reports.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
