# MPI --checkpoint: a run whose rank 0 is killed by SIGKILL while writing a checkpoint, started
# again with the same command, even with another rank count, resumes after the last complete
# checkpoint and writes the model an uninterrupted local run writes, byte for byte. A corrupted
# or foreign checkpoint is refused.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

"$IVF" -q gen data --rows 20000 --dim 48 --clusters 30 --fragments 5 --format npy
# k d > 4096: the bounded SGEMM assignment, whose state a resumed run does not have.
flags=(--index-type ivf_pq --num-partitions 100 --num-sub-vectors 8 --max-iters 40
  --tolerance 0)
"$IVF" -q train data --out local "${flags[@]}"

# Rank 0 is killed (SIGKILL, the CLI's hidden fault hook) at its 12th file write: in the middle
# of writing a checkpoint, after a few complete ones. The run has 4 ranks; it resumes with 2 (the
# state does not depend on the rank count).
timeout 120 "${MPIRUN[@]}" -n 4 "$IVF" train data --out model --mpi --threads 1 "${flags[@]}" \
  --checkpoint ckpt --test-signal-at-write-call 12 --test-signal 9 > log 2>&1 \
  && fail "the interrupted run exited 0" || pass "the interrupted run failed"
grep -q "signal 9" log && pass "rank 0 was killed" || fail "no rank died of SIGKILL: $(tail -3 log)"
test ! -e model && pass "no model after the crash" || fail "a model was written"
test -s ckpt/ivf_kmeans.ckpt && pass "a checkpoint was saved" || fail "no checkpoint"

timeout 300 "${MPIRUN[@]}" -n 2 "$IVF" train data --out model --mpi --threads 1 "${flags[@]}" \
  --checkpoint ckpt 2> log2
grep -q "resuming the IVF k-means" log2 && pass "resumed: $(grep -o 'after iteration [0-9]*' log2 \
  | head -1)" || fail "the second run did not resume"
same_model local model

# A checkpoint cut short, or of another run, is refused; nothing is written.
mkdir -p cut
head -c 100 ckpt/ivf_kmeans.ckpt > cut/ivf_kmeans.ckpt
expect_error "is truncated or corrupted" timeout 60 "${MPIRUN[@]}" -n 3 "$IVF" train data \
  --out m2 --mpi --threads 1 "${flags[@]}" --checkpoint cut
expect_error "belongs to another run" timeout 60 "${MPIRUN[@]}" -n 3 "$IVF" train data \
  --out m2 --mpi --threads 1 "${flags[@]}" --seed 7 --checkpoint ckpt
# A checkpoint of a build before relocation (magic IVFCKPT1): its iterations did not relocate.
mkdir -p old && { printf 'IVFCKPT1'; tail -c +9 ckpt/ivf_kmeans.ckpt; } > old/ivf_kmeans.ckpt
expect_error "was written by an earlier ivftrain, whose k-means did not relocate centroids" \
  timeout 60 "${MPIRUN[@]}" -n 3 "$IVF" train data --out m2 --mpi --threads 1 "${flags[@]}" \
  --checkpoint old
test ! -e m2 && pass "no model from a refused checkpoint" || fail "a model was written"
expect_error "--checkpoint saves the state of a run under --mpi" "$IVF" train data --out m3 \
  "${flags[@]}" --checkpoint ckpt
expect_error "--checkpoint needs sharded training" timeout 60 "${MPIRUN[@]}" -n 2 "$IVF" train \
  data --out m3 --mpi --threads 1 "${flags[@]}" --init kmeans++ --checkpoint ckpt2
finish
