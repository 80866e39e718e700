// Training on an in-memory sample: the step shared by train_local and train_from_samples.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/models.h"

namespace ivftrain {

// Trains IVF, then PQ (on residuals for l2/cosine) or takes the SQ bounds, from `sample`
// (rows x dim, canonical order, already normalised for cosine). IVF and PQ each train on a
// seeded subset when the sample holds more rows than they want (sample_rate x k). The sample is
// consumed: its memory is released before PQ training starts. `models.stats` must already hold
// the sampling statistics; `sq_bounds` are the merged bounds of the whole sample.
Status train_on_sample(std::vector<float> sample, int64_t rows, SqBounds sq_bounds,
                       TrainedModels& models);

// The pieces of train_on_sample that sharded training (mpi/, and pipeline/rounds.cc through
// files) runs on its own: the refusal of a sample whose largest squared row norm (that of sample
// row `row`, holding `largest_value`) would overflow float32 distances; PQ (or nothing, for
// ivf_sq) on x's rows once models.ivf_centroids is set; and the final check that every number of
// the model is finite.
Status check_largest_norm(double squared_norm, int64_t row, float largest_value);
Status train_pq_on_rows(std::vector<float> x, TrainedModels& models);
Status check_models_finite(const TrainedModels& models);
// The rows (sorted indices into the canonical sample of `rows` rows) a trainer wanting `wanted`
// rows uses, chosen from `seed` for `purpose` (kSeedIvfSubset, kSeedPqSubset); empty means all.
std::vector<int64_t> training_subset(int64_t rows, int64_t wanted, uint64_t seed, uint64_t purpose);
// PQ's parameters as train_on_sample trains it (the seed derived from the run's, the threads).
PqParams pq_train_params(const TrainParams& params);
// The rows PQ trains on, in place: x's rows (rows x dim) become their residuals against
// models.ivf_centroids under l2 and cosine, as Lance and FAISS train IVF_PQ; under dot x stays.
// `nearest` (one per row, or empty: assigned here) gives each row's nearest IVF centroid.
void pq_residuals_in_place(std::vector<float>& x, const TrainedModels& models,
                           std::vector<int32_t> nearest = {});
// The IVF k-means parameters train_on_sample trains with.
KMeansParams ivf_kmeans_params(const TrainParams& params);
// Distinct rows among the first rows of x, counting no further than `enough`.
int64_t count_distinct_rows(const float* x, int64_t rows, int64_t dim, int64_t enough);
// The hashes (XXH3 of the row's bytes, ascending) count_distinct_rows counts: shards' hashes
// united give the count over all their rows.
std::vector<uint64_t> distinct_row_hashes(const float* x, int64_t rows, int64_t dim,
                                          int64_t enough);

}  // namespace ivftrain
