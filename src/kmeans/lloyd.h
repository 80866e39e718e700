// The one Lloyd loop, and the building blocks kmeans_train combines around it: flat and
// hierarchical k-means. Each returns the centroids together with the labels of its last
// assignment, so that the next stage (balancing, or the refinement of hierarchical k-means)
// need not assign again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ivftrain/kmeans.h"
#include "kmeans/assigner.h"
#include "kmeans/shard.h"
#include "kmeans/update.h"
#include "util/clock.h"
#include "util/rng.h"

namespace ivftrain {

// FAISS warns below 39 rows per centroid: fewer make the centroids noisy.
inline constexpr int64_t kMinRowsPerCentroid = 39;

// How a k-means run names itself in the log: the library's own callers (IVF, each PQ
// sub-space, the groups of hierarchical k-means) say more than a user's kmeans_train call.
struct KMeansLog {
  std::string label = "kmeans";  // names the run in log lines ("ivf", "pq[3]")
  // Every iteration and the summary at info level (IVF); otherwise at debug level, so that
  // PQ's many sub-space runs stay quiet unless asked for.
  bool verbose = false;
  // Warn when there are fewer than 39 rows per centroid (FAISS's threshold). PQ warns once for
  // all its sub-spaces instead.
  bool warn_few_rows = true;
};

// kmeans_train with the run named for the log. With `nearest`, also each row's nearest final
// centroid (the lowest index on a tie, as kmeans_assign gives it) when the run's last step
// computed it (flat k-means without balancing ends with the assignment of its final centroids),
// and empty otherwise: IVF_PQ's residuals then need no assignment of their own.
Result<KMeansResult> kmeans_train_logged(int64_t n, int64_t d, const float* x, int64_t k,
                                         const KMeansParams& params, const KMeansLog& log_as,
                                         std::vector<int32_t>* nearest = nullptr);

struct KMeansRun {
  KMeansResult result;
  std::vector<int32_t> labels;  // n: each row's centroid in the last assignment
};

// The record of one iteration that started at `start` and whose assignment (the one that gave
// `objective`) started at `assign_start`.
inline KMeansIteration iteration_record(double objective, Clock::time_point start,
                                        Clock::time_point assign_start, int64_t split) {
  KMeansIteration it;
  it.objective = objective;
  it.assign_seconds = seconds_since(assign_start);
  it.seconds = seconds_since(start);
  it.empty_clusters_split = split;
  return it;
}

// One run of the loop.
struct LloydLoop {
  int max_iters = 50;
  double tolerance = 1e-4;  // see KMeansParams::tolerance
  int num_threads = 0;
  std::string_view step = "iteration";  // what the log calls one pass
  // The grid of the exact sums (SumGrid::make over all the rows the run clusters, every shard's)
  // and, when the rows are a shard, each row's index over all shards (see cluster_sums).
  SumGrid grid;
  const int64_t* global_rows = nullptr;
  // Called after every iteration (checkpoints), `last` when the loop stops after it.
  std::function<void(const float* centroids, const Rng& rng, double objective, bool last)>
      after_iteration;
  // Combines these rows' statistics with those of the rows other workers hold, before the
  // update: where sharded training plugs in its reduction (its assigner then returns the
  // objective over all rows). Not set: the rows given are all the rows.
  std::function<void(ClusterSums&)> combine;
  // Combines these rows' farthest rows of the split donors with those of the other workers'
  // rows (combine_farthest below), when an update splits a cluster. Not set: all the rows.
  std::function<void(FarthestRows&)> combine_farthest;
  // Whether updates may relocate centroids (plan_splits, lloyd_relocates): flat k-means, not the
  // refinement of hierarchical k-means, whose k^2 d merge costs would weigh on its many
  // centroids and whose groups were trained with relocation.
  bool relocate = false;
};

// Relocation needs this many iterations after the update that relocates, for the split halves
// to move apart and settle: an update later in the run only refills empty clusters.
inline constexpr int kRelocationLead = 3;

// Whether the update of iteration `iter` (0-based, of loop.max_iters) relocates centroids: when
// the loop relocates, kRelocationLead iterations follow, and it is the run's first update or the
// one before split a cluster (`records`: the run's iterations so far; their splits count the
// relocated centroids): once an update finds nothing worth moving, the k^2 d merge costs are not
// computed again unless a cluster empties. A function of the iteration and the records, so a
// resumed run and the file protocol's rounds decide as the uninterrupted loop.
bool lloyd_relocates(const LloydLoop& loop, int iter, const std::vector<KMeansIteration>& records);

// Merges every shard's `far` (FarthestRows::merge), on every shard: one all_gather of each
// shard's candidates (their distances, rows and values), so that it also serves rows that
// moved between shards (hierarchical k-means' refinement).
void combine_farthest(KMeansShard& shard, FarthestRows& far);

// The rows the update's splits step towards: for each donor, the row of its cluster farthest
// from `donor_centroids` (donors.size() x d, the donors' new centroids), as donors.size() x d
// values (farthest_rows, over all the rows).
using FarthestFn = std::function<std::vector<float>(const std::vector<int64_t>& donors,
                                                    const float* donor_centroids)>;

// Lance's stop rule: the objective improved by less than `tolerance`, relative (or rose, or
// did not change). The magnitude of prev is used because inner-product objectives are negative.
bool converged(double prev, double objective, double tolerance);

// The update of one Lloyd iteration from the statistics of an assignment: the means, then empty
// clusters split and, with `relocate`, centroids relocated (plan_splits; `farthest` asked for the
// donors' farthest rows, only when there are donors; drawing from `rng`). Returns the number of
// clusters split. The loop below and the file protocol's rounds (pipeline/rounds.cc, which ask the
// workers for the farthest rows in a round of their own) decide alike.
int64_t lloyd_update(ClusterSums& sums, float* centroids, Rng& rng, const FarthestFn& farthest,
                     bool relocate = false, int num_threads = 1);

// The donors' centroids, donors.size() x d, out of the k x d `centroids`.
std::vector<float> donor_centroids(int64_t d, const std::vector<int64_t>& donors,
                                   const float* centroids);

// Whether the loop stops after iteration `iter` (0-based) whose update split `split` clusters
// and whose assignment measured `objective` (`prev` the one before).
bool lloyd_stops(const LloydLoop& loop, int iter, int64_t split, double prev, double objective);

// Lloyd iterations from `centroids` (k x d, updated in place) and `labels`, the assignment of
// those centroids whose objective is `objective`. Each iteration: the statistics of the
// assignment, the update (means, then empty clusters split), then the assignment of the new
// centroids, which measures them; the loop stops after max_iters iterations or at the stop
// rule (not in an iteration that split a cluster: the split deserves a chance). An iteration's
// objective is thus that of the centroids it produced, and the last one that of the centroids
// returned; it costs one assignment more than FAISS's loop (assign, then update), whose
// reported objective lags the centroids by one update. Appends one record per iteration to
// `iterations` and returns the final objective.
double run_lloyd(int64_t n, int64_t d, const float* x, int64_t k, const LloydLoop& loop,
                 Assigner& assigner, Rng& rng, float* centroids, int32_t* labels, double objective,
                 std::vector<KMeansIteration>* iterations, const KMeansLog& log_as);

// Checkpoints of a loop (flat k-means and the refinement of hierarchical k-means share them):
// the state after an iteration, of the k x d `centroids`, the random state, the objective and
// `records` (every record of the run so far), `last` when the loop stops after it.
KMeansState checkpoint_state(const float* centroids, int64_t k, int64_t d, const Rng& rng,
                             double objective, const std::vector<KMeansIteration>& records,
                             bool last);

// Sets loop.after_iteration to save the state through `checkpoints` after every iteration;
// `records` is the vector run_lloyd appends to. Nothing when `checkpoints` does not save.
void save_after_iterations(const KMeansCheckpoints* checkpoints, int64_t k, int64_t d,
                           const std::vector<KMeansIteration>& records, LloydLoop& loop);

// The saved state back: its centroids (k x d, into `centroids`), random state and records.
void restore_state(const KMeansState& state, float* centroids, Rng& rng,
                   std::vector<KMeansIteration>& records);

// Lloyd's k-means over all k centroids (params.algorithm and params.balance are ignored).
// Parameters must have been validated. With a `shard`, x holds this worker's n rows of the
// shard's total_rows(), and every worker gets the centroids one process holding all the rows
// would get, bit for bit (random init and k-means||; k-means++ needs all the rows).
// With `checkpoints`, the state after every iteration is saved, and a run given a state to
// resume continues from it to the result the uninterrupted run gives.
KMeansRun flat_kmeans(int64_t n, int64_t d, const float* x, int64_t k, const KMeansParams& params,
                      const KMeansLog& log_as, KMeansShard* shard = nullptr,
                      const KMeansCheckpoints* checkpoints = nullptr);

// Hierarchical k-means (see KMeansAlgorithm::kHierarchical and hierarchical.cc). Falls back to
// flat_kmeans when k is too small for groups to help. With a `shard` (x: this worker's n rows),
// every worker gets the centroids one process holding all the rows would get, bit for bit (the
// coarse k-means as flat_kmeans with a shard, so random init and k-means|| only); the rows move
// between the workers, so the labels returned are empty; `release_x`, when set, is called once
// x is no longer read (its rows copied out for the exchange), so that the caller can free it
// and a worker never holds its rows three times. With `checkpoints`, the state is saved once
// the groups are trained (the fine centroids, the refinement's random state, the first record)
// and after every refinement iteration; a run given such a state redoes the coarse grouping
// (and the move of the rows), skips the groups' training and continues the refinement from it,
// to the result the uninterrupted run gives. The state does not depend on the shards, so a run
// may resume with another number of them.
KMeansRun hierarchical_kmeans(int64_t n, int64_t d, const float* x, int64_t k,
                              const KMeansParams& params, const KMeansLog& log_as,
                              KMeansShard* shard = nullptr,
                              const std::function<void()>& release_x = {},
                              const KMeansCheckpoints* checkpoints = nullptr);

}  // namespace ivftrain
