# A rank killed by a signal (kill -9, no error path of ours runs) mid-training ends every rank
# within 10 s: mpirun exits non-zero and no model is written. OpenMPI's mpirun does this itself
# (it watches its children and aborts the job when one dies); this test holds it to that.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

"$IVF" -q gen data --rows 20000 --dim 32 --clusters 40 --format npy --fragments 4
# Tolerance 0 and many iterations: the sharded k-means runs far longer than the test waits.
"${MPIRUN[@]}" -n 3 "$IVF" train data --out killed --mpi --threads 1 --index-type ivf_flat \
  --num-partitions 64 --max-iters 100000 --tolerance 0 > log 2>&1 &
launcher=$!
for _ in $(seq 1 300); do
  grep -q "iteration 2:" log 2>/dev/null && break
  sleep 0.1
done
grep -q "iteration 2:" log && pass "training started" || fail "training did not start in 30 s"
ranks=($(pgrep -P "$launcher"))
[ "${#ranks[@]}" -eq 3 ] && pass "3 ranks running" || fail "found ${#ranks[@]} ranks: ${ranks[*]}"
start=$(date +%s)
kill -9 "${ranks[1]}"
status=0
for _ in $(seq 1 100); do
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$launcher" 2>/dev/null; then
  fail "mpirun still runs 10 s after a rank was killed"
  kill -9 "$launcher" "${ranks[@]}" 2>/dev/null
fi
wait "$launcher" || status=$?
elapsed=$(( $(date +%s) - start ))
[ "$status" -ne 0 ] && pass "mpirun exited with $status" || fail "mpirun exited with 0"
# The other ranks: gone (not even zombies) within the same 10 s.
alive() { local n=0 p; for p in "${ranks[@]}"; do [ -d "/proc/$p" ] && n=$((n + 1)); done; echo $n; }
while [ "$(alive)" -gt 0 ] && [ $(( $(date +%s) - start )) -lt 10 ]; do sleep 0.1; done
elapsed=$(( $(date +%s) - start ))
left=$(alive)
[ "$left" -eq 0 ] || ps -o pid,stat,etime,cmd -p "${ranks[@]}" >&2
[ "$left" -eq 0 ] && pass "every rank ended within ${elapsed}s" || fail "$left ranks still run"
test ! -e killed && pass "no model written" || fail "a model was written"
finish
