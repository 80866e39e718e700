// Task and plan files: JSON that a person or an orchestrator can read and template; and the
// collection of a plan's sample results.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "files/owned_dir.h"
#include "ivftrain/plan_files.h"
#include "pipeline/plan.h"
#include "train/params_json.h"
#include "util/files.h"
#include "util/status_macros.h"

namespace fs = std::filesystem;

namespace ivftrain {
namespace {

constexpr const char* kTaskFormat = "ivftrain-task";
constexpr const char* kPlanFormat = "ivftrain-plan";
// Version 2 added the fragments' file fingerprints, the selection and the dataset's layout.
// Version 1 files are refused (not read without the checks): a plan is cheap to make again.
constexpr int kFormatVersion = 2;

Status check_format(const nlohmann::json& j, const char* format, const std::string& source) {
  if (j.is_object() && j.contains("format") && j["format"] == format &&
      j.contains("format_version") && j["format_version"] == 1) {
    return Status::Corruption(fmt::format(
        "{} was written by an older ivftrain (format version 1, without fragment fingerprints); "
        "make the plan again with this one",
        source));
  }
  return check_json_format(j, format, kFormatVersion, source);
}

Result<uint64_t> json_hex(const nlohmann::json& j, const char* key, const std::string& source) {
  IVF_ASSIGN_OR_RETURN(std::string text, json_string(j, key, source));
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (text.size() != 16 || ec != std::errc() || end != text.data() + text.size()) {
    return Status::Corruption(
        fmt::format("{}: '{}' must be 16 hexadecimal digits (got '{}')", source, key, text));
  }
  return value;
}

// The members plan.json and every task share, so that each task can be checked against its plan.
void put_plan_totals(ordered_json& j, const SampleTask& t) {
  j["dim"] = t.dim;
  j["rows_available"] = t.rows_available;
  j["sample_rows_planned"] = t.sample_rows_planned;
  j["fragments_in_plan"] = t.fragments_in_plan;
  j["selection"] = t.selection;
  j["dataset_fragments"] = t.dataset_fragments;
  j["dataset_layout"] = fmt::format("{:016x}", t.dataset_layout);
}

Status parse_plan_totals(const nlohmann::json& j, const std::string& source, SampleTask* t) {
  IVF_ASSIGN_OR_RETURN(t->dim, json_int(j, "dim", source));
  IVF_ASSIGN_OR_RETURN(t->rows_available, json_int(j, "rows_available", source));
  IVF_ASSIGN_OR_RETURN(t->sample_rows_planned, json_int(j, "sample_rows_planned", source));
  IVF_ASSIGN_OR_RETURN(t->fragments_in_plan, json_int(j, "fragments_in_plan", source));
  IVF_ASSIGN_OR_RETURN(t->selection, json_string(j, "selection", source));
  IVF_ASSIGN_OR_RETURN(t->dataset_fragments, json_int(j, "dataset_fragments", source));
  IVF_ASSIGN_OR_RETURN(t->dataset_layout, json_hex(j, "dataset_layout", source));
  if (t->dim < 1) return Status::Corruption(fmt::format("{}: 'dim' must be at least 1", source));
  if (t->rows_available < 0 || t->sample_rows_planned < 0 ||
      t->sample_rows_planned > t->rows_available || t->fragments_in_plan < 0 ||
      t->dataset_fragments < t->fragments_in_plan) {
    return Status::Corruption(fmt::format(
        "{}: the plan's totals are inconsistent ({} sample rows of {}, {} fragments of {})", source,
        t->sample_rows_planned, t->rows_available, t->fragments_in_plan, t->dataset_fragments));
  }
  return Status::OK();
}

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

// A task must repeat its plan's totals and parameters.
Status check_task_against_plan(const SampleTask& t, const SampleTask& plan,
                               const TrainParams& params, const std::string& task_path) {
  if (t.dim != plan.dim || t.rows_available != plan.rows_available ||
      t.sample_rows_planned != plan.sample_rows_planned ||
      t.fragments_in_plan != plan.fragments_in_plan || t.selection != plan.selection ||
      t.dataset_fragments != plan.dataset_fragments || t.dataset_layout != plan.dataset_layout) {
    return Status::Corruption(fmt::format(
        "{} disagrees with its plan.json on the plan's totals (dimension, rows, sample size or "
        "fragments): it was edited; make the plan again",
        task_path));
  }
  if (params_fingerprint(t.params) != params_fingerprint(params)) {
    return Status::Corruption(fmt::format(
        "{} has other training parameters than its plan.json: it was edited; make the plan again",
        task_path));
  }
  return Status::OK();
}

// Every quota recomputed from the plan (its fragments' rows, sample size and seed): a task whose
// quota was raised or lowered by hand is refused, naming it.
Status check_plan_quotas(const std::vector<TaskFile>& tasks, const SampleTask& plan,
                         const TrainParams& params, const std::string& dir) {
  struct Entry {
    int64_t id, num_rows, quota;
    int worker;
  };
  std::vector<Entry> all;
  for (const TaskFile& tf : tasks) {
    for (const TaskFragment& f : tf.task.fragments) {
      all.push_back({f.id, f.num_rows, f.quota, tf.task.worker});
    }
  }
  std::sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  std::vector<int64_t> rows;
  int64_t available = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && all[i].id == all[i - 1].id) {
      return Status::Corruption(fmt::format("{}: fragment {} is in the tasks of workers {} and {}",
                                            dir, all[i].id, all[i - 1].worker, all[i].worker));
    }
    rows.push_back(all[i].num_rows);
    available += all[i].num_rows;
  }
  if (static_cast<int64_t>(all.size()) != plan.fragments_in_plan ||
      available != plan.rows_available) {
    return Status::Corruption(fmt::format(
        "{}: the tasks hold {} fragments ({} rows), but the plan says {} ({} rows): a task was "
        "edited; make the plan again",
        dir, all.size(), available, plan.fragments_in_plan, plan.rows_available));
  }
  const int64_t sample = std::min(sample_rows_wanted(params), available);
  if (sample != plan.sample_rows_planned) {
    return Status::Corruption(fmt::format(
        "{}: the plan says {} sample rows, but its parameters give {}: it was edited; make the "
        "plan again",
        dir, plan.sample_rows_planned, sample));
  }
  const std::vector<int64_t> quotas = allocate_quotas(rows, sample, params.seed);
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].quota != quotas[i]) {
      return Status::Corruption(fmt::format(
          "{}: fragment {} has quota {}, but the plan gives it {}: it was edited; make the plan "
          "again",
          (fs::path(dir) / task_file_name(all[i].worker)).string(), all[i].id, all[i].quota,
          quotas[i]));
    }
  }
  return Status::OK();
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

