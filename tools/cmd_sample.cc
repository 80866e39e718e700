// ivftrain sample PLAN_DIR/task-0003.json [--out FILE]   (phase 2)
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "cli.h"
#include "ivftrain/plan_files.h"

namespace ivftrain::cli {
namespace {

struct SampleCommand {
  std::string task;
  std::string out;
  int threads = 0;
};

int run_sample(const SampleCommand& c) {
  auto tf = read_task_file(c.task);
  if (!tf.ok()) return fail(tf.status());
  auto dataset = Dataset::open(tf->dataset_path, tf->dataset_options);
  if (!dataset.ok()) return fail(dataset.status());
  tf->task.params.num_threads = c.threads;
  auto result = execute_sample_task(*dataset, tf->task);
  if (!result.ok()) return fail(result.status());
  std::string out = c.out;
  if (out.empty()) {
    out =
        (std::filesystem::path(c.task).parent_path() / result_file_name(tf->task.worker)).string();
  }
  Status st = write_sample_result(out, *result);
  if (!st.ok()) return fail(st);
  logger().info("task {} of plan {}: {} rows from {} fragments ({} dropped) -> {}", tf->task.worker,
                tf->task.plan_id, result->size(), tf->task.fragments.size(),
                result->rows_dropped_nonfinite + result->rows_dropped_zero_norm, out);
  return 0;
}

}  // namespace

void register_sample(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("sample", "Phase 2: run one sampling task");
  auto c = std::make_shared<SampleCommand>();
  cmd->add_option("TASK", c->task, "a task-NNNN.json of a plan directory")->required();
  cmd->add_option("--out", c->out, "result file (default: task-NNNN.result beside the task)");
  cmd->add_option("--threads", c->threads, "threads; 0 uses all cores")->capture_default_str();
  cmd->callback([&run, c] { run = [c] { return run_sample(*c); }; });
}

}  // namespace ivftrain::cli
