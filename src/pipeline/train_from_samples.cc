// Phase 3: check the results form one whole plan, put them in canonical order and train.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "ivftrain/distributed.h"
#include "pipeline/whole_plan.h"
#include "train/train_on_sample.h"
#include "util/log.h"
#include "util/memory.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return s;
}

}  // namespace

Status check_whole_plan(const std::vector<SampleResult>& results, const TrainParams& params) {
  if (results.empty()) return Status::InvalidArgument("no sample results were given");
  const SampleResult& first = results.front();
  const uint64_t fingerprint = params_fingerprint(params);
  std::vector<int> seen(static_cast<size_t>(std::max(first.num_workers, 1)), 0);
  for (const SampleResult& r : results) {
    if (r.plan_id != first.plan_id) {
      return Status::FailedPrecondition(fmt::format(
          "the result of worker {} belongs to plan {}, not plan {}; rerun task {} of this plan",
          r.worker, r.plan_id, first.plan_id, r.worker));
    }
    if (r.num_workers != first.num_workers || r.worker < 0 || r.worker >= first.num_workers) {
      return Status::FailedPrecondition(
          fmt::format("the result of worker {} says the plan has {} workers, another says {}",
                      r.worker, r.num_workers, first.num_workers));
    }
    if (r.params_hash != fingerprint) {
      return Status::FailedPrecondition(fmt::format(
          "the result of worker {} was sampled with other parameters than the ones given for "
          "training; train with the plan's parameters or rerun the plan",
          r.worker));
    }
    if (r.rows_available != first.rows_available ||
        r.sample_rows_planned != first.sample_rows_planned ||
        r.fragments_in_plan != first.fragments_in_plan) {
      return Status::FailedPrecondition(
          fmt::format("the result of worker {} disagrees with worker {} on the plan's totals",
                      r.worker, first.worker));
    }
    if (r.dim != first.dim) {
      return Status::FailedPrecondition(
          fmt::format("the result of worker {} has dimension {}, worker {} has {}", r.worker, r.dim,
                      first.worker, first.dim));
    }
    if (++seen[static_cast<size_t>(r.worker)] > 1) {
      return Status::FailedPrecondition(
          fmt::format("the result of worker {} was given twice", r.worker));
    }
  }
  std::vector<int> missing;
  for (size_t w = 0; w < seen.size(); ++w) {
    if (!seen[w]) missing.push_back(static_cast<int>(w));
  }
  if (!missing.empty()) {
    return Status::FailedPrecondition(fmt::format(
        "the results of {} of {} workers are missing (tasks {}); run them, then train again",
        missing.size(), first.num_workers, join_ints(missing)));
  }
  return Status::OK();
}

namespace {

// A run of consecutive rows of one fragment inside one result.
struct Segment {
  int64_t fragment_id;
  size_t result;
  int64_t begin, end;
};

}  // namespace

Result<TrainedModels> train_from_samples(std::vector<SampleResult> results,
                                         const TrainParams& params) {
  const auto t_start = std::chrono::steady_clock::now();
  IVF_RETURN_IF_ERROR(check_whole_plan(results, params));
  const int64_t dim = results.front().dim;
  IVF_RETURN_IF_ERROR(validate(params, dim));

  TrainedModels models;
  models.params = params;
  models.dim = dim;
  SqBounds bounds = SqBounds::empty(params.sq.bounds, dim);
  int64_t total = 0;
  std::vector<Segment> segments;
  for (size_t ri = 0; ri < results.size(); ++ri) {
    const SampleResult& r = results[ri];
    models.stats.rows_read += r.rows_read;
    models.stats.rows_dropped_nonfinite += r.rows_dropped_nonfinite;
    models.stats.rows_dropped_zero_norm += r.rows_dropped_zero_norm;
    bounds.merge(r.sq_bounds);
    total += r.size();
    for (int64_t i = 0; i < r.size();) {
      int64_t j = i + 1;
      while (j < r.size() && r.fragment_ids[j] == r.fragment_ids[i]) ++j;
      segments.push_back({r.fragment_ids[i], ri, i, j});
      i = j;
    }
  }
  // Canonical order: by fragment id (rows are already increasing inside a fragment). A fragment
  // in two results means the results do not come from one plan.
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.fragment_id < b.fragment_id; });
  for (size_t i = 1; i < segments.size(); ++i) {
    if (segments[i].fragment_id == segments[i - 1].fragment_id) {
      return Status::FailedPrecondition(fmt::format(
          "fragment {} was sampled by workers {} and {}; the results are not from one plan",
          segments[i].fragment_id, results[segments[i - 1].result].worker,
          results[segments[i].result].worker));
    }
  }
  models.stats.sample_rows = total;
  models.stats.rows_available = results.front().rows_available;
  models.stats.sample_rows_planned = results.front().sample_rows_planned;
  models.stats.fragments_used = results.front().fragments_in_plan;
  std::vector<float> sample;
  if (results.size() == 1 || segments.empty()) {
    // One worker (local training): its result is already in canonical order.
    for (auto& r : results) {
      if (r.size() > 0) sample = std::move(r.vectors);
    }
  } else {
    IVF_RETURN_IF_ERROR(
        check_memory_for(total * dim * int64_t{sizeof(float)},
                         fmt::format("gathering the sample ({} rows x {} dims)", total, dim)));
    sample.resize(static_cast<size_t>(total * dim));
    int64_t at = 0;
    for (const Segment& s : segments) {
      const auto& src = results[s.result].vectors;
      std::copy(src.begin() + s.begin * dim, src.begin() + s.end * dim, sample.begin() + at * dim);
      at += s.end - s.begin;
    }
  }
  results.clear();
  results.shrink_to_fit();
  IVF_RETURN_IF_ERROR(train_on_sample(std::move(sample), total, std::move(bounds), models));
  models.timings.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return models;
}

}  // namespace ivftrain
