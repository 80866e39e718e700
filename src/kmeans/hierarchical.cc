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

#include "util/log.h"
#include "kmeans/cap_sizes.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/candidates.h"
#include "linalg/distances.h"
#include "util/rng.h"
#include "util/sampling.h"
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

KMeansRun hierarchical_kmeans(int64_t n, int64_t d, const float* x, const KMeansParams& params) {
  const int64_t k = params.k;
  const int64_t g = std::min<int64_t>(k, std::llround(std::sqrt(static_cast<double>(k))));
  if (g < 2 || n == k) return flat_kmeans(n, d, x, params);
  const auto start = std::chrono::steady_clock::now();
  const int threads = resolve_threads(params.num_threads);
  const auto level = params.verbose ? spdlog::level::info : spdlog::level::debug;
  auto& log = logger();

  // 1. Coarse groups.
  KMeansParams cp = params;
  cp.k = g;
  cp.algorithm = KMeansAlgorithm::kFlat;
  cp.balance = 0;
  cp.seed = derive_seed(params.seed, kSeedCoarse, 0);
  cp.label = params.label + "/coarse";
  cp.verbose = false;
  cp.warn_few_rows = false;
  std::vector<float> coarse_centroids;
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
    coarse_centroids = std::move(flat_kmeans(rows, d, coarse_x, cp).result.centroids);
  }
  std::vector<int32_t> group(static_cast<size_t>(n));
  assign_nearest(n, d, x, nullptr, g, coarse_centroids.data(), params.inner_product,
                 AssignOutput{group.data(), nullptr}, threads);
  // Work in a group grows with its size squared (rows times its share of k), so one large
  // group would dominate: cap the group sizes. Rows moved to a neighbouring group find their
  // best centroid again in the refinement, which looks into neighbouring groups.
  balance_clusters(n, d, x, g, kCoarseBalance, params.inner_product, threads,
                   coarse_centroids.data(), group.data());
  ClusterMembers groups;
  group_by_label(n, g, group.data(), &groups);
  std::vector<int64_t> sizes(static_cast<size_t>(g));
  for (int64_t i = 0; i < g; ++i) sizes[i] = groups.size(i);
  const std::vector<int64_t> share = share_centroids(sizes, k);
  std::vector<int64_t> first(static_cast<size_t>(g + 1), 0);  // group i owns [first[i], first[i+1])
  for (int64_t i = 0; i < g; ++i) first[i + 1] = first[i] + share[i];
  // Largest groups first, so that the last jobs are short (the order does not change results).
  std::vector<int64_t> order(static_cast<size_t>(g));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return sizes[a] > sizes[b]; });
  const int group_threads = static_cast<int>(std::clamp<int64_t>(g, 1, threads));
  log.log(level, "{}: hierarchical k-means: {} groups of {} to {} rows ({:.3f} s)", params.label,
          g, *std::min_element(sizes.begin(), sizes.end()),
          *std::max_element(sizes.begin(), sizes.end()), seconds_since(start));

  // 2. k-means inside each group.
  KMeansRun run;
  KMeansResult& result = run.result;
  result.k = k;
  result.d = d;
  result.centroids.resize(static_cast<size_t>(k * d));
  std::vector<int32_t>& labels = run.labels;
  labels.resize(static_cast<size_t>(n));
  float* centroids = result.centroids.data();
