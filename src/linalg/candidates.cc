#include "linalg/candidates.h"

#include <algorithm>

#include "linalg/distances.h"
#include "linalg/gemm_tiles.h"
#include "linalg/kernels.h"
#include "linalg/metric.h"

namespace ivftrain {
namespace {

constexpr int64_t kBlockRows = 256;
using tiles::kInf;

// The top-t selector of the tile loop: each row's sorted list lives in the output itself.
struct TopSelector {
  Metric metric;
  int64_t d, t;
  int32_t* labels;
  float* distances;

  struct State {
    float* vals = nullptr;  // the block's slice of the output
    int32_t* idx = nullptr;
  };
  State make_state() const { return State{}; }
  void start(State& s, int64_t begin, int64_t end) const {
    s.vals = distances + begin * t;
    s.idx = labels + begin * t;
    std::fill(s.vals, s.vals + (end - begin) * t, kInf);
    std::fill(s.idx, s.idx + (end - begin) * t, -1);
  }
  void select(State& s, int64_t rows, const tiles::Tile& tile) const {
    kernels::tile_top_t(rows, tile.dots, tile.ld, tile.bias, tile.size, tile.base, t, s.vals,
                        s.idx);
  }
  double finish(State& s, int64_t begin, int64_t end, const float* xb) const {
    if (!uses_norms(metric)) return 0;
    for (int64_t r = 0; r < end - begin; ++r) {
      const float norm = norm_sqr(xb + r * d, d);
      for (int64_t q = 0; q < t; ++q) {
        float& v = s.vals[r * t + q];
        if (s.idx[r * t + q] >= 0) v = score_to_distance(metric, norm, v);
      }
    }
    return 0;
  }
};

}  // namespace

void nearest_candidates(int64_t d, const float* x, int64_t count, const int64_t* rows, int64_t k,
                        const float* centroids, Metric metric, int64_t t, int32_t* labels,
                        float* distances, int num_threads) {
  if (count <= 0 || t <= 0) return;
  const TopSelector selector{metric, d, t, labels, distances};
  if (k <= 0) {
    // No centroid: every slot stays empty (the tile loop does not run).
    TopSelector::State s;
    selector.start(s, 0, count);
    return;
  }
  tiles::run_tiles(metric, tiles::RowSource{d, x, rows}, count, kBlockRows, k, centroids, selector,
                   num_threads);
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
      kernels::insert_sorted(metric_distance_ref(metric, xi, centroids + j * d, d),
                             static_cast<int32_t>(j), t, vals, idx);
    }
  }
}

}  // namespace ivftrain
