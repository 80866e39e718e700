// ivftrain inspect MODEL_DIR [--json]
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.h"
#include "ivftrain/model_dir.h"

namespace ivftrain::cli {
namespace {

void print_summary(const TrainedModels& m, const std::string& dir) {
  const TrainingStats& s = m.stats;
  std::cout << fmt::format("model       {}\n", dir);
  std::cout << fmt::format("index       {} ({} distance), dim {}\n", to_string(m.params.index_type),
                           to_string(m.params.distance_type), m.dim);
  std::cout << fmt::format(
      "ivf         {} partitions, {} iterations, mean squared distance {:.6g}\n",
      m.params.ivf.num_partitions, s.ivf_iterations.size(), s.ivf_mse());
  if (m.pq) {
    std::cout << fmt::format(
        "pq          {} sub-vectors x {} centroids ({} bits, {} dims each), "
        "reconstruction mse {:.6g}\n",
        m.pq->num_sub_vectors, m.pq->ksub(), m.pq->num_bits, m.pq->dsub(), s.pq_reconstruction_mse);
  }
  if (m.sq) {
    if (m.sq->mode == SqBoundsMode::kGlobal) {
      std::cout << fmt::format("sq          {} bits, bounds [{}, {}]\n", m.params.sq.num_bits,
                               m.sq->lower.front(), m.sq->upper.front());
    } else {
      float lo = m.sq->lower.front(), hi = m.sq->upper.front();
      for (size_t i = 0; i < m.sq->lower.size(); ++i) {
        lo = std::min(lo, m.sq->lower[i]);
        hi = std::max(hi, m.sq->upper[i]);
      }
      std::cout << fmt::format("sq          {} bits, per-dimension bounds within [{}, {}]\n",
                               m.params.sq.num_bits, lo, hi);
    }
  }
  std::cout << fmt::format(
      "sample      {} rows kept of {} read ({} non-finite, {} zero vectors); "
      "{} rows available in {} fragments\n",
      s.sample_rows, s.rows_read, s.rows_dropped_nonfinite, s.rows_dropped_zero_norm,
      s.rows_available, s.fragments_used);
  std::cout << fmt::format("trained on  IVF {} rows, quantizer {} rows; seed {}\n",
                           s.ivf_train_rows, s.quantizer_train_rows, m.params.seed);
  std::cout << fmt::format(
      "seconds     total {:.2f}: sample {:.2f}, IVF {:.2f}, quantizer {:.2f}\n",
      m.timings.total_seconds, m.timings.sample_seconds, m.timings.ivf_seconds,
      m.timings.quantizer_seconds);
}

}  // namespace

void register_inspect(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("inspect", "Summarise a model directory");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("MODEL_DIR", *dir, "model directory written by train")->required();
  cmd->add_flag("--json", *json, "print model.json instead of a summary");
  cmd->callback([&run, dir, json] {
    run = [dir, json] {
      auto model = read_model_dir(*dir);
      if (!model.ok()) return fail(model.status());
      if (*json) {
        // The file itself, not model_json(*model): read_model_dir does not read back every
        // statistic (per-iteration seconds, PQ iterations per sub-space), and nothing may be
        // lost in a round trip.
        std::ifstream file(std::filesystem::path(*dir) / "model.json", std::ios::binary);
        if (!file) return fail(Status::IOError(fmt::format("cannot read {}/model.json", *dir)));
        std::cout << file.rdbuf();
      } else {
        print_summary(*model, *dir);
      }
      return 0;
    };
  });
}

}  // namespace ivftrain::cli
