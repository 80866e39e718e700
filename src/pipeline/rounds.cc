// Sharded IVF training in rounds (rounds.h): each worker's partial of a round, and their merge.
#include "ivftrain/rounds.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "kmeans/bounded_assign.h"
#include "kmeans/exact_sum.h"
#include "kmeans/init.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "pipeline/hier_rounds.h"
#include "pipeline/seed_rounds.h"
#include "train/train_on_sample.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// All rows 0..n-1 when `subset` is empty (a trainer taking the whole sample), else `subset`.
std::vector<int64_t> all_or(std::vector<int64_t> subset, int64_t n) {
  if (!subset.empty()) return subset;
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[i] = i;
  return all;
}

// The canonical row where each fragment of the layout starts.
std::vector<int64_t> fragment_starts(const SampleLayout& layout) {
  std::vector<int64_t> starts(layout.fragment_ids.size());
  int64_t at = 0;
  for (size_t f = 0; f < starts.size(); ++f) {
    starts[f] = at;
    at += layout.fragment_rows[f];
  }
  return starts;
}

LloydLoop ivf_loop(const TrainParams& params) {
  const KMeansParams kp = ivf_kmeans_params(params);
  LloydLoop loop;
  loop.max_iters = kp.max_iters;
  loop.tolerance = kp.tolerance;
  loop.num_threads = resolve_threads(kp.num_threads);
  loop.relocate = kp.relocate && kp.metric == Metric::kL2;  // as flat_kmeans
  return loop;
}

}  // namespace

int64_t SampleLayout::rows() const {
  int64_t n = 0;
  for (int64_t r : fragment_rows) n += r;
  return n;
}

Result<SampleLayout> sample_layout(const std::vector<SampleResult>& results) {
  struct Entry {
    int64_t fragment, rows;
    int32_t worker;
  };
  std::vector<Entry> entries;
  for (const SampleResult& r : results) {
    for (int64_t i = 0; i < r.size();) {
      int64_t j = i + 1;
      while (j < r.size() && r.fragment_ids[j] == r.fragment_ids[i]) ++j;
      entries.push_back({r.fragment_ids[i], j - i, r.worker});
      i = j;
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.fragment < b.fragment; });
  SampleLayout layout;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].fragment == entries[i - 1].fragment) {
      return Status::FailedPrecondition(fmt::format(
          "fragment {} was sampled by workers {} and {}; the results are not from one plan",
          entries[i].fragment, entries[i - 1].worker, entries[i].worker));
    }
    layout.fragment_ids.push_back(entries[i].fragment);
    layout.fragment_rows.push_back(entries[i].rows);
    layout.workers.push_back(entries[i].worker);
  }
  return layout;
}

uint64_t RoundState::fingerprint() const {
  XXH3_state_t* s = XXH3_createState();
  XXH3_64bits_reset(s);
  const int64_t header[3] = {round, k, dim};
  XXH3_64bits_update(s, header, sizeof header);
  XXH3_64bits_update(s, &grid_step, sizeof grid_step);
  XXH3_64bits_update(s, centroids.data(), centroids.size() * sizeof(float));
  if (stage != RoundStage::kFlat) {
    const int64_t hier[3] = {static_cast<int64_t>(stage), capacity, capped ? 1 : 0};
    XXH3_64bits_update(s, hier, sizeof hier);
    XXH3_64bits_update(s, coarse.data(), coarse.size() * sizeof(float));
    XXH3_64bits_update(s, group_sizes.data(), group_sizes.size() * sizeof(int64_t));
    XXH3_64bits_update(s, moved_rows.data(), moved_rows.size() * sizeof(int64_t));
    XXH3_64bits_update(s, moved_to.data(), moved_to.size() * sizeof(int32_t));
  }
  if (stage == RoundStage::kSeed) {
    XXH3_64bits_update(s, candidate_rows.data(), candidate_rows.size() * sizeof(int64_t));
    XXH3_64bits_update(s, seed_ends.data(), seed_ends.size() * sizeof(int64_t));
  }
  if (init_rounds != 0) XXH3_64bits_update(s, &init_rounds, sizeof init_rounds);
  if (stage == RoundStage::kSplit) {
    const int32_t split[2] = {static_cast<int32_t>(split_after), split_rounds};
    XXH3_64bits_update(s, split, sizeof split);
    XXH3_64bits_update(s, split_donors.data(), split_donors.size() * sizeof(int64_t));
    XXH3_64bits_update(s, split_centroids.data(), split_centroids.size() * sizeof(float));
  } else if (split_rounds != 0) {
    XXH3_64bits_update(s, &split_rounds, sizeof split_rounds);
  }
  const uint64_t h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}

