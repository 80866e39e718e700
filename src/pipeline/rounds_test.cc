#include "ivftrain/rounds.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>

#include "io/vector_writer.h"
#include "ivftrain/distributed.h"
#include "ivftrain/plan_files.h"
#include "test_util.h"

namespace ivftrain {
namespace {

// The pure primitives of rounds.h, driven in memory as `advance` and `round` drive them through
// files, give train_from_samples' models bit for bit, whatever the number of workers.
class RoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    open_dataset(dir_, nullptr);
    params_.index_type = IndexType::kIvfPq;
    params_.ivf.num_partitions = 12;
    params_.ivf.sample_rate = 100;  // an IVF subset of the sample
    params_.pq.num_sub_vectors = 4;
    params_.pq.num_bits = 4;
    params_.pq.sample_rate = 150;
    params_.ivf.kmeans.max_iters = params_.pq.kmeans.max_iters = 8;
    params_.num_threads = 2;
  }

  // Fragments of sizes[i] rows of 16 values in `dir`, `make(i)` giving fragment i's, opened as
  // dataset_.
  void open_fragments(const testing::TempDir& dir, const std::vector<int64_t>& sizes,
                      const std::function<std::vector<float>(size_t)>& make) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      const std::vector<float> data = make(i);
      ASSERT_TRUE(write_vector_file(dir.file("p" + std::to_string(i) + ".npy"), FileFormat::kNpy,
                                    sizes[i], 16, data.data())
                      .ok());
    }
    auto ds = Dataset::open(dir.path());
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    dataset_.emplace(std::move(*ds));
  }

  // Eight fragments of unequal sizes in `dir`, opened as dataset_; with `repeated` (16 values),
  // every third row of each fragment is that row.
  void open_dataset(const testing::TempDir& dir, const float* repeated) {
    const std::vector<int64_t> sizes = {1500, 1, 700, 2600, 300, 1900, 45, 1100};
    open_fragments(dir, sizes, [&](size_t i) {
      auto data = testing::gaussian_mixture(sizes[i], 16, 6, 7 + i);
      for (int64_t r = 0; repeated && r < sizes[i]; r += 3) {
        std::copy_n(repeated, 16, data.begin() + r * 16);
      }
      return data;
    });
  }

  std::vector<SampleResult> sample(int workers) {
    auto tasks = create_sample_tasks(*dataset_, params_, workers);
    EXPECT_TRUE(tasks.ok()) << tasks.status().ToString();
    std::vector<SampleResult> results;
    for (const SampleTask& t : *tasks) {
      auto r = execute_sample_task(*dataset_, t);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      results.push_back(std::move(*r));
    }
    return results;
  }

  // The rounds in memory: what advance_rounds and run_round do through files.
  TrainedModels run_rounds(const std::vector<SampleResult>& results) {
    const int workers = static_cast<int>(results.size());
    const int64_t dim = results.front().dim;
    auto layout = sample_layout(results);
    EXPECT_TRUE(layout.ok());
    const auto fetch = [&](const std::vector<int64_t>& rows) {
      std::vector<float> out;
      for (const RowAddress& a : locate_rows(*layout, rows)) {
        const float* r = results[a.worker].vectors.data() + a.row * dim;
        out.insert(out.end(), r, r + dim);
      }
      return out;
    };
    const std::vector<int64_t> train = ivf_training_rows(params_, layout->rows());
    const IvfRowsFetch fetch_ivf = [&](const std::vector<int64_t>& ivf) {
      std::vector<int64_t> canonical;
      for (int64_t i : ivf) canonical.push_back(train[i]);
      return Result<std::vector<float>>(fetch(canonical));
    };
    RoundState state;
    if (hierarchical_rounds(params_)) {
      // The coarse k-means where the rounds begin, on the coarse sample's rows.
      const std::vector<int64_t> coarse =
          coarse_training_rows(params_, static_cast<int64_t>(train.size()));
      state = first_hierarchical_round(results.front().plan_id, params_, dim, *layout,
                                       *fetch_ivf(coarse));
    } else {
      const InitialRows init = initial_centroid_rows(params_, layout->rows());
      state = first_round(results.front().plan_id, params_, dim, *layout, fetch(init.rows),
                          init.rng_state);
    }
    std::vector<std::vector<int32_t>> groups(static_cast<size_t>(workers));  // from round 0
    // k-means||: each worker's rows' state, carried between its rounds (carry_seed_) or measured
    // again every round.
    std::vector<std::optional<WorkerSeed>> seeds(static_cast<size_t>(workers));
    for (int guard = 0; guard < 100; ++guard) {
      stages_.push_back(state.stage);
      std::vector<RoundPartial> partials;
      for (const SampleResult& r : results) {
        auto p = [&]() -> Result<RoundPartial> {
          if (state.stage == RoundStage::kSeed) {
            if (!carry_seed_) return compute_round_partial(r, state, params_);
            std::optional<WorkerSeed>& seed = seeds[static_cast<size_t>(r.worker)];
            WorkerSeed out;
            auto part = compute_seed_partial(r, state, params_, seed ? &*seed : nullptr, &out);
            // Through the file format, as `round` keeps it.
            auto back = parse_worker_seed(serialize_worker_seed(out, r.plan_id, r.worker), "seed",
                                          r.plan_id, r.worker);
            EXPECT_TRUE(back.ok()) << back.status().ToString();
            seed = std::move(*back);
            return part;
          }
          if (state.work_stage() != RoundStage::kTrainGroups &&
              state.work_stage() != RoundStage::kRefine) {
            return compute_round_partial(r, state, params_, nullptr, nullptr, &groups[r.worker]);
          }
          // The rows of the worker's groups, wherever they are.
          auto held = held_rows_plan(state, params_, r.worker, workers, [&](int v) {
            return Result<std::vector<int32_t>>(groups[v]);
          });
          EXPECT_TRUE(held.ok()) << held.status().ToString();
          std::vector<float> vectors;
          for (const RowAddress& a : held->at) {
            const float* row = results[a.worker].vectors.data() + a.row * dim;
            vectors.insert(vectors.end(), row, row + dim);
          }
          return compute_held_partial(state, params_, r.worker, workers, *held, vectors);
        }();
        EXPECT_TRUE(p.ok()) << p.status().ToString();
        // Through the file format, as the commands exchange them.
        auto parsed = parse_round_partial(serialize_round_partial(*p), "partial");
        EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
        partials.push_back(std::move(*parsed));
      }
      if (state.stage == RoundStage::kSplit && !split_state_) {
        split_state_ = state;
        split_partials_ = partials;
      }
      auto merged = merge_round(state, partials, params_, workers, fetch_ivf);
      EXPECT_TRUE(merged.ok()) << merged.status().ToString();
      if (merged->finished) {
        auto models = finish_rounds(results, params_, std::move(merged->result), state.train_rows,
                                    fetch(pq_training_rows(params_, layout->rows())));
        EXPECT_TRUE(models.ok()) << models.status().ToString();
        return std::move(*models);
      }
      auto reparsed = parse_round_state(serialize_round_state(merged->next), "state");
      EXPECT_TRUE(reparsed.ok()) << reparsed.status().ToString();
      state = std::move(*reparsed);
    }
    ADD_FAILURE() << "the rounds did not finish";
    return {};
  }

  void expect_models_equal(const TrainedModels& m, const TrainedModels& reference) {
    EXPECT_EQ(m.ivf_centroids, reference.ivf_centroids);
    ASSERT_TRUE(m.pq.has_value());
    EXPECT_EQ(m.pq->centroids, reference.pq->centroids);
    EXPECT_EQ(m.stats.ivf_objective, reference.stats.ivf_objective);
    ASSERT_EQ(m.stats.ivf_iterations.size(), reference.stats.ivf_iterations.size());
    for (size_t i = 0; i < m.stats.ivf_iterations.size(); ++i) {
      EXPECT_EQ(m.stats.ivf_iterations[i].objective, reference.stats.ivf_iterations[i].objective);
      EXPECT_EQ(m.stats.ivf_iterations[i].empty_clusters_split,
                reference.stats.ivf_iterations[i].empty_clusters_split);
    }
    EXPECT_EQ(m.stats.ivf_train_rows, reference.stats.ivf_train_rows);
    EXPECT_EQ(m.stats.sample_rows, reference.stats.sample_rows);
  }

  testing::TempDir dir_;
  std::optional<Dataset> dataset_;
  TrainParams params_;
  std::vector<RoundStage> stages_;  // the stage of every round run_rounds ran
  bool carry_seed_ = true;
  // The first split round run_rounds ran, and its partials.
  std::optional<RoundState> split_state_;
  std::vector<RoundPartial> split_partials_;
};

