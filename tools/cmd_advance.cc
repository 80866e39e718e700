// ivftrain advance PLAN_DIR --out MODEL_DIR   (sharded training through files: merge a round)
// Exit codes: 0 the model is written; 3 another round is needed (run `ivftrain round` for every
// worker, then advance again); 1 an error (the message names the worker to rerun).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "ivftrain/model_dir.h"
#include "ivftrain/plan_files.h"
#include "outputs.h"
#include "util/files.h"
#include "util/log.h"

namespace ivftrain::cli {
namespace {

// The exit code that asks the driver for another round.
constexpr int kRoundNeeded = 3;

struct AdvanceCommand {
  std::string plan;
  std::string out;
  int threads = 0;
  bool overwrite = false;
};

int run_advance(const AdvanceCommand& c) {
  if (Status st = check_output_apart_from_inputs(c.out, {c.plan}); !st.ok()) return fail(st);
  if (Status st = check_model_dir_output(c.out, c.overwrite); !st.ok()) return fail(st);
  auto outcome = advance_rounds(c.plan, c.out, c.overwrite, c.threads);
  if (!outcome.ok()) return fail(outcome.status());
  logger().info("advance: {}", outcome->summary);
  if (!outcome->model_written) {
    logger().info("advance: next: `ivftrain round {} --worker W` for every worker, then advance",
                  c.plan);
    return kRoundNeeded;
  }
  return 0;
}

}  // namespace

void register_advance(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "advance",
      "Sharded training: merge the current round's partials into the next centroids or the "
      "model (exit 0: model written; 3: another round is needed; 1: error)");
  auto c = std::make_shared<AdvanceCommand>();
  cmd->add_option("PLAN", c->plan, "a plan directory whose samples are all written")->required();
  cmd->add_option("--out", c->out, "model directory written once the k-means has converged")
      ->required();
  cmd->add_option("--threads", c->threads, "threads; 0 uses all cores")->capture_default_str();
  cmd->add_flag("--overwrite", c->overwrite, "replace an existing model directory");
  cmd->callback([&run, c] { run = [c] { return run_advance(*c); }; });
}

}  // namespace ivftrain::cli
