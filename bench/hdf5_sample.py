#!/usr/bin/python3
"""Sampling a chunked, gzip-compressed HDF5 file: `ivftrain sample` against h5py reading it whole.

HDF5 datasets written by h5py with compression="gzip" are stored in chunks that are decompressed
whole for any row read from them. A reader that reads sampled rows in small batches, with a chunk
cache too small for a chunk, decompresses the same chunk once per batch: 2,048 rows of a
100,000 x 64 file stored as one chunk took 20 s. Each shape below is generated once with h5py
into --cache-dir, planned with `ivftrain plan` (one worker, ivf_flat, --num-partitions 8, so
2,048 sampled rows), and the `ivftrain sample` of its one task is timed --reps times (median).
h5py's time to read the whole dataset is the reference: a reader that decompresses each chunk
once cannot be much slower than that.

    /usr/bin/python3 bench/hdf5_sample.py --bin build/release/tools/ivftrain
    /usr/bin/python3 bench/hdf5_sample.py --bin OLD --bin NEW      # before / after
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import h5py
import numpy as np

# (rows, dim, chunk rows): one chunk, large chunks, h5py's automatic chunking.
SHAPES = [(100_000, 64, 100_000), (100_000, 64, 10_000), (200_000, 128, None)]


def dataset_path(cache, rows, dim, chunk_rows):
    name = f"gzip-{rows}x{dim}-{'auto' if chunk_rows is None else chunk_rows}.h5"
    path = os.path.join(cache, name)
    if not os.path.exists(path):
        x = np.random.default_rng(1).normal(size=(rows, dim)).astype(np.float32)
        tmp = path + ".tmp"
        with h5py.File(tmp, "w") as f:
            chunks = True if chunk_rows is None else (chunk_rows, dim)
            f.create_dataset("train", data=x, chunks=chunks, compression="gzip")
        os.rename(tmp, path)
    return path


def h5py_read_seconds(path):
    t = time.perf_counter()
    with h5py.File(path, "r") as f:
        f["train"][...]
    return time.perf_counter() - t


def sample_seconds(binary, path, work):
    plan = os.path.join(work, "plan")
    shutil.rmtree(plan, ignore_errors=True)
    subprocess.run([binary, "-q", "plan", path, "--workers", "1", "--out", plan, "--index-type",
                    "ivf_flat", "--num-partitions", "8"], check=True)
    task = os.path.join(plan, "task-0000.json")
    t = time.perf_counter()
    subprocess.run([binary, "-q", "sample", task], check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", help="ivftrain binary (repeat to compare)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cache-dir", default="/tmp/ivftrain-bench")
    args = ap.parse_args()
    binaries = args.bin or ["build/release/tools/ivftrain"]
    os.makedirs(args.cache_dir, exist_ok=True)
    print(f"{'dataset':<34} {'h5py whole (s)':>14} " +
          " ".join(f"{'sample ' + str(i) + ' (s)':>12}" for i in range(len(binaries))))
    with tempfile.TemporaryDirectory() as work:
        for rows, dim, chunk_rows in SHAPES:
            path = dataset_path(args.cache_dir, rows, dim, chunk_rows)
            ref = statistics.median(h5py_read_seconds(path) for _ in range(args.reps))
            times = [statistics.median(sample_seconds(b, path, work) for _ in range(args.reps))
                     for b in binaries]
            print(f"{os.path.basename(path):<34} {ref:>14.3f} " +
                  " ".join(f"{t:>12.3f}" for t in times))
    for i, b in enumerate(binaries):
        print(f"sample {i}: {b}")


if __name__ == "__main__":
    main()
