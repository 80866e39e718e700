#include "pipeline/memory_budget.h"

#include <gtest/gtest.h>

namespace ivftrain {
namespace {

// The tasks of a plan of `rows` sample rows of 128 dimensions over `workers` workers, one
// fragment each, the rows spread evenly (no files: the estimate reads the tasks alone).
std::vector<SampleTask> plan_of(const TrainParams& params, int workers, int64_t rows) {
  std::vector<SampleTask> tasks(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    SampleTask& t = tasks[static_cast<size_t>(w)];
    t.worker = w;
    t.num_workers = workers;
    t.params = params;
    t.dim = 128;
    t.sample_rows_planned = rows;
    t.rows_available = rows * 4;
    const int64_t share = rows / workers + (w < rows % workers ? 1 : 0);
    t.fragments.push_back({w, share * 4, share, 0, {}});
  }
  return tasks;
}

TrainParams flat_params() {
  TrainParams p;
  p.index_type = IndexType::kIvfFlat;
  p.ivf.num_partitions = 4096;
  p.ivf.sample_rate = 256;  // 1,048,576 sample rows
  return p;
}

constexpr int64_t kRows = 1 << 20;

TEST(MemoryBudget, RoundsPlanIsEstimatedPerWorkerAndAGatheringPlanWhole) {
  TrainParams gathering = flat_params();
  gathering.ivf.kmeans.init = KMeansInit::kKMeansPlusPlus;
  const MemoryEstimate rounds =
      estimate_training_memory(plan_of(flat_params(), 4, kRows), ShardedEngine::kRounds);
  const MemoryEstimate gathered =
      estimate_training_memory(plan_of(gathering, 4, kRows), ShardedEngine::kRounds);
  ASSERT_FALSE(rounds.gathered);
  ASSERT_TRUE(gathered.gathered);
  // The largest worker holds a quarter of the sample (8 d + 128 bytes a row); advance less.
  EXPECT_EQ(rounds.worker_rows, kRows / 4);
  EXPECT_GT(rounds.worker_bytes, rounds.advance_bytes);
  EXPECT_EQ(rounds.bytes, rounds.worker_bytes);
  EXPECT_LT(rounds.bytes, gathered.bytes);

  // A budget between the two: the rounds plan fits, the gathering one is refused.
  const int64_t limit = (rounds.bytes + gathered.bytes) / 2;
  EXPECT_TRUE(
      check_memory_budget(plan_of(flat_params(), 4, kRows), limit, "LIMIT", ShardedEngine::kRounds)
          .ok());
  const Status refused =
      check_memory_budget(plan_of(gathering, 4, kRows), limit, "LIMIT", ShardedEngine::kRounds);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("gathered by `advance` for k-means++ initialisation), more "
                                   "than --max-memory LIMIT"),
            std::string::npos)
      << refused.message();
}

TEST(MemoryBudget, AShardTooLargeNamesTheWorkersThatWouldFit) {
  const TrainParams p = flat_params();
  const MemoryEstimate four =
      estimate_training_memory(plan_of(p, 4, kRows), ShardedEngine::kRounds);
  const Status refused =
      check_memory_budget(plan_of(p, 1, kRows), four.bytes, "LIMIT", ShardedEngine::kRounds);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("the shard of worker 0 needs about"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("more than --max-memory LIMIT; about 4 workers would fit"),
            std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("--sample-rate 64 or lower"), std::string::npos)
      << refused.message();
  EXPECT_TRUE(
      check_memory_budget(plan_of(p, 4, kRows), four.bytes, "LIMIT", ShardedEngine::kRounds).ok());
  // Under MPI the same shards, in ranks.
  const Status mpi =
      check_memory_budget(plan_of(p, 1, kRows), four.bytes, "LIMIT", ShardedEngine::kMpi);
  ASSERT_FALSE(mpi.ok());
  EXPECT_NE(mpi.message().find("the shard of rank 0"), std::string::npos) << mpi.message();
  EXPECT_NE(mpi.message().find("ranks would fit"), std::string::npos) << mpi.message();
}

TEST(MemoryBudget, WhatAdvanceHoldsIsNotShrunkByMoreWorkers) {
  // Hierarchical k-means of few dimensions: advance's index and capping records (up to 104
  // bytes a row) outweigh a worker's shard once there are many workers.
  TrainParams p = flat_params();
  p.ivf.kmeans.algorithm = KMeansAlgorithm::kHierarchical;
  std::vector<SampleTask> tasks = plan_of(p, 64, kRows);
  for (SampleTask& t : tasks) t.dim = 8;
  const MemoryEstimate e = estimate_training_memory(tasks, ShardedEngine::kRounds);
  ASSERT_GT(e.advance_bytes, e.worker_bytes);
  const Status refused =
      check_memory_budget(tasks, e.advance_bytes - 1, "LIMIT", ShardedEngine::kRounds);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("`ivftrain advance` needs about"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("whatever the number of workers"), std::string::npos)
      << refused.message();
}

}  // namespace
}  // namespace ivftrain
