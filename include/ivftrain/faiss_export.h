// A trained model as a FAISS index file: `faiss.read_index(path)` loads it, and `add` then
// `search` work with no other step.
//
// The file is a trained, empty index in FAISS's own binary format (faiss/impl/index_write.cpp,
// read by FAISS 1.7.3 and later):
//   ivf_flat -> IndexIVFFlat;
//   ivf_pq   -> IndexIVFPQ, by_residual for l2 and cosine, not for dot (the codebook was trained
//               on residuals, or on the vectors themselves under dot);
//   ivf_sq   -> IndexIVFScalarQuantizer, by_residual false (SQ codes the vectors themselves):
//               global bounds as FAISS's uniform quantizer (QT_8bit_uniform, QT_4bit_uniform),
//               per-dimension bounds as its non-uniform one (QT_8bit, QT_4bit);
// with the centroids in an IndexFlatL2 quantizer (l2, cosine) or IndexFlatIP (dot). A cosine
// model is l2 on unit vectors (the IVF centroids are not unit vectors), so it becomes an l2
// index: normalise vectors before adding and searching.
//
// SQ bounds: ivftrain quantises as Lance does, code = round((x - lo) / (hi - lo) * L) with
// L = 2^bits - 1 and value lo + code (hi - lo) / L, while FAISS truncates,
// code = floor((x - vmin) / vdiff * L), and decodes to the middle of the cell,
// vmin + (code + 0.5) vdiff / L. With vmin = lo - (hi - lo) / (2 L) and vdiff = hi - lo the two
// give the same codes and the same values, so the exported index searches as `ivftrain eval`
// does; FAISS's trained array holds those (vmin, vdiff), not the bounds of sq_bounds.npy.
#pragma once

#include <string>

#include "ivftrain/models.h"
#include "ivftrain/status.h"

namespace ivftrain {

// The index file's bytes. A model FAISS cannot hold is refused with a sentence saying why.
Result<std::string> faiss_index_bytes(const TrainedModels& models);

// Writes the index file atomically (a temporary sibling, then a rename). An existing `path` is
// refused unless `overwrite`, and even then only when it is a FAISS IVF index file.
Status write_faiss_index(const TrainedModels& models, const std::string& path, bool overwrite);

}  // namespace ivftrain