std::string rounds_unsupported(const TrainParams& p) {
  const KMeansParams& kp = p.ivf.kmeans;
  if (hierarchical_rounds(p)) return kp.balance > 0 ? "balancing (--balance)" : "";
  if (kp.init == KMeansInit::kKMeansPlusPlus) return "k-means++ initialisation";
  if (kp.balance > 0) return "balancing (--balance)";
  return "";
}

std::vector<int64_t> ivf_training_rows(const TrainParams& p, int64_t sample_rows) {
  return all_or(training_subset(sample_rows, ivf_sample_rows(p), p.seed, kSeedIvfSubset),
                sample_rows);
}

std::vector<int64_t> pq_training_rows(const TrainParams& p, int64_t sample_rows) {
  return all_or(training_subset(sample_rows, quantizer_sample_rows(p), p.seed, kSeedPqSubset),
                sample_rows);
}

std::vector<RowAddress> locate_rows(const SampleLayout& layout,
                                    const std::vector<int64_t>& canonical_rows) {
  const std::vector<int64_t> starts = fragment_starts(layout);
  // Each worker's fragments in id order give the offset of a fragment inside its result.
  std::vector<int64_t> offset_in_result(starts.size());
  std::vector<int64_t> worker_rows;
  for (size_t f = 0; f < starts.size(); ++f) {
    const size_t w = static_cast<size_t>(layout.workers[f]);
    if (worker_rows.size() <= w) worker_rows.resize(w + 1, 0);
    offset_in_result[f] = worker_rows[w];
    worker_rows[w] += layout.fragment_rows[f];
  }
  std::vector<RowAddress> out;
  out.reserve(canonical_rows.size());
  for (int64_t row : canonical_rows) {
    const size_t f = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), row) -
                                         starts.begin() - 1);
    out.push_back({layout.workers[f], offset_in_result[f] + row - starts[f]});
  }
  return out;
}

InitialRows initial_centroid_rows(const TrainParams& p, int64_t sample_rows) {
  const std::vector<int64_t> train = ivf_training_rows(p, sample_rows);
  // As flat_kmeans: a generator seeded with the k-means seed, then init_random's draw (or
  // init_kmeans_parallel's first).
  Rng rng(ivf_kmeans_params(p).seed);
  const auto n = static_cast<int64_t>(train.size());
  const std::vector<int64_t> picks = p.ivf.kmeans.init == KMeansInit::kKMeansParallel
                                         ? std::vector<int64_t>{kmeans_parallel_first_row(n, rng)}
                                         : choose_sorted(rng, n, p.ivf.num_partitions);
  InitialRows out;
  for (int64_t i : picks) out.rows.push_back(train[static_cast<size_t>(i)]);
  out.rng_state = rng.state();
  return out;
}

