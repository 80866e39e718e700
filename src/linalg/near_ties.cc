#include "linalg/near_ties.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "linalg/distances.h"
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
  r.best = r.second = std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < k; ++c) {
    const float v = metric_distance(metric, x, centroids + c * d, d);
    if (v < r.best) {
      r.second = r.best;
      r.best = v;
      r.label = static_cast<int32_t>(c);
    } else if (v < r.second) {
      r.second = v;
    }
  }
  return r;
}

}  // namespace ivftrain
