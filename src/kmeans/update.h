// The update step of Lloyd's k-means: per-cluster sums of an assignment, centroids as the means
// of their rows, and empty clusters refilled by splitting large ones.
#pragma once

#include <cstdint>
#include <vector>

#include "util/rng.h"

namespace ivftrain {

// Scratch reused across iterations so the loop does not allocate.
struct ClusterMembers {
  std::vector<int64_t> offsets;  // k + 1: rows of cluster c are rows[offsets[c], offsets[c+1])
  std::vector<int64_t> rows;     // n row indices, increasing inside each cluster
  // Clusters whose rows are all identical: splitting them cannot separate anything.
  std::vector<uint8_t> identical;

  int64_t size(int64_t c) const { return offsets[c + 1] - offsets[c]; }
};

// Buckets rows by label (a counting sort, so rows stay in increasing order inside a cluster).
void group_by_label(int64_t n, int64_t k, const int32_t* labels, ClusterMembers* members);

// The fixed-point grid of the update's sums, which makes them exact (docs/sharded.md): every
// value is rounded to a multiple of `step` before it is added, and step is chosen so that no
// partial sum of the run's rows can exceed 2^53 steps, so every double addition is exact and
// the sums do not depend on the order of the rows, nor on how they are split between threads,
// shards or workers. step = 2^(E + N - 53) with 2^E >= the largest |value| of the rows
// clustered and 2^N >= their number (at least 4): values down to 2^(53 - N) times smaller than
// the largest are added without rounding; smaller ones are rounded to the grid.
struct SumGrid {
  double step = 1.0;

  // The grid for `rows` rows (over all shards) whose largest absolute value is `max_abs`.
  static SumGrid make(double max_abs, int64_t rows);
  // 1.5 x 2^52 steps: (v + magic) - magic rounds v to the grid (ties to even) for
  // |v| <= 2^51 steps.
  double magic() const { return 1.5 * 0x1p52 * step; }
  bool operator==(const SumGrid&) const = default;
};

// The largest |x[i]| over the n x d values of x (0 for none).
float max_abs_value(int64_t n, int64_t d, const float* x);

// What the update step needs from an assignment, as a value: the statistics of separate shards
// of the rows can be merged, and the merged value gives the update of all the rows, bit for bit
// whatever the split and the merge order. Plain vectors of integers and floats, so that a
// worker can write them to a file or reduce them with MPI (sums: MPI_SUM of doubles is exact
// on the grid; counts: sum; first_row: min; first: from the owner of the min).
struct ClusterSums {
  int64_t k = 0, d = 0;
  SumGrid grid;                    // the grid every value was rounded to (equal in a merge)
  std::vector<double> sums;        // k x d: the exact sum of each cluster's rows on the grid
  std::vector<int64_t> counts;     // k: rows per cluster
  std::vector<uint8_t> identical;  // k: 1 when every row of the cluster equals first[c]
  std::vector<float> first;        // k x d: the first row of each non-empty cluster
  // k: the global index (canonical order over all shards) of first[c]; INT64_MAX when empty.
  // A merge keeps the first row with the smaller index, so the result is the first row in the
  // canonical order whatever the split.
  std::vector<int64_t> first_row;

  // Adds `other` (statistics of other rows against the same centroids, on the same grid) into
  // this one. Commutative and associative.
  void merge(const ClusterSums& other);
};

// The statistics of the assignment `members` groups, each value rounded to `grid` (so the sums
// are exact). `global_rows` (n entries, increasing) maps a row of x to its index over all
// shards; null means x holds all the rows (global index = row).
ClusterSums cluster_sums(int64_t d, const float* x, int64_t k, const ClusterMembers& members,
                         const SumGrid& grid, int num_threads,
                         const int64_t* global_rows = nullptr);

// The statistics of the assignment `labels` of x's n rows, computed from `s`, the statistics of
// the assignment `previous` of the same rows on the same grid, by moving only the rows whose
// label changed; `s` is replaced. Exact on the grid, so the result has the bits cluster_sums
// would give; it falls back to cluster_sums (grouping the rows in `members`, a scratch) when many
// rows moved (and when `s` is empty: the first call). Returns true when it moved rows, false
// when it summed afresh.
bool update_cluster_sums(int64_t n, int64_t d, const float* x, int64_t k, const SumGrid& grid,
                         int num_threads, const int64_t* global_rows, const int32_t* previous,
                         const int32_t* labels, ClusterMembers* members, ClusterSums* s);

// Replaces each non-empty cluster's centroid by the mean of its rows (its sum times
// 1 / count, rounded to float); empty clusters keep their old centroid.
void centroids_from_sums(const ClusterSums& sums, float* centroids);

// cluster_sums (on the grid of x's rows) then centroids_from_sums; also fills
// members->identical.
void update_centroids(int64_t d, const float* x, int64_t k, ClusterMembers* members,
                      float* centroids, int num_threads);

// Empty clusters are refilled by splitting others. Each empty cluster takes the cluster with
// the largest estimated squared error, size x |rows[c] - centroid|^2 (the lower index on a
// tie: deterministic, where FAISS draws a cluster with probability proportional to (size - 1)
// and leaves the result to the draws), and the two centroids are placed symmetrically about the
// chosen one, a small step (1/1024 of the distance, more if float rounding would swallow it)
// towards and away from `rows[chosen]`, one of the chosen cluster's rows (along a random
// direction drawn from `rng` when that row is the centroid itself). The donor's rows are thus
// cut by the hyperplane through its centroid across the line to one of its rows, so the two
// halves separate on the next assignment. (FAISS scales the centroid by 1 +/- 1/1024 per
// component instead: a centroid at the origin stays there, and a centroid of data symmetric
// about the origin gives two centroids equidistant from every row, so the split never takes,
// and k-means can end with duplicate centroids.) A chosen cluster's size is shared between the
// two. Clusters whose rows are all identical are not chosen while another can be (their two
// halves would be equidistant from every row, so one would empty again).
// `rows` is k x d (ClusterSums::first); `sizes` (member counts) and `identical` are kept up to
// date. Returns the number of clusters refilled.
int64_t split_empty_clusters(int64_t d, int64_t k, const float* rows,
                             std::vector<uint8_t>* identical, std::vector<int64_t>* sizes,
                             float* centroids, Rng& rng);

}  // namespace ivftrain
