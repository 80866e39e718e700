// What a Metric means to the kernels, in one place. A row x is scored against centroid c as
//   l2:            ||c||^2 - 2 x.c   (the distance minus ||x||^2, which does not change the order)
//   inner product: -x.c              (smallest score = largest inner product)
// so both are "bias + alpha x.c" with alpha a power of two (an exact scaling: no extra rounding)
// and the smallest score wins.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ivftrain/metric.h"
#include "linalg/distances.h"

namespace ivftrain {

// The alpha of the SGEMM that computes alpha x.c.
inline constexpr float gemm_alpha(Metric metric) {
  return metric == Metric::kInnerProduct ? -1.0f : -2.0f;
}

// Whether scores carry the centroid norms as bias, and distances the row norms.
inline constexpr bool uses_norms(Metric metric) { return metric == Metric::kL2; }

// The distance a score stands for: squared l2 clamped at 0 (rounding can take it below), or the
// score itself (-x.c). x_norm is ignored for inner products. +inf stays +inf.
inline float score_to_distance(Metric metric, float x_norm, float score) {
  if (!uses_norms(metric)) return score;
  return std::max(0.0f, x_norm + score);
}

// The distance computed directly from the two vectors (no GEMM): squared l2 or -x.c.
inline float metric_distance(Metric metric, const float* a, const float* b, int64_t d) {
  return uses_norms(metric) ? l2_sqr(a, b, d) : -inner_product(a, b, d);
}

// The same with the scalar reference kernels (the tests' oracle).
inline float metric_distance_ref(Metric metric, const float* a, const float* b, int64_t d) {
  return uses_norms(metric) ? l2_sqr_ref(a, b, d) : -inner_product_ref(a, b, d);
}

}  // namespace ivftrain
