# Sharded training through files (`ivftrain round` / `ivftrain advance`): the issue's driver loop
# with 1, 3 and 5 workers gives models byte-identical to local training (ivf_pq with l2, ivf_sq
# with cosine) on 8 fragments of unequal sizes; exit codes 0/3/1; a run interrupted between
# rounds (advance killed, a partial deleted) resumes to the same model; bad partials are refused
# naming the worker to rerun; parameters rounds cannot train (balance, k-means++) fall back to
# gathering.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 30000 --dim 32 --clusters 30 --format fbin \
  --fragment-rows 6000,1,2500,9000,700,4299,500,7000 --nonfinite-rows 10

train_flags_pq=(--index-type ivf_pq --num-partitions 24 --num-sub-vectors 8 --num-bits 8 --max-iters 10)
train_flags_sq=(--index-type ivf_sq --num-partitions 24 --distance-type cosine --sample-rate 64)

for kind in pq sq; do
  declare -n flags="train_flags_$kind"
  "$IVF" -q train data --out "local-$kind" "${flags[@]}"
  for w in 1 3 5; do
    make_plan "plan-$kind-$w" "$w" "${flags[@]}"
    rc=0; drive "plan-$kind-$w" "$w" "model-$kind-$w" || rc=$?
    [ "$rc" -eq 0 ] && same_model "local-$kind" "model-$kind-$w" \
      || fail "the driver loop of plan-$kind-$w ended with $rc"
  done
done
# The sq runs split a cluster (in iteration 2): its farthest row came from a split round, one
# more round than scan, initial assignment and one per iteration.
for w in 1 3 5; do
  "$PY" - local-sq/model.json "plan-sq-$w" <<'PY' && pass "sq, $w workers: a split round" \
    || fail "sq, $w workers: no split, or not one split round per update that split"
import glob, json, sys
s = json.load(open(sys.argv[1]))["stats"]
splits = sum(1 for v in s["ivf_empty_clusters_split_per_iteration"] if v > 0)
rounds = len(glob.glob(sys.argv[2] + "/round-*"))
sys.exit(0 if splits > 0 and rounds == len(s["ivf_objective_per_iteration"]) + 2 + splits else 1)
PY
done
# The final advance reads the results' headers and PQ rows only: their checksums were verified
# when the rounds began, and they have not changed since. Counted with strace: the bytes read
# from the result files by the last advance (each run of strace overwrites the log).
if command -v strace >/dev/null; then
  # 96 partitions: the sample is 256 x 96 rows, PQ's (4 bits) 256 x 16 of them.
  flags_s=(--index-type ivf_pq --num-partitions 96 --num-sub-vectors 8 --num-bits 4 --max-iters 4)
  make_plan plan-s 2 "${flags_s[@]}"
  ADVANCE=(strace -y -e trace=read,pread64 -o advance.strace "$IVF")
  rc=0; drive plan-s 2 model-s || rc=$?
  unset ADVANCE
  [ "$rc" -eq 0 ] || fail "the driver loop of plan-s ended with $rc"
  "$IVF" -q train data --out local-s "${flags_s[@]}" && same_model local-s model-s
  # bytes_read LOG FILE...: the bytes the traced process read from those files.
  bytes_read() {
    local log="$1" f total=0; shift
    for f in "$@"; do
      total=$((total + $(grep -F "<$(realpath "$f")>" "$log" \
        | awk -F'= ' '{s += $NF} END {print s + 0}')))
    done
    echo "$total"
  }
  size=$(cat plan-s/task-*.result | wc -c)
  got=$(bytes_read advance.strace plan-s/task-*.result)
  [ "$got" -gt 0 ] && [ "$got" -lt $((size * 6 / 10)) ] \
    && pass "the final advance read $got of the results' $size bytes" \
    || fail "the final advance read its results through: $got of $size bytes"
  # A result changed since the rounds began (here only touched) is read through again.
  touch plan-s/task-0000.result
  strace -y -e trace=read,pread64 -o again.strace "$IVF" -q advance plan-s --out model-s2
  same_model local-s model-s2
  size0=$(wc -c < plan-s/task-0000.result)
  got0=$(bytes_read again.strace plan-s/task-0000.result)
  [ "$got0" -ge "$size0" ] && pass "a result touched since the rounds began is read through" \
    || fail "a touched result was trusted: $got0 of its $size0 bytes read"
