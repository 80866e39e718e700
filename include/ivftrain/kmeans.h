// k-means: the one clustering primitive, used by IVF and by each PQ sub-space.
//
// Data is row-major: x is n x d float32, centroids are k x d float32.
// Assignment uses ||x||^2 + ||c||^2 - 2 x.c computed with blocked SGEMM and a fused argmin, so no
// n x k distance matrix is ever held. Block boundaries are fixed and every reduction runs in a
// fixed order, so for a given seed the result is bit-identical whatever the thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/params.h"
#include "ivftrain/status.h"

namespace ivftrain {

// What "nearest" means for assignment: the smallest squared l2 distance, or the largest inner
// product (dot distance). Cosine is l2 on normalised vectors.
enum class Metric { kL2, kInnerProduct };

struct KMeansParams {
  int64_t k = 0;          // clusters; 1 <= k <= n
  int max_iters = 50;     // Lloyd iterations at most (>= 1)
  double tolerance = 1e-4;  // relative objective change to stop at; 0 disables early stop
  KMeansInit init = KMeansInit::kRandom;
  // See IvfParams::algorithm. Hierarchical: the coarse and the per-group k-means each run up to
  // max_iters iterations; `iterations` then holds one entry for the grouped result and one per
  // refinement iteration (2), whose assignment looks only at the centroids of each row's 8
  // nearest groups (so the objective reported is an upper bound of the nearest-centroid one).
  KMeansAlgorithm algorithm = KMeansAlgorithm::kFlat;
  // See IvfParams::balance: 0 off, else > 1 (l2 only). Applied after the iterations;
  // `objective` is then that of the balanced centroids' nearest-centroid assignment (not of
  // iterations.back()). The cap is max(floor(balance * n / k), ceil(n / k)).
  double balance = 0;
  // Assign to the largest inner product instead of the smallest l2 distance (dot distance).
  bool inner_product = false;
  uint64_t seed = 42;
  int num_threads = 0;  // 0: all cores
  std::string label = "kmeans";  // names this run in log lines ("ivf", "pq[3]")
  // Log every iteration and the summary at info level (IVF); otherwise at debug level, so that
  // PQ's many sub-space runs stay quiet unless asked for.
  bool verbose = false;
  // Warn when there are fewer than 39 rows per centroid (FAISS's threshold). PQ warns once for
  // all its sub-spaces instead.
  bool warn_few_rows = true;
};

struct KMeansIteration {
  double objective = 0;  // sum of squared distances (l2) or of -inner products (dot)
  double seconds = 0;
  double assign_seconds = 0;  // the part of `seconds` spent assigning rows to centroids
  int64_t empty_clusters_split = 0;  // empty clusters refilled after this iteration's update
};

struct KMeansResult {
  int64_t k = 0, d = 0;
  std::vector<float> centroids;  // k x d
  std::vector<KMeansIteration> iterations;
  double objective = 0;  // of the final centroids' assignment (last iteration's)
};

// Trains k-means on x (n x d). Errors: k outside [1, n], d < 1, max_iters < 1.
Result<KMeansResult> kmeans_train(int64_t n, int64_t d, const float* x, const KMeansParams& params);

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

}  // namespace ivftrain
