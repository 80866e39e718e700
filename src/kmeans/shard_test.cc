// Sharded flat k-means without MPI: shards run as threads of one process, whose collectives
// meet through shared memory, each shard merging the others in its own order. Every shard must
// end with the centroids, objectives and iteration records local k-means gives, bit for bit.
#include "kmeans/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cstring>
#include <thread>
#include <vector>

#include "kmeans/lloyd.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

// What the threads share: one slot per shard for each collective, and a barrier.
struct Hub {
  explicit Hub(int shards) : barrier(shards), sums(shards), objectives(shards), floats(shards) {}
  std::barrier<> barrier;
  std::vector<const ClusterSums*> sums;
  std::vector<const ExactSum*> objectives;
  std::vector<std::vector<float>> floats;
};

class ThreadShard final : public KMeansShard {
 public:
  ThreadShard(Hub& hub, int rank, int64_t total, std::vector<int64_t> global)
      : hub_(hub), rank_(rank), total_(total), global_(std::move(global)) {}
  int64_t total_rows() const override { return total_; }
  const int64_t* global_rows() const override { return global_.data(); }
  float max_over_shards(float local) override {
    hub_.floats[rank_] = {local};
    hub_.barrier.arrive_and_wait();
    float m = 0;
    for (const auto& f : hub_.floats) m = std::max(m, f[0]);
    hub_.barrier.arrive_and_wait();
    return m;
  }
  void combine(ClusterSums& s) override {
    hub_.sums[rank_] = &s;
    hub_.barrier.arrive_and_wait();
    // Each shard merges the others starting from the next one: every shard in its own order.
    const int shards = static_cast<int>(hub_.sums.size());
    ClusterSums merged = *hub_.sums[(rank_ + 1) % shards];
    for (int i = 2; i <= shards; ++i) merged.merge(*hub_.sums[(rank_ + i) % shards]);
    hub_.barrier.arrive_and_wait();
    s = std::move(merged);
  }
  void combine(ExactSum& o) override {
    hub_.objectives[rank_] = &o;
    hub_.barrier.arrive_and_wait();
    ExactSum merged;
    for (const ExactSum* other : hub_.objectives) merged.merge(*other);
    hub_.barrier.arrive_and_wait();
    o = merged;
  }
  void fetch_rows(const std::vector<int64_t>& rows, int64_t d, const float* x,
                  float* out) override {
    std::vector<float> mine(rows.size() * d, 0.0f);
    std::vector<uint8_t> have(rows.size(), 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto it = std::lower_bound(global_.begin(), global_.end(), rows[i]);
      if (it != global_.end() && *it == rows[i]) {
        std::memcpy(mine.data() + i * d, x + (it - global_.begin()) * d, sizeof(float) * d);
        mine.push_back(static_cast<float>(i));  // which rows this shard holds, after the rows
      }
    }
    hub_.floats[rank_] = std::move(mine);
    hub_.barrier.arrive_and_wait();
    const size_t base = rows.size() * d;
    for (const auto& f : hub_.floats) {
      for (size_t t = base; t < f.size(); ++t) {
        const auto i = static_cast<size_t>(f[t]);
        std::memcpy(out + i * d, f.data() + i * d, sizeof(float) * d);
      }
    }
    hub_.barrier.arrive_and_wait();
  }

 private:
  Hub& hub_;
  int rank_;
  int64_t total_;
  std::vector<int64_t> global_;
};

// Runs flat k-means over x split at random between `shards` threads; returns each shard's run.
std::vector<KMeansRun> sharded_runs(int64_t n, int64_t d, const std::vector<float>& x, int64_t k,
                                    const KMeansParams& params, int shards, uint64_t split_seed) {
  Rng rng(split_seed);
  std::vector<std::vector<int64_t>> global(shards);
  std::vector<std::vector<float>> rows(shards);
  for (int64_t i = 0; i < n; ++i) {
    const int s = static_cast<int>(rng.uniform(shards));
    global[s].push_back(i);
    rows[s].insert(rows[s].end(), x.begin() + i * d, x.begin() + (i + 1) * d);
  }
  Hub hub(shards);
  std::vector<KMeansRun> runs(shards);
  std::vector<std::thread> threads;
  for (int s = 0; s < shards; ++s) {
    threads.emplace_back([&, s] {
      ThreadShard shard(hub, s, n, global[s]);
      KMeansLog log_as;
      log_as.warn_few_rows = false;
      runs[s] = flat_kmeans(static_cast<int64_t>(global[s].size()), d, rows[s].data(), k, params,
                            log_as, &shard);
    });
  }
  for (auto& t : threads) t.join();
  return runs;
}

