// The one blocked SGEMM loop behind assign_nearest, two_nearest and nearest_candidates.
//
// Rows are taken in fixed blocks (contiguous, or gathered from a list of row indices). For each
// block and each tile of kCentroidTile centroids, cblas_sgemm writes alpha x.c (gemm_alpha) into
// a rows x tile scratch, and every row of it goes, together with the tile's centroid bias
// (||c||^2 for l2, 0 for inner products), to a *selector*: argmin, two smallest or top-t. So no
// n x k distance matrix is ever held, and the three kernels differ only in their selector.
//
// Determinism: block boundaries depend only on the row count and the entry point's block size;
// each block runs on one thread with single-threaded SGEMM on the same operands, tiles are
// visited in increasing centroid order, and the selectors' block results are added in block
// order (parallel_blocks). The result is bit-identical whatever the thread count.
#pragma once

#include <cblas.h>
#include <hwy/aligned_allocator.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "linalg/distances.h"
#include "linalg/metric.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain::tiles {

inline constexpr float kInf = std::numeric_limits<float>::infinity();

// Centroids per SGEMM call. With 512-row blocks this keeps the x.c tile (1 MiB), the centroid
// tile and the row block within the per-core L2/L3, and each call is large enough
// (512 x 512 x d) for OpenBLAS to run near its peak.
inline constexpr int64_t kCentroidTile = 512;

// Below this many flops a thread is not worth waking (about 0.1 ms of SGEMM).
inline constexpr int64_t kMinFlopsPerThread = int64_t{1} << 22;

// One tile of a block: score(r, j) = bias[j] + alpha x_r.c for centroid base + j, j < size, row
// r < the block's rows. The bias is added as the selector reads the scores (src/linalg/kernels.h),
// rather than in a pass of its own over the tile.
struct Tile {
  const float* dots;  // alpha x.c, rows x size, leading dimension ld
  int64_t ld;
  const float* bias;  // the tile's slice of the centroid bias
  int64_t size;
  int32_t base;

  float score(int64_t r, int64_t j) const { return dots[r * ld + j] + bias[j]; }
};

// The bias of each centroid's score: ||c||^2 (l2) or 0 (inner product).
inline std::vector<float> centroid_bias(Metric metric, int64_t k, int64_t d,
                                        const float* centroids) {
  std::vector<float> bias(static_cast<size_t>(k), 0.0f);
  if (uses_norms(metric)) row_norms_sqr(k, d, centroids, bias.data());
  return bias;
}

// Where a block's rows come from: rows [begin, end) of x, or x[rows[begin, end)] when `rows`
// is set (copied into a contiguous buffer for SGEMM).
struct RowSource {
  int64_t d;
  const float* x;
  const int64_t* rows = nullptr;
};

// A selector provides
//   State make_state() const;                       scratch of one thread, for block_rows rows
//   void start(State&, int64_t begin, int64_t end) const;   resets the selection for a block
//   void select(State&, int64_t rows, const Tile&) const;   the block's rows, one tile
//   double finish(State&, int64_t begin, int64_t end, const float* xb) const;
// finish sees the block's rows (xb, contiguous) and returns what the block adds to the total.
//
// Runs the tile loop over `count` rows of `src` in blocks of block_rows, in parallel, and
// returns the sum of the blocks' finish() results, in block order. `centroid_tile` centroids
// per SGEMM call (a selector that wants all of a row's scores at once asks for k).
template <typename Selector>
double run_tiles(Metric metric, const RowSource& src, int64_t count, int64_t block_rows, int64_t k,
                 const float* centroids, const Selector& selector, int num_threads,
                 int64_t centroid_tile = kCentroidTile) {
  if (count <= 0 || k <= 0) return 0;
  IVF_DCHECK(k <= std::numeric_limits<int32_t>::max(), "labels are int32");
  const SingleThreadedBlas blas;  // for every SGEMM below, on any thread
  const int64_t d = src.d;
  const std::vector<float> bias_values = centroid_bias(metric, k, d, centroids);
  const auto bias = hwy::AllocateAligned<float>(static_cast<size_t>(k));  // on a cache line too
  std::copy(bias_values.begin(), bias_values.end(), bias.get());
  const float alpha = gemm_alpha(metric);
  const int64_t tile = std::min(k, centroid_tile);
  // The scratch starts on cache lines, so that the selectors' vector loads of the scores never
  // split one (malloc aligns large blocks to 16 bytes only).
  struct State {
    hwy::AlignedFreeUniquePtr<float[]> xb, dots;
    decltype(selector.make_state()) selection;
  };
  auto make_state = [&] {
    return State{hwy::AllocateAligned<float>(src.rows ? static_cast<size_t>(block_rows * d) : 1),
                 hwy::AllocateAligned<float>(static_cast<size_t>(block_rows * tile)),
                 selector.make_state()};
  };
  auto body = [&](State& s, int64_t, int64_t begin, int64_t end) {
    const int64_t n = end - begin;
    const float* xb = src.x + begin * d;
    if (src.rows) {
      gather_rows(d, src.x, src.rows + begin, n, s.xb.get());
      xb = s.xb.get();
    }
    selector.start(s.selection, begin, end);
    for (int64_t t = 0; t < k; t += tile) {
      const int64_t kc = std::min(tile, k - t);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n),
                  static_cast<int>(kc), static_cast<int>(d), alpha, xb, static_cast<int>(d),
                  centroids + t * d, static_cast<int>(d), 0.0f, s.dots.get(), static_cast<int>(kc));
      selector.select(s.selection, n,
                      Tile{s.dots.get(), kc, bias.get() + t, kc, static_cast<int32_t>(t)});
    }
    return selector.finish(s.selection, begin, end, xb);
  };
  return parallel_blocks(count, block_rows, num_threads,
                         Work{count * 2 * k * d, kMinFlopsPerThread}, make_state, body);
}

}  // namespace ivftrain::tiles
