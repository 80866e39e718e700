# MPI outputs (issue 14): rank 0 checks the output before any rank reads anything, and every
# rank ends with its sentence; a signal at rank 0's write leaves no staging directory.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
T=(--index-type ivf_flat --num-partitions 8 --max-iters 5 --threads 1)

"$IVF" -q gen data.npy --rows 3000 --dim 16 --clusters 8
"$IVF" -q train data.npy --out existing "${T[@]}"
# The dataset does not exist: only a check made before the first read can name the output.
expect_error "existing already exists" timeout 60 "${MPIRUN[@]}" -n 2 "$IVF" -q train \
  missing.npy --out existing --mpi "${T[@]}"
expect_error "is the input" timeout 60 "${MPIRUN[@]}" -n 2 "$IVF" -q train data.npy \
  --out data.npy --overwrite --mpi "${T[@]}"
expect_error "output path is empty" timeout 60 "${MPIRUN[@]}" -n 2 "$IVF" -q train data.npy \
  --out "" --mpi "${T[@]}"
"$IVF" -q gen again.npy --rows 3000 --dim 16 --clusters 8
cmp -s data.npy again.npy && pass "the dataset is untouched" || fail "the dataset changed"

# Rank 0 is signalled at its second write (the model's); it removes its staging directory.
rc=0
timeout 60 "${MPIRUN[@]}" -n 2 "$IVF" -q train data.npy --out sig --mpi "${T[@]}" \
  --test-signal-at-write-call 2 >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "the signalled run ended ($rc)" \
  || fail "the signalled run gave $rc"
[ -z "$(ls -A | grep '^\.sig')" ] && [ ! -e sig ] && pass "no staging left under MPI" \
  || fail "left: $(ls -A)"
finish
