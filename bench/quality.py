#!/usr/bin/python3
"""Model quality against FAISS 1.7.3: IVF k-means MSE per dataset shape, and PQ recall.

Table 1 (IVF): for each generated mixture (`ivftrain gen`: several dims, k, NaN rows, very
unequal fragments), `ivftrain train --index-type ivf_flat` and `faiss.Kmeans` run 25 iterations
(no early stop) with random initialisation for seeds 1, 2, 3; the figure is the mean squared
distance of every finite row to its nearest centroid (one exact FAISS flat search measures both),
median over the seeds. `same init` starts both from the same centroids (ours, chosen by seed 1 to
3 on one sample; FAISS receives them through Clustering.centroids) on the same rows, so only the
loops differ: the median of ours / FAISS's final objective.

Table 2 (PQ): an IVF256,PQ16 index assembled in FAISS from our model (IVF centroids and PQ
codebook), one with our IVF centroids and a PQ codebook FAISS trains on the residuals to them, and
the one FAISS trains itself; recall@10 of held-out queries against exact search, at several nprobe,
and the mean squared PQ reconstruction error of the base rows.

MSE does not depend on time, so the figures are deterministic for a binary; they depend on the CPU
only through float rounding. Run with Debian's python3 (faiss, numpy), from the repository root:
    nice /usr/bin/python3 bench/quality.py [--bin build/release/tools/ivftrain]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import faiss
import numpy as np

ITERS = 25
SEEDS = (1, 2, 3)

# name, gen arguments, k
SHAPES = [
    ("d8 k16", ["--rows", "20000", "--dim", "8", "--clusters", "24"], 16),
    ("d96 k256 NaN 9 frags", ["--rows", "100000", "--dim", "96", "--clusters", "300",
                              "--fragments", "9", "--nonfinite-rows", "20"], 256),
    ("d32 k1024 unequal frags", ["--rows", "120000", "--dim", "32", "--clusters", "1500",
                                 "--fragment-rows", "100000,15000,4000,900,100"], 1024),
    ("d768 k64 NaN", ["--rows", "20000", "--dim", "768", "--clusters", "100",
                      "--nonfinite-rows", "5"], 64),
    ("d16 k4096", ["--rows", "200000", "--dim", "16", "--clusters", "5000"], 4096),
]


def load_rows(path):
    files = sorted(glob.glob(os.path.join(path, "*.npy"))) if os.path.isdir(path) else [path]
    x = np.concatenate([np.load(f) for f in files]).astype(np.float32)
    return np.ascontiguousarray(x[np.isfinite(x).all(axis=1)])


def nearest(x, c, k=1):
    index = faiss.IndexFlatL2(c.shape[1])
    index.add(np.ascontiguousarray(c, dtype=np.float32))
    return index.search(x, k)


def mse(x, c):
    return float(nearest(x, c)[0].astype(np.float64).mean())


# ivftrain's Rng (xoshiro256** seeded by SplitMix64) and choose_sorted, to give FAISS the
# initial centroids ivftrain's random init picks (src/util/rng.h, src/util/sampling.cc).
M64 = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & M64
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        a = self.s

        def rotl(v, r):
            return ((v << r) | (v >> (64 - r))) & M64
        result = (rotl((a[1] * 5) & M64, 7) * 9) & M64
        t = (a[1] << 17) & M64
        a[2] ^= a[0]
        a[3] ^= a[1]
        a[1] ^= a[2]
        a[0] ^= a[3]
        a[2] ^= t
        a[3] = rotl(a[3], 45)
        return result

    def uniform(self, bound):
        m = self.next() * bound
        if (m & M64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & M64) < threshold:
                m = self.next() * bound
        return m >> 64


def choose_sorted(rng, n, count):
    if count * 8 >= n:
        out, needed = [], count
        for i in range(n):
            if needed == 0:
                break
            if rng.uniform(n - i) < needed:
                out.append(i)
                needed -= 1
        return out
    chosen = set()
    for j in range(n - count, n):
        t = rng.uniform(j + 1)
        chosen.add(j if t in chosen else t)
    return sorted(chosen)


def same_init_ratio(tool, x, k, tmp):
    """Median over seeds of ours / FAISS's objective after ITERS updates from the same start."""
    sample = os.path.join(tmp, "same.npy")
    np.save(sample, x)
    ratios = []
    for seed in SEEDS:
        out = os.path.join(tmp, "same-c.npy")
        subprocess.run([tool, "kmeans", sample, out, "--k", str(k), "--iters", str(ITERS),
                        "--seed", str(seed)], check=True, capture_output=True)
        cp = faiss.ClusteringParameters()
        cp.niter = ITERS
        cp.max_points_per_centroid = 1 << 30
        cp.min_points_per_centroid = 1
        clus = faiss.Clustering(x.shape[1], k, cp)
        init = x[choose_sorted(Rng(seed), len(x), k)]
        faiss.copy_array_to_vector(init.ravel(), clus.centroids)
        clus.train(x, faiss.IndexFlatL2(x.shape[1]))
        theirs = faiss.vector_to_array(clus.centroids).reshape(k, -1)
        ratios.append(mse(x, np.load(out)) / mse(x, theirs))
    return float(np.median(ratios))


