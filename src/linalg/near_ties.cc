#include "linalg/near_ties.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "linalg/distances.h"
#include "linalg/kernels.h"
#include "linalg/metric.h"

namespace ivftrain {

float max_norm_sqr(int64_t k, int64_t d, const float* rows) {
  std::vector<float> norms(static_cast<size_t>(k));
  row_norms_sqr(k, d, rows, norms.data());
  return norms.empty() ? 0.0f : *std::max_element(norms.begin(), norms.end());
}

RowNearest nearest_one_by_one(Metric metric, const float* x, int64_t d, int64_t k,
                              const float* centroids) {
  RowNearest r;
  const int64_t first = 0;
  nearest_one_by_one(metric, x, &first, 1, d, k, centroids, &r);
  return r;
}

void nearest_one_by_one(Metric metric, const float* x, const int64_t* rows, int64_t count,
                        int64_t d, int64_t k, const float* centroids, RowNearest* out) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (count <= 0) return;
  for (int64_t i = 0; i < count; ++i) out[i] = RowNearest{0, kInf, kInf};
  // About 128 KiB of centroids per chunk: they stay in the core's cache across the rows.
  const int64_t chunk = std::clamp<int64_t>(32768 / std::max<int64_t>(d, 1), 4, 256);
  std::vector<float> v(static_cast<size_t>(chunk));
  for (int64_t c0 = 0; c0 < k; c0 += chunk) {
    const int64_t size = std::min(chunk, k - c0);
    const float* c = centroids + c0 * d;
    for (int64_t i = 0; i < count; ++i) {
      if (uses_norms(metric)) {
        kernels::l2_sqr_many(x + rows[i] * d, c, size, d, v.data());  // the bits of l2_sqr
      } else {
        for (int64_t j = 0; j < size; ++j) {
          v[j] = metric_distance(metric, x + rows[i] * d, c + j * d, d);
        }
      }
      RowNearest& r = out[i];
      for (int64_t j = 0; j < size; ++j) {
        if (v[j] < r.best) {
          r.second = r.best;
          r.best = v[j];
          r.label = static_cast<int32_t>(c0 + j);
        } else if (v[j] < r.second) {
          r.second = v[j];
        }
      }
    }
  }
}

}  // namespace ivftrain
