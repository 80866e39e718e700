#include "linalg/candidates.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "test_util.h"

namespace ivftrain {
namespace {

void check(int64_t n, int64_t k, int64_t d, int64_t t, bool ip) {
  const Metric metric = ip ? Metric::kInnerProduct : Metric::kL2;
  SCOPED_TRACE(::testing::Message()
               << "n=" << n << " k=" << k << " d=" << d << " t=" << t << " ip=" << ip);
  const auto x = testing::random_matrix(1, n, d, 1.0), c = testing::random_matrix(2, k, d, 1.0);
  // Every third row, from the last backwards: an arbitrary selection.
  std::vector<int64_t> rows;
  for (int64_t i = n - 1; i >= 0; i -= 3) rows.push_back(i);
  const auto count = static_cast<int64_t>(rows.size());
  std::vector<int32_t> labels(count * t), ref_labels(count * t);
  std::vector<float> dist(count * t), ref_dist(count * t);
  nearest_candidates(d, x.data(), count, rows.data(), k, c.data(), metric, t, labels.data(),
                     dist.data(), 2);
  nearest_candidates_ref(d, x.data(), count, rows.data(), k, c.data(), metric, t, ref_labels.data(),
                         ref_dist.data());
  const double tol = 1e-4 * (d + 4);
  int64_t checked = 0;
  for (int64_t r = 0; r < count; ++r) {
    for (int64_t s = 0; s < t; ++s) {
      const int64_t i = r * t + s;
      if (ref_labels[i] < 0) {
        ASSERT_EQ(labels[i], -1);
        ASSERT_TRUE(std::isinf(dist[i]));
        continue;
      }
      ASSERT_GE(labels[i], 0);
      EXPECT_NEAR(dist[i], ref_dist[i], tol) << r << " " << s;
      if (s > 0) {
        ASSERT_LE(dist[i - 1], dist[i]);
      }
      // Labels agree wherever the neighbouring ranks are clearly apart.
      const bool clear_before = s == 0 || ref_dist[i] - ref_dist[i - 1] > 2 * tol;
      const bool clear_after =
          s + 1 == t || ref_labels[i + 1] < 0 || ref_dist[i + 1] - ref_dist[i] > 2 * tol;
      if (clear_before && clear_after) {
        ++checked;
        EXPECT_EQ(labels[i], ref_labels[i]) << r << " " << s;
      }
    }
  }
  EXPECT_GT(checked, count * std::min(t, k) / 2);
}

TEST(NearestCandidates, MatchesBruteForce) {
  check(700, 50, 16, 8, false);
  check(700, 50, 16, 8, true);
  check(1000, 1100, 24, 4, false);  // several centroid tiles and row blocks
  check(100, 5, 3, 8, false);       // t > k: missing slots
  check(10, 1, 7, 1, false);
}

TEST(NearestCandidates, BitIdenticalWhateverTheThreadCount) {
  const int64_t n = 3000, k = 600, d = 20, t = 5;
  const auto x = testing::gaussian_mixture(n, d, 30, 3);
  const auto c = testing::random_matrix(4, k, d, 3.0);
  std::vector<int64_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<int32_t> l1(n * t), l3(n * t);
  std::vector<float> d1(n * t), d3(n * t);
  nearest_candidates(d, x.data(), n, rows.data(), k, c.data(), Metric::kL2, t, l1.data(), d1.data(),
                     1);
  nearest_candidates(d, x.data(), n, rows.data(), k, c.data(), Metric::kL2, t, l3.data(), d3.data(),
                     3);
  EXPECT_EQ(l1, l3);
  EXPECT_EQ(d1, d3);
}

}  // namespace
}  // namespace ivftrain
