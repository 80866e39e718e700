#include "kmeans/bounded_assign.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "linalg/kernels.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

// Runs Lloyd iterations with the bounded assigner and checks every assignment against brute
// force in double (labels wherever the two best are clearly apart, and the objective) and
// against the plain SGEMM assignment; later iterations must skip rows.
TEST(BoundedAssigner, MatchesBruteForceAcrossLloydIterations) {
  const int64_t n = 6000, d = 24, k = 200;
  ASSERT_TRUE(BoundedAssigner::worthwhile(k, d));
  const auto x = testing::gaussian_mixture(n, d, 120, 31);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  std::vector<float> centroids(x.begin(), x.begin() + k * d);  // first k rows
  std::vector<int32_t> labels(n), plain(n);
  BoundedAssigner assigner(n, d, x.data(), norms.data(), k, 2);
  ClusterMembers members;
  Rng rng(1);
  int64_t skipped_late = 0;
  for (int iter = 0; iter < 8; ++iter) {
    SCOPED_TRACE(::testing::Message() << "iteration " << iter);
    const double objective = assigner.assign(centroids.data(), labels.data());
    if (iter == 0) {
      EXPECT_EQ(assigner.rows_computed(), n);
    }
    if (iter >= 3) skipped_late += n - assigner.rows_computed();
    assign_nearest(n, d, x.data(), norms.data(), k, centroids.data(), Metric::kL2,
                   AssignOutput{plain.data(), nullptr}, 1);
    double expected = 0;
    int64_t clear = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto [l, b1, b2] = testing::brute_two_nearest(x.data() + i * d, centroids.data(), k, d);
      expected += b1;
      if (b2 - b1 > 1e-3 * (1 + b1)) {
        ++clear;
        ASSERT_EQ(labels[i], l) << "row " << i;
        ASSERT_EQ(plain[i], l) << "row " << i;
      }
    }
    EXPECT_GT(clear, n * 9 / 10);
    EXPECT_NEAR(objective, expected, 1e-5 * expected);
    // Lloyd update, with the library's own splitting of empty clusters.
    group_by_label(n, k, labels.data(), &members);
    ClusterSums sums = cluster_sums(d, x.data(), k, members, SumGrid{}, 1);
    lloyd_update(sums, centroids.data(), rng,
                 [&](const std::vector<int64_t>& donors, const float* c) {
                   return farthest_rows(n, d, x.data(), labels.data(), nullptr, donors, c).values;
                 });
  }
  EXPECT_GT(skipped_late, 0);
}

// On the direct kernel's shapes (PQ's sub-spaces) the bounds give the full assignment's labels
// and objective bit for bit, at every SIMD level: ties between duplicate centroids included.
TEST(BoundedAssigner, OnTheDirectKernelGivesTheFullAssignmentBitForBit) {
  for (const auto& shape : {std::pair<int64_t, int64_t>{256, 8}, {200, 5}}) {  // 200: a part pass
    const int64_t k = shape.first, d = shape.second;  // named, for the lambda below (clang 14)
    SCOPED_TRACE(::testing::Message() << "k=" << k << " d=" << d);
    const int64_t n = 8003;  // blocks of 4096 and 3907 rows: direct_scores' tail too
    ASSERT_TRUE(assign_uses_direct_kernel(k, d));
    auto x = testing::gaussian_mixture(n, d, 300, 17);
    for (float& v : x) v = std::round(v * 4) / 4;  // duplicate rows, so duplicate centroids
    std::vector<float> norms(n);
    row_norms_sqr(n, d, x.data(), norms.data());
    testing::for_each_simd_level([&] {
      std::vector<float> centroids(x.begin(), x.begin() + k * d);
      std::vector<int32_t> labels(n), want(n);
      BoundedAssigner bounded(n, d, x.data(), norms.data(), k, 2);
      FullAssigner full(n, d, x.data(), norms.data(), k, Metric::kL2, 2);
      ClusterMembers members;
      Rng rng(3);
      int64_t skipped = 0;
      for (int iter = 0; iter < 10; ++iter) {
        SCOPED_TRACE(::testing::Message() << "iteration " << iter);
        const double objective = bounded.assign(centroids.data(), labels.data());
        const double expected = full.assign(centroids.data(), want.data());
        ASSERT_EQ(labels, want);
        ASSERT_EQ(objective, expected);
        skipped += n - bounded.rows_computed();
        group_by_label(n, k, labels.data(), &members);
        ClusterSums sums = cluster_sums(d, x.data(), k, members, SumGrid{}, 1);
        lloyd_update(
            sums, centroids.data(), rng, [&](const std::vector<int64_t>& donors, const float* c) {
              return farthest_rows(n, d, x.data(), labels.data(), nullptr, donors, c).values;
            });
      }
      EXPECT_GT(skipped, n * 3);  // over the nine iterations after the first
    });
  }
}

