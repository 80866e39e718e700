// Nearest-centroid assignment: the hot loop of k-means and of PQ encoding.
//
// Two kernels behind one entry point, chosen from the shape alone (never from the thread count):
// - blocked SGEMM (gemm_tiles.h): for a fixed block of rows and a cache-sized tile of centroids,
//   x.c^T comes from cblas_sgemm and a running argmin over ||c||^2 - 2 x.c is fused with the
//   tile loop, so no n x k distance matrix is ever held;
// - a direct kernel for few, short centroids (k <= 256, k * d <= 4096: PQ sub-spaces) where a
//   GEMM of depth d would be poor: the accumulators for all centroids of one row stay in
//   registers.
//
// Determinism: rows are cut into blocks whose boundaries depend only on n, each block is
// computed by one thread with single-threaded BLAS on the same operands, and the objective is
// summed per block then over blocks in block order. The result is bit-identical whatever the
// thread count. Ties go to the smallest centroid index.
#pragma once

#include <cstdint>

#include "linalg/metric.h"

namespace ivftrain {

struct AssignOutput {
  int32_t* labels = nullptr;   // n entries, required
  float* distances = nullptr;  // n entries, optional: squared l2 (clamped at 0) or -x.c
};

// Assigns the n rows of x (n x d) to the nearest of the k centroids (k x d); with
// Metric::kInnerProduct, to the largest x.c. x_norms (n entries of norm_sqr, from
// row_norms_sqr) may be null: they are then computed on the fly (pass them when assigning the
// same rows repeatedly). Returns the sum of the distances (the k-means objective), accumulated
// in double in a fixed order.
double assign_nearest(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                      const float* centroids, Metric metric, const AssignOutput& out,
                      int num_threads);

// Block size in rows of the fixed partition of the rows (exposed for tests and callers that
// want to align their own blocks with it).
inline constexpr int64_t kAssignBlockRows = 512;

// Each kernel forced, whatever the shape, for tests (the direct one falls back to SGEMM when
// k > 256).
double assign_nearest_gemm(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                           const float* centroids, Metric metric, const AssignOutput& out,
                           int num_threads);
double assign_nearest_direct(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t k,
                             const float* centroids, Metric metric, const AssignOutput& out,
                             int num_threads);
// True when assign_nearest uses the direct kernel for this shape.
bool assign_uses_direct_kernel(int64_t k, int64_t d);

}  // namespace ivftrain
