#include "linalg/assign.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "linalg/distances.h"
#include "linalg/gemm_tiles.h"
#include "linalg/metric.h"
#include "linalg/simd.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

using simd::f32x16;
using tiles::kInf;

// Shapes for which the direct kernel beats SGEMM, measured on Zen 4 with OpenBLAS 0.3.21 (e.g.
// d = 8, k = 256: 50 against 37 GFLOPS): a shallow GEMM spends more time packing and writing
// its output than multiplying. The bound on k * d keeps the transposed centroids in half of L1;
// beyond it (d = 32, k = 256) SGEMM wins again.
constexpr int64_t kDirectMaxK = 256;
constexpr int64_t kDirectMaxD = 64;
constexpr int64_t kDirectMaxFloats = 4096;

// Per-thread scratch of both kernels: the best score of each row of a block, and its norms.
struct BlockScratch {
  std::vector<float> best, norms;
  int32_t* labels = nullptr;  // the block's slice of the output (argmin selector)
};

BlockScratch make_scratch() {
  return BlockScratch{std::vector<float>(static_cast<size_t>(kAssignBlockRows)),
                      std::vector<float>(static_cast<size_t>(kAssignBlockRows)), nullptr};
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
struct ArgMinSelector {
  Metric metric;
  int64_t d;
  const float* x;
  const float* x_norms;
  AssignOutput out;

  BlockScratch make_state() const { return make_scratch(); }
  void start(BlockScratch& s, int64_t begin, int64_t end) const {
    s.labels = out.labels + begin;
    std::fill(s.best.begin(), s.best.begin() + (end - begin), kInf);
    std::fill(s.labels, s.labels + (end - begin), 0);
  }
  void select(BlockScratch& s, int64_t r, const tiles::TileRow& row) const {
    simd::ArgMin am;
    int64_t j = 0;
    for (; j + simd::kWidth <= row.size; j += simd::kWidth) {
      am.update(row.scores<f32x16>(j), simd::iota(static_cast<int32_t>(j)));
    }
    float bv;
    int32_t bi;
    am.reduce(&bv, &bi);
    for (; j < row.size; ++j) {
      const float v = row.score(j);
      if (v < bv) {
        bv = v;
        bi = static_cast<int32_t>(j);
      }
    }
    if (bv < s.best[r]) {
      s.best[r] = bv;
      s.labels[r] = row.base + bi;
    }
  }
  double finish(BlockScratch& s, int64_t begin, int64_t end, const float*) const {
    return finish_block(metric, x_norms, d, x, begin, end, s, out);
  }
};

// Direct kernel: NV vectors of 16 centroids, all accumulators of a row held in registers.
// ct is the transposed centroid matrix, d x (16 NV), padded with zero columns; init holds the
// bias per centroid, +inf in the padding so padded centroids never win.
template <int NV>
void direct_rows(int64_t rows, int64_t d, const float* x, const float* ct, const float* init,
                 float alpha, float* best, int32_t* labels) {
  constexpr int W = simd::kWidth;
  for (int64_t i = 0; i < rows; ++i) {
    const float* xi = x + i * d;
    f32x16 acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = simd::load(init + v * W);
    for (int64_t j = 0; j < d; ++j) {
      const f32x16 xj = simd::splat(alpha * xi[j]);
      const float* row = ct + j * (NV * W);
      for (int v = 0; v < NV; ++v) acc[v] += xj * simd::load(row + v * W);
    }
    simd::ArgMin am;
    for (int v = 0; v < NV; ++v) am.update(acc[v], simd::iota(v * W));
    am.reduce(&best[i], &labels[i]);
  }
}

using DirectFn = void (*)(int64_t, int64_t, const float*, const float*, const float*, float, float*,
                          int32_t*);

template <int... NV>
constexpr auto make_direct_table(std::integer_sequence<int, NV...>) {
  return std::array<DirectFn, sizeof...(NV)>{&direct_rows<NV + 1>...};
}
constexpr auto kDirectTable =
    make_direct_table(std::make_integer_sequence<int, kDirectMaxK / simd::kWidth>{});

}  // namespace

bool assign_uses_direct_kernel(int64_t k, int64_t d) {
  return k <= kDirectMaxK && d <= kDirectMaxD && k * d <= kDirectMaxFloats;
}

double assign_nearest_gemm(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                           const float* centroids, Metric metric, const AssignOutput& out,
                           int num_threads) {
  return tiles::run_tiles(metric, tiles::RowSource{d, x}, n, kAssignBlockRows, k, centroids,
                          ArgMinSelector{metric, d, x, x_norms, out}, num_threads);
}

double assign_nearest_direct(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                             const float* centroids, Metric metric, const AssignOutput& out,
                             int num_threads) {
  if (n <= 0 || k <= 0) return 0;
  if (k > kDirectMaxK) {
    return assign_nearest_gemm(n, d, x, x_norms, k, centroids, metric, out, num_threads);
  }
  constexpr int64_t W = simd::kWidth;
  const int64_t nv = (k + W - 1) / W;
  const int64_t kp = nv * W;
  std::vector<float> ct(static_cast<size_t>(d * kp), 0.0f);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) ct[j * kp + c] = centroids[c * d + j];
  }
  std::vector<float> init = tiles::centroid_bias(metric, k, d, centroids);
  init.resize(static_cast<size_t>(kp), kInf);
  IVF_DCHECK(nv >= 1 && nv <= static_cast<int64_t>(kDirectTable.size()),
             "k <= kDirectMaxK: one table entry per count of 16-centroid vectors");
  const DirectFn kernel = kDirectTable[static_cast<size_t>(nv - 1)];
  const float alpha = gemm_alpha(metric);
  return parallel_blocks(n, kAssignBlockRows, num_threads,
                         Work{n * 2 * k * d, tiles::kMinFlopsPerThread}, make_scratch,
                         [&](BlockScratch& s, int64_t, int64_t begin, int64_t end) {
                           kernel(end - begin, d, x + begin * d, ct.data(), init.data(), alpha,
                                  s.best.data(), out.labels + begin);
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
