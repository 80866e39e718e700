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

// Flags named after Lance's create_index parameters. Numeric flags bind to the fields of the
// parameter structs, so their defaults are the library's; enum flags start from the names of
// the library's defaults.
struct TrainFlags {
  TrainParams params;      // --max-iters, --tolerance, --sample-rate, --num-bits set IVF's and
                           // are copied to PQ/SQ by params_from_flags
  DatasetOptions dataset;  // --rows-per-fragment, --hdf5-dataset
  std::string index_type{to_string(params.index_type)};
  std::string distance_type{to_string(params.distance_type)};
  std::string init{to_string(params.ivf.kmeans.init)};
  std::string kmeans{to_string(params.ivf.kmeans.algorithm)};
  std::string relocate{params.ivf.kmeans.relocate ? "on" : "off"};
  std::string sq_bounds{to_string(params.sq.bounds)};
  std::string fragments;  // "0,3,7-9"
  std::string assign = "balanced";
};

// A size such as "4G", "512M", "100K" or "1048576" (binary multiples) in bytes.
Result<int64_t> parse_byte_size(const std::string& text);

// Refuses a negative value for an unsigned flag (such as --seed), which CLI11 would wrap around.
CLI::Validator not_negative();

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

// The library's message with parameter names spelled as this tool's flags (num_partitions ->
// --num-partitions): the one place where the command line renames them.
std::string in_flag_names(const std::string& message);

// Prints "ivftrain: error: <message>" (in flag names) on stderr and returns the exit code for it
// (1).
int fail(const Status& status);

// The one-line JSON summary `train --json` prints.
// What `ivftrain --version` prints: the version, the SIMD level in use and the CPU's, the BLAS.
std::string version_text();

std::string summary_json(const TrainedModels& models, const std::string& out_dir);
// A few log lines saying what was trained.
void log_summary(const TrainedModels& models, const std::string& out_dir);

// Subcommands: each registers itself and returns the callback that runs it.
void register_gen(CLI::App& app, std::function<int()>& run);
void register_train(CLI::App& app, std::function<int()>& run);
void register_inspect(CLI::App& app, std::function<int()>& run);
void register_plan(CLI::App& app, std::function<int()>& run);
void register_sample(CLI::App& app, std::function<int()>& run);
void register_export(CLI::App& app, std::function<int()>& run);
void register_eval(CLI::App& app, std::function<int()>& run);
void register_round(CLI::App& app, std::function<int()>& run);
void register_advance(CLI::App& app, std::function<int()>& run);

}  // namespace ivftrain::cli
