#!/usr/bin/python3
"""ivftrain side by side with FAISS and scikit-learn, on the same data, k, iterations and seed.

Workloads (--workloads 1,2,3,4,5,6,7; all by default):
  1  IVF k-means, 262,144 x 128 Gaussian mixture, k = 1024, 10 iterations:
     ivftrain vs faiss.Kmeans vs sklearn KMeans (lloyd, random init); plus the share of rows
     whose distances ivftrain computes in full per iteration (the rest the bounds settle).
  2  the same at embedding size, 262,144 x 768 (scikit-learn can be left out: --skip-sklearn-768).
  3  PQ, 65,536 x 128 residuals, 16 sub-vectors x 8 bits, 25 iterations: ivftrain vs
     faiss.ProductQuantizer. The residuals are x minus its nearest of 256 centroids trained once
     by faiss.Kmeans (10 iterations, seed 1234) on the same rows, so that both trainers see the
     data a PQ of an IVF index sees; they are cached like the other datasets.
  4  the whole `ivftrain train` (ivf_pq, 1,000,000 x 128, 1024 partitions, default parameters),
     as one process under /usr/bin/time -v: wall time and peak RSS against
     1.25 x (sample bytes + model bytes) + 64 MiB.
  5  large k: 16,384 partitions over 1,048,576 x 128: ivftrain --kmeans hierarchical vs flat
     faiss.Kmeans (10 iterations, --reps-large repetitions, 1 by default), and the largest
     partition / mean partition size of ivftrain's centroids trained with --balance 2.
     FAISS takes about 13 minutes here: its result is stored in --cache-dir, and --reuse-peers
     takes it from there instead of running FAISS again (the table says when it was measured).
  6  sampling 1% of a 4 GiB .npy in the page cache (`ivftrain plan` + `ivftrain sample`, the
     sample step timed) against `cat FILE > /dev/null`.
  7  raw kernels, one thread: ivftrain's assignment (every row computed: kmeans_assign, no
     bounds) against a bare cblas_sgemm of the same shape, (n x d).(d x k), in one
     bench/assign_bench run with the repetitions interleaved: the GEMM path at the shapes of
     workloads 1 and 2, the direct kernel at a PQ sub-space's (d = 8, k = 256).

Method. Systems alternate within each repetition (ivftrain, faiss, sklearn, ivftrain, ...), each
repetition uses seed = --seed + repetition for everyone, and the tables give medians. ivftrain's
k-means and PQ times are those of the training call alone, measured inside bench/kmeans_tool
(the data already in memory, as for FAISS and scikit-learn, which are timed around their train
call in this process); the tool's whole wall time is reported beside. Quality is measured by the
same function for every system: the exact mean squared distance of every row to its nearest
centroid (nearest found by faiss.IndexFlatL2, distance recomputed in float64), and for PQ the
mean over rows of the squared l2 between x and its decode (codes from faiss.IndexFlatL2 per
sub-space, decode in numpy), from the (M, ksub, dsub) codebook array of each system.
Everyone uses all cores (FAISS and scikit-learn by default, ivftrain --threads 0).
Same iterations is not quite same work: for N iterations ivftrain assigns N + 1 times (its last
assignment measures the final centroids), FAISS N times, and scikit-learn stops early when no
label changes, whatever tol (the table says when it did).

Timings need an idle machine: the load average is printed with every workload. On a busy one,
OpenMP's default busy-waiting makes FAISS many times slower (PQ training 8x); --omp-passive sets
OMP_WAIT_POLICY=PASSIVE for every system.

Run with Debian's python3 (it has faiss, scikit-learn and numpy):
    /usr/bin/python3 bench/compare.py --quick                 # smoke test, < 2 minutes
    /usr/bin/python3 bench/compare.py --workloads 1,3 --json-out /tmp/bench.json
The datasets are generated with `ivftrain gen` (the 4 GiB file of workload 6 with numpy, in
chunks) into --cache-dir and reused across runs.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# libgomp reads OMP_WAIT_POLICY once, when FAISS loads it: set it before the import. Its default
# busy-waiting is fastest on an idle machine but collapses when other processes hold the cores
# (FAISS's PQ training ran 8x slower so), and ivftrain's processes inherit the same setting.
if "--omp-passive" in sys.argv:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

# OpenBLAS reads its kernels (its "core") once, as it loads. On a CPU model it does not know it
# falls back to its generic Prescott kernels, and ivftrain then restarts itself with
# OPENBLAS_CORETYPE naming the AVX-512 or AVX2 kernels (`ivftrain --version` says which). Every
# system must run the same kernels: the harness takes ivftrain's choice for itself (FAISS, numpy,
# scikit-learn) and its tools before anything loads OpenBLAS. Set OPENBLAS_CORETYPE to choose.
def _ivftrain_blas_core():
    exe = sys.argv[sys.argv.index("--bin") + 1] if "--bin" in sys.argv[:-1] else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build/release/tools/ivftrain")
    try:
        text = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return None
    found = re.search(r"\(OPENBLAS_CORETYPE=(\w+)", text)
    return found.group(1) if found else None


if "OPENBLAS_CORETYPE" not in os.environ:
    _core = _ivftrain_blas_core()
    if _core:
        os.environ["OPENBLAS_CORETYPE"] = _core

import faiss  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


# ---------------------------------------------------------------------------------------------
# Helpers: timing, processes, datasets, the shared quality functions.

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def timed(fn, *args, **kwargs):
    """(seconds, value) of fn(*args, **kwargs): the one clock every measurement uses."""
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - t0, value


class ToolError(RuntimeError):
    pass


def run(cmd, timeout=None):
    """Runs a command; stdout as text. Raises ToolError with the command's stderr on failure."""
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{os.path.basename(str(cmd[0]))} timed out after {timeout} s")
    if p.returncode != 0:
        raise ToolError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def nearest_centroids(x, centroids, chunk=1 << 18):
    """Labels of the nearest centroid of every row (exhaustive search, faiss.IndexFlatL2)."""
    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    labels = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), chunk):
        _, i = index.search(np.ascontiguousarray(x[s:s + chunk], dtype=np.float32), 1)
        labels[s:s + chunk] = i[:, 0]
    return labels


