#include "ivftrain/kmeans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ivftrain/log.h"
#include "kmeans/lloyd.h"
#include "test_util.h"
#include "util/rng.h"
#include "util/sampling.h"

namespace ivftrain {
namespace {

using testing::gaussian_mixture;

// A plain Lloyd in double precision, written without any of the library's kernels: the oracle.
struct ReferenceLloyd {
  int64_t n, d, k;
  const float* x;
  bool inner_product;
  std::vector<double> centroids;
  std::vector<int32_t> labels;

  double assign() {
    labels.assign(n, 0);
    double objective = 0;
    for (int64_t i = 0; i < n; ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < k; ++c) {
        double dist = 0;
        for (int64_t j = 0; j < d; ++j) {
          const double a = x[i * d + j], b = centroids[c * d + j];
          dist += inner_product ? -a * b : (a - b) * (a - b);
        }
        if (dist < best) {
          best = dist;
          labels[i] = static_cast<int32_t>(c);
        }
      }
      objective += best;
    }
    return objective;
  }
  // Returns false if a cluster is empty (the reference does not split).
  bool update() {
    std::vector<double> sum(k * d, 0.0);
    std::vector<int64_t> count(k, 0);
    for (int64_t i = 0; i < n; ++i) {
      ++count[labels[i]];
      for (int64_t j = 0; j < d; ++j) sum[labels[i] * d + j] += x[i * d + j];
    }
    for (int64_t c = 0; c < k; ++c) {
      if (count[c] == 0) return false;
      for (int64_t j = 0; j < d; ++j) centroids[c * d + j] = sum[c * d + j] / count[c];
    }
    return true;
  }
};

KMeansParams params_for(int max_iters, uint64_t seed) {
  KMeansParams p;
  p.max_iters = max_iters;
  p.tolerance = 0;
  p.seed = seed;
  p.num_threads = 2;
  return p;
}

void check_against_reference(bool inner_product) {
  const int64_t n = 400, d = 6, k = 7;
  const uint64_t seed = 5;
  auto x = gaussian_mixture(n, d, 5, 17);
  if (inner_product) {
    // Unit rows (cosine-like data): with raw rows, the largest means win every inner product
    // and clusters empty at once, which the splitting-free reference cannot follow.
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += double(x[i * d + j]) * x[i * d + j];
      for (int64_t j = 0; j < d; ++j)
        x[i * d + j] = static_cast<float>(x[i * d + j] / std::sqrt(s));
    }
  }

  // Same initial rows as the library: k distinct rows from Rng(seed), in increasing order.
  ReferenceLloyd ref{n, d, k, x.data(), inner_product, {}, {}};
  Rng rng(seed);
  for (int64_t row : choose_sorted(rng, n, k)) {
    ref.centroids.insert(ref.centroids.end(), x.begin() + row * d, x.begin() + (row + 1) * d);
  }
  ref.assign();
  for (int iters = 1; iters <= 6; ++iters) {
    ASSERT_TRUE(ref.update());
    const double ref_objective = ref.assign();
    KMeansParams p = params_for(iters, seed);
    p.metric = inner_product ? Metric::kInnerProduct : Metric::kL2;
    p.relocate = false;  // the reference is Lloyd's alone
    auto r = kmeans_train(n, d, x.data(), k, p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->iterations.size(), static_cast<size_t>(iters));
    EXPECT_EQ(r->iterations.back().empty_clusters_split, 0);
    for (int64_t i = 0; i < k * d; ++i) {
      ASSERT_NEAR(r->centroids[i], ref.centroids[i], 1e-4 * (1 + std::abs(ref.centroids[i])))
          << "iteration " << iters << " value " << i;
    }
    EXPECT_NEAR(r->objective, ref_objective, 1e-5 * std::abs(ref_objective));
    EXPECT_EQ(r->objective, r->iterations.back().objective);
    std::vector<int32_t> labels(n);
    kmeans_assign(n, d, x.data(), k, r->centroids.data(),
                  inner_product ? Metric::kInnerProduct : Metric::kL2, labels.data(), nullptr, 1);
    EXPECT_EQ(labels, ref.labels) << "iteration " << iters;
  }
}

