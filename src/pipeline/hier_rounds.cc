// Hierarchical k-means in rounds (rounds.h, RoundStage): the steps of hierarchical_kmeans
// (kmeans/hierarchical.cc) as rounds of the file protocol, each deciding exactly as local
// training, so that the model is train_local's whatever the number of workers.
//
//   begin         the coarse k-means, on the coarse sample (at most 256 g rows) gathered where
//                 the rounds begin (first_hierarchical_round);
//   kGroups       each worker assigns its IVF rows to the coarse centroids: group sizes, the
//                 grid, the magnitude check; it keeps its rows' groups;
//   kCap          (only when a group is over the cap) each worker's capping records of its rows
//                 in over-full groups; the merge decides the moves as cap_cluster_sizes does;
//   kTrainGroups  the groups dealt to the workers (group_owners, as MPI deals them to ranks);
//                 each worker reads the rows of its groups from every worker's result and
//                 trains them as local training does; the merge puts the fine centroids
//                 together (and, after a capping, the coarse centroids become the capped
//                 groups' means);
//   kRefine       each worker assigns the rows of its groups against the neighbouring groups'
//                 centroids; the merge adds the groups' objectives in group order and updates
//                 the centroids from the exact sums. One round measures the groups' centroids,
//                 then one per refinement iteration.
#include "pipeline/hier_rounds.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "kmeans/cap_sizes.h"
#include "kmeans/hierarchical.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "train/train_on_sample.h"
#include "util/rng.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

int64_t group_count(const RoundState& st) {
  return static_cast<int64_t>(st.coarse.size()) / st.dim;
}

HierGroups groups_of_state(const RoundState& st, int num_workers, int worker, int threads) {
  return plan_groups(st.coarse, st.group_sizes, st.k, num_workers, worker, threads);
}

// The group of IVF row `ivf` whose group in round 0 was `group`: the capping may have moved it.
int32_t capped_group(const RoundState& st, int64_t ivf, int32_t group) {
  const auto it = std::lower_bound(st.moved_rows.begin(), st.moved_rows.end(), ivf);
  if (it == st.moved_rows.end() || *it != ivf) return group;
  return st.moved_to[static_cast<size_t>(it - st.moved_rows.begin())];
}

}  // namespace

Status bad_partial(const RoundState& st, int worker, const std::string& what) {
  return Status::FailedPrecondition(fmt::format(
      "the partial of worker {} holds {} for round {} of plan {}; rerun `ivftrain round` for "
      "worker {}",
      worker, what, st.round, st.plan_id, worker));
}

bool hierarchical_rounds(const TrainParams& p) {
  return p.ivf.kmeans.algorithm == KMeansAlgorithm::kHierarchical &&
         hierarchical_group_count(p.ivf.num_partitions) >= 2;
}

std::vector<int64_t> coarse_training_rows(const TrainParams& p, int64_t ivf_rows) {
  std::vector<int64_t> rows = coarse_sample_rows(
      ivf_rows, hierarchical_group_count(p.ivf.num_partitions), ivf_kmeans_params(p));
  if (rows.empty()) {
    rows.resize(static_cast<size_t>(ivf_rows));
    for (int64_t i = 0; i < ivf_rows; ++i) rows[i] = i;
  }
  return rows;
}

RoundState first_hierarchical_round(const std::string& plan_id, const TrainParams& p, int64_t dim,
                                    SampleLayout layout, const std::vector<float>& coarse_x) {
  RoundState s = first_round(plan_id, p, dim, std::move(layout), {}, {});
  s.stage = RoundStage::kGroups;
  KMeansLog log_as;
  log_as.label = "ivf";
  log_as.verbose = true;
  s.coarse =
      train_coarse(static_cast<int64_t>(coarse_x.size()) / dim, dim, coarse_x.data(),
                   hierarchical_group_count(p.ivf.num_partitions), ivf_kmeans_params(p), log_as);
  return s;
}

WorkerIvfRows ivf_rows_of_worker(const SampleLayout& layout, const std::vector<int64_t>& ivf_rows,
                                 int worker) {
  WorkerIvfRows out;
  int64_t start = 0, in_result = 0;  // the fragment's first canonical row, and in the result
  auto next = ivf_rows.begin();
  for (size_t f = 0; f < layout.fragment_ids.size(); ++f) {
    const int64_t rows = layout.fragment_rows[f];
    if (layout.workers[f] == worker) {
      // Fragments are in id order in the canonical sample and in the result: both walks go
      // forward.
      for (int64_t r = 0; r < rows; ++r) {
        next = std::lower_bound(next, ivf_rows.end(), start + r);
        if (next != ivf_rows.end() && *next == start + r) {
          out.ivf.push_back(next - ivf_rows.begin());
          out.result_rows.push_back(in_result + r);
        }
      }
      in_result += rows;
    }
    start += rows;
  }
  return out;
}

