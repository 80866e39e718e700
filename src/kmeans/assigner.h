// The assignment step of Lloyd's k-means as a strategy the one loop (lloyd.h) takes.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/kmeans.h"
#include "kmeans/exact_sum.h"

namespace ivftrain {

// The assignment step of the loop, as a strategy: every row against all centroids, rows the
// bounds cannot settle only (BoundedAssigner), or each row against the centroids near its group
// (hierarchical refinement).
class Assigner {
 public:
  virtual ~Assigner() = default;
  // Writes each row's centroid to labels (n entries, holding the previous call's labels on
  // every call after the first) and returns the objective: the sum of the rows' distances to
  // their centroids, added in an order that does not depend on the thread count.
  virtual double assign(const float* centroids, int32_t* labels) = 0;
  // Rows whose distances the last call computed against every candidate (for the log).
  virtual int64_t rows_computed() const = 0;
  // Of those, the rows the last call searched with dimension pruning (linalg/pruned.h).
  virtual int64_t rows_pruned() const { return 0; }
  // The last call's objective as an exact sum (exact_sum.h), which shards can merge; null when
  // the assigner does not keep one.
  virtual const ExactSum* exact_objective() const { return nullptr; }
};

// Every row against all k centroids.
class FullAssigner final : public Assigner {
 public:
  // x (n x d) and x_norms (norm_sqr of each row, or null under kInnerProduct) must outlive it.
  FullAssigner(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k, Metric metric,
               int num_threads)
      : n_(n), d_(d), k_(k), x_(x), x_norms_(x_norms), metric_(metric), threads_(num_threads) {}
  double assign(const float* centroids, int32_t* labels) override;
  int64_t rows_computed() const override { return n_; }
  const ExactSum* exact_objective() const override { return &sum_; }

 private:
  int64_t n_, d_, k_;
  const float* x_;
  const float* x_norms_;
  Metric metric_;
  int threads_;
  std::vector<float> distances_;  // of the last call, summed exactly
  ExactSum sum_;
};

}  // namespace ivftrain
