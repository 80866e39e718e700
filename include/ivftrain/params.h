// Training parameters. Defaults are Lance's (see ARCHITECTURE.md), so that a model trained here
// compares one to one with `create_index` there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ivftrain/kmeans.h"
#include "ivftrain/pq.h"
#include "ivftrain/sq.h"
#include "ivftrain/status.h"

namespace ivftrain {

enum class IndexType { kIvfFlat, kIvfPq, kIvfSq };
enum class DistanceType {
  kL2,      // squared Euclidean
  kCosine,  // vectors normalised to unit length, then l2 everywhere
  kDot      // inner product: assignment by largest dot product; PQ trained without residuals
};
struct IvfParams {
  // Number of coarse partitions (k). Required: >= 1 and <= the sample size.
  int64_t num_partitions = 0;
  // Rows sampled per partition: the IVF sample is sample_rate * num_partitions. Lance: 256.
  int64_t sample_rate = 256;
  // The IVF k-means: max_iters, tolerance, init, algorithm and balance are used as given.
  // metric, seed and num_threads are set by the trainer from TrainParams (distance_type, seed,
  // num_threads); the values here are ignored. balance must be 0 under dot: the largest inner
  // product goes to the longest centroids, whatever their place.
  KMeansParams kmeans;
};

struct TrainParams {
  IndexType index_type = IndexType::kIvfPq;
  DistanceType distance_type = DistanceType::kL2;
  IvfParams ivf;
  PqParams pq;  // kIvfPq only; pq.kmeans.seed and num_threads are set by the trainer
  SqParams sq;  // kIvfSq only
  // Seeds every random choice (sample, initial centroids, empty-cluster splits).
  uint64_t seed = 42;
  // Worker threads; 0 uses all cores; at most kMaxThreads. The result does not depend on it.
  int num_threads = 0;
};

// More threads than any machine this runs on has cores; a larger count is a typing mistake (and
// OpenMP would try to allocate a stack for each).
inline constexpr int kMaxThreads = 4096;

// Checks parameters that do not depend on the data (and the dimension when dim > 0).
// The message names the parameter as Lance's create_index does, e.g. "num_sub_vectors 12 does
// not divide the dimension 128" (the command line's flags carry the same names).
Status validate(const TrainParams& params, int64_t dim);

// Rows the trainers want: max of the IVF need and the PQ or SQ need (before capping at the rows
// available).
int64_t sample_rows_wanted(const TrainParams& params);
int64_t ivf_sample_rows(const TrainParams& params);
int64_t quantizer_sample_rows(const TrainParams& params);  // 0 for ivf_flat

// A fingerprint of every parameter that shapes the model (not num_threads): what ties a plan's
// tasks and sample results to the parameters they were made with.
uint64_t params_fingerprint(const TrainParams& params);

std::string_view to_string(IndexType t);
std::string_view to_string(DistanceType t);
Result<IndexType> parse_index_type(std::string_view s);
Result<DistanceType> parse_distance_type(std::string_view s);

}  // namespace ivftrain
