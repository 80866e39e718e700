// Nearest and second-nearest centroid of selected rows, for k-means with bounds: the distance
// to the second-nearest centroid is the lower bound that lets later iterations skip a row.
#pragma once

#include <cstdint>

namespace ivftrain {

// For each of the `count` rows i = rows[r] of x (n x d, row-major), writes labels[i] (nearest of
// the k centroids, ties to the smallest index), best[i] and second[i] (squared l2 distances to
// the nearest and second-nearest, clamped at 0; second is +inf when k == 1). x_norms (norm_sqr
// of every row of x) is required. The selection is cut into fixed blocks of 512 entries, each
// computed with single-threaded SGEMM as in assign_nearest: the result does not depend on the
// thread count. Near ties are settled exactly, and best is l2_sqr of the row and its centroid.
void two_nearest(int64_t d, const float* x, const float* x_norms, int64_t count,
                 const int64_t* rows, int64_t k, const float* centroids, int32_t* labels,
                 float* best, float* second, int num_threads);

// The same with the direct kernel, assign_nearest's for few, short centroids
// (assign_uses_direct_kernel: PQ's sub-spaces): labels are that kernel's, and best and second the
// distances its scores stand for, as assign_nearest reports them on those shapes. Each row's
// values come from it alone.
void two_nearest_direct(int64_t d, const float* x, const float* x_norms, int64_t count,
                        const int64_t* rows, int64_t k, const float* centroids, int32_t* labels,
                        float* best, float* second, int num_threads);

}  // namespace ivftrain
