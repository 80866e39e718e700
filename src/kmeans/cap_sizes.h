// Capping the sizes of one assignment (hierarchical k-means' groups): rows move out of oversized
// clusters into their next-nearest centroids with room, then the centroids are recomputed.
// Cheap, but the nearest-centroid sizes of the result are not bounded: for that, the user's
// --balance moves the centroids themselves (rebalance.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ivftrain/status.h"
#include "linalg/metric.h"

namespace ivftrain {

class KMeansShard;

struct CapStats {
  int64_t capacity = 0;  // the cap on cluster sizes
  int64_t rows_moved = 0;
  int64_t largest_before = 0, largest_after = 0;
  double objective = 0;  // of the balanced labels against the recomputed centroids
  // Sharded: the rows of over-full clusters every shard gathered, and in how many rounds.
  int64_t rows_gathered = 0, gather_rounds = 0;
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
// The candidates are computed one distance at a time (metric_distance), so they depend on the row
// and the centroids alone, never on the rows computed with it: the sharded form below decides
// exactly as this one.
CapStats cap_cluster_sizes(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                           Metric metric, int num_threads, float* centroids, int32_t* labels);

// The same over rows split between shards (x: this shard's n rows, labels theirs; centroids the
// same on every shard): every shard ends with the centroids, and each row with the label,
// cap_cluster_sizes gives over all the rows. The sizes are summed over the shards; rows of
// over-full clusters (their global index, cluster, distance to it and kCandidates nearest
// centroids: 16 + 8 x 8 bytes each) are gathered on every shard in increasing cost of their
// cheapest move, in rounds, until the sequence of moves provably ends (at least the rows that
// must move, at most all the rows of over-full clusters), and every shard takes the same
// sequential decisions; the few rows whose candidates are all full are fetched for the scan.
// stats.objective is left 0 (it would need another pass).
CapStats cap_cluster_sizes_sharded(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                                   Metric metric, int num_threads, float* centroids,
                                   int32_t* labels, KMeansShard& shard);

// The capping in two steps, for workers that exchange files (pipeline/hier_rounds.cc): each
// worker writes the records of its rows in over-full clusters, and one process decides the
// moves from all of them, exactly as cap_cluster_sizes decides over all the rows.
//
// The records of this worker's rows whose cluster (sizes: over all the workers) holds more than
// `capacity` rows: per row its global index, its cluster and its distance to it, and its
// kCandidates (8) nearest centroids with their distances, computed one distance at a time
// (as cap_cluster_sizes: the bits depend on the row and the centroids alone); cap_record_words(k)
// int64 words (80 bytes) a row.
std::vector<int64_t> cap_records(int64_t n, int64_t d, const float* x, int64_t k,
                                 const float* centroids, Metric metric, const int32_t* labels,
                                 const std::vector<int64_t>& sizes, int64_t capacity,
                                 const int64_t* global_rows, int num_threads);
int64_t cap_record_words(int64_t k);

// The moves decided from every worker's cap_records.
struct CapMoves {
  std::vector<int64_t> rows;  // the global rows that move, increasing
  std::vector<int32_t> to;    // their new clusters
  int64_t records = 0;        // the records the decision read
};
// The global rows' vectors (rows x d, in the order given): the few rows whose candidates were
// all full, for a scan of all k centroids.
using CapFetch = std::function<Result<std::vector<float>>(const std::vector<int64_t>& rows)>;
// The moves cap_cluster_sizes takes over all the rows, from `records` (each worker's
// cap_records, in any order); `sizes` (over all the rows) become the sizes after the moves.
// Records that are not well-formed (sizes, clusters out of range, a row given twice) are refused
// (kInvalidArgument); a failed fetch is returned.
Result<CapMoves> decide_cap_moves(const std::vector<std::vector<int64_t>>& records, int64_t d,
                                  int64_t k, const float* centroids, Metric metric,
                                  int64_t capacity, std::vector<int64_t>* sizes,
                                  const CapFetch& fetch);

// The objective of given labels (sum of squared l2 distances, or of -inner products), each
// distance computed directly rather than through GEMM, summed over fixed row blocks in block
// order: the same whatever the thread count.
double labelled_objective(int64_t n, int64_t d, const float* x, const float* centroids,
                          const int32_t* labels, Metric metric, int num_threads);

}  // namespace ivftrain
