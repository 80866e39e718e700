// Balancing, two ways:
// - balance_centroids (the user's --balance): moves the centroids themselves, so that assigning
//   every row to its nearest centroid, as an index does, gives no cluster above the cap;
// - balance_clusters (hierarchical k-means' groups): caps the sizes of one assignment by moving
//   rows out of oversized clusters into their next-nearest centroids with room, then recomputes
//   the centroids. Cheap, but the nearest-centroid sizes of the result are not bounded.
#pragma once

#include <cstdint>

#include "linalg/metric.h"

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
                              Metric metric, int num_threads, float* centroids, int32_t* labels);

// The objective of given labels (sum of squared l2 distances, or of -inner products), each
// distance computed directly rather than through GEMM, summed over fixed row blocks in block
// order: the same whatever the thread count.
double labelled_objective(int64_t n, int64_t d, const float* x, const float* centroids,
                          const int32_t* labels, Metric metric, int num_threads);

struct CentroidBalanceStats {
  int64_t capacity = 0;                           // the cap on cluster sizes (balance_capacity)
  int64_t largest_before = 0, largest_after = 0;  // nearest-centroid sizes
  int rounds = 0;                                 // rounds that changed centroids
  int64_t clusters_split = 0;                     // oversized clusters cut into pieces
  int64_t clusters_merged = 0;  // centroid slots given to pieces (empty or small clusters)
  double objective_before = 0, objective = 0;  // nearest-centroid objectives
};

// Adjusts the k centroids until assigning every row of x to its nearest centroid (l2: under the
// largest inner product, long centroids win wherever they are) puts at most
// balance_capacity(n, k, balance) rows in any cluster, and (as far as it can) at least one in
// every cluster. Each round cuts every oversized cluster into about size / mean pieces with a
// small k-means over its own rows, and takes the centroid slots the extra pieces need from the
// clusters that cost least to give up (empty ones first, then small ones whose rows have a near
// second-nearest centroid); slots still empty take half of the largest clusters. Rows are then
// reassigned exactly, but only where a centroid changed (the rows of changed clusters against all
// centroids, the others against the changed centroids only). Stops when nothing is left to do,
// after kMaxBalanceRounds rounds, when the rows above the cap plus the empty clusters have not
// fallen for 4 rounds (the best state seen is then restored), or when no cluster can be cut
// (all its rows identical): largest_after then says how far it got. Cutting also undoes the local
// minima of Lloyd's k-means that put two centroids in one true cluster and one between two, so the
// objective usually falls. On return labels (n) holds each row's nearest centroid (up to float
// rounding at near-ties: distances from different kernels are compared). `seed` is the k-means seed
// (each cut derives its own from it). Deterministic for a given seed, whatever the thread count.
inline constexpr int kMaxBalanceRounds = 32;
CentroidBalanceStats balance_centroids(int64_t n, int64_t d, const float* x, int64_t k,
                                       double balance, uint64_t seed, int num_threads,
                                       float* centroids, int32_t* labels);

}  // namespace ivftrain
