#!/usr/bin/python3
"""Model quality against FAISS 1.7.3: IVF k-means MSE per dataset shape, and PQ recall.

Table 1 (IVF): for each generated mixture (`ivftrain gen`: several dims, k, NaN rows, very
unequal fragments), `ivftrain train --index-type ivf_flat` and `faiss.Kmeans` run 25 iterations
(no early stop) with random initialisation for --seeds (1, 2, 3); the figure is the mean squared
distance of every finite row to its nearest centroid (one exact FAISS flat search measures both),
median over the seeds. --inits adds rows for ivftrain's other initialisations (kmeans++,
kmeans-parallel) against the same FAISS figure, each with its work in assignments (distances
computed over the n x k of one full assignment): the initialisation's, and in all. `same init`
starts both from the same centroids (ours, chosen by each of --same-seeds on one sample; FAISS
receives them through Clustering.centroids) on the same rows, so only the loops differ: the median
and the worst (largest) of ours / FAISS's final objective.

Table 2 (PQ): an IVF256,PQ16 index assembled in FAISS from our model (IVF centroids and PQ
codebook), one with our IVF centroids and a PQ codebook FAISS trains on the residuals to them, and
the one FAISS trains itself, for each of --pq-seeds: recall@10 of held-out queries against exact
search at several nprobe, the mean squared PQ reconstruction error of the base rows, the IVF MSE
and the partitions' imbalance; median, min and max over the seeds, and the recall differences
paired by seed.

--same-init [SHAPES] (instead of the tables): from the same start, for each of --same-seeds, ours /
FAISS's MSE next to the band of float rounding: FAISS against itself on the rows permuted (all but
the initial ones), on the dimensions permuted (even among even, odd among odd) and on 1 thread, and
ours against ours on the same two layouts; with --per-seed each run's splits per update. A start
where ours / FAISS's lies above FAISS's band is worse beyond float rounding.

MSE does not depend on time, so the figures are deterministic for a binary; they depend on the CPU
only through float rounding. Run with Debian's python3 (faiss, numpy), from the repository root:
    nice /usr/bin/python3 bench/quality.py [--bin build/release/tools/ivftrain]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import faiss
import numpy as np

ITERS = 25

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


class FaissCache:
    """FAISS's figures by key, kept in a JSON file across runs (--faiss-cache): they depend on
    the data and the seed only, so comparing several ivftrain binaries need not retrain them."""

    def __init__(self, path):
        self.path = path
        self.values = json.load(open(path)) if path and os.path.exists(path) else {}

    def get(self, key, compute):
        if key not in self.values:
            self.values[key] = compute()
            if self.path:
                with open(self.path, "w") as f:
                    json.dump(self.values, f)
        return self.values[key]


def faiss_from(x, init, threads=0):
    """FAISS's Clustering run for ITERS updates from the centroids init on the rows x (every row:
    no subsampling), with `threads` OpenMP threads (0: FAISS's default): its centroids, and per
    record its objective (of the centroids before the update) and the clusters the update split."""
    cp = faiss.ClusteringParameters()
    cp.niter = ITERS
    cp.max_points_per_centroid = 1 << 30
    cp.min_points_per_centroid = 1
    k = len(init)
    clus = faiss.Clustering(x.shape[1], k, cp)
    faiss.copy_array_to_vector(np.ascontiguousarray(init, dtype=np.float32).ravel(),
                               clus.centroids)
    default = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads or default)
    try:
        clus.train(x, faiss.IndexFlatL2(x.shape[1]))
    finally:
        faiss.omp_set_num_threads(default)
    stats = clus.iteration_stats
    records = [(stats.at(i).obj, stats.at(i).nsplit) for i in range(stats.size())]
    return faiss.vector_to_array(clus.centroids).reshape(k, -1), records


def ours_from(tool, x, k, seed, tmp):
    """kmeans_tool's ITERS updates on the rows x from its random init of `seed` (the k rows
    choose_sorted picks): its centroids and its per-iteration records (objective after the
    update, clusters it split)."""
    sample, out = os.path.join(tmp, "same.npy"), os.path.join(tmp, "same-c.npy")
    np.save(sample, x)
    run = subprocess.run([tool, "kmeans", sample, out, "--k", str(k), "--iters", str(ITERS),
                          "--seed", str(seed)], check=True, capture_output=True)
    return np.load(out), json.loads(run.stdout)["iterations"]


def same_init_ratios(tool, x, k, tmp, seeds, cache, name):
    """Ours / FAISS's objective after ITERS updates from the same start, one per seed."""
    ratios = []
    for seed in seeds:
        ours = ours_from(tool, x, k, seed, tmp)[0]
        theirs = cache.get(f"{name} same {seed}", lambda: faiss_same_init(x, k, seed))
        ratios.append(mse(x, ours) / theirs)
    return ratios