TEST(KMeans, MatchesReferenceLloydL2) { check_against_reference(false); }
TEST(KMeans, MatchesReferenceLloydInnerProduct) { check_against_reference(true); }

TEST(KMeans, ObjectiveNeverRises) {
  const int64_t n = 6000, d = 16, k = 60;
  const auto x = gaussian_mixture(n, d, 100, 3);
  for (KMeansInit init :
       {KMeansInit::kRandom, KMeansInit::kKMeansPlusPlus, KMeansInit::kKMeansParallel}) {
    for (bool relocate : {false, true}) {
      KMeansParams p = params_for(25, 11);
      p.init = init;
      p.relocate = relocate;
      auto r = kmeans_train(n, d, x.data(), k, p);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->iterations.size(), 25u);
      for (size_t i = 1; i < r->iterations.size(); ++i) {
        // Exact Lloyd never rises; the float objective may wobble by rounding once converged. An
        // update that moves centroids (relocation, or the split of an empty cluster) may raise
        // it: its split halves only part next iteration.
        if (relocate && r->iterations[i].empty_clusters_split > 0) continue;
        EXPECT_LE(r->iterations[i].objective, r->iterations[i - 1].objective * (1 + 1e-6))
            << "iteration " << i << " relocate " << relocate;
      }
      EXPECT_LT(r->iterations.back().objective, r->iterations.front().objective);
      // Every iteration records the rows it computed: some, never more than all (the bounds'
      // savings are tested in bounded_assign_test).
      for (const KMeansIteration& it : r->iterations) {
        EXPECT_GT(it.rows_computed, 0);
        EXPECT_LE(it.rows_computed, n);
      }
    }
  }
}

TEST(KMeans, StopsEarlyAtTolerance) {
  const int64_t n = 3000, d = 8, k = 20;
  const auto x = gaussian_mixture(n, d, 30, 4);
  KMeansParams p = params_for(100, 1);
  p.tolerance = 1e-3;
  auto r = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(r.ok());
  const auto& it = r->iterations;
  ASSERT_GE(it.size(), 2u);
  ASSERT_LT(it.size(), 100u);
  // The last iteration's relative improvement is below tolerance, the previous ones are not.
  auto improvement = [&](size_t i) {
    return (it[i - 1].objective - it[i].objective) / it[i - 1].objective;
  };
  EXPECT_LT(improvement(it.size() - 1), p.tolerance);
  for (size_t i = 1; i + 1 < it.size(); ++i) EXPECT_GE(improvement(i), p.tolerance) << i;

  p.tolerance = 0;  // disabled: all iterations run
  auto all = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->iterations.size(), 100u);
}

TEST(KMeans, SplitsEmptyClusters) {
  // 25 distinct points, each repeated 8 times: random initial rows collide, so the first
  // assignment leaves clusters empty. With 25 distinct points and k = 25 a perfect clustering
  // exists; splitting must find one with no cluster empty.
  const int64_t distinct = 25, copies = 8, d = 3, k = 25;
  const auto points = gaussian_mixture(distinct, d, distinct, 8);
  std::vector<float> x;
  for (int64_t c = 0; c < copies; ++c) x.insert(x.end(), points.begin(), points.end());
  const int64_t n = distinct * copies;
  for (uint64_t seed : {1, 2, 3}) {
    auto r = kmeans_train(n, d, x.data(), k, params_for(40, seed));
    ASSERT_TRUE(r.ok());
    int64_t splits = 0;
    for (const auto& it : r->iterations) splits += it.empty_clusters_split;
    EXPECT_GT(splits, 0) << seed;
    std::vector<int32_t> labels(n);
    kmeans_assign(n, d, x.data(), k, r->centroids.data(), Metric::kL2, labels.data(), nullptr);
    EXPECT_EQ(std::set<int32_t>(labels.begin(), labels.end()).size(), static_cast<size_t>(k))
        << seed;
    EXPECT_NEAR(r->objective, 0.0, 1e-3) << seed;
  }
}

