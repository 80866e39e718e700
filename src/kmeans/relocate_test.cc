// Relocation (issue 15): plan_splits' choices, the merge costs against a scan of every pair, and
// what it does to k-means from a random start.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ivftrain/kmeans.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/distances.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

// Two clusters share one group of rows near 0 (rows -2, -1 and 1, 2: merge cost
// 2 x 2 / 4 x 3^2 = 9 each), one cluster spans the group 100, 101 and the group 109, 110 (error
// 82, so a split gains about 2 / pi x 82 = 52 in one dimension).
struct SharedAndSpanning {
  const int64_t n = 8, d = 1, k = 3;
  std::vector<float> x = {-2, -1, 1, 2, 100, 101, 109, 110};
  std::vector<int32_t> labels = {0, 0, 1, 1, 2, 2, 2, 2};
  ClusterSums sums;
  std::vector<float> centroids = {0, 0, 0};

  explicit SharedAndSpanning(std::vector<float> rows = {}) {
    if (!rows.empty()) x = std::move(rows);
    ClusterMembers members;
    group_by_label(n, k, labels.data(), &members);
    sums = cluster_sums(d, x.data(), k, members, SumGrid::make(max_abs_value(n, d, x.data()), n, d),
                        1);
    centroids_from_sums(sums, centroids.data());
  }
};

TEST(Relocation, MovesACentroidOfASharedGroupToSplitTheClusterSpanningTwo) {
  SharedAndSpanning f;
  ASSERT_EQ(f.centroids, (std::vector<float>{-1.5f, 1.5f, 105}));
  ClusterSums without = f.sums;
  EXPECT_TRUE(plan_splits(without, f.centroids.data(), false, 1).empty());
  EXPECT_EQ(without.counts, (std::vector<int64_t>{2, 2, 4}));

  std::vector<double> cost;
  std::vector<int64_t> partner;
  merge_costs(f.sums, f.centroids.data(), 1, &cost, &partner);
  EXPECT_EQ(cost[0], 9.0);
  EXPECT_EQ(cost[1], 9.0);
  EXPECT_EQ(partner, (std::vector<int64_t>{1, 0, 1}));

  // Cluster 0 (the lower index of the two cheapest) moves to split cluster 2; cluster 1, which
  // takes its rows, neither moves nor splits.
  ClusterSums with = f.sums;
  EXPECT_EQ(plan_splits(with, f.centroids.data(), true, 1), (std::vector<int64_t>{2}));
  EXPECT_EQ(with.counts, (std::vector<int64_t>{0, 2, 4}));

  // Through the update: centroids 0 and 2 straddle 105, and the next assignment gives the
  // group near 0 to centroid 1 and each group near 105 a centroid of its own.
  Rng rng(1);
  const int64_t split = lloyd_update(
      f.sums, f.centroids.data(), rng,
      [&](const std::vector<int64_t>& donors, const float* c) {
        return farthest_rows(f.n, f.d, f.x.data(), f.labels.data(), nullptr, donors, c).values;
      },
      true, 1);
  EXPECT_EQ(split, 1);
  EXPECT_EQ(f.centroids[1], 1.5f);
  std::vector<int32_t> next(f.n);
  for (int64_t i = 0; i < f.n; ++i) {
    int32_t best = 0;
    for (int32_t c = 1; c < f.k; ++c) {
      if (std::abs(f.x[i] - f.centroids[c]) < std::abs(f.x[i] - f.centroids[best])) best = c;
    }
    next[i] = best;
  }
  EXPECT_EQ(next[0], 1);
  EXPECT_EQ(next[3], 1);
  EXPECT_EQ(next[4], next[5]);
  EXPECT_EQ(next[6], next[7]);
  EXPECT_NE(next[4], next[6]);
  EXPECT_NE(next[4], 1);
  EXPECT_NE(next[6], 1);
}

TEST(Relocation, LeavesCentroidsWorthMoreThanTheSplit) {
  // The far cluster's rows 100, 101, 101, 102 (error 2: a split gains about 1.3 < 9).
  SharedAndSpanning f({-2, -1, 1, 2, 100, 101, 101, 102});
  ClusterSums with = f.sums;
  EXPECT_TRUE(plan_splits(with, f.centroids.data(), true, 1).empty());
  EXPECT_EQ(with.counts, f.sums.counts);
}

