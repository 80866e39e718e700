// The update step of Lloyd's k-means: centroids as the means of their rows, and empty clusters
// refilled by splitting large ones.
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

// Replaces each non-empty cluster's centroid by the mean of its rows, summed in double in row
// order (so the result does not depend on the thread count); empty clusters keep their old
// centroid. Also fills members->identical.
void update_centroids(int64_t d, const float* x, int64_t k, ClusterMembers* members,
                      float* centroids, int num_threads);

// FAISS's remedy for empty clusters: each empty cluster takes a copy of the centroid of a
// cluster chosen with probability proportional to (size - 1), and the two copies are pushed
// apart by a relative 1/1024 in opposite directions; the chosen cluster's size is shared
// between them. Clusters whose rows are all identical are not chosen while another can be
// (their two halves would be equidistant from every row, so one would empty again).
// `sizes` (member counts) and `identical` (from update_centroids) are kept up to date.
// Returns the number of clusters refilled.
int64_t split_empty_clusters(int64_t d, int64_t k, std::vector<uint8_t>* identical,
                             std::vector<int64_t>* sizes, float* centroids, Rng& rng);

}  // namespace ivftrain
