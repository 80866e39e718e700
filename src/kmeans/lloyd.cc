#include "kmeans/lloyd.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "kmeans/bounded_assign.h"
#include "kmeans/init.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "util/cancel.h"
#include "util/log.h"
#include "util/sampling.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {

double FullAssigner::assign(const float* centroids, int32_t* labels) {
  // The distances come from each row and its centroid alone (linalg/near_ties.h), whatever the
  // rows assigned with it, and their sum is exact: the objective does not depend on sharding.
  distances_.resize(static_cast<size_t>(n_));
  assign_nearest(n_, d_, x_, x_norms_, k_, centroids, metric_,
                 AssignOutput{labels, distances_.data()}, threads_);
  sum_ = ExactSum{};
  sum_.add(distances_.data(), n_);
  return sum_.value();
}

namespace {

// The assignment of a shard's rows, whose objective is that of all the shards' rows.
class ShardObjectiveAssigner final : public Assigner {
 public:
  ShardObjectiveAssigner(Assigner& inner, KMeansShard& shard) : inner_(inner), shard_(shard) {}
  double assign(const float* centroids, int32_t* labels) override {
    inner_.assign(centroids, labels);
    IVF_DCHECK(inner_.exact_objective() != nullptr, "a sharded assigner sums exactly");
    sum_ = *inner_.exact_objective();
    shard_.combine(sum_);
    return sum_.value();
  }
  int64_t rows_computed() const override { return inner_.rows_computed(); }
  int64_t rows_pruned() const override { return inner_.rows_pruned(); }
  const ExactSum* exact_objective() const override { return &sum_; }

 private:
  Assigner& inner_;
  KMeansShard& shard_;
  ExactSum sum_;
};

}  // namespace

bool converged(double prev, double objective, double tolerance) {
  if (prev == 0) return objective >= prev;
  return (prev - objective) / std::abs(prev) < tolerance;
}

std::vector<float> donor_centroids(int64_t d, const std::vector<int64_t>& donors,
                                   const float* centroids) {
  std::vector<float> out(donors.size() * static_cast<size_t>(d));
  for (size_t i = 0; i < donors.size(); ++i) {
    std::copy_n(centroids + donors[i] * d, d, out.data() + i * d);
  }
  return out;
}

int64_t lloyd_update(ClusterSums& sums, float* centroids, Rng& rng, const FarthestFn& farthest,
                     bool relocate, int num_threads) {
  const int64_t d = sums.d, k = sums.k;
  centroids_from_sums(sums, centroids);
  const std::vector<int64_t> donors = plan_splits(sums, centroids, relocate, num_threads);
  std::vector<float> toward;
  if (!donors.empty()) toward = farthest(donors, donor_centroids(d, donors, centroids).data());
  return split_empty_clusters(d, k, sums.first.data(), donors, toward.data(), &sums.identical,
                              &sums.counts, centroids, rng);
}

void combine_farthest(KMeansShard& shard, FarthestRows& far) {
  // Per donor: the distance's bits, the row, then the values two floats a word.
  const int64_t d = far.d, words_per_row = (d + 1) / 2;
  const auto m = static_cast<int64_t>(far.row.size());
  std::vector<int64_t> mine(static_cast<size_t>(m * (2 + words_per_row)), 0);
  for (int64_t i = 0; i < m; ++i) {
    int64_t* w = mine.data() + i * (2 + words_per_row);
    std::memcpy(w, &far.distance[i], sizeof(double));
    w[1] = far.row[i];
    std::memcpy(w + 2, far.values.data() + i * d, sizeof(float) * d);
  }
  const std::vector<std::vector<int64_t>> all = shard.all_gather(mine);
  for (const std::vector<int64_t>& theirs : all) {
    IVF_DCHECK(theirs.size() == mine.size(), "every shard offers a row per donor");
    FarthestRows other = far;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t* w = theirs.data() + i * (2 + words_per_row);
      std::memcpy(&other.distance[i], w, sizeof(double));
      other.row[i] = w[1];
      std::memcpy(other.values.data() + i * d, w + 2, sizeof(float) * d);
    }
    far.merge(other);
  }
}

bool lloyd_relocates(const LloydLoop& loop, int iter, const std::vector<KMeansIteration>& records) {
  if (!loop.relocate || iter + kRelocationLead >= loop.max_iters) return false;
  return records.empty() || records.back().empty_clusters_split > 0;
}

bool lloyd_stops(const LloydLoop& loop, int iter, int64_t split, double prev, double objective) {
  if (iter + 1 >= loop.max_iters) return true;
  return loop.tolerance > 0 && split == 0 && converged(prev, objective, loop.tolerance);
}

