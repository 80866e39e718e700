# k-means|| under MPI: 2 and 3 ranks give the model of local training (which the file protocol's
# rounds give too: tests/e2e/cli_rounds_kmpar.sh, on the same data and flags).
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 30000 --dim 32 --clusters 30 --format fbin \
  --fragment-rows 6000,1,2500,9000,700,4299,500,7000 --nonfinite-rows 10
flags=(--index-type ivf_pq --num-partitions 24 --num-sub-vectors 8 --num-bits 8 --max-iters 10
  --init kmeans-parallel)
"$IVF" -q train data --out local "${flags[@]}"
for n in 2 3; do
  timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -n "$n" \
    "$IVF" -q train data --out "mpi-$n" --mpi --threads 1 "${flags[@]}"
  same_model local "mpi-$n"
done
finish
