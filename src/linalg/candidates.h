// The few nearest centroids of selected rows: what balancing needs to move a row out of an
// oversized cluster into its next-nearest one with room.
#pragma once

#include <cstdint>

#include "linalg/metric.h"

namespace ivftrain {

// For each of the `count` rows x[rows[r]] (r in [0, count)), writes its t nearest centroids in
// increasing distance to labels[r * t, (r + 1) * t) and their distances (squared l2 clamped at 0,
// or -x.c with Metric::kInnerProduct) to distances[...]; ties go to the smallest centroid index.
// With t > k the missing slots get label -1 and distance +inf. Computed with blocked SGEMM like
// assign_nearest, over fixed blocks of the selection, so the result does not depend on the
// thread count.
void nearest_candidates(int64_t d, const float* x, int64_t count, const int64_t* rows, int64_t k,
                        const float* centroids, Metric metric, int64_t t, int32_t* labels,
                        float* distances, int num_threads);

// The same by brute force, one distance at a time (the oracle for tests).
void nearest_candidates_ref(int64_t d, const float* x, int64_t count, const int64_t* rows,
                            int64_t k, const float* centroids, Metric metric, int64_t t,
                            int32_t* labels, float* distances);

}  // namespace ivftrain
