#include "kmeans/init.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <set>
#include <vector>

#include "ivftrain/kmeans.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

// The rows of `centroids` (k x d), as byte strings: equal rows give equal strings.
std::set<std::vector<float>> distinct_rows(const std::vector<float>& m, int64_t k, int64_t d) {
  std::set<std::vector<float>> rows;
  for (int64_t c = 0; c < k; ++c) rows.emplace(m.begin() + c * d, m.begin() + (c + 1) * d);
  return rows;
}

TEST(KMeansParallel, CandidatesAreDistinctRowsWhoseWeightsCountEveryRow) {
  const int64_t n = 5000, d = 16, k = 50;
  const auto x = testing::gaussian_mixture(n, d, 40, 2);
  Rng rng(3);
  const KMeansParallelCandidates c =
      kmeans_parallel_candidates(n, d, x.data(), k, 9, rng, nullptr, 2);
  const auto m = static_cast<int64_t>(c.rows.size());
  // Each round draws about 2k rows (the expected count is at most 2k).
  EXPECT_GT(m, k);
  EXPECT_LE(m, 1 + kKMeansParallelRounds * 4 * k);
  ASSERT_EQ(c.weights.size(), c.rows.size());
  ASSERT_EQ(c.vectors.size(), c.rows.size() * d);
  EXPECT_EQ(std::accumulate(c.weights.begin(), c.weights.end(), int64_t{0}), n);
  EXPECT_EQ(std::set<int64_t>(c.rows.begin(), c.rows.end()).size(), c.rows.size());
  for (int64_t j = 0; j < m; ++j) {
    ASSERT_GE(c.rows[j], 0);
    ASSERT_LT(c.rows[j], n);
    EXPECT_EQ(0, std::memcmp(c.vectors.data() + j * d, x.data() + c.rows[j] * d, sizeof(float) * d))
        << "candidate " << j << " is row " << c.rows[j];
    EXPECT_GE(c.weights[j], 1) << "a candidate is the nearest candidate of its own row";
  }
  // The weights are the rows nearest each candidate (ties: the first candidate).
  std::vector<int64_t> count(static_cast<size_t>(m), 0);
  for (int64_t i = 0; i < n; ++i) {
    ++count[testing::brute_two_nearest(x.data() + i * d, c.vectors.data(), m, d).label];
  }
  // Float rounding may move a row whose two nearest candidates are almost tied; none here.
  EXPECT_EQ(count, c.weights);
}

TEST(KMeansParallel, GivesKDistinctCentroidsFromTheRows) {
  const int64_t n = 4000, d = 8, k = 64;
  const auto x = testing::gaussian_mixture(n, d, 20, 5);
  std::set<std::vector<float>> rows = distinct_rows(x, n, d);
  for (const uint64_t seed : {1, 2, 3}) {
    Rng rng(seed);
    std::vector<float> centroids(k * d);
    init_kmeans_parallel(n, d, x.data(), k, seed, rng, nullptr, centroids.data(), 1);
    const auto distinct = distinct_rows(centroids, k, d);
    EXPECT_EQ(static_cast<int64_t>(distinct.size()), k) << "seed " << seed;
    for (const auto& c : distinct) EXPECT_TRUE(rows.count(c)) << "a centroid is a row of x";
  }
}

TEST(KMeansParallel, FindsEverySeparatedCluster) {
  // 12 far-apart clusters of unit noise: k-means|| must seed one centroid in each (random
  // rows miss some: 12 uniform draws from 12 equal clusters cover them all with p = 5e-5).
  const int64_t n = 2400, d = 8, k = 12;
  Rng gen(1);
  std::vector<float> centres(k * d), x(n * d);
  for (auto& v : centres) v = static_cast<float>(gen.normal() * 50);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      x[i * d + j] = centres[(i % k) * d + j] + static_cast<float>(gen.normal());
    }
  }
  for (const uint64_t seed : {4, 5, 6, 7}) {
    Rng rng(seed);
    std::vector<float> centroids(k * d);
    init_kmeans_parallel(n, d, x.data(), k, seed, rng, nullptr, centroids.data(), 2);
    std::set<int64_t> hit;
    for (int64_t c = 0; c < k; ++c) {
      hit.insert(testing::brute_two_nearest(centroids.data() + c * d, centres.data(), k, d).label);
    }
    EXPECT_EQ(static_cast<int64_t>(hit.size()), k) << "seed " << seed;
  }
}

TEST(KMeansParallel, FewerDistinctRowsThanCentroids) {
  // 7 distinct rows (the corners of a simplex, all 2 apart) for k = 10: the rounds stop once
  // every row sits on a candidate; the 7 are among the centroids, the others duplicates (for the
  // Lloyd iterations to split).
  const int64_t n = 700, d = 7, k = 10;
  std::vector<float> x(n * d, 0.0f);
  for (int64_t i = 0; i < n; ++i) x[i * d + i % 7] = 1.0f;
  Rng rng(8);
  const KMeansParallelCandidates c =
      kmeans_parallel_candidates(n, d, x.data(), k, 8, rng, nullptr, 1);
  EXPECT_GE(c.rows.size(), 7u);
  EXPECT_EQ(std::accumulate(c.weights.begin(), c.weights.end(), int64_t{0}), n);
  EXPECT_EQ(distinct_rows(c.vectors, static_cast<int64_t>(c.rows.size()), d),
            distinct_rows(x, n, d));
  Rng rng2(8);
  std::vector<float> centroids(k * d);
  init_kmeans_parallel(n, d, x.data(), k, 8, rng2, nullptr, centroids.data(), 1);
  EXPECT_EQ(distinct_rows(centroids, k, d), distinct_rows(x, n, d));
  // With k = 7, one centroid on each distinct row from the start: an objective of 0.
  KMeansParams p;
  p.init = KMeansInit::kKMeansParallel;
  p.num_threads = 1;
  p.max_iters = 1;
  auto r = kmeans_train(n, d, x.data(), 7, p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->objective, 0.0);
  EXPECT_EQ(r->iterations.at(0).empty_clusters_split, 0);
}

TEST(KMeansParallel, NamesParseBothWays) {
  EXPECT_EQ(to_string(KMeansInit::kKMeansParallel), "kmeans-parallel");
  for (const char* name : {"kmeans-parallel", "kmeans||"}) {
    auto parsed = parse_kmeans_init(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, KMeansInit::kKMeansParallel);
  }
  auto bad = parse_kmeans_init("kmeans|");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("kmeans-parallel"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace ivftrain