def curves(args, tmp):
    """Per-iteration objective (mean per row) and splits of both loops from the same start."""
    name, gen_args, k = next(s for s in SHAPES if s[0] == args.curves)
    several = any(a.startswith("--fragment") for a in gen_args)
    data = os.path.join(tmp, "data" if several else "data.npy")
    subprocess.run([args.bin, "-q", "gen", data, "--seed", "7"] + gen_args, check=True)
    x = load_rows(data)
    x = x[np.random.RandomState(0).permutation(len(x))[:min(len(x), 256 * k)]]
    sample = os.path.join(tmp, "same.npy")
    np.save(sample, x)
    n = len(x)
    finals = []
    for seed in args.curve_seeds:
        out = os.path.join(tmp, "same-c.npy")
        run = subprocess.run([args.tool, "kmeans", sample, out, "--k", str(k), "--iters",
                              str(ITERS), "--seed", str(seed)], check=True, capture_output=True)
        ours = json.loads(run.stdout)["iterations"]
        cp = faiss.ClusteringParameters()
        cp.niter = ITERS
        cp.max_points_per_centroid = 1 << 30
        cp.min_points_per_centroid = 1
        clus = faiss.Clustering(x.shape[1], k, cp)
        faiss.copy_array_to_vector(x[choose_sorted(Rng(seed), n, k)].ravel(), clus.centroids)
        clus.train(x, faiss.IndexFlatL2(x.shape[1]))
        stats = clus.iteration_stats
        theirs = faiss.vector_to_array(clus.centroids).reshape(k, -1)
        # FAISS's record i: the objective of the centroids after i updates, then update i + 1
        # and its splits. Ours i: update i + 1 and its splits, then the objective it gave.
        t_obj = [stats.at(i).obj / n for i in range(1, ITERS)] + [mse(x, theirs)]
        t_split = [stats.at(i).nsplit for i in range(ITERS)]
        o_obj = [it["objective"] / n for it in ours]
        o_split = [it["empty_clusters_split"] for it in ours]
        print(f"\n{name}, {n} rows, seed {seed}: objective per row after each update "
              "(splits in it)")
        print(f"{'update':>6} {'ivftrain':>16} {'faiss':>16} {'ratio':>7}")
        for i in range(ITERS):
            print(f"{i + 1:>6} {o_obj[i]:>11.4f} ({o_split[i]:>2}) {t_obj[i]:>11.4f} "
                  f"({t_split[i]:>2}) {o_obj[i] / t_obj[i]:>7.4f}")
        finals.append((seed, o_obj[-1] / t_obj[-1], sum(o_split), sum(t_split)))
    print("\nseed  final ratio  splits ours / faiss")
    for seed, ratio, so, st in finals:
        print(f"{seed:>4} {ratio:>12.4f} {so:>8} / {st}")
    print(f"median ratio {np.median([f[1] for f in finals]):.4f}, "
          f"mean {np.mean([f[1] for f in finals]):.4f}")


def ivf_table(args, tmp):
    rows = []
    for name, gen_args, k in SHAPES:
        if args.shapes and name not in args.shapes.split(","):
            continue
        several = any(a.startswith("--fragment") for a in gen_args)
        data = os.path.join(tmp, "data" if several else "data.npy")
        subprocess.run([args.bin, "-q", "gen", data, "--seed", "7"] + gen_args, check=True)
        x = load_rows(data)
        ours, theirs = [], []
        for seed in SEEDS:
            model = os.path.join(tmp, f"model-{seed}")
            subprocess.run([args.bin, "-q", "train", data, "--out", model, "--overwrite",
                            "--index-type", "ivf_flat", "--num-partitions", str(k),
                            "--max-iters", str(ITERS), "--tolerance", "0", "--seed", str(seed)],
                           check=True)
            ours.append(mse(x, np.load(os.path.join(model, "ivf_centroids.npy"))))
            km = faiss.Kmeans(x.shape[1], k, niter=ITERS, seed=seed)
            km.train(x)
            theirs.append(mse(x, km.centroids))
        sample = x[np.random.RandomState(0).permutation(len(x))[:min(len(x), 256 * k)]]
        same = same_init_ratio(args.tool, sample, k, tmp) if args.tool else float("nan")
        row = {"shape": name, "k": k, "rows": len(x), "dim": x.shape[1],
               "ours": float(np.median(ours)), "faiss": float(np.median(theirs)),
               "same_init": same}
        row["ratio"] = row["ours"] / row["faiss"]
        print(f"{name:<26} {row['ours']:>11.4f} {row['faiss']:>11.4f} {row['ratio']:>7.4f} "
              f"{same:>9.4f}", flush=True)
        rows.append(row)
        subprocess.run(["rm", "-rf", data], check=True)
    return rows


