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

// The most workers a plan may have (one task file each).
inline constexpr int kMaxWorkers = 1'000'000;

enum class Assignment {
  kBalanced,   // fragments to workers so that their rows are balanced (largest first)
  kRoundRobin  // fragment i (in id order) to worker i mod W, as the seed proposal did
};

// What the planner saw of the file holding a fragment, so that a worker can tell that the file
// changed since: a worker refuses a fragment whose file no longer matches, naming it.
struct FileFingerprint {
  std::string path;           // absolute, lexically normal (HDF5: "FILE:DATASET")
  int64_t size = 0;           // bytes
  int64_t mtime_ns = 0;       // modification time, nanoseconds since the epoch
  uint64_t content_hash = 0;  // XXH3-64 of the first 64 KiB, 16 pages spread evenly, the last page

  bool operator==(const FileFingerprint&) const = default;
};

// The fingerprint of the file that holds a fragment (FragmentInfo::path; for HDF5 the part
// before ":DATASET" is read). Reads at most 64 KiB + 17 pages. Errors name the file.
Result<FileFingerprint> fingerprint_file(const std::string& fragment_path);

struct TaskFragment {
  int64_t id = 0;
  int64_t num_rows = 0;
  int64_t quota = 0;      // rows to sample from this fragment
  int64_t first_row = 0;  // within its file
  FileFingerprint file;
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
  // The fragments the plan samples: "" for every fragment of the dataset, else a list such as
  // "0,3,7-9" (parse_fragment_list). With the dataset, a worker recomputes every quota.
  std::string selection;
  // The dataset's whole fragment list when planned (ids, rows, files): a fragment added, removed
  // or renamed since is refused, even one that no task samples.
  int64_t dataset_fragments = 0;
  uint64_t dataset_layout = 0;          // dataset_layout_hash of the fragments
  std::vector<TaskFragment> fragments;  // ascending id; may be empty
};

// A hash of the first `count` fragments' ids, rows, first rows and absolute paths.
uint64_t dataset_layout_hash(const std::vector<FragmentInfo>& fragments, size_t count);

// The memory training a plan needs, in bytes, estimated: the sample (rows x dim x 4), the model
// and the k-means work arrays. Saturates at INT64_MAX.
int64_t estimated_training_bytes(const SampleTask& task);

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

// Phase 1. `fragment_ids` empty means every fragment. 1 <= num_workers <= kMaxWorkers; more
// workers than fragments leaves tasks without fragments. Reads a fingerprint of every file of
// the plan (fingerprint_file).
Result<std::vector<SampleTask>> create_sample_tasks(const Dataset& dataset,
                                                    const TrainParams& params, int num_workers,
                                                    const std::vector<int64_t>& fragment_ids = {},
                                                    Assignment assignment = Assignment::kBalanced);

// Phase 2. Reads only the task's fragments. Refuses a task that does not match the dataset (a
// fragment whose file changed, a fragment added or removed) or its own plan (a quota other than
// the plan's, recomputed from the dataset): errors name the fragment and the file.
Result<SampleResult> execute_sample_task(const Dataset& dataset, const SampleTask& task);

// Phase 3. Refuses results that do not form one whole plan made with `params`: a worker missing
// or given twice, results of different plans, or another parameter fingerprint; the message
// says which worker. Consumes the results (their memory is released as training proceeds).
Result<TrainedModels> train_from_samples(std::vector<SampleResult> results,
                                         const TrainParams& params);

}  // namespace ivftrain
