#include "linalg/assign.h"

#include <cblas.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <vector>

#include "linalg/distances.h"
#include "linalg/metric.h"
#include "linalg/simd.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

using simd::f32x16;
using simd::i32x16;

// Centroids per SGEMM call. With kAssignBlockRows rows this keeps the x.c tile (1 MiB), the
// centroid tile and the row block within the per-core L2/L3, and each call is large enough
// (512 x 512 x d) for OpenBLAS to run near its peak.
constexpr int64_t kCentroidTile = 512;

// Shapes for which the direct kernel beats SGEMM, measured on Zen 4 with OpenBLAS 0.3.21 (e.g.
// d = 8, k = 256: 50 against 37 GFLOPS): a shallow GEMM spends more time packing and writing
// its output than multiplying. The bound on k * d keeps the transposed centroids in half of L1;
// beyond it (d = 32, k = 256) SGEMM wins again.
constexpr int64_t kDirectMaxK = 256;
constexpr int64_t kDirectMaxD = 64;
constexpr int64_t kDirectMaxFloats = 4096;

constexpr float kInf = std::numeric_limits<float>::infinity();

int64_t num_blocks(int64_t n) { return (n + kAssignBlockRows - 1) / kAssignBlockRows; }

// Runs body.run(state, begin, end) for every fixed row block, in parallel (one state per
// thread, from body.make_state()), and returns the sum of what the runs returned, added in
// block order. `flops_per_row` only limits the threads for jobs too small to be worth waking
// threads for; it does not change the result.
template <typename Body>
double for_each_block(int64_t n, int64_t flops_per_row, int num_threads, Body&& body) {
  const int64_t blocks = num_blocks(n);
  std::vector<double> sums(static_cast<size_t>(blocks), 0.0);
  constexpr int64_t kMinFlopsPerThread = int64_t{1} << 22;
  const int64_t useful = std::min(blocks, n * flops_per_row / kMinFlopsPerThread);
  const int threads = static_cast<int>(
      std::clamp<int64_t>(useful, 1, std::max(1, resolve_threads(num_threads))));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    auto state = body.make_state();
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * kAssignBlockRows;
      const int64_t end = std::min(n, begin + kAssignBlockRows);
      sums[static_cast<size_t>(b)] = body.run(state, begin, end);
    }
  }
  double total = 0;
  for (double s : sums) total += s;
  return total;
}

// The x norms of rows [begin, end): given, or computed into `scratch`.
const float* block_norms(const float* x_norms, int64_t d, const float* x, int64_t begin,
                         int64_t end, std::vector<float>& scratch) {
  if (x_norms) return x_norms + begin;
  row_norms_sqr(end - begin, d, x + begin * d, scratch.data());
  return scratch.data();
}

// Turns the block's best scores into distances (written to out.distances when wanted) and
// returns their sum.
template <typename Scratch>
double finish_block(Metric metric, const float* x_norms, int64_t d, const float* x,
                    int64_t begin, int64_t end, Scratch& s, const AssignOutput& out) {
  const float* norms =
      uses_norms(metric) ? block_norms(x_norms, d, x, begin, end, s.norms) : nullptr;
  double sum = 0;
  for (int64_t i = 0; i < end - begin; ++i) {
    const float dist = score_to_distance(metric, norms ? norms[i] : 0.0f, s.best[i]);
    if (out.distances) out.distances[begin + i] = dist;
    sum += dist;
  }
  return sum;
}

// Running argmin of row[j] + bias[j] over one tile of kc centroids starting at `base`, merged
// into (*best, *label). Tiles are visited in increasing base order, so strict < keeps the
// smallest index among ties.
inline void tile_argmin(const float* row, const float* bias, int64_t kc, int32_t base,
                        float* best, int32_t* label) {
  simd::ArgMin am;
  int64_t j = 0;
  for (; j + simd::kWidth <= kc; j += simd::kWidth) {
    am.update(simd::load(row + j) + simd::load(bias + j), simd::iota(static_cast<int32_t>(j)));
  }
  float bv;
  int32_t bi;
  am.reduce(&bv, &bi);
  for (; j < kc; ++j) {
    const float v = row[j] + bias[j];
    if (v < bv) {
      bv = v;
      bi = static_cast<int32_t>(j);
    }
  }
  if (bv < *best) {
    *best = bv;
    *label = base + bi;
  }
}

