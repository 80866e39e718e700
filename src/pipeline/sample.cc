// Phase 2: a worker samples its fragments.
#include <fmt/format.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "ivftrain/distributed.h"
#include "pipeline/plan.h"
#include "util/cancel.h"
#include "util/log.h"
#include "util/memory.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// Rows read per call into the dataset: bounds the staging buffer.
constexpr int64_t kReadChunkRows = 16384;

struct FragmentSample {
  int64_t kept = 0, read = 0, nonfinite = 0, zero_norm = 0;
  Status status;
};

// Reads one fragment's chosen rows into its slot of the task's buffer (`vectors`, `rows`: room
// for frag.quota rows). Keeps finite rows, normalised under cosine, packed at the slot's start.
FragmentSample sample_fragment(const Dataset& dataset, const SampleTask& task,
                               const TaskFragment& frag, float* vectors, int64_t* rows) {
  FragmentSample out;
  if (cancel_requested()) return {.status = cancelled_status()};
  const int64_t dim = task.dim;
  const std::vector<int64_t> chosen =
      fragment_sample_rows(task.params.seed, frag.id, frag.num_rows, frag.quota);
  const bool cosine = task.params.distance_type == DistanceType::kCosine;
  for (size_t start = 0; start < chosen.size(); start += kReadChunkRows) {
    const size_t count = std::min<size_t>(kReadChunkRows, chosen.size() - start);
    // Read straight into the slot after the rows kept so far; dropped rows are overwritten.
    float* chunk = vectors + out.kept * dim;
    out.status = dataset.read_rows(frag.id, std::span(chosen.data() + start, count), chunk);
    if (!out.status.ok()) return out;
    out.read += static_cast<int64_t>(count);
    for (size_t i = 0; i < count; ++i) {
      const float* v = chunk + static_cast<int64_t>(i) * dim;
      double norm2 = 0;
      bool finite = true;
      for (int64_t j = 0; j < dim; ++j) {
        if (!std::isfinite(v[j])) {
          finite = false;
          break;
        }
        norm2 += static_cast<double>(v[j]) * v[j];
      }
      if (!finite || !std::isfinite(norm2)) {
        ++out.nonfinite;
        continue;
      }
      if (cosine && norm2 == 0.0) {
        ++out.zero_norm;
        continue;
      }
      float* dst = vectors + out.kept * dim;
      if (dst != v) std::copy(v, v + dim, dst);
      if (cosine) {
        const double inv = 1.0 / std::sqrt(norm2);
        for (int64_t j = 0; j < dim; ++j) dst[j] = static_cast<float>(dst[j] * inv);
      }
      rows[out.kept++] = chosen[start + i];
    }
  }
  return out;
}