void expect_same_run(const KMeansRun& a, const KMeansRun& b) {
  ASSERT_EQ(a.result.centroids.size(), b.result.centroids.size());
  EXPECT_EQ(std::memcmp(a.result.centroids.data(), b.result.centroids.data(),
                        a.result.centroids.size() * sizeof(float)),
            0);
  EXPECT_EQ(std::bit_cast<uint64_t>(a.result.objective),
            std::bit_cast<uint64_t>(b.result.objective));
  ASSERT_EQ(a.result.iterations.size(), b.result.iterations.size());
  for (size_t i = 0; i < a.result.iterations.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(a.result.iterations[i].objective),
              std::bit_cast<uint64_t>(b.result.iterations[i].objective))
        << "iteration " << i;
    EXPECT_EQ(a.result.iterations[i].empty_clusters_split,
              b.result.iterations[i].empty_clusters_split);
  }
}

// Rows rounded to integers in few dimensions: many duplicates, so random init picks some row
// twice and empty clusters are split (through the first rows the shards merge).
std::vector<float> rows_with_duplicates(int64_t n, int64_t d) {
  auto x = testing::gaussian_mixture(n, d, 5, 3);
  for (auto& v : x) v = std::round(v);
  return x;
}

TEST(ShardedKMeans, EveryShardGetsTheLocalResultBitForBit) {
  struct Case {
    int64_t n, d, k;
    Metric metric;
    bool duplicates;
  };
  // l2 with bounds (k d > 4096: BoundedAssigner), l2 on the direct kernel with empty clusters
  // split, inner product (FullAssigner).
  for (const Case& c :
       {Case{4000, 48, 100, Metric::kL2, false}, Case{3000, 3, 60, Metric::kL2, true},
        Case{3000, 16, 20, Metric::kInnerProduct, false}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << c.n << " d=" << c.d << " k=" << c.k);
    const auto x =
        c.duplicates ? rows_with_duplicates(c.n, c.d) : testing::gaussian_mixture(c.n, c.d, 30, 7);
    KMeansParams params;
    params.metric = c.metric;
    params.max_iters = 12;
    params.num_threads = 1;
    params.seed = 99;
    KMeansLog quiet;
    quiet.warn_few_rows = false;
    const KMeansRun local = flat_kmeans(c.n, c.d, x.data(), c.k, params, quiet);
    if (c.duplicates) {
      int64_t split = 0;
      for (const auto& it : local.result.iterations) split += it.empty_clusters_split;
      ASSERT_GT(split, 0) << "the case is meant to split empty clusters";
    }
    for (const int shards : {1, 2, 3, 5}) {
      SCOPED_TRACE(::testing::Message() << shards << " shards");
      const auto runs = sharded_runs(c.n, c.d, x, c.k, params, shards, 1000 + shards);
      for (const KMeansRun& run : runs) expect_same_run(run, local);
    }
  }
}

TEST(ShardedKMeans, AsManyRowsAsCentroidsFetchesEveryRow) {
  const int64_t n = 40, d = 5, k = 40;
  const auto x = testing::random_matrix(4, n, d, 10.0);
  KMeansParams params;
  params.num_threads = 1;
  const KMeansRun local = flat_kmeans(n, d, x.data(), k, params, KMeansLog{});
  for (const KMeansRun& run : sharded_runs(n, d, x, k, params, 3, 8)) {
    EXPECT_EQ(run.result.centroids, local.result.centroids);
  }
}

}  // namespace
}  // namespace ivftrain

namespace ivftrain {
namespace {

TEST(KMeansCheckpoints, ResumingFromAnyIterationGivesTheUninterruptedRun) {
  // Duplicated rows: empty clusters are split, so the saved random state matters.
  const int64_t n = 3000, d = 3, k = 60;
  auto x = testing::gaussian_mixture(n, d, 5, 3);
  for (auto& v : x) v = std::round(v);
  KMeansParams params;
  params.max_iters = 10;
  params.num_threads = 1;
  KMeansLog quiet;
  quiet.warn_few_rows = false;
  std::vector<KMeansState> saved;
  KMeansCheckpoints save_all;
  save_all.save = [&](const KMeansState& s) { saved.push_back(s); };
  const KMeansRun whole = flat_kmeans(n, d, x.data(), k, params, quiet, nullptr, &save_all);
  ASSERT_EQ(saved.size(), whole.result.iterations.size());
  EXPECT_TRUE(saved.back().finished);
  for (size_t i = 0; i < saved.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "resumed after iteration " << i + 1);
    EXPECT_EQ(saved[i].finished, i + 1 == saved.size());
    KMeansCheckpoints resume;
    resume.resume = &saved[i];
    expect_same_run(flat_kmeans(n, d, x.data(), k, params, quiet, nullptr, &resume), whole);
  }
}

}  // namespace
}  // namespace ivftrain
