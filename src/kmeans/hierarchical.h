// Pieces of hierarchical k-means (hierarchical.cc), exposed for tests and for the file
// protocol's rounds (pipeline/hier_rounds.cc), which run its steps one round at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/kmeans.h"
#include "kmeans/assigner.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"

namespace ivftrain {

class KMeansShard;

// Refinement iterations after the groups are trained (step 3).
inline constexpr int kHierRefineIters = 2;
// Groups are capped at this many times the mean group size (balance_capacity).
inline constexpr double kHierCoarseBalance = 3;

// Splits k centroids among groups in proportion to their sizes: floor(k * size / n) each, the
// rest to the largest remainders (ties to the smaller index), then adjusted one at a time so
// that every non-empty group gets at least 1 and no group more than its size (the adjustment
// takes from the group furthest above its exact share, gives to the one furthest below).
// Requires sum(sizes) >= k >= number of non-empty groups. The shares sum to k exactly.
std::vector<int64_t> share_centroids(const std::vector<int64_t>& sizes, int64_t k);

// The number of groups g for k centroids: round(sqrt k) (at most k). Below 2, hierarchical
// k-means is flat_kmeans.
int64_t hierarchical_group_count(int64_t k);

// The rows (indices among `total`, increasing) the coarse k-means trains on: at most 256 g,
// drawn from the seed; empty when it trains on all `total` rows.
std::vector<int64_t> coarse_sample_rows(int64_t total, int64_t g, const KMeansParams& params);

// The coarse k-means (flat, with the coarse seed) on the coarse sample's m rows x, in order; with
// a `shard`, x holds this shard's rows of the sample.
std::vector<float> train_coarse(int64_t m, int64_t d, const float* x, int64_t g,
                                const KMeansParams& params, const KMeansLog& log_as,
                                KMeansShard* shard = nullptr);

// Step 1's outcome: the rows cut into g groups, each group's share of the k centroids and the
// shard (worker) that trains it.
struct HierGroups {
  int64_t g = 0;
  std::vector<float> centroids;  // g x d, the coarse centroids (after the capping)
  std::vector<int64_t> sizes;    // rows per group, over all shards
  std::vector<int64_t> first;    // g + 1: group i owns centroids [first[i], first[i + 1])
  std::vector<int64_t> order;    // groups largest first (long jobs first; results do not care)
  std::vector<int> owner;        // g: the shard that trains the group (0 without shards)
  std::vector<int64_t> jobs;     // this shard's groups, in `order`
  int threads = 1;               // threads over groups

  int64_t share(int64_t i) const { return first[i + 1] - first[i]; }
};

// The groups of the capped sizes: each group's share of k (share_centroids), the order, and the
// groups dealt to `shards` shards largest first, each to the shard with the fewest rows so far
// (ties: the lower index): a function of the sizes alone. `me`: this shard's index.
HierGroups plan_groups(std::vector<float> coarse, std::vector<int64_t> sizes, int64_t k, int shards,
                       int me, int threads);

// The rows a shard holds for steps 2 and 3: all the rows without shards; with shards, the rows
// of the groups it owns, in increasing global order.
struct HeldRows {
  int64_t n = 0;
  const float* x = nullptr;
  std::vector<float> storage;   // the rows, when held here
  std::vector<int64_t> global;  // their global indices (increasing); empty without shards
  ClusterMembers members;       // the rows of each group (none for the groups of other shards)

  const int64_t* rows(int64_t i) const { return members.rows.data() + members.offsets[i]; }
};

// Step 2: a flat k-means inside each group of this shard (groups.jobs), single-threaded with
// its own derived seed, groups in parallel; writes the groups' centroids (at first[gi] of the
// k x d `centroids`) and their rows' labels (n entries).
void train_groups(int64_t d, const HeldRows& held, const HierGroups& groups,
                  const KMeansParams& params, const KMeansLog& log_as, float* centroids,
                  int32_t* labels);

// Step 3's assignment: the rows of each group against the centroids of its 8 nearest groups
// (its own included). Neighbours are kept in increasing group order, so the candidates of a
// group are in increasing global order (ties go to the smallest index). Sharded, each shard
// assigns the rows of its groups (groups.jobs); with a `shard` the objective is combined over
// the shards (without one, it is this shard's groups' only; group_objectives() has each).
// The objective is the groups' sums added in group order.
class NeighbourGroupAssigner final : public Assigner {
 public:
  NeighbourGroupAssigner(int64_t d, const HeldRows& held, const HierGroups& groups, Metric metric,
                         int threads, int64_t total_rows, KMeansShard* shard);
  double assign(const float* centroids, int32_t* labels) override;
  int64_t rows_computed() const override { return total_rows_; }
  // The last assign's objective of each group (g; 0 for the groups of other shards).
  const std::vector<double>& group_objectives() const { return sums_; }

 private:
  int64_t d_;
  const HeldRows& held_;
  const HierGroups& groups_;
  Metric metric_;
  int64_t total_rows_;
  KMeansShard* shard_;
  std::vector<std::vector<int32_t>> neighbours_;
  std::vector<double> sums_;
};

}  // namespace ivftrain
