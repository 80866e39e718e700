#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ivftrain/plan_files.h"
#include "mpi/sharded.h"
#include "util/status_macros.h"

namespace ivftrain {

Result<uint64_t> checkpoint_run_id(const std::string& tasks_json) {
  const auto all = nlohmann::json::parse(tasks_json);
  std::vector<TaskFragment> fragments;
  std::string identity;
  for (size_t w = 0; w < all.size(); ++w) {
    IVF_ASSIGN_OR_RETURN(TaskFile file, parse_task_json(all.at(w).get<std::string>(),
                                                        fmt::format("task of rank {}", w)));
    const SampleTask& t = file.task;
    if (w == 0) {  // what every task of a plan shares, but the worker and the workers
      identity = fmt::format("dim={};params={:016x};layout={:016x}:{};selection={};planned={};",
                             t.dim, params_fingerprint(t.params), t.dataset_layout,
                             t.dataset_fragments, t.selection, t.sample_rows_planned);
    }
    fragments.insert(fragments.end(), t.fragments.begin(), t.fragments.end());
  }
  // The fragments by id, whichever rank samples them.
  std::sort(fragments.begin(), fragments.end(),
            [](const TaskFragment& a, const TaskFragment& b) { return a.id < b.id; });
  for (const TaskFragment& f : fragments) {
    identity += fmt::format("{}:{}:{}:{}:{}:{}:{}:{:016x};", f.id, f.num_rows, f.quota, f.first_row,
                            f.file.path, f.file.size, f.file.mtime_ns, f.file.content_hash);
  }
  return XXH3_64bits(identity.data(), identity.size());
}

}  // namespace ivftrain
