#!/usr/bin/env bash
# Regenerates the test corpus (tests/corpus): the one set of input files that the unit tests
# (tests/unit/malformed_test.cc), the error table (scripts/error_table.sh) and the fuzzers
# (scripts/fuzz.sh) share. A folder per input kind KIND, named after the fuzz target fuzz_KIND
# whose input it is where there is one:
#   valid/KIND/valid*        fuzz seeds that parse
#   malformed/KIND/bad_*     fuzz seeds that do not
#   malformed/KIND/...       the unit tests' cases, each broken in one way; malformed/dataset/
#                            holds directories and manifests with their data file,
#                            malformed/result_file/ raw sample results (fuzz_sample_result's
#                            inputs start with a mode byte)
#   regressions/KIND         inputs that once crashed a fuzzer: kept as found, never regenerated.
# Small valid files are made with the CLI and NumPy/h5py and broken from there. Usage:
#   tests/corpus/make_corpus.sh [path/to/ivftrain]      (default: build/release/tools/ivftrain)
# The output is committed; rerun only when a case is added or a format changes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IVF="$(realpath "${1:-$ROOT/build/release/tools/ivftrain}")"
PY=/usr/bin/python3
V="$HERE/valid"
B="$HERE/malformed"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-corpus-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$V" "$B"
mkdir -p "$V"/{npy,fvecs,bvecs,fbin,u8bin,hdf5,hdf5_raw,manifest,task_json,sample_result}
mkdir -p "$V"/{npy_header,model_dir}
mkdir -p "$B"/{npy,fvecs,fbin,hdf5,hdf5_raw,manifest,task_json,sample_result,npy_header,model_dir}
mkdir -p "$B"/{dataset,result_file}
cd "$WORK"

# ---- Fuzz seeds -------------------------------------------------------------------------------

# gen OUT ...: the format follows OUT's extension (gen itself defaults to npy whatever the name).
gen() { local ext="${1##*.}"; "$IVF" -q gen "$@" --clusters 3 --format "$ext"; }

# Valid files of every format, a few rows each.
gen "$V/npy/valid_f32.npy" --rows 6 --dim 4
gen "$V/fvecs/valid.fvecs" --rows 6 --dim 4
gen "$V/fvecs/valid_dim1.fvecs" --rows 3 --dim 1
gen "$V/bvecs/valid.bvecs" --rows 6 --dim 4
gen "$V/fbin/valid.fbin" --rows 5 --dim 4
gen u.u8bin --rows 5 --dim 4
gen i.i8bin --rows 5 --dim 4
# fuzz_u8bin: the first byte picks the extension (even: .u8bin, odd: .i8bin).
{ printf '\x00'; cat u.u8bin; } > "$V/u8bin/valid_u8bin"
{ printf '\x01'; cat i.i8bin; } > "$V/u8bin/valid_i8bin"
gen "$V/hdf5_raw/valid_gen.hdf5" --rows 6 --dim 4

"$PY" - "$V" "$B" <<'PY'
import sys, struct
import numpy as np, h5py
v, b = sys.argv[1], sys.argv[2]
d = lambda name: v if name.startswith("valid") else b  # the folder a seed goes to
x = np.arange(24, dtype=np.float32).reshape(6, 4) - 11
for name, dt in [("f16", np.float16), ("f64", np.float64), ("u8", np.uint8), ("i8", np.int8)]:
    np.save(f"{v}/npy/valid_{name}.npy", x.astype(dt))
# Malformed npy seeds: truncated data, 1-D, Fortran order, version 2 header, unsupported dtype.
good = open(f"{v}/npy/valid_f32.npy", "rb").read()
open(f"{b}/npy/bad_truncated.npy", "wb").write(good[:-5])
np.save(f"{b}/npy/bad_1d.npy", np.zeros(5, np.float32))
np.save(f"{b}/npy/bad_fortran.npy", np.asfortranarray(x))
np.save(f"{b}/npy/bad_i8.npy", x.astype(np.int64))
with open(f"{v}/npy/valid_v2.npy", "wb") as f:
    np.lib.format.write_array(f, x, version=(2, 0))
