#include "cli.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "blas_restart.h"
#include "ivftrain/log.h"
#include "ivftrain/model_dir.h"
#include "ivftrain/simd.h"
#include "util/checked_math.h"

namespace ivftrain::cli {

Result<int64_t> parse_byte_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  static const std::pair<std::string_view, int> kUnits[] = {
      {"", 0},     {"B", 0},  {"K", 10},  {"KB", 10},  {"KIB", 10}, {"M", 20},  {"MB", 20},
      {"MIB", 20}, {"G", 30}, {"GB", 30}, {"GIB", 30}, {"T", 40},   {"TB", 40}, {"TIB", 40}};
  const auto* found = std::find_if(std::begin(kUnits), std::end(kUnits),
                                   [&](const auto& u) { return u.first == unit; });
  std::optional<int64_t> value;
  if (digits > 0 && digits <= 18 && found != std::end(kUnits)) {
    value = checked_mul({std::stoll(text.substr(0, digits)), int64_t{1} << found->second});
  }
  if (!value || *value < 1) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a size (a positive number of bytes, or with K, M, G or T: 512M, 4G)", text));
  }
  return *value;
}

CLI::Validator not_negative() {
  // CLI11 reads "-1" into an unsigned integer as 2^64 - 1.
  return CLI::Validator(
      [](std::string& value) {
        return value.find_first_not_of(" \t") != std::string::npos &&
                       value[value.find_first_not_of(" \t")] == '-'
                   ? std::string("must not be negative")
                   : std::string();
      },
      "NOT NEGATIVE");
}

void add_train_flags(CLI::App& app, TrainFlags& f, bool partitions_required) {
  TrainParams& p = f.params;
  app.add_option("--index-type", f.index_type, "ivf_pq, ivf_sq or ivf_flat")->capture_default_str();
  auto* k = app.add_option("--num-partitions", p.ivf.num_partitions, "IVF partitions (k)");
  if (partitions_required) k->required();
  app.add_option("--num-sub-vectors", p.pq.num_sub_vectors, "PQ sub-vectors (must divide dim)")
      ->capture_default_str();
  app.add_option("--num-bits", p.pq.num_bits, "PQ or SQ bits: 4 or 8")->capture_default_str();
  app.add_option("--distance-type", f.distance_type, "l2, cosine or dot")->capture_default_str();
  app.add_option("--max-iters", p.ivf.kmeans.max_iters, "k-means iterations at most (IVF and PQ)")
      ->capture_default_str();
  app.add_option("--tolerance", p.ivf.kmeans.tolerance,
                 "stop when the objective changes by less than this fraction; 0 disables")
      ->capture_default_str();
  app.add_option("--sample-rate", p.ivf.sample_rate,
                 "rows sampled per IVF partition and per PQ/SQ centroid")
      ->capture_default_str();
  app.add_option("--init", f.init,
                 "k-means initialisation: random, kmeans++, or kmeans-parallel (k-means||, also "
                 "sharded under --mpi)")
      ->capture_default_str();
  app.add_option("--kmeans", f.kmeans,
                 "IVF k-means: flat, or hierarchical (much faster for thousands of partitions)")
      ->capture_default_str();
  app.add_option("--balance", p.ivf.kmeans.balance,
                 "keep every partition within this many times the mean size (nearest-centroid "
                 "partitions of the sample; l2 and cosine); 0 is off")
      ->capture_default_str();
  app.add_option("--relocate", f.relocate,
                 "on or off: between k-means updates, move centroids that are worth less than "
                 "splitting a large cluster (IVF and PQ); off runs Lloyd's iterations alone, as "
                 "FAISS")
      ->capture_default_str();
  app.add_option("--sq-bounds", f.sq_bounds, "SQ bounds: global or per-dim")->capture_default_str();
  app.add_option("--fragments", f.fragments, "train on these fragment ids only, e.g. 0,3,7-9");
  app.add_option("--rows-per-fragment", f.dataset.rows_per_fragment,
                 "rows per fragment when one file is split into fragments")
      ->capture_default_str();
  app.add_option("--hdf5-dataset", f.dataset.hdf5_dataset,
                 "HDF5 dataset read when the path names none")
      ->capture_default_str();
  app.add_option("--seed", p.seed, "seed of every random choice")
      ->check(not_negative())
      ->capture_default_str();
  app.add_option("--threads", p.num_threads,
                 fmt::format("threads; 0 uses all cores, at most {} (the model does not change)",
                             kMaxThreads))
      ->capture_default_str();
  app.add_option("--assign", f.assign, "fragments to workers: balanced (by rows) or round-robin")
      ->capture_default_str();
}