TEST_F(RoundsTest, ModelsEqualTrainFromSamplesForAnyWorkerCount) {
  auto reference = train_from_samples(sample(1), params_);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  // 16 workers for 8 fragments: half hold no row, and their partials (k x d zeros) are merged too.
  for (int workers : {1, 3, 5, 8, 16}) {
    SCOPED_TRACE(workers);
    expect_models_equal(run_rounds(sample(workers)), *reference);
  }
}

// An update that leaves clusters empty needs the donors' farthest rows, which only the workers
// see: a split round repeats the round's assignment and each worker offers its farthest row of
// each donor. A third of the rows one repeated row, 30 partitions: clusters empty early. The
// model is train_from_samples' for any number of workers; a split round's partial without its
// farthest rows is refused, naming the worker.
TEST_F(RoundsTest, SplitRoundsFindTheFarthestRowsAndKeepTheModel) {
  const std::vector<float> repeated(16, 0.5f);
  testing::TempDir dir;
  open_dataset(dir, repeated.data());
  params_.ivf.num_partitions = 30;
  auto reference = train_from_samples(sample(1), params_);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  int64_t updates_split = 0;
  for (const KMeansIteration& it : reference->stats.ivf_iterations) {
    updates_split += it.empty_clusters_split > 0 ? 1 : 0;
  }
  ASSERT_GT(updates_split, 0) << "the case is meant to split empty clusters";
  for (int workers : {1, 3, 5}) {
    SCOPED_TRACE(workers);
    stages_.clear();
    split_state_.reset();
    const std::vector<SampleResult> results = sample(workers);
    expect_models_equal(run_rounds(results), *reference);
    EXPECT_EQ(std::count(stages_.begin(), stages_.end(), RoundStage::kSplit), updates_split);
    ASSERT_TRUE(split_state_.has_value());
    EXPECT_EQ(split_state_->split_after, RoundStage::kFlat);
    EXPECT_EQ(split_state_->split_centroids.size(),
              split_state_->split_donors.size() * static_cast<size_t>(split_state_->dim));
    if (workers == 1) continue;
    std::vector<RoundPartial> partials = split_partials_;
    partials[1].far_rows.clear();
    auto refused = merge_round(*split_state_, partials, params_, workers,
                               [](const std::vector<int64_t>&) -> Result<std::vector<float>> {
                                 return Status::Internal("not read");
                               });
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("the partial of worker 1 holds no farthest row"),
              std::string::npos)
        << refused.status().ToString();
  }
}

