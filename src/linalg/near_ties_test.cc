// A row's label and distance must not depend on the rows assigned with it: sharded training
// and the bounds change the blocks a row is computed in (near_ties.h).
#include "linalg/near_ties.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "linalg/assign.h"
#include "linalg/distances.h"
#include "linalg/two_nearest.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

struct NearTies {
  int64_t n, d, k;
  std::vector<float> x, c;
};

// k random centroids and n rows each within float rounding of the bisector of two of them:
// every row is a near tie, which SGEMM's rounding would decide.
NearTies near_ties(int64_t n, int64_t d, int64_t k) {
  NearTies t{n, d, k, std::vector<float>(n * d), std::vector<float>(k * d)};
  Rng rng(11);
  for (auto& v : t.c) v = static_cast<float>(rng.normal() * 4);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t a = static_cast<int64_t>(rng.uniform(k));
    const int64_t b = (a + 1 + static_cast<int64_t>(rng.uniform(k - 1))) % k;
    // Midpoint plus a small offset orthogonal to b - a.
    std::vector<double> u(d), off(d);
    double uu = 0, uo = 0;
    for (int64_t j = 0; j < d; ++j) {
      u[j] = double(t.c[b * d + j]) - t.c[a * d + j];
      off[j] = rng.normal() * 0.1;
      uu += u[j] * u[j];
      uo += u[j] * off[j];
    }
    for (int64_t j = 0; j < d; ++j) {
      const double mid = (double(t.c[a * d + j]) + t.c[b * d + j]) / 2;
      t.x[i * d + j] = static_cast<float>(mid + off[j] - uo / uu * u[j]);
    }
  }
  return t;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(NearTies, AssignNearestGivesEachRowTheSameLabelAndDistanceInAnyBlock) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    const NearTies t = near_ties(700, 96, 80);
    std::vector<int32_t> all(t.n), part(t.n);
    std::vector<float> all_d(t.n), part_d(t.n);
    assign_nearest_gemm(t.n, t.d, t.x.data(), nullptr, t.k, t.c.data(), metric,
                        AssignOutput{all.data(), all_d.data()}, 1);
    // The same rows in runs of 1 to 13 rows: each row at other places of other blocks.
    int64_t begin = 0;
    for (int64_t len = 1; begin < t.n; len = len % 13 + 1) {
      const int64_t m = std::min(len, t.n - begin);
      assign_nearest_gemm(m, t.d, t.x.data() + begin * t.d, nullptr, t.k, t.c.data(), metric,
                          AssignOutput{part.data() + begin, part_d.data() + begin}, 1);
      begin += m;
    }
    int64_t label_diffs = 0, dist_diffs = 0;
    for (int64_t i = 0; i < t.n; ++i) {
      label_diffs += all[i] != part[i];
      dist_diffs += !same_bits(all_d[i], part_d[i]);
      const RowNearest one = nearest_one_by_one(metric, t.x.data() + i * t.d, t.d, t.k, t.c.data());
      EXPECT_EQ(all[i], one.label) << "row " << i;
    }
    EXPECT_EQ(label_diffs, 0) << "metric " << static_cast<int>(metric);
    EXPECT_EQ(dist_diffs, 0) << "metric " << static_cast<int>(metric);
  }
}

TEST(NearTies, TwoNearestGivesEachRowTheSameLabelAndBestInAnySelection) {
  const NearTies t = near_ties(900, 64, 100);
  std::vector<float> norms(t.n);
  row_norms_sqr(t.n, t.d, t.x.data(), norms.data());
  std::vector<int64_t> every(t.n), odd;
  for (int64_t i = 0; i < t.n; ++i) {
    every[i] = i;
    if (i % 3 == 1) odd.push_back(i);
  }
  std::vector<int32_t> la(t.n), lb(t.n, -1);
  std::vector<float> ba(t.n), sa(t.n), bb(t.n), sb(t.n);
  two_nearest(t.d, t.x.data(), norms.data(), t.n, every.data(), t.k, t.c.data(), la.data(),
              ba.data(), sa.data(), 1);
  two_nearest(t.d, t.x.data(), norms.data(), static_cast<int64_t>(odd.size()), odd.data(), t.k,
              t.c.data(), lb.data(), bb.data(), sb.data(), 1);
  int64_t label_diffs = 0, dist_diffs = 0;
  for (int64_t i : odd) {
    label_diffs += la[i] != lb[i];
    dist_diffs += !same_bits(ba[i], bb[i]);
  }
  EXPECT_EQ(label_diffs, 0);
  EXPECT_EQ(dist_diffs, 0);
}