// Data made of exactly k distinct points, each repeated: a perfect clustering (objective 0)
// exists, so k-means must end with k distinct centroids, one on each point, whatever the seed.
// The random start often picks two copies of one point, which leaves a cluster empty.
void expect_k_distinct_centroids(const std::vector<float>& points, int64_t d, int64_t copies,
                                 std::string_view what) {
  const int64_t k = static_cast<int64_t>(points.size()) / d;
  std::vector<float> x;
  for (int64_t c = 0; c < copies; ++c) x.insert(x.end(), points.begin(), points.end());
  const int64_t n = k * copies;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    auto r = kmeans_train(n, d, x.data(), k, params_for(20, seed));
    ASSERT_TRUE(r.ok());
    std::set<std::vector<float>> distinct;
    for (int64_t c = 0; c < k; ++c) {
      distinct.emplace(r->centroids.begin() + c * d, r->centroids.begin() + (c + 1) * d);
    }
    EXPECT_EQ(distinct.size(), static_cast<size_t>(k)) << what << ", seed " << seed;
    EXPECT_NEAR(r->objective, 0.0, 1e-6) << what << ", seed " << seed;
  }
}

TEST(KMeans, NoDuplicateCentroidsWhenTheDataHasKDistinctPoints) {
  // Rows +u and -u: their mean is the origin, which scaling by (1 +/- eps) leaves in place.
  expect_k_distinct_centroids({1, 2, -3, 4, -1, -2, 3, -4}, 4, 50, "+/-u, k = 2");
  // Symmetric about a point away from the origin.
  expect_k_distinct_centroids({5, 5, 7, 5}, 2, 40, "two points, k = 2");
  // The origin and points symmetric about it.
  expect_k_distinct_centroids({0, 0, 0, 1, 1, 0, -1, -1, 0}, 3, 30, "origin and +/-u, k = 3");
  // One dimension, symmetric about the origin.
  expect_k_distinct_centroids({-2, 0, 2}, 1, 30, "d = 1, k = 3");
  // Corners of a square centred on the origin.
  expect_k_distinct_centroids({1, 1, 1, -1, -1, 1, -1, -1}, 2, 25, "square, k = 4");
}

TEST(KMeans, KMeansPlusPlusFindsSeparatedClusters) {
  // 12 far-apart clusters of unit noise: one centroid per cluster gives an objective of about
  // n * d; missing a cluster costs far more.
  const int64_t n = 2400, d = 8, k = 12;
  Rng rng(1);
  std::vector<float> centres(k * d), x(n * d);
  for (auto& v : centres) v = static_cast<float>(rng.normal() * 50);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      x[i * d + j] = centres[(i % k) * d + j] + static_cast<float>(rng.normal());
    }
  }
  KMeansParams p = params_for(3, 7);
  p.init = KMeansInit::kKMeansPlusPlus;
  auto r = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(r.ok());
  EXPECT_LT(r->objective, 1.3 * n * d);
}

TEST(KMeans, BitIdenticalAcrossThreadCounts) {
  const int64_t n = 3000, d = 24, k = 300;  // GEMM kernel, several row blocks
  const auto x = gaussian_mixture(n, d, 80, 6);
  for (KMeansInit init :
       {KMeansInit::kRandom, KMeansInit::kKMeansPlusPlus, KMeansInit::kKMeansParallel}) {
    for (int64_t kk : {k, int64_t{200}}) {  // and the direct kernel
      KMeansParams p = params_for(4, 3);
      p.init = init;
      p.num_threads = 1;
      auto one = kmeans_train(n, d / 2, x.data(), kk, p);  // d = 12 rows of the same buffer
      p.num_threads = 2;
      auto two = kmeans_train(n, d / 2, x.data(), kk, p);
      p.num_threads = 3;
      auto three = kmeans_train(n, d / 2, x.data(), kk, p);
      ASSERT_TRUE(one.ok() && two.ok() && three.ok());
      ASSERT_EQ(one->centroids.size(), two->centroids.size());
      EXPECT_EQ(0, std::memcmp(one->centroids.data(), two->centroids.data(),
                               one->centroids.size() * sizeof(float)));
      EXPECT_EQ(0, std::memcmp(one->centroids.data(), three->centroids.data(),
                               one->centroids.size() * sizeof(float)));
      EXPECT_EQ(one->objective, two->objective);
    }
  }
}

