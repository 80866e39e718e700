#include "kmeans/cap_sizes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "ivftrain/kmeans.h"
#include "kmeans/rebalance.h"
#include "test_util.h"
#include "util/cancel.h"
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

std::vector<int32_t> nearest_of(const std::vector<float>& x, const std::vector<float>& centroids,
                                int64_t n, int64_t d, int64_t k) {
  std::vector<int32_t> labels(n);
  kmeans_assign(n, d, x.data(), k, centroids.data(), Metric::kL2, labels.data(), nullptr, 1);
  return labels;
}

// The capping decided from the records of rows split between workers (the file protocol's
// rounds: decide_cap_moves over every worker's cap_records) is cap_cluster_sizes' over all the
// rows: the same moves, labels and sizes, rows whose candidates are all full included.
TEST(CapRecords, MovesDecidedFromWorkersRecordsAreTheLocalCapping) {
  const int64_t n = 3000, d = 8, k = 12;
  const auto x = skewed_data(n, d, 11);
  // One centroid on the blob (row 0), the others on rows outside it: the blob's cluster is over
  // every cap below.
  std::vector<float> start(x.begin(), x.begin() + d);
  for (int64_t i = 1; static_cast<int64_t>(start.size()) < k * d; ++i) {
    if (i % 10 >= 7) start.insert(start.end(), x.begin() + i * d, x.begin() + (i + 1) * d);
  }
  for (const Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    std::vector<int32_t> nearest(n);
    kmeans_assign(n, d, x.data(), k, start.data(), metric, nearest.data(), nullptr, 1);
    for (const double balance : {3.0, 1.5, 1.01}) {
      SCOPED_TRACE(::testing::Message()
                   << "balance " << balance << " metric " << static_cast<int>(metric));
      std::vector<float> centroids = start;
      std::vector<int32_t> labels = nearest;
      const CapStats local =
          cap_cluster_sizes(n, d, x.data(), k, balance, metric, 2, centroids.data(), labels.data());
      ASSERT_GT(local.rows_moved, 0);
      const int64_t capacity = balance_capacity(n, k, balance);
      for (const int workers : {1, 3}) {
        std::vector<std::vector<int64_t>> records;
        for (int w = 0; w < workers; ++w) {  // worker w: the rows i with i % workers == w
          std::vector<int64_t> global;
          std::vector<float> xs;
          std::vector<int32_t> ls;
          for (int64_t i = w; i < n; i += workers) {
            global.push_back(i);
            xs.insert(xs.end(), x.begin() + i * d, x.begin() + (i + 1) * d);
            ls.push_back(nearest[i]);
          }
          records.push_back(cap_records(static_cast<int64_t>(global.size()), d, xs.data(), k,
                                        start.data(), metric, ls.data(), sizes_of(nearest, k),
                                        capacity, global.data(), 1));
          EXPECT_EQ(records.back().size() % cap_record_words(k), 0u);
        }
        std::vector<int64_t> sizes = sizes_of(nearest, k);
        int64_t fetched = 0;
        auto moves =
            decide_cap_moves(records, d, k, start.data(), metric, capacity, &sizes,
                             [&](const std::vector<int64_t>& rows) -> Result<std::vector<float>> {
                               std::vector<float> out;
                               for (int64_t r : rows)
                                 out.insert(out.end(), x.begin() + r * d, x.begin() + (r + 1) * d);
                               fetched += static_cast<int64_t>(rows.size());
                               return out;
                             });
        ASSERT_TRUE(moves.ok()) << moves.status().ToString();
        EXPECT_EQ(static_cast<int64_t>(moves->rows.size()), local.rows_moved);
        std::vector<int32_t> got = nearest;
        for (size_t m = 0; m < moves->rows.size(); ++m) got[moves->rows[m]] = moves->to[m];
        EXPECT_EQ(got, labels);
        EXPECT_EQ(sizes, sizes_of(labels, k));
        if (balance == 1.01) {
          EXPECT_GT(fetched, 0) << "no row needed the scan";
        }
      }
    }
  }
  // Records cut short, or naming a cluster beyond k, are refused.
  std::vector<int64_t> sizes = sizes_of(nearest_of(x, start, n, d, k), k);
  std::vector<int64_t> one = {5, 0};
  one.resize(static_cast<size_t>(cap_record_words(k)) - 1, 0);
  EXPECT_EQ(
      decide_cap_moves({one}, d, k, start.data(), Metric::kL2, 10, &sizes, {}).status().code(),
      Status::Code::kInvalidArgument);
  one.push_back(0);
  one[1] = 99;  // the row's cluster
  EXPECT_EQ(
      decide_cap_moves({one}, d, k, start.data(), Metric::kL2, 10, &sizes, {}).status().code(),
      Status::Code::kInvalidArgument);
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
  p.max_iters = 10;
  p.tolerance = 0;
  p.seed = 1;
  p.relocate = false;  // Lloyd's local minimum, whose clusters need the cap (relocation evens them)
  auto r = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(r.ok());
  std::vector<float> centroids = r->centroids;
  std::vector<int32_t> labels(n);
  kmeans_assign(n, d, x.data(), k, centroids.data(), Metric::kL2, labels.data(), nullptr, 1);
  const std::vector<int32_t> nearest = labels;
  const auto before = sizes_of(labels, k);
  const double balance = 1.5;
  const int64_t cap = balance_capacity(n, k, balance);
  ASSERT_GT(*std::max_element(before.begin(), before.end()), cap);  // the data needs balancing

  const CapStats stats = cap_cluster_sizes(n, d, x.data(), k, balance, Metric::kL2, 2,
                                           centroids.data(), labels.data());
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
      EXPECT_NEAR(centroids[c * d + j], mean[j] / after[c],
                  1e-4 * (1 + std::abs(mean[j] / after[c])));
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

// Each row's nearest centroid (l2) and the objective, by brute force in double: the oracle for
// nearest-centroid partition sizes.
struct Nearest {
  std::vector<int32_t> labels;
  double objective = 0;
};
Nearest brute_nearest(const std::vector<float>& x, int64_t d, const std::vector<float>& c) {
  const int64_t n = static_cast<int64_t>(x.size()) / d, k = static_cast<int64_t>(c.size()) / d;
  Nearest out;
  out.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const testing::TwoNearest t = testing::brute_two_nearest(x.data() + i * d, c.data(), k, d);
    out.labels[i] = t.label;
    out.objective += t.best;
  }
  return out;
}