RoundState first_round(const std::string& plan_id, const TrainParams& p, int64_t dim,
                       SampleLayout layout, std::vector<float> centroids,
                       const std::array<uint64_t, 4>& rng_state) {
  RoundState s;
  s.plan_id = plan_id;
  s.params_hash = params_fingerprint(p);
  s.k = p.ivf.num_partitions;
  s.dim = dim;
  s.train_rows = static_cast<int64_t>(ivf_training_rows(p, layout.rows()).size());
  s.layout = std::move(layout);
  s.centroids = std::move(centroids);
  s.rng_state = rng_state;
  if (p.ivf.kmeans.init == KMeansInit::kKMeansParallel && !hierarchical_rounds(p)) {
    Rng rng(ivf_kmeans_params(p).seed);
    s.stage = RoundStage::kSeed;
    s.candidate_rows = {kmeans_parallel_first_row(s.train_rows, rng)};
    s.seed_ends = {1};
  }
  return s;
}

bool rounds_use_bounds(const TrainParams& p, int64_t dim) {
  return ivf_kmeans_params(p).metric == Metric::kL2 &&
         BoundedAssigner::worthwhile(p.ivf.num_partitions, dim);
}

Result<ShardIvfRows> shard_ivf_rows(const SampleResult& shard, const RoundState& st,
                                    const TrainParams& p) {
  if (shard.plan_id != st.plan_id || shard.params_hash != st.params_hash || shard.dim != st.dim) {
    return Status::FailedPrecondition(fmt::format(
        "the sample result of worker {} belongs to another plan than the rounds' (plan {}); "
        "rerun `ivftrain sample` for worker {}",
        shard.worker, st.plan_id, shard.worker));
  }
  const int64_t d = st.dim;
  const SampleLayout& layout = st.layout;
  const std::vector<int64_t> starts = fragment_starts(layout);
  const std::vector<int64_t> train = ivf_training_rows(p, layout.rows());
  // The shard's rows that are IVF training rows, found by their canonical row: fragments are in
  // id order both in the shard and in the canonical sample, so both walks go forward.
  ShardIvfRows mine;
  auto next_train = train.begin();
  for (int64_t i = 0; i < shard.size();) {
    const int64_t fragment = shard.fragment_ids[i];
    int64_t j = i + 1;
    while (j < shard.size() && shard.fragment_ids[j] == fragment) ++j;
    const auto it =
        std::lower_bound(layout.fragment_ids.begin(), layout.fragment_ids.end(), fragment);
    const size_t f = static_cast<size_t>(it - layout.fragment_ids.begin());
    if (it == layout.fragment_ids.end() || *it != fragment || layout.workers[f] != shard.worker ||
        layout.fragment_rows[f] != j - i) {
      return Status::FailedPrecondition(fmt::format(
          "the sample result of worker {} does not match the rounds' layout at fragment {} (it "
          "changed since the rounds began); rerun `ivftrain sample` for worker {} and start the "
          "rounds again",
          shard.worker, fragment, shard.worker));
    }
    for (int64_t r = i; r < j; ++r) {
      const int64_t canonical = starts[f] + (r - i);
      next_train = std::lower_bound(next_train, train.end(), canonical);
      if (next_train != train.end() && *next_train == canonical) {
        mine.rows.push_back(r);
        mine.ivf.push_back(next_train - train.begin());
      }
    }
    i = j;
  }
  const auto n = static_cast<int64_t>(mine.rows.size());
  mine.x.resize(static_cast<size_t>(n * d));
  gather_rows(d, shard.vectors.data(), mine.rows.data(), n, mine.x.data());
  return mine;
}

RoundPartial shard_partial_header(const SampleResult& shard, const ShardIvfRows& mine,
                                  const RoundState& st) {
  RoundPartial out = partial_header(st, shard.worker);
  out.rows = static_cast<int64_t>(mine.rows.size());
  // The magnitude check of train_on_sample looks at every sample row.
  for (int64_t i = 0; i < shard.size(); ++i) {
    const float* r = shard.vectors.data() + i * st.dim;
    double n2 = 0;
    for (int64_t j = 0; j < st.dim; ++j) n2 += static_cast<double>(r[j]) * r[j];
    out.max_norm2 = std::max(out.max_norm2, n2);
  }
  return out;
}