// IVF_PQ's residuals take the labels of the IVF k-means's last assignment instead of assigning
// again: they must be kmeans_assign's, ties included, on every assignment path.
TEST(KMeans, NearestLabelsAreThoseOfKMeansAssign) {
  const int64_t n = 4000;
  for (const int64_t d : {int64_t{8}, int64_t{40}}) {  // the direct kernel, the bounds (GEMM)
    auto x = gaussian_mixture(n, d, 60, 9);
    // On a coarse grid, with repeated rows: equal distances to several centroids happen.
    for (float& v : x) v = std::round(v);
    std::memcpy(&x[100 * d], &x[7 * d], sizeof(float) * d);
    for (const int64_t k : {int64_t{64}, int64_t{256}}) {
      SCOPED_TRACE(::testing::Message() << "d=" << d << " k=" << k);
      KMeansParams p = params_for(6, 5);
      p.num_threads = 2;
      std::vector<int32_t> nearest;
      auto r = kmeans_train_logged(n, d, x.data(), k, p, KMeansLog{}, &nearest);
      ASSERT_TRUE(r.ok());
      std::vector<int32_t> assigned(static_cast<size_t>(n));
      kmeans_assign(n, d, x.data(), k, r->centroids.data(), Metric::kL2, assigned.data(), nullptr,
                    1);
      EXPECT_EQ(nearest, assigned);
      // Hierarchical k-means and balancing end with other labels: none are given.
      p.balance = 1.5;
      ASSERT_TRUE(kmeans_train_logged(n, d, x.data(), k, p, KMeansLog{}, &nearest).ok());
      EXPECT_TRUE(nearest.empty());
    }
  }
}

TEST(KMeans, AsManyRowsAsCentroids) {
  const int64_t n = 10, d = 3;
  const auto x = gaussian_mixture(n, d, 2, 1);
  auto r = kmeans_train(n, d, x.data(), n, params_for(5, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->centroids, x);
  EXPECT_EQ(r->objective, 0.0);
}

TEST(KMeans, SingleCluster) {
  const int64_t n = 101, d = 5;
  const auto x = gaussian_mixture(n, d, 3, 2);
  auto r = kmeans_train(n, d, x.data(), 1, params_for(3, 1));
  ASSERT_TRUE(r.ok());
  for (int64_t j = 0; j < d; ++j) {
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[i * d + j];
    EXPECT_NEAR(r->centroids[j], mean / n, 1e-5);
  }
}

TEST(KMeans, RejectsBadParameters) {
  const auto x = gaussian_mixture(200, 4, 2, 1);
  auto bad = [&](int64_t n, int64_t d, int64_t k, KMeansParams p) {
    auto r = kmeans_train(n, d, x.data(), k, p);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    return r.status().message();
  };
  EXPECT_EQ(bad(200, 4, 300, params_for(5, 1)), "k 300 is larger than the 200 rows");
  EXPECT_EQ(bad(200, 4, 0, params_for(5, 1)), "k must be at least 1 (got 0)");
  EXPECT_NE(bad(200, 0, 5, params_for(5, 1)).find("dimension"), std::string::npos);
  EXPECT_EQ(bad(200, 4, 5, params_for(0, 1)), "max_iters must be at least 1 (got 0)");
  KMeansParams ip_balance = params_for(5, 1);
  ip_balance.metric = Metric::kInnerProduct;
  ip_balance.balance = 2;
  EXPECT_NE(bad(200, 4, 5, ip_balance).find("balance needs the l2 metric"), std::string::npos);
}

TEST(KMeans, WarnsWhenFewRowsPerCentroid) {
  std::string text;
  set_log_level(LogLevel::kDebug);
  set_log_sink([&text](LogLevel, std::string_view message) {
    text.append(message);
    text += '\n';
  });
  const auto x = gaussian_mixture(300, 4, 3, 1);
  KMeansParams p = params_for(2, 1);
  ASSERT_TRUE(kmeans_train(300, 4, x.data(), 10, p).ok());
  set_log_sink(nullptr);
  set_log_level(LogLevel::kInfo);
  EXPECT_NE(text.find("at least 390 rows"), std::string::npos) << text;
  EXPECT_NE(text.find("kmeans: iteration 2"), std::string::npos) << text;
}

}  // namespace
}  // namespace ivftrain
