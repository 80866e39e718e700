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
// directory ivftrain wrote (plan.json, task files and their results, nothing else).
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

}  // namespace ivftrain
