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

// The fixed-point grids of the update's sums, which make them exact (docs/sharded.md): every
// value is rounded to a multiple of `step` before it is added, and step is chosen so that no
// partial sum of the run's rows can exceed 2^53 steps, so every double addition is exact and
// the sums do not depend on the order of the rows, nor on how they are split between threads,
// shards or workers. step = 2^(E + N - 53) with 2^E > the largest |value| of the rows
// clustered and 2^N >= their number (at least 4): values down to 2^(53 - N) times smaller than
// the largest are added without rounding; smaller ones are rounded to the grid.
//
// The rows' squared norms |x|^2 (ClusterSums::norms, from which each cluster's squared error
// follows) have a grid of their own, by the same argument: a row's |x|^2, accumulated in double
// (row_norm2: each x_j^2 is exact in double, the sum rounds), is below d 2^(2E) <= 2^(2E + D)
// with 2^D >= d, so norm_step = 2^(2E + D + N - 53) keeps every partial sum of the norms of at
// most 2^N rows below 2^53 norm steps (the norms are not negative, and a row moved out of a
// cluster subtracts what it added): exact in any order. A norm is rounded to its grid once,
// with an error of at most norm_step / 2 = 2^(N - 54) of the bound d 2^(2E): for 2^20 rows,
// 2^-34 of the largest possible |x|^2. norm_step is a function of step, N and d (of_step), so
// the file protocol's state, which keeps step, needs no field of its own for it.
struct SumGrid {
  double step = 1.0;
  double norm_step = 1.0;

  // The grids for `rows` rows of d values (over all shards) whose largest absolute value is
  // `max_abs`.
  static SumGrid make(double max_abs, int64_t rows, int64_t d);
  // The grids make gives, from its step (a power of 2), for `rows` rows of d values.
  static SumGrid of_step(double step, int64_t rows, int64_t d);
  // 1.5 x 2^52 steps: (v + magic) - magic rounds v to the grid (ties to even) for
  // |v| <= 2^51 steps.
  double magic() const { return 1.5 * 0x1p52 * step; }
  double norm_magic() const { return 1.5 * 0x1p52 * norm_step; }
  bool operator==(const SumGrid&) const = default;
};

// |row|^2 accumulated in double in a fixed order (eight running sums over the dimensions by
// their index mod 8, then added pairwise): the same bits wherever it is computed, whatever
// the compiler's vectorisation or the CPU's SIMD level (each x_j^2 is exact in double).
double row_norm2(int64_t d, const float* row);

// The largest |x[i]| over the n x d values of x (0 for none).
float max_abs_value(int64_t n, int64_t d, const float* x);