RoundPartial partial_header(const RoundState& st, int worker) {
  RoundPartial out;
  out.plan_id = st.plan_id;
  out.worker = worker;
  out.round = st.round;
  out.stage = st.stage;
  out.centroids_fingerprint = st.fingerprint();
  out.k = st.k;
  out.dim = st.dim;
  return out;
}

Result<RoundPartial> compute_round_partial(const SampleResult& shard, const RoundState& st,
                                           const TrainParams& p, const WorkerBounds* bounds_in,
                                           WorkerBounds* bounds_out,
                                           std::vector<int32_t>* groups_out) {
  if (st.stage == RoundStage::kSeed) return compute_seed_partial(shard, st, p, nullptr, nullptr);
  IVF_ASSIGN_OR_RETURN(ShardIvfRows mine, shard_ivf_rows(shard, st, p));
  const int64_t d = st.dim, k = st.k;
  RoundPartial out = shard_partial_header(shard, mine, st);
  if (st.work_stage() != RoundStage::kFlat) {
    return hierarchical_shard_partial(std::move(out), mine, st, p, groups_out);
  }
  const std::vector<float>& x = mine.x;
  const std::vector<int64_t>& mine_in_train = mine.ivf;
  if (st.grid_step == 0) {
    // Round 0, the scan: the grid of the sums needs the largest value over every worker's rows.
    out.max_abs = max_abs_value(out.rows, d, x.data());
    return out;
  }
  const KMeansParams kp = ivf_kmeans_params(p);
  const int threads = resolve_threads(kp.num_threads);
  std::vector<float> norms;
  if (kp.metric == Metric::kL2) {
    norms.resize(static_cast<size_t>(out.rows));
    row_norms_sqr(out.rows, d, x.data(), norms.data());
  }
  std::vector<int32_t> labels(static_cast<size_t>(out.rows));
  ExactSum objective;
  if (rounds_use_bounds(p, d)) {
    // As flat_kmeans: bounds skip the rows whose centroid cannot have changed, and a skipped
    // row's distance is computed as BoundedAssigner computes it; the bounds of the worker's
    // previous round continue here.
    BoundedAssigner bounded(out.rows, d, x.data(), norms.data(), k, threads);
    if (st.lloyd_round() > 1) {
      if (bounds_in == nullptr || bounds_in->round != st.round - 1 ||
          bounds_in->labels.size() != labels.size() || bounds_in->lower.size() != labels.size() ||
          bounds_in->dist.size() != labels.size() ||
          bounds_in->previous.size() != st.centroids.size()) {
        return Status::FailedPrecondition(
            fmt::format("worker {} has no bounds of round {} to continue round {} from",
                        shard.worker, st.round - 1, st.round));
      }
      labels = bounds_in->labels;
      bounded.restore({bounds_in->previous, bounds_in->lower, bounds_in->dist});
    }
    if (out.rows > 0) bounded.assign(st.centroids.data(), labels.data());
    objective = *bounded.exact_objective();
    if (bounds_out != nullptr) {
      BoundedAssigner::State saved = bounded.state();
      bounds_out->round = st.round;
      bounds_out->centroids_fingerprint = st.fingerprint();
      bounds_out->labels = labels;
      bounds_out->lower = std::move(saved.lower);
      bounds_out->dist = std::move(saved.dist);
      bounds_out->previous = st.centroids;
    }
  } else {
    // Every row assigned in full, as FullAssigner does, and its distance summed exactly.
    std::vector<float> distances(labels.size());
    if (out.rows > 0) {
      assign_nearest(out.rows, d, x.data(), norms.empty() ? nullptr : norms.data(), k,
                     st.centroids.data(), kp.metric, AssignOutput{labels.data(), distances.data()},
                     threads);
    }
    objective.add(distances.data(), out.rows);
  }
  out.objective = objective.value();
  out.objective_bins.assign(objective.bins.begin(), objective.bins.end());
  ClusterMembers members;
  group_by_label(out.rows, k, labels.data(), &members);
  set_partial_sums(
      cluster_sums(d, x.data(), k, members, round_grid(st), threads, mine_in_train.data()), out);
  set_partial_farthest(st, out.rows, x.data(), labels.data(), mine_in_train.data(), out);
  return out;
}

