// Initial centroids for k-means.
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans/exact_sum.h"
#include "kmeans/shard.h"
#include "util/rng.h"

namespace ivftrain {

// k distinct rows of x chosen uniformly (FAISS and Lance start this way), in increasing row
// order. Writes k x d floats to centroids.
void init_random(int64_t n, int64_t d, const float* x, int64_t k, Rng& rng, float* centroids);

// k-means++ (Arthur and Vassilvitskii): the first centroid a uniform row, each next one a row
// drawn with probability proportional to its squared l2 distance to the nearest centroid so
// far (l2 also when k-means itself uses inner products: it spreads the seeds all the same).
// Distances are updated in parallel over fixed row blocks and summed in block order; the draws
// are sequential, so the result does not depend on the thread count. Costs k passes over x.
void init_kmeans_plus_plus(int64_t n, int64_t d, const float* x, int64_t k, Rng& rng,
                           float* centroids, int num_threads);

// k-means|| (Bahmani et al., "Scalable k-means++", 2012). The oversampling rounds of k-means||.
inline constexpr int kKMeansParallelRounds = 5;

// The candidates of k-means||, before they are reduced to k centroids.
struct KMeansParallelCandidates {
  std::vector<int64_t> rows;     // global row indices: the first draw, then each round's rows
  std::vector<float> vectors;    // rows.size() x d
  std::vector<int64_t> weights;  // rows (of all shards) nearest each candidate; they sum to n
};

// The candidates of k-means|| over the rows of x, or with a `shard` over the rows of every
// shard (x then holds this shard's n rows; every shard must call it, and all get the same
// candidates). The first candidate is a row drawn uniformly from `rng`; then each of `rounds`
// rounds draws every row independently with probability min(1, 2k D(x)^2 / phi), where D(x) is
// its squared-l2 distance to the nearest candidate so far and phi their sum over all rows. The
// draw of a row is a hash of (seed, round, its global index), D(x) comes from the row and the
// candidates alone, phi is an exact sum and the weights integer counts, so the candidates do
// not depend on how the rows are split between shards, nor on the thread count. Rounds stop
// early when phi is 0 (every row sits on a candidate).
KMeansParallelCandidates kmeans_parallel_candidates(int64_t n, int64_t d, const float* x, int64_t k,
                                                    uint64_t seed, Rng& rng, KMeansShard* shard,
                                                    int num_threads,
                                                    int rounds = kKMeansParallelRounds);

// The first candidate of k-means||: a row drawn uniformly among `total` from `rng`.
int64_t kmeans_parallel_first_row(int64_t total, Rng& rng);

// The draw of k-means|| (one function, so that the sharded rounds and this file cannot drift): a
// row at squared distance `dist` to its nearest candidate is drawn in an oversampling round of
// seed `round_seed` (kmeans_parallel_round_seed) when a hash of (round_seed, global_row) in
// [0, 1) is below 2k dist / phi. A row on a candidate (dist 0) is never drawn. With phi a lower
// bound of the true sum, the rows drawn are a superset of the true draw (the division rounds
// monotonically).
uint64_t kmeans_parallel_round_seed(uint64_t seed, int round);
bool kmeans_parallel_drawn(uint64_t round_seed, int64_t global_row, float dist, int64_t k,
                           double phi);

// The rows' side of k-means||: each of n rows' squared-l2 distance to its nearest candidate so
// far and that candidate, as kmeans_parallel_candidates keeps them (a worker of the sharded rounds
// keeps them between its rounds). `x` (n x d) and `global` (the rows' global indices, increasing;
// null: 0..n-1) must outlive it.
class KMeansParallelRows {
 public:
  KMeansParallelRows(int64_t n, int64_t d, const float* x, const int64_t* global, int num_threads);
  // Candidates first, first + 1, ... are the rows `rows` (global, increasing): those held here
  // are at distance 0 of their own candidate, set rather than left to the assignment, whose l2
  // of a row to itself may round above 0 (so a candidate is never drawn again and always has a
  // weight of at least 1).
  void mark_own(const std::vector<int64_t>& rows, int64_t first);
  // The distances to candidates first .. first + count - 1 (`vectors`: count x d), a function of
  // the row and those candidates alone (linalg/assign.h); ties keep the earlier candidate.
  void measure(int64_t first, int64_t count, const float* vectors);
  // The exact sum of the distances (phi).
  ExactSum phi() const;
  // The local rows (indices) kmeans_parallel_drawn draws with this phi, increasing.
  std::vector<int64_t> drawn(uint64_t round_seed, int64_t k, double phi) const;
  // The rows nearest each of m candidates.
  std::vector<int64_t> counts(int64_t m) const;
  int64_t global_row(int64_t i) const { return global_ ? global_[i] : i; }

  std::vector<float> nearest;  // n
  std::vector<int64_t> label;  // n

 private:
  int64_t n_, d_;
  const float* x_;
  const int64_t* global_;
  int threads_;
  std::vector<float> norms_, dist_;
  std::vector<int32_t> new_label_;
};

// The reduction of k-means|| candidates (their weights summed over every shard) to k centroids,
// written to the first rows of `centroids` (k x d): with more than k, the weighted k-means++
// below; else every candidate, then the rows returned (global, increasing, drawn uniformly from
// `rng` among `total`), whose vectors the caller writes to centroids rows m .. k - 1.
std::vector<int64_t> reduce_kmeans_parallel(const KMeansParallelCandidates& c, int64_t d, int64_t k,
                                            int64_t total, Rng& rng, float* centroids,
                                            int num_threads);

// k-means||: the candidates above, reduced to k centroids by a k-means++ weighted by the rows
// nearest each candidate (the same on every shard: it draws from `rng` over the candidates,
// which every shard holds). With k candidates or fewer, they are the centroids, and the rest
// are rows drawn uniformly from `rng` (duplicates then are split by the Lloyd iterations).
// Writes k x d floats to centroids.
void init_kmeans_parallel(int64_t n, int64_t d, const float* x, int64_t k, uint64_t seed, Rng& rng,
                          KMeansShard* shard, float* centroids, int num_threads);

}  // namespace ivftrain
