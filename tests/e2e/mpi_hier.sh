# MPI, sharded hierarchical k-means (docs/sharded.md): the coarse k-means sharded over its sample,
# the groups' rows moved to the ranks that train them, the refinement sharded; the models are
# byte-identical to local training for 1 to 4 ranks, and no rank gathers the sample.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

# 40,000 rows of 8 dims in 7 uneven fragments; 4,096 partitions: 64 groups, the coarse k-means on
# 16,384 of the rows. A quarter of the rows are one duplicated row: their group is over the cap
# (3 times the mean), so the capping moves rows (decided from the rows gathered from the ranks).
hier_data data
flags=(--index-type ivf_flat --num-partitions 4096 --kmeans hierarchical --max-iters 4)
"$IVF" -q train data --out local --threads 2 "${flags[@]}" 2> log-local
for n in 1 2 3 4; do
  timeout 300 "${MPIRUN[@]}" -n "$n" "$IVF" train data --out "mpi-$n" --mpi \
    --threads $(( n % 2 + 1 )) "${flags[@]}" 2> "log-$n"
  grep -q "sharded over $n ranks" "log-$n" && ! grep -q "gathered on rank 0" "log-$n" \
    && pass "$n ranks: sharded" || fail "$n ranks: the hierarchical k-means was not sharded"
  grep -q "groups capped at 1875 rows: 8163 rows moved (.* gathered" "log-$n" \
    && pass "$n ranks: the groups were capped" || fail "$n ranks: no capping"
  same_model local "mpi-$n"
done
"$PY" - local/model.json <<'PY' && pass "hierarchical: groups, then refinements" \
  || fail "not a hierarchical run"
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if len(m["stats"]["ivf_objective_per_iteration"]) == 3 else 1)
PY

# k-means|| initialises the coarse k-means sharded too; inner product (dot).
flags_kp=(--index-type ivf_flat --num-partitions 900 --kmeans hierarchical --max-iters 4
  --init kmeans-parallel --distance-type dot)
"$IVF" -q train data --out local-kp --threads 1 "${flags_kp[@]}"
timeout 300 "${MPIRUN[@]}" -n 3 "$IVF" -q train data --out mpi-kp --mpi --threads 1 \
  "${flags_kp[@]}"
same_model local-kp mpi-kp

# Balance is not sharded: the sample is gathered on rank 0, the log says so, the model matches.
"$IVF" -q train data --out local-bal "${flags[@]}" --balance 2
timeout 300 "${MPIRUN[@]}" -n 2 "$IVF" train data --out mpi-bal --mpi --threads 1 \
  "${flags[@]}" --balance 2 2> log-bal
grep -q "gathered on rank 0" log-bal && pass "balance gathers" || fail "no gathering line"
same_model local-bal mpi-bal
finish