// k-means|| in rounds (kSeed rounds, then flat rounds): train_from_samples' model for any number
// of workers (9 workers for 8 fragments: one holds no row), l2 and cosine, with each worker's
// rows' state carried between its rounds or measured again.
TEST_F(RoundsTest, KMeansParallelModelsEqualTrainFromSamplesForAnyWorkerCount) {
  params_.ivf.kmeans.init = KMeansInit::kKMeansParallel;
  EXPECT_EQ(rounds_unsupported(params_), "");
  for (DistanceType metric : {DistanceType::kL2, DistanceType::kCosine}) {
    params_.distance_type = metric;
    auto reference = train_from_samples(sample(1), params_);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    for (int workers : {1, 3, 5, 9}) {
      for (bool carry : {true, false}) {
        SCOPED_TRACE(::testing::Message() << workers << " workers, metric "
                                          << static_cast<int>(metric) << ", carry " << carry);
        carry_seed_ = carry;
        stages_.clear();
        const std::vector<SampleResult> results = sample(workers);
        if (workers == 9) {
          EXPECT_TRUE(std::any_of(results.begin(), results.end(),
                                  [](const SampleResult& r) { return r.size() == 0; }));
        }
        expect_models_equal(run_rounds(results), *reference);
        // Every oversampling round and the weights' round, then the flat rounds.
        ASSERT_GE(stages_.size(), 7u);
        for (size_t i = 0; i < stages_.size(); ++i) {
          EXPECT_EQ(stages_[i], i < 6 ? RoundStage::kSeed : RoundStage::kFlat) << i;
        }
      }
    }
  }
}

