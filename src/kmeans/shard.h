// The rows of one k-means run split between workers (sharded training, docs/sharded.md): each
// worker holds a shard of the rows, in the canonical order, and runs the same loop over it; the
// shard's collectives make every worker see the statistics of all the rows, so every worker
// applies the same update and ends with the same centroids as one process holding every row.
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans/exact_sum.h"
#include "kmeans/update.h"

namespace ivftrain {

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
  virtual void combine(ClusterSums& sums) = 0;
  // Replaces this shard's part of the objective by the sum over all the shards.
  virtual void combine(ExactSum& objective) = 0;
  // Writes the rows whose global indices are `rows` (increasing), wherever they are, to out
  // (rows.size() x d).
  virtual void fetch_rows(const std::vector<int64_t>& rows, int64_t d, const float* x,
                          float* out) = 0;
};

}  // namespace ivftrain