def kmeans_quality(x, centroids, chunk=1 << 16):
    """THE k-means quality measure for every system: (mean over rows of the squared l2 distance
    to the nearest centroid, partition sizes). The distance is recomputed in float64 from the
    labels, so that GEMM rounding in the search does not blur small differences."""
    labels = nearest_centroids(x, centroids)
    total = 0.0
    c = centroids.astype(np.float64)
    for s in range(0, len(x), chunk):
        diff = x[s:s + chunk].astype(np.float64) - c[labels[s:s + chunk]]
        total += float(np.einsum("ij,ij->", diff, diff))
    sizes = np.bincount(labels, minlength=len(centroids))
    return total / len(x), sizes


def pq_quality(x, codebook):
    """THE PQ quality measure for every system: mean over rows of ||x - decode(encode(x))||^2.
    codebook is (M, ksub, dsub) as pq_codebook.npy and faiss.ProductQuantizer.centroids."""
    m, _, dsub = codebook.shape
    err = np.zeros(len(x), dtype=np.float64)
    for j in range(m):
        xs = np.ascontiguousarray(x[:, j * dsub:(j + 1) * dsub], dtype=np.float32)
        codes = nearest_centroids(xs, codebook[j])
        diff = xs.astype(np.float64) - codebook[j][codes].astype(np.float64)
        err += np.einsum("ij,ij->i", diff, diff)
    return float(err.mean())


class Env:
    """Paths and options shared by the workloads."""

    def __init__(self, args):
        self.bin = resolve_path(args.bin, "ivftrain binary (--bin)")
        self.tool = resolve_path(args.tool, "kmeans_tool (--tool)")
        self.cache = args.cache_dir
        self.reps = args.reps
        self.reps_large = args.reps_large
        self.seed = args.seed
        self.quick = args.quick
        self.args = args
        os.makedirs(self.cache, exist_ok=True)
        self.scratch = tempfile.mkdtemp(prefix="compare-", dir=self.cache)

    def seeds(self, reps):
        return [self.seed + r for r in range(reps)]

    def dataset(self, rows, dim, clusters, seed=7):
        """A Gaussian mixture from `ivftrain gen`, generated once into the cache."""
        path = os.path.join(self.cache, f"gmm-{rows}x{dim}-c{clusters}-s{seed}.npy")
        if not os.path.exists(path):
            log(f"generating {path}")
            tmp = path + ".tmp.npy"
            run([self.bin, "-q", "gen", tmp, "--rows", rows, "--dim", dim, "--clusters", clusters,
                 "--seed", seed])
            os.replace(tmp, path)
        return path


def resolve_path(path, what):
    for candidate in (path, os.path.join(ROOT, path)):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    sys.exit(f"compare.py: {what} not found at {path}; build with "
             "`cmake -S . -B build/release -G Ninja && ninja -C build/release` or pass the path")


# ---------------------------------------------------------------------------------------------
# An older build of ivftrain run beside this one (--baseline-tool); never counted as a peer.
BASELINE = "baseline"
# ivftrain with --relocate off (--lloyd): Lloyd's iterations alone, the peers' algorithm; not a
# peer either.
LLOYD = "ivftrain-lloyd"
OURS_EXTRA = (BASELINE, LLOYD)


def lloyd_line(s, best_peer_q):
    """The like-for-like figure: ivftrain's Lloyd loop alone against FAISS."""
    if LLOYD not in s:
        return []
    lloyd = s[LLOYD]
    return [f"ivftrain --relocate off (Lloyd's iterations alone, as the peers): "
            f"{s['faiss']['median_seconds'] / lloyd['median_seconds']:.2f}x FAISS's speed, "
            f"quality {lloyd['median_quality'] / best_peer_q:.4f} of the better peer's"]


def check_kernels(report):
    """Refuses a kmeans_tool run whose OpenBLAS kernels are not the peers' (same BLAS for all)."""
    core = report.get("blas_core")
    if "OPENBLAS_CORETYPE" in os.environ and core is not None and \
            core.lower() != os.environ["OPENBLAS_CORETYPE"].lower():
        raise ToolError(f"kmeans_tool ran OpenBLAS's {core} kernels, the peers "
                        f"{os.environ['OPENBLAS_CORETYPE']}'s: not like with like")
    if report.get("simd") and report["simd"] != check_kernels.seen:
        check_kernels.seen = report["simd"]
        log(f"kmeans_tool kernels: SIMD {report['simd']}, OpenBLAS {core}")


check_kernels.seen = None


# The systems. Each returns {"seconds": ..., "centroids" or "codebook": ..., ...}.

