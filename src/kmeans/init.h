// Initial centroids for k-means.
#pragma once

#include <cstdint>
#include <vector>

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

// k-means||: the candidates above, reduced to k centroids by a k-means++ weighted by the rows
// nearest each candidate (the same on every shard: it draws from `rng` over the candidates,
// which every shard holds). With k candidates or fewer, they are the centroids, and the rest
// are rows drawn uniformly from `rng` (duplicates then are split by the Lloyd iterations).
// Writes k x d floats to centroids.
void init_kmeans_parallel(int64_t n, int64_t d, const float* x, int64_t k, uint64_t seed, Rng& rng,
                          KMeansShard* shard, float* centroids, int num_threads);

}  // namespace ivftrain
