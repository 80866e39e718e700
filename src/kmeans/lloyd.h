// The building blocks kmeans_train combines: flat Lloyd, hierarchical k-means and balancing.
// Each returns the centroids together with the labels of its last assignment, so that the
// next stage (balancing, or the refinement of hierarchical k-means) need not assign again.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "ivftrain/kmeans.h"

namespace ivftrain {

struct KMeansRun {
  KMeansResult result;
  std::vector<int32_t> labels;  // n: each row's centroid in the last assignment
};

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The record of one iteration that started at `start` and whose assignment (the one that gave
// `objective`) started at `assign_start`.
inline KMeansIteration iteration_record(double objective, Clock::time_point start,
                                        Clock::time_point assign_start, int64_t split) {
  KMeansIteration it;
  it.objective = objective;
  it.assign_seconds = seconds_since(assign_start);
  it.seconds = seconds_since(start);
  it.empty_clusters_split = split;
  return it;
}

// Lloyd's k-means over all k centroids (params.algorithm and params.balance are ignored).
// Parameters must have been validated.
KMeansRun flat_kmeans(int64_t n, int64_t d, const float* x, const KMeansParams& params);

// Hierarchical k-means (see KMeansAlgorithm::kHierarchical and hierarchical.cc). Falls back to
// flat_kmeans when k is too small for groups to help.
KMeansRun hierarchical_kmeans(int64_t n, int64_t d, const float* x, const KMeansParams& params);

}  // namespace ivftrain