def ours_kmeans(env, data_path, k, iters, seed, algorithm="flat", balance=0.0, timeout=None,
                tool=None, relocate="on"):
    out = os.path.join(env.scratch, "centroids.npy")
    wall, stdout = timed(run, [tool or env.tool, "kmeans", data_path, out, "--k", k, "--iters", iters,
                               "--seed", seed, "--tolerance", 0, "--algorithm", algorithm,
                               "--balance", balance, "--threads", 0, "--relocate", relocate],
                         timeout=timeout)
    report = json.loads(stdout)
    check_kernels(report)
    return {"seconds": report["train_seconds"], "wall_seconds": wall,
            "centroids": np.load(out), "iterations": report["iterations"]}


def ours_pq(env, data_path, m, bits, iters, seed, tool=None, relocate="on"):
    out = os.path.join(env.scratch, "codebook.npy")
    wall, stdout = timed(run, [tool or env.tool, "pq", data_path, out, "--m", m, "--bits", bits,
                               "--iters", iters, "--seed", seed, "--tolerance", 0,
                               "--threads", 0, "--relocate", relocate])
    report = json.loads(stdout)
    check_kernels(report)
    return {"seconds": report["train_seconds"], "wall_seconds": wall, "codebook": np.load(out),
            "own_error": report["reconstruction_error"]}


def faiss_kmeans(x, k, iters, seed, verbose=False):
    # max_points_per_centroid stays at FAISS's default (256): the workloads have <= 256 k rows,
    # so FAISS trains on every row as the others do. verbose: FAISS prints each iteration's
    # time (to stdout, from C++).
    assert len(x) <= 256 * k, "FAISS would subsample"
    km = faiss.Kmeans(x.shape[1], k, niter=iters, seed=seed, verbose=verbose)
    seconds, _ = timed(km.train, x)
    return {"seconds": seconds, "centroids": km.centroids.copy()}


def reusable_peer(env, key, data_path, compute):
    """compute() (a peer's run, without arrays) or, with --reuse-peers, the record a previous run
    stored under `key` in the cache: flat FAISS at workload 5's size takes about 13 minutes, which
    need not be paid again to measure a change to ivftrain. The key includes the size and
    modification time of the data file, so regenerated data is never compared with a stale
    record. A reused record says when it was measured and how busy the machine was then."""
    st = os.stat(data_path)
    key = f"{key}-{st.st_size}-{int(st.st_mtime)}"
    path = os.path.join(env.cache, f"peer-{key}-faiss{faiss.__version__}.json")
    if env.args.reuse_peers and os.path.exists(path):
        with open(path) as f:
            r = json.load(f)
        log(f"reusing {path} (measured {r['measured_at']})")
        r["reused_from"] = path
        return r
    load = os.getloadavg()[0]
    r = compute()
    r["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    r["load_average_1min"] = [load, os.getloadavg()[0]]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(r, f, indent=1, default=float)
    os.replace(tmp, path)
    return r


def sklearn_kmeans(x, k, iters, seed):
    from sklearn.cluster import KMeans
    km = KMeans(n_clusters=k, algorithm="lloyd", n_init=1, init="random", max_iter=iters, tol=0,
                random_state=seed)
    seconds, _ = timed(km.fit, x)
    return {"seconds": seconds, "centroids": km.cluster_centers_.astype(np.float32),
            "iterations_run": int(km.n_iter_)}


def faiss_pq(x, m, bits, iters, seed):
    pq = faiss.ProductQuantizer(x.shape[1], m, bits)
    pq.cp.niter = iters
    pq.cp.seed = seed
    seconds, _ = timed(pq.train, x)
    codebook = faiss.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub)
    # FAISS's own encode/decode, a cross-check of the shared numpy measure.
    decoded = pq.decode(pq.compute_codes(x))
    own_error = float(((x.astype(np.float64) - decoded) ** 2).sum(axis=1).mean())
    return {"seconds": seconds, "codebook": codebook.copy(), "own_error": own_error}


# ---------------------------------------------------------------------------------------------
# BLAS reference.

def blas_description():
    try:
        import threadpoolctl
        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                return (f"{info.get('internal_api')} {info.get('version')} "
                        f"({info.get('threading_layer')}, {info.get('num_threads')} threads, "
                        f"{info.get('architecture')}) {info.get('filepath')}")
    except ImportError:
        pass
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        np.show_config()
    libs = re.findall(r"libraries = \[([^\]]*)\]", buf.getvalue())
    return f"numpy.show_config: libraries {libs[0] if libs else 'unknown'}"


# ---------------------------------------------------------------------------------------------
# Reporting.

def fmt(v, spec=".3f"):
    return "n/a" if v is None else format(v, spec)


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def check(name, value, target_text, ok):
    return {"name": name, "value": value, "target": target_text, "result": verdict(ok)}


def add_ratios(w):
    """Per system: its median seconds and quality over ivftrain's (peer / ivftrain)."""
    systems = w.get("systems", {})
    ours = systems.get("ivftrain", {})
    for s in systems.values():
        t, q = s.get("median_seconds"), s.get("median_quality")
        s["seconds_over_ivftrain"] = (t / ours["median_seconds"]
                                      if t and ours.get("median_seconds") else None)
        s["quality_over_ivftrain"] = (q / ours["median_quality"]
                                      if q and ours.get("median_quality") else None)


