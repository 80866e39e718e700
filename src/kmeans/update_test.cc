#include "kmeans/update.h"

#include <gtest/gtest.h>

#include <vector>

namespace ivftrain {
namespace {

// Rows with small integer values: their sums in double are exact in any order, so shard sums
// merged must equal the sums of all rows exactly.
std::vector<float> integer_rows(int64_t n, int64_t d) {
  std::vector<float> x(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n * d; ++i) x[i] = static_cast<float>((i * 7919) % 23) - 11.0f;
  return x;
}

ClusterSums sums_of(int64_t n, int64_t d, const float* x, int64_t k, const int32_t* labels) {
  ClusterMembers m;
  group_by_label(n, k, labels, &m);
  return cluster_sums(d, x, k, m, 2);
}

TEST(ClusterSums, ShardsMergeIntoTheSumsOfAllRows) {
  const int64_t n = 1000, d = 5, k = 7;
  auto x = integer_rows(n, d);
  // Cluster 6 holds three copies of one row, in both shards.
  for (int64_t i : {10, 600, 990}) {
    for (int64_t j = 0; j < d; ++j) x[i * d + j] = 3.0f;
  }
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(i % 6);
  for (int64_t i : {10, 600, 990}) labels[i] = 6;
  const ClusterSums all = sums_of(n, d, x.data(), k, labels.data());
  const int64_t cut = 450;
  ClusterSums merged = sums_of(cut, d, x.data(), k, labels.data());
  merged.merge(sums_of(n - cut, d, x.data() + cut * d, k, labels.data() + cut));
  EXPECT_EQ(merged.counts, all.counts);
  EXPECT_EQ(merged.sums, all.sums);
  EXPECT_EQ(merged.identical, all.identical);
  EXPECT_EQ(all.identical[6], 1);
  EXPECT_EQ(all.identical[0], 0);
}

TEST(ClusterSums, ClustersIdenticalInEachShardButNotTogetherAreNotIdentical) {
  const int64_t d = 3, k = 1;
  const std::vector<float> a = {1, 1, 1, 1, 1, 1};  // two rows (1, 1, 1)
  const std::vector<float> b = {2, 2, 2};           // one row (2, 2, 2)
  const std::vector<int32_t> labels = {0, 0};
  ClusterSums s = sums_of(2, d, a.data(), k, labels.data());
  ASSERT_EQ(s.identical[0], 1);
  s.merge(sums_of(1, d, b.data(), k, labels.data()));
  EXPECT_EQ(s.identical[0], 0);
  EXPECT_EQ(s.counts[0], 3);
  EXPECT_EQ(s.sums[0], 4.0);
}

TEST(ClusterSums, EmptyClustersKeepTheirCentroid) {
  const int64_t d = 2, k = 3;
  const std::vector<float> x = {1, 2, 3, 4};
  const std::vector<int32_t> labels = {0, 2};
  const ClusterSums s = sums_of(2, d, x.data(), k, labels.data());
  std::vector<float> c = {9, 9, 8, 8, 7, 7};
  centroids_from_sums(s, c.data());
  EXPECT_EQ(c, (std::vector<float>{1, 2, 8, 8, 3, 4}));
}

TEST(SplitEmptyClusters, SplitsAlongARowOfTheDonor) {
  // One cluster of rows +u and -u, whose mean is the origin, and one empty cluster.
  const int64_t d = 3, k = 2;
  std::vector<float> centroids = {0, 0, 0, 0, 0, 0};
  const std::vector<float> rows = {1, -2, 3, 0, 0, 0};  // cluster 0's first row: u
  std::vector<uint8_t> identical = {0, 0};
  std::vector<int64_t> sizes = {10, 0};
  Rng rng(7);
  EXPECT_EQ(split_empty_clusters(d, k, rows.data(), &identical, &sizes, centroids.data(), rng), 1);
  EXPECT_EQ(sizes, (std::vector<int64_t>{5, 5}));
  // The two centroids sit on the line through u, one on each side of the old one, so that +u
  // and -u are nearest to different ones.
  for (int64_t j = 0; j < d; ++j) {
    EXPECT_EQ(centroids[j], -centroids[d + j]) << j;
    EXPECT_GT(centroids[d + j] * rows[j], 0.0f) << j;
  }
}

TEST(SplitEmptyClusters, LargeCentroidsStillGetTwoDistinctCentroids) {
  const int64_t d = 2, k = 2;
  std::vector<float> centroids = {1e7f, 1e7f, 0, 0};
  const std::vector<float> rows = {1e7f + 1, 1e7f, 0, 0};
  std::vector<uint8_t> identical = {0, 0};
  std::vector<int64_t> sizes = {4, 0};
  Rng rng(1);
  split_empty_clusters(d, k, rows.data(), &identical, &sizes, centroids.data(), rng);
  EXPECT_NE(centroids[0], centroids[2]);
  EXPECT_EQ(centroids[1], 1e7f);
  EXPECT_EQ(centroids[3], 1e7f);
}

}  // namespace
}  // namespace ivftrain
