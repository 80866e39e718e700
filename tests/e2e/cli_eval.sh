# ivftrain eval end to end: an ann-benchmarks HDF5 file (train, test, neighbors) made here,
# held-out queries, --json, the same report for any thread count, and bad inputs with their
# sentences.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen all.npy --rows 6100 --dim 16 --clusters 24 --seed 4
"$PY" - <<'PY'
import h5py, numpy as np
x = np.load("all.npy")
train, test = x[:6000], x[6000:]
d = ((test[:, None, :] - train[None, :, :]) ** 2).sum(-1)
neighbors = np.argsort(d, axis=1, kind="stable")[:, :100].astype(np.int32)
with h5py.File("ann.hdf5", "w") as f:
    f["train"], f["test"], f["neighbors"] = train, test, neighbors
    f["distances"] = np.take_along_axis(d, neighbors, 1).astype(np.float32)
np.save("train.npy", train); np.save("test.npy", test)
PY
"$IVF" -q train ann.hdf5 --out model --index-type ivf_pq --num-partitions 16 --num-sub-vectors 4 \
  2>/dev/null
"$IVF" -q eval model ann.hdf5 --k 1,10,100 --json > ann.json || fail "eval of the HDF5 file"
"$IVF" -q eval model train.npy --queries test.npy --k 1,10,100 --json --threads 1 > exact.json \
  || fail "eval with --queries"
"$IVF" -q eval model train.npy --queries test.npy --k 1,10,100 --json --threads 2 > exact2.json \
  || fail "eval with --queries, 2 threads"
"$PY" - <<'PY' || fail "the HDF5 report is wrong"
import json
a, e, e2 = (json.load(open(p)) for p in ("ann.json", "exact.json", "exact2.json"))
assert a["format"] == "ivftrain-eval" and a["ground_truth"] == "file", a["ground_truth"]
assert e["ground_truth"] == "exact" and a["base_rows"] == 6000 and a["num_queries"] == 100
# Default nprobes: 1, 2, 4, 8, 16 (all 16 partitions).
assert [p["nprobe"] for p in a["probes"]] == [1, 2, 4, 8, 16], a["probes"]
assert a["probes"][-1]["vectors_scanned"] == 6000
for pa, pe in zip(a["probes"], e["probes"]):
    # The file's neighbors are the exact ones: the same recall as exact search.
    assert pa["recall"] == pe["recall"], (pa, pe)
    assert pa["vectors_scanned"] == pe["vectors_scanned"]
for key in ("partitions", "quantization", "k", "dim", "num_partitions"):
    assert a[key] == e[key], key
strip = lambda r: [{k: v for k, v in p.items() if k != "queries_per_second"} for p in r["probes"]]
assert strip(e) == strip(e2), "the thread count changed the report"
rec = [p["recall"]["10"] for p in a["probes"]]
assert all(b >= a_ for a_, b in zip(rec, rec[1:])) and rec[0] > 0.2, rec
part = a["partitions"]
assert sum(part["histogram"]) == 16 and part["largest"] >= part["mean"] > 0
assert a["quantization"]["pq_reconstruction_mse"] > 0
PY
pass "an ann-benchmarks HDF5 file evaluated end to end (its neighbors equal exact search)"

# Held-out queries: drawn by seed, left out of the base; the same seed gives the same report.
"$IVF" -q eval model train.npy --num-queries 50 --seed 3 --json --nprobe 2 > h1.json
"$IVF" -q eval model train.npy --num-queries 50 --seed 3 --json --nprobe 2 --threads 1 > h2.json
"$PY" -c '
import json
a, b = json.load(open("h1.json")), json.load(open("h2.json"))
assert a["base_rows"] == 5950 and a["num_queries"] == 50, a
assert a["probes"][0]["recall"] == b["probes"][0]["recall"]' \
  && pass "held-out queries" || fail "held-out queries"
# A fragment subset as the base; held-out queries come from those fragments only.
"$IVF" -q gen dir --rows 4000 --dim 16 --clusters 8 --fragments 4
"$IVF" -q eval model dir --fragments 1,3 --num-queries 20 --nprobe 16 --k 100 --json > frag.json
"$PY" -c '
import json
r = json.load(open("frag.json"))
assert r["base_rows"] == 1980 and r["probes"][0]["vectors_scanned"] == 1980, r' \
  && pass "a fragment subset as the base" || fail "fragment subset"
"$IVF" -q eval model train.npy --queries test.npy --nprobe 4 | grep -q "recall@10" \
  && pass "the table" || fail "the table"
"$IVF" -q train train.npy --out sq --index-type ivf_sq --num-partitions 8 --num-bits 4 2>/dev/null
"$IVF" -q eval sq train.npy --queries test.npy --json | "$PY" -c '
import json, sys
q = json.load(sys.stdin)["quantization"]
assert q["sq_quantization_mse"] > 0 and 0 <= q["sq_clipped_fraction"] < 0.01, q' \
  && pass "SQ quantisation error and clipped fraction" || fail "SQ quantisation report"

# Bad inputs.
"$PY" -c 'import numpy as np; np.save("q8.npy", np.zeros((5, 8), np.float32))'
expect_error "the queries have dimension 8, the model 16" \
  "$IVF" eval model train.npy --queries q8.npy
expect_error "--nprobe 0 is outside [1, 16]: the model has 16 partitions" "$IVF" eval model train.npy --queries test.npy --nprobe 0
expect_error "--nprobe 17 is outside [1, 16]" "$IVF" eval model train.npy --queries test.npy --nprobe 17
expect_error "--k 7000 is more than the 6000 vectors of the base" \
  "$IVF" eval model train.npy --queries test.npy --k 7000
expect_error "--k 101 is more than the 100 neighbors" "$IVF" eval model ann.hdf5 --k 101
expect_error "evaluate them without --fragments" "$IVF" eval model ann.hdf5 --fragments 0
expect_error "--k 'a': 'a' is not a number" "$IVF" eval model train.npy --queries test.npy --k a
expect_error "missing is not a model directory" "$IVF" eval missing train.npy --queries test.npy
rm model/ivf_centroids.npy
expect_error "ivf_centroids.npy" "$IVF" eval model train.npy --queries test.npy
expect_error "give the queries" "$IVF" eval sq train.npy
expect_error "not both" "$IVF" eval sq train.npy --queries test.npy --num-queries 5
expect_error "--num-queries 6000 must be at least 1 and fewer than the 6000 rows" \
  "$IVF" eval sq train.npy --num-queries 6000
expect_error "the base q8.npy has dimension 8, the model 16" "$IVF" eval sq q8.npy --queries test.npy
finish
