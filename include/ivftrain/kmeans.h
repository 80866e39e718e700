// k-means: the one clustering primitive, used by IVF and by each PQ sub-space.
//
// Data is row-major: x is n x d float32, centroids are k x d float32.
// Assignment uses ||x||^2 + ||c||^2 - 2 x.c computed with blocked SGEMM and a fused argmin, so no
// n x k distance matrix is ever held. Block boundaries are fixed and every reduction runs in a
// fixed order, so for a given seed the result is bit-identical whatever the thread count.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ivftrain/metric.h"
#include "ivftrain/status.h"

namespace ivftrain {

enum class KMeansInit {
  kRandom,          // k distinct rows chosen by the seed (Lance, FAISS)
  kKMeansPlusPlus,  // k-means++ seeding: a slower start, usually fewer iterations
  kKMeansParallel   // k-means|| (Bahmani et al. 2012): k-means++'s spread in 5 passes over the
                    // rows instead of k, and sharded under MPI ("kmeans-parallel" or "kmeans||")
};

enum class KMeansAlgorithm {
  kFlat,         // Lloyd's k-means over all k centroids (Lance's and FAISS's default)
  kHierarchical  // coarse k-means into ~sqrt(k) groups, then k-means inside each group with a
                 // share of k proportional to its size, then a few refining Lloyd iterations
                 // over all k (as cuVS's balanced hierarchical k-means); for large k
};

// How to cluster: FAISS's ClusteringParameters. The number of clusters k is an argument of
// kmeans_train, as FAISS's Clustering takes it; IVF and PQ nest these parameters.
struct KMeansParams {
  // Lloyd iterations at most; >= 1. Lance: 50.
  int max_iters = 50;
  // Stop when the objective improves by less than this fraction (|prev - obj| / |prev|);
  // 0 runs all max_iters iterations. Lance: 1e-4.
  double tolerance = 1e-4;
  KMeansInit init = KMeansInit::kRandom;
  // Hierarchical: the coarse and the per-group k-means each run up to max_iters iterations;
  // KMeansResult::iterations then holds one entry for the grouped result and one per refinement
  // iteration (2), whose assignment looks only at the centroids of each row's 8 nearest groups
  // (so the objective reported is an upper bound of the nearest-centroid one).
  KMeansAlgorithm algorithm = KMeansAlgorithm::kFlat;
  // 0 (off), or > 1: after the iterations, adjust the centroids until no cluster of the
  // nearest-centroid assignment holds more than max(floor(balance * n / k), ceil(n / k)) rows
  // (l2 only). KMeansResult::objective is then that of the balanced centroids' assignment.
  double balance = 0;
  Metric metric = Metric::kL2;
  // Between Lloyd's updates, move a centroid whose rows would cost little on a neighbour's to
  // split a cluster whose error is large, as an empty cluster is refilled (l2 only; flat k-means
  // and the groups of hierarchical k-means; see plan_splits in src/kmeans/update.h). From a
  // random start this ends far below Lloyd's objective (README, "Quality"). false: Lloyd's
  // iterations alone, as FAISS, scikit-learn and Lance run them.
  bool relocate = true;
  // Seeds the initial centroids and the empty-cluster splits.
  uint64_t seed = 42;
  // Threads; 0 uses all cores. The result does not depend on it.
  int num_threads = 0;
};

struct KMeansIteration {
  double objective = 0;  // sum of squared distances (l2) or of -inner products (dot)
  double seconds = 0;
  double assign_seconds = 0;  // the part of `seconds` spent assigning rows to centroids
  // Clusters refilled after this iteration's update: the empty ones and the relocated ones.
  int64_t empty_clusters_split = 0;
  // Rows whose distances to every candidate centroid the assignment computed; the bounds
  // of flat k-means settle the others from the second iteration on without computing them.
  int64_t rows_computed = 0;
  // Of those, the rows searched with exact dimension pruning (a partial product over the rows'
  // leading principal axes, then only the centroids it cannot rule out: same labels).
  int64_t rows_pruned = 0;
};

struct KMeansResult {
  int64_t k = 0, d = 0;
  std::vector<float> centroids;  // k x d
  std::vector<KMeansIteration> iterations;
  double objective = 0;  // of the final centroids' assignment (last iteration's)
};

// Checks the parameters alone (no data); errors name the field, e.g. "max_iters must be at
// least 1 (got 0)".
Status validate(const KMeansParams& params);

// Trains k-means with k clusters on x (n x d). Errors: k outside [1, n], d < 1, and the
// parameter errors of validate().
Result<KMeansResult> kmeans_train(int64_t n, int64_t d, const float* x, int64_t k,
                                  const KMeansParams& params);

// Assigns each row of x to its nearest centroid (or largest inner product). labels[i] and
// distances[i] (squared l2, or -inner product) are written for i in [0, n); distances may be
// null. Deterministic whatever the thread count.
//
// Threads: ivftrain runs its own OpenMP threads and calls OpenBLAS single-threaded from each
// (OpenBLAS 0.3.21 has no per-thread setting, and more OpenBLAS threads would change the bits).
// While this call or a training call runs SGEMM, OpenBLAS's process-wide thread count is 1; it
// is set back to its previous value afterwards. Do not change it (openblas_set_num_threads) from
// another thread while an ivftrain call runs; BLAS calls made meanwhile by other threads of the
// process run single-threaded.
void kmeans_assign(int64_t n, int64_t d, const float* x, int64_t k, const float* centroids,
                   Metric metric, int32_t* labels, float* distances, int num_threads = 0);

std::string_view to_string(KMeansInit t);
std::string_view to_string(KMeansAlgorithm t);
Result<KMeansInit> parse_kmeans_init(std::string_view s);
Result<KMeansAlgorithm> parse_kmeans_algorithm(std::string_view s);

}  // namespace ivftrain