// What the update step needs from an assignment, as a value: the statistics of separate shards
// of the rows can be merged, and the merged value gives the update of all the rows, bit for bit
// whatever the split and the merge order. Plain vectors of integers and floats, so that a
// worker can write them to a file or reduce them with MPI (sums: MPI_SUM of doubles is exact
// on the grid; norms: likewise on theirs; counts: sum; first_row: min; first: from the owner of
// the min).
struct ClusterSums {
  int64_t k = 0, d = 0;
  SumGrid grid;              // the grid every value was rounded to (equal in a merge)
  std::vector<double> sums;  // k x d: the exact sum of each cluster's rows on the grid
  // k: the exact sum of each cluster's rows' |x|^2 (row_norm2) on the norm grid: with sums and
  // counts, each cluster's squared error about any centroid (cluster_errors).
  std::vector<double> norms;
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
// squared error about its new centroid, sum over its rows of |x - c|^2 (cluster_errors, from
// the exact statistics; the lower index on a tie: deterministic, where FAISS draws a cluster
// with probability proportional to (size - 1) and leaves the result to the draws); a cluster is
// split at most once per update. Clusters whose rows are all identical are not chosen while
// another can be (their two halves would be equidistant from every row, so one would empty
// again). The error is the exact one, not an estimate from one row (issue 15, README
// "Quality": the estimate size x |first row - centroid|^2, the rule before, varies by about
// 25 % around the error in d = 32, and on d32 k1024 it chose donors that left two starts of 12
// above FAISS's objective; the exact error ends below on both).
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
// When no cluster has an error left (every row alone, or on its cluster's mean), the
// donor is drawn as FAISS does, with probability proportional to (size - 1) from `rng`, and
// the line is to its first row (rows[c]); along a random direction from `rng` when that row
// is the centroid itself.

// |row - centroid|^2, accumulated in double in dimension order: the same bits wherever it is
// computed (whatever the shard, thread count or SIMD level).
double split_distance(int64_t d, const float* row, const float* centroid);

// Each cluster's squared error about `centroids` (k x d: the new ones, centroids_from_sums),
// Q - 2 c.S + n |c|^2 from its norms Q, sum S and count n, in double in dimension order: a pure
// function of the combined statistics, so the same bits locally, over files and under MPI.
// Exact up to the rounding of Q and S to their grids (each row's |x|^2 to within 2^(N - 54) of
// the bound d 2^(2E), SumGrid) and the formula's cancellation (about 2^-52 of Q): relative to
// the error of a cluster whose rows lie at a mean squared distance s^2 from its centroid, at
// most about 2^(N - 54) d 2^(2E) / s^2 (for 2^20 rows, 2^-20 when s^2 is 2^-14 of the bound):
// rows far from the origin relative to their clusters' spread rank the clusters less finely,
// never differently on another shard. 0 for an empty cluster.
std::vector<double> cluster_errors(const ClusterSums& sums, const float* centroids);

// The clusters the empty ones take by their squared errors (`errors`, cluster_errors), in the
// order the empty clusters (in index order) take them: as many as there are empty clusters, or
// fewer when the clusters with an error run out (a cluster counts when it has 2 rows or more,
// not all identical, and an error above 0).
std::vector<int64_t> split_donors(const std::vector<double>& errors,
                                  const std::vector<uint8_t>& identical,
                                  const std::vector<int64_t>& sizes);
// Whether some cluster of `sums` has no row: the only updates that split, and the only ones that
// read the norms, first rows and identical flags.
bool has_empty_cluster(const ClusterSums& sums);
// split_donors by cluster_errors of the combined statistics `sums` about the new `centroids`
// (computed only when a cluster is empty).
std::vector<int64_t> split_donors(const ClusterSums& sums, const float* centroids);

// Relocation (issue 15): Lloyd's iterations only move each centroid to the mean of its rows, so
// a random start that puts two centroids in one group of rows and none in another keeps them
// there: the two share the group, and the other centroid nearby spans two groups. An update may
// therefore also move a centroid whose rows would cost little on a neighbour's to split a
// cluster whose error is large, as it refills an empty cluster (split_empty_clusters): it is
// treated as empty.
//
// What a centroid is worth: the merge cost of its cluster with its cheapest neighbour (Ward's:
// n_a n_b / (n_a + n_b) |c_a - c_b|^2, the rise of the error when the two clusters' rows share
// one centroid at their mean; removing the centroid and letting Lloyd's next update settle costs
// at most that). What a split gains: kRelocationGain E / d for a cluster of error E in d
// dimensions (a Gaussian cut through its mean across a principal axis of variance v saves
// (2 / pi) v per row, and the axes' variance is E / (n d) on average: more for a cluster that
// spans two groups, whose largest axis holds the distance between them). The clusters are paired
// greedily, the cheapest centroid with the largest gain, while the cost is below the gain; a
// centroid moves or splits at most once per update, one whose rows a moved centroid's go to
// (its cheapest neighbour) does not move, and a cluster that donates to an empty one neither
// moves nor donates again. A cluster counts for a split only when its error is above what the
// statistics' rounding can give identical rows.
//
// Every figure comes from the combined statistics (counts, sums, norms: the norms' sum is the
// only one the sharded reductions now make every update) and the centroids, computed in a fixed
// order (l2_sqr), so every shard, worker and thread count decides alike; the clusters' identical
// flags, which sharded training combines only when a cluster is empty, are not read.
inline constexpr double kRelocationGain = 0.63661977236758134;  // 2 / pi

// Each non-empty cluster's merge cost with its cheapest non-empty neighbour (Ward's, with
// l2_sqr's distance; the lower index on a tie) and that neighbour; infinite cost and -1 when it
// has none. The same values as a scan of every pair (SGEMM only chooses which pairs to price),
// so the same on every CPU; the same for any thread count.
void merge_costs(const ClusterSums& sums, const float* centroids, int num_threads,
                 std::vector<double>* cost, std::vector<int64_t>* partner);

// The donors of this update's splits, in the order split_empty_clusters takes them: those of the
// empty clusters (split_donors) and, with `relocate`, those of the centroids relocated, whose
// counts are set to 0 in `sums` so that split_empty_clusters refills them. No centroid moves when
// the empty clusters already take every cluster with an error. The merge costs take k^2 d
// operations (on `num_threads` threads; the same result for any count).
std::vector<int64_t> plan_splits(ClusterSums& sums, const float* centroids, bool relocate,
                                 int num_threads);

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
