#include "ivftrain/kmeans.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "util/log.h"
#include "kmeans/cap_sizes.h"
#include "kmeans/bounded_assign.h"
#include "kmeans/init.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "util/rng.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// FAISS warns below 39 rows per centroid: fewer make the centroids noisy.
constexpr int64_t kMinRowsPerCentroid = 39;

Status validate(int64_t n, int64_t d, const KMeansParams& p) {
  if (p.k < 1) {
    return Status::InvalidArgument(fmt::format("num_partitions must be at least 1 (got {})", p.k));
  }
  if (p.k > n) {
    return Status::InvalidArgument(
        fmt::format("num_partitions {} is larger than the {} sample rows", p.k, n));
  }
  if (d < 1) {
    return Status::InvalidArgument(fmt::format("dimension must be at least 1 (got {})", d));
  }
  if (p.max_iters < 1) {
    return Status::InvalidArgument(fmt::format("max_iters must be at least 1 (got {})", p.max_iters));
  }
  if (!(p.balance == 0.0 || p.balance > 1.0)) {
    return Status::InvalidArgument(
        fmt::format("balance must be 0 (off) or greater than 1 (got {})", p.balance));
  }
  if (p.balance > 0 && p.inner_product) {
    return Status::InvalidArgument(
        "balance needs l2 assignment: the largest inner product goes to the longest centroids, "
        "whatever their place, so clusters cannot be evened out");
  }
  if (!(p.tolerance >= 0)) {
    return Status::InvalidArgument(
        fmt::format("tolerance must be 0 or positive (got {})", p.tolerance));
  }
  return Status::OK();
}

// Lance's rule: stop once the objective improves by less than `tolerance`, relative. A rise (or
// no change) also stops. The magnitude of prev is used because inner-product objectives are
// negative.
bool converged(double prev, double obj, double tolerance) {
  if (prev == 0) return obj >= prev;
  return (prev - obj) / std::abs(prev) < tolerance;
}

}  // namespace

void kmeans_assign(int64_t n, int64_t d, const float* x, int64_t k, const float* centroids,
                   bool inner_product, int32_t* labels, float* distances, int num_threads) {
  if (n <= 0 || k <= 0 || d <= 0) return;
  assign_nearest(n, d, x, nullptr, k, centroids, inner_product, AssignOutput{labels, distances},
                 num_threads);
}