def print_workload(w):
    print(f"\n== Workload {w['id']}: {w['title']} ==")
    for note in w.get("notes", []):
        print(f"   {note}")
    systems = w.get("systems", {})
    if systems:
        qname = w.get("quality_name", "quality")
        print(f"   {'system':<22}{'median s':>10}{'s/ivftrain':>12}{qname:>14}{'q/ivftrain':>12}")
        for name, s in systems.items():
            print(f"   {name:<22}{fmt(s.get('median_seconds')):>10}"
                  f"{fmt(s['seconds_over_ivftrain'], '.2f'):>12}"
                  f"{fmt(s.get('median_quality'), '.5g'):>14}"
                  f"{fmt(s['quality_over_ivftrain'], '.4f'):>12}")
    for line in w.get("lines", []):
        print(f"   {line}")
    for c in w.get("checks", []):
        print(f"   [{c['result']}] {c['name']}: {fmt(c['value'])} (target {c['target']})")


def summarise(runs):
    """Median seconds and quality of a list of per-repetition results of one system."""
    return {"median_seconds": median([r.get("seconds") for r in runs]),
            "median_quality": median([r.get("quality") for r in runs]),
            "runs": [{k: v for k, v in r.items()
                      if k not in ("centroids", "codebook", "sizes")} for r in runs]}


# ---------------------------------------------------------------------------------------------
# Workloads.

def kmeans_comparison(env, wid, title, rows, dim, k, iters, with_sklearn):
    """Workloads 1 and 2: ivftrain vs FAISS vs scikit-learn flat k-means, alternating."""
    path = env.dataset(rows, dim, clusters=k)
    x = np.load(path)
    systems = {"ivftrain": [], "faiss": []}
    if with_sklearn:
        systems["sklearn"] = []
    runners = {"ivftrain": lambda s: ours_kmeans(env, path, k, iters, s),
               "faiss": lambda s: faiss_kmeans(x, k, iters, s),
               "sklearn": lambda s: sklearn_kmeans(x, k, iters, s),
               BASELINE: lambda s: ours_kmeans(env, path, k, iters, s, tool=env.args.baseline_tool),
               LLOYD: lambda s: ours_kmeans(env, path, k, iters, s, relocate="off")}
    if env.args.baseline_tool:
        systems[BASELINE] = []
    if env.args.lloyd:
        systems[LLOYD] = []
    computed, pruned = [], []
    for rep, seed in enumerate(env.seeds(env.reps)):
        for name in systems:
            log(f"workload {wid}: rep {rep + 1}/{env.reps} {name} (seed {seed})")
            r = runners[name](seed)
            r["seed"] = seed
            r["quality"], _ = kmeans_quality(x, r["centroids"])
            if name == "ivftrain":
                computed.append([it.get("rows_computed") for it in r["iterations"]])
                pruned.append([it.get("rows_pruned") for it in r["iterations"]])
            r.pop("iterations", None)
            systems[name].append(r)
    w = {"id": wid, "title": title,
         "notes": [f"{rows} x {dim} float32 ({os.path.basename(path)}), k = {k}, {iters} "
                   f"iterations, no early stop, {env.reps} reps, seeds {env.seeds(env.reps)}",
                   "ivftrain s = kmeans_train call in bench/kmeans_tool (wall incl. load in JSON)"],
         "quality_name": "MSE",
         "systems": {name: summarise(runs) for name, runs in systems.items()}}
    sk_iters = [r["iterations_run"] for r in systems.get("sklearn", [])]
    if any(i < iters for i in sk_iters):
        # Lloyd in scikit-learn stops when no label changes, whatever tol: its time then covers
        # fewer iterations than the others'.
        w["notes"].append(f"sklearn stopped early on unchanged labels: iterations run {sk_iters}")
    s = w["systems"]
    ours_t, ours_q = s["ivftrain"]["median_seconds"], s["ivftrain"]["median_quality"]
    best_peer_q = min(s[p]["median_quality"] for p in s if p not in ("ivftrain",) + OURS_EXTRA)
    faiss_speedup = s["faiss"]["median_seconds"] / ours_t
    w["rows_computed_per_iteration"] = computed
    w["rows_pruned_per_iteration"] = pruned
    if computed and all(c is not None for c in computed[0]):
        shares = [c / rows for c in computed[0]]
        w["lines"] = lloyd_line(s, best_peer_q) + [
                      f"ivftrain rows computed in full per iteration (the bounds settle the "
                      f"rest), rep 1: {' '.join(f'{100 * f:.0f}%' for f in shares)}"]
        if pruned and all(p is not None for p in pruned[0]) and any(pruned[0]):
            w["lines"].append("of them searched with exact dimension pruning, rep 1: " + " ".join(
                f"{100 * p / c:.0f}%" if c else "-" for p, c in zip(pruned[0], computed[0])))
    target = TARGETS[wid]
    w["checks"] = [check("speed vs FAISS (faiss s / ivftrain s)", faiss_speedup,
                         f">= {target['faiss']}x", faiss_speedup >= target["faiss"])]
    if "sklearn" in s:
        sk_speedup = s["sklearn"]["median_seconds"] / ours_t
        w["checks"].append(check("speed vs sklearn (sklearn s / ivftrain s)", sk_speedup,
                                 f">= {target['sklearn']}x", sk_speedup >= target["sklearn"]))
    w["checks"].append(check("MSE / better peer's MSE", ours_q / best_peer_q, "<= 1.005",
                             ours_q / best_peer_q <= 1.005))
    return w