double run_lloyd(int64_t n, int64_t d, const float* x, int64_t k, const LloydLoop& loop,
                 Assigner& assigner, Rng& rng, float* centroids, int32_t* labels, double objective,
                 std::vector<KMeansIteration>* iterations, const KMeansLog& log_as) {
  const auto level = log_as.verbose ? spdlog::level::info : spdlog::level::debug;
  ClusterMembers members;
  // These rows' statistics and the labels they are of: each iteration moves only the rows whose
  // label changed (exact on the grid, so the bits of summing afresh).
  ClusterSums own;
  std::vector<int32_t> own_labels;
  for (int iter = 0; iter < loop.max_iters; ++iter) {
    const auto t0 = Clock::now();
    update_cluster_sums(n, d, x, k, loop.grid, loop.num_threads, loop.global_rows,
                        own_labels.data(), labels, &members, &own);
    own_labels.assign(labels, labels + n);
    ClusterSums sums = own;  // the update and the split change their copy
    if (loop.combine) loop.combine(sums);
    IVF_DCHECK(sums.k == k && sums.d == d, "the combined statistics must keep their shape");
    const int64_t split = lloyd_update(
        sums, centroids, rng,
        [&](const std::vector<int64_t>& donors, const float* c) {
          FarthestRows far = farthest_rows(n, d, x, labels, loop.global_rows, donors, c);
          if (loop.combine_farthest) loop.combine_farthest(far);
          return std::move(far.values);
        },
        lloyd_relocates(loop, iter, *iterations), loop.num_threads);
    const double prev = objective;
    const auto t_assign = Clock::now();
    objective = assigner.assign(centroids, labels);
    KMeansIteration& it =
        iterations->emplace_back(iteration_record(objective, t0, t_assign, split));
    it.rows_computed = assigner.rows_computed();
    it.rows_pruned = assigner.rows_pruned();
    logger().log(level,
                 "{}: {} {}: objective {:.6g}, {} empty clusters split, {} rows assigned in full "
                 "({} with dimension pruning) ({:.3f} s)",
                 log_as.label, loop.step, iter + 1, objective, split, assigner.rows_computed(),
                 it.rows_pruned, it.seconds);
    if (!iteration_done(log_as.label, iter + 1, objective)) break;  // cancelled: see kmeans.cc
    const bool stop = lloyd_stops(loop, iter, split, prev, objective);
    if (loop.after_iteration) loop.after_iteration(centroids, rng, objective, stop);
    if (stop) break;
  }
  return objective;
}

KMeansState checkpoint_state(const float* centroids, int64_t k, int64_t d, const Rng& rng,
                             double objective, const std::vector<KMeansIteration>& records,
                             bool last) {
  KMeansState state;
  state.centroids.assign(centroids, centroids + k * d);
  state.rng = rng.state();
  state.objective = objective;
  state.iterations = records;
  state.finished = last;
  return state;
}

void save_after_iterations(const KMeansCheckpoints* checkpoints, int64_t k, int64_t d,
                           const std::vector<KMeansIteration>& records, LloydLoop& loop) {
  if (!checkpoints || !checkpoints->save) return;
  loop.after_iteration = [checkpoints, k, d, &records](const float* c, const Rng& r,
                                                       double objective, bool last) {
    checkpoints->save(checkpoint_state(c, k, d, r, objective, records, last));
  };
}

void restore_state(const KMeansState& state, float* centroids, Rng& rng,
                   std::vector<KMeansIteration>& records) {
  std::copy(state.centroids.begin(), state.centroids.end(), centroids);
  rng = Rng::from_state(state.rng);
  records = state.iterations;
}

