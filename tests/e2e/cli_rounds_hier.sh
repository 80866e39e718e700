# Hierarchical k-means through files (`ivftrain round` / `advance`, docs/sharded.md): the coarse
# k-means where the rounds begin, then groups, capping, the groups trained by the workers that own
# them (each reading its groups' rows from every worker's result) and the refinement as rounds.
# With 1, 3 and 5 workers the models are byte-identical to local training (ivf_pq with l2,
# ivf_sq with cosine; 4,096 partitions; k-means++ with dot); advance says the rounds are sharded,
# never gathered; a worker's lost groups file is named and written again by rerunning that worker.
source "$(dirname "$0")/lib.sh" "$@"

# 40,000 rows of 8 dims in 7 uneven fragments; a quarter of the rows are one repeated row: their
# group is over the cap (3 times the mean), so the capping moves rows (the data of mpi_hier.sh).
hier_data data

flags_pq=(--index-type ivf_pq --num-partitions 4096 --kmeans hierarchical --max-iters 4
  --num-sub-vectors 4 --num-bits 4)
flags_sq=(--index-type ivf_sq --num-partitions 4096 --kmeans hierarchical --max-iters 4
  --distance-type cosine)

for kind in pq sq; do
  declare -n flags="flags_$kind"
  "$IVF" train data --out "local-$kind" --threads 2 "${flags[@]}" 2> "log-local-$kind"
  moved=$(grep -o "groups capped at 1875 rows: [0-9]* rows moved" "log-local-$kind" | grep -o "[0-9]* rows moved")
  for w in 1 3 5; do
    make_plan "plan-$kind-$w" "$w" "${flags[@]}"
    rc=0; drive "plan-$kind-$w" "$w" "model-$kind-$w" "log-$kind-$w" || rc=$?
    [ "$rc" -eq 0 ] && same_model "local-$kind" "model-$kind-$w" \
      || { fail "the driver loop of plan-$kind-$w ended with $rc"; cat "log-$kind-$w" >&2; }
    log="log-$kind-$w"
    grep -q "began the hierarchical k-means" "$log" \
      && grep -q "capped at 1875 rows, $moved" "$log" \
      && grep -q "sharded: the groups trained and refined by the workers" "$log" \
      && ! grep -qi "gather" "$log" \
      && pass "$kind, $w workers: sharded rounds (groups capped: $moved, as locally), never gathered" \
      || { fail "$kind, $w workers: not the sharded hierarchical rounds"; cat "$log" >&2; }
    # Groups, capping, training, then one round per recorded objective (the groups' centroids
    # and each refinement iteration), and a split round (the farthest rows) before each
    # refinement whose update split clusters: both of them split here.
    rounds=$(find "plan-$kind-$w" -maxdepth 1 -name 'round-*' | wc -l)
    expected=$("$PY" -c 'import json, sys; s = json.load(open(sys.argv[1]))["stats"]
splits = sum(1 for v in s["ivf_empty_clusters_split_per_iteration"][1:] if v > 0)
assert splits == 2, splits
print(3 + len(s["ivf_objective_per_iteration"]) + splits)' "local-$kind/model.json")
    [ "$rounds" -eq "$expected" ] && pass "$kind, $w workers: $rounds rounds, 2 of them split rounds" \
      || fail "$kind, $w workers: $rounds rounds, not $expected"
  done
done
# Any initialisation: the coarse k-means is trained where the rounds begin and each group by
# its worker, as locally (flat rounds gather for k-means++). Inner product (dot).
flags_pp=(--index-type ivf_flat --num-partitions 900 --kmeans hierarchical --max-iters 4
  --init kmeans++ --distance-type dot)
"$IVF" -q train data --out local-pp "${flags_pp[@]}"
make_plan plan-pp 3 "${flags_pp[@]}"
rc=0; drive plan-pp 3 model-pp log-pp || rc=$?
[ "$rc" -eq 0 ] && same_model local-pp model-pp && ! grep -qi "gather" log-pp \
  && pass "k-means++ and dot: sharded rounds" || fail "k-means++ and dot: $rc"
"$PY" - local-pq/model.json <<'PY' && pass "hierarchical: groups, then 2 refinements" \
  || fail "not a hierarchical run"
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if len(m["stats"]["ivf_objective_per_iteration"]) == 3 else 1)
PY

# Fewer distinct rows than partitions: the workers' distinct rows, united in round 0, give local
# training's refusal, word for word.
"$PY" - dup <<'PY'
import numpy as np, os, sys
x = np.random.default_rng(3).normal(0, 1, (3000, 8)).astype(np.float32)
os.makedirs(sys.argv[1])
for i in range(3):
    np.save(f"{sys.argv[1]}/part-{i}.npy", np.concatenate([x, x[:1000]])[i::3])
PY
flags_dup=(--index-type ivf_flat --num-partitions 3100 --kmeans hierarchical)
local_err="$("$IVF" train dup --out local-dup "${flags_dup[@]}" 2>&1 >/dev/null || true)"
DATA=dup make_plan plan-dup 2 "${flags_dup[@]}"
rc=0; drive plan-dup 2 model-dup log-dup || rc=$?
sentence="$(grep -F "error:" <<<"$local_err")"
[ "$rc" -eq 1 ] && grep -qF "only 3000 distinct vectors" <<<"$sentence" \
  && grep -qxF "$sentence" log-dup \
  && ! grep -qi "gather" log-dup && pass "too few distinct rows: local training's refusal" \
  || fail "too few distinct rows: $rc: $(tail -n 2 log-dup)"

# A worker's groups file lost before the groups are trained: the worker that needs it names the
# worker to rerun; rerunning it writes the file again, and the run ends with the local model.
make_plan plan-r 3 "${flags_pq[@]}"
"$IVF" -q advance plan-r --out model-r || true
for r in 0 1; do
  for w in 0 1 2; do "$IVF" -q round plan-r --worker "$w" --threads 1; done
  "$IVF" -q advance plan-r --out model-r || true
done
rm plan-r/round-0000/groups-0001
expect_error "rerun \`ivftrain round plan-r --worker 1\`" "$IVF" round plan-r --worker 0
"$IVF" -q round plan-r --worker 1 --threads 1
test -e plan-r/round-0000/groups-0001 && pass "worker 1 wrote its groups again" \
  || fail "worker 1's groups file was not written again"
for w in 0 2; do "$IVF" -q round plan-r --worker "$w" --threads 1; done
rm plan-r/round-0002/partial-0001
expect_error "rerun \`ivftrain round plan-r --worker W\` for workers 1" \
  "$IVF" advance plan-r --out model-r
"$IVF" -q round plan-r --worker 1 --threads 1
rc=0; drive plan-r 3 model-r log-r || rc=$?
[ "$rc" -eq 0 ] && same_model local-pq model-r || fail "the resumed run ended with $rc"
finish
