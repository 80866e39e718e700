#include "kmeans/balance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ivftrain/kmeans.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

// 70% of the rows in one tight blob, the rest spread over 9 others: nearest-centroid clusters
// are very uneven.
std::vector<float> skewed_data(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> centres(10 * d), x(n * d);
  for (auto& v : centres) v = static_cast<float>(rng.normal() * 20);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 10 < 7 ? 0 : 1 + static_cast<int64_t>(rng.uniform(9));
    for (int64_t j = 0; j < d; ++j) {
      x[i * d + j] = centres[c * d + j] + static_cast<float>(rng.normal());
    }
  }
  return x;
}

std::vector<int64_t> sizes_of(const std::vector<int32_t>& labels, int64_t k) {
  std::vector<int64_t> s(k, 0);
  for (int32_t l : labels) ++s[l];
  return s;
}

TEST(Balance, Capacity) {
  EXPECT_EQ(balance_capacity(1000, 10, 1.5), 150);
  EXPECT_EQ(balance_capacity(1000, 10, 2.0), 200);
  EXPECT_EQ(balance_capacity(25, 10, 1.1), 3);  // floor(2.75) = 2 would not fit 25 rows
}

TEST(Balance, CapsClustersOnSkewedData) {
  const int64_t n = 4000, d = 8, k = 20;
  const auto x = skewed_data(n, d, 3);
  KMeansParams p;
  p.k = k;
  p.max_iters = 10;
  p.tolerance = 0;
  p.seed = 1;
  auto r = kmeans_train(n, d, x.data(), p);
  ASSERT_TRUE(r.ok());
  std::vector<float> centroids = r->centroids;
  std::vector<int32_t> labels(n);
  kmeans_assign(n, d, x.data(), k, centroids.data(), false, labels.data(), nullptr, 1);
  const std::vector<int32_t> nearest = labels;
  const auto before = sizes_of(labels, k);
  const double balance = 1.5;
  const int64_t cap = balance_capacity(n, k, balance);
  ASSERT_GT(*std::max_element(before.begin(), before.end()), cap);  // the data needs balancing

  const BalanceStats stats =
      balance_clusters(n, d, x.data(), k, balance, false, 2, centroids.data(), labels.data());
  const auto after = sizes_of(labels, k);
  EXPECT_LE(*std::max_element(after.begin(), after.end()), cap);
  EXPECT_EQ(stats.largest_after, *std::max_element(after.begin(), after.end()));
  EXPECT_EQ(stats.largest_before, *std::max_element(before.begin(), before.end()));
  int64_t moved = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] != nearest[i]) {
      ++moved;
      // Only rows of oversized clusters move.
      EXPECT_GT(before[nearest[i]], cap) << i;
    }
  }
  EXPECT_EQ(moved, stats.rows_moved);
  // Centroids are the means of their rows and the objective is that of the labels (in double,
  // independently of the library's kernels).
  double objective = 0;
  for (int64_t c = 0; c < k; ++c) {
    std::vector<double> mean(d, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      if (labels[i] != c) continue;
      for (int64_t j = 0; j < d; ++j) mean[j] += x[i * d + j];
    }
    for (int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(centroids[c * d + j], mean[j] / after[c], 1e-4 * (1 + std::abs(mean[j] / after[c])));
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const double t = double(x[i * d + j]) - centroids[labels[i] * d + j];
      objective += t * t;
    }
  }
  EXPECT_NEAR(stats.objective, objective, 1e-5 * objective);
}

TEST(Balance, ThroughKMeansTrainAndBitIdentical) {
  const int64_t n = 3000, d = 6, k = 30;
  const auto x = skewed_data(n, d, 5);
  KMeansParams p;
  p.k = k;
  p.max_iters = 8;
  p.tolerance = 0;
  p.seed = 2;
  auto plain = kmeans_train(n, d, x.data(), p);
  p.balance = 1.2;
  p.num_threads = 1;
  auto one = kmeans_train(n, d, x.data(), p);
  p.num_threads = 3;
  auto three = kmeans_train(n, d, x.data(), p);
  ASSERT_TRUE(plain.ok() && one.ok() && three.ok());
  EXPECT_EQ(one->centroids, three->centroids);
  EXPECT_EQ(one->objective, three->objective);
  // Balancing trades objective for evenness.
  EXPECT_GT(one->objective, plain->objective);
  // kmeans_train reports the objective of its balanced labels: recompute it from scratch.
  std::vector<int32_t> labels(n);
  kmeans_assign(n, d, x.data(), k, plain->centroids.data(), false, labels.data(), nullptr, 1);
  std::vector<float> c = plain->centroids;
  const BalanceStats s = balance_clusters(n, d, x.data(), k, 1.2, false, 1, c.data(), labels.data());
  EXPECT_EQ(c, one->centroids);
  EXPECT_EQ(s.objective, one->objective);
  EXPECT_LE(s.largest_after, balance_capacity(n, k, 1.2));

  p.balance = 0.5;
  EXPECT_FALSE(kmeans_train(n, d, x.data(), p).ok());
}

}  // namespace
}  // namespace ivftrain