// k-means|| over rows of 14 distinct values for 12 partitions: phi reaches 0 before the last
// oversampling round (every value a candidate), and the rounds end early with local training's
// model. Small integers, so that a row's distance to a copy of itself is exactly 0.
TEST_F(RoundsTest, KMeansParallelEndsEarlyWhenEveryRowIsACandidate) {
  testing::TempDir dir;
  std::vector<float> values(14 * 16);
  for (int r = 0; r < 14; ++r) {
    for (int j = 0; j < 16; ++j) values[r * 16 + j] = static_cast<float>((r + 1) * (j + 3) % 17);
  }
  const std::vector<int64_t> sizes = {900, 1, 400, 1300, 250};
  open_fragments(dir, sizes, [&](size_t i) {
    std::vector<float> data;
    for (int64_t r = 0; r < sizes[i]; ++r) {
      const float* v = values.data() + ((r * 5 + static_cast<int64_t>(i)) % 14) * 16;
      data.insert(data.end(), v, v + 16);
    }
    return data;
  });
  params_.ivf.kmeans.init = KMeansInit::kKMeansParallel;
  auto reference = train_from_samples(sample(1), params_);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (int workers : {1, 3, 5}) {
    SCOPED_TRACE(workers);
    stages_.clear();
    expect_models_equal(run_rounds(sample(workers)), *reference);
    const auto seed_rounds = std::count(stages_.begin(), stages_.end(), RoundStage::kSeed);
    EXPECT_GE(seed_rounds, 2);
    EXPECT_LT(seed_rounds, 6);
  }
}

// Hierarchical k-means in rounds (groups, capping, groups trained where their rows are sent,
// refinement): train_from_samples' model for any number of workers. A third of the rows are one
// repeated row, so their group is over the cap and the capping moves rows; l2 and dot.
TEST_F(RoundsTest, HierarchicalModelsEqualTrainFromSamplesForAnyWorkerCount) {
  const std::vector<float> repeated = testing::gaussian_mixture(1, 16, 6, 99);
  testing::TempDir dir;
  open_dataset(dir, repeated.data());
  params_.ivf.kmeans.algorithm = KMeansAlgorithm::kHierarchical;
  params_.ivf.num_partitions = 100;  // 10 groups, the coarse k-means on a subset of the rows
  params_.ivf.sample_rate = 30;
  for (DistanceType metric : {DistanceType::kL2, DistanceType::kDot}) {
    params_.distance_type = metric;
    auto reference = train_from_samples(sample(1), params_);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    for (int workers : {1, 3, 5}) {
      SCOPED_TRACE(::testing::Message()
                   << workers << " workers, metric " << static_cast<int>(metric));
      stages_.clear();
      expect_models_equal(run_rounds(sample(workers)), *reference);
      // Groups, capping, training, then one round per recorded objective, and a split round
      // (the farthest rows of the clusters split) before each refinement update that splits:
      // this data splits in both refinement iterations.
      std::vector<RoundStage> expected = {RoundStage::kGroups, RoundStage::kCap,
                                          RoundStage::kTrainGroups};
      expected.resize(3 + reference->stats.ivf_iterations.size(), RoundStage::kRefine);
      for (size_t i = expected.size() - 1; i > 3; --i) {
        if (reference->stats.ivf_iterations[i - 3].empty_clusters_split > 0) {
          expected.insert(expected.begin() + static_cast<int64_t>(i), RoundStage::kSplit);
        }
      }
      EXPECT_EQ(std::count(expected.begin(), expected.end(), RoundStage::kSplit), 2);
      EXPECT_EQ(stages_, expected);
    }
  }
}