def faiss_same_init(x, k, seed):
    """FAISS's MSE after ITERS updates from the centroids ivftrain's random init picks."""
    return mse(x, faiss_from(x, x[choose_sorted(Rng(seed), len(x), k)])[0])


def shape_data(args, tmp, name):
    """A shape's generated dataset (its path) and k."""
    gen_args, k = next((s[1], s[2]) for s in SHAPES if s[0] == name)
    several = any(a.startswith("--fragment") for a in gen_args)
    data = os.path.join(tmp, "data" if several else "data.npy")
    subprocess.run([args.bin, "-q", "gen", data, "--seed", "7"] + gen_args, check=True)
    return data, k


def same_init_sample(x, k):
    """The rows the same-init runs train on: 256 k of x's (all if fewer), in a fixed random
    order."""
    return np.ascontiguousarray(
        x[np.random.RandomState(0).permutation(len(x))[:min(len(x), 256 * k)]])


def shape_sample(args, tmp, name):
    data, k = shape_data(args, tmp, name)
    x = load_rows(data)
    subprocess.run(["rm", "-rf", data], check=True)
    return same_init_sample(x, k), k


def curves(args, tmp):
    """Per-iteration objective (mean per row) and splits of both loops from the same start."""
    x, k = shape_sample(args, tmp, args.curves)
    n = len(x)
    finals = []
    for seed in args.curve_seeds:
        _, ours = ours_from(args.tool, x, k, seed, tmp)
        theirs, records = faiss_from(x, x[choose_sorted(Rng(seed), n, k)])
        # FAISS's record i: the objective of the centroids after i updates, then update i + 1
        # and its splits. Ours i: update i + 1 and its splits, then the objective it gave.
        t_obj = [records[i][0] / n for i in range(1, ITERS)] + [mse(x, theirs)]
        t_split = [records[i][1] for i in range(ITERS)]
        o_obj = [it["objective"] / n for it in ours]
        o_split = [it["empty_clusters_split"] for it in ours]
        print(f"\n{args.curves}, {n} rows, seed {seed}: objective per row after each update "
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


def split_updates(splits):
    """The updates that split clusters, as 'update:clusters' (e.g. '2:13 3:1'), or '-'."""
    return " ".join(f"{i + 1}:{s}" for i, s in enumerate(splits) if s) or "-"


def perturbations(x, init_rows, seed):
    """Copies of the rows x that change nothing but float rounding for FAISS's loop (and ours but
    for one choice, below), each with the map of its centroids back to x's columns.
    'rows': the rows permuted, all but the initial ones (both systems still start from the same
    rows). Lloyd does not depend on the order; FAISS's float sums in the update do; ours are
    exact, but the row our split steps towards is the cluster's first by index.
    'cols': the dimensions permuted, even ones among themselves and odd ones among themselves:
    the distances and norms round differently (FAISS's split scales even and odd dimensions by
    1 +/- 1/1024 in opposite senses, which this keeps)."""
    rs = np.random.RandomState(1000 + seed)
    n, d = x.shape
    rows = np.arange(n)
    free = np.setdiff1d(rows, init_rows)
    rows[free] = rs.permutation(free)
    cols = np.arange(d)
    cols[0::2] = rs.permutation(cols[0::2])
    cols[1::2] = rs.permutation(cols[1::2])
    back = np.argsort(cols)
    return [("rows", np.ascontiguousarray(x[rows]), lambda c: c),
            ("cols", np.ascontiguousarray(x[:, cols]), lambda c: c[:, back])]


def band(values):
    return f"[{min(values):.4f}, {max(values):.4f}]" if values else "-"


FAISS_VARIANTS = ("faiss rows", "faiss cols", "faiss 1 thread")
OURS_VARIANTS = ("ours rows", "ours cols")


def same_init_seed(args, tmp, x, k, seed):
    """One start (ivftrain's random init of `seed`): the final MSE over x and the splits per
    update of ours and FAISS's loops, on x and on each perturbation of it, and FAISS's on 1
    thread."""
    init_rows = choose_sorted(Rng(seed), len(x), k)
    run = {"seed": seed}
    for what, xv, back in [("", x, lambda c: c)] + perturbations(x, init_rows, seed):
        c, its = ours_from(args.tool, xv, k, seed, tmp)
        key = f" {what}" if what else ""
        run["ours" + key] = mse(x, back(c))
        run["ours" + key + " splits"] = [i["empty_clusters_split"] for i in its]
        c, records = faiss_from(xv, xv[init_rows])
        run["faiss" + key] = mse(x, back(c))
        run["faiss" + key + " splits"] = [r[1] for r in records]
    run["faiss 1 thread"] = mse(x, faiss_from(x, x[init_rows], threads=1)[0])
    return run


def same_init_band(args, tmp):
    """Per shape: ours / FAISS's MSE after ITERS updates from the same start, next to what changes
    of float rounding alone do to FAISS against itself and to ours against ourselves (the band
    that 'float rounding' means), and each run's splits."""
    print(f"Same start (ivftrain's random init of each seed), {ITERS} updates, MSE over the "
          "same-init rows. ours/faiss: median, worst, starts above 1, starts above FAISS's band; "
          "faiss band: FAISS with rows permuted, dims permuted, 1 thread, over FAISS (min, max "
          "over the seeds); ours band: ours with rows, dims permuted over ours; all layouts: "
          "ours / FAISS on the same layout (x, rows, dims permuted) over the seeds: median [min, "
          "max]")
    table = []
    for name in args.same_init:
        x, k = shape_sample(args, tmp, name)
        seeds = args.same_seeds if k < 4096 else args.same_seeds[:3]
        runs = []
        for seed in seeds:
            run = same_init_seed(args, tmp, x, k, seed)
            runs.append(run)
            if args.per_seed:
                print(f"  {name} seed {seed}: ours/faiss {run['ours'] / run['faiss']:.5f}; "
                      "faiss rows/dims/1 thread over faiss " +
                      " ".join(f"{run[v] / run['faiss']:.5f}" for v in FAISS_VARIANTS) +
                      "; ours rows/dims over ours " +
                      " ".join(f"{run[v] / run['ours']:.5f}" for v in OURS_VARIANTS) +
                      "; splits (update:clusters): " + ", ".join(
                          f"{v} {split_updates(run[v + ' splits'])}"
                          for v in ("ours", "faiss", "ours rows", "faiss rows", "ours cols",
                                    "faiss cols")), flush=True)
        ratio = [r["ours"] / r["faiss"] for r in runs]
        faiss_band = [r[v] / r["faiss"] for r in runs for v in FAISS_VARIANTS]
        ours_band = [r[v] / r["ours"] for r in runs for v in OURS_VARIANTS]
        layouts = [r[f"ours{v}"] / r[f"faiss{v}"] for r in runs for v in ("", " rows", " cols")]
        row = {"shape": name, "k": k, "rows": len(x), "seeds": seeds, "runs": runs,
               "ratio_median": float(np.median(ratio)), "ratio_worst": max(ratio),
               # 1e-6: the rounding of the MSE figure itself (one float search)
               "above_1": sum(v > 1 + 1e-6 for v in ratio),
               "above_band": sum(v > max(faiss_band) + 1e-6 for v in ratio),
               "faiss_band": [min(faiss_band), max(faiss_band)],
               "ours_band": [min(ours_band), max(ours_band)],
               "all_layouts": [float(np.median(layouts)), min(layouts), max(layouts)]}
        print(f"{name:<24} {len(seeds):>2} seeds  ours/faiss {row['ratio_median']:.4f} "
              f"{row['ratio_worst']:.4f} {row['above_1']:>2} {row['above_band']:>2}  "
              f"faiss band {band(faiss_band)}  ours band {band(ours_band)}  all layouts "
              f"{row['all_layouts'][0]:.4f} {band(layouts)}", flush=True)
        table.append(row)
    return table


def faiss_kmeans_mse(x, k, seed):
    km = faiss.Kmeans(x.shape[1], k, niter=ITERS, seed=seed)
    km.train(x)
    return mse(x, km.centroids)


def train_work(init, log, n, k):
    """The work of a training run in assignments (row-centroid distances over the n x k of one
    full assignment), from its -v log: the initialisation's (k-means++: (k - 1) n distances;
    k-means||: m n + (k - 1) m for its m candidates; random: none) and that of all the
    assignments (the first, then each iteration's rows assigned in full; the bounds skip the
    others)."""
    if init in ("kmeans-parallel", "kmeans||"):
        m = int(re.search(r"k-means\|\|: (\d+) candidates", log).group(1))
        init = (m * n + (k - 1) * m) / (n * k)
    elif init == "kmeans++":
        init = (k - 1) / k
    else:
        init = 0.0
    computed = [int(r) for r in
                re.findall(r"ivf: iteration \d+: .* (\d+) rows assigned in full", log)]
    return init, init + 1 + sum(computed) / n


def train_ivf(args, data, model, k, seed, init):
    """ivftrain's IVF model for one seed and init: its centroids and (init work, all work)."""
    cmd = [args.bin, "-v", "train", data, "--out", model, "--overwrite", "--index-type",
           "ivf_flat", "--num-partitions", str(k), "--max-iters", str(ITERS), "--tolerance", "0",
           "--seed", str(seed), "--init", init]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)
    n = json.load(open(os.path.join(model, "model.json")))["stats"]["ivf_train_rows"]
    work = train_work(init, run.stderr, n, k)
    return np.load(os.path.join(model, "ivf_centroids.npy")), work


