// The user's --balance: moves the centroids themselves, so that assigning every row to its
// nearest centroid, as an index does, gives no cluster above the cap.
#pragma once

#include <cstdint>

namespace ivftrain {

struct RebalanceStats {
  int64_t capacity = 0;                           // the cap on cluster sizes (balance_capacity)
  int64_t largest_before = 0, largest_after = 0;  // nearest-centroid sizes
  int rounds = 0;                                 // rounds that changed centroids
  int64_t clusters_split = 0;                     // oversized clusters cut into pieces
  int64_t slots_given = 0;  // centroid slots given to pieces (of empty or small clusters)
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
// after kMaxRebalanceRounds rounds, when the rows above the cap plus the empty clusters have not
// fallen for 4 rounds (the best state seen is then restored), or when no cluster can be cut
// (all its rows identical): largest_after then says how far it got. Cutting also undoes the local
// minima of Lloyd's k-means that put two centroids in one true cluster and one between two, so the
// objective usually falls. On return labels (n) holds each row's nearest centroid (up to float
// rounding at near-ties: distances from different kernels are compared). `seed` is the k-means seed
// (each cut derives its own from it). Deterministic for a given seed, whatever the thread count.
inline constexpr int kMaxRebalanceRounds = 32;
RebalanceStats rebalance_centroids(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                                   uint64_t seed, int num_threads, float* centroids,
                                   int32_t* labels);

}  // namespace ivftrain