#pragma omp parallel num_threads(group_threads) if (group_threads > 1)
  {
    std::vector<float> rows_x;
#pragma omp for schedule(dynamic, 1)
    for (int64_t o = 0; o < g; ++o) {
      const int64_t gi = order[o];
      if (share[gi] == 0) continue;
      const int64_t* rows = groups.rows.data() + groups.offsets[gi];
      rows_x.resize(static_cast<size_t>(sizes[gi] * d));
      gather_rows(d, x, rows, sizes[gi], rows_x.data());
      KMeansParams gp = cp;
      gp.k = share[gi];
      gp.seed = derive_seed(params.seed, kSeedGroup, static_cast<uint64_t>(gi));
      gp.num_threads = 1;
      gp.label = fmt::format("{}/group[{}]", params.label, gi);
      const KMeansRun r = flat_kmeans(sizes[gi], d, rows_x.data(), gp);
      std::copy(r.result.centroids.begin(), r.result.centroids.end(), centroids + first[gi] * d);
      for (int64_t j = 0; j < sizes[gi]; ++j) {
        labels[rows[j]] = static_cast<int32_t>(first[gi] + r.labels[j]);
      }
    }
  }

  // 3. Refinement over the neighbouring groups' centroids. Neighbours are the nearest coarse
  // centroids of each coarse centroid, kept in increasing group order so that the candidate
  // centroids of a group are in increasing global order (ties go to the smallest index).
  const int64_t p = std::min(kNeighbourGroups, g);
  std::vector<int64_t> all_groups(static_cast<size_t>(g));
  std::iota(all_groups.begin(), all_groups.end(), 0);
  std::vector<int32_t> near(static_cast<size_t>(g * p));
  std::vector<float> near_dist(static_cast<size_t>(g * p));
  nearest_candidates(d, coarse_centroids.data(), g, all_groups.data(), g, coarse_centroids.data(),
                     params.inner_product, p, near.data(), near_dist.data(), threads);
  std::vector<std::vector<int32_t>> neighbours(static_cast<size_t>(g));
  for (int64_t i = 0; i < g; ++i) {
    std::vector<int32_t> nb(near.begin() + i * p, near.begin() + (i + 1) * p);
    if (std::find(nb.begin(), nb.end(), static_cast<int32_t>(i)) == nb.end()) {
      nb.back() = static_cast<int32_t>(i);
    }
    std::sort(nb.begin(), nb.end());
    neighbours[i] = std::move(nb);
  }
  std::vector<double> group_sums(static_cast<size_t>(g));
  auto restricted_assign = [&]() {
#pragma omp parallel num_threads(group_threads) if (group_threads > 1)
    {
      std::vector<float> rows_x, cand;
      std::vector<int32_t> cand_ids, local;
#pragma omp for schedule(dynamic, 1)
      for (int64_t o = 0; o < g; ++o) {
        const int64_t gi = order[o];
        group_sums[gi] = 0;
        if (sizes[gi] == 0) continue;
        const int64_t* rows = groups.rows.data() + groups.offsets[gi];
        rows_x.resize(static_cast<size_t>(sizes[gi] * d));
        gather_rows(d, x, rows, sizes[gi], rows_x.data());
        cand.clear();
        cand_ids.clear();
        for (int32_t h : neighbours[gi]) {
          cand.insert(cand.end(), centroids + first[h] * d, centroids + first[h + 1] * d);
          for (int64_t c = first[h]; c < first[h + 1]; ++c) {
            cand_ids.push_back(static_cast<int32_t>(c));
          }
        }
        local.resize(static_cast<size_t>(sizes[gi]));
        group_sums[gi] = assign_nearest(sizes[gi], d, rows_x.data(), nullptr,
                                        static_cast<int64_t>(cand_ids.size()), cand.data(),
                                        params.inner_product, AssignOutput{local.data(), nullptr},
                                        1);
        for (int64_t j = 0; j < sizes[gi]; ++j) labels[rows[j]] = cand_ids[local[j]];
      }
    }
    double total = 0;
    for (double s : group_sums) total += s;  // group order: independent of the threads
    return total;
  };

  auto t_assign = std::chrono::steady_clock::now();
  double objective = restricted_assign();
  log.log(level, "{}: groups trained: objective {:.6g} ({:.3f} s)", params.label, objective,
          result.iterations.emplace_back(iteration_record(objective, start, t_assign, 0)).seconds);
  Rng rng(derive_seed(params.seed, kSeedRefine, 0));
  ClusterMembers members;
  std::vector<int64_t> cluster_sizes(static_cast<size_t>(k));
  for (int iter = 0; iter < kRefineIters; ++iter) {
    const auto t0 = std::chrono::steady_clock::now();
    group_by_label(n, k, labels.data(), &members);
    update_centroids(d, x, k, &members, centroids, threads);
    for (int64_t c = 0; c < k; ++c) cluster_sizes[c] = members.size(c);
    const int64_t split =
        split_empty_clusters(d, k, &members.identical, &cluster_sizes, centroids, rng);
    const double prev = objective;
    t_assign = std::chrono::steady_clock::now();
    objective = restricted_assign();
    const KMeansIteration& it =
        result.iterations.emplace_back(iteration_record(objective, t0, t_assign, split));
    log.log(level, "{}: refinement {}: objective {:.6g}, {} empty clusters split ({:.3f} s)",
            params.label, iter + 1, objective, split, it.seconds);
    if (params.tolerance > 0 && split == 0 && prev != 0 &&
        (prev - objective) / std::abs(prev) < params.tolerance) {
      break;
    }
  }
  result.objective = objective;
  log.log(level, "{}: hierarchical k-means of {} x {} rows into {} centroids: objective {:.6g}, "
          "{:.2f} s",
          params.label, n, d, k, objective, seconds_since(start));
  return run;
}

}  // namespace ivftrain
