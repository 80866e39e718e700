# The file protocol refuses what no longer matches its plan: a dataset file added or rewritten
# after planning, a task edited by hand, training flags that contradict the plan; and the
# command line refuses numbers that make no sense (overflowing products, absurd thread counts,
# infinite balance, negative seeds), and manifests that list rows twice.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 8000 --dim 16 --clusters 8 --format fbin --fragments 4
flags=(--index-type ivf_flat --num-partitions 4 --max-iters 5)

# ---- A file added between plan and sample ------------------------------------------------------
"$IVF" -q plan data --workers 2 --out plan --fragments 0-3 "${flags[@]}"
cp -r plan plan-pristine
"$IVF" -q gen extra.fbin --rows 100 --dim 16 --seed 7
cp extra.fbin data/part-00000b.fbin  # sorts between part-00000 and part-00001: ids shift
expect_error "changed since planning" "$IVF" sample plan/task-0000.json
expect_error "part-00000b.fbin" "$IVF" sample plan/task-0001.json
rm data/part-00000b.fbin
cp extra.fbin data/part-00009.fbin  # sorts last: no planned fragment moves, still refused
expect_error "data/part-00009.fbin appeared since planning" "$IVF" sample plan/task-0000.json
rm data/part-00009.fbin

# ---- A file rewritten in place (same size) -----------------------------------------------------
cp -p data/part-00002.fbin saved.fbin
"$PY" - data/part-00002.fbin <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40
open(p, "r+b").write(bytes(b))
PY
err=$( { "$IVF" sample plan/task-0000.json; "$IVF" sample plan/task-0001.json; } 2>&1 >/dev/null || true)
grep -qF "part-00002.fbin (fragment 2) changed since planning" <<<"$err" \
  && pass "a rewritten file is named" || fail "a rewritten file was not named: $err"