std::vector<int> group_owners(const RoundState& st, int num_workers) {
  return groups_of_state(st, num_workers, 0, 1).owner;
}

Result<HeldRowPlan> held_rows_plan(
    const RoundState& st, const TrainParams& p, int worker, int num_workers,
    const std::function<Result<std::vector<int32_t>>(int worker)>& groups_of) {
  const int64_t g = group_count(st);
  const std::vector<int> owner = group_owners(st, num_workers);
  const std::vector<int64_t> ivf_rows = ivf_training_rows(p, st.layout.rows());
  struct Entry {
    int64_t ivf;
    int32_t group;
    RowAddress at;
  };
  std::vector<Entry> entries;
  for (int v = 0; v < num_workers; ++v) {
    // One worker's rows and groups at a time.
    IVF_ASSIGN_OR_RETURN(std::vector<int32_t> groups, groups_of(v));
    const WorkerIvfRows rows = ivf_rows_of_worker(st.layout, ivf_rows, v);
    if (groups.size() != rows.ivf.size()) {
      return Status::FailedPrecondition(
          fmt::format("the groups of worker {}'s rows are {}, but its result holds {} IVF rows", v,
                      groups.size(), rows.ivf.size()));
    }
    for (size_t i = 0; i < groups.size(); ++i) {
      const int32_t group = capped_group(st, rows.ivf[i], groups[i]);
      if (group < 0 || group >= g) {
        return Status::FailedPrecondition(
            fmt::format("the groups of worker {}'s rows name group {} (of {})", v, group, g));
      }
      if (owner[group] == worker) entries.push_back({rows.ivf[i], group, {v, rows.result_rows[i]}});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.ivf < b.ivf; });
  HeldRowPlan plan;
  for (const Entry& e : entries) {
    plan.ivf_rows.push_back(e.ivf);
    plan.groups.push_back(e.group);
    plan.at.push_back(e.at);
  }
  return plan;
}

Result<RoundPartial> compute_held_partial(const RoundState& st, const TrainParams& p, int worker,
                                          int num_workers, const HeldRowPlan& plan,
                                          const std::vector<float>& vectors) {
  if (st.work_stage() != RoundStage::kTrainGroups && st.work_stage() != RoundStage::kRefine) {
    return Status::InvalidArgument(fmt::format(
        "round {} of plan {} is computed from the worker's own result, not from the rows of its "
        "groups",
        st.round, st.plan_id));
  }
  const int64_t d = st.dim, k = st.k, g = group_count(st);
  const auto n = static_cast<int64_t>(plan.ivf_rows.size());
  const KMeansParams kp = ivf_kmeans_params(p);
  const int threads = resolve_threads(kp.num_threads);
  const HierGroups groups = groups_of_state(st, num_workers, worker, threads);
  HeldRows held;
  held.n = n;
  held.x = vectors.data();
  held.global = plan.ivf_rows;
  if (plan.groups.size() != plan.ivf_rows.size() || vectors.size() != static_cast<size_t>(n * d)) {
    return Status::InvalidArgument("the rows held and their groups or values differ in number");
  }
  group_by_label(n, g, plan.groups.data(), &held.members);
  for (int64_t gi = 0; gi < g; ++gi) {
    const bool mine = groups.owner[gi] == worker;
    if (held.members.size(gi) != (mine ? groups.sizes[gi] : 0)) {
      return Status::FailedPrecondition(fmt::format(
          "worker {} holds {} rows of group {}, which has {} rows in round {} of plan {}", worker,
          held.members.size(gi), gi, groups.sizes[gi], st.round, st.plan_id));
    }
  }
  RoundPartial out = partial_header(st, worker);
  out.rows = n;
  const SumGrid grid = round_grid(st);
  if (st.work_stage() == RoundStage::kTrainGroups) {
    KMeansLog log_as;
    log_as.label = "ivf";
    std::vector<float> centroids(static_cast<size_t>(k * d));
    std::vector<int32_t> labels(static_cast<size_t>(n));
    train_groups(d, held, groups, kp, log_as, centroids.data(), labels.data());
    for (int64_t gi = 0; gi < g; ++gi) {
      if (groups.owner[gi] != worker) continue;
      out.fine.insert(out.fine.end(), centroids.begin() + groups.first[gi] * d,
                      centroids.begin() + groups.first[gi + 1] * d);
    }
    // After a capping the coarse centroids become the means of the capped groups: this worker
    // sums the rows of its groups, all of their rows.
    if (st.capped) {
      set_partial_sums(cluster_sums(d, held.x, g, held.members, grid, threads, held.global.data()),
                       out);
    }
    return out;
  }
  NeighbourGroupAssigner assigner(d, held, groups, kp.metric, threads, st.train_rows, nullptr);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  assigner.assign(st.centroids.data(), labels.data());
  out.group_objectives = assigner.group_objectives();
  ClusterMembers members;
  group_by_label(n, k, labels.data(), &members);
  set_partial_sums(cluster_sums(d, held.x, k, members, grid, threads, held.global.data()), out);
  set_partial_farthest(st, n, held.x, labels.data(), held.global.data(), out);
  return out;
}

