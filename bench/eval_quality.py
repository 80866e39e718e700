#!/usr/bin/python3
"""Recall@10 against nprobe and vectors scanned: ivftrain's IVF models against FAISS's k-means.

Generates N x d base vectors and Q queries (`ivftrain gen`, one Gaussian mixture), trains IVF
(ivf_flat, so that recall measures the partitions alone) with ivftrain under several settings
(--variants, e.g. random init, kmeans++, --balance 1.5) and with faiss.Kmeans (same k,
iterations, seed and 256 rows per centroid), puts FAISS's centroids in a model directory, and
evaluates every model with `ivftrain eval` (exact ground truth). Prints, per nprobe, each
model's recall@10 and vectors scanned per query, and each ivftrain model's recall interpolated
at the vectors FAISS scanned (log-linear between its own nprobes) and that minus FAISS's recall:
the comparison at equal cost, and each model's k-means MSE over the base rows. With several
--seeds every figure is the median over the seeds, the differences paired by seed.

    /usr/bin/python3 bench/eval_quality.py [--bin build/release/tools/ivftrain] [--seeds 1,2,3]
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


def train_and_eval(args, ivf, tmp, seed):
    """Every variant's and FAISS's `ivftrain eval` report for one training seed."""
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    base = np.ascontiguousarray(np.load(p("base.npy")))
    common = ["--index-type", "ivf_flat", "--num-partitions", str(args.partitions),
              "--max-iters", str(args.iters), "--seed", str(seed)]
    models = {}
    for variant in args.variants.split(";"):
        name, flags = variant.split(":", 1)
        subprocess.run([ivf, "-q", "train", p("base.npy"), "--out", p(name), "--overwrite"]
                       + common + flags.split(), check=True)
        models[name] = p(name)
    # FAISS's k-means on the same rows: its own sample of 256 rows per centroid.
    km = faiss.Kmeans(args.dim, args.partitions, niter=args.iters, seed=seed)
    km.train(np.ascontiguousarray(base))
    first = next(iter(models.values()))
    shutil.rmtree(p("faiss"), ignore_errors=True)
    shutil.copytree(first, p("faiss"))
    np.save(p("faiss/ivf_centroids.npy"), km.centroids.astype(np.float32))
    models["faiss"] = p("faiss")
    reports = {}
    for name, path in models.items():
        out = subprocess.run([ivf, "-q", "eval", path, p("base.npy"), "--queries", p("q.npy"),
                              "--k", "10", "--nprobe", args.nprobe, "--json"],
                             check=True, capture_output=True, text=True)
        reports[name] = json.loads(out.stdout)
        # The k-means objective over every base row: mean squared distance to the nearest centroid.
        flat = faiss.IndexFlatL2(args.dim)
        flat.add(np.load(os.path.join(path, "ivf_centroids.npy")).astype(np.float32))
        reports[name]["mse"] = float(flat.search(base, 1)[0].astype(np.float64).mean())
    return reports


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
    ap.add_argument("--seeds", default="1", type=lambda v: [int(s) for s in v.split(",")],
                    help="training seeds (ivftrain's and FAISS's): with several, every figure is "
                    "the median over them, and each difference to FAISS is paired by seed")
    ap.add_argument("--per-seed", action="store_true", help="also print each seed's differences")
    ap.add_argument("--pairs", default="",
                    help="A/B;...: model A's recall at FAISS's scan minus model B's, paired by "
                    "seed (mean, standard error, seeds where A is higher)")
    ap.add_argument("--nprobe", default="1,2,4,8,16,32,64")
    ap.add_argument("--variants", default="random:--init random;kmeans++:--init kmeans++;"
                    "kmeans||:--init kmeans-parallel;"
                    "balance1.5:--init random --balance 1.5",
                    help="NAME:FLAGS;... trained by ivftrain")
    args = ap.parse_args()
    ivf = os.path.abspath(args.bin)
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda name: os.path.join(tmp, name)  # noqa: E731
        subprocess.run([ivf, "-q", "gen", p("all.npy"), "--rows", str(args.rows + args.queries),
                        "--dim", str(args.dim), "--clusters", str(args.clusters),
                        "--spread", str(args.spread), "--seed", "7"], check=True)
        x = np.load(p("all.npy"))
        np.save(p("base.npy"), x[:args.rows])
        np.save(p("q.npy"), x[args.rows:])
        runs = {seed: train_and_eval(args, ivf, tmp, seed) for seed in args.seeds}
    names = list(runs[args.seeds[0]])
    ours = names[:-1]
    med = lambda f: float(np.median([f(r) for r in runs.values()]))  # noqa: E731

    def at_faiss(r, n, i):
        """Model n's recall at the vectors FAISS scanned at nprobe i (FAISS's own recall for
        FAISS), in the runs r of one seed."""
        return recall_at_scanned(r[n]["probes"], r["faiss"]["probes"][i]["vectors_scanned"])

    print(f"{args.rows} x {args.dim} ({args.clusters}-component mixture, spread {args.spread}), "
          f"{args.partitions} partitions, {args.queries} queries, median over seeds {args.seeds}; "
          "recall@10 / vectors scanned per query, and recall at FAISS's scan (of the same seed) "
          "minus FAISS's")
    print(f"{'nprobe':>6} " + " ".join(f"{n:>20}" for n in names)
          + "".join(f" {n + '@faiss-scan':>20} {'-faiss':>7}" for n in ours))
    for i, nprobe in enumerate(args.nprobe.split(",")):
        row = f"{nprobe:>6} "
        row += " ".join(f"{med(lambda r: r[n]['probes'][i]['recall']['10']):>10.4f} / "
                        f"{med(lambda r: r[n]['probes'][i]['vectors_scanned']):>7.0f}"
                        for n in names)
        row += "".join(f" {med(lambda r: at_faiss(r, n, i)):>20.4f} "
                       f"{med(lambda r: at_faiss(r, n, i) - at_faiss(r, 'faiss', i)):>+7.4f}"
                       for n in ours)
        print(row)
    nprobes = range(len(args.nprobe.split(",")))
    if args.per_seed:
        print("per seed: recall at FAISS's scan minus FAISS's, per nprobe; MSE / FAISS's")
        for seed, r in runs.items():
            for n in ours:
                print(f"{seed:>4} {n:>14} "
                      + " ".join(f"{at_faiss(r, n, i) - at_faiss(r, 'faiss', i):+.4f}"
                                 for i in nprobes)
                      + f"  {r[n]['mse'] / r['faiss']['mse']:.4f}")
    for pair in filter(None, args.pairs.split(";")):
        a, b = pair.split("/")
        diff = np.array([[at_faiss(r, a, i) - at_faiss(r, b, i) for i in nprobes]
                         for r in runs.values()])
        se = diff.std(axis=0, ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0 * diff[0]
        print(f"{a} - {b}, recall at FAISS's scan, paired by seed, per nprobe: mean (standard "
              "error) " + " ".join(f"{m:+.4f} ({e:.4f})" for m, e in zip(diff.mean(axis=0), se))
              + "; seeds where higher " + " ".join(str(int(v)) for v in (diff > 0).sum(axis=0))
              + f" of {len(diff)}")
    for n in names:
        print(f"{n:>12}: largest / mean "
              f"{med(lambda r: r[n]['partitions']['largest_over_mean']):.2f}, "
              f"cv {med(lambda r: r[n]['partitions']['cv']):.3f}, "
              f"empty {med(lambda r: r[n]['partitions']['empty']):.0f}, "
              f"MSE {med(lambda r: r[n]['mse']):.4f} "
              f"({med(lambda r: r[n]['mse'] / r['faiss']['mse']):.4f} of FAISS's)")
    print(json.dumps({seed: {n: {"probes": r["probes"], "mse": r["mse"]}
                             for n, r in reports.items()} for seed, reports in runs.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