def pq_table(args, tmp):
    nlist, m, nq = 256, 16, 1000
    data = os.path.join(tmp, "pq.npy")
    subprocess.run([args.bin, "-q", "gen", data, "--rows", "60000", "--dim", "64", "--clusters",
                    "400", "--seed", "11"], check=True)
    allx = np.load(data)
    base, queries = np.ascontiguousarray(allx[nq:]), np.ascontiguousarray(allx[:nq])
    np.save(data, base)
    d = base.shape[1]
    flat = faiss.IndexFlatL2(d)
    flat.add(base)
    truth = flat.search(queries, 10)[1]
    model = os.path.join(tmp, "pq-model")
    subprocess.run([args.bin, "-q", "train", data, "--out", model, "--overwrite", "--index-type",
                    "ivf_pq", "--num-partitions", str(nlist), "--num-sub-vectors", str(m),
                    "--seed", "1"], check=True)
    centroids = np.load(os.path.join(model, "ivf_centroids.npy"))
    codebook = np.load(os.path.join(model, "pq_codebook.npy"))

    def with_quantizer(c):
        q = faiss.IndexFlatL2(d)
        q.add(c)
        index = faiss.IndexIVFPQ(q, d, nlist, m, 8)
        index.own_fields = False
        return index, q

    ours, q1 = with_quantizer(centroids)
    faiss.copy_array_to_vector(codebook.ravel(), ours.pq.centroids)
    ours.is_trained = True
    hybrid, q2 = with_quantizer(centroids)
    hybrid.cp.seed = 1
    hybrid.train(base)  # the quantizer is trained: only the PQ, on residuals to our centroids
    theirs = faiss.index_factory(d, f"IVF{nlist},PQ{m}")
    faiss.ParameterSpace().set_index_parameter(theirs, "verbose", 0)
    theirs.train(base)
    rows = []
    for name, index in (("ivftrain IVF + PQ", ours), ("ivftrain IVF + FAISS PQ", hybrid),
                        ("FAISS IVF + PQ", theirs)):
        index.add(base)
        codes = index.sa_encode(base)
        err = float(((index.sa_decode(codes) - base) ** 2).sum(axis=1).mean())
        row = {"index": name, "pq_mse": err}
        for nprobe in (1, 4, 16):
            index.nprobe = nprobe
            found = index.search(queries, 10)[1]
            row[f"recall@10 nprobe {nprobe}"] = float(
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
        print(f"{name:<26} {err:>10.4f} " + " ".join(
            f"{row[f'recall@10 nprobe {p}']:>8.4f}" for p in (1, 4, 16)), flush=True)
        rows.append(row)
    del q1, q2
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/release/tools/ivftrain")
    ap.add_argument("--tool", default="build/release/bench/kmeans_tool",
                    help="kmeans_tool for the same-init column ('' to skip it)")
    ap.add_argument("--skip-pq", action="store_true")
    ap.add_argument("--shapes", help="comma-separated shape names (default: all)")
    ap.add_argument("--curves", metavar="SHAPE",
                    help="instead of the tables: per-iteration objective and splits of both "
                    "loops from the same start, on SHAPE's sample")
    ap.add_argument("--curve-seeds", default="1,2,3,4,5,6,7,8",
                    type=lambda v: [int(s) for s in v.split(",")])
    args = ap.parse_args()
    if args.tool and not os.path.exists(args.tool):
        args.tool = ""
    if args.curves:
        with tempfile.TemporaryDirectory() as tmp:
            curves(args, tmp)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print(f"IVF k-means, {ITERS} iterations, random init, MSE to the nearest centroid "
              f"(median of seeds {SEEDS})")
        print(f"{'shape':<26} {'ivftrain':>11} {'faiss':>11} {'ratio':>7} {'same init':>9}")
        ivf = ivf_table(args, tmp)
        pq = []
        if not args.skip_pq:
            print("\nIVF256,PQ16 on 59,000 x 64 (1,000 held-out queries): PQ reconstruction MSE, "
                  "recall@10 at nprobe 1 / 4 / 16")
            print(f"{'index':<26} {'pq mse':>10} {'np=1':>8} {'np=4':>8} {'np=16':>8}")
            pq = pq_table(args, tmp)
    print(json.dumps({"ivf": ivf, "pq": pq}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
