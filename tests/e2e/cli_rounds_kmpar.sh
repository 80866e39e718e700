# k-means|| initialisation sharded through files (`--init kmeans-parallel` with `ivftrain round` /
# `advance`; docs/sharded.md, "k-means|| over files"): the driver loop with 1, 3 and 5 workers
# gives models byte-identical to local training (ivf_pq with l2, ivf_sq with cosine) on 8
# fragments of unequal sizes, without gathering the sample; a lost partial and a lost worker
# state are recovered by rerunning that worker. (MPI's k-means||: tests/e2e/mpi_kmpar.sh, label
# mpi, which the sanitizer stage leaves out.)
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 30000 --dim 32 --clusters 30 --format fbin \
  --fragment-rows 6000,1,2500,9000,700,4299,500,7000 --nonfinite-rows 10

flags_pq=(--index-type ivf_pq --num-partitions 24 --num-sub-vectors 8 --num-bits 8 --max-iters 10
  --init kmeans-parallel)
flags_sq=(--index-type ivf_sq --num-partitions 24 --distance-type cosine --sample-rate 64
  --init kmeans-parallel)

for kind in pq sq; do
  declare -n flags="flags_$kind"
  "$IVF" -q train data --out "local-$kind" "${flags[@]}"
  for w in 1 3 5; do
    make_plan "plan-$kind-$w" "$w" "${flags[@]}"
    rc=0; drive "plan-$kind-$w" "$w" "model-$kind-$w" "log-$kind-$w" || rc=$?
    [ "$rc" -eq 0 ] && same_model "local-$kind" "model-$kind-$w" \
      || fail "the driver loop of plan-$kind-$w ended with $rc: $(tail -3 "log-$kind-$w")"
    ! grep -qi "gather" "log-$kind-$w" && grep -qF "initial centroids chosen" "log-$kind-$w" \
      && pass "plan-$kind-$w: k-means|| sharded, nothing gathered" \
      || fail "plan-$kind-$w gathered or did not run k-means|| in rounds: $(cat "log-$kind-$w")"
  done
done
# Five oversampling rounds and the weights' round (rounds 0 to 5), each worker's rows' state
# kept between them; round 6 assigns the initial centroids.
test -e plan-pq-3/round-0005/seed-0002 && test ! -e plan-pq-3/round-0006/seed-0002 \
  && grep -qF "merged k-means|| round 5 of plan" log-pq-3 \
  && pass "k-means|| took rounds 0 to 5" || fail "k-means|| did not take rounds 0 to 5"

# A lost partial and the worker's state of the previous round: exit 1 naming the worker; rerun
# alone, it measures its rows against every earlier candidate again, and the run ends with the
# local model.
make_plan plan-r 3 "${flags_pq[@]}"
for r in 0 1 2; do
  "$IVF" -q advance plan-r --out model-r || true
  for w in 0 1 2; do "$IVF" -q round plan-r --worker "$w"; done
done
rm plan-r/round-0002/partial-0001 plan-r/round-0001/seed-0001
expect_error "rerun \`ivftrain round plan-r --worker W\` for workers 1" \
  "$IVF" advance plan-r --out model-r
out="$("$IVF" round plan-r --worker 1 2>&1)" && grep -qF "measuring the" <<<"$out" \
  && pass "worker 1 rerun without its state measured its rows again" \
  || fail "worker 1 rerun: $out"
rc=0; drive plan-r 3 model-r || rc=$?
[ "$rc" -eq 0 ] && same_model local-pq model-r || fail "the resumed run ended with $rc"

# A worker's state of other candidates (here another worker's) is not used: measured again.
make_plan plan-s 2 "${flags_sq[@]}"
for r in 0 1; do
  "$IVF" -q advance plan-s --out model-s || true
  for w in 0 1; do "$IVF" -q round plan-s --worker "$w"; done
done
"$IVF" -q advance plan-s --out model-s || true
cp plan-s/round-0001/seed-0000 plan-s/round-0001/seed-0001
out="$("$IVF" round plan-s --worker 1 2>&1)" && grep -qF "no usable k-means|| state" <<<"$out" \
  && pass "a foreign worker state is refused and rebuilt" || fail "foreign state: $out"
"$IVF" -q round plan-s --worker 0
rc=0; drive plan-s 2 model-s || rc=$?
[ "$rc" -eq 0 ] && same_model local-sq model-s || fail "plan-s ended with $rc"

# Bounds after k-means|| (l2, 64 partitions of 128 dims: local training's BoundedAssigner): the
# flat rounds begin at round 6, their bounds continue from round 7 on, and a bounds file lost
# mid-run is rebuilt by replaying the worker's flat rounds from round 6 (not from round 1).
"$IVF" -q gen wide --rows 6000 --dim 128 --clusters 70 --format fbin --fragment-rows 2500,1500,2000
wide=(--index-type ivf_flat --num-partitions 64 --sample-rate 64 --max-iters 12 --tolerance 0
  --init kmeans-parallel)
"$IVF" -q train wide --out local-wide "${wide[@]}"
DATA=wide make_plan plan-wide 2 "${wide[@]}"
for r in $(seq 0 8); do
  "$IVF" -q advance plan-wide --out model-wide || true
  for w in 0 1; do "$IVF" -q round plan-wide --worker "$w"; done
done
test -e plan-wide/round-0008/bounds-0001 && pass "the flat rounds after k-means|| keep bounds" \
  || fail "no bounds file in round 8"
rm plan-wide/round-0008/bounds-0001
"$IVF" -q advance plan-wide --out model-wide || true
out="$("$IVF" round plan-wide --worker 1 2>&1)" && grep -qF "replaying rounds 6 to 8" <<<"$out" \
  && pass "a lost bounds file is rebuilt from the flat rounds" || fail "bounds replay: $out"
"$IVF" -q round plan-wide --worker 0
rc=0; drive plan-wide 2 model-wide || rc=$?
[ "$rc" -eq 0 ] && same_model local-wide model-wide || fail "plan-wide ended with $rc"
finish