# The speed targets of workloads 1 and 2 (peer seconds / ivftrain seconds).
TARGETS = {1: {"faiss": 5, "sklearn": 2.5}, 2: {"faiss": 4, "sklearn": 2.5}}


def workload_1(env):
    rows, k = (32_768, 256) if env.quick else (262_144, 1024)
    return kmeans_comparison(env, 1, f"IVF k-means {rows} x 128, k = {k}", rows, 128, k,
                             5 if env.quick else 10, with_sklearn=True)


def workload_2(env):
    rows, k = (16_384, 256) if env.quick else (262_144, 1024)
    return kmeans_comparison(env, 2, f"IVF k-means at embedding size {rows} x 768, k = {k}",
                             rows, 768, k, 5 if env.quick else 10,
                             with_sklearn=env.args.with_sklearn_768)


def pq_residuals(env, rows, dim):
    """x minus its nearest of 256 FAISS k-means centroids (10 iterations, seed 1234), cached."""
    path = os.path.join(env.cache, f"residuals-{rows}x{dim}.npy")
    if not os.path.exists(path):
        x = np.load(env.dataset(rows, dim, clusters=1024))
        km = faiss.Kmeans(dim, 256, niter=10, seed=1234)
        km.train(x)
        residuals = x - km.centroids[nearest_centroids(x, km.centroids)]
        tmp = path + ".tmp.npy"
        np.save(tmp, np.ascontiguousarray(residuals, dtype=np.float32))
        os.replace(tmp, path)
    return path


def workload_3(env):
    rows, dim, m, bits = (16_384 if env.quick else 65_536), 128, 16, 8
    iters = 10 if env.quick else 25
    path = pq_residuals(env, rows, dim)
    x = np.load(path)
    systems = {"ivftrain": [], "faiss": []}
    runners = {"ivftrain": lambda s: ours_pq(env, path, m, bits, iters, s),
               "faiss": lambda s: faiss_pq(x, m, bits, iters, s),
               BASELINE: lambda s: ours_pq(env, path, m, bits, iters, s,
                                           tool=env.args.baseline_tool),
               LLOYD: lambda s: ours_pq(env, path, m, bits, iters, s, relocate="off")}
    if env.args.baseline_tool:
        systems[BASELINE] = []
    if env.args.lloyd:
        systems[LLOYD] = []
    for rep, seed in enumerate(env.seeds(env.reps)):
        for name in systems:
            log(f"workload 3: rep {rep + 1}/{env.reps} {name} (seed {seed})")
            r = runners[name](seed)
            r["seed"] = seed
            r["quality"] = pq_quality(x, r["codebook"])
            systems[name].append(r)
    w = {"id": 3, "title": f"PQ {rows} x {dim} residuals, {m} sub-vectors x {bits} bits",
         "notes": [f"residuals = x - nearest of 256 faiss.Kmeans centroids; {iters} iterations, "
                   f"no early stop, {env.reps} reps",
                   "quality = mean ||x - decode(x)||^2 (shared numpy measure); each system's "
                   "own figure in the JSON (own_error)"],
         "quality_name": "recon err",
         "systems": {name: summarise(runs) for name, runs in systems.items()}}
    s = w["systems"]
    speedup = s["faiss"]["median_seconds"] / s["ivftrain"]["median_seconds"]
    q_ratio = s["ivftrain"]["median_quality"] / s["faiss"]["median_quality"]
    w["lines"] = lloyd_line(s, s["faiss"]["median_quality"])
    w["checks"] = [check("speed vs FAISS (faiss s / ivftrain s)", speedup, ">= 20x",
                         speedup >= 20),
                   check("error / FAISS error", q_ratio, "<= 1.01", q_ratio <= 1.01)]
    return w


def time_v(env, cmd):
    """(wall seconds, peak RSS bytes, stdout) of a whole process under /usr/bin/time -v."""
    report = os.path.join(env.scratch, "time.txt")
    wall, stdout = timed(run, ["/usr/bin/time", "-v", "-o", report] + list(cmd))
    with open(report) as f:
        text = f.read()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, rss_kb * 1024, stdout