else
  pass "strace is not installed: the bytes the final advance reads are not counted"
fi

# The gathering path still gives the same model.
"$IVF" -q train --from-samples plan-pq-3 --out gathered-pq && same_model local-pq gathered-pq

# Exit codes: 3 while rounds are needed (and again when rerun before any round ran), 1 on error.
make_plan plan-x 3 "${train_flags_pq[@]}"
expect_error "have not begun" "$IVF" round plan-x --worker 0
rc=0; "$IVF" -q advance plan-x --out model-x || rc=$?
[ "$rc" -eq 3 ] && pass "advance asks for round 0 (exit 3)" || fail "advance exited $rc, not 3"
rc=0; "$IVF" -q advance plan-x --out model-x || rc=$?
[ "$rc" -eq 3 ] && pass "advance rerun before any round: still 3" || fail "rerun exited $rc"
expect_error "--worker 3 is not a worker" "$IVF" round plan-x --worker 3
for r in 1 2 3; do
  for w in 0 1 2; do "$IVF" -q round plan-x --worker "$w"; done
  rc=0; "$IVF" -q advance plan-x --out model-x || rc=$?
  [ "$rc" -eq 3 ] || fail "advance after round $((r - 1)) exited $rc, not 3"
done
test -d plan-x/round-0003 && pass "rounds 0 to 3 are in the plan directory" \
  || fail "no round-0003 after three merges"

# A partial missing: exit 1 naming the worker to rerun; rerunning that worker resumes.
for w in 0 1 2; do "$IVF" -q round plan-x --worker "$w"; done
rm plan-x/round-0003/partial-0001
rc=0; err="$("$IVF" advance plan-x --out model-x 2>&1)" || rc=$?
[ "$rc" -eq 1 ] && grep -qF "partial-0001 is missing" <<<"$err" && grep -qF "workers 1" <<<"$err" \
  && pass "a missing partial: exit 1 naming worker 1" || fail "missing partial: $rc: $err"
test ! -e plan-x/round-0004 && pass "nothing merged without every partial" \
  || fail "round 4 begun without worker 1's partial"

# Bad partials, each refused with its sentence and the worker to rerun.
"$IVF" -q round plan-x --worker 1
cp plan-x/round-0003/partial-0001 saved.partial
head -c 100 saved.partial > plan-x/round-0003/partial-0001
expect_error "partial-0001 is not a usable round partial" "$IVF" advance plan-x --out model-x
"$PY" - saved.partial plan-x/round-0003/partial-0001 <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x01
open(sys.argv[2], "wb").write(bytes(b))
PY
expect_error "checksum does not match" "$IVF" advance plan-x --out model-x
cp plan-x/round-0002/partial-0001 plan-x/round-0003/partial-0001
expect_error "worker 1 round 2" "$IVF" advance plan-x --out model-x
# Another plan's partial (plans of the same data, parameters and workers share their id, and
# their partials are interchangeable: those of plan-pq-3 would be accepted, rightly).
cp plan-sq-3/round-0003/partial-0001 plan-x/round-0003/partial-0001
expect_error "for workers 1" "$IVF" advance plan-x --out model-x
cp saved.partial plan-x/round-0003/partial-0001

# advance killed while writing the next round's state (SIGKILL at its first write): nothing
# half-written; rerunning continues, and the run ends with the local model.
rc=0; "$IVF" -q advance plan-x --out model-x --test-signal-at-write-call 1 --test-signal 9 \
  || rc=$?
[ "$rc" -ne 0 ] && [ ! -e plan-x/round-0004/centroids ] \
  && pass "advance killed ($rc): no round-0004 state" || fail "killed advance: $rc"
rc=0; drive plan-x 3 model-x || rc=$?
[ "$rc" -eq 0 ] && same_model local-pq model-x || fail "the resumed run ended with $rc"
rc=0; "$IVF" -q advance plan-x --out model-x || rc=$?
[ "$rc" -eq 1 ] && pass "advance after the model is written refuses to replace it (exit 1)" \
  || fail "a second advance exited $rc"
