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

// Empty clusters are refilled by splitting others, in two steps, so that sharded training can
// find the rows a split needs between them (split_donors, farthest_rows, then
// split_empty_clusters).
//
// Which cluster: each empty cluster (in index order) takes the cluster with the largest
// estimated squared error, size x |rows[c] - centroid|^2 with rows[c] the cluster's first row
// (the lower index on a tie: deterministic, where FAISS draws a cluster with probability
// proportional to (size - 1) and leaves the result to the draws); a cluster is split at most
// once per update. Clusters whose rows are all identical are not chosen while another can be
// (their two halves would be equidistant from every row, so one would empty again).
//
// Along which line: the two centroids are placed symmetrically about the donor's, a small step
// (1/1024 of the distance, more if float rounding would swallow it) towards and away from the
// row of the donor's cluster farthest from the donor's new centroid (farthest_rows; issue 15,
// README "Quality": stepping towards the farthest row rather than the first one ends lower at
// the median and never above FAISS from the same starts). The donor's rows are thus cut by the
// hyperplane through its centroid across the line to its farthest row, which puts the
// outlying part of the cluster on the refilled centroid's side. (FAISS scales the centroid by
// 1 +/- 1/1024 per component instead: a centroid at the origin stays there, and a centroid of
// data symmetric about the origin gives two centroids equidistant from every row, so the split
// never takes, and k-means can end with duplicate centroids.) A donor's size is shared between
// the two.
//
// When no cluster has an estimated error left (every row alone, or on its cluster's mean), the
// donor is drawn as FAISS does, with probability proportional to (size - 1) from `rng`, and
// the line is to its first row (rows[c]); along a random direction from `rng` when that row
// is the centroid itself.

// |row - centroid|^2, accumulated in double in dimension order: the same bits wherever it is
// computed (whatever the shard, thread count or SIMD level).
double split_distance(int64_t d, const float* row, const float* centroid);

// The clusters the empty ones take by their estimated error, in the order the empty clusters
// (in index order) take them: as many as there are empty clusters, or fewer when the
// estimates run out. `rows` is k x d (ClusterSums::first), `centroids` the new ones
// (centroids_from_sums). A pure function of the combined statistics.
std::vector<int64_t> split_donors(int64_t d, int64_t k, const float* rows,
                                  const std::vector<uint8_t>& identical,
                                  const std::vector<int64_t>& sizes, const float* centroids);

// For each donor, the row of its cluster farthest from its centroid (split_distance; ties to
// the lowest global row index), as a value that merges over shards: the row found over all
// shards is the one found over all the rows, whatever the split.
struct FarthestRows {
  int64_t d = 0;
  std::vector<double> distance;  // per donor; -1 when the rows given hold none of its cluster
  std::vector<int64_t> row;      // per donor: the row's global index; INT64_MAX when none
  std::vector<float> values;     // donors x d: the row (or empty: indices and distances only)

  // Keeps, per donor, the farther row (the lower index on a tie). Commutative and associative.
  // `other` has values when this one has.
  void merge(const FarthestRows& other);
};

// The farthest rows of `donors` among x's n rows by `labels` (the assignment that gave the
// statistics), from `donor_centroids` (donors.size() x d): one pass over the labels in row
// order, so no grouping of the rows is needed. `global_rows` maps a row of x to its index over
// all shards (null: the row itself).
FarthestRows farthest_rows(int64_t n, int64_t d, const float* x, const int32_t* labels,
                           const int64_t* global_rows, const std::vector<int64_t>& donors,
                           const float* donor_centroids);

// Refills the empty clusters: the i-th empty cluster (in index order) splits donors[i] along
// the line to toward[i] (donors.size() x d, the donors' farthest rows); the empty clusters
// left, if any, split a drawn donor along its first row (`rows`, k x d). `sizes` (member
// counts) and `identical` are kept up to date. Returns the number of clusters refilled.
int64_t split_empty_clusters(int64_t d, int64_t k, const float* rows,
                             const std::vector<int64_t>& donors, const float* toward,
                             std::vector<uint8_t>* identical, std::vector<int64_t>* sizes,
                             float* centroids, Rng& rng);

}  // namespace ivftrain
