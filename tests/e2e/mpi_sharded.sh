# MPI, sharded: each rank keeps its own sample shard and the IVF k-means runs across the ranks
# (an all-reduce of exact sums per iteration); the models are byte-identical to local training
# for 1 to 4 ranks and any thread count, with IVF and PQ subsets of the sample, empty clusters
# split, ivf_pq/l2 and ivf_sq/cosine, random and k-means|| initialisation. Configurations sharding
# does not cover yet (k-means++, balance) gather the sample on rank 0, say so, and still match.
# Hierarchical k-means: mpi_hier.sh.
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

fragments=(--fragment-rows 3000,1,1500,2600,400,2000,2499)
"$IVF" -q gen data --rows 12000 --dim 16 --clusters 6 --format npy "${fragments[@]}"
# Byte vectors of 4 dims hold many duplicate rows: random init picks some twice, and the empty
# clusters that leaves are split, every iteration (the PQ rows are a subset of the sample).
"$IVF" -q gen u8 --rows 12000 --dim 4 --clusters 3 --format u8bin "${fragments[@]}"
data_pq=u8
flags_pq=(--index-type ivf_pq --num-partitions 60 --num-sub-vectors 2 --num-bits 4
  --sample-rate 100 --max-iters 15)
# SQ wants more rows than IVF: the IVF rows are a subset of the sample.
data_sq=data
flags_sq=(--index-type ivf_sq --num-partitions 40 --distance-type cosine --sample-rate 64
  --sq-bounds per-dim)
for kind in pq sq; do
  declare -n flags="flags_$kind" data="data_$kind"
  "$IVF" -q train "$data" --out "local-$kind" --threads 2 "${flags[@]}"
  for n in 1 2 3 4; do
    timeout 300 "${MPIRUN[@]}" -n "$n" "$IVF" train "$data" --out "mpi-$kind-$n" --mpi \
      --threads $(( n % 2 + 1 )) "${flags[@]}" 2> "log-$kind-$n"
    grep -q "sharded over $n ranks" "log-$kind-$n" && pass "$kind, $n ranks: sharded" \
      || fail "$kind, $n ranks: the IVF k-means was not sharded"
    if [ "$kind" = pq ]; then
      grep -q "sub-spaces across $n ranks" "log-$kind-$n" && pass "$n ranks: PQ across the ranks" \
        || fail "$n ranks: PQ not across the ranks"
    fi
    same_model "local-$kind" "mpi-$kind-$n"
  done
done
# A shape on the SGEMM path with bounds (k d > 4096): SGEMM's rounding of a row's distances can
# depend on its place in a block, which sharding changes; labels and objectives must not.
"$IVF" -q gen g48 --rows 20000 --dim 48 --clusters 30 --fragments 5 --format npy
flags_gemm=(--index-type ivf_flat --num-partitions 100 --max-iters 12 --tolerance 0)
"$IVF" -q train g48 --out local-gemm --threads 2 "${flags_gemm[@]}"
for n in 2 3; do
  timeout 300 "${MPIRUN[@]}" -n "$n" "$IVF" -q train g48 --out "mpi-gemm-$n" --mpi --threads 1 \
    "${flags_gemm[@]}"
  same_model local-gemm "mpi-gemm-$n"
done

# PQ sub-spaces across the ranks: 6 sub-spaces of 8 dims, 256 centroids, over 4 ranks (2, 2, 1, 1:
# not divisible) and 3 (2 each); under l2 (residuals) and dot (the rows themselves). The 4-bit,
# 2-sub-space runs above cover more ranks than sub-spaces.
for dist in l2 dot; do
  flags_pq6=(--index-type ivf_pq --num-partitions 40 --num-sub-vectors 6 --max-iters 8
    --distance-type "$dist")
  "$IVF" -q train g48 --out "local-pq6-$dist" --threads 2 "${flags_pq6[@]}"
  for n in 3 4; do
    [ "$dist" = dot ] && [ "$n" -ne 4 ] && continue
    timeout 300 "${MPIRUN[@]}" -n "$n" "$IVF" train g48 --out "mpi-pq6-$dist-$n" --mpi \
      --threads $(( n % 2 + 1 )) "${flags_pq6[@]}" 2> "log-pq6-$dist-$n"
    grep -q "6 sub-vectors x 256 centroids on 20000 rows, the sub-spaces across $n ranks" \
      "log-pq6-$dist-$n" && pass "PQ $dist, $n ranks: across the ranks" \
      || fail "PQ $dist, $n ranks: not across the ranks: $(grep 'training PQ' "log-pq6-$dist-$n")"
    same_model "local-pq6-$dist" "mpi-pq6-$dist-$n"
  done