// The dataset's fragment list and the task's files as the planner saw them.
Status check_dataset_unchanged(const Dataset& dataset, const SampleTask& task) {
  const std::vector<FragmentInfo>& now = dataset.fragments();
  for (const auto& frag : task.fragments) {
    const FragmentInfo* info = dataset.find_fragment(frag.id);
    if (!info) {
      return Status::NotFound(fmt::format(
          "fragment {} of task {} is not in dataset {} any more: the dataset changed since "
          "planning; plan again",
          frag.id, task.worker, dataset.path()));
    }
    const std::string path = absolute_normal_path(info->path);
    const bool unplanned_file = frag.file.path.empty();  // train_local: no fingerprint
    if ((!unplanned_file && path != frag.file.path) || info->first_row != frag.first_row) {
      return Status::FailedPrecondition(fmt::format(
          "fragment {} of dataset {} is now {} (from row {}), but the plan has {} (from row {}): "
          "the dataset changed since planning; plan again",
          frag.id, dataset.path(), path, info->first_row, frag.file.path, frag.first_row));
    }
    if (info->num_rows != frag.num_rows) {
      return Status::FailedPrecondition(fmt::format(
          "fragment {} ({}) has {} rows in dataset {} but {} in the plan: the dataset changed "
          "since planning; plan again",
          frag.id, path, info->num_rows, dataset.path(), frag.num_rows));
    }
  }
  // Fingerprints last: they read the files. Each file once.
  for (size_t i = 0; i < task.fragments.size(); ++i) {
    const TaskFragment& frag = task.fragments[i];
    if (frag.file.path.empty() || (i > 0 && task.fragments[i - 1].file == frag.file)) continue;
    IVF_ASSIGN_OR_RETURN(FileFingerprint seen,
                         fingerprint_file(dataset.find_fragment(frag.id)->path));
    std::string what;
    if (seen.size != frag.file.size) {
      what = fmt::format("it has {} bytes, {} when planned", seen.size, frag.file.size);
    } else if (seen.content_hash != frag.file.content_hash) {
      what = "its content differs";
    } else if (seen.mtime_ns != frag.file.mtime_ns) {
      what = "it was modified since (its modification time differs)";
    }
    if (!what.empty()) {
      return Status::FailedPrecondition(
          fmt::format("{} (fragment {}) changed since planning: {}; plan again", frag.file.path,
                      frag.id, what));
    }
  }
  const auto planned = static_cast<size_t>(task.dataset_fragments);
  if (now.size() != planned || dataset_layout_hash(now, now.size()) != task.dataset_layout) {
    if (now.size() > planned && dataset_layout_hash(now, planned) == task.dataset_layout) {
      std::string added;
      for (size_t i = planned; i < now.size() && i < planned + 3; ++i) {
        added += (added.empty() ? "" : ", ") + now[i].path;
      }
      if (now.size() > planned + 3) added += fmt::format(" and {} more", now.size() - planned - 3);
      return Status::FailedPrecondition(fmt::format(
          "dataset {} has {} fragments, {} when planned: {} appeared since planning; plan again",
          dataset.path(), now.size(), planned, added));
    }
    return Status::FailedPrecondition(fmt::format(
        "dataset {} changed since planning: it has {} fragments ({} when planned) and its "
        "fragment list (files, ids or rows) differs; plan again",
        dataset.path(), now.size(), planned));
  }
  return Status::OK();
}

// The task's quotas and totals, recomputed from the dataset and the task's own parameters:
// a task edited by hand (a larger quota, another total) is refused.
Status check_quotas(const Dataset& dataset, const SampleTask& task) {
  std::vector<int64_t> ids;
  if (task.selection.empty()) {
    for (const auto& f : dataset.fragments()) ids.push_back(f.id);
  } else {
    Result<std::vector<int64_t>> parsed = parse_fragment_list(task.selection);
    if (!parsed.ok()) {
      return Status::InvalidArgument(fmt::format("task {} of plan {}: its selection: {}",
                                                 task.worker, task.plan_id,
                                                 parsed.status().message()));
    }
    ids = std::move(*parsed);
    std::sort(ids.begin(), ids.end());
  }
  std::vector<int64_t> rows;
  int64_t available = 0;
  for (int64_t id : ids) {
    const FragmentInfo* f = dataset.find_fragment(id);
    if (!f) {
      return Status::NotFound(fmt::format("fragment {} of plan {} is not in dataset {}", id,
                                          task.plan_id, dataset.path()));
    }
    rows.push_back(f->num_rows);
    available += f->num_rows;
  }
  const int64_t sample = std::min(sample_rows_wanted(task.params), available);
  if (static_cast<int64_t>(ids.size()) != task.fragments_in_plan ||
      available != task.rows_available || sample != task.sample_rows_planned) {
    return Status::FailedPrecondition(fmt::format(
        "task {} of plan {} says {} sample rows from {} fragments ({} rows), but its parameters "
        "and dataset {} give {} from {} ({} rows): the task was edited or the dataset changed; "
        "plan again",
        task.worker, task.plan_id, task.sample_rows_planned, task.fragments_in_plan,
        task.rows_available, dataset.path(), sample, ids.size(), available));
  }
  const std::vector<int64_t> quotas = allocate_quotas(rows, sample, task.params.seed);
  for (const TaskFragment& frag : task.fragments) {
    const auto at = std::lower_bound(ids.begin(), ids.end(), frag.id);
    if (at == ids.end() || *at != frag.id) {
      return Status::FailedPrecondition(
          fmt::format("fragment {} of task {} is not one of the fragments plan {} selected ({})",
                      frag.id, task.worker, task.plan_id, task.selection));
    }
    const int64_t planned = quotas[static_cast<size_t>(at - ids.begin())];
    if (frag.quota != planned) {
      return Status::FailedPrecondition(fmt::format(
          "fragment {} of task {} has quota {}, but its plan gives it {}: the task was edited; "
          "plan again",
          frag.id, task.worker, frag.quota, planned));
    }
  }
  return Status::OK();
}

}  // namespace

