// kmeans_tool: runs the library's k-means or PQ training on a float32 .npy in-process and prints
// JSON timings, so that bench/compare.py can time the training itself (not the loading) and the
// assignment step alone, which the ivftrain CLI does not expose.
//
//   kmeans_tool kmeans IN.npy OUT.npy --k K [--iters N] [--seed S] [--algorithm flat|hierarchical]
//                      [--balance B] [--threads T] [--tolerance TOL] [--init random|kmeans++]
//                      [--relocate on|off]
//   kmeans_tool pq IN.npy OUT.npy [--m M] [--bits B] [--iters N] [--seed S] [--threads T]
//                  [--tolerance TOL] [--relocate on|off]
//
// OUT.npy holds the centroids (k, d) or the codebook (M, 2^bits, d / M). The JSON on stdout has
// load_seconds, train_seconds (the call alone), objective and the per-iteration statistics. On
// error it prints one line to stderr and exits with status 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "blas_restart.h"
#include "io/npy.h"
#include "ivftrain/kmeans.h"
#include "ivftrain/log.h"
#include "ivftrain/params.h"
#include "ivftrain/pq.h"
#include "ivftrain/simd.h"
#include "util/files.h"

namespace {

using ivftrain::Status;
using json = nlohmann::json;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "kmeans_tool: %s\n", message.c_str());
  std::exit(1);
}

void fail_if_error(const Status& s) {
  if (!s.ok()) fail(s.ToString());
}

// "--name value" pairs after the positional arguments.
std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; i += 2) {
    const std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc) fail("expected '--flag value', got " + name);
    flags[name.substr(2)] = argv[i + 1];
  }
  return flags;
}

std::string flag(const std::map<std::string, std::string>& flags, const std::string& name,
                 const std::string& fallback) {
  const auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

json iterations_json(const std::vector<ivftrain::KMeansIteration>& iterations) {
  json out = json::array();
  for (const auto& it : iterations) {
    out.push_back({{"objective", it.objective},
                   {"seconds", it.seconds},
                   {"assign_seconds", it.assign_seconds},
                   {"empty_clusters_split", it.empty_clusters_split},
                   {"rows_computed", it.rows_computed},
                   {"rows_pruned", it.rows_pruned}});
  }
  return out;
}

json run_kmeans(int64_t n, int64_t d, const float* x, const std::string& out_path,
                const std::map<std::string, std::string>& flags) {
  ivftrain::KMeansParams p;
  const int64_t k = std::stoll(flag(flags, "k", "0"));
  p.max_iters = std::stoi(flag(flags, "iters", "10"));
  p.tolerance = std::stod(flag(flags, "tolerance", "0"));
  p.seed = std::stoull(flag(flags, "seed", "42"));
  p.num_threads = std::stoi(flag(flags, "threads", "0"));
  p.balance = std::stod(flag(flags, "balance", "0"));
  p.relocate = flag(flags, "relocate", "on") == "on";
  auto algorithm = ivftrain::parse_kmeans_algorithm(flag(flags, "algorithm", "flat"));
  fail_if_error(algorithm.status());
  p.algorithm = *algorithm;
  auto init = ivftrain::parse_kmeans_init(flag(flags, "init", "random"));
  fail_if_error(init.status());
  p.init = *init;

  const auto t0 = std::chrono::steady_clock::now();
  auto result = ivftrain::kmeans_train(n, d, x, k, p);
  const double train_seconds = seconds_since(t0);
  fail_if_error(result.status());
  fail_if_error(ivftrain::write_file_atomic(
      out_path, ivftrain::npy_bytes_f32({result->k, result->d}, result->centroids.data())));
  return {{"mode", "kmeans"},
          {"k", k},
          {"algorithm", std::string(ivftrain::to_string(p.algorithm))},
          {"balance", p.balance},
          {"train_seconds", train_seconds},
          {"objective", result->objective},
          {"iterations", iterations_json(result->iterations)}};
}

json run_pq(int64_t n, int64_t d, const float* x, const std::string& out_path,
            const std::map<std::string, std::string>& flags) {
  ivftrain::PqParams p;
  p.num_sub_vectors = std::stoll(flag(flags, "m", "16"));
  p.num_bits = std::stoi(flag(flags, "bits", "8"));
  p.kmeans.max_iters = std::stoi(flag(flags, "iters", "25"));
  p.kmeans.tolerance = std::stod(flag(flags, "tolerance", "0"));
  p.kmeans.seed = std::stoull(flag(flags, "seed", "42"));
  p.kmeans.num_threads = std::stoi(flag(flags, "threads", "0"));
  p.kmeans.relocate = flag(flags, "relocate", "on") == "on";

  const auto t0 = std::chrono::steady_clock::now();
  auto cb = ivftrain::pq_train(n, d, x, p);
  const double train_seconds = seconds_since(t0);
  fail_if_error(cb.status());
  fail_if_error(ivftrain::write_file_atomic(
      out_path, ivftrain::npy_bytes_f32({cb->num_sub_vectors, cb->ksub(), cb->dsub()},
                                        cb->centroids.data())));
  json subspaces = json::array();
  for (const auto& its : cb->iterations) subspaces.push_back(iterations_json(its));
  return {
      {"mode", "pq"},
      {"num_sub_vectors", p.num_sub_vectors},
      {"num_bits", p.num_bits},
      {"train_seconds", train_seconds},
      // The library's own figure, a cross-check of the harness's numpy one.
      {"reconstruction_error", ivftrain::pq_reconstruction_error(*cb, n, x, p.kmeans.num_threads)},
      {"subspace_iterations", subspaces}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: kmeans_tool kmeans|pq IN.npy OUT.npy [--flag value]...\n");
    return 2;
  }
  // The kernels the CLI would run: the level IVFTRAIN_SIMD forces, OpenBLAS's core as the CLI
  // chooses it.
  if (const ivftrain::Status simd = ivftrain::set_simd_target_from_env(); !simd.ok()) {
    fail(simd.message());
  }
  ivftrain::cli::restart_with_better_blas(argv);
  const std::string mode = argv[1], in_path = argv[2], out_path = argv[3];
  const auto flags = parse_flags(argc, argv, 4);
  // Warnings (few rows per centroid, ...) go to stderr; stdout is the JSON alone.
  ivftrain::set_log_level(flag(flags, "verbose", "0") == "1" ? ivftrain::LogLevel::kDebug
                                                             : ivftrain::LogLevel::kWarning);
  ivftrain::set_log_sink([](ivftrain::LogLevel, std::string_view message) {
    std::fprintf(stderr, "kmeans_tool: %.*s\n", static_cast<int>(message.size()), message.data());
  });

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> shape;
  auto x = ivftrain::read_npy_f32(in_path, &shape);
  fail_if_error(x.status());
  if (shape.size() != 2) fail(in_path + ": expected a 2-d array");
  const double load_seconds = seconds_since(t0);

  json out;
  try {
    if (mode == "kmeans") {
      out = run_kmeans(shape[0], shape[1], x->data(), out_path, flags);
    } else if (mode == "pq") {
      out = run_pq(shape[0], shape[1], x->data(), out_path, flags);
    } else {
      fail("unknown mode '" + mode + "' (kmeans or pq)");
    }
  } catch (const std::exception& e) {  // std::stoi and friends on a malformed flag value
    fail(std::string("bad flag value: ") + e.what());
  }
  out["rows"] = shape[0];
  out["dim"] = shape[1];
  out["load_seconds"] = load_seconds;
  out["simd"] = ivftrain::simd_target();
  out["blas_core"] = ivftrain::blas_core();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