void set_partial_farthest(const RoundState& st, int64_t n, const float* x, const int32_t* labels,
                          const int64_t* ivf_rows, RoundPartial& out) {
  if (st.stage != RoundStage::kSplit) return;
  FarthestRows far =
      farthest_rows(n, st.dim, x, labels, ivf_rows, st.split_donors, st.split_centroids.data());
  out.far_rows = std::move(far.row);
  out.far_dist = std::move(far.distance);
}

FarthestRows no_farthest_rows(const RoundState& st) {
  FarthestRows far;
  far.d = st.dim;
  far.distance.assign(st.split_donors.size(), -1.0);
  far.row.assign(st.split_donors.size(), std::numeric_limits<int64_t>::max());
  return far;
}

Status add_farthest_offer(const RoundState& st, int w, const RoundPartial& part,
                          FarthestRows& far) {
  const size_t m = st.split_donors.size();
  if (part.far_rows.size() != m || part.far_dist.size() != m) {
    return Status::FailedPrecondition(fmt::format(
        "the partial of worker {} holds no farthest row of each of the {} clusters split in "
        "round {} of plan {}; rerun `ivftrain round` for worker {}",
        w, m, st.round, st.plan_id, w));
  }
  // Merged without their values (read once the round is merged): the farther row, the lower
  // index on a tie.
  FarthestRows offer;
  offer.d = st.dim;
  offer.distance = part.far_dist;
  offer.row = part.far_rows;
  far.merge(offer);
  return Status::OK();
}

Result<std::vector<float>> read_farthest_rows(const RoundState& st, const FarthestRows& far,
                                              const IvfRowsFetch& fetch) {
  const size_t m = st.split_donors.size();
  const std::vector<int64_t>& rows = far.row;
  for (size_t i = 0; i < m; ++i) {
    if (rows[i] < 0 || rows[i] >= st.train_rows) {
      return Status::FailedPrecondition(fmt::format(
          "no worker's partial of round {} of plan {} names a row of cluster {}, which the "
          "round splits; rerun `ivftrain round` for every worker",
          st.round, st.plan_id, st.split_donors[i]));
    }
  }
  if (!fetch) return Status::InvalidArgument("the merge of a split round reads rows: give fetch");
  IVF_ASSIGN_OR_RETURN(std::vector<float> values, fetch(rows));
  if (values.size() != m * static_cast<size_t>(st.dim)) {
    return Status::Internal(fmt::format("{} values read for the {} rows of split round {}",
                                        values.size(), m, st.round));
  }
  return values;
}

SumGrid round_grid(const RoundState& st) {
  return SumGrid::of_step(st.grid_step, st.train_rows, st.dim);
}

void set_partial_sums(ClusterSums sums, RoundPartial& out) {
  out.grid_step = sums.grid.step;
  out.sums = std::move(sums.sums);
  out.norms = std::move(sums.norms);
  out.counts = std::move(sums.counts);
  out.identical = std::move(sums.identical);
  out.first = std::move(sums.first);
  out.first_row = std::move(sums.first_row);
}

