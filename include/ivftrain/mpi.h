// Training under MPI: the three phases (distributed.h) across the ranks of MPI_COMM_WORLD, in a
// program started by `mpirun -n W`. Link ivftrain::mpi (built when MPI is found).
//
// Rank 0 plans; every rank samples its own task and keeps its rows: the IVF k-means (flat with
// random or k-means|| init, and hierarchical) runs sharded over the ranks with exact sums, PQ
// sub-spaces are trained across the ranks, SQ bounds are reduced with MPI_MIN/MPI_MAX; k-means++
// init and --balance still gather the sample to rank 0 (docs/sharded.md). Rank 0 writes the
// model directory (model_dir.h).
// Every phase ends with a collective agreement on success, so an error on any rank (an
// unreadable fragment, a bad parameter) ends every rank with that error instead of a hang. The
// model is byte-identical to train_local's, whatever the number of ranks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/distributed.h"
#include "ivftrain/models.h"
#include "ivftrain/params.h"
#include "ivftrain/status.h"

namespace ivftrain {

// What to train, the same on every rank.
struct MpiTrainRequest {
  std::string dataset_path;  // every rank opens it: a path every node can read
  DatasetOptions dataset_options;
  TrainParams params;
  std::vector<int64_t> fragment_ids;  // empty: all
  Assignment assignment = Assignment::kBalanced;
  std::string out_dir;     // the model directory rank 0 writes
  bool overwrite = false;  // replace an existing out_dir
  // Memory per rank, in bytes (0: no limit). Rank 0 refuses a plan whose largest rank would need
  // more (an estimate: the program, its sample shard, its IVF rows and work arrays, and on rank 0
  // the PQ rows and the model; the one `ivftrain plan --max-memory` uses, docs/sharded.md
  // "Memory budget") before any rank reads, naming the number of ranks that would fit.
  int64_t max_memory = 0;
  // A directory where rank 0 saves the IVF k-means state after every iteration (atomically);
  // when it holds a state of this run, the run resumes from it and gives the same model. Empty:
  // no checkpoints. Sharded training only (random or k-means|| init, no balance); hierarchical
  // k-means saves its state once its groups are trained and after every refinement iteration.
  std::string checkpoint_dir;
};

struct MpiTrainOutcome {
  Status status;  // the same on every rank: the first error, naming the rank, or OK
  bool is_root = false;
  std::optional<TrainedModels> models;  // on rank 0, when OK
};

// MPI for the lifetime of this object: initialised if needed on construction, finalised on
// destruction if it initialised it.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Waits for every rank without spinning. Lets rank 0 report an error before any rank exits
  // non-zero (mpirun ends the whole job at the first non-zero exit).
  void barrier() const;

 private:
  bool owns_ = false;
  int rank_ = 0, size_ = 1;
};

// Runs the three phases; call on every rank while a session is open. Every rank logs through
// its own process's sink (log.h): to read one run's progress, install a sink on rank 0 only.
MpiTrainOutcome mpi_train(const MpiSession& session, const MpiTrainRequest& request);

}  // namespace ivftrain