def ivf_table(args, tmp):
    rows = []
    for name in [s[0] for s in SHAPES]:
        if args.shapes and name not in args.shapes.split(","):
            continue
        data, k = shape_data(args, tmp, name)
        x = load_rows(data)
        theirs = [args.cache.get(f"{name} random {seed}", lambda: faiss_kmeans_mse(x, k, seed))
                  for seed in ([] if args.same_only else args.seeds)]
        sample = same_init_sample(x, k)
        same = same_init_ratios(args.tool, sample, k, tmp, args.same_seeds, args.cache,
                                name) if args.tool else []
        nan = float("nan")
        for init in args.inits:
            ours, work = [], []
            for seed in [] if args.same_only else args.seeds:
                c, w = train_ivf(args, data, os.path.join(tmp, f"model-{seed}"), k, seed, init)
                ours.append(mse(x, c))
                work.append(w)
            mine = same if init == "random" else []
            row = {"shape": name, "init": init, "k": k, "rows": len(x), "dim": x.shape[1],
                   "ours": float(np.median(ours or [nan])),
                   "faiss": float(np.median(theirs or [nan])),
                   "ours_per_seed": ours, "faiss_per_seed": theirs,
                   "init_work": float(np.median([w[0] for w in work] or [nan])),
                   "all_work": float(np.median([w[1] for w in work] or [nan])),
                   "same_init": float(np.median(mine)) if mine else nan,
                   "same_init_worst": max(mine) if mine else nan, "same_init_per_seed": mine}
            row["ratio"] = row["ours"] / row["faiss"]
            print(f"{name:<26} {init:<16} {row['ours']:>11.4f} {row['faiss']:>11.4f} "
                  f"{row['ratio']:>7.4f} {row['init_work']:>6.2f} {row['all_work']:>6.2f} "
                  f"{row['same_init']:>9.4f} {row['same_init_worst']:>7.4f}", flush=True)
            if args.per_seed:
                print("    ivftrain per seed " + " ".join(f"{v:.4f}" for v in ours), flush=True)
                print("    faiss per seed    " + " ".join(f"{v:.4f}" for v in theirs), flush=True)
                if mine:
                    print("    same init per seed " + " ".join(f"{v:.4f}" for v in mine),
                          flush=True)
            rows.append(row)
        subprocess.run(["rm", "-rf", data], check=True)
    return rows


