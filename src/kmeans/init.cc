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

int64_t kmeans_parallel_first_row(int64_t total, Rng& rng) {
  return static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(total)));
}

uint64_t kmeans_parallel_round_seed(uint64_t seed, int round) {
  return derive_seed(seed, kSeedKMeansParallel, static_cast<uint64_t>(round));
}

bool kmeans_parallel_drawn(uint64_t round_seed, int64_t global_row, float dist, int64_t k,
                           double phi) {
  if (!(dist > 0)) return false;
  const double oversampling = 2.0 * static_cast<double>(k);
  return row_draw(round_seed, global_row) < oversampling * static_cast<double>(dist) / phi;
}

KMeansParallelRows::KMeansParallelRows(int64_t n, int64_t d, const float* x, const int64_t* global,
                                       int num_threads)
    : nearest(static_cast<size_t>(n), std::numeric_limits<float>::infinity()),
      label(static_cast<size_t>(n), 0), n_(n), d_(d), x_(x), global_(global), threads_(num_threads),
      norms_(static_cast<size_t>(n)), dist_(static_cast<size_t>(n)),
      new_label_(static_cast<size_t>(n)) {
  row_norms_sqr(n, d, x, norms_.data());
}

void KMeansParallelRows::mark_own(const std::vector<int64_t>& rows, int64_t first) {
  for (int64_t i = 0, j = 0; i < n_ && j < static_cast<int64_t>(rows.size());) {
    const int64_t g = global_row(i);
    if (g < rows[j]) {
      ++i;
    } else if (g > rows[j]) {
      ++j;
    } else {
      nearest[i] = 0;
      label[i] = first + j;
      ++i, ++j;
    }
  }
}

void KMeansParallelRows::measure(int64_t first, int64_t count, const float* vectors) {
  if (count <= 0 || n_ <= 0) return;
  assign_nearest(n_, d_, x_, norms_.data(), count, vectors, Metric::kL2,
                 AssignOutput{new_label_.data(), dist_.data()}, threads_);
  for (int64_t i = 0; i < n_; ++i) {
    if (dist_[i] < nearest[i]) {
      nearest[i] = dist_[i];
      label[i] = first + new_label_[i];
    }
  }
}

ExactSum KMeansParallelRows::phi() const {
  ExactSum sum;
  sum.add(nearest.data(), n_);
  return sum;
}

std::vector<int64_t> KMeansParallelRows::drawn(uint64_t round_seed, int64_t k, double phi) const {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n_; ++i) {
    if (kmeans_parallel_drawn(round_seed, global_row(i), nearest[i], k, phi)) out.push_back(i);
  }
  return out;
}

std::vector<int64_t> KMeansParallelRows::counts(int64_t m) const {
  std::vector<int64_t> out(static_cast<size_t>(m), 0);
  for (int64_t i = 0; i < n_; ++i) ++out[static_cast<size_t>(label[i])];
  return out;
}

KMeansParallelCandidates kmeans_parallel_candidates(int64_t n, int64_t d, const float* x, int64_t k,
                                                    uint64_t seed, Rng& rng, KMeansShard* shard,
                                                    int num_threads, int rounds) {
  const int64_t total = shard ? shard->total_rows() : n;
  KMeansParallelCandidates c;
  KMeansParallelRows state(n, d, x, shard ? shard->global_rows() : nullptr, num_threads);

  // Appends `rows` (global, increasing) to the candidates.
  const auto add = [&](const std::vector<int64_t>& rows) {
    const size_t first = c.rows.size();
    c.rows.insert(c.rows.end(), rows.begin(), rows.end());
    c.vectors.resize(c.rows.size() * static_cast<size_t>(d));
    fetch(shard, rows, d, x, c.vectors.data() + first * d);
    state.mark_own(rows, static_cast<int64_t>(first));
  };

  add({kmeans_parallel_first_row(total, rng)});
  size_t measured = 0;  // candidates before this one are in `state`
  int rounds_run = 0;
  for (int round = 0;; ++round) {
    const int64_t fresh = static_cast<int64_t>(c.rows.size() - measured);
    state.measure(static_cast<int64_t>(measured), fresh, c.vectors.data() + measured * d);
    measured = c.rows.size();
    if (round == rounds) break;
    ExactSum phi_sum = state.phi();
    if (shard) shard->combine(phi_sum);
    const double phi = phi_sum.value();
    if (!(phi > 0)) break;  // every row sits on a candidate: nothing left to draw
    ++rounds_run;
    std::vector<int64_t> mine = state.drawn(kmeans_parallel_round_seed(seed, round), k, phi);
    for (int64_t& i : mine) i = state.global_row(i);
    const std::vector<int64_t> drawn = shard ? shard->gather_rows(mine) : std::move(mine);
    if (!drawn.empty()) add(drawn);
  }
  c.weights = state.counts(static_cast<int64_t>(c.rows.size()));
  if (shard) shard->combine_counts(c.weights);
  logger().debug("k-means||: {} candidates for {} centroids from {} rows in {} rounds",
                 c.rows.size(), k, total, rounds_run);
  return c;
}

std::vector<int64_t> reduce_kmeans_parallel(const KMeansParallelCandidates& c, int64_t d, int64_t k,
                                            int64_t total, Rng& rng, float* centroids,
                                            int num_threads) {
  const auto m = static_cast<int64_t>(c.rows.size());
  if (m > k) {
    kmeans_plus_plus(m, d, c.vectors.data(), c.weights.data(), k, rng, centroids, num_threads);
    return {};
  }
  // Few distinct rows (the rounds stopped with every row on a candidate) or few rows: every
  // candidate, then uniform rows.
  std::memcpy(centroids, c.vectors.data(), sizeof(float) * m * d);
  if (m == k) return {};
  return choose_sorted(rng, total, k - m);
}

void init_kmeans_parallel(int64_t n, int64_t d, const float* x, int64_t k, uint64_t seed, Rng& rng,
                          KMeansShard* shard, float* centroids, int num_threads) {
  const KMeansParallelCandidates c =
      kmeans_parallel_candidates(n, d, x, k, seed, rng, shard, num_threads);
  const int64_t total = shard ? shard->total_rows() : n;
  const std::vector<int64_t> rows =
      reduce_kmeans_parallel(c, d, k, total, rng, centroids, num_threads);
  if (!rows.empty()) {
    fetch(shard, rows, d, x, centroids + static_cast<int64_t>(c.rows.size()) * d);
  }
}

}  // namespace ivftrain
