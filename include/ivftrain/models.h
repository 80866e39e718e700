// Trained models: the IVF centroids, the PQ codebook or SQ bounds, the parameters that made
// them, and statistics and timings of the run. model_dir.h writes and reads them as files.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ivftrain/kmeans.h"
#include "ivftrain/params.h"
#include "ivftrain/pq.h"
#include "ivftrain/sq.h"

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
  double ivf_objective = 0;          // final IVF objective (sum over ivf_train_rows)
  double pq_reconstruction_mse = 0;  // on the PQ training rows, for ivf_pq

  // The IVF k-means' mean squared distance to the nearest centroid (0 without training rows).
  double ivf_mse() const {
    return ivf_train_rows ? ivf_objective / static_cast<double>(ivf_train_rows) : 0.0;
  }
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

}  // namespace ivftrain
