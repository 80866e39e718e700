# The file protocol: plan / sample / train --from-samples with 1, 2, 3 and 5 workers gives
# models byte-identical to local training (ivf_pq with l2, ivf_sq with cosine) on 8 fragments of
# unequal sizes, one of a single row; and its failure paths.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 30000 --dim 32 --clusters 30 --format fbin \
  --fragment-rows 6000,1,2500,9000,700,4299,500,7000 --nonfinite-rows 10

train_flags_pq=(--index-type ivf_pq --num-partitions 24 --num-sub-vectors 8 --num-bits 8 --max-iters 10)
train_flags_sq=(--index-type ivf_sq --num-partitions 24 --distance-type cosine --sample-rate 64)

for kind in pq sq; do
  declare -n flags="train_flags_$kind"
  "$IVF" -q train data --out "local-$kind" "${flags[@]}"
  for w in 1 2 3 5; do
    "$IVF" -q plan data --workers "$w" --out "plan-$kind-$w" "${flags[@]}"
    for t in "plan-$kind-$w"/task-*.json; do "$IVF" -q sample "$t"; done
    "$IVF" -q train --from-samples "plan-$kind-$w" --out "model-$kind-$w"
    same_model "local-$kind" "model-$kind-$w"
  done
done

# Running a task twice writes a byte-identical result.
cp plan-pq-3/task-0001.result first.result
"$IVF" -q sample plan-pq-3/task-0001.json
cmp -s first.result plan-pq-3/task-0001.result && pass "rerunning a task is idempotent" \
  || fail "rerun changed the result"

# Failure paths: a missing result, a flipped byte, a result from another plan.
mv plan-pq-3/task-0002.result saved.result
expect_error "task-0002.json" "$IVF" train --from-samples plan-pq-3 --out bad1
test ! -e bad1 && pass "no model written" || fail "a model was written despite the error"
cp saved.result plan-pq-3/task-0002.result
"$PY" - plan-pq-3/task-0002.result <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x01
open(p, "wb").write(bytes(b))
PY
expect_error "checksum" "$IVF" train --from-samples plan-pq-3 --out bad2
cp plan-pq-2/task-0001.result plan-pq-3/task-0002.result
expect_error "task-0002.json" "$IVF" train --from-samples plan-pq-3 --out bad3
cp saved.result plan-pq-3/task-0002.result
"$IVF" -q train --from-samples plan-pq-3 --out recovered && same_model local-pq recovered

# A fragment subset: the tasks hold only the fragments asked for.
"$IVF" -q plan data --workers 2 --out plan-sub --fragments 1,3-4 "${train_flags_sq[@]}"
ids=$(cat plan-sub/task-*.json | "$PY" -c '
import json, sys
text = sys.stdin.read().replace("}\n{", "}\x00{")
print(sorted(f["id"] for t in text.split("\x00") for f in json.loads(t)["fragments"]))')
[ "$ids" = "[1, 3, 4]" ] && pass "fragment subset plan" || fail "subset plan holds $ids"
finish
