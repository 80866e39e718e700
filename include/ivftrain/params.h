// Training parameters. Defaults are Lance's (see ARCHITECTURE.md), so that a model trained here
// compares one to one with `create_index` there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ivftrain/status.h"

namespace ivftrain {

enum class IndexType { kIvfFlat, kIvfPq, kIvfSq };
enum class DistanceType {
  kL2,      // squared Euclidean
  kCosine,  // vectors normalised to unit length, then l2 everywhere
  kDot      // inner product: assignment by largest dot product; PQ trained without residuals
};
enum class KMeansInit { kRandom, kKMeansPlusPlus };
enum class KMeansAlgorithm {
  kFlat,         // Lloyd's k-means over all k centroids (Lance's and FAISS's default)
  kHierarchical  // coarse k-means into ~sqrt(k) groups, then k-means inside each group with a
                 // share of k proportional to its size, then a few refining Lloyd iterations
                 // over all k (as cuVS's balanced hierarchical k-means); for large k
};
enum class SqBoundsMode { kGlobal, kPerDimension };

struct IvfParams {
  // Number of coarse partitions (k). Required: >= 1 and <= the sample size.
  int64_t num_partitions = 0;
  // Lloyd iterations at most. Lance: 50.
  int max_iters = 50;
  // Rows sampled per partition: the IVF sample is sample_rate * num_partitions. Lance: 256.
  int64_t sample_rate = 256;
  // Stop when |obj_prev - obj| / obj_prev < tolerance; 0 runs all max_iters. Lance: 1e-4.
  double tolerance = 1e-4;
  // Random rows as initial centroids (Lance, FAISS), or k-means++ (slower start, fewer iters).
  KMeansInit init = KMeansInit::kRandom;
  // Flat (default) or hierarchical k-means; hierarchical trains large k (thousands) many times
  // faster at a slightly higher objective.
  KMeansAlgorithm algorithm = KMeansAlgorithm::kFlat;
  // When > 0, the centroids are adjusted after training until assigning every sample row to its
  // nearest centroid (as an index does) puts at most balance x the mean (rows / k) in any
  // partition: oversized partitions are cut in pieces by a small k-means, and the smallest
  // partitions give up their centroid for the pieces. Rows from the same distribution land as
  // evenly; the bound is exact on the sample. 0 (default) does not balance. Must be 0 or > 1;
  // l2 and cosine only (under dot, long centroids win whatever their place).
  double balance = 0;
};

struct PqParams {
  // Sub-vectors per vector; must divide the dimension. Lance: 16.
  int64_t num_sub_vectors = 16;
  // Bits per code: 4 or 8 (16 or 256 centroids per sub-space). Lance: 8.
  int num_bits = 8;
  int max_iters = 50;
  // PQ sample: sample_rate * 2^num_bits rows. Lance: 256.
  int64_t sample_rate = 256;
  double tolerance = 1e-4;
};

struct SqParams {
  // Bits per dimension: 4 or 8. Lance: 8.
  int num_bits = 8;
  // SQ sample: sample_rate * 2^num_bits rows. Lance: 256.
  int64_t sample_rate = 256;
  // One global min/max over all dimensions (Lance), or one per dimension.
  SqBoundsMode bounds = SqBoundsMode::kGlobal;
};

struct TrainParams {
  IndexType index_type = IndexType::kIvfPq;
  DistanceType distance_type = DistanceType::kL2;
  IvfParams ivf;
  PqParams pq;  // used by kIvfPq only
  SqParams sq;  // used by kIvfSq only
  // Seeds every random choice (sample, initial centroids, empty-cluster splits).
  uint64_t seed = 42;
  // Worker threads; 0 uses all cores. The result does not depend on it.
  int num_threads = 0;
};

// Checks parameters that do not depend on the data (and the dimension when dim > 0).
// The message names the parameter, e.g. "--num-sub-vectors 12 does not divide dimension 128".
Status validate(const TrainParams& params, int64_t dim);

// Rows the trainers want: max of the IVF need and the PQ or SQ need (before capping at the rows
// available).
int64_t sample_rows_wanted(const TrainParams& params);
int64_t ivf_sample_rows(const TrainParams& params);
int64_t quantizer_sample_rows(const TrainParams& params);  // 0 for ivf_flat

std::string_view to_string(IndexType t);
std::string_view to_string(DistanceType t);
std::string_view to_string(KMeansInit t);
std::string_view to_string(SqBoundsMode t);
std::string_view to_string(KMeansAlgorithm t);
Result<IndexType> parse_index_type(std::string_view s);
Result<DistanceType> parse_distance_type(std::string_view s);
Result<KMeansInit> parse_kmeans_init(std::string_view s);
Result<SqBoundsMode> parse_sq_bounds_mode(std::string_view s);
Result<KMeansAlgorithm> parse_kmeans_algorithm(std::string_view s);

}  // namespace ivftrain
