# Exact dimension pruning (src/linalg/pruned.h): the IVF k-means of rows long and many enough is
# searched through a partial product over the rows' leading principal axes, and a centroid is
# measured in full only when that bound cannot rule it out. The model must be byte-identical to
# the plain search's (IVFTRAIN_PRUNE_DIMS=0), with the rule's dimensions or others, at any thread
# count; and the log must show that rows were pruned (else this test would prove nothing).
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 40000 --dim 256 --clusters 300 --fragments 2
train() {  # train PRUNE_DIMS OUT THREADS
  IVFTRAIN_PRUNE_DIMS="$1" "$IVF" -v train data --out "$2" --index-type ivf_flat \
    --num-partitions 256 --max-iters 8 --tolerance 0 --threads "$3" 2> "$2.log"
}
train 0 plain 2
train "" rule 2
train "" rule-1 1
train 48 p48 2
for m in rule rule-1 p48; do same_model plain "$m"; done
pruned() {  # the rows searched with pruning over all iterations of a log
  sed -n 's/.* rows assigned in full (\([0-9]*\) with dimension pruning).*/\1/p' "$1" |
    awk '{s += $1} END {print s + 0}'
}
[ "$(pruned plain.log)" -eq 0 ] && pass "IVFTRAIN_PRUNE_DIMS=0: no row pruned" \
  || fail "IVFTRAIN_PRUNE_DIMS=0 pruned $(pruned plain.log) rows"
for m in rule p48; do
  n="$(pruned "$m.log")"
  [ "$n" -gt 10000 ] && pass "$m: $n rows searched with pruning over the iterations" \
    || fail "$m: only $n rows pruned: $(grep 'rows assigned in full' "$m.log" | head -3)"
done
finish
