// ivftrain round PLAN_DIR --worker W   (sharded training through files: one worker's partial)
#include <fmt/format.h>

#include "cli.h"
#include "ivftrain/plan_files.h"

namespace ivftrain::cli {
namespace {

struct RoundCommand {
  std::string plan;
  int worker = 0;
  int threads = 0;
};

int run_round_command(const RoundCommand& c) {
  auto written = run_round(c.plan, c.worker, c.threads);
  if (!written.ok()) return fail(written.status());
  return 0;
}

}  // namespace

void register_round(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "round", "Sharded training: one worker's partial statistics of the plan's current round");
  auto c = std::make_shared<RoundCommand>();
  cmd->add_option("PLAN", c->plan, "a plan directory whose rounds `advance` began")->required();
  cmd->add_option("--worker", c->worker, "the worker (its task-NNNN.result is read)")->required();
  cmd->add_option("--threads", c->threads, "threads; 0 uses all cores")->capture_default_str();
  cmd->callback([&run, c] { run = [c] { return run_round_command(*c); }; });
}

}  // namespace ivftrain::cli
