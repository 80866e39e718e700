// Hierarchical k-means for large k (thousands of centroids):
//
// 1. coarse k-means into g = round(sqrt(k)) groups, trained on at most 256 g sampled rows, then
//    every row assigned to its group, and groups balanced to at most kCoarseBalance times the
//    mean size;
// 2. inside each group, a flat k-means with a share of k proportional to the group's size
//    (share_centroids); groups run in parallel, each single-threaded with its own derived seed,
//    so the result does not depend on which thread runs which group;
// 3. kRefineIters Lloyd iterations over all k centroids in which each row is compared with the
//    centroids of its group's kNeighbourGroups nearest groups only (its own included), which
//    costs about kNeighbourGroups / g of a full assignment and fixes the rows the grouping cut
//    off from their best centroid.
//
// Work: a flat iteration compares n rows with k centroids; here each group iteration compares
// n rows with about sqrt(k) centroids, and each refinement iteration with about
// kNeighbourGroups sqrt(k). For k = 16384 that is 128 times less per group iteration.
//
// Iterations reported: the first entry is the objective after step 2 (with the refined
// assignment), then one per refinement iteration. Steps 1 and 2 each run up to max_iters
// iterations with the caller's tolerance.
#include "kmeans/hierarchical.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "kmeans/assigner.h"
#include "kmeans/cap_sizes.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/candidates.h"
#include "linalg/distances.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int kRefineIters = 2;
constexpr int64_t kNeighbourGroups = 8;
constexpr int64_t kCoarseSampleRate = 256;
constexpr double kCoarseBalance = 3;

}  // namespace

std::vector<int64_t> share_centroids(const std::vector<int64_t>& sizes, int64_t k) {
  const auto g = static_cast<int64_t>(sizes.size());
  const int64_t n = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  std::vector<int64_t> share(static_cast<size_t>(g), 0);
  std::vector<int64_t> remainder(static_cast<size_t>(g), 0);
  int64_t given = 0;
  for (int64_t i = 0; i < g; ++i) {
    const __uint128_t q = static_cast<__uint128_t>(k) * static_cast<uint64_t>(sizes[i]);
    share[i] = static_cast<int64_t>(q / static_cast<uint64_t>(n));
    remainder[i] = static_cast<int64_t>(q % static_cast<uint64_t>(n));
    given += share[i];
  }
  std::vector<int64_t> order(static_cast<size_t>(g));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return remainder[a] > remainder[b]; });
  for (int64_t i = 0; given < k; ++i, ++given) ++share[order[i]];
  // Exact share minus the integer one: positive means the group got less than its due.
  auto deficit = [&](int64_t i) {
    return static_cast<double>(k) * static_cast<double>(sizes[i]) / static_cast<double>(n) -
           static_cast<double>(share[i]);
  };
  for (int64_t i = 0; i < g; ++i) {
    if (sizes[i] > 0 && share[i] == 0) {
      share[i] = 1;
      ++given;
    }
    if (share[i] > sizes[i]) {
      given -= share[i] - sizes[i];
      share[i] = sizes[i];
    }
  }
  while (given > k) {  // take from the group most above its due that can spare one
    int64_t best = -1;
    for (int64_t i = 0; i < g; ++i) {
      if (share[i] > 1 && (best < 0 || deficit(i) < deficit(best))) best = i;
    }
    if (best < 0) break;  // more non-empty groups than k: outside the contract
    --share[best];
    --given;
  }
  while (given < k) {  // give to the group most below its due that has room
    int64_t best = -1;
    for (int64_t i = 0; i < g; ++i) {
      if (share[i] < sizes[i] && (best < 0 || deficit(i) > deficit(best))) best = i;
    }
    if (best < 0) break;  // fewer rows than k: outside the contract
    ++share[best];
    ++given;
  }
  return share;
}

namespace {

// Step 1: the rows cut into g groups, and each group's share of the k centroids.
struct Groups {
  int64_t g = 0;
  std::vector<float> centroids;  // g x d, the coarse centroids
  ClusterMembers members;        // the rows of each group
  std::vector<int64_t> sizes;    // rows per group
  std::vector<int64_t> first;    // g + 1: group i owns centroids [first[i], first[i + 1])
  std::vector<int64_t> order;    // groups largest first (long jobs first; results do not care)
  int threads = 1;               // threads over groups