Result<RoundPartial> hierarchical_shard_partial(RoundPartial out, const ShardIvfRows& mine,
                                                const RoundState& st, const TrainParams& p,
                                                std::vector<int32_t>* groups_out) {
  if (st.stage != RoundStage::kGroups && st.stage != RoundStage::kCap) {
    return Status::InvalidArgument(fmt::format(
        "round {} of plan {} trains or refines groups: it needs the rows of the worker's groups "
        "(compute_held_partial)",
        st.round, st.plan_id));
  }
  const int64_t d = st.dim, g = group_count(st), n = out.rows;
  const KMeansParams kp = ivf_kmeans_params(p);
  const int threads = resolve_threads(kp.num_threads);
  // As hierarchical_kmeans: the rows' groups (labels depend on the row alone).
  std::vector<int32_t> groups(static_cast<size_t>(n));
  if (n > 0) {
    assign_nearest(n, d, mine.x.data(), nullptr, g, st.coarse.data(), kp.metric,
                   AssignOutput{groups.data(), nullptr}, threads);
  }
  if (st.stage == RoundStage::kGroups) {
    out.max_abs = max_abs_value(n, d, mine.x.data());
    out.row_hashes = distinct_row_hashes(mine.x.data(), n, d, st.k);
    out.counts.assign(static_cast<size_t>(g), 0);
    for (int32_t l : groups) ++out.counts[l];
    if (groups_out) *groups_out = std::move(groups);
    return out;
  }
  out.cap_records = cap_records(n, d, mine.x.data(), g, st.coarse.data(), kp.metric, groups.data(),
                                st.group_sizes, st.capacity, mine.ivf.data(), threads);
  return out;
}