// Near ties are settled from the centroids collected tile by tile (TieCandidates), not all k:
// the labels and best distances must still be nearest_one_by_one's, bit for bit, with k over
// several SGEMM tiles, and the second a lower bound of the true second (up to rounding).
TEST(NearTies, SettlingFromCandidatesGivesTheLabelsOfAllCentroids) {
  const NearTies t = near_ties(700, 48, 1100);
  std::vector<float> norms(t.n);
  row_norms_sqr(t.n, t.d, t.x.data(), norms.data());
  std::vector<int64_t> every(t.n);
  for (int64_t i = 0; i < t.n; ++i) every[i] = i;
  std::vector<int32_t> labels(t.n), plain(t.n), plain_no_norms(t.n);
  std::vector<float> best(t.n), second(t.n);
  const float max_c = max_norm_sqr(t.k, t.d, t.c.data());
  two_nearest(t.d, t.x.data(), norms.data(), t.n, every.data(), t.k, t.c.data(), labels.data(),
              best.data(), second.data(), 2);
  assign_nearest_gemm(t.n, t.d, t.x.data(), norms.data(), t.k, t.c.data(), Metric::kL2,
                      AssignOutput{plain.data(), nullptr}, 2);
  assign_nearest_gemm(t.n, t.d, t.x.data(), nullptr, t.k, t.c.data(), Metric::kL2,
                      AssignOutput{plain_no_norms.data(), nullptr}, 2);
  for (int64_t i = 0; i < t.n; ++i) {
    const RowNearest want =
        nearest_one_by_one(Metric::kL2, t.x.data() + i * t.d, t.d, t.k, t.c.data());
    ASSERT_EQ(labels[i], want.label) << "row " << i;
    ASSERT_EQ(plain[i], want.label) << "row " << i;
    ASSERT_EQ(plain_no_norms[i], want.label) << "row " << i;
    ASSERT_TRUE(same_bits(best[i], want.best)) << "row " << i;
    // (A row whose two best scores are far apart keeps the tile's second score: a bound up to
    // the scores' rounding.)
    ASSERT_LE(second[i], want.second + near_tie_margin(t.d, norms[i], max_c)) << "row " << i;
    ASSERT_GE(second[i], best[i]) << "row " << i;
  }
}

// More exact ties than candidates are kept (the nearest centroid repeated 40 times, across
// tiles): the row is settled against all k, and the smallest index wins.
TEST(NearTies, RowsWithManyCandidatesAreSettledAgainstAllCentroids) {
  const int64_t d = 16, k = 1500;
  Rng rng(5);
  std::vector<float> c(k * d), x(3 * d);
  for (auto& v : c) v = static_cast<float>(rng.normal() * 4);
  for (auto& v : x) v = static_cast<float>(rng.normal() * 4);
  for (int64_t j = 0; j < 2 * d; ++j) x[d + j] = x[j % d];  // three equal rows
  // Centroids 37 + 36 m (m < 40) all sit at the rows' point plus a tiny offset.
  for (int64_t m = 0; m < 40; ++m) {
    for (int64_t j = 0; j < d; ++j) c[(37 + 36 * m) * d + j] = x[j] + 0.01f;
  }
  std::vector<float> norms(3), best(3), second(3);
  row_norms_sqr(3, d, x.data(), norms.data());
  const int64_t rows[] = {0, 1, 2};
  std::vector<int32_t> labels(3);
  two_nearest(d, x.data(), norms.data(), 3, rows, k, c.data(), labels.data(), best.data(),
              second.data(), 1);
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_EQ(labels[r], 37);
    EXPECT_EQ(second[r], best[r]);  // the same distance again, from all k
  }
}

TEST(NearTies, OneByOneBreaksExactTiesTowardsTheSmallerIndex) {
  const float c[] = {1, 0, -1, 0, 1, 0};  // centroids 0 and 2 equal, 1 the mirror
  const float x[] = {0, 1};
  const RowNearest r = nearest_one_by_one(Metric::kL2, x, 2, 3, c);
  EXPECT_EQ(r.label, 0);
  EXPECT_EQ(r.best, 2.0f);
  EXPECT_EQ(r.second, 2.0f);
}

}  // namespace
}  // namespace ivftrain