  int64_t share(int64_t i) const { return first[i + 1] - first[i]; }
  const int64_t* rows(int64_t i) const { return members.rows.data() + members.offsets[i]; }
};

Groups coarse_groups(int64_t n, int64_t d, const float* x, int64_t k, int64_t g,
                     const KMeansParams& params, const KMeansLog& log_as, int threads) {
  Groups groups;
  groups.g = g;
  KMeansParams cp = params;
  cp.algorithm = KMeansAlgorithm::kFlat;
  cp.balance = 0;
  cp.seed = derive_seed(params.seed, kSeedCoarse, 0);
  KMeansLog coarse_log;
  coarse_log.label = log_as.label + "/coarse";
  coarse_log.warn_few_rows = false;
  {
    const int64_t rows = std::min(n, kCoarseSampleRate * g);
    std::vector<float> sample;
    const float* coarse_x = x;
    if (rows < n) {
      Rng rng(derive_seed(params.seed, kSeedCoarseSample, 0));
      const std::vector<int64_t> chosen = choose_sorted(rng, n, rows);
      sample.resize(static_cast<size_t>(rows * d));
      gather_rows(d, x, chosen.data(), rows, sample.data());
      coarse_x = sample.data();
    }
    groups.centroids =
        std::move(flat_kmeans(rows, d, coarse_x, g, cp, coarse_log).result.centroids);
  }
  std::vector<int32_t> group(static_cast<size_t>(n));
  assign_nearest(n, d, x, nullptr, g, groups.centroids.data(), params.metric,
                 AssignOutput{group.data(), nullptr}, threads);
  // Work in a group grows with its size squared (rows times its share of k), so one large
  // group would dominate: cap the group sizes. Rows moved to a neighbouring group find their
  // best centroid again in the refinement, which looks into neighbouring groups.
  cap_cluster_sizes(n, d, x, g, kCoarseBalance, params.metric, threads, groups.centroids.data(),
                    group.data());
  group_by_label(n, g, group.data(), &groups.members);
  groups.sizes.resize(static_cast<size_t>(g));
  for (int64_t i = 0; i < g; ++i) groups.sizes[i] = groups.members.size(i);
  const std::vector<int64_t> share = share_centroids(groups.sizes, k);
  groups.first.assign(static_cast<size_t>(g + 1), 0);
  for (int64_t i = 0; i < g; ++i) groups.first[i + 1] = groups.first[i] + share[i];
  IVF_DCHECK(groups.first[g] == k, "the groups' shares must add up to k");
  groups.order.resize(static_cast<size_t>(g));
  std::iota(groups.order.begin(), groups.order.end(), 0);
  std::stable_sort(groups.order.begin(), groups.order.end(),
                   [&](int64_t a, int64_t b) { return groups.sizes[a] > groups.sizes[b]; });
  groups.threads = clamp_threads(threads, g);
  return groups;
}

// Step 2: a flat k-means inside each group, single-threaded with its own derived seed, groups
// in parallel; writes every centroid and every row's label.
void train_groups(int64_t d, const float* x, const Groups& groups, const KMeansParams& params,
                  const KMeansLog& log_as, float* centroids, int32_t* labels) {
  KMeansParams gp = params;
  gp.algorithm = KMeansAlgorithm::kFlat;
  gp.balance = 0;
  gp.num_threads = 1;
  KMeansLog group_log;
  group_log.warn_few_rows = false;
  // One job per group, largest first; each job is the same whatever thread runs it.
  parallel_blocks(
      groups.g, 1, groups.threads, Work{}, [] { return std::vector<float>(); },
      [&](std::vector<float>& rows_x, int64_t o, int64_t, int64_t) {
        const int64_t gi = groups.order[o];
        if (groups.share(gi) == 0) return;
        const int64_t size = groups.sizes[gi];
        const int64_t* rows = groups.rows(gi);
        rows_x.resize(static_cast<size_t>(size * d));
        gather_rows(d, x, rows, size, rows_x.data());
        KMeansParams p = gp;
        p.seed = derive_seed(params.seed, kSeedGroup, static_cast<uint64_t>(gi));
        KMeansLog l = group_log;
        l.label = fmt::format("{}/group[{}]", log_as.label, gi);
        const KMeansRun r = flat_kmeans(size, d, rows_x.data(), groups.share(gi), p, l);
        std::copy(r.result.centroids.begin(), r.result.centroids.end(),
                  centroids + groups.first[gi] * d);
        for (int64_t j = 0; j < size; ++j) {
          labels[rows[j]] = static_cast<int32_t>(groups.first[gi] + r.labels[j]);
        }
      });
}

// Step 3's assignment: the rows of each group against the centroids of its kNeighbourGroups
// nearest groups (its own included). Neighbours are kept in increasing group order, so the
// candidates of a group are in increasing global order (ties go to the smallest index).
class NeighbourGroupAssigner final : public Assigner {
 public:
  NeighbourGroupAssigner(int64_t d, const float* x, const Groups& groups, Metric metric,
                         int threads)
      : d_(d), x_(x), groups_(groups), metric_(metric), neighbours_(static_cast<size_t>(groups.g)),
        sums_(static_cast<size_t>(groups.g)) {
    const int64_t g = groups.g, p = std::min(kNeighbourGroups, g);
    std::vector<int64_t> all_groups(static_cast<size_t>(g));
    std::iota(all_groups.begin(), all_groups.end(), 0);
    std::vector<int32_t> near(static_cast<size_t>(g * p));
    std::vector<float> near_dist(static_cast<size_t>(g * p));
    nearest_candidates(d, groups.centroids.data(), g, all_groups.data(), g, groups.centroids.data(),
                       metric, p, near.data(), near_dist.data(), threads);
    for (int64_t i = 0; i < g; ++i) {
      std::vector<int32_t> nb(near.begin() + i * p, near.begin() + (i + 1) * p);
      if (std::find(nb.begin(), nb.end(), static_cast<int32_t>(i)) == nb.end()) {
        nb.back() = static_cast<int32_t>(i);
      }
      std::sort(nb.begin(), nb.end());
      neighbours_[i] = std::move(nb);
    }
  }