def workload_4(env):
    rows, k = (100_000, 256) if env.quick else (1_000_000, 1024)
    path = env.dataset(rows, 128, clusters=k)
    model = os.path.join(env.scratch, "model")
    runs = []
    for rep in range(env.reps):
        log(f"workload 4: rep {rep + 1}/{env.reps} ivftrain train")
        wall, rss, stdout = time_v(env, [env.bin, "-q", "train", path, "--out", model, "--overwrite",
                                    "--index-type", "ivf_pq", "--num-partitions", k, "--json"])
        summary = json.loads(stdout)
        centroids = np.load(os.path.join(model, "ivf_centroids.npy"), mmap_mode="r")
        codebook = np.load(os.path.join(model, "pq_codebook.npy"), mmap_mode="r")
        sample_bytes = summary["sample_rows"] * summary["dim"] * 4
        model_bytes = centroids.nbytes + codebook.nbytes
        bound = 1.25 * (sample_bytes + model_bytes) + 64 * MIB
        runs.append({"seconds": wall, "peak_rss_bytes": rss, "bound_bytes": bound,
                     "sample_rows": summary["sample_rows"], "model_bytes": model_bytes,
                     "ivf_iterations": summary["ivf_iterations"],
                     "ivf_mse": summary["ivf_mse"],
                     "pq_reconstruction_mse": summary.get("pq_reconstruction_mse"),
                     "phase_seconds": {p: summary[p] for p in
                                       ("sample_seconds", "ivf_seconds", "quantizer_seconds",
                                        "total_seconds")}})
    t, rss, bound = (median([r[key] for r in runs])
                     for key in ("seconds", "peak_rss_bytes", "bound_bytes"))
    phases = {p: median([r["phase_seconds"][p] for r in runs]) for p in runs[0]["phase_seconds"]}
    w = {"id": 4, "title": f"whole `ivftrain train` ivf_pq, {rows} x 128, {k} partitions",
         "notes": ["default parameters (50 iterations max, early stop on, sample 256 x k), "
                   f"whole process incl. loading, {env.reps} reps"],
         "median_seconds": t, "median_peak_rss_bytes": rss, "bound_bytes": bound, "runs": runs,
         "lines": [f"wall {t:.2f} s (sample {phases['sample_seconds']:.2f} s, ivf "
                   f"{phases['ivf_seconds']:.2f} s, pq {phases['quantizer_seconds']:.2f} s); "
                   f"peak RSS {rss / MIB:.1f} MiB; bound 1.25 x ({runs[0]['sample_rows']} x 128 "
                   f"x 4 B + {runs[0]['model_bytes']} B) + 64 MiB = {bound / MIB:.1f} MiB"],
         "checks": [check("peak RSS / bound", rss / bound, "<= 1", rss <= bound)]}
    return w


def hierarchical_available(env):
    """True when kmeans_train honours --algorithm hierarchical: on a small problem its centroids
    then differ from flat k-means' (an implementation that ignores the flag returns flat's)."""
    path = env.dataset(20_000, 16, clusters=64)
    flat = ours_kmeans(env, path, 256, 3, 1)["centroids"]
    try:
        hier = ours_kmeans(env, path, 256, 3, 1, algorithm="hierarchical")["centroids"]
    except ToolError as e:
        log(f"hierarchical k-means unavailable: {e}")
        return False
    return not np.array_equal(flat, hier)


def workload_5(env):
    rows, k = (65_536, 1024) if env.quick else (1_048_576, 16_384)
    iters = 5 if env.quick else 10
    path = env.dataset(rows, 128, clusters=k)
    x = np.load(path)
    have_hier = hierarchical_available(env)
    reps = env.reps_large
    systems = {"ivftrain": [], "faiss": []}
    balanced = []
    timeout = env.args.large_timeout
    for rep, seed in enumerate(env.seeds(reps)):
        if have_hier:
            for label, balance in (("ivftrain", 0.0), ("balanced", 2.0)):
                log(f"workload 5: rep {rep + 1}/{reps} ivftrain hierarchical balance {balance}")
                try:
                    r = ours_kmeans(env, path, k, iters, seed, "hierarchical", balance,
                                    timeout=timeout)
                except ToolError as e:
                    log(f"workload 5: {e}")
                    r = {"seconds": None, "error": str(e)}
                if "centroids" in r:
                    r["quality"], sizes = kmeans_quality(x, r["centroids"])
                    r["largest_over_mean"] = float(sizes.max() / sizes.mean())
                    del r["iterations"]
                r["seed"] = seed
                (systems["ivftrain"] if label == "ivftrain" else balanced).append(r)
        if not have_hier:
            break  # FAISS alone compares with nothing and takes minutes
        log(f"workload 5: rep {rep + 1}/{reps} faiss flat")

        def faiss_flat():
            r = faiss_kmeans(x, k, iters, seed, verbose=True)
            r["quality"], sizes = kmeans_quality(x, r.pop("centroids"))
            r["largest_over_mean"] = float(sizes.max() / sizes.mean())
            return r
        r = reusable_peer(env, f"w5-{rows}x128-k{k}-it{iters}-seed{seed}", path, faiss_flat)
        r["seed"] = seed
        systems["faiss"].append(r)
    if not have_hier:
        systems["ivftrain"] = [{"seconds": None, "quality": None,
                                "error": "hierarchical k-means not available"}]
        systems["faiss"] = [{"seconds": None, "quality": None, "error": "not run"}]
    w = {"id": 5, "title": f"large k: {k} partitions over {rows} x 128",
         "notes": [f"ivftrain --kmeans hierarchical vs flat faiss.Kmeans, {iters} iterations, "
                   f"{reps} reps" + ("" if have_hier else
                                     "; hierarchical k-means not available (kmeans_tool returns "
                                     "flat k-means' centroids for it): n/a, FAISS not run")],
         "quality_name": "MSE",
         "systems": {name: summarise(runs) for name, runs in systems.items()}}
    for r in systems["faiss"]:
        if "reused_from" in r:
            load = r.get("load_average_1min") or [None, None]
            w["notes"].append(f"faiss (seed {r['seed']}) reused from {r['reused_from']}, "
                              f"measured {r['measured_at']} at 1-min load {fmt(load[0], '.1f')} "
                              f"before, {fmt(load[1], '.1f')} after")
    if balanced:
        w["systems"]["ivftrain balance 2"] = summarise(balanced)
    s = w["systems"]
    ours_t, ours_q = s["ivftrain"]["median_seconds"], s["ivftrain"]["median_quality"]
    faiss_t, faiss_q = s["faiss"]["median_seconds"], s["faiss"]["median_quality"]
    speedup = faiss_t / ours_t if ours_t and faiss_t else None
    q_ratio = ours_q / faiss_q if ours_q and faiss_q else None
    imbalance = median([r.get("largest_over_mean") for r in balanced])
    unbalanced = median([r.get("largest_over_mean") for r in systems["ivftrain"]])
    # Sizes are those an index gets when it adds every row to its nearest centroid (--balance
    # bounds them on the training sample, which is every row here).
    w["lines"] = [f"largest / mean partition (nearest-centroid assignment of all rows): "
                  f"ivftrain {fmt(unbalanced, '.2f')}, ivftrain --balance 2 "
                  f"{fmt(imbalance, '.2f')}, faiss "
                  f"{fmt(median([r.get('largest_over_mean') for r in systems['faiss']]), '.2f')}"]
    w["checks"] = [check("speed vs flat FAISS", speedup, ">= 10x",
                         speedup >= 10 if speedup else None),
                   check("MSE / FAISS MSE", q_ratio, "<= 1.05",
                         q_ratio <= 1.05 if q_ratio else None),
                   check("largest / mean partition with --balance 2", imbalance, "<= 2",
                         imbalance <= 2 if imbalance else None)]
    return w


