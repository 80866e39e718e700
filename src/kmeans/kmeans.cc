#include "ivftrain/kmeans.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "kmeans/lloyd.h"
#include "kmeans/rebalance.h"
#include "linalg/assign.h"
#include "util/cancel.h"
#include "util/enum_names.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

// The checks that need the data's shape; validate(params) does the rest.
Status validate_shape(int64_t n, int64_t d, int64_t k) {
  if (k < 1) return Status::InvalidArgument(fmt::format("k must be at least 1 (got {})", k));
  if (k > n) {
    return Status::InvalidArgument(fmt::format("k {} is larger than the {} rows", k, n));
  }
  if (d < 1) {
    return Status::InvalidArgument(fmt::format("dimension must be at least 1 (got {})", d));
  }
  return Status::OK();
}

}  // namespace

Status validate(const KMeansParams& p) {
  if (p.max_iters < 1) {
    return Status::InvalidArgument(
        fmt::format("max_iters must be at least 1 (got {})", p.max_iters));
  }
  if (!(p.tolerance >= 0)) {
    return Status::InvalidArgument(
        fmt::format("tolerance must be 0 or positive (got {})", p.tolerance));
  }
  if (!(p.balance == 0.0 || p.balance > 1.0)) {
    return Status::InvalidArgument(
        fmt::format("balance must be 0 (off) or greater than 1 (got {})", p.balance));
  }
  if (p.balance > 0 && p.metric == Metric::kInnerProduct) {
    return Status::InvalidArgument(
        "balance needs the l2 metric: the largest inner product goes to the longest centroids, "
        "whatever their place, so clusters cannot be evened out");
  }
  if (p.num_threads < 0) {
    return Status::InvalidArgument(
        fmt::format("num_threads must be 0 (all cores) or positive (got {})", p.num_threads));
  }
  return Status::OK();
}

std::string_view to_string(KMeansInit t) {
  switch (t) {
    case KMeansInit::kRandom: return "random";
    case KMeansInit::kKMeansPlusPlus: return "kmeans++";
    case KMeansInit::kKMeansParallel: return "kmeans-parallel";
  }
  return "?";
}

std::string_view to_string(KMeansAlgorithm t) {
  return t == KMeansAlgorithm::kFlat ? "flat" : "hierarchical";
}

Result<KMeansInit> parse_kmeans_init(std::string_view s) {
  // The paper's name, accepted too; the canonical name needs no quoting in a shell.
  if (s == "kmeans||") return KMeansInit::kKMeansParallel;
  static constexpr KMeansInit v[] = {KMeansInit::kRandom, KMeansInit::kKMeansPlusPlus,
                                     KMeansInit::kKMeansParallel};
  return parse_enum(s, v, "k-means init");
}

Result<KMeansAlgorithm> parse_kmeans_algorithm(std::string_view s) {
  static constexpr KMeansAlgorithm v[] = {KMeansAlgorithm::kFlat, KMeansAlgorithm::kHierarchical};
  return parse_enum(s, v, "k-means algorithm");
}

void kmeans_assign(int64_t n, int64_t d, const float* x, int64_t k, const float* centroids,
                   Metric metric, int32_t* labels, float* distances, int num_threads) {
  if (n <= 0 || k <= 0 || d <= 0) return;
  assign_nearest(n, d, x, nullptr, k, centroids, metric, AssignOutput{labels, distances},
                 num_threads);
}

Result<KMeansResult> kmeans_train_logged(int64_t n, int64_t d, const float* x, int64_t k,
                                         const KMeansParams& params, const KMeansLog& log_as,
                                         std::vector<int32_t>* nearest) {
  IVF_RETURN_IF_ERROR(validate(params));
  IVF_RETURN_IF_ERROR(validate_shape(n, d, k));
  KMeansRun run = params.algorithm == KMeansAlgorithm::kHierarchical
                      ? hierarchical_kmeans(n, d, x, k, params, log_as)
                      : flat_kmeans(n, d, x, k, params, log_as);
  if (cancel_requested()) return cancelled_status();  // the Lloyd loop stopped early
  if (nearest) {
    nearest->clear();
    const bool exact = params.algorithm == KMeansAlgorithm::kFlat && params.balance == 0;
    if (exact) *nearest = std::move(run.labels);
  }
  if (params.balance > 0) {
    const auto t0 = std::chrono::steady_clock::now();
    const RebalanceStats stats =
        rebalance_centroids(n, d, x, k, params.balance, params.seed, params.num_threads,
                            run.result.centroids.data(), run.labels.data());
    if (cancel_requested()) return cancelled_status();  // balancing stopped early
    run.result.objective = stats.objective;
    logger().log(log_as.verbose ? spdlog::level::info : spdlog::level::debug,
                 "{}: balanced: largest cluster {} -> {} rows (cap {}) in {} rounds, {} clusters "
                 "cut, {} slots given to pieces; objective {:.6g} -> {:.6g} ({:.3f} s)",
                 log_as.label, stats.largest_before, stats.largest_after, stats.capacity,
                 stats.rounds, stats.clusters_split, stats.slots_given, stats.objective_before,
                 stats.objective, seconds_since(t0));
    if (stats.largest_after > stats.capacity) {
      logger().warn(
          "{}: balance {} not reached after {} rounds: the largest cluster has {} "
          "rows, {:.2f} times the mean (identical rows cannot be cut)",
          log_as.label, params.balance, stats.rounds, stats.largest_after,
          static_cast<double>(stats.largest_after) * k / n);
    }
  }
  return std::move(run.result);
}

Result<KMeansResult> kmeans_train(int64_t n, int64_t d, const float* x, int64_t k,
                                  const KMeansParams& params) {
  return kmeans_train_logged(n, d, x, k, params, KMeansLog{});
}

}  // namespace ivftrain
