#!/usr/bin/env bash
# Writes docs/errors.md: every bad input, parameter, data set and output the CLI was tried on,
# and exactly what it answered (exit code and message), so the document stays true. Usage:
#   scripts/error_table.sh [path/to/ivftrain] [OUTPUT.md]
# (defaults: build/release/tools/ivftrain, docs/errors.md). The malformed files are the unit
# tests' cases in tests/corpus/malformed; everything else is made here with `ivftrain gen` and
# NumPy.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IVF="$(realpath "${1:-$ROOT/build/release/tools/ivftrain}")"
OUT="$(realpath -m "${2:-$ROOT/docs/errors.md}")"
PY=/usr/bin/python3
[ -x "$IVF" ] || { echo "no ivftrain binary at $IVF (build the release preset)" >&2; exit 2; }
# A fixed work directory: plan ids hash the dataset's absolute path, and the table should not
# change from one run to the next.
WORK="${TMPDIR:-/tmp}/ivftrain-error-table"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# `ivftrain` inside the case commands is the binary under test.
ivftrain() { "$IVF" "$@"; }
T="--out model --index-type ivf_pq --num-partitions 8 --num-sub-vectors 4"

# ---- Inputs the cases use -------------------------------------------------------------------
# The unit tests' cases, side by side (the manifests name manifest_data.fbin beside them); the
# fuzzers' seeds (bad_*) that share their folders are left out.
find "$ROOT/tests/corpus/malformed" -mindepth 2 -maxdepth 2 ! -name 'bad_*' -exec cp -r {} . \;
ivftrain -q gen good.npy --rows 3000 --dim 16 --clusters 8
ivftrain -q gen four.npy --rows 3000 --dim 16 --clusters 8 --fragments 4
ivftrain -q gen allnan.npy --rows 500 --dim 16 --nonfinite-rows 500
ivftrain -q gen somenan.npy --rows 3000 --dim 16 --clusters 8 --nonfinite-rows 100
printf 'x' > notes.txt
"$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(1)
x = rng.normal(size=(3000, 16)).astype(np.float32)
z = x.copy(); z[::3] = 0                      # a third of the rows are zero vectors
np.save("some_zero.npy", z)
np.save("all_zero.npy", np.zeros((3000, 16), np.float32))
d = np.repeat(rng.normal(size=(3, 16)).astype(np.float32), 1000, axis=0)  # 3 distinct rows
np.save("three_distinct.npy", d)
PY
# A plan whose two results are complete, and copies of it broken one way each.
ivftrain -q gen data.fbin --rows 4000 --dim 16 --clusters 8 --format fbin
touch -d @1700000000 data.fbin  # plan ids hash the files' fingerprints, mtime included
P="--index-type ivf_pq --num-partitions 8 --num-sub-vectors 4 --rows-per-fragment 1000"
ivftrain -q plan data.fbin --workers 2 --out plan $P
ivftrain -q sample plan/task-0000.json --threads 1
ivftrain -q sample plan/task-0001.json --threads 1
ivftrain -q plan data.fbin --workers 2 --out other_plan $P --seed 7
ivftrain -q sample other_plan/task-0001.json --threads 1
cp -r plan plan_missing && rm plan_missing/task-0001.result
cp -r plan plan_flipped
"$PY" -c '
import sys; p = "plan_flipped/task-0001.result"; b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1; open(p, "wb").write(b)'
cp -r plan plan_foreign && cp other_plan/task-0001.result plan_foreign/task-0001.result
cp -r plan plan_truncated && truncate -s 500 plan_truncated/task-0001.result
# A result crafted so that its header's sizes wrap around 2^64 in the size check, with a valid
# checksum (n = (2^64 + 4) / 20 rows of dimension 1, one SQ bound: 8 + 16n + 4n wraps to 12).
cp -r plan plan_overflow
"$PY" - plan_overflow/task-0001.result <<'PY'
import ctypes, struct, sys
xx = ctypes.CDLL("libxxhash.so.0")
xx.XXH64.restype = ctypes.c_uint64
xx.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
n = (2**64 + 4) // 20
body = (b"IVFSMPL\0" + struct.pack("<II", 1, 0) + b"0" * 16 + struct.pack("<iiQ", 1, 2, 0)
        + struct.pack("<9q", 1, n, 0, 0, 0, 0, 0, 0, 1) + b"\0" * 12)