def big_npy(env, rows, dim):
    """A float32 .npy of `rows` standard-normal rows, written in chunks with numpy (ivftrain gen
    would hold the whole array in memory)."""
    path = os.path.join(env.cache, f"big-{rows}x{dim}.npy")
    if not os.path.exists(path):
        log(f"generating {path}")
        tmp = path + ".tmp.npy"
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(rows, dim))
        rng = np.random.default_rng(6)
        chunk = 1 << 18
        for s in range(0, rows, chunk):
            arr[s:s + chunk] = rng.standard_normal((min(chunk, rows - s), dim), dtype=np.float32)
        arr.flush()
        del arr
        os.replace(tmp, path)
    return path


def workload_6(env):
    rows, dim = (524_288 if env.quick else 8_388_608), 128
    path = big_npy(env, rows, dim)
    partitions = 1024
    sample_rate = max(1, round(rows * 0.01 / partitions))
    plan = os.path.join(env.scratch, "plan")
    run([env.bin, "-q", "plan", path, "--workers", 1, "--out", plan, "--overwrite",
         "--index-type", "ivf_flat", "--num-partitions", partitions, "--sample-rate",
         sample_rate])
    task = os.path.join(plan, "task-0000.json")
    result = os.path.join(env.scratch, "sample.result")
    cat = ["cat", path]

    def run_cat():
        subprocess.run(cat, stdout=subprocess.DEVNULL, check=True)

    run_cat()  # warm the page cache
    cats, samples = [], []
    for rep in range(env.reps):
        log(f"workload 6: rep {rep + 1}/{env.reps} cat, sample")
        cats.append(timed(run_cat)[0])
        samples.append(timed(run, [env.bin, "-q", "sample", task, "--out", result])[0])
    t_cat, t_sample = median(cats), median(samples)
    size = os.path.getsize(path)
    w = {"id": 6, "title": f"sampling 1% of a {size / (1 << 30):.2f} GiB .npy in the page cache",
         "notes": [f"{rows} x {dim} float32; plan ivf_flat, {partitions} partitions x sample rate "
                   f"{sample_rate} = {partitions * sample_rate} rows "
                   f"({partitions * sample_rate / rows * 100:.2f}%); `ivftrain sample` (whole "
                   f"process) vs `cat FILE > /dev/null`, alternating, {env.reps} reps"],
         "cat_seconds": cats, "sample_seconds": samples,
         "lines": [f"cat {t_cat:.3f} s ({size / t_cat / (1 << 30):.2f} GiB/s), sample "
                   f"{t_sample:.3f} s"],
         "checks": [check("sample s / cat s", t_sample / t_cat, "< 3", t_sample / t_cat < 3)]}
    return w


