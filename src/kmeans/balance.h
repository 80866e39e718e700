// Balancing: caps every cluster's size by moving rows out of oversized clusters into their
// next-nearest centroids with room, then recomputing the centroids.
#pragma once

#include <cstdint>

namespace ivftrain {

struct BalanceStats {
  int64_t capacity = 0;  // the cap on cluster sizes
  int64_t rows_moved = 0;
  int64_t largest_before = 0, largest_after = 0;
  double objective = 0;  // of the balanced labels against the recomputed centroids
};

// The cap for `balance` (> 1): floor(balance * n / k), but never below ceil(n / k), the
// smallest cap that all rows fit under.
int64_t balance_capacity(int64_t n, int64_t k, double balance);

// Moves rows so that no cluster holds more than balance_capacity rows, at the least cost: all
// possible moves (a row of an oversized cluster to one of its kCandidates nearest centroids) are
// taken in increasing order of the distance they add, ties by row index, while the source is
// oversized and the target has room; rows whose candidates are all full go to the nearest
// cluster with room (a scan of all k). Then every non-empty cluster's centroid becomes the mean
// of its rows again. labels (n) and centroids (k x d) are updated in place. Sequential decisions
// over candidates computed in fixed blocks: the result does not depend on the thread count.
BalanceStats balance_clusters(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                              bool inner_product, int num_threads, float* centroids,
                              int32_t* labels);

}  // namespace ivftrain
