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

// What the update step needs from an assignment, as a value: the statistics of separate shards
// of the rows can be merged, and the merged value gives the update of all the rows. (Sums in
// double depend on the order they are added in; a shard's own sums are in row order.)
struct ClusterSums {
  int64_t k = 0, d = 0;
  std::vector<double> sums;        // k x d: the sum of each cluster's rows, in row order
  std::vector<int64_t> counts;     // k: rows per cluster
  std::vector<uint8_t> identical;  // k: 1 when every row of the cluster equals first[c]
  std::vector<float> first;        // k x d: one row of each non-empty cluster (its first)

  // Adds `other` (statistics of other rows against the same centroids) into this one.
  void merge(const ClusterSums& other);
};

// The statistics of the assignment `members` groups, summed in double in row order inside
// each cluster (so the result does not depend on the thread count).
ClusterSums cluster_sums(int64_t d, const float* x, int64_t k, const ClusterMembers& members,
                         int num_threads);

// Replaces each non-empty cluster's centroid by the mean of its rows (its sum times
// 1 / count, rounded to float); empty clusters keep their old centroid.
void centroids_from_sums(const ClusterSums& sums, float* centroids);

// cluster_sums then centroids_from_sums; also fills members->identical.
void update_centroids(int64_t d, const float* x, int64_t k, ClusterMembers* members,
                      float* centroids, int num_threads);

// Empty clusters are refilled by splitting others. Each empty cluster takes a cluster chosen
// with probability proportional to (size - 1), as FAISS does, and the two centroids are placed
// symmetrically about the chosen one, a small step (1/1024 of the distance, more if float
// rounding would swallow it) towards and away from `rows[chosen]`, one of the chosen cluster's
// rows (along a random direction drawn from `rng` when that row is the centroid itself). The
// donor's rows are thus cut by the hyperplane through its centroid across the line to
// one of its rows, so the two halves separate on the next assignment. (FAISS scales the centroid
// by 1 +/- 1/1024 per component instead: a centroid at the origin stays there, and a centroid
// of data symmetric about the origin gives two centroids equidistant from every row, so the
// split never takes, and k-means can end with duplicate centroids.) A chosen cluster's size is
// shared between the two. Clusters whose rows are all identical are not chosen while another
// can be (their two halves would be equidistant from every row, so one would empty again).
// `rows` is k x d (ClusterSums::first); `sizes` (member counts) and `identical` are kept up to
// date. Returns the number of clusters refilled.
int64_t split_empty_clusters(int64_t d, int64_t k, const float* rows,
                             std::vector<uint8_t>* identical, std::vector<int64_t>* sizes,
                             float* centroids, Rng& rng);

}  // namespace ivftrain
