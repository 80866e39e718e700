// ivftrain plan DATASET --workers W --out PLAN_DIR [training flags]   (phase 1)
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "ivftrain/plan_files.h"
#include "outputs.h"
#include "util/files.h"

namespace ivftrain::cli {
namespace {

struct PlanCommand {
  TrainFlags flags;
  std::string dataset;
  std::string out;
  int workers = 1;
  bool overwrite = false;
};

int run_plan(const PlanCommand& c) {
  auto params = params_from_flags(c.flags);
  if (!params.ok()) return fail(params.status());
  auto ids = fragment_ids_from_flags(c.flags);
  if (!ids.ok()) return fail(ids.status());
  auto assignment = assignment_from_flags(c.flags);
  if (!assignment.ok()) return fail(assignment.status());
  const DatasetOptions options = dataset_options_from_flags(c.flags);
  if (Status st = check_output_apart_from_inputs(c.out, {c.dataset}); !st.ok()) return fail(st);
  if (Status st = check_plan_dir_output(c.out, c.overwrite); !st.ok()) return fail(st);
  auto dataset = Dataset::open(c.dataset, options);
  if (!dataset.ok()) return fail(dataset.status());
  if (Status st = check_output_apart_from_inputs(c.out, dataset_inputs(c.dataset, &*dataset));
      !st.ok()) {
    return fail(st);
  }
  auto tasks = create_sample_tasks(*dataset, *params, c.workers, *ids, *assignment);
  if (!tasks.ok()) return fail(tasks.status());
  Status st = write_plan_dir(c.out, *tasks, c.dataset, options, c.overwrite);
  if (!st.ok()) return fail(st);
  const SampleTask& t = tasks->front();
  logger().info("plan {}: {} sample rows from {} fragments ({} rows) over {} workers, in {}",
                t.plan_id, t.sample_rows_planned, t.fragments_in_plan, t.rows_available, c.workers,
                c.out);
  return 0;
}

}  // namespace

void register_plan(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("plan", "Phase 1: write one sampling task per worker");
  auto c = std::make_shared<PlanCommand>();
  cmd->add_option("DATASET", c->dataset, "file, directory or manifest .json")->required();
  cmd->add_option("--workers", c->workers, "number of workers (tasks)")->required();
  cmd->add_option("--out", c->out, "plan directory to write")->required();
  cmd->add_flag("--overwrite", c->overwrite, "replace an existing plan directory");
  add_train_flags(*cmd, c->flags, true);
  cmd->callback([&run, c] { run = [c] { return run_plan(*c); }; });
}

}  // namespace ivftrain::cli