def workload_7(env):
    """Raw kernels: kmeans_assign (all rows computed) against a bare sgemm of the same shape,
    one thread each, repetitions interleaved in one bench/assign_bench run."""
    bench = resolve_path(os.path.join(os.path.dirname(env.tool), "assign_bench"), "assign_bench")
    reps = max(env.reps, 3)
    out = run([bench, "--benchmark_filter=threads:1", "--benchmark_format=json",
               f"--benchmark_repetitions={reps}", "--benchmark_enable_random_interleaving=true",
               "--benchmark_report_aggregates_only=true"])
    report = json.loads(out)
    rate = {}
    for b in report["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        kind, shape = b["run_name"].split("/", 1)
        rate[(kind, shape.replace("/real_time", ""))] = b["FLOPS"] / 1e9
    ctx = report.get("context", {})
    w = {"id": 7, "title": "raw kernels, one thread, every row computed (bench/assign_bench)",
         "notes": [f"SIMD level {ctx.get('ivftrain_simd', '?')}, OpenBLAS core "
                   f"{ctx.get('openblas_core', '?')}; medians of {reps} interleaved repetitions"],
         "lines": [], "checks": [], "kernels": []}
    for (kind, shape), ours in sorted(rate.items()):
        if kind != "BM_KMeansAssign":
            continue
        gemm = rate.get(("BM_Sgemm", shape))
        direct = "/d:8/" in shape
        ratio = ours / gemm if gemm else None
        w["kernels"].append({"shape": shape, "ivftrain_gflops": ours, "sgemm_gflops": gemm,
                             "ratio": ratio, "kernel": "direct" if direct else "gemm"})
        w["lines"].append(f"{shape}: ivftrain {ours:.1f} GFLOP/s ({'direct' if direct else 'GEMM path'}), "
                          f"bare sgemm {fmt(gemm, '.1f')} GFLOP/s: {fmt(ratio, '.2f')}x")
        target = 2.0 if direct else 0.85
        w["checks"].append(check(f"{'direct kernel' if direct else 'GEMM path'} / sgemm, {shape}",
                                 ratio, f">= {target}", ratio >= target if ratio else None))
    return w


WORKLOADS = {1: workload_1, 2: workload_2, 3: workload_3, 4: workload_4, 5: workload_5,
             6: workload_6, 7: workload_7}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="1,2,3,4,5,6,7", help="comma-separated ids")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (workloads 1-4, 6)")
    ap.add_argument("--reps-large", type=int, default=1, help="repetitions of workload 5")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    ap.add_argument("--bin", default="build/release/tools/ivftrain")
    ap.add_argument("--tool", default="build/release/bench/kmeans_tool")
    ap.add_argument("--baseline-tool", help="another build's bench/kmeans_tool, run as one more "
                    "system ('baseline') in workloads 1-3, alternating with the others: before "
                    "and after a change, side by side")
    ap.add_argument("--lloyd", action="store_true",
                    help="also run ivftrain with --relocate off (Lloyd's iterations alone, the "
                         "peers' algorithm) in workloads 1-3: the like-for-like speed")
    ap.add_argument("--cache-dir", default="/tmp/ivftrain-bench")
    ap.add_argument("--seed", type=int, default=1, help="seed of repetition 0 (then +1, ...)")
    ap.add_argument("--with-sklearn-768", action=argparse.BooleanOptionalAction, default=True,
                    help="run scikit-learn in workload 2 (on by default; it is slow)")
    ap.add_argument("--skip-sklearn-768", dest="with_sklearn_768", action="store_false",
                    help="the same as --no-with-sklearn-768")
    ap.add_argument("--large-timeout", type=float, default=900,
                    help="seconds before an ivftrain run of workload 5 counts as n/a")
    ap.add_argument("--omp-passive", action="store_true",
                    help="OMP_WAIT_POLICY=PASSIVE for every system (use on a busy machine)")
    ap.add_argument("--reuse-peers", action="store_true",
                    help="workload 5: reuse flat FAISS's result stored in --cache-dir by an "
                         "earlier run with the same sizes and seed instead of rerunning it")
    ap.add_argument("--json-out", help="write every measurement as JSON here")
    args = ap.parse_args()
    env = Env(args)
    ids = [int(i) for i in args.workloads.split(",") if i.strip()]
    unknown = [i for i in ids if i not in WORKLOADS]
    if unknown:
        sys.exit(f"compare.py: unknown workload(s) {unknown}; choose among 1-7")

    environment = {"host": platform.node(), "cpu": cpu_model(), "cores": os.cpu_count(),
                   "python": sys.version.split()[0], "numpy": np.__version__,
                   "faiss": faiss.__version__, "blas": blas_description(),
                   "ivftrain": env.bin, "kmeans_tool": env.tool, "quick": args.quick,
                   "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
                   "load_average_1min": os.getloadavg()[0]}
    try:
        import sklearn
        environment["sklearn"] = sklearn.__version__
    except ImportError:
        pass
    print(f"ivftrain vs FAISS {faiss.__version__} / scikit-learn "
          f"{environment.get('sklearn', 'n/a')} on {environment['cpu']} ({os.cpu_count()} cores)")
    print(f"numpy {np.__version__} BLAS: {environment['blas']}")
    print(f"OMP_WAIT_POLICY: {environment['omp_wait_policy']}")
    if environment["load_average_1min"] > 0.5 * os.cpu_count():
        print(f"WARNING: 1-min load average {environment['load_average_1min']:.1f} on "
              f"{os.cpu_count()} cores: other processes skew the timings (see --omp-passive)")
    results = []
    try:
        for i in ids:
            log(f"--- workload {i}")
            load_before = os.getloadavg()[0]
            t, w = timed(WORKLOADS[i], env)
            w["harness_seconds"] = t
            # Other processes on the machine skew every figure: record how busy it was.
            w["load_average_1min"] = [load_before, os.getloadavg()[0]]
            w.setdefault("notes", []).append(
                f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
                f"({os.cpu_count()} cores)")
            add_ratios(w)
            print_workload(w)
            sys.stdout.flush()
            results.append(w)
    finally:
        shutil.rmtree(env.scratch, ignore_errors=True)
    by_id = {w["id"]: w for w in results}
    if all(i in by_id for i in (1, 3, 4)) and not args.quick:
        # The whole train (1M rows, k = 1024, PQ 16 x 8) against its two trainings alone.
        parts = (by_id[1]["systems"]["ivftrain"]["median_seconds"] +
                 by_id[3]["systems"]["ivftrain"]["median_seconds"])
        ratio = by_id[4]["median_seconds"] / parts
        c = check("W4 s / (W1 ivftrain s + W3 ivftrain s)", ratio, "<= 1.5", ratio <= 1.5)
        by_id[4]["checks"].append(c)
        print(f"\n   [{c['result']}] {c['name']}: {fmt(ratio)} (target {c['target']})")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"environment": environment, "workloads": results}, f, indent=1,
                      default=float)
        print(f"\nJSON: {args.json_out}")
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