Result<ClusterSums> partial_sums(const RoundState& st, int worker, int64_t clusters,
                                 RoundPartial& part) {
  const auto c = static_cast<size_t>(clusters), cd = static_cast<size_t>(clusters * st.dim);
  if (part.grid_step != st.grid_step || part.sums.size() != cd || part.norms.size() != c ||
      part.counts.size() != c || part.identical.size() != c || part.first.size() != cd ||
      part.first_row.size() != c) {
    return Status::FailedPrecondition(fmt::format(
        "the partial of worker {} was computed on another grid or shape than round {}'s of "
        "plan {}; rerun `ivftrain round` for worker {}",
        worker, st.round, st.plan_id, worker));
  }
  ClusterSums s;
  s.k = clusters;
  s.d = part.dim;
  s.grid = round_grid(st);
  s.sums = std::move(part.sums);
  s.norms = std::move(part.norms);
  s.counts = std::move(part.counts);
  s.identical = std::move(part.identical);
  s.first = std::move(part.first);
  s.first_row = std::move(part.first_row);
  return s;
}

Result<ClusterSums> merged_sums(const RoundState& st, const std::vector<RoundPartial>& partials,
                                int64_t clusters) {
  ClusterSums total;
  for (size_t w = 0; w < partials.size(); ++w) {
    RoundPartial part = partials[w];
    IVF_ASSIGN_OR_RETURN(ClusterSums s, partial_sums(st, static_cast<int>(w), clusters, part));
    if (w == 0) {
      total = std::move(s);
    } else {
      total.merge(s);
    }
  }
  return total;
}

Result<RoundMerge> lloyd_merge(const RoundState& st, ClusterSums& total, double objective,
                               const LloydLoop& loop, bool record, int iter,
                               const FarthestRows& far, const IvfRowsFetch& fetch) {
  RoundMerge m;
  std::vector<KMeansIteration> iterations = st.iterations;
  if (record) {
    KMeansIteration& it = iterations.emplace_back();
    it.objective = objective;
    it.empty_clusters_split = st.split;
    it.rows_computed = st.train_rows;
    if (iter >= 0 && lloyd_stops(loop, iter, st.split, st.prev_objective, objective)) {
      m.finished = true;
      m.result.k = st.k;
      m.result.d = st.dim;
      m.result.centroids = st.centroids;
      m.result.iterations = std::move(iterations);
      m.result.objective = objective;
      return m;
    }
  }
  RoundState& next = m.next;
  next = st;
  next.round = st.round + 1;
  // lloyd_update's steps, with the farthest rows from the workers.
  const int64_t d = st.dim, k = st.k;
  std::vector<float> means = st.centroids;
  centroids_from_sums(total, means.data());
  const std::vector<int64_t> donors = plan_splits(
      total, means.data(), lloyd_relocates(loop, iter + 1, iterations), loop.num_threads);
  std::vector<float> toward;
  if (st.stage == RoundStage::kSplit) {
    if (donors != st.split_donors) {
      return Status::FailedPrecondition(fmt::format(
          "the partials of split round {} of plan {} give other statistics than the round they "
          "repeat; rerun `ivftrain round` for every worker",
          st.round, st.plan_id));
    }
    IVF_ASSIGN_OR_RETURN(toward, read_farthest_rows(st, far, fetch));
  } else if (!donors.empty()) {
    // Only the workers see the rows: a round of their own finds the farthest (kSplit). The
    // state is this round's again (its centroids, generator and records), which the workers
    // assign again.
    next.split_after = st.stage;
    next.stage = RoundStage::kSplit;
    next.split_donors = donors;
    next.split_centroids = donor_centroids(d, donors, means.data());
    next.split_rounds = st.split_rounds + 1;
    return m;
  }
  next.centroids = std::move(means);
  Rng rng = Rng::from_state(st.rng_state);
  next.split = split_empty_clusters(d, k, total.first.data(), donors, toward.data(),
                                    &total.identical, &total.counts, next.centroids.data(), rng);
  next.rng_state = rng.state();
  next.stage = st.work_stage();
  next.split_after = RoundStage::kFlat;
  next.split_donors.clear();
  next.split_centroids.clear();
  next.prev_objective = objective;
  next.iterations = std::move(iterations);
  return m;
}