TEST(Relocation, EmptyClustersAreRefilledFirstAndMovedOnesKeepTheirIndexOrder) {
  // Clusters: 0 empty; 1 and 2 share a group; 3 and 4 each span two groups.
  const int64_t n = 12, d = 1, k = 5;
  const std::vector<float> x = {-2, -1, 1, 2, 100, 101, 109, 110, 300, 301, 319, 320};
  const std::vector<int32_t> labels = {1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4};
  ClusterMembers members;
  group_by_label(n, k, labels.data(), &members);
  ClusterSums sums =
      cluster_sums(d, x.data(), k, members, SumGrid::make(max_abs_value(n, d, x.data()), n, d), 1);
  std::vector<float> centroids(k, 0.0f);
  centroids_from_sums(sums, centroids.data());
  // The empty cluster takes the largest error (cluster 4); centroid 1 moves to split cluster 3.
  EXPECT_EQ(plan_splits(sums, centroids.data(), true, 1), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(sums.counts, (std::vector<int64_t>{0, 0, 2, 4, 4}));
}

// Ward's cost of every pair with l2_sqr, the scan merge_costs must equal bit for bit.
void scan_merge_costs(const ClusterSums& s, const float* centroids, std::vector<double>* cost,
                      std::vector<int64_t>* partner) {
  const int64_t k = s.k, d = s.d;
  cost->assign(k, std::numeric_limits<double>::infinity());
  partner->assign(k, -1);
  for (int64_t a = 0; a < k; ++a) {
    if (s.counts[a] == 0) continue;
    for (int64_t b = 0; b < k; ++b) {
      if (b == a || s.counts[b] == 0) continue;
      const auto na = static_cast<double>(s.counts[a]), nb = static_cast<double>(s.counts[b]);
      const double w = na * nb / (na + nb) * l2_sqr(centroids + a * d, centroids + b * d, d);
      if (w < (*cost)[a]) {
        (*cost)[a] = w;
        (*partner)[a] = b;
      }
    }
  }
}

TEST(Relocation, MergeCostsEqualAScanOfEveryPairForAnyThreadCount) {
  for (const bool lattice : {false, true}) {
    for (const int64_t d : {1, 7, 64, 130}) {
      SCOPED_TRACE(::testing::Message() << "d " << d << (lattice ? " lattice" : " offset"));
      const int64_t k = 300;
      Rng rng(d);
      ClusterSums s;
      s.k = k;
      s.d = d;
      s.counts.resize(k);
      std::vector<float> c(k * d);
      for (int64_t i = 0; i < k; ++i) {
        s.counts[i] = i % 17 == 0 ? 0 : 1 + static_cast<int64_t>(rng.uniform(50));
        for (int64_t j = 0; j < d; ++j) {
          if (lattice) {
            // Small integers, some moved by one ulp: many pairs at equal or nearly equal
            // distances, which SGEMM's rounding orders at random (the margin must price them all).
            float v = static_cast<float>(rng.uniform(4));
            if (rng.uniform(3) == 0) v = std::nextafter(v, 10.0f);
            c[i * d + j] = v;
          } else {
            // Far from the origin relative to their spacing (SGEMM's scores lose digits there).
            c[i * d + j] = 1000.0f + static_cast<float>(rng.normal()) * (i % 3 == 0 ? 0.01f : 1.0f);
          }
        }
      }
      for (int64_t i = 5; i + 1 < k; i += 29) {
        std::copy_n(c.begin() + i * d, d, c.begin() + (i + 1) * d);
        s.counts[i + 1] = s.counts[i];
      }
      std::vector<double> expected_cost, one_cost, three_cost;
      std::vector<int64_t> expected_partner, one_partner, three_partner;
      scan_merge_costs(s, c.data(), &expected_cost, &expected_partner);
      merge_costs(s, c.data(), 1, &one_cost, &one_partner);
      merge_costs(s, c.data(), 3, &three_cost, &three_partner);
      EXPECT_EQ(one_cost, expected_cost);
      EXPECT_EQ(one_partner, expected_partner);
      EXPECT_EQ(three_cost, expected_cost);
      EXPECT_EQ(three_partner, expected_partner);
    }
  }
}

KMeansParams params(uint64_t seed, bool relocate, int threads) {
  KMeansParams p;
  p.max_iters = 25;
  p.tolerance = 0;
  p.seed = seed;
  p.relocate = relocate;
  p.num_threads = threads;
  return p;
}

TEST(Relocation, EndsFarBelowLloydFromTheSameRandomStart) {
  // As many centroids as components: a random start puts two centroids in some components and
  // none in others, where Lloyd's iterations leave them.
  const int64_t n = 8000, d = 16, k = 80;
  const auto x = testing::gaussian_mixture(n, d, k, 21);
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto lloyd = kmeans_train(n, d, x.data(), k, params(seed, false, 2));
    auto one = kmeans_train(n, d, x.data(), k, params(seed, true, 1));
    auto three = kmeans_train(n, d, x.data(), k, params(seed, true, 3));
    ASSERT_TRUE(lloyd.ok() && one.ok() && three.ok());
    EXPECT_LT(one->objective, 0.9 * lloyd->objective);
    int64_t moved = 0;
    for (const KMeansIteration& it : one->iterations) moved += it.empty_clusters_split;
    EXPECT_GT(moved, 0);
    EXPECT_EQ(one->centroids, three->centroids);
    EXPECT_EQ(one->objective, three->objective);
  }
}

TEST(Relocation, NotUnderTheInnerProductNorInTheLastIterations) {
  LloydLoop loop;
  loop.max_iters = 10;
  std::vector<KMeansIteration> records;
  EXPECT_FALSE(lloyd_relocates(loop, 0, records));  // the loop does not relocate
  loop.relocate = true;
  EXPECT_TRUE(lloyd_relocates(loop, 0, records));
  records.resize(3);
  records.back().empty_clusters_split = 2;
  EXPECT_TRUE(lloyd_relocates(loop, 3, records));
  EXPECT_TRUE(lloyd_relocates(loop, 10 - kRelocationLead - 1, records));
  EXPECT_FALSE(lloyd_relocates(loop, 10 - kRelocationLead, records));  // too late to settle
  records.back().empty_clusters_split = 0;  // the update before found nothing to move
  EXPECT_FALSE(lloyd_relocates(loop, 3, records));

  const int64_t n = 2000, d = 8, k = 20;
  auto x = testing::gaussian_mixture(n, d, k, 4);
  KMeansParams p = params(1, true, 2);
  p.metric = Metric::kInnerProduct;
  KMeansParams off = p;
  off.relocate = false;
  auto a = kmeans_train(n, d, x.data(), k, p);
  auto b = kmeans_train(n, d, x.data(), k, off);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->centroids, b->centroids);
}

}  // namespace
}  // namespace ivftrain