// Bounds on the direct kernel's shapes where vectors hold 8 floats or fewer (not at AVX-512,
// where the kernel is as fast as the bookkeeping), always on SGEMM's, never with few centroids.
TEST(BoundedAssigner, PaysOnTheDirectKernelBelowSixteenLanes) {
  testing::for_each_simd_level([] {
    EXPECT_EQ(BoundedAssigner::pays_here(256, 8), kernels::float_lanes() <= 8);
    EXPECT_FALSE(BoundedAssigner::worthwhile(256, 8));  // the file protocol's: on any CPU
    EXPECT_TRUE(BoundedAssigner::pays_here(1024, 128));
    EXPECT_FALSE(BoundedAssigner::pays_here(100, 8));
    EXPECT_FALSE(BoundedAssigner::pays_here(32, 128));
  });
}

TEST(BoundedAssigner, BitIdenticalWhateverTheThreadCount) {
  const int64_t n = 5000, d = 16, k = 300;
  const auto x = testing::gaussian_mixture(n, d, 100, 4);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  std::vector<float> c1(x.begin(), x.begin() + k * d), c3 = c1;
  std::vector<int32_t> l1(n), l3(n);
  BoundedAssigner a1(n, d, x.data(), norms.data(), k, 1), a3(n, d, x.data(), norms.data(), k, 3);
  ClusterMembers m;
  for (int iter = 0; iter < 5; ++iter) {
    const double o1 = a1.assign(c1.data(), l1.data());
    const double o3 = a3.assign(c3.data(), l3.data());
    ASSERT_EQ(l1, l3);
    ASSERT_EQ(o1, o3);
    ASSERT_EQ(a1.rows_computed(), a3.rows_computed());
    group_by_label(n, k, l1.data(), &m);
    update_centroids(d, x.data(), k, &m, c1.data(), 1);
    update_centroids(d, x.data(), k, &m, c3.data(), 3);
    ASSERT_EQ(c1, c3);
  }
}

// Many centroids jumping far at once (as when empty clusters are split) must not drag every
// row's bound down: the rows of the centroids that stayed still skip, measured against the
// jumpers only, and the labels stay exact.
TEST(BoundedAssigner, ManyFarMovesCostOnlyTheRowsTheyConcern) {
  const int64_t n = 20000, d = 32, k = 256, jumpers = 48;
  const auto x = testing::gaussian_mixture(n, d, k, 7);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  std::vector<float> c(x.begin(), x.begin() + k * d);
  std::vector<int32_t> labels(n);
  BoundedAssigner assigner(n, d, x.data(), norms.data(), k, 2);
  ClusterMembers members;
  for (int it = 0; it < 12; ++it) {  // near convergence: centroids barely move
    assigner.assign(c.data(), labels.data());
    group_by_label(n, k, labels.data(), &members);
    update_centroids(d, x.data(), k, &members, c.data(), 2);
  }
  assigner.assign(c.data(), labels.data());
  // Every 5th centroid jumps onto a row of another cluster (more jumpers than the 16 movers
  // measured at the least).
  int64_t moved_rows = 0;
  for (int64_t j = 0; j < jumpers; ++j) {
    const int64_t c_id = 5 * j, row = (7919 * j) % n;
    std::copy_n(x.data() + row * d, d, c.data() + c_id * d);
    for (int64_t i = 0; i < n; ++i) moved_rows += labels[i] == c_id;
  }
  const double objective = assigner.assign(c.data(), labels.data());
  double expected = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto [l, b1, b2] = testing::brute_two_nearest(x.data() + i * d, c.data(), k, d);
    expected += b1;
    if (b2 - b1 > 1e-3 * (1 + b1)) {
      ASSERT_EQ(labels[i], l) << "row " << i;
    }
  }
  EXPECT_NEAR(objective, expected, 1e-5 * expected);
  // The rows of the jumpers, and those a jumper landed near, are computed; not the others.
  EXPECT_LT(assigner.rows_computed(), moved_rows + n / 4) << moved_rows << " rows moved";
}

TEST(BoundedAssigner, GivesTheSameLabelsAndObjectiveWithAndWithoutPruning) {
  const int64_t n = 6000, d = 96, k = 128;
  const auto x = testing::gaussian_mixture(n, d, 100, 11);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  BoundedAssigner plain(n, d, x.data(), norms.data(), k, 2, 0);
  BoundedAssigner pruned(n, d, x.data(), norms.data(), k, 2, 24);
  std::vector<float> c(x.begin(), x.begin() + k * d);
  std::vector<int32_t> a(n), b(n);
  for (int it = 0; it < 6; ++it) {
    SCOPED_TRACE(it);
    const double oa = plain.assign(c.data(), a.data());
    const double ob = pruned.assign(c.data(), b.data());
    EXPECT_EQ(a, b);
    EXPECT_EQ(std::memcmp(&oa, &ob, sizeof oa), 0) << oa << " vs " << ob;
    // The next centroids: each cluster's mean (empty clusters keep theirs).
    std::vector<double> sum(k * d, 0.0);
    std::vector<int64_t> count(k, 0);
    for (int64_t i = 0; i < n; ++i) {
      ++count[a[i]];
      for (int64_t j = 0; j < d; ++j) sum[a[i] * d + j] += x[i * d + j];
    }
    for (int64_t j = 0; j < k; ++j) {
      if (count[j] == 0) continue;
      for (int64_t t = 0; t < d; ++t) c[j * d + t] = static_cast<float>(sum[j * d + t] / count[j]);
    }
  }
}

}  // namespace
}  // namespace ivftrain
