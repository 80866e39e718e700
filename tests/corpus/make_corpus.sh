#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/NAME (for target fuzz_NAME): small valid files
# made with the CLI and NumPy/h5py, plus a few malformed ones. Usage:
#   fuzz/make_corpus.sh [path/to/ivftrain]      (default: build/release/tools/ivftrain)
# The output is committed; rerun only when a format changes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IVF="$(realpath "${1:-$ROOT/build/release/tools/ivftrain}")"
PY=/usr/bin/python3
C="$ROOT/fuzz/corpus"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-seeds-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$C"
mkdir -p "$C"/{npy,fvecs,bvecs,fbin,u8bin,hdf5,hdf5_raw,manifest,task_json,sample_result,npy_header,model_dir}
cd "$WORK"

# gen OUT ...: the format follows OUT's extension (gen itself defaults to npy whatever the name).
gen() { local ext="${1##*.}"; "$IVF" -q gen "$@" --clusters 3 --format "$ext"; }

# Valid files of every format, a few rows each.
gen "$C/npy/valid_f32.npy" --rows 6 --dim 4
gen "$C/fvecs/valid.fvecs" --rows 6 --dim 4
gen "$C/fvecs/valid_dim1.fvecs" --rows 3 --dim 1
gen "$C/bvecs/valid.bvecs" --rows 6 --dim 4
gen "$C/fbin/valid.fbin" --rows 5 --dim 4
gen u.u8bin --rows 5 --dim 4
gen i.i8bin --rows 5 --dim 4
# fuzz_u8bin: the first byte picks the extension (even: .u8bin, odd: .i8bin).
{ printf '\x00'; cat u.u8bin; } > "$C/u8bin/valid_u8bin"
{ printf '\x01'; cat i.i8bin; } > "$C/u8bin/valid_i8bin"
gen "$C/hdf5_raw/valid_gen.hdf5" --rows 6 --dim 4

"$PY" - "$C" <<'PY'
import sys, struct
import numpy as np, h5py
c = sys.argv[1]
x = np.arange(24, dtype=np.float32).reshape(6, 4) - 11
for name, dt in [("f16", np.float16), ("f64", np.float64), ("u8", np.uint8), ("i8", np.int8)]:
    np.save(f"{c}/npy/valid_{name}.npy", x.astype(dt))
# Malformed npy seeds: truncated data, 1-D, Fortran order, version 2 header, unsupported dtype.
good = open(f"{c}/npy/valid_f32.npy", "rb").read()
open(f"{c}/npy/bad_truncated.npy", "wb").write(good[:-5])
np.save(f"{c}/npy/bad_1d.npy", np.zeros(5, np.float32))
np.save(f"{c}/npy/bad_fortran.npy", np.asfortranarray(x))
np.save(f"{c}/npy/bad_i8.npy", x.astype(np.int64))
with open(f"{c}/npy/valid_v2.npy", "wb") as f:
    np.lib.format.write_array(f, x, version=(2, 0))
# npy_header seeds: the headers alone, and some broken ones.
for name in ["valid_f32", "valid_f16", "bad_fortran", "bad_1d", "valid_v2"]:
    b = open(f"{c}/npy/{name}.npy", "rb").read()
    off = 10 + struct.unpack("<H", b[8:10])[0] if b[6] == 1 else 12 + struct.unpack("<I", b[8:12])[0]
    open(f"{c}/npy_header/{name}", "wb").write(b[:off])
def hdr(text, major=1):
    body = text.encode()
    return b"\x93NUMPY" + bytes([major, 0]) + (struct.pack("<H", len(body)) if major == 1 else struct.pack("<I", len(body))) + body
