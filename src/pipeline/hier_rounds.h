// The pieces rounds.cc (flat k-means in rounds) and hier_rounds.cc (hierarchical k-means in
// rounds) share, and the hierarchical stages rounds.cc dispatches to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/rounds.h"
#include "kmeans/exact_sum.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"

namespace ivftrain {

// A worker's IVF rows: their rows in its result, their indices among the IVF rows (both
// increasing) and their values.
struct ShardIvfRows {
  std::vector<int64_t> rows;
  std::vector<int64_t> ivf;
  std::vector<float> x;  // rows x dim
};
// Refuses a shard of another plan or layout, naming the worker to sample again.
Result<ShardIvfRows> shard_ivf_rows(const SampleResult& shard, const RoundState& state,
                                    const TrainParams& params);

// A partial of `worker` for the state's round, without statistics.
RoundPartial partial_header(const RoundState& state, int worker);

// partial_header with the worker's rows and the largest squared norm of its sample rows (the
// magnitude check of train_on_sample, made when the rounds' round 0 is merged).
RoundPartial shard_partial_header(const SampleResult& shard, const ShardIvfRows& mine,
                                  const RoundState& state);

// Adds a partial's objective (objective_bins) into `total`; refuses a partial without one, naming
// the worker.
Status add_partial_objective(const RoundState& state, int worker, const RoundPartial& partial,
                             ExactSum& total);
// The exact sum of the partials' objectives (objective_bins); refuses a partial without one,
// naming the worker.
Result<ExactSum> merged_objective(const RoundState& state,
                                  const std::vector<RoundPartial>& partials);

// Moves an assignment's statistics into the partial.
void set_partial_sums(ClusterSums sums, RoundPartial& out);

// The grids of the round's exact sums (SumGrid::of_step of its grid_step, train_rows and dim).
SumGrid round_grid(const RoundState& state);

// A partial's ClusterSums over `clusters` clusters, moved out of it; refuses a partial on another
// grid or of another shape, naming the worker.
Result<ClusterSums> partial_sums(const RoundState& state, int worker, int64_t clusters,
                                 RoundPartial& partial);
// The merge of the partials' ClusterSums over `clusters` clusters; refuses a partial on another
// grid or of another shape, naming the worker.
Result<ClusterSums> merged_sums(const RoundState& state, const std::vector<RoundPartial>& partials,
                                int64_t clusters);

// The Lloyd step of a merge, as run_lloyd takes it: `objective` measured the state's centroids
// and `total` is their assignment's statistics. With `record`, the objective is recorded as an
// iteration (with the state's split), and the loop stops there when `iter` >= 0 (the 0-based
// iteration that produced the centroids) meets the stop rule; otherwise the update gives the
// next round's centroids. An update that splits clusters needs their farthest rows: the next
// state is then a kSplit round repeating this one; the merge of that round (`far`: the workers'
// offers merged by add_farthest_offer, their rows read through `fetch`) makes the update.
Result<RoundMerge> lloyd_merge(const RoundState& state, ClusterSums& total, double objective,
                               const LloydLoop& loop, bool record, int iter,
                               const FarthestRows& far, const IvfRowsFetch& fetch);

// kSplit: the farthest rows of the state's donors among the worker's n rows `x` (labelled by
// the round's assignment; `ivf_rows` their indices among the IVF rows) into the partial.
// Nothing in other stages.
void set_partial_farthest(const RoundState& state, int64_t n, const float* x, const int32_t* labels,
                          const int64_t* ivf_rows, RoundPartial& out);

// kSplit: the workers' offers of farthest rows, one partial at a time: `far` (start with
// no_farthest_rows) keeps per donor the farther row, the lower index on a tie. Refuses a partial
// without them, naming the worker.
FarthestRows no_farthest_rows(const RoundState& state);
Status add_farthest_offer(const RoundState& state, int worker, const RoundPartial& partial,
                          FarthestRows& far);
// The rows `far` names, read through `fetch` (donors x dim values); refuses a donor no worker
// offered a row of.
Result<std::vector<float>> read_farthest_rows(const RoundState& state, const FarthestRows& far,
                                              const IvfRowsFetch& fetch);

// compute_round_partial of the kGroups and kCap stages (`out`: the header, rows and max_norm2
// set).
Result<RoundPartial> hierarchical_shard_partial(RoundPartial out, const ShardIvfRows& mine,
                                                const RoundState& state, const TrainParams& params,
                                                std::vector<int32_t>* groups_out);

// "the partial of worker W holds WHAT for round R of plan P; rerun ...".
Status bad_partial(const RoundState& state, int worker, const std::string& what);

// The merge of a refinement round (kRefine, or the kSplit round repeating one): `total` the
// merged sums, `objective` the groups' objectives added in group order; `far` and `fetch` as
// lloyd_merge takes them.
Result<RoundMerge> refine_merge(const RoundState& state, const TrainParams& params,
                                ClusterSums& total, double objective, const FarthestRows& far,
                                const IvfRowsFetch& fetch);

// merge_round of the hierarchical stages but kRefine (partials already checked against the
// state).
Result<RoundMerge> merge_hierarchical_round(const RoundState& state,
                                            const std::vector<RoundPartial>& partials,
                                            const TrainParams& params, int num_workers,
                                            const IvfRowsFetch& fetch);

}  // namespace ivftrain