Result<RoundMerge> merge_round(const RoundState& st, const std::vector<RoundPartial>& partials,
                               const TrainParams& p, int num_workers, const IvfRowsFetch& fetch) {
  if (static_cast<int>(partials.size()) != num_workers) {
    return Status::FailedPrecondition(fmt::format("round {} has {} partials for {} workers",
                                                  st.round, partials.size(), num_workers));
  }
  RoundMerger merger(st, p, num_workers);
  for (const RoundPartial& part : partials) IVF_RETURN_IF_ERROR(merger.add(part));
  return merger.finish(fetch);
}

// The running totals of a streamed round.
struct RoundMerger::Sums {
  ClusterSums total;
  ExactSum objective;
  FarthestRows far;  // a split round's offers (no_farthest_rows otherwise)
};

// A split round repeats a flat or refinement round (work_stage) and is streamed as it is.
RoundMerger::RoundMerger(const RoundState& st, const TrainParams& p, int num_workers)
    : state_(st), params_(p), num_workers_(num_workers), fingerprint_(st.fingerprint()),
      streamed_((st.work_stage() == RoundStage::kFlat && st.grid_step != 0) ||
                st.work_stage() == RoundStage::kRefine),
      sums_(std::make_unique<Sums>()) {
  sums_->far = no_farthest_rows(st);
  if (st.work_stage() == RoundStage::kRefine) {
    owner_ = group_owners(st, num_workers);
    group_objectives_.assign(owner_.size(), 0.0);
  }
}

RoundMerger::~RoundMerger() = default;

Status RoundMerger::add(RoundPartial part) {
  IVF_RETURN_IF_ERROR(status_);
  const RoundState& st = state_;
  const int w = added_;
  const auto refuse = [&](Status why) {
    status_ = std::move(why);
    return status_;
  };
  if (w >= num_workers_) {
    return refuse(Status::FailedPrecondition(
        fmt::format("round {} has more partials than its {} workers", st.round, num_workers_)));
  }
  if (part.worker != w || part.plan_id != st.plan_id || part.round != st.round ||
      part.stage != st.stage || part.centroids_fingerprint != fingerprint_ || part.k != st.k ||
      part.dim != st.dim) {
    return refuse(Status::FailedPrecondition(fmt::format(
        "the partial of worker {} was computed against other centroids than round {}'s of "
        "plan {}; rerun `ivftrain round` for worker {}",
        w, st.round, st.plan_id, w)));
  }
  if (!streamed_) {
    kept_.push_back(std::move(part));
    ++added_;
    return Status::OK();
  }
  if (st.stage == RoundStage::kSplit) {
    if (Status offer = add_farthest_offer(st, w, part, sums_->far); !offer.ok()) {
      return refuse(std::move(offer));
    }
  }
  if (st.work_stage() == RoundStage::kRefine) {
    // Each group's objective comes from its owner, added in group order in finish().
    if (part.group_objectives.size() != group_objectives_.size()) {
      return refuse(bad_partial(st, w, "no objective per group"));
    }
    for (size_t gi = 0; gi < owner_.size(); ++gi) {
      if (owner_[gi] == w) group_objectives_[gi] = part.group_objectives[gi];
    }
  } else if (Status st_obj = add_partial_objective(st, w, part, sums_->objective); !st_obj.ok()) {
    return refuse(std::move(st_obj));
  }
  Result<ClusterSums> s = partial_sums(st, w, st.k, part);
  if (!s.ok()) return refuse(s.status());
  if (w == 0) {
    sums_->total = std::move(*s);
  } else {
    sums_->total.merge(*s);
  }
  ++added_;
  return Status::OK();
}

