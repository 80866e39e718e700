// Labels and distances that depend on the row and the centroids alone, never on the rows
// assigned with it.
//
// SGEMM's rounding of one row's scores can depend on the row's place in its block of rows:
// OpenBLAS computes the rows at the edge of a block with other kernels, which add in another
// order (measured: rows of one 128-dim block against 1,024 centroids differ in their last bits
// between a 512-row call and a 7-row call). The thread count never changes the blocks
// (gemm_tiles.h), but sharded training does (a shard's blocks hold other rows), and so do the
// rows the bounds skip (bounded_assign.h). A label decided by scores closer than that rounding
// could then differ between local and sharded training. So the GEMM selectors keep the two best
// scores of each row: when they are further apart than any rounding could make them, the best
// is the row's true nearest centroid; otherwise the row is settled from distances computed one
// centroid at a time (metric_distance, whose bits depend on the two vectors only). Distances
// reported are likewise computed from the row and its centroid.
#pragma once

#include <cstdint>

#include "ivftrain/metric.h"

namespace ivftrain {

// The largest squared norm of the k rows of `rows` (k x d).
float max_norm_sqr(int64_t k, int64_t d, const float* rows);

// Whether a row whose two best tile scores are `best` and `second` has a certain nearest
// centroid. A score bias + alpha x.c from SGEMM of depth d is off by at most about
// 2 d 2^-24 (||x||^2 + ||c||^2); the gap must exceed twice that bound twice over, so that the
// true gap is positive whatever each score's rounding.
inline bool nearest_is_certain(float best, float second, int64_t d, float x_norm_sqr,
                               float max_c_norm_sqr) {
  const double margin =
      0x1p-21 * static_cast<double>(d) * (double(x_norm_sqr) + double(max_c_norm_sqr));
  return double(second) - double(best) > margin;
}

struct RowNearest {
  int32_t label = 0;
  float best = 0, second = 0;  // metric distances (squared l2, or -x.c); second +inf if k == 1
};

// The nearest and second-nearest of the k centroids to row x by metric_distance, one centroid
// at a time; ties go to the smallest index.
RowNearest nearest_one_by_one(Metric metric, const float* x, int64_t d, int64_t k,
                              const float* centroids);

// The same for the `count` rows rows[i] of x (rows of d floats; out[i] gets row rows[i]'s
// result), the near ties of a block: the centroids are read a cache-sized chunk at a time,
// every row measured against a chunk before the next is read, instead of all k centroids
// streamed from memory once per row (at 768 dims and 1,024 centroids, 3 MB per row, which made
// the settling of near ties memory-bound).
void nearest_one_by_one(Metric metric, const float* x, const int64_t* rows, int64_t count,
                        int64_t d, int64_t k, const float* centroids, RowNearest* out);

}  // namespace ivftrain
