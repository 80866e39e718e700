// Shared pieces of the ivftrain command line: the training flags every training subcommand
// takes, and how errors and summaries reach the user.
#pragma once

#include <spdlog/logger.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/distributed.h"
#include "ivftrain/models.h"
#include "ivftrain/params.h"
#include "ivftrain/status.h"

namespace ivftrain::cli {

// Flags named after Lance's create_index parameters.
struct TrainFlags {
  std::string index_type = "ivf_pq";
  int64_t num_partitions = 0;
  int64_t num_sub_vectors = 16;
  int num_bits = 8;
  std::string distance_type = "l2";
  int max_iters = 50;
  double tolerance = 1e-4;
  int64_t sample_rate = 256;
  std::string init = "random";
  std::string kmeans = "flat";
  double balance = 0;
  std::string sq_bounds = "global";
  std::string fragments;  // "0,3,7-9"
  int64_t rows_per_fragment = int64_t{1} << 20;
  std::string hdf5_dataset = "train";
  uint64_t seed = 42;
  int threads = 0;
  std::string assign = "balanced";
};

// Adds the training flags. `required` marks --num-partitions required (train from a dataset).
void add_train_flags(CLI::App& app, TrainFlags& flags, bool partitions_required);

// Turns flags into parameters (validated against nothing data-dependent yet).
Result<TrainParams> params_from_flags(const TrainFlags& flags);
DatasetOptions dataset_options_from_flags(const TrainFlags& flags);
Result<std::vector<int64_t>> fragment_ids_from_flags(const TrainFlags& flags);
Result<Assignment> assignment_from_flags(const TrainFlags& flags);

// Logs the CLI's messages and the library's on stderr as "[HH:MM:SS.mmm level] message", the
// level coloured on a terminal: info and above, warnings and above when `quiet`, debug too when
// `verbose`.
void setup_logging(bool verbose, bool quiet);
// The CLI's logger (set up by setup_logging).
spdlog::logger& logger();

// Prints "ivftrain: error: <message>" on stderr and returns the exit code for it (1).
int fail(const Status& status);

// The one-line JSON summary `train --json` prints.
std::string summary_json(const TrainedModels& models, const std::string& out_dir);
// A few log lines saying what was trained.
void log_summary(const TrainedModels& models, const std::string& out_dir);

// Subcommands: each registers itself and returns the callback that runs it.
void register_gen(CLI::App& app, std::function<int()>& run);
void register_train(CLI::App& app, std::function<int()>& run);
void register_inspect(CLI::App& app, std::function<int()>& run);
void register_plan(CLI::App& app, std::function<int()>& run);
void register_sample(CLI::App& app, std::function<int()>& run);

}  // namespace ivftrain::cli
