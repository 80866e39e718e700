#include "linalg/two_nearest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "linalg/assign.h"
#include "linalg/distances.h"
#include "test_util.h"

namespace ivftrain {
namespace {

void check(int64_t n, int64_t k, int64_t d) {
  SCOPED_TRACE(::testing::Message() << "n=" << n << " k=" << k << " d=" << d);
  const auto x = testing::random_matrix(1, n, d, 1.0), c = testing::random_matrix(2, k, d, 1.0);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  std::vector<int64_t> rows;  // every other row
  for (int64_t i = 0; i < n; i += 2) rows.push_back(i);
  std::vector<int32_t> labels(n, -7);
  std::vector<float> best(n, -1), second(n, -1);
  two_nearest(d, x.data(), norms.data(), static_cast<int64_t>(rows.size()), rows.data(), k,
              c.data(), labels.data(), best.data(), second.data(), 2);
  const double tol = 1e-5 * (d + 4) * 4;
  int64_t checked = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 2) {  // rows outside the selection are left alone
      EXPECT_EQ(labels[i], -7);
      continue;
    }
    const auto [l, b1, b2] = testing::brute_two_nearest(x.data() + i * d, c.data(), k, d);
    EXPECT_NEAR(best[i], b1, tol) << i;
    if (k == 1) {
      EXPECT_TRUE(std::isinf(second[i]));
    } else {
      EXPECT_NEAR(second[i], b2, tol) << i;
    }
    if (b2 - b1 > 2 * tol) {
      ++checked;
      EXPECT_EQ(labels[i], l) << i;
    }
  }
  EXPECT_GT(checked, n / 2 * 8 / 10);
}

TEST(TwoNearest, MatchesBruteForce) {
  check(1, 1, 5);
  check(300, 1, 8);
  check(1500, 37, 24);   // scalar tail of a tile, several row blocks
  check(700, 1100, 16);  // several centroid tiles
  check(600, 512, 130);
}

TEST(TwoNearest, TiesGoToTheSmallestIndex) {
  const int64_t d = 20, k = 70;
  auto c = testing::random_matrix(5, k, d, 1.0);
  // Centroid 66 duplicates 3 (different lanes and tiles of the tail), 40 duplicates 9.
  std::copy(c.begin() + 3 * d, c.begin() + 4 * d, c.begin() + 66 * d);
  std::copy(c.begin() + 9 * d, c.begin() + 10 * d, c.begin() + 40 * d);
  std::vector<float> x;
  for (int64_t j : {66, 3, 40, 9}) x.insert(x.end(), c.begin() + j * d, c.begin() + (j + 1) * d);
  std::vector<float> norms(4);
  row_norms_sqr(4, d, x.data(), norms.data());
  std::vector<int64_t> rows{0, 1, 2, 3};
  std::vector<int32_t> labels(4);
  std::vector<float> best(4), second(4);
  two_nearest(d, x.data(), norms.data(), 4, rows.data(), k, c.data(), labels.data(), best.data(),
              second.data(), 1);
  EXPECT_EQ(labels, (std::vector<int32_t>{3, 3, 9, 9}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(best[i], second[i]) << i;  // the duplicate is second
}

// Labels and best as assign_nearest gives them, with the kernel it uses for the shape (the
// bounds of k-means mix rows from both calls in one objective).
TEST(TwoNearest, LabelsAndBestAreAssignNearests) {
  for (const auto& [k, d] : {std::pair<int64_t, int64_t>{256, 8}, {100, 3}, {700, 33}}) {
    SCOPED_TRACE(::testing::Message() << "k=" << k << " d=" << d);
    const int64_t n = 3000;
    const auto x = testing::gaussian_mixture(n, d, 40, 4);
    const auto c = testing::random_matrix(6, k, d, 4.0);
    std::vector<float> norms(n);
    row_norms_sqr(n, d, x.data(), norms.data());
    std::vector<int64_t> rows(n);
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<int32_t> labels(n), want(n);
    std::vector<float> best(n), second(n), want_best(n);
    const auto nearest = assign_uses_direct_kernel(k, d) ? two_nearest_direct : two_nearest;
    nearest(d, x.data(), norms.data(), n, rows.data(), k, c.data(), labels.data(), best.data(),
            second.data(), 2);
    assign_nearest(n, d, x.data(), norms.data(), k, c.data(), Metric::kL2,
                   AssignOutput{want.data(), want_best.data()}, 2);
    EXPECT_EQ(labels, want);
    EXPECT_EQ(best, want_best);
    for (int64_t i = 0; i < n; ++i) ASSERT_LE(best[i], second[i]) << i;
  }
}

TEST(TwoNearest, BitIdenticalWhateverTheThreadCount) {
  for (const auto& [k, d] : {std::pair<int64_t, int64_t>{700, 33}, {256, 8}}) {
    const auto nearest = assign_uses_direct_kernel(k, d) ? two_nearest_direct : two_nearest;
    const int64_t n = 4000;
    const auto x = testing::gaussian_mixture(n, d, 40, 2);
    const auto c = testing::random_matrix(3, k, d, 4.0);
    std::vector<float> norms(n);
    row_norms_sqr(n, d, x.data(), norms.data());
    std::vector<int64_t> rows(n);
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<int32_t> l1(n), l3(n);
    std::vector<float> b1(n), b3(n), s1(n), s3(n);
    nearest(d, x.data(), norms.data(), n, rows.data(), k, c.data(), l1.data(), b1.data(), s1.data(),
            1);
    nearest(d, x.data(), norms.data(), n, rows.data(), k, c.data(), l3.data(), b3.data(), s3.data(),
            3);
    EXPECT_EQ(l1, l3);
    EXPECT_EQ(b1, b3);
    EXPECT_EQ(s1, s3);
  }
}

}  // namespace
}  // namespace ivftrain
