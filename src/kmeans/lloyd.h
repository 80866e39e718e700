// The building blocks kmeans_train combines: flat Lloyd, hierarchical k-means and balancing.
// Each returns the centroids together with the labels of its last assignment, so that the
// next stage (balancing, or the refinement of hierarchical k-means) need not assign again.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/kmeans.h"
#include "util/clock.h"

namespace ivftrain {

// FAISS warns below 39 rows per centroid: fewer make the centroids noisy.
inline constexpr int64_t kMinRowsPerCentroid = 39;

// How a k-means run names itself in the log: the library's own callers (IVF, each PQ
// sub-space, the groups of hierarchical k-means) say more than a user's kmeans_train call.
struct KMeansLog {
  std::string label = "kmeans";  // names the run in log lines ("ivf", "pq[3]")
  // Every iteration and the summary at info level (IVF); otherwise at debug level, so that
  // PQ's many sub-space runs stay quiet unless asked for.
  bool verbose = false;
  // Warn when there are fewer than 39 rows per centroid (FAISS's threshold). PQ warns once for
  // all its sub-spaces instead.
  bool warn_few_rows = true;
};

// kmeans_train with the run named for the log.
Result<KMeansResult> kmeans_train_logged(int64_t n, int64_t d, const float* x, int64_t k,
                                         const KMeansParams& params, const KMeansLog& log_as);

struct KMeansRun {
  KMeansResult result;
  std::vector<int32_t> labels;  // n: each row's centroid in the last assignment
};

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
KMeansRun flat_kmeans(int64_t n, int64_t d, const float* x, int64_t k, const KMeansParams& params,
                      const KMeansLog& log_as);

// Hierarchical k-means (see KMeansAlgorithm::kHierarchical and hierarchical.cc). Falls back to
// flat_kmeans when k is too small for groups to help.
KMeansRun hierarchical_kmeans(int64_t n, int64_t d, const float* x, int64_t k,
                              const KMeansParams& params, const KMeansLog& log_as);

}  // namespace ivftrain