Result<SampleResult> execute_sample_task(const Dataset& dataset, const SampleTask& task) {
  IVF_RETURN_IF_ERROR(validate(task.params, task.dim));
  if (task.dim != dataset.dim()) {
    return Status::FailedPrecondition(
        fmt::format("task {} of plan {} expects dimension {}, but dataset {} has dimension {}",
                    task.worker, task.plan_id, task.dim, dataset.path(), dataset.dim()));
  }
  IVF_RETURN_IF_ERROR(check_dataset_unchanged(dataset, task));
  IVF_RETURN_IF_ERROR(check_quotas(dataset, task));

  // One buffer for the whole task; each fragment fills its own slot (in parallel), then the
  // slots are packed in id order. The result does not depend on the thread count, and the
  // sample is never held twice.
  std::vector<int64_t> offsets(task.fragments.size() + 1, 0);
  for (size_t i = 0; i < task.fragments.size(); ++i) {
    offsets[i + 1] = offsets[i] + task.fragments[i].quota;
  }
  SampleResult result;
  result.plan_id = task.plan_id;
  result.worker = task.worker;
  result.num_workers = task.num_workers;
  result.params_hash = params_fingerprint(task.params);
  result.dim = task.dim;
  result.rows_available = task.rows_available;
  result.sample_rows_planned = task.sample_rows_planned;
  result.fragments_in_plan = task.fragments_in_plan;
  result.sq_bounds = SqBounds::empty(task.params.sq.bounds, task.dim);
  const int64_t dim = task.dim;
  // Refused with a sentence before the allocation, rather than std::bad_alloc in it.
  int64_t sample_bytes = -1;
  if (__builtin_mul_overflow(offsets.back(), dim * int64_t{sizeof(float)} + 8, &sample_bytes)) {
    sample_bytes = -1;
  }
  IVF_RETURN_IF_ERROR(check_memory_for(
      sample_bytes,
      fmt::format("the sample of task {} ({} rows x {} dims)", task.worker, offsets.back(), dim)));
  result.vectors.resize(static_cast<size_t>(offsets.back() * dim));
  result.rows.resize(static_cast<size_t>(offsets.back()));

  std::vector<FragmentSample> parts(task.fragments.size());
  const int threads = resolve_threads(task.params.num_threads);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t i = 0; i < task.fragments.size(); ++i) {
    parts[i] =
        sample_fragment(dataset, task, task.fragments[i], result.vectors.data() + offsets[i] * dim,
                        result.rows.data() + offsets[i]);
  }
  int64_t kept = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const FragmentSample& p = parts[i];
    if (!p.status.ok()) return p.status;
    result.rows_read += p.read;
    result.rows_dropped_nonfinite += p.nonfinite;
    result.rows_dropped_zero_norm += p.zero_norm;
    if (p.read > 0 && p.kept == 0) {
      logger().warn(
          "fragment {}: all {} sampled rows were dropped ({} holding NaN or Inf, {} "
          "zero vectors under cosine)",
          task.fragments[i].id, p.read, p.nonfinite, p.zero_norm);
    } else if (p.nonfinite > 0) {
      logger().debug("fragment {}: dropped {} of {} sampled rows holding NaN or Inf",
                     task.fragments[i].id, p.nonfinite, p.read);
    }
    if (kept != offsets[i]) {
      std::copy_n(result.vectors.begin() + offsets[i] * dim, p.kept * dim,
                  result.vectors.begin() + kept * dim);
      std::copy_n(result.rows.begin() + offsets[i], p.kept, result.rows.begin() + kept);
    }
    result.fragment_ids.insert(result.fragment_ids.end(), static_cast<size_t>(p.kept),
                               task.fragments[i].id);
    kept += p.kept;
  }
  result.vectors.resize(static_cast<size_t>(kept * dim));
  // Give memory back only when many rows were dropped: shrinking copies the sample.
  if (kept < offsets.back() / 2) result.vectors.shrink_to_fit();
  result.rows.resize(static_cast<size_t>(kept));
  result.sq_bounds.update(result.size(), task.dim, result.vectors.data());
  return result;
}

}  // namespace ivftrain
