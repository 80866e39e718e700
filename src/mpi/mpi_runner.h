// The MPI runner: the three phases across the ranks of MPI_COMM_WORLD.
//
// Rank 0 plans; every rank samples its own task; SQ bounds are reduced with MPI_MIN/MPI_MAX and
// the samples gathered to rank 0, which trains and writes the model. Every phase ends with a
// collective agreement on success, so an error on any rank (an unreadable fragment, a bad
// parameter) ends every rank with that error instead of a hang. The model is byte-identical to
// train_local's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/distributed.h"
#include "ivftrain/models.h"

namespace ivftrain {

struct MpiTrainRequest {
  std::string dataset_path;
  DatasetOptions dataset_options;
  TrainParams params;
  std::vector<int64_t> fragment_ids;  // empty: all
  Assignment assignment = Assignment::kBalanced;
  std::string out_dir;
  bool overwrite = false;
};

struct MpiTrainOutcome {
  Status status;  // the same on every rank: the first error, naming the rank, or OK
  bool is_root = false;
  std::optional<TrainedModels> models;  // on rank 0, when OK
};

// Initialises MPI if needed, runs, and finalises MPI if it initialised it. Call on every rank.
MpiTrainOutcome mpi_train(const MpiTrainRequest& request);

}  // namespace ivftrain