int64_t largest(const std::vector<int32_t>& labels, int64_t k) {
  const auto s = sizes_of(labels, k);
  return *std::max_element(s.begin(), s.end());
}

KMeansParams skewed_params() {
  KMeansParams p;
  p.max_iters = 8;
  p.tolerance = 0;
  p.seed = 2;
  p.relocate = false;  // Lloyd's local minimum, whose clusters need the cap (relocation evens them)
  return p;
}

// Balances the centroids of a plain k-means of x and checks the result against brute force.
void check_balanced(const std::vector<float>& x, int64_t d, int64_t k, double balance) {
  SCOPED_TRACE(::testing::Message() << "balance " << balance);
  const auto n = static_cast<int64_t>(x.size()) / d;
  auto plain = kmeans_train(n, d, x.data(), k, skewed_params());
  ASSERT_TRUE(plain.ok());
  const Nearest before = brute_nearest(x, d, plain->centroids);
  const int64_t cap = balance_capacity(n, k, balance);
  ASSERT_GT(largest(before.labels, k), cap);  // the data needs balancing
  std::vector<float> c = plain->centroids;
  std::vector<int32_t> labels(n);
  const RebalanceStats s =
      rebalance_centroids(n, d, x.data(), k, balance, 7, 2, c.data(), labels.data());
  // The labels returned are the nearest-centroid ones; every cluster is within the cap and
  // none is empty.
  const Nearest after = brute_nearest(x, d, c);
  EXPECT_EQ(labels, after.labels);
  const auto sizes = sizes_of(after.labels, k);
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), cap);
  EXPECT_GT(*std::min_element(sizes.begin(), sizes.end()), 0);
  EXPECT_EQ(s.largest_after, largest(after.labels, k));
  EXPECT_EQ(s.largest_before, largest(before.labels, k));
  EXPECT_GT(s.rounds, 0);
  EXPECT_GT(s.clusters_split, 0);
  EXPECT_NEAR(s.objective, after.objective, 1e-6 * after.objective);
  EXPECT_NEAR(s.objective_before, before.objective, 1e-6 * before.objective);
  // Cutting crowded clusters costs little: on these data it even lowers the objective.
  EXPECT_LT(s.objective, before.objective);
}

TEST(BalanceCentroids, BoundsNearestCentroidPartitionsOnSkewedData) {
  const int64_t d = 6;
  const auto x = skewed_data(6000, d, 5);
  check_balanced(x, d, 40, 1.4);
}

TEST(BalanceCentroids, BoundsNearestCentroidPartitionsOnAMixture) {
  // As many clusters as centroids: Lloyd from random rows leaves some centroids sharing a
  // cluster and others straddling two, the largest partitions several times the mean.
  const int64_t d = 16, k = 64;
  const auto x = testing::gaussian_mixture(64 * 100, d, k, 9);
  for (double balance : {2.0, 1.3}) check_balanced(x, d, k, balance);
  // Fewer centroids than a row's neighbourhood after a round (32): every row sees all of them.
  check_balanced(testing::gaussian_mixture(16 * 100, d, 16, 4), d, 16, 1.3);
}

