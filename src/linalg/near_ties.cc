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

void TieCandidates::start(int64_t rows, const double* margins) {
  const auto n = static_cast<size_t>(rows);
  margin_.assign(margins, margins + rows);
  previous_.resize(n);
  count_.assign(n, 0);
  ids_.resize(n * kMax);
}

void TieCandidates::before(int64_t rows, const int32_t* labels) {
  std::copy(labels, labels + rows, previous_.begin());
}

void TieCandidates::after(int64_t rows, const float* dots, int64_t ld, const float* bias,
                          int64_t size, int32_t base, const float* best, const float* second,
                          const int32_t* labels) {
  for (int64_t r = 0; r < rows; ++r) {
    const double margin = margin_[r];
    int32_t& count = count_[r];
    if (!(margin < std::numeric_limits<double>::infinity()) || count > kMax ||
        !(double(second[r]) - double(best[r]) <= margin)) {
      continue;
    }
    int32_t* ids = ids_.data() + r * kMax;
    const auto add = [&](int32_t c) {
      if (count < kMax) ids[count] = c;
      ++count;
    };
    if (labels[r] != previous_[r] && base > 0) add(previous_[r]);  // displaced by this tile
    const double limit = double(best[r]) + margin;
    const float* row = dots + r * ld;
    for (int64_t j = 0; j < size && count <= kMax; ++j) {
      if (double(row[j] + bias[j]) <= limit) add(base + static_cast<int32_t>(j));
    }
  }
}

void TieCandidates::settle(Metric metric, const float* xb, const float* x_norms,
                           const int64_t* tied, int64_t count, int64_t d, int64_t k,
                           const float* centroids, const float* best, const int32_t* labels,
                           RowNearest* out) const {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<int64_t> all;  // rows with too many candidates: against all k
  std::vector<int64_t> all_at;
  std::vector<int32_t> ids;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t r = tied[t];
    if (count_[r] > kMax || !(margin_[r] < kInf)) {
      all.push_back(r);
      all_at.push_back(t);
      continue;
    }
    ids.assign(ids_.begin() + r * kMax, ids_.begin() + r * kMax + count_[r]);
    ids.push_back(labels[r]);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    RowNearest& o = out[t];
    o = RowNearest{0, kInf, kInf};
    const float* xr = xb + r * d;
    for (const int32_t c : ids) {
      const float v = metric_distance(metric, xr, centroids + int64_t{c} * d, d);
      if (v < o.best) {
        o.second = o.best;
        o.best = v;
        o.label = c;
      } else if (v < o.second) {
        o.second = v;
      }
    }
    // Every other centroid scored above best + margin.
    const auto others = static_cast<float>(double(best[r]) + margin_[r]);
    o.second = std::min(o.second, score_to_distance(metric, x_norms ? x_norms[r] : 0.0f, others));
  }
  std::vector<RowNearest> settled(all.size());
  nearest_one_by_one(metric, xb, all.data(), static_cast<int64_t>(all.size()), d, k, centroids,
                     settled.data());
  for (size_t a = 0; a < all.size(); ++a) out[all_at[a]] = settled[a];
}

}  // namespace ivftrain
