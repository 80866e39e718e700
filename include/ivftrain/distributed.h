// The distributed strategy in three phases, each a pure function of its inputs:
//   1. create_sample_tasks: plan which worker samples which fragments, and how many rows each;
//   2. execute_sample_task: a worker samples its fragments (reading only its own);
//   3. train_from_samples: results in canonical order (fragment id, row), SQ bounds merged,
//      IVF trained, then PQ on residuals. The models equal train_local's, byte for byte.
// How many rows a fragment gives and which rows depend only on the seed, the fragment id and the
// selected fragments' sizes, never on the worker count or assignment.
//
// The phases exchange plain values. To run them as separate processes, plan_files.h writes and
// reads tasks, plan directories and sample results as files; mpi.h runs them under MPI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/models.h"
#include "ivftrain/params.h"
#include "ivftrain/sq.h"
#include "ivftrain/status.h"

namespace ivftrain {

enum class Assignment {
  kBalanced,   // fragments to workers so that their rows are balanced (largest first)
  kRoundRobin  // fragment i (in id order) to worker i mod W, as the seed proposal did
};

struct TaskFragment {
  int64_t id = 0;
  int64_t num_rows = 0;
  int64_t quota = 0;  // rows to sample from this fragment
};

struct SampleTask {
  std::string plan_id;  // 16 hex digits identifying the plan (dataset, parameters, workers)
  int worker = 0;
  int num_workers = 1;
  TrainParams params;
  int64_t dim = 0;
  int64_t rows_available = 0;       // over all the plan's fragments
  int64_t sample_rows_planned = 0;  // over all the plan's fragments
  int64_t fragments_in_plan = 0;
  std::vector<TaskFragment> fragments;  // ascending id; may be empty
};

struct SampleResult {
  std::string plan_id;
  int worker = 0;
  int num_workers = 1;
  uint64_t params_hash = 0;  // params_fingerprint(task.params)
  int64_t dim = 0;
  // Copied from the task: the plan's totals, which every result of a plan shares.
  int64_t rows_available = 0;
  int64_t sample_rows_planned = 0;
  int64_t fragments_in_plan = 0;
  std::vector<float> vectors;         // n x dim, normalised under cosine
  std::vector<int64_t> fragment_ids;  // n, canonical order (fragment id, row)
  std::vector<int64_t> rows;          // n, fragment-relative
  int64_t rows_read = 0;
  int64_t rows_dropped_nonfinite = 0;
  int64_t rows_dropped_zero_norm = 0;
  SqBounds sq_bounds;  // over the kept rows (after normalisation)

  int64_t size() const { return static_cast<int64_t>(rows.size()); }
};

// Phase 1. `fragment_ids` empty means every fragment. num_workers >= 1; more workers than
// fragments leaves tasks without fragments.
Result<std::vector<SampleTask>> create_sample_tasks(const Dataset& dataset,
                                                    const TrainParams& params, int num_workers,
                                                    const std::vector<int64_t>& fragment_ids = {},
                                                    Assignment assignment = Assignment::kBalanced);

// Phase 2. Reads only the task's fragments. Errors name the fragment and the file.
Result<SampleResult> execute_sample_task(const Dataset& dataset, const SampleTask& task);

// Phase 3. Refuses results that do not form one whole plan made with `params`: a worker missing
// or given twice, results of different plans, or another parameter fingerprint; the message
// says which worker. Consumes the results (their memory is released as training proceeds).
Result<TrainedModels> train_from_samples(std::vector<SampleResult> results,
                                         const TrainParams& params);

}  // namespace ivftrain