cp -p saved.fbin data/part-00002.fbin
touch -r saved.fbin data/part-00002.fbin
rm -f plan/*.result
for t in plan/task-*.json; do "$IVF" -q sample "$t"; done
"$IVF" -q train --from-samples plan --out model && pass "the restored dataset trains"

# ---- train --from-samples and flags ------------------------------------------------------------
expect_error "--index-type, --num-partitions, --distance-type cannot be used with --from-samples" \
  "$IVF" train --from-samples plan --out m2 --num-partitions 4 --index-type ivf_pq \
  --distance-type cosine
expect_error "--seed cannot be used with --from-samples" \
  "$IVF" train --from-samples plan --out m2 --seed 42
"$IVF" -q train --from-samples plan --out m3 --threads 1 && same_model model m3

# ---- A task edited by hand ---------------------------------------------------------------------
rm -rf plan && cp -r plan-pristine plan
"$PY" - plan/task-0001.json <<'PY'
import json, sys
p = sys.argv[1]; t = json.load(open(p))
t["fragments"][0]["quota"] = t["fragments"][0]["num_rows"]  # 2000 instead of 256
open(p, "w").write(json.dumps(t, indent=2))
PY
expect_error "has quota 2000, but its plan gives it" "$IVF" sample plan/task-0001.json
"$IVF" -q sample plan/task-0000.json
rm -rf plan2 && cp -r plan-pristine plan2 && "$IVF" -q sample plan2/task-0001.json
cp plan2/task-0001.result plan/task-0001.result
expect_error "task-0001.json: fragment" "$IVF" train --from-samples plan --out m4
test ! -e m4 && pass "no model from an edited plan" || fail "a model was written from an edited plan"

# ---- An older plan format ----------------------------------------------------------------------
rm -rf plan && cp -r plan-pristine plan
sed -i 's/"format_version": 2/"format_version": 1/' plan/plan.json plan/task-0000.json
expect_error "older ivftrain (format version 1" "$IVF" sample plan/task-0000.json
expect_error "older ivftrain (format version 1" "$IVF" train --from-samples plan --out m5

# ---- Manifests listing rows twice --------------------------------------------------------------
cat >dup.json <<'JSON'
{"fragments": [{"id": 0, "path": "data/part-00000.fbin"}, {"id": 1, "path": "data/part-00000.fbin"}]}
JSON
expect_error "fragments 0 (data/part-00000.fbin rows 0..end) and 1 (data/part-00000.fbin rows 0..end) overlap" \
  "$IVF" train dup.json --out m6 "${flags[@]}"
cat >overlap.json <<'JSON'
{"fragments": [{"id": 0, "path": "data/part-00000.fbin", "num_rows": 1500},
               {"id": 1, "path": "data/part-00000.fbin", "first_row": 1000}]}
JSON
expect_error "fragments 0 (data/part-00000.fbin rows 0..1500) and 1" \
  "$IVF" train overlap.json --out m6 "${flags[@]}"

# ---- Numbers that make no sense ----------------------------------------------------------------
expect_no_crash() {  # like expect_error, and the exit code is 1 or 2 (no signal)
  local words="$1"; shift
  local rc=0
  "$@" >/dev/null 2>&1 || rc=$?
  if [ "$rc" -gt 2 ]; then fail "exit code $rc from: $*"; return; fi
  expect_error "$words" "$@"
}
expect_no_crash "--rows 4611686018427387904 times --dim 4 float32 values is too large" \
  "$IVF" gen gx.npy --rows 4611686018427387904 --dim 4
expect_no_crash "--num-partitions 4611686018427387904 times --sample-rate 4 rows is too large" \
  "$IVF" train data --out m7 --num-partitions 4611686018427387904 --sample-rate 4
expect_no_crash "--threads must be 0 (all cores) or between 1 and 4096" \
  "$IVF" train data --out m7 "${flags[@]}" --threads 2000000000
expect_no_crash "--threads must be 0 (all cores) or between 1 and 4096" \
  "$IVF" sample plan-pristine/task-0000.json --threads 5000
expect_no_crash "--balance must be 0 (off) or a finite number" \
  "$IVF" train data --out m7 "${flags[@]}" --balance inf
expect_no_crash "--balance must be 0 (off) or a finite number" \
  "$IVF" train data --out m7 "${flags[@]}" --balance nan
expect_no_crash "--tolerance must be a finite number" \
  "$IVF" train data --out m7 "${flags[@]}" --tolerance inf
expect_no_crash "--seed: must not be negative" "$IVF" train data --out m7 "${flags[@]}" --seed -1
expect_no_crash "--seed: must not be negative" "$IVF" gen g.npy --rows 10 --dim 2 --seed -1
expect_no_crash "--workers must be between 1 and 1000000" \
  "$IVF" plan data --out p7 --workers 2000000000 "${flags[@]}"
expect_no_crash "--spread must be a finite number" "$IVF" gen g.npy --rows 10 --dim 2 --spread inf
expect_no_crash "--nonfinite-rows must be between 0 and --rows" \
  "$IVF" gen g.npy --rows 10 --dim 2 --nonfinite-rows 11
expect_no_crash "--clusters must be at most --rows" \
  "$IVF" gen g.npy --rows 10 --dim 2 --clusters 4611686018427387904
expect_no_crash "--fragment-rows adds up to more rows than can be counted" \
  "$IVF" gen g.npy --rows 10 --dim 2 --fragment-rows 9223372036854775807,9223372036854775807,12
test ! -e m7 && test ! -e p7 && test ! -e gx.npy && test ! -e g.npy \
  && pass "nothing written" || fail "a refused command wrote its output"

# ---- plan --max-memory -------------------------------------------------------------------------
expect_no_crash "more than --max-memory 64K" \
  "$IVF" plan data --workers 2 --out p8 --max-memory 64K "${flags[@]}"
expect_no_crash "--max-memory: '4X' is not a size" \
  "$IVF" plan data --workers 2 --out p8 --max-memory 4X "${flags[@]}"
"$IVF" -q plan data --workers 2 --out p8 --max-memory 4G "${flags[@]}" \
  && pass "a plan within --max-memory is written"
# Per process: a plan the rounds shard is estimated per worker (its shard) and for `advance`; one
# that gathers (k-means++) as the whole sample on one process. Eight sparse files of 500,000 x 128
# (2 GB that take no blocks: plan reads only their headers and fingerprints), a sample of
# 1,048,576 rows: 4 workers need about 344 MiB each, gathered about 566 MiB.
mkdir sparse
"$PY" - sparse <<'PY'
import struct, sys
for i in range(8):
    with open(f"{sys.argv[1]}/part-{i:05d}.fbin", "wb") as f:
        f.write(struct.pack("<ii", 500000, 128))
        f.truncate(8 + 500000 * 128 * 4)
PY
big=(--index-type ivf_flat --num-partitions 4096)
"$IVF" -q plan sparse --workers 4 --out p9 --max-memory 450M "${big[@]}" \
  && pass "a rounds plan whose workers fit 450M is written" || fail "a rounds plan was refused"
expect_error "(1048576 sample rows x 128 dims, gathered by \`advance\` for k-means++ initialisation), more than --max-memory 450M" \
  "$IVF" plan sparse --workers 4 --out p10 --max-memory 450M "${big[@]}" --init kmeans++
expect_error "the shard of worker 0 needs about 1.18 GiB (1048576 sample rows x 128 dims) in \`ivftrain round\`, more than --max-memory 450M; about 3 workers would fit" \
  "$IVF" plan sparse --workers 1 --out p10 --max-memory 450M "${big[@]}"
# 3 workers would fit if the fragments split evenly; 8 fragments over 3 workers do not.
expect_error "more than --max-memory 450M: its fragments hold more sample rows than an even share" \
  "$IVF" plan sparse --workers 3 --out p10 --max-memory 450M "${big[@]}"
test ! -e p10 && pass "the refused plans wrote nothing" || fail "a refused plan was written"
finish