def pq_run(args, tmp, base, queries, truth, seed):
    """The IVF256,PQ16 indexes for one seed (ours with each of --pq-inits, ours with FAISS's PQ,
    FAISS's own): PQ error, IVF MSE, imbalance, recall@10."""
    nlist, m = 256, 16
    d = base.shape[1]
    data = os.path.join(tmp, "pq.npy")
    model = os.path.join(tmp, "pq-model")

    def with_quantizer(c):
        q = faiss.IndexFlatL2(d)
        q.add(c)
        index = faiss.IndexIVFPQ(q, d, nlist, m, 8)
        index.own_fields = False
        return index, q

    indexes, quantizers = [], []
    for init in args.pq_inits:
        subprocess.run([args.bin, "-q", "train", data, "--out", model, "--overwrite",
                        "--index-type", "ivf_pq", "--num-partitions", str(nlist),
                        "--num-sub-vectors", str(m), "--seed", str(seed), "--init", init],
                       check=True)
        centroids = np.load(os.path.join(model, "ivf_centroids.npy"))
        ours, q = with_quantizer(centroids)
        quantizers.append(q)
        faiss.copy_array_to_vector(np.load(os.path.join(model, "pq_codebook.npy")).ravel(),
                                   ours.pq.centroids)
        ours.is_trained = True
        suffix = "" if init == "random" else f" ({init})"
        indexes.append(("ivftrain IVF + PQ" + suffix, ours))
        if init != args.pq_inits[0]:
            continue
        hybrid, q = with_quantizer(centroids)
        quantizers.append(q)
        hybrid.cp.seed = seed
        hybrid.pq.cp.seed = seed
        # Polysemous training only renumbers the codes (for Hamming filtering, off at search
        # here): the same reconstruction and recall, minutes of annealing per index.
        hybrid.do_polysemous_training = False
        hybrid.train(base)  # the quantizer is trained: only the PQ, on residuals to our centroids
        indexes.append(("ivftrain IVF + FAISS PQ" + suffix, hybrid))
    theirs = faiss.index_factory(d, f"IVF{nlist},PQ{m}")
    faiss.ParameterSpace().set_index_parameter(theirs, "verbose", 0)
    theirs.cp.seed = seed  # the IVF k-means (10 iterations: FAISS's IndexIVF default)
    theirs.cp.niter = args.pq_faiss_ivf_iters
    theirs.pq.cp.seed = seed
    theirs.do_polysemous_training = False
    theirs.train(base)
    indexes.append(("FAISS IVF + PQ", theirs))
    rows = []
    for name, index in indexes:
        index.add(base)
        codes = index.sa_encode(base)
        err = float(((index.sa_decode(codes) - base) ** 2).sum(axis=1).mean())
        coarse = index.quantizer.reconstruct_n(0, nlist)
        dist, lab = nearest(base, coarse)
        sizes = np.bincount(lab[:, 0], minlength=nlist).astype(np.float64)
        row = {"index": name, "seed": seed, "pq_mse": err,
               "ivf_mse": float(dist.astype(np.float64).mean()),
               # the rows a query scans per probe, relative to equal partitions
               "imbalance": float((sizes ** 2).sum() * nlist / sizes.sum() ** 2)}
        for nprobe in (1, 4, 16):
            index.nprobe = nprobe
            found = index.search(queries, 10)[1]
            row[f"recall@10 nprobe {nprobe}"] = float(
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
        rows.append(row)
    del quantizers
    return rows


PQ_COLUMNS = ("pq_mse", "ivf_mse", "imbalance", "recall@10 nprobe 1", "recall@10 nprobe 4",
              "recall@10 nprobe 16")


def pq_table(args, tmp):
    nq = 1000
    data = os.path.join(tmp, "pq.npy")
    subprocess.run([args.bin, "-q", "gen", data, "--rows", "60000", "--dim", "64", "--clusters",
                    "400", "--seed", "11"], check=True)
    allx = np.load(data)
    base, queries = np.ascontiguousarray(allx[nq:]), np.ascontiguousarray(allx[:nq])
    np.save(data, base)
    flat = faiss.IndexFlatL2(base.shape[1])
    flat.add(base)
    truth = flat.search(queries, 10)[1]
    runs = []
    for seed in args.pq_seeds:
        runs += pq_run(args, tmp, base, queries, truth, seed)
        if args.per_seed:
            for r in [r for r in runs if r["seed"] == seed]:
                print(f"  seed {r['seed']} {r['index']:<24} " +
                      " ".join(f"{r[c]:.4f}" for c in PQ_COLUMNS), flush=True)
    rows = []
    for name in dict.fromkeys(r["index"] for r in runs):
        mine = [r for r in runs if r["index"] == name]
        row = {"index": name, "seeds": args.pq_seeds, "per_seed": mine}
        for c in PQ_COLUMNS:
            v = [r[c] for r in mine]
            row[c] = {"median": float(np.median(v)), "min": min(v), "max": max(v)}
        print(f"{name:<26} " + " ".join(
            f"{row[c]['median']:>8.4f} [{row[c]['min']:.4f}, {row[c]['max']:.4f}]"
            for c in PQ_COLUMNS), flush=True)
        rows.append(row)
    # Paired by seed: recall of our IVF (with either PQ) minus FAISS's own, per seed.
    by = {(r["index"], r["seed"]): r for r in runs}
    for name in [r["index"] for r in rows if r["index"] != "FAISS IVF + PQ"]:
        for p in (1, 4, 16):
            c = f"recall@10 nprobe {p}"
            diff = [by[(name, s)][c] - by[("FAISS IVF + PQ", s)][c] for s in args.pq_seeds]
            print(f"  {name} - FAISS, {c}: " + " ".join(f"{v:+.4f}" for v in diff) +
                  f" (median {np.median(diff):+.4f})", flush=True)
    # The codebooks alone: ours / FAISS's reconstruction error on the same residuals.
    ratio = [by[("ivftrain IVF + PQ", s)]["pq_mse"] / by[("ivftrain IVF + FAISS PQ", s)]["pq_mse"]
             for s in args.pq_seeds if ("ivftrain IVF + FAISS PQ", s) in by]
    if ratio:
        print("  PQ reconstruction MSE, ours / FAISS's on our residuals: "
              + " ".join(f"{v:.4f}" for v in ratio) + f" (median {np.median(ratio):.4f})",
              flush=True)
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
    seeds = lambda v: [int(s) for s in v.split(",")]  # noqa: E731
    ap.add_argument("--same-init", nargs="?", const="all", metavar="SHAPES",
                    help="instead of the tables: from the same start, ours / FAISS's MSE next "
                    "to the band of float rounding (FAISS against itself with the rows permuted, "
                    "the dimensions permuted, 1 thread; ours against ours), with each run's "
                    "splits (--per-seed); SHAPES comma-separated (default all; k = 4096 takes "
                    "the first 3 of --same-seeds)")
    ap.add_argument("--curve-seeds", default="1,2,3,4,5,6,7,8", type=seeds)
    ap.add_argument("--seeds", default="1,2,3", type=seeds,
                    help="seeds of the random-init columns (their median is shown)")
    ap.add_argument("--same-seeds", default="1,2,3,4,5,6,7,8,9,10,11,12", type=seeds,
                    help="seeds of the same-init column (median and worst shown)")
    ap.add_argument("--inits", default="random", type=lambda v: v.split(","),
                    help="ivftrain's --init values of the IVF table (random,kmeans++,"
                    "kmeans-parallel); the same-init column is random's")
    ap.add_argument("--pq-seeds", default="1,2,3,4,5", type=seeds,
                    help="seeds of the PQ table (median, min and max shown)")
    ap.add_argument("--pq-inits", default="random", type=lambda v: v.split(","),
                    help="ivftrain's --init values of the PQ table (the first also gets FAISS's "
                    "PQ on our residuals)")
    ap.add_argument("--pq-faiss-ivf-iters", type=int, default=10,
                    help="iterations of FAISS's IVF k-means in the PQ table (FAISS's default 10)")
    ap.add_argument("--skip-ivf", action="store_true", help="the PQ table only")
    ap.add_argument("--same-only", action="store_true",
                    help="the IVF table's same-init columns only (no random-init runs)")
    ap.add_argument("--per-seed", action="store_true", help="also print every seed's figures")
    ap.add_argument("--faiss-cache", metavar="FILE",
                    help="keep FAISS's IVF figures in FILE and reuse them (they do not depend "
                    "on the ivftrain binary)")
    args = ap.parse_args()
    args.cache = FaissCache(args.faiss_cache)
    if args.tool and not os.path.exists(args.tool):
        args.tool = ""
    if args.curves:
        with tempfile.TemporaryDirectory() as tmp:
            curves(args, tmp)
        return 0
    if args.same_init:
        names = [s[0] for s in SHAPES]
        args.same_init = names if args.same_init == "all" else args.same_init.split(",")
        unknown = [n for n in args.same_init if n not in names]
        if unknown or not args.tool:
            sys.exit(f"--same-init: unknown shape {unknown} (of {names})" if unknown else
                     "--same-init needs --tool (bench/kmeans_tool)")
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps({"same_init": same_init_band(args, tmp)}))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        ivf = []
        if not args.skip_ivf:
            print(f"IVF k-means, {ITERS} iterations, MSE to the nearest centroid (median of "
                  f"seeds {args.seeds}; FAISS with random init), ivftrain's work in assignments "
                  f"(its initialisation's, and in all with the assignments); same init (random): "
                  f"median and worst of ours / FAISS's over seeds {args.same_seeds}")
            print(f"{'shape':<26} {'init':<16} {'ivftrain':>11} {'faiss':>11} {'ratio':>7} "
                  f"{'init':>6} {'all':>6} {'same init':>9} {'worst':>7}")
            ivf = ivf_table(args, tmp)
        pq = []
        if not args.skip_pq:
            print("\nIVF256,PQ16 on 59,000 x 64 (1,000 held-out queries), median [min, max] over "
                  f"seeds {args.pq_seeds}: PQ reconstruction MSE, IVF MSE, imbalance (sum of "
                  "squared partition sizes over that of equal ones), recall@10 at nprobe 1 / 4 / 16")
            pq = pq_table(args, tmp)
    print(json.dumps({"ivf": ivf, "pq": pq}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
