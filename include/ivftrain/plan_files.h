// Files for orchestrators: the distributed phases (distributed.h) as separate processes that
// exchange files (a shell loop, Slurm job arrays, Kubernetes jobs, Spark, Ray).
//
// A plan directory holds
//   plan.json          the dataset path and options, the parameters, the plan id, the workers;
//   task-NNNN.json     one task per worker (JSON that a person or an orchestrator may template);
//   task-NNNN.result   once a worker has run its task: its sample result (binary), by default.
// The flow: write_plan_dir (phase 1) → each worker read_task_file, execute_sample_task,
// write_sample_result (phase 2) → read_plan_results, then train_from_samples (phase 3).
#pragma once

#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/distributed.h"
#include "ivftrain/params.h"
#include "ivftrain/rounds.h"
#include "ivftrain/status.h"

namespace ivftrain {

// ---- Tasks ------------------------------------------------------------------------------------

// A task as JSON, naming the dataset (path and options) its worker opens.
std::string task_to_json(const SampleTask& task, const std::string& dataset_path,
                         const DatasetOptions& options);

// A task and the dataset it names.
struct TaskFile {
  SampleTask task;
  std::string dataset_path;
  DatasetOptions dataset_options;
};
// Malformed text is refused with kCorruption naming `source_name` (or `path`) and the field.
Result<TaskFile> parse_task_json(const std::string& text, const std::string& source_name);
Result<TaskFile> read_task_file(const std::string& path);

// ---- Plan directories -------------------------------------------------------------------------

// Writes plan.json and every task file, atomically (the directory appears complete or not at
// all). The dataset path is written absolute, so that workers may run from anywhere. An
// existing directory is refused unless `overwrite`, and even then unless it is a plan
// directory ivftrain wrote (plan.json, task files, their results and round-NNNN directories,
// nothing else).
Status write_plan_dir(const std::string& dir, const std::vector<SampleTask>& tasks,
                      const std::string& dataset_path, const DatasetOptions& options,
                      bool overwrite);

// Checks `dir` as write_plan_dir will, before any work (see check_model_dir_output).
Status check_plan_dir_output(const std::string& dir, bool overwrite);

struct PlanDir {
  std::vector<TaskFile> tasks;  // by worker
  std::string plan_id;
  TrainParams params;
};
// Reads plan.json and every task; a missing or foreign task file is an error naming it.
Result<PlanDir> read_plan_dir(const std::string& dir);

std::string task_file_name(int worker);    // "task-0003.json"
std::string result_file_name(int worker);  // "task-0003.result"

// ---- Sample-result files ----------------------------------------------------------------------
// Magic "IVFSMPL\0", format version, plan id, worker, shapes, stats, SQ bounds, the arrays and
// an xxHash64 checksum of everything before it. Written atomically. A truncated, corrupted or
// foreign file is refused with kCorruption naming the file (`source_name`).

std::string serialize_sample_result(const SampleResult& result);
Result<SampleResult> parse_sample_result(const std::string& bytes, const std::string& source_name);
// An existing file at `path` is replaced only when it is a sample result (its magic): any other
// file is refused, named, and left alone.
Status write_sample_result(const std::string& path, const SampleResult& result);
// Checks `path` as write_sample_result will, before any work: not empty, its parent an existing
// writable directory, and anything already there a sample result.
Status check_sample_result_output(const std::string& path);
Result<SampleResult> read_sample_result(const std::string& path);

// ---- Collecting a plan's results (phase 3's input) --------------------------------------------

// A task whose result file cannot be used; its task must be run again.
struct UnusableResult {
  enum class Reason {
    kMissing,  // no result file
    kCorrupt,  // unreadable, truncated or corrupted
    kForeign   // a valid result of another plan or another worker
  };
  int worker = 0;
  std::string task_path;    // PLAN_DIR/task-NNNN.json, the task to run again
  std::string result_path;  // PLAN_DIR/task-NNNN.result
  Reason reason = Reason::kMissing;
  std::string problem;  // one sentence naming the result file
};

struct PlanResults {
  PlanDir plan;
  // Every task's result, by worker, when all can be used (`unusable` empty); empty otherwise.
  std::vector<SampleResult> results;
  std::vector<UnusableResult> unusable;  // by worker
};

// Reads the plan directory and the default result file (task-NNNN.result) of every task. Every
// unusable result is listed, not only the first, so that one rerun of those tasks completes the
// plan. Fails only when the plan directory itself cannot be read (read_plan_dir's errors).
Result<PlanResults> read_plan_results(const std::string& plan_dir);

// ---- Sample results read piecewise (sharded training never loads a whole sample) ----------

// A sample result without its vectors: the header, SQ bounds, fragment ids and rows. The whole
// file's checksum is verified by streaming it (nothing beyond 1 MiB is held), unless
// `verify_checksum` is false (a caller that verified this very file before: advance_rounds).
Result<SampleResult> read_sample_result_index(const std::string& path, bool verify_checksum = true);
// Rows (indices into the result, any order) of the result `index` describes, read by seeking.
Result<std::vector<float>> read_sample_result_rows(const std::string& path,
                                                   const SampleResult& index,
                                                   const std::vector<int64_t>& rows);

// ---- Sharded training through files: rounds (rounds.h) in the plan directory -----------------
// PLAN/round-NNNN/centroids       the RoundState of round NNNN (magic "IVFROUND"), written by
//                                 `advance`;
// PLAN/round-NNNN/partial-WWWW    worker WWWW's RoundPartial of that round (magic "IVFPARTL"),
//                                 written by `round`.
// Both: little-endian, u32 format version, the plan id, the values, an XXH3-64 checksum of
// every byte before it; written atomically. A truncated, corrupted or foreign file is refused
// with kCorruption naming it.

std::string round_dir_name(int round);      // "round-0003"
std::string partial_file_name(int worker);  // "partial-0002"
inline constexpr const char* kRoundStateFileName = "centroids";

std::string serialize_round_state(const RoundState& state);
Result<RoundState> parse_round_state(const std::string& bytes, const std::string& source_name);
std::string serialize_round_partial(const RoundPartial& partial);
Result<RoundPartial> parse_round_partial(const std::string& bytes, const std::string& source_name);
// A worker's bounds between its rounds (PLAN/round-NNNN/bounds-WWWW, magic "IVFBOUND"). Parsing
// refuses (kCorruption naming source_name) bytes that are not worker `worker`'s bounds of round
// `round` of plan `plan_id`, whole.
std::string serialize_worker_bounds(const WorkerBounds& bounds, const std::string& plan_id,
                                    int worker);
Result<WorkerBounds> parse_worker_bounds(const std::string& bytes, const std::string& source_name,
                                         const std::string& plan_id, int worker, int round);

// k-means|| (RoundStage::kSeed): a worker's rows' state after its round NNNN
// (PLAN/round-NNNN/seed-WWWW, magic "IVFSEEDS"; 12 bytes a row), read by its next round. Parsing
// refuses (kCorruption naming source_name) bytes that are not worker `worker`'s state of plan
// `plan_id`, whole; a state of other candidates is the caller's to detect (its hash).
std::string serialize_worker_seed(const WorkerSeed& seed, const std::string& plan_id, int worker);
Result<WorkerSeed> parse_worker_seed(const std::string& bytes, const std::string& source_name,
                                     const std::string& plan_id, int worker);

// Hierarchical k-means: a worker's groups of its IVF rows, from round 0 (kGroups), in
// PLAN/round-0000/groups-WWWW (magic "IVFGROUP"; 4 bytes a row): the workers that train groups
// read every worker's to find the rows of their groups. Parsing refuses (kCorruption naming
// source_name) bytes that are not worker `worker`'s groups of plan `plan_id`, whole.
struct WorkerGroups {
  uint64_t centroids_fingerprint = 0;  // round 0's RoundState::fingerprint()
  std::vector<int32_t> groups;         // the group of each of the worker's IVF rows, in order
};
std::string groups_file_name(int worker);  // "groups-0002"
std::string serialize_worker_groups(const WorkerGroups& groups, const std::string& plan_id,
                                    int worker);
Result<WorkerGroups> parse_worker_groups(const std::string& bytes, const std::string& source_name,
                                         const std::string& plan_id, int worker);

// `ivftrain round PLAN --worker W`: worker W's partial of the plan's latest round, computed from
// its sample result (PLAN/task-WWWW.result) and written to PLAN/round-NNNN/partial-WWWW (the
// path is returned); in the rounds that train or refine hierarchical k-means' groups, from the
// rows of its groups, read from every worker's result (its own groups file is written again
// first if it was lost; another worker's missing one is an error naming that worker). Refuses a
// plan whose rounds have not begun (run advance first).
Result<std::string> run_round(const std::string& plan_dir, int worker, int num_threads);

// What `ivftrain advance` did.
struct AdvanceOutcome {
  bool model_written = false;  // else another round is needed
  int round = 0;               // the round whose partials are needed next (!model_written)
  std::string summary;         // one sentence saying what was done
};
// `ivftrain advance PLAN --out MODEL`: begins the rounds (the initial centroids, reading only
// those rows of the results), or merges the latest round's partials into the next round's
// centroids, or, once the k-means has converged, trains the quantizer and writes the model
// directory. Idempotent and resumable: the state lives in the plan directory. A round none of
// whose partials exist is reported as needed; a missing, truncated or foreign partial, or one
// computed against other centroids, is an error naming the workers to rerun. Parameters rounds
// cannot train (rounds_unsupported) are trained by gathering (train_from_samples), logged.
// Hierarchical k-means begins with its coarse k-means on the coarse sample (at most 256 g rows)
// read from the results, then runs its steps as rounds (RoundStage).
Result<AdvanceOutcome> advance_rounds(const std::string& plan_dir, const std::string& model_dir,
                                      bool overwrite, int num_threads);

}  // namespace ivftrain
