#!/usr/bin/python3
"""The Python module's overhead: ivftrain.train(x) against `ivftrain train` on the same rows.

Workload W1's shape by default: 262,144 x 128 float32 (a Gaussian mixture made by
`ivftrain gen`), ivf_flat, k = 1024, 10 iterations (tolerance 0), sample_rate 256, so that every
row is sampled. The CLI reads the .npy from the page cache (warmed first); Python trains on the
same rows already in memory (np.load). Repetitions alternate (cli, python, cli, ...); medians.

Reported: the CLI's training time (model.json's timings.total_seconds: train_local, the data
read from the page cache) and its whole wall time; Python's wall time of the train() call (the
array already in memory) and the model's own timings.total_seconds. The issue's target:
python wall <= 1.05 x CLI training time.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_overhead.py [--reps 5]
        [--rows 262144 --dim 128 --k 1024 --iters 10] [--bin build/release/tools/ivftrain]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/release/tools/ivftrain")
    ap.add_argument("--rows", type=int, default=262144)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--k", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    import ivftrain

    flags = dict(index_type="ivf_flat", num_partitions=args.k, max_iters=args.iters,
                 tolerance=0, sample_rate=256, threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "x.npy")
        subprocess.run([args.bin, "-q", "gen", data, "--rows", str(args.rows), "--dim",
                        str(args.dim), "--clusters", "256"], check=True)
        x = np.load(data)
        cli_args = []
        for key, value in flags.items():
            cli_args += [f"--{key.replace('_', '-')}", str(value)]
        cli_train, cli_wall, py_wall, py_train = [], [], [], []
        with open(data, "rb") as f:  # page cache
            while f.read(1 << 24):
                pass
        for rep in range(args.reps):
            out = os.path.join(tmp, f"cli{rep}")
            t0 = time.perf_counter()
            subprocess.run([args.bin, "-q", "train", data, "--out", out, *cli_args], check=True)
            cli_wall.append(time.perf_counter() - t0)
            with open(os.path.join(out, "model.json"), encoding="utf-8") as f:
                cli_train.append(json.load(f)["timings"]["total_seconds"])
            t0 = time.perf_counter()
            model = ivftrain.train(x, **flags)
            py_wall.append(time.perf_counter() - t0)
            py_train.append(model.timings["total_seconds"])
            assert model.ivf_centroids.tobytes() == np.load(
                os.path.join(out, "ivf_centroids.npy")).tobytes(), "models differ"
    med = statistics.median
    result = {"rows": args.rows, "dim": args.dim, "k": args.k, "iters": args.iters,
              "reps": args.reps, "cli_train_s": med(cli_train), "cli_wall_s": med(cli_wall),
              "python_wall_s": med(py_wall), "python_train_s": med(py_train),
              "python_wall_over_cli_train": med(py_wall) / med(cli_train)}
    print(json.dumps(result))
    ratio = result["python_wall_over_cli_train"]
    print(f"python train() {med(py_wall):.3f} s vs CLI training {med(cli_train):.3f} s "
          f"(wall {med(cli_wall):.3f} s): {ratio:.3f}x (target <= 1.05x)", file=sys.stderr)


if __name__ == "__main__":
    main()
