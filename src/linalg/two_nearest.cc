#include "linalg/two_nearest.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg/distances.h"
#include "linalg/simd.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

using simd::f32x16;
using simd::i32x16;

constexpr int64_t kBlockRows = 512;
constexpr int64_t kCentroidTile = 512;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Per lane: the smallest value (and its first index) and the second smallest value.
struct TwoMin {
  f32x16 m1 = simd::splat(kInf), m2 = simd::splat(kInf);
  i32x16 i1 = i32x16{};

  void update(f32x16 v, i32x16 idx) {
    const i32x16 lt1 = v < m1;
    m2 = lt1 ? m1 : (v < m2 ? v : m2);
    i1 = lt1 ? idx : i1;
    m1 = lt1 ? v : m1;
  }
};

// Merges a row's lanes (and a scalar tail) into (best, label, second).
inline void reduce(const TwoMin& t, float* best, int32_t* label, float* second) {
  float b = kInf, s = kInf;
  int32_t l = INT32_MAX;
  for (int lane = 0; lane < simd::kWidth; ++lane) {
    const float v = t.m1[lane];
    if (v < b || (v == b && t.i1[lane] < l)) {
      s = std::min(s, b);
      b = v;
      l = t.i1[lane];
    } else {
      s = std::min(s, v);
    }
    s = std::min(s, t.m2[lane]);
  }
  *best = b;
  *label = l;
  *second = s;
}

}  // namespace

void two_nearest(int64_t d, const float* x, const float* x_norms, int64_t count,
                 const int64_t* rows, int64_t k, const float* centroids, int32_t* labels,
                 float* best, float* second, int num_threads) {
  if (count <= 0 || k <= 0) return;
  use_single_threaded_blas();
  std::vector<float> bias(static_cast<size_t>(k));
  row_norms_sqr(k, d, centroids, bias.data());
  const int64_t blocks = (count + kBlockRows - 1) / kBlockRows;
  const int threads =
      static_cast<int>(std::clamp<int64_t>(blocks, 1, std::max(1, resolve_threads(num_threads))));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> xb(static_cast<size_t>(kBlockRows * d));
    std::vector<float> dots(static_cast<size_t>(kBlockRows * std::min(k, kCentroidTile)));
    std::vector<TwoMin> state(static_cast<size_t>(kBlockRows));
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * kBlockRows, end = std::min(count, begin + kBlockRows);
      const int64_t n = end - begin;
      gather_rows(d, x, rows + begin, n, xb.data());
      std::fill(state.begin(), state.begin() + n, TwoMin{});
      // Lanes see centroids j = t + 16 v + lane; the scalar tail of each tile is folded into
      // lane 0 afterwards through the same update (an index order the reduction does not need).
      for (int64_t t = 0; t < k; t += kCentroidTile) {
        const int64_t kc = std::min(kCentroidTile, k - t);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n),
                    static_cast<int>(kc), static_cast<int>(d), -2.0f, xb.data(),
                    static_cast<int>(d), centroids + t * d, static_cast<int>(d), 0.0f,
                    dots.data(), static_cast<int>(kc));
        const int64_t kv = kc / simd::kWidth * simd::kWidth;
        for (int64_t r = 0; r < n; ++r) {
          const float* row = dots.data() + r * kc;
          TwoMin& s = state[r];
          for (int64_t j = 0; j < kv; j += simd::kWidth) {
            s.update(simd::load(row + j) + simd::load(bias.data() + t + j),
                     simd::iota(static_cast<int32_t>(t + j)));
          }
          for (int64_t j = kv; j < kc; ++j) {
            // One centroid at a time, in lane 0 with the other lanes fed +inf (never win).
            f32x16 v = simd::splat(kInf);
            v[0] = row[j] + bias[t + j];
            s.update(v, i32x16{} + static_cast<int32_t>(t + j));
          }
        }
      }
      for (int64_t r = 0; r < n; ++r) {
        const int64_t i = rows[begin + r];
        float b1, b2;
        reduce(state[r], &b1, &labels[i], &b2);
        best[i] = std::max(0.0f, x_norms[i] + b1);
        second[i] = std::max(0.0f, x_norms[i] + b2);  // inf stays inf
      }
    }
  }
}

}  // namespace ivftrain
