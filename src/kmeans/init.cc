#include "kmeans/init.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kmeans/exact_sum.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "util/log.h"
#include "util/sampling.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int64_t kBlockRows = 4096;

// k-means++ over the n rows of x, row i standing for weights[i] rows (1 each when weights is
// null): the first centroid drawn in proportion to the weights, each next one in proportion to
// weight x squared distance to the nearest centroid so far.
void kmeans_plus_plus(int64_t n, int64_t d, const float* x, const int64_t* weights, int64_t k,
                      Rng& rng, float* centroids, int num_threads) {
  const int64_t blocks = num_blocks(n, kBlockRows);
  std::vector<float> nearest(static_cast<size_t>(n), std::numeric_limits<float>::infinity());
  std::vector<double> block_sums(static_cast<size_t>(blocks), 0.0);
  // A row's share of the draw. Unweighted, the float distance itself (promoted): the bits of the
  // unweighted draw are those k-means++ always gave.
  const auto share = [&](int64_t i) -> double {
    return weights ? static_cast<double>(weights[i]) * nearest[i] : nearest[i];
  };

  int64_t pick = 0;
  if (weights) {
    int64_t total_weight = 0;
    for (int64_t i = 0; i < n; ++i) total_weight += weights[i];
    auto target = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(total_weight)));
    while (target >= weights[pick]) target -= weights[pick++];
  } else {
    pick = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n)));
  }
  for (int64_t c = 0; c < k; ++c) {
    float* centroid = centroids + c * d;
    std::memcpy(centroid, x + pick * d, sizeof(float) * d);
    if (c + 1 == k) break;
    // The block sums are kept: the draw below walks them to find the block of its row.
    const double total = parallel_blocks(
        n, kBlockRows, num_threads, Work{}, [&](int64_t b, int64_t begin, int64_t end) {
          double sum = 0;
          for (int64_t i = begin; i < end; ++i) {
            nearest[i] = std::min(nearest[i], l2_sqr(x + i * d, centroid, d));
            sum += share(i);
          }
          block_sums[b] = sum;
          return sum;
        });
    if (!(total > 0)) {
      // Every row sits on a centroid already (fewer distinct rows than k): any row will do,
      // and the empty-cluster splitting of the Lloyd iterations copes with the duplicates.
      pick = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n)));
      continue;
    }
    // Find the row where the cumulative weight passes target: first the block, then the row.
    double target = rng.uniform01() * total;
    int64_t b = 0;
    while (b + 1 < blocks && target >= block_sums[b]) target -= block_sums[b++];
    const int64_t begin = b * kBlockRows, end = std::min(n, begin + kBlockRows);
    pick = -1;
    for (int64_t i = begin; i < end; ++i) {
      const double s = share(i);
      if (s > 0) pick = i;  // rounding may leave target past the last weight
      if (target < s) break;
      target -= s;
    }
    if (pick < 0) pick = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n)));
  }
}

// A uniform double in [0, 1) that is a function of (seed, row) alone: a row's draw does not
// depend on which rows are drawn before it, nor on where they are.
double row_draw(uint64_t seed, int64_t row) {
  return static_cast<double>(derive_seed(seed, 0, static_cast<uint64_t>(row)) >> 11) * 0x1.0p-53;
}

// Copies the rows whose global indices are `rows` (increasing) to out, from this process (no
// shard: global indices are local ones) or from the shards that hold them.
void fetch(KMeansShard* shard, const std::vector<int64_t>& rows, int64_t d, const float* x,
           float* out) {
  if (shard) {
    shard->fetch_rows(rows, d, x, out);
    return;
  }
  for (size_t j = 0; j < rows.size(); ++j) {
    std::memcpy(out + j * d, x + rows[j] * d, sizeof(float) * d);
  }
}

}  // namespace

void init_random(int64_t n, int64_t d, const float* x, int64_t k, Rng& rng, float* centroids) {
  const std::vector<int64_t> rows = choose_sorted(rng, n, k);
  for (int64_t c = 0; c < k; ++c) {
    std::memcpy(centroids + c * d, x + rows[c] * d, sizeof(float) * d);
  }
}

void init_kmeans_plus_plus(int64_t n, int64_t d, const float* x, int64_t k, Rng& rng,
                           float* centroids, int num_threads) {
  kmeans_plus_plus(n, d, x, nullptr, k, rng, centroids, num_threads);
}

