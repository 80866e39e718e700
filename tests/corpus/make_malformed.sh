#!/usr/bin/env bash
# Regenerates the malformed-input corpus in this directory: one small file (or directory) per
# case, each broken in one way. tests/unit/malformed_test.cc opens every case through the public
# API and scripts/error_table.sh records what the CLI says about them (docs/errors.md).
#   tests/malformed/make_corpus.sh [path/to/ivftrain]   (default: build/release/tools/ivftrain)
# The generated files are committed; rerun only when a case is added or a format changes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
IVF="$(realpath "${1:-$HERE/../../build/release/tools/ivftrain}")"
PY=/usr/bin/python3
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-malformed-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$HERE"
# Everything but this script is generated.
find . -mindepth 1 -maxdepth 1 ! -name make_corpus.sh -exec rm -rf {} +

gen() { local ext="${1##*.}"; "$IVF" -q gen "$@" --clusters 2 --format "$ext"; }

# The valid files the broken ones start from.
gen "$WORK/good.npy" --rows 6 --dim 4
gen "$WORK/good.fbin" --rows 6 --dim 4

"$PY" - "$WORK" <<'PY'
import struct, sys
import numpy as np, h5py
work = sys.argv[1]
good_npy = open(f"{work}/good.npy", "rb").read()
good_fbin = open(f"{work}/good.fbin", "rb").read()
x = np.arange(24, dtype=np.float32).reshape(6, 4)

# npy: the header cut in the middle.
open("npy_truncated.npy", "wb").write(good_npy[:40])
# npy: not the NumPy magic.
open("npy_bad_magic.npy", "wb").write(b"\x93NUMPZ" + good_npy[6:])
# npy: a header declaring 1000 rows over the data of 6.
header_len = struct.unpack("<H", good_npy[8:10])[0]
header = good_npy[10:10 + header_len].replace(b"(6, 4)", b"(1000, 4)")
header = header[:header_len - 1].ljust(header_len - 1) + b"\n"  # same length, keeps alignment
open("npy_shape_beyond_file.npy", "wb").write(good_npy[:10] + header + good_npy[10 + header_len:])
np.save("npy_1d.npy", np.zeros(24, np.float32))
np.save("npy_dtype_i8.npy", x.astype("<i8"))
np.save("npy_fortran_order.npy", np.asfortranarray(x))

# fvecs: rows of dimension 4, 3 and 5. The sizes add up to three rows of dimension 4 (60
# bytes), so only reading row 1 can tell.
rows = [x[0, :4], x[1, :3], np.concatenate([x[2], x[3, :1]])]
open("fvecs_mixed_dims.fvecs", "wb").write(
    b"".join(struct.pack("<i", len(r)) + r.astype("<f4").tobytes() for r in rows))

# fbin: zero rows; a header declaring more rows than the file holds.
open("fbin_zero_rows.fbin", "wb").write(struct.pack("<Ii", 0, 4))
open("fbin_size_beyond_file.fbin", "wb").write(struct.pack("<Ii", 100, 4) + good_fbin[8:])

# HDF5 without the "train" dataset.
with h5py.File("hdf5_no_train.hdf5", "w") as f:
    f.create_dataset("test", data=x)
PY

# A directory of fragments whose dimensions differ.
mkdir dir_dims_differ
gen dir_dims_differ/part-0.fbin --rows 5 --dim 4
gen dir_dims_differ/part-1.fbin --rows 5 --dim 8
# A directory with no supported file (the README keeps it in git).
mkdir dir_no_supported_file
printf 'A dataset directory with no supported vector file: Dataset::open must refuse it.\n' \
  > dir_no_supported_file/README.txt

# Manifests over manifest_data.fbin (6 rows of dimension 4).
gen manifest_data.fbin --rows 6 --dim 4
printf '%s\n' '{"fragments": [{"id": 2, "path": "manifest_data.fbin", "first_row": 0, "num_rows": 3},
 {"id": 2, "path": "manifest_data.fbin", "first_row": 3, "num_rows": 3}]}' \
  > manifest_duplicate_ids.json
printf '%s\n' '{"fragments": [{"id": 0, "path": "manifest_data.fbin", "first_row": 4, "num_rows": 5}]}' \
  > manifest_rows_beyond_file.json

# A sample result with one flipped byte, a truncated one, a task without "dim".
gen "$WORK/data.fbin" --rows 40 --dim 4
"$IVF" -q plan "$WORK/data.fbin" --workers 1 --out "$WORK/plan" --index-type ivf_flat \
  --num-partitions 2
"$IVF" -q sample "$WORK/plan/task-0000.json" --threads 1
"$PY" - "$WORK/plan" <<'PY'
import json, sys
plan = sys.argv[1]
good = open(f"{plan}/task-0000.result", "rb").read()
flipped = bytearray(good)
flipped[len(good) // 2] ^= 0x01  # inside the vectors: only the checksum can tell
open("result_flipped_byte.result", "wb").write(flipped)
open("result_truncated.result", "wb").write(good[:len(good) - 100])
task = json.load(open(f"{plan}/task-0000.json"))
task["dataset"]["path"] = "/data/vectors.fbin"
del task["dim"]
open("task_missing_field.json", "w").write(json.dumps(task, indent=2) + "\n")
PY

echo "malformed corpus: $(find . -mindepth 1 -maxdepth 1 ! -name make_corpus.sh | wc -l) cases, $(du -sk . | cut -f1) KB"