# npy_header seeds: the headers alone, and some broken ones.
for name in ["valid_f32", "valid_f16", "bad_fortran", "bad_1d", "valid_v2"]:
    data = open(f"{d(name)}/npy/{name}.npy", "rb").read()
    off = (10 + struct.unpack("<H", data[8:10])[0] if data[6] == 1
           else 12 + struct.unpack("<I", data[8:12])[0])
    open(f"{d(name)}/npy_header/{name}", "wb").write(data[:off])
def hdr(text, major=1):
    body = text.encode()
    return b"\x93NUMPY" + bytes([major, 0]) + (struct.pack("<H", len(body)) if major == 1 else struct.pack("<I", len(body))) + body
open(f"{b}/npy_header/bad_shape_int", "wb").write(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n"))
open(f"{b}/npy_header/bad_repeated_key", "wb").write(hdr("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }\n"))
open(f"{b}/npy_header/bad_length", "wb").write(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }\n")[:40])
open(f"{v}/npy_header/valid_huge_shape", "wb").write(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }\n"))
# Malformed fvecs/bvecs/fbin seeds.
fv = open(f"{v}/fvecs/valid.fvecs", "rb").read()
open(f"{b}/fvecs/bad_mixed_dims.fvecs", "wb").write(struct.pack("<i", 4) + fv[4:20] + struct.pack("<i", 3) + fv[24:36] + b"\0" * 4 + fv[40:])
open(f"{b}/fvecs/bad_negative_dim.fvecs", "wb").write(struct.pack("<i", -4) + fv[4:])
fb = open(f"{v}/fbin/valid.fbin", "rb").read()
open(f"{b}/fbin/bad_rows_beyond.fbin", "wb").write(struct.pack("<Ii", 1000, 4) + fb[8:])
open(f"{b}/fbin/bad_zero_rows.fbin", "wb").write(struct.pack("<Ii", 0, 4))
open(f"{b}/fbin/bad_overflow.fbin", "wb").write(struct.pack("<Ii", 0xFFFFFFFF, 0x7FFFFFFF) + fb[8:])
# fuzz_hdf5_raw seeds (IVFTRAIN_FUZZ_HDF5_RAW=1, the file's bytes): chunked + gzip, int8, 3-D,
# no "train", "train" a group, strings.
with h5py.File(f"{v}/hdf5_raw/valid_int8.hdf5", "w") as f:
    f.create_dataset("train", data=x.astype(np.int8))
with h5py.File(f"{v}/hdf5_raw/valid_chunked.hdf5", "w") as f:
    f.create_dataset("train", data=x, chunks=(2, 4), compression="gzip")
with h5py.File(f"{b}/hdf5_raw/bad_3d.hdf5", "w") as f:
    f.create_dataset("train", data=np.zeros((2, 2, 2), np.float32))
with h5py.File(f"{b}/hdf5_raw/bad_no_train.hdf5", "w") as f:
    f.create_dataset("test", data=x)
with h5py.File(f"{b}/hdf5_raw/bad_group.hdf5", "w") as f:
    f.create_group("train")
with h5py.File(f"{b}/hdf5_raw/bad_strings.hdf5", "w") as f:
    f.create_dataset("train", data=np.array([[b"ab", b"cd"]], dtype="S2"))
# fuzz_hdf5 seeds (structure-aware; see fuzz_hdf5.cc): space kind (4: rank 2), dims, type,
# layout (bit 7: write the data that follows, low bits: contiguous/chunked/deflate/compact),
# naming (0: "train", 2: "g/train", 3: a group, 4: a dangling link), then data.
payload = bytes(range(1, 97))
seeds = {
    "valid_f32_6x4": bytes([4, 6, 4, 0, 0x80, 0]) + payload,
    "valid_i8_deflate_5x3": bytes([4, 5, 3, 3, 0x82, 0]) + payload,
    "valid_u64_named": bytes([4, 3, 3, 8, 0x81, 2]) + payload,
    "valid_f32be_compact": bytes([4, 2, 5, 2, 0x83, 5]) + payload,
    "valid_sparse_2p40_rows": bytes([4, 0x80 | 40, 4, 0, 0x01, 0]),
    "valid_nan_fill": bytes([4, 3, 2, 0, 0x41, 0]),
    "bad_3d": bytes([3, 2, 2, 2, 0, 0]),
    "bad_1d": bytes([1, 9, 0, 0, 0]),
    "bad_scalar": bytes([0, 0, 0, 0]),
    "bad_null_space": bytes([5, 0, 0, 0]),
    "bad_zero_rows": bytes([4, 0, 4, 0, 1, 0]),
    "bad_zero_dim": bytes([4, 4, 0, 0, 1, 0]),
    "bad_strings": bytes([4, 2, 2, 9, 0, 0]),
    "bad_compound": bytes([4, 2, 2, 10, 0x80, 0]) + payload,
    "bad_group": bytes([4, 2, 2, 0, 0, 3]),
    "bad_dangling_link": bytes([4, 2, 2, 0, 0, 4]),
    "bad_other_name": bytes([4, 2, 2, 0, 0, 1]),
}
for name, seed in seeds.items():
    open(f"{d(name)}/hdf5/{name}", "wb").write(seed)
PY

# Manifests over the fixture files the fuzz_manifest target writes at start-up
# (a.fbin 10 x 4, b.npy 7 x 4, c.fvecs 5 x 4, d.u8bin 6 x 4, e.hdf5 8 x 4 "train",
# w.fbin 3 x 8).
m() {
  local dir="$B"
  [[ "$1" == valid* ]] && dir="$V"
  printf '%s\n' "$2" > "$dir/manifest/$1.json"
}
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
cp plan/task-0001.json "$V/task_json/valid_pq.json"
cp plan_sq/task-0000.json "$V/task_json/valid_sq.json"
cp plan_flat/task-0002.json "$V/task_json/valid_flat.json"
"$PY" - "$V/task_json" "$B/task_json" <<'PY'
import json, sys
d, bad = sys.argv[1], sys.argv[2]
# A fixed dataset path (and file fingerprint times), so that regenerating gives the same seeds.
def fix_paths(t):
    t["dataset"]["path"] = "/data/vectors.fbin"
    t["plan_id"] = "00000000c0ffee00"
    t["dataset_layout"] = "00000000c0ffee01"
    for f in t["fragments"]:
        f["file"]["path"] = "/data/vectors.fbin"
        f["file"]["mtime_ns"] = 1700000000000000000
for name in ["valid_pq", "valid_sq", "valid_flat"]:
    t = json.load(open(f"{d}/{name}.json"))
    fix_paths(t)
    open(f"{d}/{name}.json", "w").write(json.dumps(t, indent=2) + "\n")
t = json.load(open(f"{d}/valid_pq.json"))
del t["dim"]
json.dump(t, open(f"{bad}/bad_missing_dim.json", "w"))
t = json.load(open(f"{d}/valid_pq.json"))
t["fragments"][0]["quota"] = t["fragments"][0]["num_rows"] + 1
json.dump(t, open(f"{bad}/bad_quota.json", "w"))
open(f"{bad}/bad_not_json.json", "w").write('{"format": "ivftrain-task", ')
PY
"$IVF" -q sample plan/task-0000.json --threads 1
"$IVF" -q sample plan_sq/task-0000.json --threads 1
# fuzz_sample_result: first byte even = the bytes as they are; odd = the checksum is recomputed.
{ printf '\x00'; cat plan/task-0000.result; } > "$V/sample_result/valid_pq"
{ printf '\x01'; cat plan_sq/task-0000.result; } > "$V/sample_result/valid_sq_fixsum"
{ printf '\x00'; head -c 100 plan/task-0000.result; } > "$B/sample_result/bad_truncated"
{ printf '\x00'; cat plan/task-0000.result; } | "$PY" -c '
import sys; b = bytearray(sys.stdin.buffer.read()); b[200] ^= 0x10; sys.stdout.buffer.write(b)' \
  > "$B/sample_result/bad_flipped"

# model.json of models whose arrays fit the fixture fuzz_model_dir writes (dim 4, 2 partitions,
# PQ 2 x 4 bits, global SQ bounds).
gen model_data.npy --rows 300 --dim 4
"$IVF" -q train model_data.npy --out model_pq --index-type ivf_pq --num-partitions 2 \
  --num-sub-vectors 2 --num-bits 4
"$IVF" -q train model_data.npy --out model_sq --index-type ivf_sq --num-partitions 2
"$IVF" -q train model_data.npy --out model_flat --index-type ivf_flat --num-partitions 2 \
  --distance-type cosine
"$PY" - "$V/model_dir" "$B/model_dir" <<'PY'
import json, sys
d, bad = sys.argv[1], sys.argv[2]
for kind in ["pq", "sq", "flat"]:
    m = json.load(open(f"model_{kind}/model.json"))
    m.pop("timings", None)  # seconds differ from run to run; keep the seeds reproducible
    open(f"{d}/valid_{kind}.json", "w").write(json.dumps(m, indent=1) + "\n")
m = json.load(open("model_pq/model.json"))
m["dim"] = 8
open(f"{bad}/bad_dim.json", "w").write(json.dumps(m) + "\n")
PY

# ---- The unit tests' cases ---------------------------------------------------------------------
# One small file (or directory) per case, each broken in one way, made in $WORK/cases and then
# moved beside the seeds of its kind. Two clusters rather than three: these are the files the
# tests and docs/errors.md were written against.
gen2() { local ext="${1##*.}"; "$IVF" -q gen "$@" --clusters 2 --format "$ext"; }
mkdir "$WORK/cases"
cd "$WORK/cases"

# The valid files the broken ones start from.
gen2 "$WORK/cases/good.npy" --rows 6 --dim 4
gen2 "$WORK/cases/good.fbin" --rows 6 --dim 4

"$PY" - "$WORK/cases" <<'PY'
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
gen2 dir_dims_differ/part-0.fbin --rows 5 --dim 4
gen2 dir_dims_differ/part-1.fbin --rows 5 --dim 8
# A directory with no supported file (the README keeps it in git).
mkdir dir_no_supported_file
printf 'A dataset directory with no supported vector file: Dataset::open must refuse it.\n' \
  > dir_no_supported_file/README.txt

# Manifests over manifest_data.fbin (6 rows of dimension 4).
gen2 manifest_data.fbin --rows 6 --dim 4
printf '%s\n' '{"fragments": [{"id": 2, "path": "manifest_data.fbin", "first_row": 0, "num_rows": 3},
 {"id": 2, "path": "manifest_data.fbin", "first_row": 3, "num_rows": 3}]}' \
  > manifest_duplicate_ids.json