Result<RoundMerge> RoundMerger::finish(const IvfRowsFetch& fetch) {
  IVF_RETURN_IF_ERROR(status_);
  const RoundState& st = state_;
  if (added_ != num_workers_) {
    return Status::FailedPrecondition(
        fmt::format("round {} has {} partials for {} workers", st.round, added_, num_workers_));
  }
  if (st.stage == RoundStage::kSeed) return merge_seed_round(st, kept_, params_, fetch);
  switch (st.work_stage()) {
    case RoundStage::kRefine: {
      double objective = 0;
      for (double o : group_objectives_) objective += o;
      return refine_merge(st, params_, sums_->total, objective, sums_->far, fetch);
    }
    case RoundStage::kFlat: break;
    default: return merge_hierarchical_round(st, kept_, params_, num_workers_, fetch);
  }
  if (st.grid_step == 0) {
    // The scan: the grid over every worker's IVF rows, as flat_kmeans makes it over its x.
    RoundMerge m;
    double max_abs = 0;
    for (const RoundPartial& part : kept_) max_abs = std::max(max_abs, part.max_abs);
    m.next = st;
    m.next.round = st.round + 1;
    m.next.grid_step = SumGrid::make(max_abs, st.train_rows, st.dim).step;
    return m;
  }
  // Round r > 1 measures the centroids of Lloyd iteration r - 1 (index r - 2); round 1 the
  // initial centroids, whose objective is not recorded (r counted from the flat rounds' start).
  const int r = st.lloyd_round();
  return lloyd_merge(st, sums_->total, sums_->objective.value(), ivf_loop(params_), r > 1, r - 2,
                     sums_->far, fetch);
}

Status add_partial_objective(const RoundState& st, int worker, const RoundPartial& part,
                             ExactSum& total) {
  if (part.objective_bins.size() != total.bins.size()) {
    return Status::FailedPrecondition(fmt::format(
        "the partial of worker {} holds no objective of round {} of plan {}; rerun `ivftrain "
        "round` for worker {}",
        worker, st.round, st.plan_id, worker));
  }
  ExactSum e;
  std::copy(part.objective_bins.begin(), part.objective_bins.end(), e.bins.begin());
  total.merge(e);
  return Status::OK();
}

Result<ExactSum> merged_objective(const RoundState& st, const std::vector<RoundPartial>& partials) {
  ExactSum exact;
  for (size_t w = 0; w < partials.size(); ++w) {
    IVF_RETURN_IF_ERROR(add_partial_objective(st, static_cast<int>(w), partials[w], exact));
  }
  return exact;
}

Result<TrainedModels> finish_rounds(const std::vector<SampleResult>& results, const TrainParams& p,
                                    KMeansResult ivf, int64_t ivf_train_rows,
                                    std::vector<float> pq_rows) {
  if (results.empty()) return Status::InvalidArgument("no sample results were given");
  TrainedModels models;
  models.params = p;
  models.dim = results.front().dim;
  SqBounds bounds = SqBounds::empty(p.sq.bounds, models.dim);
  for (const SampleResult& r : results) {
    models.stats.rows_read += r.rows_read;
    models.stats.rows_dropped_nonfinite += r.rows_dropped_nonfinite;
    models.stats.rows_dropped_zero_norm += r.rows_dropped_zero_norm;
    models.stats.sample_rows += r.size();
    bounds.merge(r.sq_bounds);
  }
  models.stats.rows_available = results.front().rows_available;
  models.stats.sample_rows_planned = results.front().sample_rows_planned;
  models.stats.fragments_used = results.front().fragments_in_plan;
  models.ivf_centroids = std::move(ivf.centroids);
  models.stats.ivf_train_rows = ivf_train_rows;
  models.stats.ivf_iterations = std::move(ivf.iterations);
  models.stats.ivf_objective = ivf.objective;
  if (p.index_type == IndexType::kIvfPq) {
    IVF_RETURN_IF_ERROR(train_pq_on_rows(std::move(pq_rows), models));
  } else if (p.index_type == IndexType::kIvfSq) {
    models.stats.quantizer_train_rows = models.stats.sample_rows;
    models.sq = std::move(bounds);
  }
  IVF_RETURN_IF_ERROR(check_models_finite(models));
  return models;
}

}  // namespace ivftrain
