// Trained models and the model directory.
//
// The model directory (written atomically: a temporary sibling directory, then a rename):
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

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ivftrain/kmeans.h"
#include "ivftrain/params.h"
#include "ivftrain/pq.h"
#include "ivftrain/sq.h"
#include "ivftrain/status.h"

namespace ivftrain {

struct TrainingStats {
  int64_t rows_available = 0;          // rows in the selected fragments
  int64_t fragments_used = 0;          // selected fragments
  int64_t sample_rows_planned = 0;     // min(sample_rows_wanted, rows_available)
  int64_t rows_read = 0;               // rows read by the samplers
  int64_t rows_dropped_nonfinite = 0;  // rows holding NaN or Inf
  int64_t rows_dropped_zero_norm = 0;  // zero vectors under cosine (cannot be normalised)
  int64_t sample_rows = 0;             // rows kept after dropping
  int64_t ivf_train_rows = 0;          // rows the IVF k-means trained on
  int64_t quantizer_train_rows = 0;    // rows the PQ k-means trained on, or the SQ bounds saw
  std::vector<KMeansIteration> ivf_iterations;
  double ivf_objective = 0;            // final IVF objective (sum over ivf_train_rows)
  double pq_reconstruction_mse = 0;    // on the PQ training rows, for ivf_pq
};

struct PhaseTimings {
  double sample_seconds = 0, ivf_seconds = 0, quantizer_seconds = 0, total_seconds = 0;
};

struct TrainedModels {
  TrainParams params;
  int64_t dim = 0;
  std::vector<float> ivf_centroids;  // num_partitions x dim
  std::optional<PqCodebook> pq;      // ivf_pq
  std::optional<SqBounds> sq;        // ivf_sq
  TrainingStats stats;
  PhaseTimings timings;
};

// Writes the model directory atomically. An existing `dir` is an error unless `overwrite`; with
// it, the old directory is replaced only once the new one is complete.
Status write_model_dir(const TrainedModels& models, const std::string& dir, bool overwrite);

// Reads a model directory written by write_model_dir (parameters, arrays and statistics; the
// per-iteration objectives are read back too).
Result<TrainedModels> read_model_dir(const std::string& dir);

// model.json's content, as a JSON text (for `inspect --json` and --json summaries).
std::string model_json(const TrainedModels& models);

}  // namespace ivftrain