Result<TrainParams> params_from_flags(const TrainFlags& f) {
  TrainParams p = f.params;
  auto index_type = parse_index_type(f.index_type);
  if (!index_type.ok()) return index_type.status();
  p.index_type = *index_type;
  auto distance = parse_distance_type(f.distance_type);
  if (!distance.ok()) return distance.status();
  p.distance_type = *distance;
  auto init = parse_kmeans_init(f.init);
  if (!init.ok()) return init.status();
  p.ivf.kmeans.init = *init;
  auto algorithm = parse_kmeans_algorithm(f.kmeans);
  if (!algorithm.ok()) return algorithm.status();
  p.ivf.kmeans.algorithm = *algorithm;
  if (f.relocate != "on" && f.relocate != "off") {
    return Status::InvalidArgument(
        fmt::format("unknown --relocate '{}' (expected on or off)", f.relocate));
  }
  p.ivf.kmeans.relocate = f.relocate == "on";
  auto bounds = parse_sq_bounds_mode(f.sq_bounds);
  if (!bounds.ok()) return bounds.status();
  p.sq.bounds = *bounds;
  // One flag each for what IVF, PQ and SQ share.
  p.pq.kmeans.max_iters = p.ivf.kmeans.max_iters;
  p.pq.kmeans.tolerance = p.ivf.kmeans.tolerance;
  p.pq.kmeans.relocate = p.ivf.kmeans.relocate;
  p.pq.sample_rate = p.sq.sample_rate = p.ivf.sample_rate;
  p.sq.num_bits = p.pq.num_bits;
  Status st = validate(p, 0);
  if (!st.ok()) return st;
  return p;
}

DatasetOptions dataset_options_from_flags(const TrainFlags& f) { return f.dataset; }

Result<std::vector<int64_t>> fragment_ids_from_flags(const TrainFlags& f) {
  if (f.fragments.empty()) return std::vector<int64_t>{};
  auto ids = parse_fragment_list(f.fragments);
  if (!ids.ok()) return Status::InvalidArgument("--fragments: " + ids.status().message());
  return ids;
}

std::string in_flag_names(const std::string& message) {
  // The library names parameters as Lance's create_index does (num_partitions); the command
  // line's flags are the same names spelled --num-partitions. Names with an underscore cannot
  // be mistaken for prose and are renamed anywhere; plain words only at the start.
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"num_partitions", "--num-partitions"},
      {"num_sub_vectors", "--num-sub-vectors"},
      {"num_bits", "--num-bits"},
      {"max_iters", "--max-iters"},
      {"sample_rate", "--sample-rate"},
      {"distance_type", "--distance-type"},
      {"index_type", "--index-type"},
      {"num_threads", "--threads"}};
  static const std::pair<std::string_view, std::string_view> kLeadingWords[] = {
      {"balance ", "--balance "}, {"tolerance ", "--tolerance "}, {"seed ", "--seed "}};
  std::string out = message;
  for (const auto& [lead, flag] : kLeadingWords) {
    if (out.rfind(lead, 0) == 0) out = std::string(flag) + out.substr(lead.size());
  }
  for (const auto& [name, flag] : kNames) {
    for (size_t at = out.find(name); at != std::string::npos; at = out.find(name, at)) {
      const auto is_word = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      };
      const size_t end = at + name.size();
      if ((at > 0 && (is_word(out[at - 1]) || out[at - 1] == '-')) ||
          (end < out.size() && is_word(out[end]))) {
        at = end;
        continue;
      }
      out.replace(at, name.size(), flag);
      at += flag.size();
    }
  }
  return out;
}

Result<Assignment> assignment_from_flags(const TrainFlags& f) {
  if (f.assign == "balanced") return Assignment::kBalanced;
  if (f.assign == "round-robin") return Assignment::kRoundRobin;
  return Status::InvalidArgument(
      fmt::format("unknown --assign '{}' (expected balanced or round-robin)", f.assign));
}