// The rows a worker holds are those of its groups (dealt largest first to the least loaded), and
// the groups from round 0 must fit the rows: a worker's groups of another length are refused.
TEST_F(RoundsTest, HeldRowsAreTheRowsOfTheWorkersGroups) {
  params_.ivf.kmeans.algorithm = KMeansAlgorithm::kHierarchical;
  params_.ivf.num_partitions = 100;
  auto results = sample(3);
  auto layout = sample_layout(results);
  ASSERT_TRUE(layout.ok());
  const std::vector<int64_t> ivf = ivf_training_rows(params_, layout->rows());
  std::vector<WorkerIvfRows> rows;
  for (int w = 0; w < 3; ++w) rows.push_back(ivf_rows_of_worker(*layout, ivf, w));
  // Every IVF row once, at the place locate_rows gives it.
  const std::vector<RowAddress> at = locate_rows(*layout, ivf);
  int64_t seen = 0;
  for (int w = 0; w < 3; ++w) {
    for (size_t i = 0; i < rows[w].ivf.size(); ++i, ++seen) {
      EXPECT_EQ(at[rows[w].ivf[i]].worker, w);
      EXPECT_EQ(at[rows[w].ivf[i]].row, rows[w].result_rows[i]);
    }
  }
  EXPECT_EQ(seen, static_cast<int64_t>(ivf.size()));
  RoundState state;
  state.plan_id = results[0].plan_id;
  state.k = 100;
  state.dim = 16;
  state.stage = RoundStage::kTrainGroups;
  state.layout = *layout;
  state.coarse.assign(4 * 16, 0.0f);
  // Worker w's rows all in group w (group 3 empty); then row 0 moved to group 3 by the capping.
  std::vector<std::vector<int32_t>> groups;
  state.group_sizes.assign(4, 0);
  for (int w = 0; w < 3; ++w) {
    groups.emplace_back(rows[w].ivf.size(), w);
    state.group_sizes[w] = static_cast<int64_t>(rows[w].ivf.size());
  }
  const int32_t first_owner = rows[0].ivf.front() == 0 ? 0 : (rows[1].ivf.front() == 0 ? 1 : 2);
  state.moved_rows = {0};
  state.moved_to = {3};
  --state.group_sizes[first_owner];
  state.group_sizes[3] = 1;
  const std::vector<int> owner = group_owners(state, 3);
  for (int w = 0; w < 3; ++w) {
    auto held = held_rows_plan(state, params_, w, 3,
                               [&](int v) { return Result<std::vector<int32_t>>(groups[v]); });
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    int64_t expected = 0;
    for (int64_t gi = 0; gi < 4; ++gi) expected += owner[gi] == w ? state.group_sizes[gi] : 0;
    EXPECT_EQ(static_cast<int64_t>(held->ivf_rows.size()), expected);
    EXPECT_TRUE(std::is_sorted(held->ivf_rows.begin(), held->ivf_rows.end()));
    for (size_t i = 0; i < held->ivf_rows.size(); ++i) {
      EXPECT_EQ(owner[held->groups[i]], w);
      EXPECT_EQ(held->groups[i], held->ivf_rows[i] == 0 ? 3 : held->at[i].worker);
    }
  }
  groups[1].pop_back();
  auto short_groups = held_rows_plan(
      state, params_, 0, 3, [&](int v) { return Result<std::vector<int32_t>>(groups[v]); });
  ASSERT_FALSE(short_groups.ok());
  EXPECT_NE(short_groups.status().message().find("worker 1"), std::string::npos)
      << short_groups.status().message();
}

