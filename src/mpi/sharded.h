// Pieces of sharded training under MPI (mpi_runner.cc's sharded_train) kept in files of their
// own: PQ trained across the ranks (mpi_pq.cc) and the identity of a run for its checkpoints
// (run_id.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/models.h"
#include "ivftrain/status.h"

namespace ivftrain {

// PQ on every rank, after the sharded IVF k-means (models.ivf_centroids set on every rank): x
// holds this rank's PQ training rows (of the `rows` PQ rows in all; positions: each one's index
// among them in the canonical order). Each rank turns its rows into residuals, sends each rank
// the columns of that rank's sub-spaces (a contiguous share of the M sub-spaces), trains its
// share as pq_train would, and the codebook is gathered on every rank; each rank measures its
// own rows' reconstruction errors, which rank 0 adds in pq_reconstruction_error's order. On
// rank 0, models.pq and the PQ statistics are then those train_on_sample gives. Collective:
// every rank returns the same status.
Status train_pq_across_ranks(std::vector<float> x, const std::vector<int64_t>& positions,
                             int64_t rows, TrainedModels& models, int rank, int size);

// The identity of a sharded run for its checkpoints, from the plan's tasks (the JSON array of
// task texts every rank holds): the dimension, the parameters, the dataset's layout and the
// fragments sampled with their files and quotas. Not the rank count nor the assignment of
// fragments to ranks: the state of the k-means (centroids, random state, records) does not
// depend on them, so a run may resume with another number of ranks.
Result<uint64_t> checkpoint_run_id(const std::string& tasks_json);

}  // namespace ivftrain