// The loop runs: initial centroids, one assignment, then per iteration an update (means, then
// empty clusters split) followed by the assignment that measures it. An iteration's objective
// is therefore that of the centroids it produced, and the last one is the objective of the
// returned centroids; it costs one assignment more than FAISS's loop (assign, then update),
// whose reported objective lags the centroids by one update.
KMeansRun flat_kmeans(int64_t n, int64_t d, const float* x, const KMeansParams& params) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t k = params.k;
  const int threads = resolve_threads(params.num_threads);
  const std::string& label = params.label;
  auto& log = logger();

  KMeansRun run;
  KMeansResult& result = run.result;
  result.k = k;
  result.d = d;
  result.centroids.resize(static_cast<size_t>(k * d));
  const auto level = params.verbose ? spdlog::level::info : spdlog::level::debug;
  if (params.warn_few_rows && n < kMinRowsPerCentroid * k) {
    log.warn("{}: clustering {} rows into {} centroids; at least {} rows are recommended", label,
             n, k, kMinRowsPerCentroid * k);
  }
  if (n == k) {
    // Every row is its own centroid: the objective is 0 without iterating.
    std::memcpy(result.centroids.data(), x, sizeof(float) * n * d);
    log.log(level, "{}: {} rows for {} centroids: the rows are the centroids", label, n, k);
    run.labels.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) run.labels[i] = static_cast<int32_t>(i);
    return run;
  }

  Rng rng(params.seed);
  float* centroids = result.centroids.data();
  if (params.init == KMeansInit::kKMeansPlusPlus) {
    init_kmeans_plus_plus(n, d, x, k, rng, centroids, threads);
  } else {
    init_random(n, d, x, k, rng, centroids);
  }

  std::vector<float> x_norms;
  if (!params.inner_product) {
    x_norms.resize(static_cast<size_t>(n));
    row_norms_sqr(n, d, x, x_norms.data());
  }
  std::vector<int32_t>& labels = run.labels;
  labels.resize(static_cast<size_t>(n));
  const AssignOutput out{labels.data(), nullptr};
  // Bounds skip the rows whose centroid cannot have changed (l2 and large k only: with few or
  // short centroids a full assignment is cheaper than the bookkeeping).
  std::optional<BoundedAssigner> bounded;
  if (!params.inner_product && BoundedAssigner::worthwhile(k, d)) {
    bounded.emplace(n, d, x, x_norms.data(), k, threads);
  }
  auto assign = [&] {
    if (bounded) return bounded->assign(centroids, labels.data());
    return assign_nearest(n, d, x, x_norms.empty() ? nullptr : x_norms.data(), k, centroids,
                          params.inner_product, out, threads);
  };
  double objective = assign();
  log.debug("{}: initial objective {:.6g} ({:.3f} s)", label, objective, seconds_since(start));

  ClusterMembers members;
  std::vector<int64_t> sizes(static_cast<size_t>(k));
  for (int iter = 0; iter < params.max_iters; ++iter) {
    const auto t0 = std::chrono::steady_clock::now();
    group_by_label(n, k, labels.data(), &members);
    update_centroids(d, x, k, &members, centroids, threads);
    for (int64_t c = 0; c < k; ++c) sizes[c] = members.size(c);
    const int64_t split = split_empty_clusters(d, k, &members.identical, &sizes, centroids, rng);
    const double prev = objective;
    const auto t_assign = std::chrono::steady_clock::now();
    objective = assign();
    const KMeansIteration& it =
        result.iterations.emplace_back(iteration_record(objective, t0, t_assign, split));
    log.log(level, "{}: iteration {}: objective {:.6g}, {} empty clusters split, {} rows "
            "assigned in full ({:.3f} s)", label, iter + 1, objective, split,
            bounded ? bounded->rows_computed() : n, it.seconds);
    // After a split the objective says little about convergence: give the split a chance.
    if (params.tolerance > 0 && split == 0 && converged(prev, objective, params.tolerance)) break;
  }
  result.objective = objective;
  log.log(level, "{}: k-means of {} x {} rows into {} centroids: {} iterations, objective {:.6g}, "
           "{:.2f} s",
           label, n, d, k, result.iterations.size(), objective, seconds_since(start));
  return run;
}

Result<KMeansResult> kmeans_train(int64_t n, int64_t d, const float* x,
                                  const KMeansParams& params) {
  IVF_RETURN_IF_ERROR(validate(n, d, params));
  KMeansRun run = params.algorithm == KMeansAlgorithm::kHierarchical
                      ? hierarchical_kmeans(n, d, x, params)
                      : flat_kmeans(n, d, x, params);
  if (params.balance > 0) {
    const auto t0 = std::chrono::steady_clock::now();
    const CentroidBalanceStats stats =
        balance_centroids(n, d, x, params.k, params.balance, params.seed, params.num_threads,
                          run.result.centroids.data(), run.labels.data());
    run.result.objective = stats.objective;
    logger().log(params.verbose ? spdlog::level::info : spdlog::level::debug,
                 "{}: balanced: largest cluster {} -> {} rows (cap {}) in {} rounds, {} clusters "
                 "cut, {} slots given to pieces; objective {:.6g} -> {:.6g} ({:.3f} s)",
                 params.label, stats.largest_before, stats.largest_after, stats.capacity,
                 stats.rounds, stats.clusters_split, stats.clusters_merged,
                 stats.objective_before, stats.objective, seconds_since(t0));
    if (stats.largest_after > stats.capacity) {
      logger().warn("{}: balance {} not reached after {} rounds: the largest cluster has {} "
                    "rows, {:.2f} times the mean (identical rows cannot be cut)",
                    params.label, params.balance, stats.rounds, stats.largest_after,
                    static_cast<double>(stats.largest_after) * params.k / n);
    }
  }
  return std::move(run.result);
}

}  // namespace ivftrain
