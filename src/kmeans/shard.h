// The rows of one k-means run split between workers (sharded training, docs/sharded.md): each
// worker holds a shard of the rows, in the canonical order, and runs the same loop over it; the
// shard's collectives make every worker see the statistics of all the rows, so every worker
// applies the same update and ends with the same centroids as one process holding every row.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "ivftrain/kmeans.h"
#include "kmeans/exact_sum.h"
#include "kmeans/update.h"

namespace ivftrain {

// The state of a flat k-means run after an iteration: all a resumed run needs to continue and
// end with the same centroids, objectives and records. (Labels are not needed: the assignment
// of the centroids gives them again.)
struct KMeansState {
  std::vector<float> centroids;  // k x d
  std::array<uint64_t, 4> rng{};
  double objective = 0;  // of the centroids
  std::vector<KMeansIteration> iterations;
  bool finished = false;  // the loop stopped after this iteration
};

// Checkpoints of a flat k-means run: `resume` (null: start afresh) and `save`, called after
// every iteration.
struct KMeansCheckpoints {
  const KMeansState* resume = nullptr;
  std::function<void(const KMeansState&)> save;
};

class KMeansShard {
 public:
  virtual ~KMeansShard() = default;
  // Rows over all shards.
  virtual int64_t total_rows() const = 0;
  // This shard's rows' indices over all shards (increasing), one per local row.
  virtual const int64_t* global_rows() const = 0;
  // The largest of every shard's `local` value.
  virtual float max_over_shards(float local) = 0;
  // Replaces this shard's statistics by those of all the shards (ClusterSums::merge of all).
  // first, first_row and identical, which only the split of empty clusters reads, may be left
  // uncombined when no cluster is empty over all the shards; the norms may not (relocation reads
  // the clusters' errors every update: plan_splits).
  virtual void combine(ClusterSums& sums) = 0;
  // Replaces this shard's part of the objective by the sum over all the shards.
  virtual void combine(ExactSum& objective) = 0;
  // Replaces `counts` (the same length on every shard) by their element-wise sum over all the
  // shards (k-means||: the rows nearest each candidate).
  virtual void combine_counts(std::vector<int64_t>& counts) = 0;
  // Every shard's `mine` (global row indices, increasing; shards hold disjoint rows) merged into
  // one increasing list, on every shard (k-means||: the rows a round draws).
  virtual std::vector<int64_t> gather_rows(const std::vector<int64_t>& mine) = 0;
  // Writes the rows whose global indices are `rows` (increasing), wherever they are, to out
  // (rows.size() x d).
  virtual void fetch_rows(const std::vector<int64_t>& rows, int64_t d, const float* x,
                          float* out) = 0;

  // For hierarchical k-means, whose groups of rows move to the shard that trains them:
  // the number of shards and this one's index among them (0-based);
  virtual int shard_count() const = 0;
  virtual int shard_index() const = 0;
  // every shard's `mine`, in shard order, on every shard;
  virtual std::vector<std::vector<int64_t>> all_gather(const std::vector<int64_t>& mine) = 0;
  // and an exchange of rows: counts[s] (shard_count() entries) rows go to shard s, their
  // vectors in `rows` (d floats each) and `m` int64 each of `meta`, grouped by destination in
  // shard order. Replaces rows_in and meta_in by what every shard sent to this one, in shard
  // order (each sender's rows in the order it sent them).
  virtual void exchange_rows(int64_t d, int64_t m, const std::vector<int64_t>& counts,
                             const float* rows, const int64_t* meta, std::vector<float>* rows_in,
                             std::vector<int64_t>* meta_in) = 0;
};

}  // namespace ivftrain