open(f"{c}/npy_header/bad_shape_int", "wb").write(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n"))
open(f"{c}/npy_header/bad_repeated_key", "wb").write(hdr("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }\n"))
open(f"{c}/npy_header/bad_length", "wb").write(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }\n")[:40])
open(f"{c}/npy_header/valid_huge_shape", "wb").write(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }\n"))
# Malformed fvecs/bvecs/fbin seeds.
fv = open(f"{c}/fvecs/valid.fvecs", "rb").read()
open(f"{c}/fvecs/bad_mixed_dims.fvecs", "wb").write(struct.pack("<i", 4) + fv[4:20] + struct.pack("<i", 3) + fv[24:36] + b"\0" * 4 + fv[40:])
open(f"{c}/fvecs/bad_negative_dim.fvecs", "wb").write(struct.pack("<i", -4) + fv[4:])
fb = open(f"{c}/fbin/valid.fbin", "rb").read()
open(f"{c}/fbin/bad_rows_beyond.fbin", "wb").write(struct.pack("<Ii", 1000, 4) + fb[8:])
open(f"{c}/fbin/bad_zero_rows.fbin", "wb").write(struct.pack("<Ii", 0, 4))
open(f"{c}/fbin/bad_overflow.fbin", "wb").write(struct.pack("<Ii", 0xFFFFFFFF, 0x7FFFFFFF) + fb[8:])
# fuzz_hdf5_raw seeds (IVFTRAIN_FUZZ_HDF5_RAW=1, the file's bytes): chunked + gzip, int8, 3-D,
# no "train", "train" a group, strings.
with h5py.File(f"{c}/hdf5_raw/valid_int8.hdf5", "w") as f:
    f.create_dataset("train", data=x.astype(np.int8))
with h5py.File(f"{c}/hdf5_raw/valid_chunked.hdf5", "w") as f:
    f.create_dataset("train", data=x, chunks=(2, 4), compression="gzip")
with h5py.File(f"{c}/hdf5_raw/bad_3d.hdf5", "w") as f:
    f.create_dataset("train", data=np.zeros((2, 2, 2), np.float32))
with h5py.File(f"{c}/hdf5_raw/bad_no_train.hdf5", "w") as f:
    f.create_dataset("test", data=x)
with h5py.File(f"{c}/hdf5_raw/bad_group.hdf5", "w") as f:
    f.create_group("train")
with h5py.File(f"{c}/hdf5_raw/bad_strings.hdf5", "w") as f:
    f.create_dataset("train", data=np.array([[b"ab", b"cd"]], dtype="S2"))
# fuzz_hdf5 seeds (structure-aware; see fuzz_hdf5.cc): space kind (4: rank 2), dims, type,
# layout (bit 7: write the data that follows, low bits: contiguous/chunked/deflate/compact),
# naming (0: "train", 2: "g/train", 3: a group, 4: a dangling link), then data.
data = bytes(range(1, 97))
seeds = {
    "valid_f32_6x4": bytes([4, 6, 4, 0, 0x80, 0]) + data,
    "valid_i8_deflate_5x3": bytes([4, 5, 3, 3, 0x82, 0]) + data,
    "valid_u64_named": bytes([4, 3, 3, 8, 0x81, 2]) + data,
    "valid_f32be_compact": bytes([4, 2, 5, 2, 0x83, 5]) + data,
    "valid_sparse_2p40_rows": bytes([4, 0x80 | 40, 4, 0, 0x01, 0]),
    "valid_nan_fill": bytes([4, 3, 2, 0, 0x41, 0]),
    "bad_3d": bytes([3, 2, 2, 2, 0, 0]),
    "bad_1d": bytes([1, 9, 0, 0, 0]),
    "bad_scalar": bytes([0, 0, 0, 0]),
    "bad_null_space": bytes([5, 0, 0, 0]),
    "bad_zero_rows": bytes([4, 0, 4, 0, 1, 0]),
    "bad_zero_dim": bytes([4, 4, 0, 0, 1, 0]),
    "bad_strings": bytes([4, 2, 2, 9, 0, 0]),
    "bad_compound": bytes([4, 2, 2, 10, 0x80, 0]) + data,
    "bad_group": bytes([4, 2, 2, 0, 0, 3]),
    "bad_dangling_link": bytes([4, 2, 2, 0, 0, 4]),
    "bad_other_name": bytes([4, 2, 2, 0, 0, 1]),
}
for name, b in seeds.items():
    open(f"{c}/hdf5/{name}", "wb").write(b)
PY

# Manifests over the fixture files the fuzz_manifest target writes at start-up
# (a.fbin 10 x 4, b.npy 7 x 4, c.fvecs 5 x 4, d.u8bin 6 x 4, e.hdf5 8 x 4 "train",
# w.fbin 3 x 8).
m() { printf '%s\n' "$2" > "$C/manifest/$1.json"; }
m valid_one '{"fragments": [{"id": 0, "path": "a.fbin"}]}'
m valid_ranges '{"fragments": [{"id": 3, "path": "a.fbin", "first_row": 0, "num_rows": 4}, {"id": 1, "path": "a.fbin", "first_row": 4, "num_rows": 6}, {"id": 9, "path": "b.npy"}]}'
m valid_all_formats '{"note": "x", "fragments": [{"id": 0, "path": "a.fbin"}, {"id": 1, "path": "b.npy"}, {"id": 2, "path": "c.fvecs"}, {"id": 3, "path": "d.u8bin", "first_row": 2}, {"id": 4, "path": "e.hdf5"}, {"id": 5, "path": "e.hdf5:train", "first_row": 7, "num_rows": 1}]}'
m bad_dims '{"fragments": [{"id": 0, "path": "a.fbin"}, {"id": 1, "path": "w.fbin"}]}'
m bad_duplicate '{"fragments": [{"id": 2, "path": "a.fbin"}, {"id": 2, "path": "b.npy"}]}'
m bad_beyond '{"fragments": [{"id": 0, "path": "a.fbin", "first_row": 8, "num_rows": 5}]}'
m bad_missing '{"fragments": [{"id": 0, "path": "nothing.npy"}, {"id": 1, "path": "e.hdf5:nope"}]}'
m bad_key '{"fragments": [{"id": 0, "path": "a.fbin", "rows": 3}]}'
m bad_types '{"fragments": [{"id": -1, "path": 7, "first_row": 1.5}]}'

# A plan and a sample result, through the CLI.
gen data.fbin --rows 40 --dim 4
"$IVF" -q plan data.fbin --workers 2 --out plan --index-type ivf_pq --num-partitions 2 \
  --num-sub-vectors 2 --num-bits 4 --rows-per-fragment 15
"$IVF" -q plan data.fbin --workers 1 --out plan_sq --index-type ivf_sq --num-partitions 2 \
  --distance-type cosine --sq-bounds per-dim
"$IVF" -q plan data.fbin --workers 3 --out plan_flat --index-type ivf_flat --num-partitions 3 \
  --distance-type dot --init kmeans++ --rows-per-fragment 10
cp plan/task-0001.json "$C/task_json/valid_pq.json"
cp plan_sq/task-0000.json "$C/task_json/valid_sq.json"
cp plan_flat/task-0002.json "$C/task_json/valid_flat.json"
"$PY" - "$C/task_json" <<'PY'
import json, sys
d = sys.argv[1]
# A fixed dataset path, so that regenerating gives the same seeds.
for name in ["valid_pq", "valid_sq", "valid_flat"]:
    t = json.load(open(f"{d}/{name}.json"))
    t["dataset"]["path"] = "/data/vectors.fbin"
    open(f"{d}/{name}.json", "w").write(json.dumps(t, indent=2) + "\n")
t = json.load(open(f"{d}/valid_pq.json"))
del t["dim"]
json.dump(t, open(f"{d}/bad_missing_dim.json", "w"))
t = json.load(open(f"{d}/valid_pq.json"))
t["fragments"][0]["quota"] = t["fragments"][0]["num_rows"] + 1
json.dump(t, open(f"{d}/bad_quota.json", "w"))
open(f"{d}/bad_not_json.json", "w").write('{"format": "ivftrain-task", ')
PY
"$IVF" -q sample plan/task-0000.json --threads 1
"$IVF" -q sample plan_sq/task-0000.json --threads 1
# fuzz_sample_result: first byte even = the bytes as they are; odd = the checksum is recomputed.
{ printf '\x00'; cat plan/task-0000.result; } > "$C/sample_result/valid_pq"
{ printf '\x01'; cat plan_sq/task-0000.result; } > "$C/sample_result/valid_sq_fixsum"
{ printf '\x00'; head -c 100 plan/task-0000.result; } > "$C/sample_result/bad_truncated"
{ printf '\x00'; cat plan/task-0000.result; } | "$PY" -c '
import sys; b = bytearray(sys.stdin.buffer.read()); b[200] ^= 0x10; sys.stdout.buffer.write(b)' \
  > "$C/sample_result/bad_flipped"

# model.json of models whose arrays fit the fixture fuzz_model_dir writes (dim 4, 2 partitions,
# PQ 2 x 4 bits, global SQ bounds).
gen model_data.npy --rows 300 --dim 4
"$IVF" -q train model_data.npy --out model_pq --index-type ivf_pq --num-partitions 2 \
  --num-sub-vectors 2 --num-bits 4
"$IVF" -q train model_data.npy --out model_sq --index-type ivf_sq --num-partitions 2
"$IVF" -q train model_data.npy --out model_flat --index-type ivf_flat --num-partitions 2 \
  --distance-type cosine
"$PY" - "$C/model_dir" <<'PY'
import json, sys
d = sys.argv[1]
for kind in ["pq", "sq", "flat"]:
    m = json.load(open(f"model_{kind}/model.json"))
    m.pop("timings", None)  # seconds differ from run to run; keep the seeds reproducible
    open(f"{d}/valid_{kind}.json", "w").write(json.dumps(m, indent=1) + "\n")
m = json.load(open("model_pq/model.json"))
m["dim"] = 8
open(f"{d}/bad_dim.json", "w").write(json.dumps(m) + "\n")
PY

echo "seed corpus: $(find "$C" -type f | wc -l) files, $(du -sk "$C" | cut -f1) KB"