TEST_F(RoundsTest, PartialAgainstOtherCentroidsIsRefusedNamingTheWorker) {
  auto results = sample(2);
  auto layout = sample_layout(results);
  ASSERT_TRUE(layout.ok());
  const InitialRows init = initial_centroid_rows(params_, layout->rows());
  std::vector<float> centroids(static_cast<size_t>(params_.ivf.num_partitions * 16), 0.5f);
  RoundState state =
      first_round(results[0].plan_id, params_, 16, *layout, centroids, init.rng_state);
  std::vector<RoundPartial> partials;
  for (const SampleResult& r : results)
    partials.push_back(*compute_round_partial(r, state, params_));
  partials[1].centroids_fingerprint ^= 1;
  auto merged = merge_round(state, partials, params_, 2);
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.status().message().find("worker 1"), std::string::npos)
      << merged.status().message();
}

TEST_F(RoundsTest, MergerTakesALloydRoundOnePartialAtATime) {
  // A Lloyd round of 5 workers merged as `advance` merges it (each partial dropped once added)
  // gives merge_round's next state, bit for bit; a partial missing or out of turn is refused.
  auto results = sample(5);
  auto layout = sample_layout(results);
  ASSERT_TRUE(layout.ok());
  const InitialRows init = initial_centroid_rows(params_, layout->rows());
  std::vector<float> centroids;
  for (const RowAddress& a : locate_rows(*layout, init.rows)) {
    const float* r = results[a.worker].vectors.data() + a.row * 16;
    centroids.insert(centroids.end(), r, r + 16);
  }
  RoundState state =
      first_round(results[0].plan_id, params_, 16, *layout, centroids, init.rng_state);
  state.round = 1;  // past the scan: a Lloyd round on a grid
  state.grid_step = 1.0 / 1024;
  std::vector<RoundPartial> partials;
  for (const SampleResult& r : results) {
    auto p = compute_round_partial(r, state, params_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    partials.push_back(std::move(*p));
  }
  auto whole = merge_round(state, partials, params_, 5);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  RoundMerger merger(state, params_, 5);
  for (int w = 0; w < 5; ++w) {
    RoundPartial copy = partials[static_cast<size_t>(w)];
    ASSERT_TRUE(merger.add(std::move(copy)).ok());
  }
  auto streamed = merger.finish();
  ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
  EXPECT_EQ(streamed->next.centroids, whole->next.centroids);
  EXPECT_EQ(serialize_round_state(streamed->next), serialize_round_state(whole->next));

  RoundMerger short_merger(state, params_, 5);
  for (int w = 0; w < 4; ++w) ASSERT_TRUE(short_merger.add(partials[static_cast<size_t>(w)]).ok());
  auto missing = short_merger.finish();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("4 partials for 5 workers"), std::string::npos)
      << missing.status().message();

  RoundMerger skipping(state, params_, 5);
  ASSERT_TRUE(skipping.add(partials[0]).ok());
  const Status out_of_turn = skipping.add(partials[2]);
  ASSERT_FALSE(out_of_turn.ok());
  EXPECT_NE(out_of_turn.message().find("worker 1"), std::string::npos) << out_of_turn.message();
  EXPECT_FALSE(skipping.add(partials[1]).ok()) << "a merger is unusable after a refusal";
}

