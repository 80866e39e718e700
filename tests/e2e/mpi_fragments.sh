# Under MPI, every rank checks its fragments against rank 0's plan (the files' fingerprints and
# the dataset's fragment list): a rank that sees another dataset than rank 0 stops the job with
# one sentence naming the rank and the file, and no model is written. Two application contexts
# with different working directories give rank 1 another `data` than rank 0.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

mkdir a b
"$IVF" -q gen a/data --rows 4000 --dim 8 --clusters 4 --format fbin --fragments 4 --seed 1
"$IVF" -q gen b/data --rows 4000 --dim 8 --clusters 4 --format fbin --fragments 4 --seed 2
flags=(data --mpi --index-type ivf_flat --num-partitions 4 --max-iters 3 --threads 1)

# The same dataset on both ranks trains.
"${MPIRUN[@]}" -n 1 -wdir "$WORK/a" "$IVF" -q train "${flags[@]}" --out "$WORK/ok" : \
  -n 1 -wdir "$WORK/a" "$IVF" -q train "${flags[@]}" --out "$WORK/ok" \
  && test -f ok/model.json && pass "ranks that agree train" || fail "ranks that agree failed"

# Rank 1 sees b/data.
rc=0
err=$("${MPIRUN[@]}" -n 1 -wdir "$WORK/a" "$IVF" train "${flags[@]}" --out "$WORK/bad" : \
  -n 1 -wdir "$WORK/b" "$IVF" train "${flags[@]}" --out "$WORK/bad" 2>&1 >/dev/null) || rc=$?
if [ "$rc" -eq 0 ]; then
  fail "a rank that sees another dataset was accepted"
elif grep -q "ivftrain: error: rank 1: .*$WORK/b/data/part-0000[0-3].fbin.* but the plan has" \
  <<<"$err"; then
  pass "refused ($rc): $(grep 'ivftrain: error' <<<"$err" | head -c 200)"
else
  fail "the error does not name rank 1 and its file: $err"
fi
test ! -e bad && pass "no model written" || fail "a model was written"
finish
