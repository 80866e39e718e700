# Local training end to end: gen, train (ivf_pq / ivf_sq / ivf_flat), inspect, NumPy shapes,
# the --json summary, thread-count determinism and a fragment subset.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data --rows 20000 --dim 32 --clusters 40 --fragments 4 --nonfinite-rows 25
"$IVF" -q train data --out pq1 --index-type ivf_pq --num-partitions 32 --num-sub-vectors 8 \
  --threads 1 --json > pq1.json
"$IVF" -q train data --out pq2 --index-type ivf_pq --num-partitions 32 --num-sub-vectors 8 \
  --threads 2
same_model pq1 pq2

"$PY" - <<'PY' || fail "model files or summary wrong"
import json, numpy as np
s = json.load(open("pq1.json"))
c = np.load("pq1/ivf_centroids.npy"); cb = np.load("pq1/pq_codebook.npy")
assert c.dtype == np.float32 and c.shape == (32, 32), c.shape
assert cb.dtype == np.float32 and cb.shape == (8, 256, 4), cb.shape
m = json.load(open("pq1/model.json"))
assert m["index_type"] == "ivf_pq" and m["dim"] == 32 and m["num_partitions"] == 32
# 65,536 wanted by PQ, capped at the 20,000 rows; the 25 non-finite rows are dropped.
assert s["sample_rows_planned"] == 20000 and s["rows_dropped_nonfinite"] == 25, s
assert s["sample_rows"] == 19975 and s["ivf_train_rows"] == 32 * 256, s
assert np.isfinite(c).all() and np.isfinite(cb).all()
obj = m["stats"]["ivf_objective_per_iteration"]
assert all(b <= a * (1 + 1e-9) for a, b in zip(obj, obj[1:])), obj
PY
pass "ivf_pq files load in NumPy with the documented shapes"

"$IVF" inspect pq1 | grep -q "8 sub-vectors x 256 centroids" && pass "inspect" || fail "inspect"
"$IVF" inspect pq1 --json | "$PY" -c 'import json,sys; json.load(sys.stdin)' && pass "inspect --json" \
  || fail "inspect --json"

"$IVF" -q train data --out sq --index-type ivf_sq --num-partitions 16 --sq-bounds per-dim
"$PY" -c 'import numpy as np; b=np.load("sq/sq_bounds.npy"); assert b.shape==(2,32) and (b[0]<=b[1]).all()' \
  && pass "ivf_sq per-dim bounds" || fail "ivf_sq bounds shape"
"$IVF" -q train data --out sqg --index-type ivf_sq --num-partitions 16 --num-bits 4
"$PY" -c 'import numpy as np; b=np.load("sqg/sq_bounds.npy"); assert b.shape==(2,) and b[0]<b[1]' \
  && pass "ivf_sq global bounds" || fail "ivf_sq global bounds"
"$IVF" -q train data --out flat --index-type ivf_flat --num-partitions 8 --distance-type dot \
  --init kmeans++
test -f flat/ivf_centroids.npy -a ! -e flat/pq_codebook.npy && pass "ivf_flat" || fail "ivf_flat"

# A fragment subset: only fragments 1 and 3 (5,000 rows each) are read.
"$IVF" -q train data --out sub --index-type ivf_flat --num-partitions 8 --fragments 1,3 --json > sub.json
"$PY" -c 'import json; s=json.load(open("sub.json")); assert s["rows_available"]==10000, s' \
  && pass "fragment subset" || fail "fragment subset"
# k-means|| under both its names: the same model, recorded as kmeans-parallel.
"$IVF" -q train data --out kp1 --index-type ivf_flat --num-partitions 8 --init kmeans-parallel
"$IVF" -q train data --out kp2 --index-type ivf_flat --num-partitions 8 --init 'kmeans||'
same_model kp1 kp2
"$PY" -c 'import json; m=json.load(open("kp1/model.json")); assert m["params"]["ivf"]["init"]=="kmeans-parallel", m["params"]' \
  && pass "k-means|| recorded" || fail "k-means|| not recorded in model.json"
finish
