#include "linalg/candidates.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg/distances.h"
#include "linalg/metric.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int64_t kBlockRows = 256;
constexpr int64_t kCentroidTile = 512;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Inserts (v, j) into the sorted list (vals, idx) of length t when it beats the last entry.
// Candidates arrive in increasing j, and equal values go after those already there, so ties
// keep the smallest index first.
inline void insert_sorted(float v, int32_t j, int64_t t, float* vals, int32_t* idx) {
  if (!(v < vals[t - 1])) return;
  int64_t p = t - 1;
  while (p > 0 && v < vals[p - 1]) {
    vals[p] = vals[p - 1];
    idx[p] = idx[p - 1];
    --p;
  }
  vals[p] = v;
  idx[p] = j;
}

}  // namespace

void nearest_candidates(int64_t d, const float* x, int64_t count, const int64_t* rows, int64_t k,
                        const float* centroids, Metric metric, int64_t t, int32_t* labels,
                        float* distances, int num_threads) {
  if (count <= 0 || t <= 0) return;
  use_single_threaded_blas();
  std::vector<float> bias(static_cast<size_t>(k), 0.0f);
  if (uses_norms(metric)) row_norms_sqr(k, d, centroids, bias.data());
  const int64_t blocks = (count + kBlockRows - 1) / kBlockRows;
  const int threads =
      static_cast<int>(std::clamp<int64_t>(blocks, 1, std::max(1, resolve_threads(num_threads))));
  const float alpha = gemm_alpha(metric);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> xb(static_cast<size_t>(kBlockRows * d));
    std::vector<float> dots(static_cast<size_t>(kBlockRows * std::min(k, kCentroidTile)));
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * kBlockRows, end = std::min(count, begin + kBlockRows);
      const int64_t n = end - begin;
      gather_rows(d, x, rows + begin, n, xb.data());
      float* vals = distances + begin * t;
      int32_t* idx = labels + begin * t;
      std::fill(vals, vals + n * t, kInf);
      std::fill(idx, idx + n * t, -1);
      for (int64_t c0 = 0; c0 < k; c0 += kCentroidTile) {
        const int64_t kc = std::min(kCentroidTile, k - c0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n),
                    static_cast<int>(kc), static_cast<int>(d), alpha, xb.data(),
                    static_cast<int>(d), centroids + c0 * d, static_cast<int>(d), 0.0f,
                    dots.data(), static_cast<int>(kc));
        for (int64_t r = 0; r < n; ++r) {
          const float* row = dots.data() + r * kc;
          for (int64_t j = 0; j < kc; ++j) {
            insert_sorted(row[j] + bias[c0 + j], static_cast<int32_t>(c0 + j), t, vals + r * t,
                          idx + r * t);
          }
        }
      }
      if (uses_norms(metric)) {
        for (int64_t r = 0; r < n; ++r) {
          const float norm = norm_sqr(xb.data() + r * d, d);
          for (int64_t s = 0; s < t; ++s) {
            float& v = vals[r * t + s];
            if (idx[r * t + s] >= 0) v = score_to_distance(metric, norm, v);
          }
        }
      }
    }
  }
}

void nearest_candidates_ref(int64_t d, const float* x, int64_t count, const int64_t* rows,
                            int64_t k, const float* centroids, Metric metric, int64_t t,
                            int32_t* labels, float* distances) {
  for (int64_t r = 0; r < count; ++r) {
    float* vals = distances + r * t;
    int32_t* idx = labels + r * t;
    std::fill(vals, vals + t, kInf);
    std::fill(idx, idx + t, -1);
    const float* xi = x + rows[r] * d;
    for (int64_t j = 0; j < k; ++j) {
      insert_sorted(metric_distance_ref(metric, xi, centroids + j * d, d),
                    static_cast<int32_t>(j), t, vals, idx);
    }
  }
}

}  // namespace ivftrain
