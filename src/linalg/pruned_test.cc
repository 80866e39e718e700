#include "linalg/pruned.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "linalg/distances.h"
#include "linalg/near_ties.h"
#include "linalg/two_nearest.h"
#include "test_util.h"

namespace ivftrain {
namespace {

std::vector<float> mixture(int64_t n, int64_t d, int64_t clusters, uint64_t seed,
                           double offset = 0) {
  auto x = testing::gaussian_mixture(n, d, clusters, seed);
  for (float& v : x) v = static_cast<float>(v + offset);
  return x;
}

// Runs the pruned search on every row and compares each with nearest_one_by_one bit for bit
// (label, best; second must be a lower bound of its second, and no lower than the best: the
// rows a probe leaves to the plain selection carry its SGEMM second, within rounding), and
// with the plain SGEMM selection (label, best). Returns the share of the (row, centroid) pairs
// measured in full among the rows searched with pruning (nearly every row when `all_pruned`).
double check_against_one_by_one(int64_t n, int64_t d, int64_t k, int64_t p,
                                const std::vector<float>& x, const std::vector<float>& c,
                                bool all_pruned = true) {
  SCOPED_TRACE(::testing::Message() << "n=" << n << " d=" << d << " k=" << k << " p=" << p);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  std::vector<int32_t> labels(n, -1), plain_labels(n, -1);
  std::vector<float> best(n), second(n), plain_best(n), plain_second(n);
  PrunedSearch search(n, d, x.data(), norms.data(), p);
  EXPECT_EQ(search.dims(), p);
  search.two_nearest(n, rows.data(), k, c.data(), nullptr, labels.data(), best.data(),
                     second.data(), 2);
  two_nearest(d, x.data(), norms.data(), n, rows.data(), k, c.data(), plain_labels.data(),
              plain_best.data(), plain_second.data(), 2);
  int64_t mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const RowNearest r = nearest_one_by_one(Metric::kL2, x.data() + i * d, d, k, c.data());
    const bool same = labels[i] == r.label && std::memcmp(&best[i], &r.best, 4) == 0 &&
                      second[i] <= r.second * (1 + 1e-5f) && second[i] >= r.best &&
                      labels[i] == plain_labels[i] && std::memcmp(&best[i], &plain_best[i], 4) == 0;
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << "row " << i << ": pruned " << labels[i] << " " << best[i] << " " << second[i]
                    << ", one by one " << r.label << " " << r.best << " " << r.second << ", plain "
                    << plain_labels[i] << " " << plain_best[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
  // Rows that need too many centroids measured are given up and searched plainly: few here.
  if (all_pruned) {
    EXPECT_GT(search.pruned_rows(), n * 9 / 10);
  }
  // With a hint (a centroid to measure first: here the nearest's neighbour in index order, often
  // a poor one), the same labels and distances.
  std::vector<int32_t> hint(n), hinted(n);
  std::vector<float> hinted_best(n), hinted_second(n);
  for (int64_t i = 0; i < n; ++i) hint[i] = static_cast<int32_t>((labels[i] + 1) % k);
  search.two_nearest(n, rows.data(), k, c.data(), hint.data(), hinted.data(), hinted_best.data(),
                     hinted_second.data(), 2);
  EXPECT_EQ(hinted, labels);
  EXPECT_EQ(std::memcmp(hinted_best.data(), best.data(), n * sizeof(float)), 0);
  return double(search.measured()) / double(std::max<int64_t>(1, search.pruned_rows()) * k);
}

TEST(PrunedSearch, GivesTheLabelsAndDistancesOfTheFullSearchBitForBit) {
  const int64_t n = 3000, d = 64, k = 300;
  const auto x = mixture(n, d, 40, 1);
  const auto c = mixture(k, d, 40, 1);  // the same centres: rows near several centroids
  for (int64_t p : {4, 16, 40}) {
    const double share = check_against_one_by_one(n, d, k, p, x, c);
    EXPECT_LT(share, 0.5) << "p = " << p;  // it prunes
  }
  // Centroids drawn from the rows (as k-means starts), several tiles of 512 centroids.
  const int64_t k2 = 1100;
  std::vector<float> c2(x.begin(), x.begin() + k2 * d);
  EXPECT_LT(check_against_one_by_one(n, d, k2, 16, x, c2), 0.25);
}

TEST(PrunedSearch, MarginsHoldFarFromTheOriginAndOnIsotropicRows) {
  // Rows far from the origin (rounding of the rotation relative to large norms), and rows
  // without structure (the partial distances prune little; nothing may be pruned wrongly).
  const int64_t n = 2500, d = 48, k = 200;
  const auto x = mixture(n, d, 20, 3, 1e4);
  const auto c = mixture(k, d, 20, 3, 1e4);
  check_against_one_by_one(n, d, k, 12, x, c);
  // Isotropic rows: the probe finds pruning does not pay, and the rest is searched plainly.
  const auto xr = testing::random_matrix(5, n, d, 1.0), cr = testing::random_matrix(6, k, d, 1.0);
  check_against_one_by_one(n, d, k, 12, xr, cr, false);
}

TEST(PrunedSearch, TiesGoToTheSmallestIndexAndSecondEqualsBest) {
  const int64_t n = 2500, d = 32, k = 90;
  auto x = mixture(n, d, 10, 7);
  auto c = mixture(k, d, 10, 7);
  // Centroid 77 duplicates 3, 60 duplicates 41; rows 0-9 sit on centroid 77 (and 3).
  std::copy_n(c.begin() + 3 * d, d, c.begin() + 77 * d);
  std::copy_n(c.begin() + 41 * d, d, c.begin() + 60 * d);
  for (int64_t i = 0; i < 10; ++i) std::copy_n(c.begin() + 77 * d, d, x.begin() + i * d);
  check_against_one_by_one(n, d, k, 8, x, c);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  PrunedSearch search(n, d, x.data(), norms.data(), 8);
  std::vector<int64_t> rows = {0, 5, 9};
  std::vector<int32_t> labels(n, -1);
  std::vector<float> best(n, -1), second(n, -1);
  search.two_nearest(3, rows.data(), k, c.data(), nullptr, labels.data(), best.data(),
                     second.data(), 1);
  for (int64_t i : rows) {
    EXPECT_EQ(labels[i], 3);
    EXPECT_EQ(best[i], 0.0f);
    EXPECT_EQ(second[i], 0.0f);
  }
  // Fewer rows than pruning is worth: the plain selection, the same result.
  EXPECT_EQ(search.pruned_rows(), 0);
}

TEST(PrunedSearch, OneCentroidAndRowsRotatedOnce) {
  const int64_t n = 2100, d = 16;
  const auto x = mixture(n, d, 4, 9);
  const auto c = mixture(1, d, 4, 10);
  check_against_one_by_one(n, d, 1, 4, x, c, false);
}

}  // namespace
}  // namespace ivftrain
