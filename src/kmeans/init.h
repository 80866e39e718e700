// Initial centroids for k-means.
#pragma once

#include <cstdint>

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

}  // namespace ivftrain