struct GemmBody {
  int64_t d, k;
  const float* x;
  const float* x_norms;
  const float* centroids;
  const float* bias;  // ||c||^2 (l2) or 0 (inner product)
  Metric metric;
  AssignOutput out;

  struct State {
    std::vector<float> dots, best, norms;
  };
  State make_state() const {
    State s;
    s.dots.resize(static_cast<size_t>(kAssignBlockRows * std::min(k, kCentroidTile)));
    s.best.resize(static_cast<size_t>(kAssignBlockRows));
    s.norms.resize(static_cast<size_t>(kAssignBlockRows));
    return s;
  }
  double run(State& s, int64_t begin, int64_t end) const {
    const int64_t rows = end - begin;
    const float alpha = gemm_alpha(metric);
    int32_t* labels = out.labels + begin;
    std::fill(s.best.begin(), s.best.begin() + rows, kInf);
    std::fill(labels, labels + rows, 0);
    for (int64_t t = 0; t < k; t += kCentroidTile) {
      const int64_t kc = std::min(kCentroidTile, k - t);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
                  static_cast<int>(kc), static_cast<int>(d), alpha, x + begin * d,
                  static_cast<int>(d), centroids + t * d, static_cast<int>(d), 0.0f,
                  s.dots.data(), static_cast<int>(kc));
      for (int64_t i = 0; i < rows; ++i) {
        tile_argmin(s.dots.data() + i * kc, bias + t, kc, static_cast<int32_t>(t), &s.best[i],
                    labels + i);
      }
    }
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

using DirectFn = void (*)(int64_t, int64_t, const float*, const float*, const float*, float,
                          float*, int32_t*);

template <int... NV>
constexpr auto make_direct_table(std::integer_sequence<int, NV...>) {
  return std::array<DirectFn, sizeof...(NV)>{&direct_rows<NV + 1>...};
}
constexpr auto kDirectTable =
    make_direct_table(std::make_integer_sequence<int, kDirectMaxK / simd::kWidth>{});

struct DirectBody {
  int64_t d;
  const float* x;
  const float* x_norms;
  const float* ct;
  const float* init;
  int nv;
  Metric metric;
  AssignOutput out;

  struct State {
    std::vector<float> best, norms;
  };
  State make_state() const {
    return State{std::vector<float>(static_cast<size_t>(kAssignBlockRows)),
                 std::vector<float>(static_cast<size_t>(kAssignBlockRows))};
  }
  double run(State& s, int64_t begin, int64_t end) const {
    const int64_t rows = end - begin;
    kDirectTable[static_cast<size_t>(nv - 1)](rows, d, x + begin * d, ct, init,
                                               gemm_alpha(metric), s.best.data(),
                                               out.labels + begin);
    return finish_block(metric, x_norms, d, x, begin, end, s, out);
  }
};

std::vector<float> centroid_bias(int64_t k, int64_t d, const float* centroids, Metric metric) {
  std::vector<float> bias(static_cast<size_t>(k), 0.0f);
  if (uses_norms(metric)) row_norms_sqr(k, d, centroids, bias.data());
  return bias;
}

}  // namespace

bool assign_uses_direct_kernel(int64_t k, int64_t d) {
  return k <= kDirectMaxK && d <= kDirectMaxD && k * d <= kDirectMaxFloats;
}

double assign_nearest_gemm(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                           const float* centroids, Metric metric, const AssignOutput& out,
                           int num_threads) {
  if (n <= 0 || k <= 0) return 0;
  use_single_threaded_blas();
  const std::vector<float> bias = centroid_bias(k, d, centroids, metric);
  GemmBody body{d, k, x, x_norms, centroids, bias.data(), metric, out};
  return for_each_block(n, 2 * k * d, num_threads, body);
}

double assign_nearest_direct(int64_t n, int64_t d, const float* x, const float* x_norms,
                             int64_t k, const float* centroids, Metric metric,
                             const AssignOutput& out, int num_threads) {
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
  std::vector<float> init = centroid_bias(k, d, centroids, metric);
  init.resize(static_cast<size_t>(kp), kInf);
  DirectBody body{d, x, x_norms, ct.data(), init.data(), static_cast<int>(nv), metric, out};
  return for_each_block(n, 2 * k * d, num_threads, body);
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
