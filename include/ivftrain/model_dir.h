// The model directory: trained models (models.h) as files that NumPy, Lance and FAISS users load.
//
// Written atomically (a temporary sibling directory, then a rename), it holds
//   model.json        index type, distance type, dim, partitions, PQ/SQ settings, SQ bounds,
//                     the parameters and seed, statistics, and (under "timings") seconds per
//                     phase;
//   ivf_centroids.npy float32 (num_partitions, dim);
//   pq_codebook.npy   float32 (num_sub_vectors, 2^num_bits, dim / num_sub_vectors)  [ivf_pq];
//   sq_bounds.npy     float32 (2,) global or (2, dim) per dimension, row 0 the lower bounds
//                     [ivf_sq].
// Same dataset, parameters and seed give byte-identical .npy files and a byte-identical
// model.json apart from its "timings" object, whatever the strategy, workers or threads.
#pragma once

#include <string>

#include "ivftrain/models.h"
#include "ivftrain/status.h"

namespace ivftrain {

// Writes the model directory atomically. An existing `dir` is an error unless `overwrite`; with
// it, the old directory is replaced only once the new one is complete, and only when it is a
// model directory ivftrain wrote (model.json and the arrays, nothing else): anything else at
// the path is refused, named, and left alone. The replacement is atomic on Linux file systems
// that can exchange two names (renameat2); elsewhere the old directory waits in a hidden
// sibling between two renames, and a run interrupted there leaves it for the next run to put
// back.
Status write_model_dir(const TrainedModels& models, const std::string& dir, bool overwrite);

// Checks `dir` as write_model_dir will, before any work: not empty (a trailing slash is
// ignored), its parent an existing writable directory, and, when it exists, `overwrite` given
// and a model directory ivftrain wrote. Stale staging directories of dead runs for `dir` are
// removed (and an interrupted replacement's old model put back) first.
Status check_model_dir_output(const std::string& dir, bool overwrite);

// Reads a model directory written by write_model_dir (parameters, arrays and statistics; the
// per-iteration objectives are read back too). A missing or malformed file is an error naming it.
Result<TrainedModels> read_model_dir(const std::string& dir);

// model.json's content, as a JSON text (for `inspect --json` and --json summaries).
std::string model_json(const TrainedModels& models);

}  // namespace ivftrain