// --overwrite replaces only a plan directory ivftrain wrote: plan.json, task files and their
// results, and the round-NNNN directories of sharded training (round_files.cc).
bool plan_dir_entry(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  int number = 0, used = 0;
  char ext[8] = {};
  if (std::sscanf(name.c_str(), "task-%d.%7[a-z]%n", &number, ext, &used) == 2 &&
      static_cast<size_t>(used) == name.size() && name.size() >= 14) {
    return std::string(ext) == "json" || std::string(ext) == "result";
  }
  used = 0;
  std::error_code ec;
  return std::sscanf(name.c_str(), "round-%d%n", &number, &used) == 1 &&
         static_cast<size_t>(used) == name.size() && entry.is_directory(ec);
}

Status replaceable_plan_dir(const std::string& dir) {
  static const OwnedDirKind kind{"plan", "plan.json", kPlanFormat, kFormatVersion, plan_dir_entry};
  return replaceable_owned_dir(dir, kind);
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
  put_plan_totals(j, t);
  j["params"] = params_to_json(t.params);
  ordered_json frags = ordered_json::array();
  for (const auto& f : t.fragments) {
    frags.push_back({{"id", f.id},
                     {"num_rows", f.num_rows},
                     {"quota", f.quota},
                     {"first_row", f.first_row},
                     {"file",
                      {{"path", f.file.path},
                       {"size", f.file.size},
                       {"mtime_ns", f.file.mtime_ns},
                       {"content_hash", fmt::format("{:016x}", f.file.content_hash)}}}});
  }
  j["fragments"] = frags;
  return j.dump(2) + "\n";
}

