// ivftrain plan DATASET --workers W --out PLAN_DIR [training flags]   (phase 1)
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli.h"
#include "ivftrain/plan_files.h"
#include "outputs.h"
#include "pipeline/memory_budget.h"
#include "util/checked_math.h"
#include "util/files.h"

namespace ivftrain::cli {
namespace {

struct PlanCommand {
  TrainFlags flags;
  std::string dataset;
  std::string out;
  int workers = 1;
  bool overwrite = false;
  std::string max_memory;  // "4G", "512M", bytes; empty: no limit
};

// The memory the training of the plan needs (its largest process: the gathering one, or the
// largest `round` worker or `advance`), against --max-memory (refused) or else the machine's
// memory (a warning: training may run on other machines).
Status check_memory(const std::vector<SampleTask>& tasks, const std::string& max_memory) {
  const MemoryEstimate e = estimate_training_memory(tasks, ShardedEngine::kRounds);
  logger().info("training this plan needs about {} of memory in its largest process ({})",
                human_bytes(e.bytes),
                e.gathered
                    ? std::string("the sample gathered by `advance`")
                    : fmt::format("worker {}'s `round`: {}; `advance`: {}", e.worker,
                                  human_bytes(e.worker_bytes), human_bytes(e.advance_bytes)));
  if (!max_memory.empty()) {
    auto limit = parse_byte_size(max_memory);
    if (!limit.ok()) return Status::InvalidArgument("--max-memory: " + limit.status().message());
    return check_memory_budget(tasks, *limit, max_memory, ShardedEngine::kRounds);
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0 &&
      e.bytes > saturating_mul({static_cast<int64_t>(pages), static_cast<int64_t>(page_size)})) {
    const SampleTask& t = tasks.front();
    logger().warn(
        "training this plan needs about {} of memory in its largest process ({} sample rows x {} "
        "dims{}), more than this machine's {}; train where there is enough, or lower "
        "--num-partitions or --sample-rate",
        human_bytes(e.bytes), e.gathered ? t.sample_rows_planned : e.worker_rows, t.dim,
        e.gathered ? ", gathered" : fmt::format(" in worker {}'s shard", e.worker),
        human_bytes(static_cast<int64_t>(pages) * page_size));
  }
  return Status::OK();
}

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
  if (Status st = check_memory(*tasks, c.max_memory); !st.ok()) return fail(st);
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
  cmd->add_option("--max-memory", c->max_memory,
                  "refuse a plan whose training needs more memory than this (e.g. 4G, 512M)");
  add_train_flags(*cmd, c->flags, true);
  cmd->callback([&run, c] { run = [c] { return run_plan(*c); }; });
}

}  // namespace ivftrain::cli