KMeansParallelCandidates kmeans_parallel_candidates(int64_t n, int64_t d, const float* x, int64_t k,
                                                    uint64_t seed, Rng& rng, KMeansShard* shard,
                                                    int num_threads, int rounds) {
  const int64_t total = shard ? shard->total_rows() : n;
  const int64_t* global = shard ? shard->global_rows() : nullptr;
  const auto global_row = [global](int64_t i) { return global ? global[i] : i; };
  KMeansParallelCandidates c;
  // Each local row's squared distance to its nearest candidate so far, and that candidate.
  std::vector<float> nearest(static_cast<size_t>(n), std::numeric_limits<float>::infinity());
  std::vector<int64_t> label(static_cast<size_t>(n), 0);

  // Appends `rows` (global, increasing) to the candidates. A candidate's own row is at distance
  // 0 from it, set here rather than left to the assignment, whose l2 of a row to itself may
  // round above 0: a candidate is never drawn again and always has a weight of at least 1.
  const auto add = [&](const std::vector<int64_t>& rows) {
    const size_t first = c.rows.size();
    c.rows.insert(c.rows.end(), rows.begin(), rows.end());
    c.vectors.resize(c.rows.size() * static_cast<size_t>(d));
    fetch(shard, rows, d, x, c.vectors.data() + first * d);
    for (int64_t i = 0, j = 0; i < n && j < static_cast<int64_t>(rows.size());) {
      const int64_t g = global_row(i);
      if (g < rows[j]) {
        ++i;
      } else if (g > rows[j]) {
        ++j;
      } else {
        nearest[i] = 0;
        label[i] = static_cast<int64_t>(first) + j;
        ++i, ++j;
      }
    }
  };

  add({static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(total)))});
  std::vector<float> norms(static_cast<size_t>(n)), dist(static_cast<size_t>(n));
  std::vector<int32_t> new_label(static_cast<size_t>(n));
  row_norms_sqr(n, d, x, norms.data());
  const double oversampling = 2.0 * static_cast<double>(k);
  size_t measured = 0;  // candidates before this one are in `nearest`
  int rounds_run = 0;
  for (int round = 0;; ++round) {
    // The distances to the candidates added last: a function of the row and those candidates
    // alone (linalg/assign.h), whatever rows this shard holds; ties keep the earlier candidate.
    const int64_t fresh = static_cast<int64_t>(c.rows.size() - measured);
    if (fresh > 0) {
      assign_nearest(n, d, x, norms.data(), fresh, c.vectors.data() + measured * d, Metric::kL2,
                     AssignOutput{new_label.data(), dist.data()}, num_threads);
      for (int64_t i = 0; i < n; ++i) {
        if (dist[i] < nearest[i]) {
          nearest[i] = dist[i];
          label[i] = static_cast<int64_t>(measured) + new_label[i];
        }
      }
      measured = c.rows.size();
    }
    if (round == rounds) break;
    ExactSum phi_sum;
    phi_sum.add(nearest.data(), n);
    if (shard) shard->combine(phi_sum);
    const double phi = phi_sum.value();
    if (!(phi > 0)) break;  // every row sits on a candidate: nothing left to draw
    ++rounds_run;
    const uint64_t round_seed =
        derive_seed(seed, kSeedKMeansParallel, static_cast<uint64_t>(round));
    std::vector<int64_t> mine;
    for (int64_t i = 0; i < n; ++i) {
      if (!(nearest[i] > 0)) continue;
      const double p = oversampling * static_cast<double>(nearest[i]) / phi;
      if (row_draw(round_seed, global_row(i)) < p) mine.push_back(global_row(i));
    }
    const std::vector<int64_t> drawn = shard ? shard->gather_rows(mine) : std::move(mine);
    if (!drawn.empty()) add(drawn);
  }
  c.weights.assign(c.rows.size(), 0);
  for (int64_t i = 0; i < n; ++i) ++c.weights[static_cast<size_t>(label[i])];
  if (shard) shard->combine_counts(c.weights);
  logger().debug("k-means||: {} candidates for {} centroids from {} rows in {} rounds",
                 c.rows.size(), k, total, rounds_run);
  return c;
}

void init_kmeans_parallel(int64_t n, int64_t d, const float* x, int64_t k, uint64_t seed, Rng& rng,
                          KMeansShard* shard, float* centroids, int num_threads) {
  const KMeansParallelCandidates c =
      kmeans_parallel_candidates(n, d, x, k, seed, rng, shard, num_threads);
  const auto m = static_cast<int64_t>(c.rows.size());
  if (m > k) {
    kmeans_plus_plus(m, d, c.vectors.data(), c.weights.data(), k, rng, centroids, num_threads);
    return;
  }
  // Few distinct rows (the rounds stopped with every row on a candidate) or few rows: every
  // candidate, then uniform rows.
  std::memcpy(centroids, c.vectors.data(), sizeof(float) * m * d);
  if (m < k) {
    const int64_t total = shard ? shard->total_rows() : n;
    fetch(shard, choose_sorted(rng, total, k - m), d, x, centroids + m * d);
  }
}

}  // namespace ivftrain
