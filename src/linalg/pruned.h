// The nearest centroid of rows (l2), and a lower bound on the second-nearest's distance, with
// dimension pruning, exact.
//
// The rows are rotated onto their first p principal axes (a PCA of a sample of them). A row's
// squared distance to a centroid over those p axes only is at most its full squared distance,
// and the p axes carry most of the variance, so that partial distance, computed for all k
// centroids by an SGEMM p/d the size of the full one, already exceeds the row's distance to its
// nearest centroid for most of them. Only the centroids whose partial distance does not exceed
// the row's nearest so far (its previous centroid, when known, is measured first) are measured
// in full (l2_sqr, one centroid at a time). The bounds carry a margin for every rounding on the
// way (the rotation, the SGEMM, the float axes' departure from orthonormality, l2_sqr), so a
// centroid is left out only when its full distance is certainly greater than the nearest's: the
// labels and the distances to the nearest are those of nearest_one_by_one (near_ties.h), which
// the plain SGEMM selection (two_nearest.h) also gives, bit for bit. The second distance is the
// smaller of the second measured and the bound of the smallest partial distance left out: a
// lower bound, all the row bounds of bounded_assign.h need. SuperKMeans (arXiv 2603.20009)
// prunes the same way but with a probabilistic test (ADSampling); this one never changes a label.
//
// Cost per row: 2 p k flops for the partial distances, about 2 d for each centroid measured in
// full, and 2 d p once for its rotation (kept: n x p floats, filled as rows are first met). A
// probe of each call's rows decides whether pruning pays, and a row needing too many centroids
// measured is searched plainly. On the 768-dimension mixture of bench/compare.py's workload 2
// with 1,024 centroids, p = 256 leaves about 50, 17 and 8 centroids to measure per row in
// iterations 1 to 3.
#pragma once

#include <cstdint>
#include <vector>

namespace ivftrain {

// The rotated dimensions worth keeping for rows of d dimensions and k centroids (0: pruning does
// not pay, use the plain SGEMM selection). IVFTRAIN_PRUNE_DIMS, when set, overrides the rule (0
// turns pruning off; a diagnostic switch for benchmarks and the tests that compare the two).
int64_t prune_dims(int64_t n, int64_t d, int64_t k);

class PrunedSearch {
 public:
  // Fits the first p principal axes of x (n x d, row-major) on at most 8,192 of its rows taken
  // at a fixed stride. 1 <= p < d. x and x_norms (norm_sqr of each row) must outlive the search;
  // x_norms serves only if LAPACK fails the fit, when the search is the plain two_nearest.
  PrunedSearch(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t p);

  // The rotated dimensions kept (0 when the fit failed and the search is the plain one).
  int64_t dims() const { return p_; }

  // Calls with fewer rows are searched plainly (the probe would be most of them).
  static constexpr int64_t kMinRows = 2048;

  // As two_nearest (two_nearest.h) for the `count` rows rows[r] of x: labels[i] (ties to the
  // smallest index), best[i] and, in second[i], a lower bound on the distance to every other
  // centroid (the second-nearest's when it was measured; +inf when k == 1). hint, when not
  // null, holds a centroid near each row (its label of the previous iteration: hint may be
  // labels), measured first so that the others are pruned against it.
  void two_nearest(int64_t count, const int64_t* rows, int64_t k, const float* centroids,
                   const int32_t* hint, int32_t* labels, float* best, float* second,
                   int num_threads);

  // The last two_nearest call's rows searched with pruning (a probe of them decides whether the
  // others are: too many centroids measured in full per row, and the plain SGEMM selection
  // costs less), and the centroids measured in full for them.
  int64_t pruned_rows() const { return pruned_rows_; }
  int64_t measured() const { return measured_; }

 private:
  // Centres `count` rows (count x d, in place), writes their spreads ||row - mean|| and their
  // rotation onto the axes (count x p) to out. The caller holds a SingleThreadedBlas.
  void project(int64_t count, float* rows, float* spread, float* out) const;
  // Rotates the rows of `rows` not yet rotated.
  void rotate(int64_t count, const int64_t* rows, int num_threads);

  int64_t d_, p_;
  const float* x_;
  const float* x_norms_;
  std::vector<float> mean_;    // d
  std::vector<float> axes_;    // d x p: y = (x - mean) axes
  std::vector<float> y_;       // n x p, the rotated rows (valid where rotated_)
  std::vector<float> y_norm_;  // ||y||^2
  std::vector<float> spread_;  // ||x - mean||
  std::vector<uint8_t> rotated_;
  std::vector<uint8_t> abandoned_;  // rows the last call gave up (too little pruned)
  int64_t measured_ = 0, pruned_rows_ = 0;
};

}  // namespace ivftrain
