// Sharded flat k-means without MPI: shards run as threads of one process, whose collectives
// meet through shared memory, each shard merging the others in its own order. Every shard must
// end with the centroids, objectives and iteration records local k-means gives, bit for bit.
#include "kmeans/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <bit>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "kmeans/cap_sizes.h"
#include "kmeans/init.h"
#include "kmeans/lloyd.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

// What the threads share: one slot per shard for each collective, and a barrier.
struct Hub {
  explicit Hub(int shards)
      : barrier(shards), sums(shards), objectives(shards), floats(shards), ints(shards),
        sent(shards) {}
  std::barrier<> barrier;
  std::vector<const ClusterSums*> sums;
  std::vector<const ExactSum*> objectives;
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int64_t>> ints;
  struct Sent {
    const std::vector<int64_t>* counts;
    const float* rows;
    const int64_t* meta;
  };
  std::vector<Sent> sent;  // exchange_rows: what each shard sends
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
  void combine_counts(std::vector<int64_t>& counts) override {
    hub_.ints[rank_] = counts;
    hub_.barrier.arrive_and_wait();
    // Added from the next shard on, as combine(ClusterSums&): integers, so any order agrees.
    const int shards = static_cast<int>(hub_.ints.size());
    std::vector<int64_t> sum(counts.size(), 0);
    for (int i = 1; i <= shards; ++i) {
      const auto& other = hub_.ints[(rank_ + i) % shards];
      for (size_t c = 0; c < sum.size(); ++c) sum[c] += other[c];
    }
    hub_.barrier.arrive_and_wait();
    counts = std::move(sum);
  }
  std::vector<int64_t> gather_rows(const std::vector<int64_t>& mine) override {
    hub_.ints[rank_] = mine;
    hub_.barrier.arrive_and_wait();
    std::vector<int64_t> all;
    for (const auto& other : hub_.ints) all.insert(all.end(), other.begin(), other.end());
    hub_.barrier.arrive_and_wait();
    std::sort(all.begin(), all.end());
    return all;
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
  int shard_count() const override { return static_cast<int>(hub_.sums.size()); }
  int shard_index() const override { return rank_; }
  std::vector<std::vector<int64_t>> all_gather(const std::vector<int64_t>& mine) override {
    hub_.ints[rank_] = mine;
    hub_.barrier.arrive_and_wait();
    std::vector<std::vector<int64_t>> all = hub_.ints;
    hub_.barrier.arrive_and_wait();
    return all;
  }
  void exchange_rows(int64_t d, int64_t m, const std::vector<int64_t>& counts, const float* rows,
                     const int64_t* meta, std::vector<float>* rows_in,
                     std::vector<int64_t>* meta_in) override {
    hub_.sent[rank_] = Hub::Sent{&counts, rows, meta};
    hub_.barrier.arrive_and_wait();
    rows_in->clear();
    meta_in->clear();
    for (const Hub::Sent& from : hub_.sent) {
      int64_t at = 0;  // the rows this sender sends to the shards before this one
      for (int s = 0; s < rank_; ++s) at += (*from.counts)[s];
      const int64_t count = (*from.counts)[rank_];
      rows_in->insert(rows_in->end(), from.rows + at * d, from.rows + (at + count) * d);
      meta_in->insert(meta_in->end(), from.meta + at * m, from.meta + (at + count) * m);
    }
    hub_.barrier.arrive_and_wait();
  }

 private:
  Hub& hub_;
  int rank_;
  int64_t total_;
  std::vector<int64_t> global_;
};

// Splits the n rows of x at random between `shards` threads and returns what
// run(shard, rows, x) gives on each, x holding that shard's `rows` rows.
template <typename Run>
auto on_shards(int64_t n, int64_t d, const std::vector<float>& x, int shards, uint64_t split_seed,
               Run run) {
  Rng rng(split_seed);
  std::vector<std::vector<int64_t>> global(shards);
  std::vector<std::vector<float>> rows(shards);
  for (int64_t i = 0; i < n; ++i) {
    const int s = static_cast<int>(rng.uniform(shards));
    global[s].push_back(i);
    rows[s].insert(rows[s].end(), x.begin() + i * d, x.begin() + (i + 1) * d);
  }
  Hub hub(shards);
  std::vector<decltype(run(std::declval<KMeansShard&>(), int64_t{}, nullptr))> out(shards);
  std::vector<std::thread> threads;
  for (int s = 0; s < shards; ++s) {
    threads.emplace_back([&, s] {
      ThreadShard shard(hub, s, n, global[s]);
      out[s] = run(shard, static_cast<int64_t>(global[s].size()), rows[s].data());
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

// Runs flat k-means over x split at random between `shards` threads; returns each shard's run.
std::vector<KMeansRun> sharded_runs(int64_t n, int64_t d, const std::vector<float>& x, int64_t k,
                                    const KMeansParams& params, int shards, uint64_t split_seed) {
  return on_shards(n, d, x, shards, split_seed,
                   [&](KMeansShard& shard, int64_t rows, const float* xs) {
                     KMeansLog log_as;
                     log_as.warn_few_rows = false;
                     return flat_kmeans(rows, d, xs, k, params, log_as, &shard);
                   });
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

void expect_every_shard_gets_the_local_result(KMeansInit init) {
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
    params.init = init;
    params.metric = c.metric;
    params.max_iters = 12;
    params.num_threads = 1;
    params.seed = 99;
    KMeansLog quiet;
    quiet.warn_few_rows = false;
    const KMeansRun local = flat_kmeans(c.n, c.d, x.data(), c.k, params, quiet);
    if (c.duplicates && init == KMeansInit::kRandom) {
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

TEST(ShardedKMeans, EveryShardGetsTheLocalResultBitForBit) {
  expect_every_shard_gets_the_local_result(KMeansInit::kRandom);
}

TEST(ShardedKMeans, KMeansParallelEveryShardGetsTheLocalResultBitForBit) {
  expect_every_shard_gets_the_local_result(KMeansInit::kKMeansParallel);
}

TEST(ShardedKMeans, KMeansParallelCandidatesDoNotDependOnTheSplit) {
  // Duplicated rows too: candidates at distance 0 of other rows, rounds that draw nothing.
  for (const bool duplicates : {false, true}) {
    SCOPED_TRACE(duplicates ? "duplicates" : "mixture");
    const int64_t n = 3000, d = duplicates ? 3 : 16, k = 40;
    const auto x = duplicates ? rows_with_duplicates(n, d) : testing::gaussian_mixture(n, d, 25, 4);
    Rng rng(5);
    const KMeansParallelCandidates local =
        kmeans_parallel_candidates(n, d, x.data(), k, 77, rng, nullptr, 1);
    const Rng::State rng_after = rng.state();
    ASSERT_GT(local.rows.size(), 1u);
    for (const int shards : {2, 3, 5}) {
      SCOPED_TRACE(::testing::Message() << shards << " shards");
      struct Out {
        KMeansParallelCandidates c;
        Rng::State rng;
      };
      const auto outs = on_shards(
          n, d, x, shards, 40 + shards, [&](KMeansShard& shard, int64_t rows, const float* xs) {
            Rng r(5);
            Out o{kmeans_parallel_candidates(rows, d, xs, k, 77, r, &shard, 2), {}};
            o.rng = r.state();
            return o;
          });
      for (const Out& o : outs) {
        EXPECT_EQ(o.c.rows, local.rows);
        EXPECT_EQ(o.c.weights, local.weights);
        EXPECT_EQ(o.c.vectors, local.vectors);
        EXPECT_EQ(o.rng, rng_after);
      }
    }
  }
}

// Rows of a mixture, every fourth one (from row 4) a copy of row 0: a quarter of the rows are
// one row repeated, so its group holds more than 3 times the mean and groups are capped.
std::vector<float> rows_with_one_repeated(int64_t n, int64_t d) {
  auto x = testing::gaussian_mixture(n, d, 40, 11);
  for (int64_t i = 4; i < n; i += 4) std::copy_n(x.begin(), d, x.begin() + i * d);
  return x;
}

KMeansParams hierarchical_params(KMeansInit init, Metric metric) {
  KMeansParams params;
  params.init = init;
  params.metric = metric;
  params.algorithm = KMeansAlgorithm::kHierarchical;
  params.max_iters = 6;
  params.num_threads = 2;
  params.seed = 17;
  return params;
}

// Hierarchical k-means over shards: the coarse k-means sharded over its sample, the capping of
// the groups decided from the gathered rows of over-full groups, the groups trained where their
// rows moved, the refinement sharded. Every shard must end with the local centroids and records.
TEST(ShardedKMeans, HierarchicalEveryShardGetsTheLocalResultBitForBit) {
  struct Case {
    int64_t n, d, k;
    Metric metric;
    KMeansInit init;
  };
  // A quarter of the rows are one row repeated: its group holds more than 3 times the mean, so
  // groups are capped (the rows of over-full groups gathered). Then fewer rows than 256 g (the
  // coarse k-means on all rows); inner product with k-means||.
  for (const Case& c : {Case{12000, 8, 144, Metric::kL2, KMeansInit::kRandom},
                        Case{3000, 6, 400, Metric::kL2, KMeansInit::kRandom},
                        Case{20000, 8, 900, Metric::kInnerProduct, KMeansInit::kKMeansParallel}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << c.n << " d=" << c.d << " k=" << c.k);
    const auto x = rows_with_one_repeated(c.n, c.d);
    const KMeansParams params = hierarchical_params(c.init, c.metric);
    KMeansLog quiet;
    quiet.warn_few_rows = false;
    const KMeansRun local = hierarchical_kmeans(c.n, c.d, x.data(), c.k, params, quiet);
    for (const int shards : {1, 2, 3, 4}) {
      SCOPED_TRACE(::testing::Message() << shards << " shards");
      const auto runs = on_shards(c.n, c.d, x, shards, 300 + shards,
                                  [&](KMeansShard& shard, int64_t rows, const float* xs) {
                                    // The rows are freed when released (ASan would see a later
                                    // read).
                                    std::vector<float> own(xs, xs + rows * c.d);
                                    int released = 0;
                                    KMeansRun run = hierarchical_kmeans(
                                        rows, c.d, own.data(), c.k, params, quiet, &shard, [&] {
                                          std::vector<float>().swap(own);
                                          ++released;
                                        });
                                    EXPECT_EQ(released, 1);
                                    return run;
                                  });
      for (const KMeansRun& run : runs) expect_same_run(run, local);
    }
  }
}

// Rows of x in over-full clusters under each cap, capped over all the rows and over shards.
void expect_sharded_capping_is_local(int64_t d, Metric metric) {
  SCOPED_TRACE(::testing::Message() << "d=" << d << (metric == Metric::kL2 ? " l2" : " ip"));
  const int64_t n = 6000, k = 24;
  auto x = testing::gaussian_mixture(n, d, 8, 5);
  for (int64_t i = 0; i < n; i += 3) {  // a third of the rows in one tight blob
    for (int64_t j = 0; j < d; ++j) x[i * d + j] = x[i * d + j] * 0.01f - 3.0f;
  }
  // One centroid on the blob (row 0), the others on rows outside it: the blob's 2,000 nearly
  // equal rows share their nearest centroid, so one cluster is over every cap below.
  std::vector<float> start(x.begin(), x.begin() + d);
  for (int64_t i = 1; static_cast<int64_t>(start.size()) < k * d; ++i) {
    if (i % 3 != 0) start.insert(start.end(), x.begin() + i * d, x.begin() + (i + 1) * d);
  }
  std::vector<int32_t> nearest(static_cast<size_t>(n));
  kmeans_assign(n, d, x.data(), k, start.data(), metric, nearest.data(), nullptr, 1);
  // 7.6: a cap of 1,900, about 100 rows to move (the rows are gathered in rounds, and not all);
  // 1.01: most clusters full, rows whose candidates are all full (the scan).
  for (const double balance : {7.6, 3.0, 1.2, 1.01}) {
    SCOPED_TRACE(::testing::Message() << "balance " << balance);
    std::vector<float> centroids = start;
    std::vector<int32_t> labels = nearest;
    const CapStats local =
        cap_cluster_sizes(n, d, x.data(), k, balance, metric, 2, centroids.data(), labels.data());
    ASSERT_GT(local.rows_moved, 0);
    struct Out {
      CapStats stats;
      std::vector<float> centroids;
      std::vector<std::pair<int64_t, int32_t>> labels;  // (global row, label)
    };
    for (const int shards : {2, 3}) {
      SCOPED_TRACE(::testing::Message() << shards << " shards");
      const auto outs = on_shards(
          n, d, x, shards, 70 + shards, [&](KMeansShard& shard, int64_t rows, const float* xs) {
            Out o;
            o.centroids = start;
            std::vector<int32_t> l(static_cast<size_t>(rows));
            for (int64_t i = 0; i < rows; ++i) l[i] = nearest[shard.global_rows()[i]];
            o.stats = cap_cluster_sizes_sharded(rows, d, xs, k, balance, metric, 1,
                                                o.centroids.data(), l.data(), shard);
            for (int64_t i = 0; i < rows; ++i) o.labels.emplace_back(shard.global_rows()[i], l[i]);
            return o;
          });
      for (const Out& o : outs) {
        if (balance == 7.6) {
          EXPECT_LT(o.stats.rows_gathered, local.largest_before) << "gathered every row";
        }
        EXPECT_EQ(o.stats.rows_moved, local.rows_moved);
        EXPECT_EQ(o.stats.largest_after, local.largest_after);
        EXPECT_EQ(0, std::memcmp(o.centroids.data(), centroids.data(), centroids.size() * 4));
        for (const auto& [row, label] : o.labels) ASSERT_EQ(label, labels[row]) << row;
      }
    }
  }
}

// The capping of cluster sizes over shards decides exactly as over all the rows: the same labels,
// centroids and moves (its candidates' distances must not depend on the rows computed together).
TEST(ShardedCapSizes, EveryShardGetsTheLocalLabelsAndCentroids) {
  expect_sharded_capping_is_local(6, Metric::kL2);
  expect_sharded_capping_is_local(40, Metric::kL2);
  expect_sharded_capping_is_local(40, Metric::kInnerProduct);
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

// The run `train(checkpoints)` gives with checkpoints that keep every state saved, and those
// states: one per record of the run, the last one (only) finished.
template <typename Train>
std::pair<KMeansRun, std::vector<KMeansState>> run_saving_states(Train train) {
  std::vector<KMeansState> saved;
  KMeansCheckpoints save_all;
  save_all.save = [&](const KMeansState& s) { saved.push_back(s); };
  KMeansRun whole = train(&save_all);
  EXPECT_EQ(saved.size(), whole.result.iterations.size());
  for (size_t i = 0; i < saved.size(); ++i) EXPECT_EQ(saved[i].finished, i + 1 == saved.size());
  return {std::move(whole), std::move(saved)};
}

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
  const auto [whole, saved] = run_saving_states([&](const KMeansCheckpoints* checkpoints) {
    return flat_kmeans(n, d, x.data(), k, params, quiet, nullptr, checkpoints);
  });
  ASSERT_GE(saved.size(), 2u);
  for (size_t i = 0; i < saved.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "resumed after iteration " << i + 1);
    KMeansCheckpoints resume;
    resume.resume = &saved[i];
    expect_same_run(flat_kmeans(n, d, x.data(), k, params, quiet, nullptr, &resume), whole);
  }
}

}  // namespace
}  // namespace ivftrain

namespace ivftrain {
namespace {

// Hierarchical k-means saves its state once the groups are trained and after every refinement
// iteration; resumed from any of them, locally or over shards (the groups' training skipped), it
// ends with the uninterrupted run's centroids, objectives and records.
TEST(KMeansCheckpoints, HierarchicalResumingFromAnyStateGivesTheUninterruptedRun) {
  const int64_t n = 12000, d = 8, k = 144;
  const auto x = rows_with_one_repeated(n, d);
  const KMeansParams params = hierarchical_params(KMeansInit::kRandom, Metric::kL2);
  KMeansLog quiet;
  quiet.warn_few_rows = false;
  // The groups' record, then one per refinement iteration: a state after each.
  const auto [whole, saved] = run_saving_states([&](const KMeansCheckpoints* checkpoints) {
    return hierarchical_kmeans(n, d, x.data(), k, params, quiet, nullptr, {}, checkpoints);
  });
  ASSERT_GE(saved.size(), 2u);
  for (size_t i = 0; i < saved.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "resumed after " << i << " refinement iterations");
    KMeansCheckpoints resume;
    resume.resume = &saved[i];
    // The saved records are kept, their times included: a run that trained the groups again
    // would time them afresh. (`whole` is captured by name: clang before 16 cannot capture a
    // structured binding implicitly.)
    const auto resumed = [&, &whole = whole](const KMeansRun& run) {
      expect_same_run(run, whole);
      if (run.result.iterations.size() != whole.result.iterations.size()) return;
      for (size_t r = 0; r <= i; ++r) {
        EXPECT_EQ(std::bit_cast<uint64_t>(run.result.iterations[r].seconds),
                  std::bit_cast<uint64_t>(whole.result.iterations[r].seconds));
      }
    };
    const KMeansRun local =
        hierarchical_kmeans(n, d, x.data(), k, params, quiet, nullptr, {}, &resume);
    resumed(local);
    EXPECT_EQ(local.labels, whole.labels);
    const auto runs =
        on_shards(n, d, x, 3, 500 + i, [&](KMeansShard& shard, int64_t rows, const float* xs) {
          return hierarchical_kmeans(rows, d, xs, k, params, quiet, &shard, {}, &resume);
        });
    for (const KMeansRun& run : runs) resumed(run);
  }
}

}  // namespace
}  // namespace ivftrain