Result<RoundMerge> merge_hierarchical_round(const RoundState& st,
                                            const std::vector<RoundPartial>& partials,
                                            const TrainParams& p, int num_workers,
                                            const IvfRowsFetch& fetch) {
  const int64_t d = st.dim, k = st.k, g = group_count(st);
  const KMeansParams kp = ivf_kmeans_params(p);
  RoundMerge m;
  RoundState& next = m.next;
  switch (st.work_stage()) {
    case RoundStage::kGroups: {
      // The grid over every worker's IVF rows, the groups' sizes, and whether to cap them.
      double max_abs = 0;
      std::vector<int64_t> sizes(static_cast<size_t>(g), 0);
      for (int w = 0; w < num_workers; ++w) {
        const RoundPartial& part = partials[static_cast<size_t>(w)];
        if (static_cast<int64_t>(part.counts.size()) != g) {
          return bad_partial(st, w, fmt::format("{} group sizes, not {}", part.counts.size(), g));
        }
        max_abs = std::max(max_abs, part.max_abs);
        for (int64_t i = 0; i < g; ++i) sizes[i] += part.counts[i];
      }
      // Local training refuses fewer than k distinct IVF rows: the workers' distinct rows united.
      std::unordered_set<uint64_t> distinct;
      for (const RoundPartial& part : partials) {
        distinct.insert(part.row_hashes.begin(), part.row_hashes.end());
      }
      if (static_cast<int64_t>(distinct.size()) < k) {
        return Status::FailedPrecondition(fmt::format(
            "the sample holds only {} distinct vectors, fewer than num_partitions {}; lower it",
            distinct.size(), k));
      }
      int64_t rows = 0;
      for (int64_t s : sizes) rows += s;
      if (rows != st.train_rows) {
        return Status::FailedPrecondition(fmt::format(
            "the partials of round {} of plan {} group {} rows, not the {} IVF rows; rerun "
            "`ivftrain round` for every worker",
            st.round, st.plan_id, rows, st.train_rows));
      }
      next = st;
      next.round = st.round + 1;
      next.grid_step = SumGrid::make(max_abs, st.train_rows, st.dim).step;
      next.capacity = balance_capacity(st.train_rows, g, kHierCoarseBalance);
      next.stage = *std::max_element(sizes.begin(), sizes.end()) > next.capacity
                       ? RoundStage::kCap
                       : RoundStage::kTrainGroups;
      next.group_sizes = std::move(sizes);
      return m;
    }
    case RoundStage::kCap: {
      // The moves, decided from every worker's records as cap_cluster_sizes decides them.
      std::vector<std::vector<int64_t>> records;
      for (int w = 0; w < num_workers; ++w) {
        const RoundPartial& part = partials[static_cast<size_t>(w)];
        if (static_cast<int64_t>(part.cap_records.size()) % cap_record_words(g) != 0) {
          return bad_partial(st, w, "capping records that are not whole");
        }
        records.push_back(part.cap_records);
      }
      std::vector<int64_t> sizes = st.group_sizes;
      const CapFetch no_fetch = [](const std::vector<int64_t>&) -> Result<std::vector<float>> {
        return Status::Internal("the capping needs rows, and no way to read them was given");
      };
      IVF_ASSIGN_OR_RETURN(CapMoves moves,
                           decide_cap_moves(records, d, g, st.coarse.data(), kp.metric, st.capacity,
                                            &sizes, fetch ? fetch : no_fetch));
      next = st;
      next.round = st.round + 1;
      next.stage = RoundStage::kTrainGroups;
      next.group_sizes = std::move(sizes);
      next.capped = true;
      next.moved_rows = std::move(moves.rows);
      next.moved_to = std::move(moves.to);
      return m;
    }
    case RoundStage::kTrainGroups: {
      // Every group's fine centroids from its owner; the capped groups' coarse centroids.
      const HierGroups groups = groups_of_state(st, num_workers, 0, 1);
      std::vector<float> fine(static_cast<size_t>(k * d));
      for (int w = 0; w < num_workers; ++w) {
        const RoundPartial& part = partials[static_cast<size_t>(w)];
        size_t owned = 0;  // values of the worker's groups' centroids
        for (int64_t gi = 0; gi < g; ++gi) {
          if (groups.owner[gi] == w) owned += static_cast<size_t>(groups.share(gi) * d);
        }
        if (part.fine.size() != owned) {
          return bad_partial(
              st, w,
              fmt::format("{} centroid values, not its groups' {}", part.fine.size(), owned));
        }
        auto from = part.fine.begin();
        for (int64_t gi = 0; gi < g; ++gi) {
          if (groups.owner[gi] != w) continue;
          const int64_t values = groups.share(gi) * d;
          std::copy_n(from, values, fine.begin() + groups.first[gi] * d);
          from += values;
        }
      }
      std::vector<float> coarse = st.coarse;
      if (st.capped) {
        IVF_ASSIGN_OR_RETURN(ClusterSums total, merged_sums(st, partials, g));
        centroids_from_sums(total, coarse.data());
      }
      next = st;
      next.round = st.round + 1;
      next.stage = RoundStage::kRefine;
      next.centroids = std::move(fine);
      next.coarse = std::move(coarse);
      next.rng_state = Rng(derive_seed(kp.seed, kSeedRefine, 0)).state();
      next.split = 0;
      next.prev_objective = 0;
      next.iterations.clear();
      return m;
    }
    case RoundStage::kRefine:
    case RoundStage::kFlat:
    case RoundStage::kSeed:
    case RoundStage::kSplit: break;  // merged by RoundMerger, refine_merge and merge_seed_round
  }
  return Status::Internal("merge_hierarchical_round called for a flat or refinement round");
}

Result<RoundMerge> refine_merge(const RoundState& st, const TrainParams& p, ClusterSums& total,
                                double objective, const FarthestRows& far,
                                const IvfRowsFetch& fetch) {
  LloydLoop loop;
  loop.max_iters = kHierRefineIters;
  loop.tolerance = ivf_kmeans_params(p).tolerance;
  // The first kRefine round measures the groups' centroids (recorded, never a stop); round
  // j > 0 the centroids of refinement iteration j (index j - 1).
  const int j = static_cast<int>(st.iterations.size());
  return lloyd_merge(st, total, objective, loop, true, j - 1, far, fetch);
}

}  // namespace ivftrain