open(sys.argv[1], "wb").write(body + struct.pack("<Q", xx.XXH64(body, len(body), 0)))
PY
# A copy of the plan with one task's quota changed by hand (every row is sampled: PQ wants
# 65,536, so only a lower quota parses).
cp -r plan plan_quota && rm plan_quota/*.result
"$PY" - plan_quota/task-0001.json <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); t["fragments"][0]["quota"] = 900
open(sys.argv[1], "w").write(json.dumps(t, indent=2))
PY
# A directory dataset planned, then changed: a file added (sorted first, so the ids shift).
ivftrain -q gen ddir --rows 4000 --dim 16 --clusters 8 --format fbin --fragments 4
touch -d @1700000000 ddir/*
ivftrain -q plan ddir --workers 2 --out plan_dir $P
cp ddir/part-00003.fbin ddir/part-00000a.fbin && touch -d @1700000000 ddir/part-00000a.fbin
# A plan whose fragment file was rewritten in place (same size) after planning.
cp data.fbin changed.fbin && touch -d @1700000000 changed.fbin
ivftrain -q plan changed.fbin --workers 1 --out plan_changed $P
"$PY" -c '
p = "changed.fbin"; b = bytearray(open(p, "rb").read()); b[5000] ^= 1; open(p, "r+b").write(b)'
cp -r plan plan_v1 && sed -i 's/"format_version": 2/"format_version": 1/' plan_v1/*.json
# Manifests naming one file's rows twice.
echo '{"fragments": [{"id": 0, "path": "data.fbin"}, {"id": 1, "path": "./data.fbin"}]}' \
  > manifest_twice.json
echo '{"fragments": [{"id": 0, "path": "data.fbin", "num_rows": 3000},
  {"id": 1, "path": "data.fbin", "first_row": 2000}]}' > manifest_overlap.json
# A plan whose dataset was removed after planning.
ivftrain -q gen gone.fbin --rows 4000 --dim 16 --clusters 8 --format fbin
ivftrain -q plan gone.fbin --workers 2 --out plan_gone $P
rm gone.fbin
ivftrain -q gen model_src.npy --rows 3000 --dim 16 --clusters 8
ivftrain -q train model_src.npy --out existing_model --index-type ivf_flat --num-partitions 4
# A model whose model.json has a statistic of the wrong type; a task with num_bits 7.
cp -r existing_model model_bad_stats
"$PY" - <<'PY'
import json
m = json.load(open("model_bad_stats/model.json"))
m["stats"]["rows_read"] = "many"
json.dump(m, open("model_bad_stats/model.json", "w"))
t = json.load(open("plan/task-0000.json"))
t["params"]["pq"]["num_bits"] = 7
json.dump(t, open("task_bad_bits.json", "w"))
PY
# Hostile inputs for the readers: a FIFO, control characters in a header and a manifest, values
# whose squared distances overflow float32, a valid HDF5 file past the open-file limit.
mkfifo fifo.npy fifo.json
ln -s /dev/zero zero.npy
"$PY" - <<'PY'
import numpy as np
header = b"{'descr': '<f4\x1b[31mFAKE', 'fortran_order': False, 'shape': (2, 2), }"
header += b" " * (118 - len(header)) + b"\n"
open("esc.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
                            + b"\0" * 16)
open("ctl.json", "w").write('{"fragments": [{"id": 0, "path": "good.npy", "\\u001b]0;x\\u0007": 1}]}')
x = np.random.default_rng(1).normal(size=(500, 8)).astype(np.float32) * np.float32(1e20)
np.save("huge.npy", x)
PY
mkdir many_h5
ivftrain -q gen many_h5/a.h5 --rows 100 --dim 4
for i in $(seq 1 40); do cp many_h5/a.h5 "many_h5/f$i.h5"; done

# ---- The table --------------------------------------------------------------------------------
rows=()
section() { rows+=("" "### $1" "" "| case | command | exit | what ivftrain says |" "|---|---|---|---|"); }
cell() { sed -e 's/|/\\|/g' -e "s#$WORK/##g" | tr '\n' ' ' | sed -e 's/ *$//'; }
# case "DESCRIPTION" 'COMMAND': runs COMMAND (a shell line using `ivftrain`) and records its exit
# code and its error line(s), or, when it succeeds, its warnings.
case_() {
  local desc="$1" cmd="$2" err rc=0
  err="$(eval "$cmd" 2>&1 >/dev/null)" || rc=$?
  local said
  said="$(grep -E '^ivftrain: error:' <<<"$err" | sed 's/^ivftrain: error: //' || true)"
  if [ "$rc" -ge 128 ]; then
    # Killed by a signal: a crash, recorded as such with what the runtime said.
    said="**crash** (signal $((rc - 128))): $(grep -E 'terminate|what\(\)|Sanitizer|fault' <<<"$err" \
      | head -3 | sed -E 's/^ +//')"
  elif [ -z "$said" ]; then
    # No error line: warnings without their time stamps, else the last line, else nothing.
    said="$(sed -nE 's/^\[[0-9:.]+ (warning|error)\] /\1: /p' <<<"$err")"
    [ -n "$said" ] || said="$(tail -n 1 <<<"$err" | sed -E 's/^\[[0-9:.]+ [a-z]+\] //')"
    [ -n "$said" ] || said="(nothing on stderr)"
    [ "$rc" -eq 0 ] && said="accepted; $said"
  fi
  rows+=("| $desc | \`$(cell <<<"$cmd")\` | $rc | $(cell <<<"$said") |")
  rm -rf model
}

section "Input files (tests/corpus/malformed)"
case_ "npy: header cut short" 'ivftrain train npy_truncated.npy $T'
case_ "npy: wrong magic" 'ivftrain train npy_bad_magic.npy $T'
case_ "npy: declared shape beyond the file" 'ivftrain train npy_shape_beyond_file.npy $T'
case_ "npy: 1-D array" 'ivftrain train npy_1d.npy $T'
case_ "npy: unsupported dtype <i8" 'ivftrain train npy_dtype_i8.npy $T'
case_ "npy: Fortran order" 'ivftrain train npy_fortran_order.npy $T'
case_ "fvecs: rows of differing dimensions" 'ivftrain train fvecs_mixed_dims.fvecs $T'
case_ "fbin: zero rows" 'ivftrain train fbin_zero_rows.fbin $T'
case_ "fbin: declared size beyond the file" 'ivftrain train fbin_size_beyond_file.fbin $T'
case_ "HDF5 without the train dataset" 'ivftrain train hdf5_no_train.hdf5 $T'
case_ "HDF5: a dataset name that does not exist" 'ivftrain train hdf5_no_train.hdf5:nope $T'
case_ "directory: fragments of differing dimensions" 'ivftrain train dir_dims_differ $T'
case_ "directory: no supported file" 'ivftrain train dir_no_supported_file $T'
case_ "manifest: duplicate fragment ids" 'ivftrain train manifest_duplicate_ids.json $T'
case_ "manifest: rows beyond its file" 'ivftrain train manifest_rows_beyond_file.json $T'
case_ "manifest: one file listed twice" 'ivftrain train manifest_twice.json $T'
case_ "manifest: overlapping row ranges of one file" 'ivftrain train manifest_overlap.json $T'
case_ "a path that does not exist" 'ivftrain train missing.npy $T'
case_ "an unsupported file type" 'ivftrain train notes.txt $T'
case_ "task: a field missing" 'ivftrain sample task_missing_field.json'
case_ "task: num_bits 7 in its parameters" 'ivftrain sample task_bad_bits.json'
case_ "model.json: a statistic of the wrong type" 'ivftrain inspect model_bad_stats'
case_ "sample result: a flipped byte" 'ivftrain train --from-samples plan_flipped --out model'
case_ "a FIFO as dataset" 'ivftrain train fifo.npy $T'
case_ "a FIFO as manifest" 'ivftrain train fifo.json $T'
case_ "a character device as dataset (a link to /dev/zero)" 'ivftrain train zero.npy $T'
case_ "npy: an escape sequence in the header" 'ivftrain train esc.npy $T'
case_ "manifest: an escape sequence in a key" 'ivftrain train ctl.json $T'
case_ "a valid HDF5 file past the open-file limit (ulimit -n 24, 41 files)" \
  'ulimit -n 24 && ivftrain train many_h5 --out model --index-type ivf_flat --num-partitions 2'

section "Parameters"
case_ "num_partitions 0" 'ivftrain train good.npy --out model --index-type ivf_flat --num-partitions 0'
case_ "num_partitions larger than the sample (3000 rows)" \
  'ivftrain train good.npy --out model --index-type ivf_flat --num-partitions 5000'
case_ "dim 16 not divisible by num_sub_vectors 5" \
  'ivftrain train good.npy --out model --index-type ivf_pq --num-partitions 8 --num-sub-vectors 5'
case_ "num_bits 6" 'ivftrain train good.npy $T --num-bits 6'
case_ "num_bits 6 (SQ)" 'ivftrain train good.npy --out model --index-type ivf_sq --num-partitions 8 --num-bits 6'
case_ "unknown distance type" 'ivftrain train good.npy $T --distance-type manhattan'
case_ "unknown index type" 'ivftrain train good.npy --out model --index-type hnsw --num-partitions 8'
case_ "unknown k-means init" 'ivftrain train good.npy $T --init kmeans--'
case_ "unknown SQ bounds" 'ivftrain train good.npy --out model --index-type ivf_sq --num-partitions 8 --sq-bounds local'
case_ "relocate neither on nor off" 'ivftrain train good.npy $T --relocate maybe'
case_ "max_iters 0" 'ivftrain train good.npy $T --max-iters 0'
case_ "sample_rate 0" 'ivftrain train good.npy $T --sample-rate 0'
case_ "negative tolerance" 'ivftrain train good.npy $T --tolerance -1'
case_ "balance 1 (must exceed 1)" 'ivftrain train good.npy $T --balance 1'
case_ "balance with dot distance" 'ivftrain train good.npy $T --balance 2 --distance-type dot'
case_ "rows_per_fragment 0" 'ivftrain train good.npy $T --rows-per-fragment 0'
case_ "a fragment id not in the dataset" 'ivftrain train good.npy $T --fragments 7'
case_ "a malformed fragment list" 'ivftrain train good.npy $T --fragments 3-1'
case_ "no DATASET" 'ivftrain train --out model --index-type ivf_flat --num-partitions 8'
case_ "DATASET and --from-samples together" 'ivftrain train good.npy --from-samples plan --out model'
case_ "num_partitions x sample_rate overflows 64 bits" \
  'ivftrain train good.npy --out model --index-type ivf_flat --num-partitions 4611686018427387904 --sample-rate 4'
case_ "threads 2000000000" 'ivftrain train good.npy $T --threads 2000000000'
case_ "balance inf" 'ivftrain train good.npy $T --balance inf'
case_ "tolerance nan" 'ivftrain train good.npy $T --tolerance nan'
case_ "a negative seed" 'ivftrain train good.npy $T --seed -1'
case_ "gen: rows x dim overflows 64 bits" 'ivftrain gen gx.npy --rows 4611686018427387904 --dim 4'
case_ "gen: more clusters than rows" 'ivftrain gen gx.npy --rows 100 --dim 4 --clusters 4611686018427387904'
case_ "plan: 2000000000 workers" 'ivftrain plan good.npy --workers 2000000000 --out p0 --index-type ivf_flat --num-partitions 8'
case_ "plan: what advance holds needs more than --max-memory" \
  'ivftrain plan good.npy --workers 2 --out p0 $P --max-memory 100K'
case_ "plan: a worker's shard needs more than --max-memory" \
  'ivftrain plan good.npy --workers 1 --out p0 $P --max-memory 33400K'
case_ "plan: k-means++ gathers the sample: more than --max-memory" \
  'ivftrain plan good.npy --workers 3 --out p0 $P --init kmeans++ --max-memory 32900K'
case_ "plan: a --max-memory that is not a size" \
  'ivftrain plan good.npy --workers 2 --out p0 $P --max-memory lots'
case_ "train: --max-memory without --mpi" 'ivftrain train good.npy $T --max-memory 1G'
case_ "train: --checkpoint without --mpi" 'ivftrain train good.npy $T --checkpoint ckpt'
if command -v mpirun >/dev/null; then
  MPIRUN="mpirun --allow-run-as-root --oversubscribe --mca btl self,vader"
  case_ "MPI: a rank's shard needs more than --max-memory" \
    '$MPIRUN -n 2 $IVF train four.npy $T --mpi --threads 1 --max-memory 33490K'
  case_ "MPI: one fragment holds more than --max-memory allows a rank" \
    '$MPIRUN -n 2 $IVF train good.npy $T --mpi --threads 1 --max-memory 33685K'
  case_ "MPI: rank 0's fixed part alone needs more than --max-memory" \
    '$MPIRUN -n 2 $IVF train good.npy $T --mpi --threads 1 --max-memory 10K'
  mkdir -p bad_ckpt && printf 'IVFCKPT2 cut short' > bad_ckpt/ivf_kmeans.ckpt
  case_ "MPI: a checkpoint cut short" \
    '$MPIRUN -n 2 $IVF train four.npy $T --mpi --threads 1 --checkpoint bad_ckpt'
  mkdir -p old_ckpt && printf 'IVFCKPT1 of a build before relocation' > old_ckpt/ivf_kmeans.ckpt
  case_ "MPI: a checkpoint of an earlier build (before relocation)" \
    '$MPIRUN -n 2 $IVF train four.npy $T --mpi --threads 1 --checkpoint old_ckpt'
  $MPIRUN -n 2 $IVF -q train four.npy --out ck3_model --index-type ivf_pq --num-partitions 8 \
    --num-sub-vectors 4 --mpi --threads 1 --checkpoint ck3
  case_ "MPI: a checkpoint of another run (another seed)" \
    '$MPIRUN -n 3 $IVF train four.npy $T --mpi --threads 1 --seed 5 --checkpoint ck3'
  case_ "MPI: --checkpoint with k-means++ (not sharded)" \
    '$MPIRUN -n 2 $IVF train four.npy $T --mpi --threads 1 --init kmeans++ --checkpoint ck2'
  case_ "MPI: a flat run's checkpoint given to a hierarchical run (another algorithm)" \
    '$MPIRUN -n 2 $IVF train four.npy $T --mpi --threads 1 --kmeans hierarchical --checkpoint ck3'
  case_ "MPI: k-means++ gathers the sample: more than --max-memory on rank 0" \
    '$MPIRUN -n 2 $IVF train good.npy $T --mpi --threads 1 --init kmeans++ --max-memory 300K'
fi
case_ "plan: 0 workers" 'ivftrain plan good.npy --workers 0 --out p0 --index-type ivf_flat --num-partitions 8'
case_ "plan: unknown --assign" 'ivftrain plan good.npy --workers 2 --out p1 --index-type ivf_flat --num-partitions 8 --assign random'

section "Data"
case_ "every row non-finite" 'ivftrain train allnan.npy $T'
case_ "some rows non-finite (100 of 3000)" 'ivftrain train somenan.npy $T'
case_ "cosine: a third of the rows are zero vectors" 'ivftrain train some_zero.npy $T --distance-type cosine'
case_ "cosine: every row a zero vector" 'ivftrain train all_zero.npy $T --distance-type cosine'
case_ "l2: every row a zero vector" 'ivftrain train all_zero.npy $T'
case_ "fewer distinct points (3) than partitions (8)" \
  'ivftrain train three_distinct.npy --out model --index-type ivf_flat --num-partitions 8'
case_ "values around 1e20 (squared distances overflow float32)" 'ivftrain train huge.npy $T'
case_ "a sample larger than the memory the process may use (a hidden test hook: 100 kB)" \
  'ivftrain train good.npy $T --test-memory-limit 100000'

section "Output"
case_ "an existing model directory without --overwrite" \
  'ivftrain train good.npy --out existing_model --index-type ivf_flat --num-partitions 4'
case_ "an output path under a regular file" \
  'ivftrain train good.npy --out good.npy/model --index-type ivf_flat --num-partitions 4'
case_ "an output directory whose parent does not exist" \
  'ivftrain train good.npy --out no-such-dir/model --index-type ivf_flat --num-partitions 4'
case_ "a write that fails midway (a hidden test hook: the 2nd write() call fails with ENOSPC)" \
  'ivftrain train good.npy --out model --index-type ivf_flat --num-partitions 4 --test-fail-write-call 2'
case_ "gen over an existing file" 'ivftrain gen good.npy --rows 10 --dim 4'
case_ "plan over an existing plan directory" 'ivftrain plan data.fbin --workers 2 --out plan $P'
case_ "inspect of a directory that is not a model" 'ivftrain inspect plan'
case_ "--overwrite of the dataset itself" \
  'ivftrain train good.npy --out good.npy --overwrite --index-type ivf_flat --num-partitions 4'
case_ "an output inside the dataset directory" \
  'ivftrain train dir_dims_differ --out dir_dims_differ/model --index-type ivf_flat --num-partitions 4'
case_ "--overwrite of a directory that is not a model" \
  'mkdir -p important && ivftrain train good.npy --out important --overwrite --index-type ivf_flat --num-partitions 4'
case_ "--overwrite of a model directory holding a file of the user's" \
  'cp -r existing_model model_notes && touch model_notes/notes.txt && ivftrain train good.npy --out model_notes --overwrite --index-type ivf_flat --num-partitions 4'
case_ "plan --overwrite of a directory that is not a plan" \
  'ivftrain plan data.fbin --workers 2 --out important --overwrite $P'
case_ "sample --out naming the dataset it reads" 'ivftrain sample plan/task-0000.json --out data.fbin'
case_ "sample --out naming a file that is not a sample result" \
  'ivftrain sample plan/task-0000.json --out notes.txt'
case_ "an empty output path" 'ivftrain train good.npy --out "" --index-type ivf_flat --num-partitions 4'
case_ "an existing output, checked before the dataset is read" \
  'ivftrain train missing.npy --out existing_model --index-type ivf_flat --num-partitions 4'

section "Distributed training from sample files (train --from-samples)"
case_ "a result missing" 'ivftrain train --from-samples plan_missing --out model'
case_ "a result with a flipped byte" 'ivftrain train --from-samples plan_flipped --out model'
case_ "a truncated result" 'ivftrain train --from-samples plan_truncated --out model'
case_ "a result from another plan" 'ivftrain train --from-samples plan_foreign --out model'
case_ "a crafted result whose header sizes overflow the size check" \
  'ivftrain train --from-samples plan_overflow --out model'
case_ "a plan directory that does not exist" 'ivftrain train --from-samples no_plan --out model'
case_ "sample: a task whose dataset is gone" 'ivftrain sample plan_gone/task-0000.json'
case_ "sample: a file added to the dataset directory after planning" \
  'ivftrain sample plan_dir/task-0000.json'
case_ "sample: a fragment file rewritten after planning" 'ivftrain sample plan_changed/task-0000.json'
case_ "sample: a task whose quota was changed by hand" 'ivftrain sample plan_quota/task-0001.json'
case_ "a task whose quota was changed by hand" 'ivftrain train --from-samples plan_quota --out model'
case_ "a plan of an older format (version 1)" 'ivftrain train --from-samples plan_v1 --out model'
case_ "training flags that the plan fixed" \
  'ivftrain train --from-samples plan --out model --num-partitions 4 --index-type ivf_flat --distance-type cosine'

section "Evaluation and export (eval, export --faiss)"
ivftrain -q gen q8.npy --rows 5 --dim 8
ivftrain -q train good.npy --out sq_model --index-type ivf_sq --num-partitions 4
cp -r sq_model sq_inverted
"$PY" -c 'import numpy as np; np.save("sq_inverted/sq_bounds.npy", np.array([1, -1], np.float32))'
case_ "eval: queries of another dimension" 'ivftrain eval existing_model good.npy --queries q8.npy'
case_ "eval: a base of another dimension" 'ivftrain eval existing_model q8.npy --queries good.npy'
case_ "eval: nprobe 0" 'ivftrain eval existing_model good.npy --num-queries 10 --nprobe 0'
case_ "eval: nprobe beyond num_partitions (4)" 'ivftrain eval existing_model good.npy --num-queries 10 --nprobe 1,8'
case_ "eval: k larger than the base" 'ivftrain eval existing_model good.npy --num-queries 10 --k 10,5000'
case_ "eval: k not a number" 'ivftrain eval existing_model good.npy --num-queries 10 --k 10,x'
case_ "eval: no queries given" 'ivftrain eval existing_model good.npy'
case_ "eval: --queries and --num-queries" 'ivftrain eval existing_model good.npy --queries good.npy --num-queries 5'
case_ "eval: every row held out" 'ivftrain eval existing_model good.npy --num-queries 3000'
case_ "eval: a model directory that does not exist" 'ivftrain eval missing good.npy --num-queries 10'
case_ "eval: a model missing its centroids" \
  'cp -r existing_model no_centroids && rm no_centroids/ivf_centroids.npy && ivftrain eval no_centroids good.npy --num-queries 10'
case_ "export: an existing file without --overwrite" 'ivftrain export existing_model --faiss good.npy'
case_ "export: --overwrite of a file that is not a FAISS index" \
  'ivftrain export existing_model --faiss notes.txt --overwrite'
case_ "export: SQ bounds that are not a range (lower above upper)" \
  'ivftrain export sq_inverted --faiss sq.faiss'
case_ "export: the output inside the model directory" \
  'ivftrain export existing_model --faiss existing_model/index.faiss'
case_ "export: a model directory that does not exist" 'ivftrain export missing --faiss out.faiss'
section "Sharded training through files (round, advance)"
# A plan whose rounds began (round 0 and 1 merged, round 2 computed), and copies of it broken one
# way each.
cp -r plan rounds
ivftrain -q advance rounds --out model || true
for r in 0 1; do
  for w in 0 1; do ivftrain -q round rounds --worker $w --threads 1; done
  ivftrain -q advance rounds --out model || true
done
for w in 0 1; do ivftrain -q round rounds --worker $w --threads 1; done
cp -r rounds rounds_missing && rm rounds_missing/round-0002/partial-0001
cp -r rounds rounds_truncated && truncate -s 100 rounds_truncated/round-0002/partial-0001
cp -r rounds rounds_stale && cp rounds/round-0001/partial-0001 rounds_stale/round-0002/partial-0001
cp -r rounds rounds_flipped
"$PY" -c '
p = "rounds_flipped/round-0002/partial-0001"; b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1; open(p, "wb").write(b)'
case_ "round: before advance began the rounds" 'ivftrain round plan --worker 0'
case_ "round: a worker the plan does not have" 'ivftrain round rounds --worker 2'
case_ "advance: a sample result missing" 'ivftrain advance plan_missing --out model'
case_ "advance: a partial missing" 'ivftrain advance rounds_missing --out model'
case_ "advance: a truncated partial" 'ivftrain advance rounds_truncated --out model'
case_ "advance: a partial with a flipped byte" 'ivftrain advance rounds_flipped --out model'
case_ "advance: a partial of an earlier round" 'ivftrain advance rounds_stale --out model'

{
  cat <<'MD'
# What ivftrain says when something is wrong

Every case below was run by `scripts/error_table.sh` (which regenerates this file) against the
CLI; the last column is exactly what the CLI printed: its `ivftrain: error:` line, or, when it
did not fail, its warnings. In the commands, `$T` stands for
`--out model --index-type ivf_pq --num-partitions 8 --num-sub-vectors 4` and `$P` for
`--index-type ivf_pq --num-partitions 8 --num-sub-vectors 4 --rows-per-fragment 1000`. The
malformed files are the cases of `tests/corpus/malformed` (made by `tests/corpus/make_corpus.sh`;
the unit test `tests/unit/malformed_test.cc` checks the library's Status code and message for each);
`good.npy` is `ivftrain gen good.npy --rows 3000 --dim 16 --clusters 8`, `plan` a two-worker
plan of a 4000-row `data.fbin` whose results were sampled, and `plan_*` copies of it with one
result missing or damaged. Paths in messages are shown relative to the directory the cases ran
in (the script strips its prefix). Exit code 1 is an error reported by ivftrain, 2 a command-line
parsing error (CLI11), 0 success, 128 + N death by signal N (a bug).
MD
  printf '%s\n' "${rows[@]}"
} > "$OUT"
echo "wrote $OUT ($(grep -c '^| .* | `' "$OUT") cases)"