TEST(RoundFilesTest, TruncatedOrForeignFilesAreRefused) {
  RoundPartial p;
  p.plan_id = "0123456789abcdef";
  p.worker = 2;
  p.round = 3;
  p.k = 2;
  p.dim = 3;
  p.objective_bins.assign(259, 0);
  p.sums.assign(6, 1.0);
  p.norms = {3.0, 12.5};
  p.counts = {1, 2};
  p.identical = {1, 0};
  p.first.assign(6, 2.0f);
  p.first_row = {0, 4};
  const std::string bytes = serialize_round_partial(p);
  auto back = parse_round_partial(bytes, "part");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->sums, p.sums);
  EXPECT_EQ(back->norms, p.norms);
  EXPECT_EQ(back->first_row, p.first_row);
  EXPECT_EQ(back->plan_id, p.plan_id);
  for (size_t cut : {size_t{4}, size_t{40}, bytes.size() - 1}) {
    auto bad = parse_round_partial(bytes.substr(0, cut), "part");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
    EXPECT_NE(bad.status().message().find("part is not a usable round partial"), std::string::npos);
  }
  // A partial of version 4 (before the norms) is refused, not misread; so is one of version 5
  // (the same layout, but a run whose updates did not relocate).
  for (char version : {4, 5}) {
    std::string older = bytes;
    older[8] = version;
    auto old_version = parse_round_partial(older, "part");
    ASSERT_FALSE(old_version.ok());
    EXPECT_NE(old_version.status().message().find(fmt::format(
                  "part is not a usable round partial: format version {}, this build reads 6",
                  int{version})),
              std::string::npos)
        << old_version.status().message();
  }
  RoundState s;
  s.k = 2;
  s.dim = 3;
  s.centroids.assign(6, 1.0f);
  auto not_a_partial = parse_round_partial(serialize_round_state(s), "state");
  ASSERT_FALSE(not_a_partial.ok());
  EXPECT_NE(not_a_partial.status().message().find("wrong magic"), std::string::npos);
}

// The k-means|| state's format is one function pair, used by the round files and the Python
// module alike.
TEST(RoundFilesTest, WorkerSeedRoundTripAndRefusals) {
  const WorkerSeed seed{7, 0xabcd, {0.0f, 1.5f, 2.5f}, {0, 6, 3}};
  const std::string bytes = serialize_worker_seed(seed, "0123456789abcdef", 1);
  auto back = parse_worker_seed(bytes, "s", "0123456789abcdef", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->measured, 7);
  EXPECT_EQ(back->candidates_hash, 0xabcdu);
  EXPECT_EQ(back->nearest, seed.nearest);
  EXPECT_EQ(back->label, seed.label);
  EXPECT_FALSE(parse_worker_seed(bytes, "s", "0123456789abcdef", 2).ok());
  auto cut = parse_worker_seed(bytes.substr(0, bytes.size() - 3), "s", "0123456789abcdef", 1);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("s is not a usable worker's k-means|| state"),
            std::string::npos);
}

// The bounds format is one function pair, used by the round files and the Python module alike.
TEST(RoundFilesTest, WorkerBoundsRoundTripAndRefusals) {
  WorkerBounds b;
  b.round = 4;
  b.centroids_fingerprint = 0x1234;
  b.labels = {3, 0, 1};
  b.lower = {0.5, 1.5, 2.5};
  b.dist = {1.0f, 2.0f, 3.0f};
  b.previous.assign(8, 0.25f);
  const std::string bytes = serialize_worker_bounds(b, "0123456789abcdef", 2);
  // magic, version, plan id, worker, round, fingerprint, n, k*dim, the arrays, the checksum
  EXPECT_EQ(bytes.size(), 8u + 4 + 16 + 4 + 4 + 8 + 8 + 8 + 3 * 16 + 8 * 4 + 8);
  auto back = parse_worker_bounds(bytes, "b", "0123456789abcdef", 2, 4);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->labels, b.labels);
  EXPECT_EQ(back->lower, b.lower);
  EXPECT_EQ(back->dist, b.dist);
  EXPECT_EQ(back->previous, b.previous);
  EXPECT_EQ(back->centroids_fingerprint, b.centroids_fingerprint);
  for (auto [worker, round] : {std::pair{1, 4}, std::pair{2, 3}}) {
    auto other = parse_worker_bounds(bytes, "b", "0123456789abcdef", worker, round);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), Status::Code::kCorruption);
  }
  EXPECT_FALSE(parse_worker_bounds(bytes, "b", "fedcba9876543210", 2, 4).ok());
  auto cut = parse_worker_bounds(bytes.substr(0, bytes.size() - 5), "b", "0123456789abcdef", 2, 4);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("b is not a usable worker's bounds"), std::string::npos);
}

}  // namespace
}  // namespace ivftrain
