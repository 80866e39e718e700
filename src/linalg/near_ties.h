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
#include <vector>

#include "ivftrain/metric.h"

namespace ivftrain {

// The largest squared norm of the k rows of `rows` (k x d).
float max_norm_sqr(int64_t k, int64_t d, const float* rows);

// Whether a row whose two best tile scores are `best` and `second` has a certain nearest
// centroid. A score bias + alpha x.c from SGEMM of depth d is off by at most about
// 2 d 2^-24 (||x||^2 + ||c||^2); the gap must exceed twice that bound twice over, so that the
// true gap is positive whatever each score's rounding.
inline double near_tie_margin(int64_t d, float x_norm_sqr, float max_c_norm_sqr) {
  return 0x1p-21 * static_cast<double>(d) * (double(x_norm_sqr) + double(max_c_norm_sqr));
}
inline bool nearest_is_certain(float best, float second, int64_t d, float x_norm_sqr,
                               float max_c_norm_sqr) {
  return double(second) - double(best) > near_tie_margin(d, x_norm_sqr, max_c_norm_sqr);
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

// The centroids that may be the nearest of the rows of a block whose two best scores end up too
// close to call, collected tile by tile as a selector merges the tiles, so that such a row is
// settled from those few centroids rather than all k (at 768 dims and 1,024 centroids, the
// settling of near ties over all k was a tenth of a k-means run).
//
// Which centroids: after each tile, a row whose running best and second are within its margin
// (near_tie_margin) keeps the label the tile displaced and every centroid of the tile whose
// score is within the margin of the running best. The running best only falls, so every
// centroid whose score ends within the margin of the final best is kept (a centroid of a tile
// after which the row was certain cannot be: the second score then was above best + margin),
// and so is every centroid whose exact distance (metric_distance) could be the smallest: the
// margin covers the rounding of both the scores and the exact distances. A row with more than
// kMax candidates is settled against all k.
class TieCandidates {
 public:
  static constexpr int kMax = 32;

  // For a block of `rows` rows, with each row's margin (+inf: collect nothing, and settle
  // against all k).
  void start(int64_t rows, const double* margins);
  // Around each tile's selection into the block's running best, second and labels: before
  // (remembers the labels) and after (collects the tile's candidates).
  void before(int64_t rows, const int32_t* labels);
  void after(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
             int32_t base, const float* best, const float* second, const int32_t* labels);
  // Settles the `count` rows tied[t] of the block (xb: its rows, d floats each) whose final
  // best score is best[tied[t]] and label labels[tied[t]]: out[t].label and .best as
  // nearest_one_by_one gives them; .second the smaller of the exact second among the
  // candidates and the distance of best + margin (below every other centroid's score).
  // x_norms: the block's rows' squared norms (l2).
  void settle(Metric metric, const float* xb, const float* x_norms, const int64_t* tied,
              int64_t count, int64_t d, int64_t k, const float* centroids, const float* best,
              const int32_t* labels, RowNearest* out) const;

 private:
  std::vector<double> margin_;
  std::vector<int32_t> previous_, count_, ids_;  // ids_: kMax per row; count_ > kMax: all k
};

}  // namespace ivftrain
