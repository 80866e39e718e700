// ivftrain eval MODEL_DIR DATASET [--queries FILE | --num-queries N] [--k 1,10,100]
//               [--nprobe 1,2,4] [--threads N] [--json]
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli.h"
#include "ivftrain/eval.h"
#include "ivftrain/model_dir.h"

namespace ivftrain::cli {
namespace {

struct EvalFlags {
  std::string dir, dataset, queries, ks = "10", nprobes, fragments;
  int64_t num_queries = 0;
  uint64_t seed = 42;
  int threads = 0;
  bool json = false;
  DatasetOptions dataset_options;
};

// "1,10,100" as numbers; errors name the flag.
Result<std::vector<int64_t>> parse_list(const std::string& flag, const std::string& text) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string token = text.substr(at, comma - at);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (token.empty() || used != token.size()) {
      return Status::InvalidArgument(fmt::format(
          "{} '{}': '{}' is not a number (a list such as 1,10,100)", flag, text, token));
    }
    out.push_back(v);
    at = comma + 1;
  }
  return out;
}

bool is_hdf5(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".hdf5" || ext == ".h5";
}

int run_eval(const EvalFlags& f) {
  auto model = read_model_dir(f.dir);
  if (!model.ok()) return fail(model.status());
  auto base = Dataset::open(f.dataset, f.dataset_options);
  if (!base.ok()) return fail(base.status());
  EvalOptions options;
  options.num_threads = f.threads;
  auto ks = parse_list("--k", f.ks);
  if (!ks.ok()) return fail(ks.status());
  options.ks = *ks;
  if (!f.nprobes.empty()) {
    auto nprobes = parse_list("--nprobe", f.nprobes);
    if (!nprobes.ok()) return fail(nprobes.status());
    options.nprobes = *nprobes;
  }
  if (!f.fragments.empty()) {
    auto ids = parse_fragment_list(f.fragments);
    if (!ids.ok()) return fail(Status::InvalidArgument("--fragments: " + ids.status().message()));
    options.fragment_ids = *ids;
  }
  Result<EvalQueries> queries = Status::InvalidArgument(
      "give the queries: --queries FILE, --num-queries N (held-out rows of the dataset), or an "
      "ann-benchmarks HDF5 file (train, test, neighbors) as the dataset");
  if (!f.queries.empty() && f.num_queries > 0) {
    return fail(Status::InvalidArgument("give --queries or --num-queries, not both"));
  } else if (!f.queries.empty()) {
    queries = read_queries(f.queries);
  } else if (f.num_queries > 0) {
    queries = held_out_queries(*base, f.num_queries, f.seed, options.fragment_ids,
                               &options.excluded_rows);
  } else if (is_hdf5(f.dataset) && f.dataset.find(':') == std::string::npos) {
    // ann-benchmarks' layout: train (the base, read by default), test and neighbors.
    queries = read_queries(f.dataset + ":test", f.dataset + ":neighbors");
  }
  if (!queries.ok()) return fail(queries.status());
  auto report = evaluate(*model, *base, *queries, options);
  if (!report.ok()) return fail(report.status());
  std::cout << (f.json ? eval_report_json(*report, *model) : eval_report_table(*report, *model));
  return 0;
}

}  // namespace

void register_eval(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "eval", "Build the model's index in memory over a dataset and report recall against nprobe");
  auto f = std::make_shared<EvalFlags>();
  cmd->add_option("MODEL_DIR", f->dir, "model directory written by train")->required();
  cmd->add_option("DATASET", f->dataset, "the base vectors (any dataset train reads)")->required();
  cmd->add_option("--queries", f->queries, "query vectors (any reader format; file.hdf5:test)");
  cmd->add_option(
      "--num-queries", f->num_queries,
      "draw this many rows of the dataset as queries (by --seed), left out of the base");
  cmd->add_option("--k", f->ks, "recall@k for each k of this list")->capture_default_str();
  cmd->add_option("--nprobe", f->nprobes,
                  "partitions probed, a list (default 1,2,4,...,128, none above num_partitions)");
  cmd->add_option("--fragments", f->fragments, "base fragments, e.g. 0,3,7-9 (default all)");
  cmd->add_option("--rows-per-fragment", f->dataset_options.rows_per_fragment,
                  "rows per fragment when one file is split into fragments")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "seed of the held-out queries")
      ->check(not_negative())
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "threads; 0 uses all cores")->capture_default_str();
  cmd->add_flag("--json", f->json, "print the report as JSON (schema in README.md)");
  cmd->callback([&run, f] { run = [f] { return run_eval(*f); }; });
}

}  // namespace ivftrain::cli
