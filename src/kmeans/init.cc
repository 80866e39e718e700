#include "kmeans/init.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg/distances.h"
#include "util/sampling.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int64_t kBlockRows = 4096;

}  // namespace

void init_random(int64_t n, int64_t d, const float* x, int64_t k, Rng& rng, float* centroids) {
  const std::vector<int64_t> rows = choose_sorted(rng, n, k);
  for (int64_t c = 0; c < k; ++c) {
    std::memcpy(centroids + c * d, x + rows[c] * d, sizeof(float) * d);
  }
}

void init_kmeans_plus_plus(int64_t n, int64_t d, const float* x, int64_t k, Rng& rng,
                           float* centroids, int num_threads) {
  const int64_t blocks = num_blocks(n, kBlockRows);
  std::vector<float> nearest(static_cast<size_t>(n), std::numeric_limits<float>::infinity());
  std::vector<double> block_sums(static_cast<size_t>(blocks), 0.0);

  int64_t pick = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n)));
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
            sum += nearest[i];
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
      if (nearest[i] > 0) pick = i;  // rounding may leave target past the last weight
      if (target < nearest[i]) break;
      target -= nearest[i];
    }
    if (pick < 0) pick = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n)));
  }
}

}  // namespace ivftrain
