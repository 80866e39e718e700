# MPI --checkpoint with hierarchical k-means: rank 0 saves the state once the groups are trained
# and after every refinement iteration. A run killed (SIGKILL) while writing a checkpoint, started
# again with the same command under another rank count, redoes the coarse grouping, skips the
# groups' training, continues the refinement from the last complete checkpoint and writes the
# model an uninterrupted local run writes, byte for byte.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

# 40,000 rows of 8 dims, 4,096 partitions: 64 groups, then 2 refinement iterations.
hier_data data
flags=(--index-type ivf_flat --num-partitions 4096 --kmeans hierarchical --max-iters 4)
"$IVF" -q train data --out local --threads 2 "${flags[@]}"

# crash_and_resume NAME WRITE RANKS RESUMED: rank 0 of a 3-rank run is killed at its WRITE-th
# file write (the checkpoints are its only writes before the model's), then the same command
# under RANKS ranks resumes; its log must say RESUMED.
crash_and_resume() {
  local name="$1" write="$2" ranks="$3" resumed="$4"
  timeout 120 "${MPIRUN[@]}" -n 3 "$IVF" train data --out "model-$name" --mpi --threads 1 \
    "${flags[@]}" --checkpoint "ckpt-$name" --test-signal-at-write-call "$write" \
    --test-signal 9 > "log-$name" 2>&1 \
    && fail "$name: the interrupted run exited 0" || pass "$name: the interrupted run failed"
  grep -q "signal 9" "log-$name" && pass "$name: rank 0 was killed" \
    || fail "$name: no rank died of SIGKILL: $(tail -3 "log-$name")"
  grep -q "groups trained: objective" "log-$name" && pass "$name: the groups were trained" \
    || fail "$name: no line of the groups' training: $(tail -3 "log-$name")"
  test ! -e "model-$name" && pass "$name: no model after the crash" \
    || fail "$name: a model was written"
  timeout 120 "${MPIRUN[@]}" -n "$ranks" "$IVF" train data --out "model-$name" --mpi \
    --threads 1 "${flags[@]}" --checkpoint "ckpt-$name" 2> "log2-$name"
  grep -qF "resuming the IVF k-means from ckpt-$name/ivf_kmeans.ckpt after $resumed" \
    "log2-$name" && pass "$name: resumed after $resumed" \
    || fail "$name: did not resume after $resumed: $(grep resum "log2-$name")"
  ! grep -q "groups trained: objective" "log2-$name" \
    && pass "$name: the groups were not trained again" \
    || fail "$name: the resumed run trained the groups again"
  same_model local "model-$name"
}

# Killed while writing refinement iteration 1's checkpoint: resumes after the groups (2 ranks).
crash_and_resume refine1 2 2 "the groups' training and 0 refinement iterations"
# Killed while writing refinement iteration 2's (the last) checkpoint: resumes after iteration 1
# (4 ranks).
crash_and_resume refine2 3 4 "the groups' training and 1 refinement iterations"
# Killed while writing the model, after the last checkpoint: the finished state gives the model.
crash_and_resume model 4 1 "the groups' training and 2 refinement iterations"
finish