  double assign(const float* centroids, int32_t* labels) override {
    const Groups& gr = groups_;
    const int64_t d = d_;
    struct Scratch {
      std::vector<float> rows_x, cand;
      std::vector<int32_t> cand_ids, local;
    };
    // One job per group, largest first. The objective is added in group order below, not in
    // job order, as it always was.
    parallel_blocks(
        gr.g, 1, gr.threads, Work{}, [] { return Scratch{}; },
        [&](Scratch& sc, int64_t o, int64_t, int64_t) {
          auto& [rows_x, cand, cand_ids, local] = sc;
          const int64_t gi = gr.order[o];
          sums_[gi] = 0;
          const int64_t size = gr.sizes[gi];
          if (size == 0) return;
          const int64_t* rows = gr.rows(gi);
          rows_x.resize(static_cast<size_t>(size * d));
          gather_rows(d, x_, rows, size, rows_x.data());
          cand.clear();
          cand_ids.clear();
          for (int32_t h : neighbours_[gi]) {
            cand.insert(cand.end(), centroids + gr.first[h] * d, centroids + gr.first[h + 1] * d);
            for (int64_t c = gr.first[h]; c < gr.first[h + 1]; ++c) {
              cand_ids.push_back(static_cast<int32_t>(c));
            }
          }
          local.resize(static_cast<size_t>(size));
          sums_[gi] =
              assign_nearest(size, d, rows_x.data(), nullptr, static_cast<int64_t>(cand_ids.size()),
                             cand.data(), metric_, AssignOutput{local.data(), nullptr}, 1);
          for (int64_t j = 0; j < size; ++j) labels[rows[j]] = cand_ids[local[j]];
        });
    double total = 0;
    for (double s : sums_) total += s;  // group order: independent of the threads
    return total;
  }

  int64_t rows_computed() const override { return groups_.members.offsets[groups_.g]; }

 private:
  int64_t d_;
  const float* x_;
  const Groups& groups_;
  Metric metric_;
  std::vector<std::vector<int32_t>> neighbours_;
  std::vector<double> sums_;
};

}  // namespace

KMeansRun hierarchical_kmeans(int64_t n, int64_t d, const float* x, int64_t k,
                              const KMeansParams& params, const KMeansLog& log_as) {
  const int64_t g = std::min<int64_t>(k, std::llround(std::sqrt(static_cast<double>(k))));
  if (g < 2 || n == k) return flat_kmeans(n, d, x, k, params, log_as);
  const auto start = Clock::now();
  const int threads = resolve_threads(params.num_threads);
  const auto level = log_as.verbose ? spdlog::level::info : spdlog::level::debug;

  const Groups groups = coarse_groups(n, d, x, k, g, params, log_as, threads);
  logger().log(level, "{}: hierarchical k-means: {} groups of {} to {} rows ({:.3f} s)",
               log_as.label, g, *std::min_element(groups.sizes.begin(), groups.sizes.end()),
               *std::max_element(groups.sizes.begin(), groups.sizes.end()), seconds_since(start));

  KMeansRun run;
  KMeansResult& result = run.result;
  result.k = k;
  result.d = d;
  result.centroids.resize(static_cast<size_t>(k * d));
  run.labels.resize(static_cast<size_t>(n));
  train_groups(d, x, groups, params, log_as, result.centroids.data(), run.labels.data());

  // Step 3: refinement, the one Lloyd loop with the neighbouring groups' centroids only.
  NeighbourGroupAssigner assigner(d, x, groups, params.metric, threads);
  const auto t_assign = Clock::now();
  const double objective = assigner.assign(result.centroids.data(), run.labels.data());
  logger().log(
      level, "{}: groups trained: objective {:.6g} ({:.3f} s)", log_as.label, objective,
      result.iterations.emplace_back(iteration_record(objective, start, t_assign, 0)).seconds);
  LloydLoop loop;
  loop.max_iters = kRefineIters;
  loop.tolerance = params.tolerance;
  loop.num_threads = threads;
  loop.step = "refinement";
  loop.grid = SumGrid::make(max_abs_value(n, d, x), n);
  Rng rng(derive_seed(params.seed, kSeedRefine, 0));
  result.objective = run_lloyd(n, d, x, k, loop, assigner, rng, result.centroids.data(),
                               run.labels.data(), objective, &result.iterations, log_as);
  logger().log(level,
               "{}: hierarchical k-means of {} x {} rows into {} centroids: objective {:.6g}, "
               "{:.2f} s",
               log_as.label, n, d, k, result.objective, seconds_since(start));
  return run;
}

}  // namespace ivftrain
