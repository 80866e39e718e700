#include "linalg/assign.h"

#include <algorithm>
#include <limits>
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

// Shapes for which the direct kernel beats SGEMM, measured on Zen 4 with OpenBLAS 0.3.21 (e.g.
// d = 8, k = 256: 50 against 37 GFLOPS): a shallow GEMM spends more time packing and writing
// its output than multiplying. The bound on k * d keeps the transposed centroids in half of L1;
// beyond it (d = 32, k = 256) SGEMM wins again.
constexpr int64_t kDirectMaxK = 256;
constexpr int64_t kDirectMaxFloats = 4096;

// Per-thread scratch of both kernels: the best score of each row of a block, and its norms.
struct BlockScratch {
  std::vector<float> best, second, norms;
  int32_t* labels = nullptr;  // the block's slice of the output (argmin selector)
  std::vector<double> margins;
  TieCandidates ties;  // argmin selector
};

BlockScratch make_scratch() {
  const auto n = static_cast<size_t>(kAssignBlockRows);
  return BlockScratch{std::vector<float>(n),  std::vector<float>(n),
                      std::vector<float>(n),  nullptr,
                      std::vector<double>(n), {}};
}

// Turns the best scores of rows [begin, end) of x into distances (written to out.distances when
// wanted) and returns their sum. The row norms are x_norms when given, else computed here.
double finish_block(Metric metric, const float* x_norms, int64_t d, const float* x, int64_t begin,
                    int64_t end, BlockScratch& s, const AssignOutput& out) {
  const float* norms = nullptr;
  if (uses_norms(metric)) {
    if (x_norms) {
      norms = x_norms + begin;
    } else {
      row_norms_sqr(end - begin, d, x + begin * d, s.norms.data());
      norms = s.norms.data();
    }
  }
  double sum = 0;
  for (int64_t i = 0; i < end - begin; ++i) {
    const float dist = score_to_distance(metric, norms ? norms[i] : 0.0f, s.best[i]);
    if (out.distances) out.distances[begin + i] = dist;
    sum += dist;
  }
  return sum;
}

// The argmin selector of the tile loop: a running argmin per row, merged tile by tile. Tiles
// come in increasing base order, so strict < keeps the smallest index among ties.
// The GEMM path keeps each row's two best scores, so that a near tie is settled from the row and
// the centroids alone (near_ties.h); distances are computed from the row and its centroid.
struct ArgMinSelector {
  Metric metric;
  int64_t d;
  const float* x;  // the rows, contiguous
  const float* x_norms;
  int64_t k;
  const float* centroids;
  float max_c_norm;
  AssignOutput out;

  BlockScratch make_state() const { return make_scratch(); }
  void start(BlockScratch& s, int64_t begin, int64_t end) const {
    s.labels = out.labels + begin;
    std::fill(s.best.begin(), s.best.begin() + (end - begin), kInf);
    std::fill(s.second.begin(), s.second.begin() + (end - begin), kInf);
    std::fill(s.labels, s.labels + (end - begin), 0);
    // The rows' norms give each row's margin, so that a near tie is settled from the few
    // centroids within it (kmeans_assign gives none: computed here, or every near tie would be
    // settled against all k: a tenth of the time at 768 dims on random data).
    const float* norms = x_norms ? x_norms + begin : s.norms.data();
    if (!x_norms) row_norms_sqr(end - begin, d, x + begin * d, s.norms.data());
    for (int64_t r = 0; r < end - begin; ++r) {
      s.margins[r] = near_tie_margin(d, norms[r], max_c_norm);
    }
    s.ties.start(end - begin, s.margins.data());
  }
  void select(BlockScratch& s, int64_t rows, const tiles::Tile& tile) const {
    s.ties.before(rows, s.labels);
    kernels::tile_two_min(rows, tile.dots, tile.ld, tile.bias, tile.size, tile.base, s.best.data(),
                          s.labels, s.second.data());
    s.ties.after(rows, tile.dots, tile.ld, tile.bias, tile.size, tile.base, s.best.data(),
                 s.second.data(), s.labels);
  }
  double finish(BlockScratch& s, int64_t begin, int64_t end, const float* xb) const {
    const int64_t n = end - begin;
    const float* norms = x_norms ? x_norms + begin : s.norms.data();  // as start() left them
    // The near ties of the block, settled together (the centroids read once for all).
    std::vector<int64_t> tied;
    for (int64_t r = 0; r < n; ++r) {
      if (!nearest_is_certain(s.best[r], s.second[r], d, norms[r], max_c_norm)) tied.push_back(r);
    }
    std::vector<RowNearest> settled(tied.size());
    s.ties.settle(metric, xb, norms, tied.data(), static_cast<int64_t>(tied.size()), d, k,
                  centroids, s.best.data(), s.labels, settled.data());
    for (size_t t = 0; t < tied.size(); ++t) s.labels[tied[t]] = settled[t].label;
    double sum = 0;
    for (int64_t r = 0; r < n; ++r) {
      const float* xr = xb + r * d;
      const float dist = metric_distance(metric, xr, centroids + int64_t{s.labels[r]} * d, d);
      if (out.distances) out.distances[begin + r] = dist;
      sum += dist;
    }
    return sum;
  }
};

}  // namespace

bool assign_uses_direct_kernel(int64_t k, int64_t d) {
  return k <= kDirectMaxK && d <= kernels::kDirectMaxD && k * d <= kDirectMaxFloats;
}

double assign_nearest_gemm(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                           const float* centroids, Metric metric, const AssignOutput& out,
                           int num_threads) {
  if (n <= 0 || k <= 0) return 0;
  const ArgMinSelector selector{metric, d, x, x_norms, k, centroids, max_norm_sqr(k, d, centroids),
                                out};
  return tiles::run_tiles(metric, tiles::RowSource{d, x}, n, kAssignBlockRows, k, centroids,
                          selector, num_threads);
}

double assign_nearest_direct(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                             const float* centroids, Metric metric, const AssignOutput& out,
                             int num_threads) {
  if (n <= 0 || k <= 0) return 0;
  if (k > kDirectMaxK) {
    return assign_nearest_gemm(n, d, x, x_norms, k, centroids, metric, out, num_threads);
  }
  const DirectCentroids direct(metric, k, d, centroids);
  return parallel_blocks(
      n, kAssignBlockRows, num_threads, Work{n * 2 * k * d, tiles::kMinFlopsPerThread},
      make_scratch, [&](BlockScratch& s, int64_t, int64_t begin, int64_t end) {
        direct.argmin(end - begin, x + begin * d, s.best.data(), out.labels + begin);
        return finish_block(metric, x_norms, d, x, begin, end, s, out);
      });
}

double assign_nearest(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                      const float* centroids, Metric metric, const AssignOutput& out,
                      int num_threads) {
  if (assign_uses_direct_kernel(k, d)) {
    return assign_nearest_direct(n, d, x, x_norms, k, centroids, metric, out, num_threads);
  }
  return assign_nearest_gemm(n, d, x, x_norms, k, centroids, metric, out, num_threads);
}

}  // namespace ivftrain