printf '%s\n' '{"fragments": [{"id": 0, "path": "manifest_data.fbin", "first_row": 4, "num_rows": 5}]}' \
  > manifest_rows_beyond_file.json

# A sample result with one flipped byte, a truncated one, a task without "dim".
gen2 "$WORK/cases/data.fbin" --rows 40 --dim 4
"$IVF" -q plan "$WORK/cases/data.fbin" --workers 1 --out "$WORK/cases/plan" --index-type ivf_flat \
  --num-partitions 2
"$IVF" -q sample "$WORK/cases/plan/task-0000.json" --threads 1
"$PY" - "$WORK/cases/plan" <<'PY'
import json, sys
plan = sys.argv[1]
good = open(f"{plan}/task-0000.result", "rb").read()
flipped = bytearray(good)
flipped[len(good) // 2] ^= 0x01  # inside the vectors: only the checksum can tell
open("result_flipped_byte.result", "wb").write(flipped)
open("result_truncated.result", "wb").write(good[:len(good) - 100])
task = json.load(open(f"{plan}/task-0000.json"))
task["dataset"]["path"] = "/data/vectors.fbin"
task["plan_id"] = "00000000c0ffee00"
task["dataset_layout"] = "00000000c0ffee01"
for f in task["fragments"]:
    f["file"]["path"] = "/data/vectors.fbin"
    f["file"]["mtime_ns"] = 1700000000000000000
del task["dim"]
open("task_missing_field.json", "w").write(json.dumps(task, indent=2) + "\n")
PY

mv npy_*.npy "$B/npy/"
mv fvecs_*.fvecs "$B/fvecs/"
mv fbin_*.fbin "$B/fbin/"
mv hdf5_*.hdf5 "$B/hdf5_raw/"
mv task_*.json "$B/task_json/"
mv result_*.result "$B/result_file/"
mv dir_* manifest_* "$B/dataset/"

echo "corpus: $(find "$V" -type f | wc -l) valid and $(find "$B" -type f | wc -l) malformed files" \
  "($(du -sk "$HERE" | cut -f1) KB with the regressions)"
