#include "cli.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "ivftrain/log.h"
#include "ivftrain/model_dir.h"

namespace ivftrain::cli {

void add_train_flags(CLI::App& app, TrainFlags& f, bool partitions_required) {
  app.add_option("--index-type", f.index_type, "ivf_pq, ivf_sq or ivf_flat")
      ->capture_default_str();
  auto* k = app.add_option("--num-partitions", f.num_partitions, "IVF partitions (k)");
  if (partitions_required) k->required();
  app.add_option("--num-sub-vectors", f.num_sub_vectors, "PQ sub-vectors (must divide dim)")
      ->capture_default_str();
  app.add_option("--num-bits", f.num_bits, "PQ or SQ bits: 4 or 8")->capture_default_str();
  app.add_option("--distance-type", f.distance_type, "l2, cosine or dot")->capture_default_str();
  app.add_option("--max-iters", f.max_iters, "k-means iterations at most (IVF and PQ)")
      ->capture_default_str();
  app.add_option("--tolerance", f.tolerance,
                 "stop when the objective changes by less than this fraction; 0 disables")
      ->capture_default_str();
  app.add_option("--sample-rate", f.sample_rate,
                 "rows sampled per IVF partition and per PQ/SQ centroid")
      ->capture_default_str();
  app.add_option("--init", f.init, "k-means initialisation: random or kmeans++")
      ->capture_default_str();
  app.add_option("--kmeans", f.kmeans,
                 "IVF k-means: flat, or hierarchical (much faster for thousands of partitions)")
      ->capture_default_str();
  app.add_option("--balance", f.balance,
                 "keep every partition within this many times the mean size (nearest-centroid "
                 "partitions of the sample; l2 and cosine); 0 is off")
      ->capture_default_str();
  app.add_option("--sq-bounds", f.sq_bounds, "SQ bounds: global or per-dim")->capture_default_str();
  app.add_option("--fragments", f.fragments, "train on these fragment ids only, e.g. 0,3,7-9");
  app.add_option("--rows-per-fragment", f.rows_per_fragment,
                 "rows per fragment when one file is split into fragments")
      ->capture_default_str();
  app.add_option("--hdf5-dataset", f.hdf5_dataset, "HDF5 dataset read when the path names none")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "seed of every random choice")->capture_default_str();
  app.add_option("--threads", f.threads, "threads; 0 uses all cores (the model does not change)")
      ->capture_default_str();
  app.add_option("--assign", f.assign,
                 "fragments to workers: balanced (by rows) or round-robin")
      ->capture_default_str();
}

Result<TrainParams> params_from_flags(const TrainFlags& f) {
  TrainParams p;
  auto index_type = parse_index_type(f.index_type);
  if (!index_type.ok()) return index_type.status();
  p.index_type = *index_type;
  auto distance = parse_distance_type(f.distance_type);
  if (!distance.ok()) return distance.status();
  p.distance_type = *distance;
  auto init = parse_kmeans_init(f.init);
  if (!init.ok()) return init.status();
  auto bounds = parse_sq_bounds_mode(f.sq_bounds);
  if (!bounds.ok()) return bounds.status();
  auto algorithm = parse_kmeans_algorithm(f.kmeans);
  if (!algorithm.ok()) return algorithm.status();
  p.ivf.num_partitions = f.num_partitions;
  p.ivf.max_iters = f.max_iters;
  p.ivf.sample_rate = f.sample_rate;
  p.ivf.tolerance = f.tolerance;
  p.ivf.init = *init;
  p.ivf.algorithm = *algorithm;
  p.ivf.balance = f.balance;
  p.pq.num_sub_vectors = f.num_sub_vectors;
  p.pq.num_bits = f.num_bits;
  p.pq.max_iters = f.max_iters;
  p.pq.sample_rate = f.sample_rate;
  p.pq.tolerance = f.tolerance;
  p.sq.num_bits = f.num_bits;
  p.sq.sample_rate = f.sample_rate;
  p.sq.bounds = *bounds;
  p.seed = f.seed;
  p.num_threads = f.threads;
  Status st = validate(p, 0);
  if (!st.ok()) return st;
  return p;
}

DatasetOptions dataset_options_from_flags(const TrainFlags& f) {
  DatasetOptions o;
  o.rows_per_fragment = f.rows_per_fragment;
  o.hdf5_dataset = f.hdf5_dataset;
  return o;
}

Result<std::vector<int64_t>> fragment_ids_from_flags(const TrainFlags& f) {
  if (f.fragments.empty()) return std::vector<int64_t>{};
  auto ids = parse_fragment_list(f.fragments);
  if (!ids.ok()) return Status::InvalidArgument("--fragments: " + ids.status().message());
  return ids;
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
  std::cerr << "ivftrain: error: " << status.ToString() << std::endl;
  return 1;
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
  return j.dump();
}

void log_summary(const TrainedModels& m, const std::string& out_dir) {
  const TrainingStats& s = m.stats;
  logger().info("sampled {} of {} rows ({} dropped as non-finite, {} zero vectors)",
                s.sample_rows, s.rows_available, s.rows_dropped_nonfinite,
                s.rows_dropped_zero_norm);
  logger().info("IVF: {} partitions, {} iterations, mean squared distance {:.6g}",
                m.params.ivf.num_partitions, s.ivf_iterations.size(), s.ivf_mse());
  if (m.pq) logger().info("PQ: reconstruction mse {:.6g} on {} rows", s.pq_reconstruction_mse,
                          s.quantizer_train_rows);
  if (m.sq) logger().info("SQ bounds: [{}, {}]{}", m.sq->lower.front(), m.sq->upper.front(),
                          m.sq->lower.size() > 1 ? " (first dimension)" : "");
  logger().info("wrote {} in {:.2f} s (sample {:.2f} s, IVF {:.2f} s, quantizer {:.2f} s)",
                out_dir, m.timings.total_seconds, m.timings.sample_seconds,
                m.timings.ivf_seconds, m.timings.quantizer_seconds);
}

}  // namespace ivftrain::cli
