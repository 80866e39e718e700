// --max-memory: the memory each process of a plan's training needs, estimated before anything is
// read, and the refusal of a plan that would not fit. One estimate for both engines of sharded
// training (MPI ranks; `ivftrain round` workers and `ivftrain advance` over files) and for the
// plans that gather the sample on one process. docs/sharded.md ("Memory budget") gives the terms
// and the figures measured against them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/distributed.h"
#include "ivftrain/status.h"

namespace ivftrain {

// How the IVF k-means of the plan runs.
enum class ShardedEngine {
  kMpi,     // `train --mpi`: one rank per task
  kRounds,  // the file protocol: `round` per worker, `advance` on one process
};

// The program itself, counted in every estimate: the binary, its libraries (BLAS, MPI), thread
// stacks and allocator arenas. Measured peaks on this machine: 17 MiB for `ivftrain --help`,
// 25 MiB for a rank of a small MPI run.
inline constexpr int64_t kProgramBytes = int64_t{32} << 20;

// Whether `train --mpi` shards the IVF k-means (random or k-means|| initialisation, no balance);
// otherwise rank 0 gathers the sample and trains as train_from_samples does.
bool mpi_shards_training(const TrainParams& params);

// Whether `advance` gathers the sample (train_from_samples) instead of running rounds: what
// rounds_unsupported names (k-means++ of flat k-means, --balance), and the plans local training
// refuses or settles without iterating that a plan can tell (fewer sample rows than partitions,
// or exactly as many IVF rows). "" when the rounds shard it; else why, for the sentence.
std::string rounds_gather_reason(const TrainParams& params, int64_t sample_rows);

// The largest process of the training of a plan (`tasks`: every task of it), estimated.
struct MemoryEstimate {
  bool gathered = false;  // one process holds the sample
  int64_t bytes = 0;      // that process's peak, kProgramBytes included
  // When sharded: the largest worker (rank) and its sample rows, its estimate, and (files only)
  // `advance`'s, which more workers do not shrink.
  int worker = 0;
  int64_t worker_rows = 0;
  int64_t worker_bytes = 0;
  int64_t advance_bytes = 0;
};
MemoryEstimate estimate_training_memory(const std::vector<SampleTask>& tasks, ShardedEngine engine);

// Refuses, before anything is read, a plan whose largest process needs more than `limit` bytes
// (given as `limit_text` on the command line): one sentence naming --max-memory, the process,
// and the number of workers (ranks) or the lower --sample-rate that would fit.
Status check_memory_budget(const std::vector<SampleTask>& tasks, int64_t limit,
                           const std::string& limit_text, ShardedEngine engine);

// "1.5 GiB": bytes for a person.
std::string human_bytes(int64_t bytes);

}  // namespace ivftrain