KMeansRun flat_kmeans(int64_t n, int64_t d, const float* x, int64_t k, const KMeansParams& params,
                      const KMeansLog& log_as, KMeansShard* shard,
                      const KMeansCheckpoints* checkpoints) {
  const auto start = Clock::now();
  const int threads = resolve_threads(params.num_threads);
  const std::string& label = log_as.label;
  auto& log = logger();
  const auto level = log_as.verbose ? spdlog::level::info : spdlog::level::debug;
  // Rows over all shards: what every decision below depends on, so that shards agree.
  const int64_t total = shard ? shard->total_rows() : n;

  KMeansRun run;
  KMeansResult& result = run.result;
  result.k = k;
  result.d = d;
  result.centroids.resize(static_cast<size_t>(k * d));
  std::vector<int32_t>& labels = run.labels;
  labels.resize(static_cast<size_t>(n));
  if (log_as.warn_few_rows && total < kMinRowsPerCentroid * k) {
    log.warn("{}: clustering {} rows into {} centroids; at least {} rows are recommended", label,
             total, k, kMinRowsPerCentroid * k);
  }
  if (total == k) {
    // Every row is its own centroid: the objective is 0 without iterating.
    if (shard) {
      std::vector<int64_t> all(static_cast<size_t>(k));
      for (int64_t i = 0; i < k; ++i) all[i] = i;
      shard->fetch_rows(all, d, x, result.centroids.data());
      for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(shard->global_rows()[i]);
    } else {
      std::memcpy(result.centroids.data(), x, sizeof(float) * n * d);
      for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(i);
    }
    log.log(level, "{}: {} rows for {} centroids: the rows are the centroids", label, total, k);
    return run;
  }

  Rng rng(params.seed);
  float* centroids = result.centroids.data();
  const KMeansState* resume = checkpoints ? checkpoints->resume : nullptr;
  if (resume) {
    // The state saved after an iteration: its centroids and random state, its records.
    IVF_DCHECK(resume->centroids.size() == result.centroids.size(), "a checkpoint of this run");
    restore_state(*resume, centroids, rng, result.iterations);
    log.log(level, "{}: resumed after iteration {}", label, resume->iterations.size());
  } else if (params.init == KMeansInit::kKMeansParallel) {
    // Its draws are the same from any split of the rows: sharded or not, the same centroids.
    init_kmeans_parallel(n, d, x, k, params.seed, rng, shard, centroids, threads);
  } else if (shard) {
    // The rows local training picks (init_random), fetched from the shards that hold them.
    IVF_DCHECK(params.init == KMeansInit::kRandom, "k-means++ needs every row in one place");
    shard->fetch_rows(choose_sorted(rng, total, k), d, x, centroids);
  } else if (params.init == KMeansInit::kKMeansPlusPlus) {
    init_kmeans_plus_plus(n, d, x, k, rng, centroids, threads);
  } else {
    init_random(n, d, x, k, rng, centroids);
  }

  std::vector<float> x_norms;
  if (params.metric == Metric::kL2) {
    x_norms.resize(static_cast<size_t>(n));
    row_norms_sqr(n, d, x, x_norms.data());
  }
  // Bounds skip the rows whose centroid cannot have changed (l2 and many centroids only, where
  // they pay with the kernels in use: BoundedAssigner::pays_here).
  std::optional<BoundedAssigner> bounded;
  std::optional<FullAssigner> full;
  if (params.metric == Metric::kL2 && BoundedAssigner::pays_here(k, d)) {
    bounded.emplace(n, d, x, x_norms.data(), k, threads);
  } else {
    full.emplace(n, d, x, x_norms.empty() ? nullptr : x_norms.data(), k, params.metric, threads);
  }
  Assigner& local = bounded ? static_cast<Assigner&>(*bounded) : *full;
  std::optional<ShardObjectiveAssigner> sharded;
  if (shard) sharded.emplace(local, *shard);
  Assigner& assigner = sharded ? static_cast<Assigner&>(*sharded) : local;
  double initial = assigner.assign(centroids, labels.data());
  log.debug("{}: initial objective {:.6g} ({:.3f} s)", label, initial, seconds_since(start));
  if (resume) {
    // The assignment gave the labels back; the objective is the one saved (the same value).
    initial = resume->objective;
    if (resume->finished) {
      result.objective = initial;
      return run;
    }
  }

  LloydLoop loop;
  loop.max_iters = params.max_iters;
  loop.tolerance = params.tolerance;
  loop.num_threads = threads;
  loop.relocate = params.relocate && params.metric == Metric::kL2;
  const float max_abs = max_abs_value(n, d, x);
  loop.grid = SumGrid::make(shard ? shard->max_over_shards(max_abs) : max_abs, total, d);
  if (shard) {
    loop.combine = [shard](ClusterSums& sums) { shard->combine(sums); };
    loop.combine_farthest = [shard](FarthestRows& far) { combine_farthest(*shard, far); };
    loop.global_rows = shard->global_rows();
  }
  if (resume) loop.max_iters -= static_cast<int>(resume->iterations.size());
  save_after_iterations(checkpoints, k, d, result.iterations, loop);
  result.objective = loop.max_iters > 0
                         ? run_lloyd(n, d, x, k, loop, assigner, rng, centroids, labels.data(),
                                     initial, &result.iterations, log_as)
                         : initial;
  log.log(level,
          "{}: k-means of {} x {} rows into {} centroids: {} iterations, objective {:.6g}, "
          "{:.2f} s",
          label, total, d, k, result.iterations.size(), result.objective, seconds_since(start));
  return run;
}

}  // namespace ivftrain