TEST(BalanceCentroids, ThroughKMeansTrainBitIdenticalAcrossThreads) {
  const int64_t n = 3000, d = 6, k = 30;
  const auto x = skewed_data(n, d, 5);
  {
    KMeansParams p = skewed_params();
    auto plain = kmeans_train(n, d, x.data(), k, p);
    p.balance = 1.2;
    p.num_threads = 1;
    auto one = kmeans_train(n, d, x.data(), k, p);
    p.num_threads = 3;
    auto three = kmeans_train(n, d, x.data(), k, p);
    ASSERT_TRUE(plain.ok() && one.ok() && three.ok());
    EXPECT_EQ(one->centroids, three->centroids);
    EXPECT_EQ(one->objective, three->objective);
    EXPECT_NE(one->centroids, plain->centroids);
    const Nearest nearest = brute_nearest(x, d, one->centroids);
    EXPECT_LE(largest(nearest.labels, k), balance_capacity(n, k, 1.2));
    EXPECT_NEAR(one->objective, nearest.objective, 1e-6 * std::abs(nearest.objective));
  }
  KMeansParams p = skewed_params();
  p.balance = 0.5;
  EXPECT_FALSE(kmeans_train(n, d, x.data(), k, p).ok());
  // Under the largest inner product, long centroids win whatever their place: refused.
  p.balance = 2;
  p.metric = Metric::kInnerProduct;
  EXPECT_FALSE(kmeans_train(n, d, x.data(), k, p).ok());
}

TEST(BalanceCentroids, AlreadyBalancedCentroidsAreLeftAlone) {
  const int64_t n = 2000, d = 4, k = 10;
  const auto x = testing::random_matrix(3, n, d, 1.0);
  KMeansParams p = skewed_params();
  auto plain = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(plain.ok());
  std::vector<float> c = plain->centroids;
  std::vector<int32_t> labels(n);
  ASSERT_LE(largest(brute_nearest(x, d, c).labels, k), balance_capacity(n, k, 3));
  const RebalanceStats s = rebalance_centroids(n, d, x.data(), k, 3, 1, 1, c.data(), labels.data());
  EXPECT_EQ(c, plain->centroids);
  EXPECT_EQ(s.rounds, 0);
  EXPECT_EQ(s.largest_before, s.largest_after);
}

TEST(BalanceCentroids, IdenticalRowsCannotBeCutAndEndTheLoop) {
  // 60% of the rows are one point: no centroid can split them, whatever the rounds.
  const int64_t n = 1000, d = 3, k = 10;
  auto x = testing::random_matrix(4, n, d, 1.0);
  for (int64_t i = 0; i < 600; ++i) {
    for (int64_t j = 0; j < d; ++j) x[i * d + j] = 5.0f;
  }
  KMeansParams p = skewed_params();
  auto plain = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(plain.ok());
  std::vector<float> c = plain->centroids;
  std::vector<int32_t> labels(n);
  const RebalanceStats s = rebalance_centroids(n, d, x.data(), k, 2, 1, 2, c.data(), labels.data());
  EXPECT_GE(s.largest_after, 600);
  EXPECT_GT(s.largest_after, s.capacity);
  EXPECT_LT(s.rounds, kMaxRebalanceRounds);
  EXPECT_EQ(labels, brute_nearest(x, d, c).labels);
}

TEST(BalanceCentroids, CancelStopsTheRoundsAndTrainingReportsIt) {
  // A Ctrl-C (request_cancel) while balancing: the round under way ends (its cuts' k-means stop
  // after one iteration), no further round begins, and kmeans_train returns kCancelled rather
  // than a model balanced halfway.
  const int64_t d = 16, k = 64, n = 64 * 100;
  const auto x = testing::gaussian_mixture(n, d, k, 9);
  KMeansParams p = skewed_params();
  auto plain = kmeans_train(n, d, x.data(), k, p);
  ASSERT_TRUE(plain.ok());
  std::vector<float> c = plain->centroids;
  std::vector<int32_t> labels(n);
  const RebalanceStats whole =
      rebalance_centroids(n, d, x.data(), k, 1.1, 1, 2, c.data(), labels.data());
  ASSERT_GT(whole.rounds, 1);  // uncancelled, it takes several rounds

  struct Reset {
    ~Reset() {
      clear_cancel();
      set_progress_observer(nullptr);
    }
  } reset;
  // The first iteration of a cut's k-means asks for the cancel.
  int seen = 0;  // iterations of the cuts' k-means
  set_progress_observer([&](std::string_view run, int, double) {
    if (run == "balance" && ++seen == 1) request_cancel();
  });
  c = plain->centroids;
  const RebalanceStats s =
      rebalance_centroids(n, d, x.data(), k, 1.1, 1, 2, c.data(), labels.data());
  EXPECT_GT(seen, 0);
  EXPECT_EQ(s.rounds, 1);  // the round under way, no other

  clear_cancel();
  seen = 0;
  p.balance = 1.1;
  const Result<KMeansResult> r = kmeans_train(n, d, x.data(), k, p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled);
  EXPECT_GT(seen, 0);  // cancelled while balancing, not before
}

}  // namespace
}  // namespace ivftrain
