// Lloyd assignment that skips rows whose nearest centroid provably did not change (Hamerly's
// bound). Each row keeps a lower bound on its distance to every centroid but its own, taken
// from its second-nearest centroid when it was last assigned in full and lowered by the largest
// distance any other centroid has moved since. A row whose exact distance to its (moved) own
// centroid is below that bound keeps its label; the others are gathered into fixed blocks and
// assigned over all k by the shape's kernel (two_nearest: SGEMM, or the direct kernel for few,
// short centroids such as PQ's sub-spaces), which also renews their bound.
//
// A few centroids that jump far (splits of empty clusters, early iterations) would lower every
// bound by their jump. So the m centroids that moved most (the movers) are left out of the
// lowering and measured instead, by the shape's kernel on the rows whose bound the other
// centroids leave standing against the movers alone. m (16 to k/4) is chosen at each call to
// minimise the estimated work (rows left for the full assignment x k + rows measured x m x a
// mover score's cost), counted from the rows' own bounds. On W1 (262,144 x 128, k = 1,024, 10
// iterations) this computed 364,310 rows in full instead of 917,062 with a fixed m = 16.
//
// The skipped rows are exactly those the bound covers (with a margin for float rounding of the
// kernel's distances), so labels are those of a full assignment, and which rows skip depends
// only on the data and the centroids, never on the thread count. A skipped row's distance,
// needed for the objective, is its distance to its centroid computed as the full assignment
// computes it (l2_sqr beside SGEMM, the direct kernel's score on its shapes; d flops).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kmeans/assigner.h"
#include "linalg/pruned.h"

namespace ivftrain {

class BoundedAssigner final : public Assigner {
 public:
  // x (n x d) and x_norms (norm_sqr of each row) must outlive the assigner. l2 only.
  // prune_dims: the rotated dimensions of the exact dimension pruning (linalg/pruned.h) of the
  // rows the bounds do not settle; 0 for none, -1 for prune_dims(n, d, k)'s choice. Labels,
  // distances and objective do not depend on it.
  BoundedAssigner(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                  int num_threads, int64_t prune_dims = -1);

  // Assigns every row to its nearest centroid and returns the objective (sum of squared
  // distances, in double, in a fixed order). The first call assigns all rows; later calls
  // must pass the labels the previous call wrote, and skip what the bounds allow.
  double assign(const float* centroids, int32_t* labels) override;

  // Rows the last call assigned against all k centroids (the others were settled by bounds).
  int64_t rows_computed() const override { return rows_computed_; }
  int64_t rows_pruned() const override { return rows_pruned_; }
  const ExactSum* exact_objective() const override { return &sum_; }

  // True when bounds pay off for this shape on every CPU (the SGEMM kernel, enough centroids):
  // what the file protocol's workers, whose rounds may run on different machines, agree on.
  static bool worthwhile(int64_t k, int64_t d);
  // True when they pay off for this shape with the kernels in use: also the direct kernel's
  // shapes with many centroids (PQ's sub-spaces) when vectors hold 8 floats or fewer (AVX2
  // measured; SSE4, NEON and scalar not, their kernels are slower). Labels and objective are those
  // of the full assignment either way, bit for bit.
  static bool pays_here(int64_t k, int64_t d);

  // What a later call continues from (with the labels the last call wrote): the last call's
  // centroids and each row's bound and distance. A worker of the file protocol, whose process
  // ends between rounds, saves it and restores it, so that its rows skip exactly as they would
  // in one process.
  struct State {
    std::vector<float> previous;
    std::vector<double> lower;
    std::vector<float> dist;
  };
  State state() const { return {previous_, lower_, dist_}; }
  void restore(State s) {
    previous_ = std::move(s.previous);
    lower_ = std::move(s.lower);
    dist_ = std::move(s.dist);
    first_ = false;
  }

 private:
  int64_t n_, d_, k_;
  const float* x_;
  const float* x_norms_;
  int threads_;
  bool first_ = true;
  int64_t rows_computed_ = 0, rows_pruned_ = 0;
  std::vector<float> previous_;  // centroids of the last call
  std::vector<double> lower_;    // per row: lower bound (not squared) on other centroids
  std::vector<float> dist_, second_;
  std::vector<uint8_t> skip_;
  std::vector<float> slack_;  // per row: the largest move of others its bound can take
  int64_t choose_movers(const std::vector<double>& drift, const std::vector<int64_t>& order,
                        int64_t most, double mover_cost) const;
  std::vector<int64_t> rows_, checked_;  // kept: their capacity serves every call
  ExactSum sum_;                         // the last call's objective
  int64_t prune_dims_;
  std::optional<PrunedSearch> pruned_;  // fitted when rows are first computed
};

}  // namespace ivftrain
