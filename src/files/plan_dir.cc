// Task and plan files: JSON that a person or an orchestrator can read and template; and the
// collection of a plan's sample results.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ivftrain/plan_files.h"
#include "train/params_json.h"
#include "util/files.h"
#include "util/status_macros.h"

namespace fs = std::filesystem;

namespace ivftrain {
namespace {

constexpr const char* kTaskFormat = "ivftrain-task";
constexpr const char* kPlanFormat = "ivftrain-plan";
constexpr int kFormatVersion = 1;

ordered_json dataset_json(const std::string& path, const DatasetOptions& o) {
  return {
      {"path", path}, {"rows_per_fragment", o.rows_per_fragment}, {"hdf5_dataset", o.hdf5_dataset}};
}

Status parse_dataset(const nlohmann::json& j, const std::string& source, std::string* path,
                     DatasetOptions* o) {
  if (!j.contains("dataset") || !j["dataset"].is_object()) {
    return Status::Corruption(fmt::format("{}: 'dataset' is missing", source));
  }
  const auto& d = j["dataset"];
  IVF_ASSIGN_OR_RETURN(*path, json_string(d, "path", source));
  IVF_ASSIGN_OR_RETURN(o->rows_per_fragment, json_int(d, "rows_per_fragment", source));
  IVF_ASSIGN_OR_RETURN(o->hdf5_dataset, json_string(d, "hdf5_dataset", source));
  if (o->rows_per_fragment < 1) {
    return Status::Corruption(fmt::format("{}: 'rows_per_fragment' must be at least 1", source));
  }
  return Status::OK();
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

// --overwrite replaces only a plan directory ivftrain wrote: plan.json of this format, task
// files and their results, nothing else.
Status replaceable_plan_dir(const std::string& dir) {
  std::error_code ec;
  const std::string refuse = "; --overwrite replaces only a plan directory ivftrain wrote";
  if (!fs::is_directory(fs::symlink_status(dir, ec))) {
    return Status::AlreadyExists(fmt::format("{} is not a plan directory{}", dir, refuse));
  }
  const std::string plan_path = (fs::path(dir) / "plan.json").string();
  Result<std::string> text = read_file(plan_path);
  Result<nlohmann::json> j = text.ok() ? parse_json(*text, plan_path) : text.status();
  if (!j.ok() || !check_json_format(*j, kPlanFormat, kFormatVersion, plan_path).ok()) {
    return Status::AlreadyExists(
        fmt::format("{} holds no plan.json of an ivftrain plan{}", dir, refuse));
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    int worker = 0, used = 0;
    char ext[8] = {};
    const bool task_file =
        std::sscanf(name.c_str(), "task-%d.%7[a-z]%n", &worker, ext, &used) == 2 &&
        static_cast<size_t>(used) == name.size() && name.size() >= 14 &&
        (std::string(ext) == "json" || std::string(ext) == "result");
    if (name != "plan.json" && !task_file) {
      return Status::AlreadyExists(
          fmt::format("{} holds {}, which ivftrain did not write{}", dir, name, refuse));
    }
  }
  return Status::OK();
}

}  // namespace

Status check_plan_dir_output(const std::string& dir, bool overwrite) {
  return check_output(dir, overwrite, replaceable_plan_dir);
}

std::string task_file_name(int worker) { return fmt::format("task-{:04d}.json", worker); }
std::string result_file_name(int worker) { return fmt::format("task-{:04d}.result", worker); }

std::string task_to_json(const SampleTask& t, const std::string& dataset_path,
                         const DatasetOptions& options) {
  ordered_json j;
  j["format"] = kTaskFormat;
  j["format_version"] = kFormatVersion;
  j["plan_id"] = t.plan_id;
  j["worker"] = t.worker;
  j["num_workers"] = t.num_workers;
  j["dataset"] = dataset_json(dataset_path, options);
  j["dim"] = t.dim;
  j["rows_available"] = t.rows_available;
  j["sample_rows_planned"] = t.sample_rows_planned;
  j["fragments_in_plan"] = t.fragments_in_plan;
  j["params"] = params_to_json(t.params);
  ordered_json frags = ordered_json::array();
  for (const auto& f : t.fragments) {
    frags.push_back({{"id", f.id}, {"num_rows", f.num_rows}, {"quota", f.quota}});
  }
  j["fragments"] = frags;
  return j.dump(2) + "\n";
}

Result<TaskFile> parse_task_json(const std::string& text, const std::string& source) {
  IVF_ASSIGN_OR_RETURN(nlohmann::json j, parse_json(text, source));
  IVF_RETURN_IF_ERROR(check_json_format(j, kTaskFormat, kFormatVersion, source));
  TaskFile out;
  SampleTask& t = out.task;
  IVF_ASSIGN_OR_RETURN(t.plan_id, json_string(j, "plan_id", source));
  IVF_ASSIGN_OR_RETURN(int64_t worker, json_int(j, "worker", source));
  IVF_ASSIGN_OR_RETURN(int64_t workers, json_int(j, "num_workers", source));
  if (workers < 1 || workers > 1'000'000 || worker < 0 || worker >= workers) {
    return Status::Corruption(
        fmt::format("{}: worker {} is outside a plan of {} workers", source, worker, workers));
  }
  t.worker = static_cast<int>(worker);
  t.num_workers = static_cast<int>(workers);
  IVF_RETURN_IF_ERROR(parse_dataset(j, source, &out.dataset_path, &out.dataset_options));
  IVF_ASSIGN_OR_RETURN(t.dim, json_int(j, "dim", source));
  IVF_ASSIGN_OR_RETURN(t.rows_available, json_int(j, "rows_available", source));
  IVF_ASSIGN_OR_RETURN(t.sample_rows_planned, json_int(j, "sample_rows_planned", source));
  IVF_ASSIGN_OR_RETURN(t.fragments_in_plan, json_int(j, "fragments_in_plan", source));
  if (!j.contains("params"))
    return Status::Corruption(fmt::format("{}: 'params' is missing", source));
  IVF_ASSIGN_OR_RETURN(t.params, params_from_json(j["params"], source));
  if (t.dim < 1) return Status::Corruption(fmt::format("{}: 'dim' must be at least 1", source));
  if (Status st = validate(t.params, t.dim); !st.ok()) {
    return Status::Corruption(fmt::format("{}: {}", source, st.message()));
  }
  if (!j.contains("fragments") || !j["fragments"].is_array()) {
    return Status::Corruption(fmt::format("{}: 'fragments' is missing or not a list", source));
  }
  int64_t previous = -1;
  bool first = true;
  for (const auto& f : j["fragments"]) {
    TaskFragment tf;
    IVF_ASSIGN_OR_RETURN(tf.id, json_int(f, "id", source));
    IVF_ASSIGN_OR_RETURN(tf.num_rows, json_int(f, "num_rows", source));
    IVF_ASSIGN_OR_RETURN(tf.quota, json_int(f, "quota", source));
    if (!first && tf.id <= previous) {
      return Status::Corruption(fmt::format(
          "{}: fragment ids must be increasing (fragment {} follows {})", source, tf.id, previous));
    }
    if (tf.num_rows < 0 || tf.quota < 0 || tf.quota > tf.num_rows) {
      return Status::Corruption(fmt::format("{}: fragment {} has quota {} outside [0, {}]", source,
                                            tf.id, tf.quota, tf.num_rows));
    }
    first = false;
    previous = tf.id;
    t.fragments.push_back(tf);
  }
  return out;
}

Result<TaskFile> read_task_file(const std::string& path) {
  IVF_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_task_json(text, path);
}

Status write_plan_dir(const std::string& dir, const std::vector<SampleTask>& tasks,
                      const std::string& dataset_path, const DatasetOptions& options,
                      bool overwrite) {
  if (tasks.empty()) return Status::InvalidArgument("a plan needs at least one task");
  const std::string abs_dataset = absolute_path(dataset_path);
  IVF_ASSIGN_OR_RETURN(StagedDirectory staged,
                       StagedDirectory::create(dir, overwrite, replaceable_plan_dir));
  ordered_json plan;
  plan["format"] = kPlanFormat;
  plan["format_version"] = kFormatVersion;
  plan["plan_id"] = tasks.front().plan_id;
  plan["num_workers"] = tasks.front().num_workers;
  plan["dataset"] = dataset_json(abs_dataset, options);
  plan["dim"] = tasks.front().dim;
  plan["rows_available"] = tasks.front().rows_available;
  plan["sample_rows_planned"] = tasks.front().sample_rows_planned;
  plan["fragments_in_plan"] = tasks.front().fragments_in_plan;
  plan["params"] = params_to_json(tasks.front().params);
  ordered_json names = ordered_json::array();
  for (const auto& t : tasks) {
    names.push_back(task_file_name(t.worker));
    IVF_RETURN_IF_ERROR(
        staged.write(task_file_name(t.worker), task_to_json(t, abs_dataset, options)));
  }
  plan["tasks"] = names;
  IVF_RETURN_IF_ERROR(staged.write("plan.json", plan.dump(2) + "\n"));
  return staged.commit();
}

Result<PlanDir> read_plan_dir(const std::string& dir) {
  const std::string plan_path = (fs::path(dir) / "plan.json").string();
  if (!fs::is_directory(dir)) {
    return Status::NotFound(fmt::format("plan directory {} does not exist", dir));
  }
  IVF_ASSIGN_OR_RETURN(std::string text, read_file(plan_path));
  IVF_ASSIGN_OR_RETURN(nlohmann::json j, parse_json(text, plan_path));
  IVF_RETURN_IF_ERROR(check_json_format(j, kPlanFormat, kFormatVersion, plan_path));
  PlanDir out;
  IVF_ASSIGN_OR_RETURN(out.plan_id, json_string(j, "plan_id", plan_path));
  IVF_ASSIGN_OR_RETURN(int64_t workers, json_int(j, "num_workers", plan_path));
  if (!j.contains("params")) {
    return Status::Corruption(fmt::format("{}: 'params' is missing", plan_path));
  }
  IVF_ASSIGN_OR_RETURN(out.params, params_from_json(j["params"], plan_path));
  if (workers < 1 || workers > 1'000'000) {
    return Status::Corruption(fmt::format("{}: 'num_workers' is out of range", plan_path));
  }
  for (int w = 0; w < workers; ++w) {
    const std::string task_path = (fs::path(dir) / task_file_name(w)).string();
    IVF_ASSIGN_OR_RETURN(TaskFile tf, read_task_file(task_path));
    if (tf.task.plan_id != out.plan_id || tf.task.worker != w) {
      return Status::Corruption(
          fmt::format("{} does not belong to plan {} as worker {}", task_path, out.plan_id, w));
    }
    out.tasks.push_back(std::move(tf));
  }
  return out;
}

Result<PlanResults> read_plan_results(const std::string& plan_dir) {
  PlanResults out;
  IVF_ASSIGN_OR_RETURN(out.plan, read_plan_dir(plan_dir));
  for (const TaskFile& tf : out.plan.tasks) {
    const int worker = tf.task.worker;
    UnusableResult unusable;
    unusable.worker = worker;
    unusable.task_path = (fs::path(plan_dir) / task_file_name(worker)).string();
    unusable.result_path = (fs::path(plan_dir) / result_file_name(worker)).string();
    const std::string& path = unusable.result_path;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      unusable.reason = UnusableResult::Reason::kMissing;
      unusable.problem = fmt::format("{} is missing", path);
      out.unusable.push_back(std::move(unusable));
      continue;
    }
    Result<SampleResult> r = read_sample_result(path);
    if (!r.ok()) {
      unusable.reason = UnusableResult::Reason::kCorrupt;
      unusable.problem = r.status().message();
      out.unusable.push_back(std::move(unusable));
      continue;
    }
    if (r->plan_id != out.plan.plan_id || r->worker != worker) {
      unusable.reason = UnusableResult::Reason::kForeign;
      unusable.problem = fmt::format("{} belongs to plan {} worker {}, not to this plan's task {}",
                                     path, r->plan_id, r->worker, worker);
      out.unusable.push_back(std::move(unusable));
      continue;
    }
    // Once one result is unusable, the others are checked but not kept: they will not train.
    if (out.unusable.empty()) out.results.push_back(std::move(*r));
  }
  if (!out.unusable.empty()) out.results.clear();
  return out;
}

}  // namespace ivftrain
