// parse_task_json over arbitrary text: refused with a message naming the source, or a task
// whose invariants hold.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "ivftrain/plan_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ivftrain;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto task = parse_task_json(text, "fuzz-task.json");
  if (!task.ok()) {
    if (task.status().message().find("fuzz-task.json") == std::string::npos) {
      fuzz::invariant_failed("a task error does not name the file");
    }
    return 0;
  }
  const SampleTask& t = task->task;
  if (t.worker < 0 || t.worker >= t.num_workers) fuzz::invariant_failed("worker out of range");
  if (t.dim < 1) fuzz::invariant_failed("dim < 1 accepted");
  if (task->dataset_options.rows_per_fragment < 1) fuzz::invariant_failed("rows_per_fragment < 1");
  for (size_t i = 0; i < t.fragments.size(); ++i) {
    const TaskFragment& f = t.fragments[i];
    if (f.quota < 0 || f.quota > f.num_rows) fuzz::invariant_failed("quota out of range");
    if (i > 0 && f.id <= t.fragments[i - 1].id) fuzz::invariant_failed("ids not increasing");
  }
  // What was accepted must survive a round trip unchanged.
  const std::string again = task_to_json(t, task->dataset_path, task->dataset_options);
  auto reparsed = parse_task_json(again, "fuzz-task-again.json");
  if (!reparsed.ok()) {
    std::fprintf(stderr, "%s\n", reparsed.status().message().c_str());
    fuzz::invariant_failed("a task accepted once is refused after task_to_json");
  }
  if (task_to_json(reparsed->task, reparsed->dataset_path, reparsed->dataset_options) != again) {
    fuzz::invariant_failed("task_to_json(parse_task_json(x)) is not stable");
  }
  return 0;
}