namespace {

std::shared_ptr<spdlog::logger> cli_logger;

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarning: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::err;
}

}  // namespace

void setup_logging(bool verbose, bool quiet) {
  const LogLevel level = quiet ? LogLevel::kWarning : verbose ? LogLevel::kDebug : LogLevel::kInfo;
  cli_logger = spdlog::stderr_color_mt("ivftrain");
  cli_logger->set_pattern("%^[%H:%M:%S.%e %l]%$ %v");
  cli_logger->set_level(to_spdlog(level));
  // The library's messages take the same way out, so both read as one log.
  set_log_level(level);
  set_log_sink([](LogLevel message_level, std::string_view message) {
    cli_logger->log(to_spdlog(message_level), message);
  });
}

spdlog::logger& logger() { return *cli_logger; }

int fail(const Status& status) {
  std::cerr << "ivftrain: error: " << in_flag_names(status.ToString()) << std::endl;
  return 1;
}

namespace {

// How OpenBLAS's kernels were chosen, when not by OpenBLAS alone.
std::string blas_choice() {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  const char* ours = std::getenv(kBlasRestartVariable);
  if (forced != nullptr && ours != nullptr && std::string_view(forced) == ours) {
    return fmt::format(" (OPENBLAS_CORETYPE={}: set by ivftrain, OpenBLAS did not know this CPU)",
                       forced);
  }
  if (forced != nullptr) return fmt::format(" (OPENBLAS_CORETYPE={})", forced);
  const std::string better = better_blas_core();
  return better.empty() ? "" : fmt::format(" (OPENBLAS_CORETYPE={} would run faster)", better);
}

}  // namespace

std::string version_text() {
  std::string levels;
  for (const std::string& level : simd_targets()) levels += (levels.empty() ? "" : " ") + level;
  return fmt::format(
      "ivftrain {}\nkernels: {} (this CPU and build: {}; IVFTRAIN_SIMD=LEVEL forces a lower "
      "one)\nBLAS: OpenBLAS, {} kernels{}",
      IVFTRAIN_VERSION, simd_target(), levels, blas_core(), blas_choice());
}

std::string summary_json(const TrainedModels& m, const std::string& out_dir) {
  // The scalar fields of model.json's header, statistics and timings, on one line.
  const auto model = nlohmann::ordered_json::parse(model_json(m));
  nlohmann::ordered_json j;
  j["model_dir"] = out_dir;
  for (const char* key : {"index_type", "distance_type", "dim", "num_partitions"}) {
    j[key] = model[key];
  }
  for (const char* section : {"stats", "timings"}) {
    for (const auto& [key, value] : model[section].items()) {
      if (!value.is_array()) j[key] = value;
    }
  }
  j["ivf_mse"] = m.stats.ivf_mse();
  j["simd"] = simd_target();
  j["blas_core"] = blas_core();
  return j.dump();
}

void log_summary(const TrainedModels& m, const std::string& out_dir) {
  const TrainingStats& s = m.stats;
  logger().info("sampled {} of {} rows ({} dropped as non-finite, {} zero vectors)", s.sample_rows,
                s.rows_available, s.rows_dropped_nonfinite, s.rows_dropped_zero_norm);
  logger().info("IVF: {} partitions, {} iterations, mean squared distance {:.6g}",
                m.params.ivf.num_partitions, s.ivf_iterations.size(), s.ivf_mse());
  if (m.pq)
    logger().info("PQ: reconstruction mse {:.6g} on {} rows", s.pq_reconstruction_mse,
                  s.quantizer_train_rows);
  if (m.sq)
    logger().info("SQ bounds: [{}, {}]{}", m.sq->lower.front(), m.sq->upper.front(),
                  m.sq->lower.size() > 1 ? " (first dimension)" : "");
  logger().info("wrote {} in {:.2f} s (sample {:.2f} s, IVF {:.2f} s, quantizer {:.2f} s)", out_dir,
                m.timings.total_seconds, m.timings.sample_seconds, m.timings.ivf_seconds,
                m.timings.quantizer_seconds);
}

}  // namespace ivftrain::cli