done

# The runs above split empty clusters (so the split's global first row is exercised).
"$PY" - local-pq/model.json <<'PY' && pass "empty clusters were split" || fail "no split happened"
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
sys.exit(0 if sum(s["ivf_empty_clusters_split_per_iteration"]) > 0 else 1)
PY

# k-means++ is not sharded yet: the sample is gathered, the log says so, the model matches.
"$IVF" -q train data --out local-pp --init kmeans++ "${flags_pq[@]}"
timeout 300 "${MPIRUN[@]}" -n 3 "$IVF" train data --out mpi-pp --mpi --threads 1 \
  --init kmeans++ "${flags_pq[@]}" 2> log-pp
grep -q "gathered on rank 0" log-pp && pass "k-means++ gathers" || fail "no gathering line"
same_model local-pp mpi-pp

# k-means|| is sharded: its draws hang on the seed, the round and the global row, its sums are
# exact, so 1 to 4 ranks give the local model (rows with duplicates, PQ; and cosine SQ).
for kind in pq sq; do
  declare -n flags="flags_$kind" data="data_$kind"
  "$IVF" -q train "$data" --out "local-kp-$kind" --init kmeans-parallel "${flags[@]}"
  for n in 1 2 3 4; do
    [ "$kind" = sq ] && [ "$n" -ne 3 ] && continue
    timeout 300 "${MPIRUN[@]}" -n "$n" "$IVF" train "$data" --out "mpi-kp-$kind-$n" --mpi \
      --threads $(( n % 2 + 1 )) --init kmeans-parallel "${flags[@]}" 2> "log-kp-$kind-$n"
    grep -q "sharded over $n ranks" "log-kp-$kind-$n" && pass "k-means||, $kind, $n ranks: sharded" \
      || fail "k-means||, $kind, $n ranks: the IVF k-means was not sharded"
    same_model "local-kp-$kind" "mpi-kp-$kind-$n"
  done
done
cmp -s local-kp-pq/ivf_centroids.npy local-pq/ivf_centroids.npy \
  && fail "k-means|| gave the centroids of random init" || pass "k-means|| starts elsewhere"

# --max-memory per rank: refused before training, naming the ranks that would fit; with them the
# run fits and the model is the local one. The estimate (pipeline/memory_budget.h): the program
# (32 MiB), rank 0's fixed part (PQ rows and codebook, centroids: 439,296 bytes) and 256 bytes a
# sample row of its shard. 33490K leaves 300,032 bytes, 1,172 rows: 2 ranks of 1,500 rows do
# not fit, 3 would, 4 of 750 do.
"$IVF" -q gen four --rows 3000 --dim 16 --clusters 8 --fragments 4 --format npy
flags_mem=(--index-type ivf_pq --num-partitions 8 --num-sub-vectors 4)
limit=33490K
expect_error "about 3 ranks would fit" timeout 60 "${MPIRUN[@]}" -n 2 "$IVF" train four \
  --out refused --mpi --threads 1 "${flags_mem[@]}" --max-memory "$limit"
test ! -e refused && pass "no model written" || fail "a refused run wrote a model"
"$IVF" -q train four --out local-mem "${flags_mem[@]}"
timeout 300 "${MPIRUN[@]}" -n 4 "$IVF" -q train four --out mpi-mem --mpi --threads 1 \
  "${flags_mem[@]}" --max-memory "$limit"
same_model local-mem mpi-mem
finish