Result<TaskFile> parse_task_json(const std::string& text, const std::string& source) {
  IVF_ASSIGN_OR_RETURN(nlohmann::json j, parse_json(text, source));
  IVF_RETURN_IF_ERROR(check_format(j, kTaskFormat, source));
  TaskFile out;
  SampleTask& t = out.task;
  IVF_ASSIGN_OR_RETURN(t.plan_id, json_string(j, "plan_id", source));
  IVF_ASSIGN_OR_RETURN(int64_t worker, json_int(j, "worker", source));
  IVF_ASSIGN_OR_RETURN(int64_t workers, json_int(j, "num_workers", source));
  if (workers < 1 || workers > kMaxWorkers || worker < 0 || worker >= workers) {
    return Status::Corruption(
        fmt::format("{}: worker {} is outside a plan of {} workers", source, worker, workers));
  }
  t.worker = static_cast<int>(worker);
  t.num_workers = static_cast<int>(workers);
  IVF_RETURN_IF_ERROR(parse_dataset(j, source, &out.dataset_path, &out.dataset_options));
  IVF_RETURN_IF_ERROR(parse_plan_totals(j, source, &t));
  if (!j.contains("params"))
    return Status::Corruption(fmt::format("{}: 'params' is missing", source));
  IVF_ASSIGN_OR_RETURN(t.params, params_from_json(j["params"], source));
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
    IVF_ASSIGN_OR_RETURN(tf.first_row, json_int(f, "first_row", source));
    if (!f.contains("file") || !f["file"].is_object()) {
      return Status::Corruption(
          fmt::format("{}: fragment {} has no 'file' fingerprint", source, tf.id));
    }
    const auto& file = f["file"];
    IVF_ASSIGN_OR_RETURN(tf.file.path, json_string(file, "path", source));
    IVF_ASSIGN_OR_RETURN(tf.file.size, json_int(file, "size", source));
    IVF_ASSIGN_OR_RETURN(tf.file.mtime_ns, json_int(file, "mtime_ns", source));
    IVF_ASSIGN_OR_RETURN(tf.file.content_hash, json_hex(file, "content_hash", source));
    if (tf.file.path.empty()) {
      return Status::Corruption(
          fmt::format("{}: fragment {} has an empty file path in its fingerprint", source, tf.id));
    }
    if (!first && tf.id <= previous) {
      return Status::Corruption(fmt::format(
          "{}: fragment ids must be increasing (fragment {} follows {})", source, tf.id, previous));
    }
    if (tf.num_rows < 0 || tf.quota < 0 || tf.quota > tf.num_rows || tf.first_row < 0) {
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
  put_plan_totals(plan, tasks.front());
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
  IVF_RETURN_IF_ERROR(check_format(j, kPlanFormat, plan_path));
  PlanDir out;
  IVF_ASSIGN_OR_RETURN(out.plan_id, json_string(j, "plan_id", plan_path));
  IVF_ASSIGN_OR_RETURN(int64_t workers, json_int(j, "num_workers", plan_path));
  if (!j.contains("params")) {
    return Status::Corruption(fmt::format("{}: 'params' is missing", plan_path));
  }
  IVF_ASSIGN_OR_RETURN(out.params, params_from_json(j["params"], plan_path));
  SampleTask totals;
  IVF_RETURN_IF_ERROR(parse_plan_totals(j, plan_path, &totals));
  if (workers < 1 || workers > kMaxWorkers) {
    return Status::Corruption(fmt::format("{}: 'num_workers' is out of range", plan_path));
  }
  for (int w = 0; w < workers; ++w) {
    const std::string task_path = (fs::path(dir) / task_file_name(w)).string();
    IVF_ASSIGN_OR_RETURN(TaskFile tf, read_task_file(task_path));
    if (tf.task.plan_id != out.plan_id || tf.task.worker != w) {
      return Status::Corruption(
          fmt::format("{} does not belong to plan {} as worker {}", task_path, out.plan_id, w));
    }
    IVF_RETURN_IF_ERROR(check_task_against_plan(tf.task, totals, out.params, task_path));
    out.tasks.push_back(std::move(tf));
  }
  IVF_RETURN_IF_ERROR(check_plan_quotas(out.tasks, totals, out.params, dir));
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