"$IVF" -q advance plan-x --out model-x --overwrite && same_model local-pq model-x

# A sample result missing when the rounds begin: exit 1 naming the task to sample again.
make_plan plan-y 2 "${train_flags_sq[@]}"
rm plan-y/task-0001.result
expect_error "rerun \`ivftrain sample\` for workers 1" "$IVF" advance plan-y --out model-y

# Balance (here after hierarchical k-means, which rounds train: cli_rounds_hier.sh) falls back to
# gathering (logged) and still equals local training.
hier=(--index-type ivf_flat --num-partitions 64 --kmeans hierarchical --sample-rate 64 --balance 2)
"$IVF" -q train data --out local-hier "${hier[@]}"
make_plan plan-hier 2 "${hier[@]}"
out="$("$IVF" advance plan-hier --out model-hier 2>&1)" && grep -qF "gathering" <<<"$out" \
  && same_model local-hier model-hier || fail "balance fallback: $out"

# k-means++ is not sharded in rounds: gathering (logged), the local model. (k-means|| is:
# cli_rounds_kmpar.sh.)
kp=(--index-type ivf_flat --num-partitions 24 --init kmeans++ --max-iters 5)
"$IVF" -q train data --out local-kp "${kp[@]}"
make_plan plan-kp 3 "${kp[@]}"
out="$("$IVF" advance plan-kp --out model-kp 2>&1)" && grep -qF "gathering" <<<"$out" \
  && same_model local-kp model-kp || fail "k-means++ fallback: $out"

# Bounds (l2, 64 partitions of 128 dims: local training's BoundedAssigner): each worker keeps its
# rows' bounds between rounds. One and two workers: the local model. Two workers: a bounds file lost
# mid-run is rebuilt by replaying the worker's rounds, and the run ends with the model of the
# run that lost nothing.
"$IVF" -q gen wide --rows 6000 --dim 128 --clusters 70 --format fbin --fragment-rows 2500,1500,2000
wide=(--index-type ivf_flat --num-partitions 64 --sample-rate 64 --max-iters 12)
"$IVF" -q train wide --out local-wide "${wide[@]}"
DATA=wide make_plan plan-wide-1 1 "${wide[@]}"
rc=0; drive plan-wide-1 1 model-wide-1 || rc=$?
[ "$rc" -eq 0 ] && same_model local-wide model-wide-1 || fail "plan-wide-1 ended with $rc"
ls plan-wide-1/round-0002/bounds-0000 >/dev/null && pass "the worker kept its bounds" \
  || fail "no bounds file in round 2"
DATA=wide make_plan plan-wide-2 2 "${wide[@]}"
rc=0; drive plan-wide-2 2 model-wide-2 || rc=$?
# Rows go to other SGEMM blocks with two workers; near ties are settled from the rows alone
# (linalg/near_ties.h), so the model is local training's, objectives included.
[ "$rc" -eq 0 ] && same_model local-wide model-wide-2 || fail "plan-wide-2 differs from local"
DATA=wide make_plan plan-wide-r 2 "${wide[@]}"
"$IVF" -q advance plan-wide-r --out model-wide-r || true
for r in 0 1 2 3; do
  for w in 0 1; do "$IVF" -q round plan-wide-r --worker "$w"; done
  "$IVF" -q advance plan-wide-r --out model-wide-r || true
done
rm plan-wide-r/round-0003/bounds-0001
rc=0; drive plan-wide-r 2 model-wide-r || rc=$?
[ "$rc" -eq 0 ] && same_model model-wide-2 model-wide-r || fail "the replayed run ended with $rc"

# A plan directory holding rounds may be replaced by a new plan (--overwrite).
"$IVF" -q plan data --workers 2 --out plan-x --overwrite "${train_flags_sq[@]}" \
  && test ! -e plan-x/round-0000 && pass "plan --overwrite replaces a plan directory with rounds" \
  || fail "plan --overwrite refused a plan directory with rounds"
finish
