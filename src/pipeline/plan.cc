#include "pipeline/plan.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <numeric>

#include "train/params_json.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"

namespace ivftrain {

__extension__ typedef __int128 int128;  // exact S * N_i for any sizes

std::vector<int64_t> allocate_quotas(const std::vector<int64_t>& fragment_rows, int64_t sample_rows,
                                     uint64_t seed) {
  const int128 total = std::accumulate(fragment_rows.begin(), fragment_rows.end(), int128{0});
  std::vector<int64_t> quotas(fragment_rows.size(), 0);
  if (total == 0 || sample_rows <= 0) return quotas;
  // Remainders rem_i = S * N_i mod N lie on a line of length R * N (R = rows left to place);
  // points U, U + N, U + 2N, ... with one uniform U in [0, N) each give one extra row to the
  // fragment whose segment they fall in. A segment is shorter than N, so at most one each.
  std::vector<int128> remainders(fragment_rows.size());
  int64_t placed = 0;
  for (size_t i = 0; i < fragment_rows.size(); ++i) {
    const int128 scaled = int128{sample_rows} * fragment_rows[i];
    quotas[i] = static_cast<int64_t>(scaled / total);
    remainders[i] = scaled % total;
    placed += quotas[i];
  }
  if (placed == sample_rows) return quotas;
  Rng rng(derive_seed(seed, kSeedQuotaRounding, 0));
  int128 point = static_cast<int128>(rng.uniform(static_cast<uint64_t>(total)));
  int128 segment_end = 0;
  for (size_t i = 0; i < fragment_rows.size(); ++i) {
    segment_end += remainders[i];
    if (point < segment_end) {
      ++quotas[i];
      point += total;
    }
  }
  return quotas;
}

std::vector<int64_t> fragment_sample_rows(uint64_t seed, int64_t fragment_id, int64_t num_rows,
                                          int64_t quota) {
  Rng rng(derive_seed(seed, kSeedFragmentRows, static_cast<uint64_t>(fragment_id)));
  return choose_sorted(rng, num_rows, quota);
}

namespace {

// Fragment indices (into `selected`) per worker.
std::vector<std::vector<size_t>> assign_fragments(const std::vector<const FragmentInfo*>& selected,
                                                  int num_workers, Assignment assignment) {
  std::vector<std::vector<size_t>> per_worker(static_cast<size_t>(num_workers));
  if (assignment == Assignment::kRoundRobin) {
    for (size_t i = 0; i < selected.size(); ++i) per_worker[i % num_workers].push_back(i);
  } else {
    // Longest processing time first: the largest fragment goes to the least loaded worker.
    std::vector<size_t> order(selected.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return selected[a]->num_rows > selected[b]->num_rows;
    });
    std::vector<int64_t> load(static_cast<size_t>(num_workers), 0);
    for (size_t i : order) {
      const size_t w =
          static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      per_worker[w].push_back(i);
      load[w] += selected[i]->num_rows;
    }
    for (auto& v : per_worker) std::sort(v.begin(), v.end());
  }
  return per_worker;
}

}  // namespace

Result<std::vector<SampleTask>> create_sample_tasks(const Dataset& dataset,
                                                    const TrainParams& params, int num_workers,
                                                    const std::vector<int64_t>& fragment_ids,
                                                    Assignment assignment) {
  IVF_RETURN_IF_ERROR(validate(params, dataset.dim()));
  if (num_workers < 1) {
    return Status::InvalidArgument(
        fmt::format("--workers must be at least 1 (got {})", num_workers));
  }
  std::vector<const FragmentInfo*> selected;
  if (fragment_ids.empty()) {
    for (const auto& f : dataset.fragments()) selected.push_back(&f);
  } else {
    std::vector<int64_t> ids = fragment_ids;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int64_t id : ids) {
      const FragmentInfo* f = dataset.find_fragment(id);
      if (!f) {
        return Status::NotFound(
            fmt::format("fragment {} is not in dataset {} (it has {} fragments, ids {}..{})", id,
                        dataset.path(), dataset.fragments().size(), dataset.fragments().front().id,
                        dataset.fragments().back().id));
      }
      selected.push_back(f);
    }
  }
  std::vector<int64_t> rows;
  for (const auto* f : selected) rows.push_back(f->num_rows);
  const int64_t available = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  const int64_t sample = std::min(sample_rows_wanted(params), available);
  const std::vector<int64_t> quotas = allocate_quotas(rows, sample, params.seed);

  // The plan id names this exact plan: dataset layout, parameters, workers and assignment.
  std::string identity =
      fmt::format("dim={};workers={};assign={};params={:016x};", dataset.dim(), num_workers,
                  static_cast<int>(assignment), params_fingerprint(params));
  for (const auto* f : selected) {
    identity += fmt::format("{}:{}:{}:{};", f->id, f->num_rows, f->path, f->first_row);
  }
  const std::string plan_id =
      fmt::format("{:016x}", XXH64(identity.data(), identity.size(), 0x1f7a11));

  std::vector<SampleTask> tasks(static_cast<size_t>(num_workers));
  const auto per_worker = assign_fragments(selected, num_workers, assignment);
  for (int w = 0; w < num_workers; ++w) {
    SampleTask& t = tasks[static_cast<size_t>(w)];
    t.plan_id = plan_id;
    t.worker = w;
    t.num_workers = num_workers;
    t.params = params;
    t.dim = dataset.dim();
    t.rows_available = available;
    t.sample_rows_planned = sample;
    t.fragments_in_plan = static_cast<int64_t>(selected.size());
    for (size_t i : per_worker[static_cast<size_t>(w)]) {
      t.fragments.push_back({selected[i]->id, selected[i]->num_rows, quotas[i]});
    }
  }
  return tasks;
}

}  // namespace ivftrain
