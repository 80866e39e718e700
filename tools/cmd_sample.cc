// ivftrain sample PLAN_DIR/task-0003.json [--out FILE]   (phase 2)
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "cli.h"
#include "ivftrain/plan_files.h"
#include "outputs.h"
#include "util/files.h"

namespace ivftrain::cli {
namespace {

struct SampleCommand {
  std::string task;
  std::string out;
  int threads = 0;
  bool out_given = false;
};

int run_sample(const SampleCommand& c) {
  auto tf = read_task_file(c.task);
  if (!tf.ok()) return fail(tf.status());
  std::string out = c.out;
  if (!c.out_given) {
    out =
        (std::filesystem::path(c.task).parent_path() / result_file_name(tf->task.worker)).string();
  }
  // The output before the dataset is read: a sample result or nothing, never an input.
  std::vector<std::string> inputs = dataset_inputs(tf->dataset_path, nullptr);
  inputs.push_back(c.task);
  if (Status st = check_output_apart_from_inputs(out, inputs); !st.ok()) return fail(st);
  if (Status st = check_sample_result_output(out); !st.ok()) return fail(st);
  auto dataset = Dataset::open(tf->dataset_path, tf->dataset_options);
  if (!dataset.ok()) return fail(dataset.status());
  inputs = dataset_inputs(tf->dataset_path, &*dataset);
  inputs.push_back(c.task);
  if (Status st = check_output_apart_from_inputs(out, inputs); !st.ok()) return fail(st);
  tf->task.params.num_threads = c.threads;
  auto result = execute_sample_task(*dataset, tf->task);
  if (!result.ok()) return fail(result.status());
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
  cmd->callback([&run, c, cmd] {
    c->out_given = cmd->count("--out") > 0;  // so that --out "" is refused, not defaulted
    run = [c] { return run_sample(*c); };
  });
}

}  // namespace ivftrain::cli
