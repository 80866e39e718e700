# `ivftrain export --faiss` against FAISS itself (Debian's python3-faiss): every kind of model
# loads with faiss.read_index, holds our arrays, is byte for byte the index FAISS writes when
# assembled by hand from the .npy files, and `add` then `search` work. Skipped (77) without FAISS.
source "$(dirname "$0")/../e2e/lib.sh" "$@"
if ! "$PY" -c 'import faiss' 2>/dev/null; then
  echo "skipped: $PY cannot import faiss (apt-get install python3-faiss)"
  exit 77
fi

"$IVF" -q gen data.npy --rows 6000 --dim 32 --clusters 30 --seed 5
train() { "$IVF" -q train data.npy --out "$@" --num-partitions 24 --max-iters 10 2>/dev/null; }
train pq --index-type ivf_pq --num-sub-vectors 8
train pqdot --index-type ivf_pq --num-sub-vectors 16 --num-bits 4 --distance-type dot
train pqcos --index-type ivf_pq --num-sub-vectors 8 --distance-type cosine
train sq8 --index-type ivf_sq
train sq4dim --index-type ivf_sq --num-bits 4 --sq-bounds per-dim --distance-type cosine
train sqdot --index-type ivf_sq --sq-bounds per-dim --distance-type dot
train flat --index-type ivf_flat
train flatdot --index-type ivf_flat --distance-type dot
for m in pq pqdot pqcos sq8 sq4dim sqdot flat flatdot; do
  "$IVF" -q export "$m" --faiss "$m.faiss" || fail "export $m"
done

"$PY" - <<'PY' || fail "FAISS does not read the exported indexes as assembled by hand"
import json
import faiss, numpy as np
x = np.load("data.npy")
for m in ["pq", "pqdot", "pqcos", "sq8", "sq4dim", "sqdot", "flat", "flatdot"]:
    meta = json.load(open(f"{m}/model.json"))
    c = np.load(f"{m}/ivf_centroids.npy")
    k, d = c.shape
    ip = meta["distance_type"] == "dot"
    metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    # The index as a FAISS user would assemble it from our arrays.
    q = faiss.IndexFlatIP(d) if ip else faiss.IndexFlatL2(d)
    q.add(c)
    if meta["index_type"] == "ivf_flat":
        ref = faiss.IndexIVFFlat(q, d, k, metric)
    elif meta["index_type"] == "ivf_pq":
        cb = np.load(f"{m}/pq_codebook.npy")
        ref = faiss.IndexIVFPQ(q, d, k, cb.shape[0], meta["num_bits"], metric)
        ref.by_residual = not ip
        faiss.copy_array_to_vector(cb.ravel(), ref.pq.centroids)
    else:
        b = np.load(f"{m}/sq_bounds.npy")
        bits, uniform = meta["num_bits"], b.ndim == 1
        qt = {(8, True): faiss.ScalarQuantizer.QT_8bit_uniform, (4, True): faiss.ScalarQuantizer.QT_4bit_uniform,
              (8, False): faiss.ScalarQuantizer.QT_8bit, (4, False): faiss.ScalarQuantizer.QT_4bit}[bits, uniform]
        ref = faiss.IndexIVFScalarQuantizer(q, d, k, qt, metric, False)
        # FAISS decodes to the middle of a cell: vmin half a step below ours (faiss_export.h).
        rng = (b[1] - b[0]).astype(np.float32)
        vmin = (b[0] - rng / np.float32(2 * (2 ** bits - 1))).astype(np.float32)
        faiss.copy_array_to_vector(np.concatenate([vmin.ravel(), rng.ravel()]), ref.sq.trained)
    ref.is_trained = True
    ours = open(f"{m}.faiss", "rb").read()
    theirs = faiss.serialize_index(ref).tobytes()
    assert ours == theirs, f"{m}: {len(ours)} bytes differ from FAISS's {len(theirs)}"

    idx = faiss.read_index(f"{m}.faiss")
    assert idx.is_trained and idx.ntotal == 0 and idx.nlist == k and idx.metric_type == metric, m
    np.testing.assert_array_equal(idx.quantizer.reconstruct_n(0, k), c)
    if meta["index_type"] == "ivf_pq":
        pq = faiss.downcast_index(idx).pq
        got = faiss.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub)
        np.testing.assert_array_equal(got, np.load(f"{m}/pq_codebook.npy"))
        assert faiss.downcast_index(idx).by_residual == (not ip), m
    if meta["index_type"] == "ivf_sq":
        # The values FAISS decodes to are ours: lo + code (hi - lo) / L; code 0 is the lower bound.
        sq = faiss.downcast_index(idx).sq
        b = np.load(f"{m}/sq_bounds.npy")
        lo = np.broadcast_to(b[0], (d,)).astype(np.float32)
        hi = np.broadcast_to(b[1], (d,)).astype(np.float32)
        dec = sq.decode(sq.compute_codes(np.stack([lo, hi])))
        np.testing.assert_allclose(dec[0], lo, atol=1e-5 * np.abs(hi - lo).max())
        np.testing.assert_allclose(dec[1], hi, atol=1e-5 * np.abs(hi - lo).max())
    xs = x / np.linalg.norm(x, axis=1, keepdims=True) if meta["distance_type"] == "cosine" else x
    idx.add(xs)
    ref.add(xs)
    idx.nprobe = ref.nprobe = 4
    D1, I1 = idx.search(xs[:50], 10)
    D2, I2 = ref.search(xs[:50], 10)
    assert (I1 >= 0).all() and idx.ntotal == len(x), m
    np.testing.assert_array_equal(I1, I2)
    if meta["distance_type"] != "dot" and meta["index_type"] != "ivf_pq":
        assert (I1[:, 0] == np.arange(50)).mean() > 0.9, m  # a base row finds itself
    print("ok:", m, type(idx).__name__)
PY
pass "8 exported models load in FAISS, equal the indexes assembled by hand, add and search"

# Outputs: atomic, refused when present (without --overwrite) or not a FAISS index (with it).
expect_error "already exists" "$IVF" export pq --faiss pq.faiss
"$IVF" -q export pq --faiss pq.faiss --overwrite && pass "--overwrite replaces an index file" \
  || fail "--overwrite of an index file"
echo "not an index" > notes.txt
expect_error "not a FAISS IVF index file" "$IVF" export pq --faiss notes.txt --overwrite
grep -q "not an index" notes.txt && pass "notes.txt left alone" || fail "notes.txt was replaced"
expect_error "missing" "$IVF" export missing --faiss out.faiss
test ! -e out.faiss && pass "nothing written for a missing model" || fail "out.faiss written"
finish
