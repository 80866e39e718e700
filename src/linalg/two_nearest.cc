#include "linalg/two_nearest.h"

#include <algorithm>
#include <vector>

#include "linalg/direct.h"
#include "linalg/distances.h"
#include "linalg/gemm_tiles.h"
#include "linalg/kernels.h"
#include "linalg/metric.h"
#include "linalg/near_ties.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

using tiles::kInf;

constexpr int64_t kBlockRows = 512;

// The two-smallest selector of the tile loop: each row's best, label and second best, merged
// tile by tile (scratch of the block, written to the outputs at the row's index when it ends).
// Near ties are settled from the row and the centroids alone, and the best distance computed
// from the row and its centroid (near_ties.h), so that neither depends on the other rows of the
// block. The second distance, a bound only, stays the tile's.
struct TwoMinSelector {
  int64_t d;
  int64_t k;
  const float* centroids;
  float max_c_norm;
  const float* x_norms;
  const int64_t* rows;
  int32_t* labels;
  float* best;
  float* second;

  struct State {
    std::vector<float> best, second, norms;
    std::vector<int32_t> labels;
    std::vector<double> margins;
    TieCandidates ties;
  };
  State make_state() const {
    const auto n = static_cast<size_t>(kBlockRows);
    return State{std::vector<float>(n),   std::vector<float>(n),  std::vector<float>(n),
                 std::vector<int32_t>(n), std::vector<double>(n), {}};
  }
  void start(State& s, int64_t begin, int64_t end) const {
    const auto n = static_cast<size_t>(end - begin);
    std::fill_n(s.best.begin(), n, kInf);
    std::fill_n(s.second.begin(), n, kInf);
    std::fill_n(s.labels.begin(), n, 0);
    for (size_t r = 0; r < n; ++r) {
      s.norms[r] = x_norms[rows[begin + static_cast<int64_t>(r)]];
      s.margins[r] = near_tie_margin(d, s.norms[r], max_c_norm);
    }
    s.ties.start(end - begin, s.margins.data());
  }
  void select(State& s, int64_t n, const tiles::Tile& tile) const {
    s.ties.before(n, s.labels.data());
    kernels::tile_two_min(n, tile.dots, tile.ld, tile.bias, tile.size, tile.base, s.best.data(),
                          s.labels.data(), s.second.data());
    s.ties.after(n, tile.dots, tile.ld, tile.bias, tile.size, tile.base, s.best.data(),
                 s.second.data(), s.labels.data());
  }
  double finish(State& s, int64_t begin, int64_t end, const float* xb) const {
    // The near ties of the block, settled from their candidates (near_ties.h).
    std::vector<int64_t> tied;  // places in the block
    for (int64_t r = 0; r < end - begin; ++r) {
      const auto u = static_cast<size_t>(r);
      const int64_t i = rows[begin + r];
      const float* xr = xb + r * d;
      if (nearest_is_certain(s.best[u], s.second[u], d, x_norms[i], max_c_norm)) {
        labels[i] = s.labels[u];
        best[i] = l2_sqr(xr, centroids + int64_t{labels[i]} * d, d);
        // inf stays inf
        second[i] = score_to_distance(Metric::kL2, x_norms[i], s.second[u]);
      } else {
        tied.push_back(r);
      }
    }
    std::vector<RowNearest> settled(tied.size());
    s.ties.settle(Metric::kL2, xb, s.norms.data(), tied.data(), static_cast<int64_t>(tied.size()),
                  d, k, centroids, s.best.data(), s.labels.data(), settled.data());
    for (size_t t = 0; t < tied.size(); ++t) {
      const int64_t i = rows[begin + tied[t]];
      labels[i] = settled[t].label;
      best[i] = settled[t].best;
      second[i] = settled[t].second;
    }
    return 0;
  }
};

}  // namespace

void two_nearest(int64_t d, const float* x, const float* x_norms, int64_t count,
                 const int64_t* rows, int64_t k, const float* centroids, int32_t* labels,
                 float* best, float* second, int num_threads) {
  IVF_DCHECK(x_norms != nullptr || count <= 0, "two_nearest needs the row norms");
  if (count <= 0 || k <= 0) return;
  const TwoMinSelector selector{
      d, k, centroids, max_norm_sqr(k, d, centroids), x_norms, rows, labels, best, second};
  tiles::run_tiles(Metric::kL2, tiles::RowSource{d, x, rows}, count, kBlockRows, k, centroids,
                   selector, num_threads);
}

void two_nearest_direct(int64_t d, const float* x, const float* x_norms, int64_t count,
                        const int64_t* rows, int64_t k, const float* centroids, int32_t* labels,
                        float* best, float* second, int num_threads) {
  IVF_DCHECK(x_norms != nullptr || count <= 0, "two_nearest_direct needs the row norms");
  if (count <= 0 || k <= 0) return;
  const DirectCentroids direct(Metric::kL2, k, d, centroids);
  struct Scratch {
    std::vector<float> best, second;
    std::vector<int32_t> labels;
  };
  const auto n = static_cast<size_t>(kBlockRows);
  parallel_blocks(
      count, kBlockRows, num_threads, Work{count * 2 * k * d, tiles::kMinFlopsPerThread},
      [&] {
        return Scratch{std::vector<float>(n), std::vector<float>(n), std::vector<int32_t>(n)};
      },
      [&](Scratch& s, int64_t, int64_t begin, int64_t end) {
        direct.two_min(end - begin, x, rows + begin, s.best.data(), s.labels.data(),
                       s.second.data());
        for (int64_t r = begin; r < end; ++r) {
          const auto u = static_cast<size_t>(r - begin);
          const int64_t i = rows[r];
          labels[i] = s.labels[u];
          best[i] = score_to_distance(Metric::kL2, x_norms[i], s.best[u]);
          second[i] = score_to_distance(Metric::kL2, x_norms[i], s.second[u]);
        }
      });
}

}  // namespace ivftrain
