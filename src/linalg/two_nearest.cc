#include "linalg/two_nearest.h"

#include <algorithm>
#include <vector>

#include "linalg/gemm_tiles.h"
#include "linalg/metric.h"
#include "linalg/simd.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

using simd::f32x16;
using simd::i32x16;
using tiles::kInf;

constexpr int64_t kBlockRows = 512;

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

// Merges a row's lanes into (best, label, second).
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

// The two-smallest selector of the tile loop. Lanes see centroids j = base + 16 v + lane; the
// scalar tail of each tile is folded into lane 0 through the same update (an index order the
// reduction does not need).
struct TwoMinSelector {
  const float* x_norms;
  const int64_t* rows;
  int32_t* labels;
  float* best;
  float* second;

  std::vector<TwoMin> make_state() const {
    return std::vector<TwoMin>(static_cast<size_t>(kBlockRows));
  }
  void start(std::vector<TwoMin>& state, int64_t begin, int64_t end) const {
    std::fill(state.begin(), state.begin() + (end - begin), TwoMin{});
  }
  void select(std::vector<TwoMin>& state, int64_t r, const tiles::TileRow& row) const {
    TwoMin& s = state[r];
    const int64_t kv = row.size / simd::kWidth * simd::kWidth;
    for (int64_t j = 0; j < kv; j += simd::kWidth) {
      s.update(row.scores<f32x16>(j), simd::iota(static_cast<int32_t>(row.base + j)));
    }
    for (int64_t j = kv; j < row.size; ++j) {
      // One centroid at a time, in lane 0 with the other lanes fed +inf (never win).
      f32x16 v = simd::splat(kInf);
      v[0] = row.score(j);
      s.update(v, i32x16{} + static_cast<int32_t>(row.base + j));
    }
  }
  double finish(std::vector<TwoMin>& state, int64_t begin, int64_t end, const float*) const {
    for (int64_t r = 0; r < end - begin; ++r) {
      const int64_t i = rows[begin + r];
      float b1, b2;
      reduce(state[r], &b1, &labels[i], &b2);
      best[i] = score_to_distance(Metric::kL2, x_norms[i], b1);
      second[i] = score_to_distance(Metric::kL2, x_norms[i], b2);  // inf stays inf
    }
    return 0;
  }
};

}  // namespace

void two_nearest(int64_t d, const float* x, const float* x_norms, int64_t count,
                 const int64_t* rows, int64_t k, const float* centroids, int32_t* labels,
                 float* best, float* second, int num_threads) {
  IVF_DCHECK(x_norms != nullptr || count <= 0, "two_nearest needs the row norms");
  tiles::run_tiles(Metric::kL2, tiles::RowSource{d, x, rows}, count, kBlockRows, k, centroids,
                   TwoMinSelector{x_norms, rows, labels, best, second}, num_threads);
}

}  // namespace ivftrain
